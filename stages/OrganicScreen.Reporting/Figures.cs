using OrganicScreen.Core;
using System.Globalization;
using ScottPlot;

namespace OrganicScreen.Reporting;

/// <summary>Pixel size of a rendered figure.</summary>
public sealed record FigureSize(int Width, int Height)
{
    public static FigureSize Square { get; } = new(800, 800);
    public static FigureSize Wide { get; } = new(1000, 600);
}

/// <summary>
/// Counts of points in a regular square grid over [Min, Max]² (x = DFT label, y = prediction).
/// Points outside the range are clamped into the edge bins so nothing silently disappears from the plot.
/// Counts[row, col]: row indexes y from the bottom (row 0 = lowest y), col indexes x.
/// </summary>
public sealed record DensityGrid(double Min, double Max, int Bins, int[,] Counts)
{
    public double BinWidth => (Max - Min) / Bins;

    public static DensityGrid Compute(IReadOnlyList<double> x, IReadOnlyList<double> y, int bins, double? min = null, double? max = null)
    {
        if (x.Count != y.Count) throw new ArgumentException("x and y differ in length.");
        if (x.Count == 0) throw new ArgumentException("No points to bin.");
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        // One shared range for both axes: a parity plot is only readable when y = x is the diagonal.
        var lo = min ?? Math.Min(x.Min(), y.Min());
        var hi = max ?? Math.Max(x.Max(), y.Max());
        if (!(hi > lo))
        {
            lo -= 0.5;
            hi += 0.5;
        }
        var counts = new int[bins, bins];
        for (var i = 0; i < x.Count; i++)
            counts[Index(y[i], lo, hi, bins), Index(x[i], lo, hi, bins)]++;
        return new DensityGrid(lo, hi, bins, counts);
    }

    private static int Index(double v, double lo, double hi, int bins) =>
        Math.Clamp((int)Math.Floor((v - lo) / (hi - lo) * bins), 0, bins - 1);
}

/// <summary>One fold's learning curve; epoch e is index e−1 in both lists.</summary>
public sealed record LearningCurve(string Label, IReadOnlyList<double> Train, IReadOnlyList<double> Validation);

/// <summary>
/// Headless PNG figures (ScottPlot 5 on SkiaSharp's NoDependencies native asset; no display or fontconfig needed).
/// Every method returns PNG bytes; <see cref="WritePng"/> saves them.
/// </summary>
public static class Figures
{
    /// <summary>
    /// Parity plot as a binned 2-D histogram (log₁₀ counts) so 20k points stay readable, with the y = x line.
    /// Title carries MAE and R² computed from the same data.
    /// </summary>
    /// <param name="quantity">e.g. "Ionization energy"; used in title and axis labels.</param>
    /// <param name="unit">e.g. "eV".</param>
    /// <param name="subtitle">e.g. "out-of-fold"; appended to the title.</param>
    public static byte[] ParityPlot(IReadOnlyList<double> labels, IReadOnlyList<double> predictions, string quantity, string unit,
        string subtitle = "out-of-fold", int bins = 80, FigureSize? size = null)
    {
        var metrics = RegressionMetricsCalculator.Compute(labels, predictions);
        var grid = DensityGrid.Compute(labels, predictions, bins);
        size ??= FigureSize.Square;

        // ScottPlot draws Intensities[0, *] at the top, so flip our bottom-up rows; empty bins become NaN so they
        // render as background instead of the colormap's lowest colour.
        var intensities = new double[bins, bins];
        for (var row = 0; row < bins; row++)
        for (var col = 0; col < bins; col++)
        {
            var count = grid.Counts[row, col];
            intensities[bins - 1 - row, col] = count > 0 ? Math.Log10(count) : double.NaN;
        }

        using var plot = new Plot();
        var heatmap = plot.Add.Heatmap(intensities);
        heatmap.Extent = new CoordinateRect(grid.Min, grid.Max, grid.Min, grid.Max);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.NaNCellColor = Colors.Transparent;
        var colorbar = plot.Add.ColorBar(heatmap);
        colorbar.Label = "log10(count)";

        var diagonal = plot.Add.Line(grid.Min, grid.Min, grid.Max, grid.Max);
        diagonal.LineColor = Colors.Red;
        diagonal.LineWidth = 1.5f;
        diagonal.LinePattern = LinePattern.Dashed;

        plot.Axes.SetLimits(grid.Min, grid.Max, grid.Min, grid.Max);
        plot.Title(string.Create(CultureInfo.InvariantCulture,
            $"{quantity} ({subtitle}): MAE {metrics.Mae:F3} {unit}, R² {metrics.R2:F3}, n = {metrics.Count}"));
        plot.XLabel($"DFT {quantity} ({unit})");
        plot.YLabel($"Predicted {quantity} ({unit})");
        return plot.GetImageBytes(size.Width, size.Height, ImageFormat.Png);
    }

