using System.Buffers.Binary;
using OrganicScreen.Reporting;
using SkiaSharp;

namespace OrganicScreen.Reporting.Tests;

public class FigureTests
{
    private static byte[] PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Width and height from the IHDR chunk, which a valid PNG must have first, right after the signature.</summary>
    private static (int Width, int Height) PngSize(byte[] png)
    {
        png.Take(8).ShouldBe(PngSignature);
        System.Text.Encoding.ASCII.GetString(png, 12, 4).ShouldBe("IHDR");
        return (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
    }

    /// <summary>Distinct colours in the decoded image: a blank or failed render has one or two.</summary>
    private static int DistinctColours(byte[] png)
    {
        using var bitmap = SKBitmap.Decode(png).ShouldNotBeNull();
        var colours = new HashSet<uint>();
        for (var y = 0; y < bitmap.Height; y += 2)
        for (var x = 0; x < bitmap.Width; x += 2)
            colours.Add((uint)bitmap.GetPixel(x, y));
        return colours.Count;
    }

    /// <summary>20k synthetic IE predictions: labels 5–10 eV, errors growing with the label.</summary>
    private static (double[] Labels, double[] Predictions) Synthetic(int n = 20_000)
    {
        var rng = new Random(11);
        var labels = new double[n];
        var predictions = new double[n];
        for (var i = 0; i < n; i++)
        {
            labels[i] = 5 + 5 * rng.NextDouble();
            var g = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            predictions[i] = labels[i] + 0.1 * (labels[i] - 4) * g;
        }
        return (labels, predictions);
    }

    /// <summary>Set ORGANICSCREEN_FIGURE_DIR to keep the PNGs for a visual check.</summary>
    private static void Keep(string name, byte[] png)
    {
        var dir = Environment.GetEnvironmentVariable("ORGANICSCREEN_FIGURE_DIR");
        if (string.IsNullOrEmpty(dir)) return;
        Directory.CreateDirectory(dir);
        Figures.WritePng(Path.Combine(dir, name), png);
    }

    [Fact]
    public void Density_grid_bins_points_with_row_zero_at_the_lowest_y_and_clamps_the_edges()
    {
        // Range [0, 4] with 4 bins → bin width 1. (0.5, 3.5): col 0, row 3. (3.9, 0.1): col 3, row 0.
        // (4.0, 4.0) is the maximum itself → clamped into the last bin (row 3, col 3). (−1, 2.5) is outside → col 0, row 2.
        var grid = DensityGrid.Compute([0.5, 3.9, 4.0, -1.0], [3.5, 0.1, 4.0, 2.5], bins: 4, min: 0, max: 4);
        grid.BinWidth.ShouldBe(1.0);
        grid.Counts[3, 0].ShouldBe(1);
        grid.Counts[0, 3].ShouldBe(1);
        grid.Counts[3, 3].ShouldBe(1);
        grid.Counts[2, 0].ShouldBe(1);
        grid.Counts.Cast<int>().Sum().ShouldBe(4);
    }

    [Fact]
    public void Density_grid_uses_one_range_for_both_axes()
    {
        var grid = DensityGrid.Compute([1.0, 2.0], [0.0, 5.0], bins: 10);
        grid.Min.ShouldBe(0.0);
        grid.Max.ShouldBe(5.0);
    }

    [Fact]
    public void Parity_plot_renders_a_real_png_of_the_requested_size_for_20k_points()
    {
        var (labels, predictions) = Synthetic();
        var png = Figures.ParityPlot(labels, predictions, "Ionization energy", "eV", size: new FigureSize(640, 600));
        PngSize(png).ShouldBe((640, 600));
        DistinctColours(png).ShouldBeGreaterThan(20); // a colour ramp, axes, text — not a blank canvas
        Keep("parity.png", png);
    }

    [Fact]
    public void Learning_curves_and_residual_histogram_render()
    {
        var curves = Enumerable.Range(1, 3).Select(fold => new LearningCurve($"fold {fold}",
            Enumerable.Range(1, 50).Select(e => 0.3 + 2.0 / (e + fold)).ToList(),
            Enumerable.Range(1, 50).Select(e => 0.45 + 2.0 / (e + fold) + 0.001 * e).ToList())).ToList();
        var lc = Figures.LearningCurves(curves, "MAE (eV)", size: new FigureSize(900, 500));
        PngSize(lc).ShouldBe((900, 500));
        DistinctColours(lc).ShouldBeGreaterThan(10);
        Keep("learning.png", lc);

        var (labels, predictions) = Synthetic(5000);
        var hist = Figures.ResidualHistogram(labels.Zip(predictions, (y, p) => y - p).ToList(), "IE", "eV");
        PngSize(hist).ShouldBe((FigureSize.Wide.Width, FigureSize.Wide.Height));
        DistinctColours(hist).ShouldBeGreaterThan(5);
        Keep("residuals.png", hist);
    }

    [Fact]
    public void Write_png_puts_the_same_bytes_on_disk()
    {
        var png = Figures.ResidualHistogram([-0.1, 0.0, 0.05, 0.2], "EA", "eV", bins: 4, size: new FigureSize(300, 200));
        var path = Path.Combine(Path.GetTempPath(), $"hist-{Guid.NewGuid():N}.png");
        try
        {
            Figures.WritePng(path, png);
            File.ReadAllBytes(path).ShouldBe(png);
            PngSize(File.ReadAllBytes(path)).ShouldBe((300, 200));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Empty_inputs_are_refused()
    {
        Should.Throw<ArgumentException>(() => Figures.LearningCurves([], "MAE (eV)"));
        Should.Throw<ArgumentException>(() => Figures.ResidualHistogram([], "IE", "eV"));
    }
}
