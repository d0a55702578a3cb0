using System.Buffers.Binary;
using OrganicScreen.Reporting;
using OrganicScreen.Screening;
using SkiaSharp;

namespace OrganicScreen.Reporting.Tests;

public class WindowFigureTests
{
    private static readonly WindowLimits Acetonitrile = new("acetonitrile", 0.44, 6.54, "aluminium", 4.7,
        new PotentialBand("cathode", 3.0, 4.7), new PotentialBand("anode", 0.44, 2.0));

    private static (int Width, int Height) PngSize(byte[] png)
    {
        System.Text.Encoding.ASCII.GetString(png, 12, 4).ShouldBe("IHDR");
        return (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
    }

    private static SKBitmap Decode(byte[] png) => SKBitmap.Decode(png).ShouldNotBeNull();

    private static int DistinctColours(SKBitmap bitmap)
    {
        var colours = new HashSet<uint>();
        for (var y = 0; y < bitmap.Height; y += 2)
        for (var x = 0; x < bitmap.Width; x += 2)
            colours.Add((uint)bitmap.GetPixel(x, y));
        return colours.Count;
    }

    private static int DifferingPixels(byte[] a, byte[] b)
    {
        using var x = Decode(a);
        using var y = Decode(b);
        (x.Width, x.Height).ShouldBe((y.Width, y.Height));
        var differing = 0;
        for (var row = 0; row < x.Height; row++)
        for (var col = 0; col < x.Width; col++)
            if (x.GetPixel(col, row) != y.GetPixel(col, row)) differing++;
        return differing;
    }

    /// <summary>20k synthetic predictions (E_ox ≈ 4.3 ± 0.7 V, E_red ≈ 1.4 ± 0.8 V vs Li/Li+) and a few outliers; candidates by the rules' logic.</summary>
    private static (double[] Ox, double[] Red, double[] Cathodes, double[] Anodes) Synthetic(int n = 20_000)
    {
        var rng = new Random(5);
        double Gauss() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var ox = Enumerable.Range(0, n).Select(_ => 4.3 + 0.7 * Gauss()).ToArray();
        var red = Enumerable.Range(0, n).Select(_ => 1.4 + 0.8 * Gauss()).ToArray();
        ox[0] = -3.7;   // like OMEAD's oxidation_solv −2.27 eV
        red[1] = 8.7;
        var cathodes = ox.Where(v => v is >= 3.0 and <= 4.7 - 0.6).ToArray();
        var anodes = red.Where(v => v >= 0.44 + 0.6 && v <= 2.0).ToArray();
        return (ox, red, cathodes, anodes);
    }

    private static void Keep(string name, byte[] png)
    {
        var dir = Environment.GetEnvironmentVariable("ORGANICSCREEN_FIGURE_DIR");
        if (string.IsNullOrEmpty(dir)) return;
        Directory.CreateDirectory(dir);
        Figures.WritePng(Path.Combine(dir, name), png);
    }

    [Fact]
    public void Window_plot_renders_a_real_png_of_the_requested_size()
    {
        var (ox, red, cathodes, anodes) = Synthetic();
        var png = WindowFigure.RedoxWindowPlot(ox, red, cathodes, anodes, Acetonitrile, size: new FigureSize(1000, 900));
        png.Take(8).ShouldBe(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A });
        PngSize(png).ShouldBe((1000, 900));
        using var bitmap = Decode(png);
        DistinctColours(bitmap).ShouldBeGreaterThan(20);    // bars, shading, lines, text: not a blank canvas
        png.Length.ShouldBeGreaterThan(20_000);
        Keep("window.png", png);

        PngSize(WindowFigure.RedoxWindowPlot(ox, red, cathodes, anodes, Acetonitrile, size: new FigureSize(640, 700))).ShouldBe((640, 700));
    }

    [Fact]
    public void Changing_the_window_changes_the_picture()
    {
        var (ox, red, cathodes, anodes) = Synthetic(5000);
        var acetonitrile = WindowFigure.RedoxWindowPlot(ox, red, cathodes, anodes, Acetonitrile);
        var narrower = WindowFigure.RedoxWindowPlot(ox, red, cathodes, anodes, Acetonitrile with { SolventOxidationVolts = 5.5 });
        var again = WindowFigure.RedoxWindowPlot(ox, red, cathodes, anodes, Acetonitrile);
        DifferingPixels(acetonitrile, again).ShouldBe(0);                        // deterministic
        DifferingPixels(acetonitrile, narrower).ShouldBeGreaterThan(1000);
        var noCollector = WindowFigure.RedoxWindowPlot(ox, red, cathodes, anodes, Acetonitrile with { CollectorOxidationVolts = null });
        DifferingPixels(acetonitrile, noCollector).ShouldBeGreaterThan(100);
    }

