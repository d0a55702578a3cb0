using System.Globalization;
using OrganicScreen.Screening;
using ScottPlot;

namespace OrganicScreen.Reporting;

/// <summary>A labelled potential range vs Li/Li+ (e.g. where cathode candidates sit).</summary>
public sealed record PotentialBand(string Label, double LowerVolts, double UpperVolts);

/// <summary>
/// What the window figure draws over the distributions, all vs Li/Li+: the solvent's stability window, the
/// current collector's oxidation limit, and the cathode and anode bands. Bands and collector are optional.
/// </summary>
public sealed record WindowLimits(
    string SolventName,
    double SolventReductionVolts,
    double SolventOxidationVolts,
    string? CollectorName = null,
    double? CollectorOxidationVolts = null,
    PotentialBand? CathodeBand = null,
    PotentialBand? AnodeBand = null)
{
    /// <summary>
    /// The limits screening uses: the solvent window and collector of <paramref name="rules"/>, the cathode band
    /// [CathodeMinimumVolts, CathodeCeilingVolts], and the anode band from the anode floor (the solvent's reduction
    /// limit, or AnodeMinimumVolts when higher) to <paramref name="anodeCeilingVolts"/>: the rules have no anode
    /// ceiling, so the figure needs one to draw a band.
    /// </summary>
    public static WindowLimits FromRules(ScreeningRules rules, double anodeCeilingVolts)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var anodeFloor = Math.Max(rules.AnodeFloorVolts, rules.AnodeMinimumVolts ?? double.NegativeInfinity);
        return new WindowLimits(rules.Solvent.Name, rules.Solvent.ReductionLimit.Volts, rules.Solvent.OxidationLimit.Volts,
            rules.Collector?.Name, rules.Collector?.OxidationLimit.Volts,
            new PotentialBand("cathode", rules.CathodeMinimumVolts, rules.CathodeCeilingVolts),
            new PotentialBand("anode", anodeFloor, anodeCeilingVolts));
    }

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(SolventName)) throw new ArgumentException("The solvent needs a name.", nameof(SolventName));
        if (!double.IsFinite(SolventReductionVolts) || !double.IsFinite(SolventOxidationVolts) || SolventReductionVolts >= SolventOxidationVolts)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"The solvent window must be finite with reduction limit < oxidation limit (got {SolventReductionVolts}–{SolventOxidationVolts} V)."));
        if (CollectorOxidationVolts is { } collector && !double.IsFinite(collector))
            throw new ArgumentException("The collector limit must be finite.", nameof(CollectorOxidationVolts));
        foreach (var band in new[] { CathodeBand, AnodeBand })
        {
            if (band is not null && (!double.IsFinite(band.LowerVolts) || !double.IsFinite(band.UpperVolts) || band.LowerVolts >= band.UpperVolts))
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"Band '{band.Label}' must be finite with lower < upper (got {band.LowerVolts}–{band.UpperVolts} V)."));
        }
    }
}

/// <summary>
/// The screening figure of the 2020 study (its Figures 8–10): distributions of the predicted oxidation and reduction
/// potentials vs Li/Li+ against the solvent's electrochemical window, the collector limit and the electrode bands.
/// </summary>
public static class WindowFigure
{
    private static readonly Color AllColour = new(0x4C, 0x72, 0xB0);            // blue: every molecule
    private static readonly Color CandidateColour = new(0xDD, 0x55, 0x00);      // orange: candidates
    private static readonly Color CandidateFill = new(0xDD, 0x55, 0x00, 0x66);
    private static readonly Color OutsideWindow = new(0x60, 0x60, 0x60, 0x38);  // grey: the solvent decomposes
    private static readonly Color CathodeShade = new(0xE8, 0x9A, 0x3C, 0x38);
    private static readonly Color CathodeText = new(0xB0, 0x60, 0x00);
    private static readonly Color AnodeShade = new(0x3C, 0xA0, 0x6E, 0x38);
    private static readonly Color AnodeText = new(0x1E, 0x70, 0x46);
    private static readonly Color LimitColour = new(0x40, 0x40, 0x40);