    /// <summary>Train (dashed) and validation (solid) curves, one colour per fold, against epoch.</summary>
    /// <param name="metricLabel">Y-axis label with unit, e.g. "MAE (eV)" or "MSE loss (eV²)".</param>
    public static byte[] LearningCurves(IReadOnlyList<LearningCurve> curves, string metricLabel, string title = "Learning curves",
        FigureSize? size = null)
    {
        if (curves.Count == 0) throw new ArgumentException("No learning curves to plot.", nameof(curves));
        size ??= FigureSize.Wide;
        using var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (var i = 0; i < curves.Count; i++)
        {
            var colour = palette.GetColor(i);
            var curve = curves[i];
            if (curve.Train.Count > 0)
            {
                var train = plot.Add.ScatterLine(Epochs(curve.Train.Count), curve.Train.ToArray(), colour);
                train.LinePattern = LinePattern.Dashed;
                train.LegendText = $"{curve.Label} train";
            }
            if (curve.Validation.Count > 0)
            {
                var validation = plot.Add.ScatterLine(Epochs(curve.Validation.Count), curve.Validation.ToArray(), colour);
                validation.LineWidth = 2;
                validation.LegendText = $"{curve.Label} validation";
            }
        }
        plot.Title(title);
        plot.XLabel("Epoch");
        plot.YLabel(metricLabel);
        plot.ShowLegend(Alignment.UpperRight);
        return plot.GetImageBytes(size.Width, size.Height, ImageFormat.Png);
    }

    /// <summary>Histogram of residuals (label − prediction) with the mean and ±σ marked.</summary>
    public static byte[] ResidualHistogram(IReadOnlyList<double> residuals, string quantity, string unit, int bins = 60,
        FigureSize? size = null)
    {
        if (residuals.Count == 0) throw new ArgumentException("No residuals to plot.", nameof(residuals));
        size ??= FigureSize.Wide;
        var lo = residuals.Min();
        var hi = residuals.Max();
        if (!(hi > lo))
        {
            lo -= 0.5;
            hi += 0.5;
        }
        var histogram = ScottPlot.Statistics.Histogram.WithBinCount(bins, lo, hi);
        histogram.AddRange(residuals);

        using var plot = new Plot();
        plot.Add.Histogram(histogram);
        var mean = residuals.Average();
        var sigma = Math.Sqrt(residuals.Sum(r => (r - mean) * (r - mean)) / residuals.Count);
        plot.Add.VerticalLine(mean, 1.5f, Colors.Black);
        plot.Add.VerticalLine(mean - sigma, 1f, Colors.Red, LinePattern.Dashed);
        plot.Add.VerticalLine(mean + sigma, 1f, Colors.Red, LinePattern.Dashed);
        plot.Axes.Margins(bottom: 0);
        plot.Title(string.Create(CultureInfo.InvariantCulture,
            $"{quantity} residuals: mean {mean:F3} {unit}, σ {sigma:F3} {unit}, n = {residuals.Count}"));
        plot.XLabel($"Residual, DFT − predicted ({unit})");
        plot.YLabel("Molecules");
        return plot.GetImageBytes(size.Width, size.Height, ImageFormat.Png);
    }

    public static void WritePng(string path, byte[] png) => File.WriteAllBytes(path, png);

    private static double[] Epochs(int count) => Enumerable.Range(1, count).Select(e => (double)e).ToArray();
}