    [Fact]
    public void Candidates_change_the_picture_and_none_is_a_valid_state()
    {
        var (ox, red, cathodes, anodes) = Synthetic(5000);
        var with = WindowFigure.RedoxWindowPlot(ox, red, cathodes, anodes, Acetonitrile);
        var without = WindowFigure.RedoxWindowPlot(ox, red, [], [], Acetonitrile);
        DifferingPixels(with, without).ShouldBeGreaterThan(1000);
        Keep("window-no-candidates.png", without);
    }

    [Fact]
    public void Limits_from_screening_rules()
    {
        var solvent = new SolventWindow("acetonitrile", new CitedPotential(0.44, "study", null), new CitedPotential(6.54, "study", null));
        var aluminium = new CurrentCollector("aluminium", new CitedPotential(4.7, "study", null));
        var limits = WindowLimits.FromRules(new ScreeningRules(solvent, aluminium), anodeCeilingVolts: 2.0);
        limits.ShouldBe(Acetonitrile);
        WindowLimits.FromRules(new ScreeningRules(solvent, null, AnodeMinimumVolts: 1.0), 2.0).AnodeBand.ShouldBe(new PotentialBand("anode", 1.0, 2.0));
        WindowLimits.FromRules(new ScreeningRules(solvent, null), 2.0).CathodeBand.ShouldBe(new PotentialBand("cathode", 3.0, 6.54));
    }

    [Fact]
    public void Invalid_input_is_refused_with_a_clear_message()
    {
        var (ox, red, _, _) = Synthetic(100);
        Should.Throw<ArgumentException>(() => WindowFigure.RedoxWindowPlot([], red, [], [], Acetonitrile)).Message.ShouldContain("oxidationVolts is empty");
        Should.Throw<ArgumentException>(() => WindowFigure.RedoxWindowPlot(ox, [], [], [], Acetonitrile)).Message.ShouldContain("reductionVolts is empty");
        Should.Throw<ArgumentException>(() => WindowFigure.RedoxWindowPlot(ox, red, [double.NaN], [], Acetonitrile)).Message.ShouldContain("non-finite");
        Should.Throw<ArgumentException>(() => WindowFigure.RedoxWindowPlot(ox, red, [], [], Acetonitrile with { SolventReductionVolts = 7 }))
            .Message.ShouldContain("reduction limit < oxidation limit");
        Should.Throw<ArgumentException>(() => WindowFigure.RedoxWindowPlot(ox, red, [], [], Acetonitrile with { CathodeBand = new PotentialBand("cathode", 4.7, 3.0) }))
            .Message.ShouldContain("Band 'cathode'");
        Should.Throw<ArgumentOutOfRangeException>(() => WindowFigure.RedoxWindowPlot(ox, red, [], [], Acetonitrile, binWidthVolts: 0));
    }

    [Fact]
    public void Axis_covers_the_limits_and_outliers_land_in_the_edge_bins()
    {
        var (lo, hi) = WindowFigure.AxisRange([2.0, 3.0, 4.0], Acetonitrile, 0.1);
        lo.ShouldBeLessThanOrEqualTo(0.44 - 0.5 + 1e-9);
        hi.ShouldBeGreaterThanOrEqualTo(6.54 + 0.5 - 1e-9);
        var counts = WindowFigure.Counts([-10.0, 0.05, 0.95, 99.0], 0.0, 1.0, 10, out var clamped);
        clamped.ShouldBe(2);
        counts[0].ShouldBe(2);
        counts[9].ShouldBe(2);
        counts.Sum().ShouldBe(4);
    }

    [Fact]
    public void Candidate_outline_spans_only_the_non_empty_bins_and_closes_at_zero()
    {
        var (x, y) = WindowFigure.StepOutline([0, 2, 0, 1, 0], 0.0, 1.0);
        x.ShouldBe([1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0]);
        y.ShouldBe([0.0, 2.0, 2.0, 0.0, 0.0, 1.0, 1.0, 0.0]);
        WindowFigure.StepOutline([0, 0], 0.0, 1.0).X.ShouldBeEmpty();
    }

    [Fact]
    public void A_realistic_screen_with_few_candidates_renders()
    {
        var (ox, red, _, _) = Synthetic();
        var cathodes = ox.Where(v => v is >= 3.6 and <= 4.1).Take(45).ToArray();
        var anodes = red.Where(v => v is >= 1.1 and <= 1.5).Take(309).ToArray();
        var png = WindowFigure.RedoxWindowPlot(ox, red, cathodes, anodes, Acetonitrile);
        PngSize(png).ShouldBe((1000, 900));
        Keep("window-few-candidates.png", png);
    }
}