    /// <summary>
    /// Two panels sharing the potential axis: E_ox (top) with cathode candidates, E_red (bottom) with anode candidates.
    /// All molecules are blue bars on the left axis; candidates an orange outlined histogram on the right axis (their own
    /// scale, since they are often a few dozen among tens of thousands). Outside the solvent window is shaded grey with
    /// dashed limit lines; the cathode band is shaded on the E_ox panel with the collector limit as a red line, the anode
    /// band on the E_red panel. The axis spans the 0.1st–99.9th percentile of the data and every limit; values beyond it
    /// are counted in the edge bins and the panel header says how many.
    /// </summary>
    /// <param name="oxidationVolts">Predicted E_ox vs Li/Li+ of every molecule (not empty, finite).</param>
    /// <param name="reductionVolts">Predicted E_red vs Li/Li+ of every molecule (not empty, finite).</param>
    /// <param name="cathodeCandidateVolts">E_ox of the cathode candidates (may be empty: the panel says "0 candidates").</param>
    /// <param name="anodeCandidateVolts">E_red of the anode candidates (may be empty).</param>
    /// <param name="limits">Window, collector and bands.</param>
    /// <param name="title">Figure title (first line of the top panel's header).</param>
    /// <param name="binWidthVolts">Histogram bin width (V).</param>
    /// <exception cref="ArgumentException">Empty molecule lists, non-finite values, or an inconsistent window or band.</exception>
    public static byte[] RedoxWindowPlot(
        IReadOnlyList<double> oxidationVolts,
        IReadOnlyList<double> reductionVolts,
        IReadOnlyList<double> cathodeCandidateVolts,
        IReadOnlyList<double> anodeCandidateVolts,
        WindowLimits limits,
        string title = "Predicted redox potentials and the electrochemical window",
        double binWidthVolts = 0.1,
        FigureSize? size = null)
    {
        ArgumentNullException.ThrowIfNull(limits);
        Check(oxidationVolts, nameof(oxidationVolts), allowEmpty: false);
        Check(reductionVolts, nameof(reductionVolts), allowEmpty: false);
        Check(cathodeCandidateVolts, nameof(cathodeCandidateVolts), allowEmpty: true);
        Check(anodeCandidateVolts, nameof(anodeCandidateVolts), allowEmpty: true);
        limits.Validate();
        if (!double.IsFinite(binWidthVolts) || binWidthVolts <= 0) throw new ArgumentOutOfRangeException(nameof(binWidthVolts), binWidthVolts, "Bin width must be positive.");
        size ??= new FigureSize(1000, 900);

        var (lo, hi) = AxisRange(oxidationVolts.Concat(reductionVolts).ToList(), limits, binWidthVolts);
        var bins = Math.Max(1, (int)Math.Round((hi - lo) / binWidthVolts));

        var multiplot = new Multiplot();
        var top = multiplot.GetPlot(0);
        var bottom = new Plot();
        multiplot.AddPlot(bottom);
        try
        {
            var topHeader = Panel(top, oxidationVolts, cathodeCandidateVolts, "E_ox", "cathode candidates", limits, limits.CathodeBand,
                CathodeShade, CathodeText, collector: true, lo, hi, bins);
            top.Title($"{title}\n{topHeader}");
            var bottomHeader = Panel(bottom, reductionVolts, anodeCandidateVolts, "E_red", "anode candidates", limits, limits.AnodeBand,
                AnodeShade, AnodeText, collector: false, lo, hi, bins);
            bottom.Title(bottomHeader);
            bottom.XLabel("Potential vs Li/Li+ (V)");
            multiplot.SharedAxes.ShareX([top, bottom]);
            return multiplot.Render(size.Width, size.Height).GetImageBytes(ImageFormat.Png);
        }
        finally
        {
            top.Dispose();
            bottom.Dispose();
        }
    }

    /// <summary>Draws one panel; returns its header line.</summary>
    private static string Panel(Plot plot, IReadOnlyList<double> all, IReadOnlyList<double> candidates, string quantity, string candidateLabel,
        WindowLimits limits, PotentialBand? band, Color bandShade, Color bandText, bool collector, double lo, double hi, int bins)
    {
        var counts = Counts(all, lo, hi, bins, out var clamped);
        var candidateCounts = Counts(candidates, lo, hi, bins, out _);
        var width = (hi - lo) / bins;
        var leftMax = Math.Max(1, counts.Max()) * 1.35;
        var rightMax = Math.Max(1, candidateCounts.Max()) * 1.35;

        // Shading first, so the bars draw over it. HorizontalSpan: an x range, full height.
        var below = plot.Add.HorizontalSpan(lo, limits.SolventReductionVolts, OutsideWindow);
        below.LineWidth = 0;
        below.LegendText = string.Create(CultureInfo.InvariantCulture,
            $"outside the {limits.SolventName} window ({limits.SolventReductionVolts:0.00}–{limits.SolventOxidationVolts:0.00} V)");
        var above = plot.Add.HorizontalSpan(limits.SolventOxidationVolts, hi, OutsideWindow);
        above.LineWidth = 0;
        if (band is not null)
        {
            var shade = plot.Add.HorizontalSpan(band.LowerVolts, band.UpperVolts, bandShade);
            shade.LineWidth = 0;
            shade.LegendText = string.Create(CultureInfo.InvariantCulture, $"{band.Label} band {band.LowerVolts:0.00}–{band.UpperVolts:0.00} V");
            Label(plot, band.Label, (band.LowerVolts + band.UpperVolts) / 2, leftMax * 0.985, bandText, Alignment.UpperCenter, 14, bold: true);
        }

        foreach (var x in new[] { limits.SolventReductionVolts, limits.SolventOxidationVolts })
        {
            plot.Add.VerticalLine(x, 1.5f, LimitColour, LinePattern.Dashed);
            // Value labels sit inside the window, next to their line, so they never leave the plot.
            var inside = x == limits.SolventReductionVolts ? Alignment.UpperLeft : Alignment.UpperRight;
            Label(plot, string.Create(CultureInfo.InvariantCulture, $"{x:0.00} V"), x, leftMax * 0.985, LimitColour, inside, 12);
        }

        if (collector && limits.CollectorOxidationVolts is { } al)
        {
            var line = plot.Add.VerticalLine(al, 2f, Colors.Red, LinePattern.DenselyDashed);
            var name = limits.CollectorName ?? "collector";
            line.LegendText = string.Create(CultureInfo.InvariantCulture, $"{name} collector limit {al:0.00} V");
            Label(plot, string.Create(CultureInfo.InvariantCulture, $"{name} {al:0.00} V"), al, leftMax * 0.86, Colors.Red, Alignment.UpperLeft, 12);
        }

        var bars = plot.Add.Bars(Bars(counts, lo, width));
        bars.LegendText = string.Create(CultureInfo.InvariantCulture, $"all molecules (n = {all.Count:N0}, left axis)");

        // Candidates: translucent fill plus a step outline over the bins that hold any, on the right axis, so the
        // blue bars stay visible beneath. No candidates: nothing drawn (the header says 0).
        if (candidates.Count > 0)
        {
            var fill = plot.Add.Bars(Bars(candidateCounts, lo, width, CandidateFill));
            fill.Axes.YAxis = plot.Axes.Right;
            var (xs, ys) = StepOutline(candidateCounts, lo, width);
            var outline = plot.Add.ScatterLine(xs, ys, CandidateColour);
            outline.LineWidth = 2f;
            outline.Axes.YAxis = plot.Axes.Right;
            outline.LegendText = string.Create(CultureInfo.InvariantCulture, $"{candidateLabel} (n = {candidates.Count:N0}, right axis)");
        }

        plot.Axes.SetLimitsX(lo, hi);
        plot.Axes.SetLimitsY(0, leftMax, plot.Axes.Left);
        plot.Axes.SetLimitsY(0, rightMax, plot.Axes.Right);
        plot.YLabel($"Molecules ({quantity})");
        plot.Axes.Left.Label.ForeColor = AllColour;
        plot.Axes.Right.Label.Text = "Candidates";
        plot.Axes.Right.Label.ForeColor = CandidateColour;
        plot.Axes.Right.Label.FontSize = plot.Axes.Left.Label.FontSize;
        plot.Axes.Right.Label.Bold = plot.Axes.Left.Label.Bold;
        plot.Axes.Right.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };

        // The legend goes low on the side the distribution leaves empty, clear of the labels along the top.
        var median = all.Order().ElementAt(all.Count / 2);
        plot.Legend.Alignment = median < (lo + hi) / 2 ? Alignment.LowerRight : Alignment.LowerLeft;
        plot.Legend.FontSize = 11;
        plot.ShowLegend();

        var header = string.Create(CultureInfo.InvariantCulture, $"{quantity} vs Li/Li+: {all.Count:N0} molecules, {candidates.Count:N0} {candidateLabel}");
        if (clamped > 0) header += string.Create(CultureInfo.InvariantCulture, $" ({clamped:N0} beyond the axis, counted in the edge bins)");
        return header;
    }

    private static void Label(Plot plot, string text, double x, double y, Color colour, Alignment alignment, float size, bool bold = false)
    {
        var label = plot.Add.Text(text, x, y);
        label.LabelFontColor = colour;
        label.LabelFontSize = size;
        label.LabelBold = bold;
        label.LabelAlignment = alignment;
        label.LabelPadding = 3;
    }

    /// <summary>The outline of a histogram from its first to its last non-empty bin, closed down to zero at both ends.</summary>
    internal static (double[] X, double[] Y) StepOutline(int[] counts, double lo, double width)
    {
        var first = Array.FindIndex(counts, c => c > 0);
        var last = Array.FindLastIndex(counts, c => c > 0);
        if (first < 0) return ([], []);
        var xs = new List<double> { lo + first * width };
        var ys = new List<double> { 0 };
        for (var i = first; i <= last; i++)
        {
            xs.AddRange([lo + i * width, lo + (i + 1) * width]);
            ys.AddRange([counts[i], counts[i]]);
        }

        xs.Add(lo + (last + 1) * width);
        ys.Add(0);
        return (xs.ToArray(), ys.ToArray());
    }

    private static List<Bar> Bars(int[] counts, double lo, double width, Color? colour = null) =>
        counts.Select((count, i) => new Bar
        {
            Position = lo + (i + 0.5) * width,
            Value = count,
            Size = width,
            FillColor = colour ?? AllColour,
            LineWidth = 0,
        }).Where(b => b.Value > 0).ToList();
    /// <summary>Bins over [lo, hi); values outside are counted in the edge bins (<paramref name="clamped"/> says how many).</summary>
    internal static int[] Counts(IReadOnlyList<double> values, double lo, double hi, int bins, out int clamped)
    {
        var counts = new int[bins];
        clamped = 0;
        foreach (var v in values)
        {
            if (v < lo || v > hi) clamped++;
            counts[Math.Clamp((int)Math.Floor((v - lo) / (hi - lo) * bins), 0, bins - 1)]++;
        }
        return counts;
    }

    /// <summary>The 0.1st–99.9th percentile of the data, widened to every limit and band plus a margin, on bin edges.</summary>
    internal static (double Lo, double Hi) AxisRange(IReadOnlyList<double> values, WindowLimits limits, double binWidth)
    {
        var sorted = values.Order().ToArray();
        double Quantile(double q) => sorted[(int)Math.Round(q * (sorted.Length - 1))];
        var marks = new List<double> { Quantile(0.001), Quantile(0.999), limits.SolventReductionVolts, limits.SolventOxidationVolts };
        if (limits.CollectorOxidationVolts is { } c) marks.Add(c);
        foreach (var band in new[] { limits.CathodeBand, limits.AnodeBand }.OfType<PotentialBand>()) marks.AddRange([band.LowerVolts, band.UpperVolts]);
        var lo = Math.Floor((marks.Min() - 0.5) / binWidth) * binWidth;
        var hi = Math.Ceiling((marks.Max() + 0.5) / binWidth) * binWidth;
        return (lo, hi);
    }

    private static void Check(IReadOnlyList<double> values, string name, bool allowEmpty)
    {
        ArgumentNullException.ThrowIfNull(values, name);
        if (!allowEmpty && values.Count == 0) throw new ArgumentException($"No potentials to plot ({name} is empty).", name);
        if (values.Any(v => !double.IsFinite(v))) throw new ArgumentException($"{name} holds a non-finite potential.", name);
    }
}
