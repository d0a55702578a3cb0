using System.Globalization;

namespace OrganicScreen.Core;

/// <summary>
/// One benchmark measured several times. <c>bench</c> reports the <see cref="Median"/>: on a 2-core machine one run
/// disturbed by another process (a build, a cron job) moves a mean, not a median. The range shows the spread.
/// </summary>
public sealed record Repeats
{
    public IReadOnlyList<double> Values { get; }

    public Repeats(IEnumerable<double> values)
    {
        Values = values.ToArray();
        if (Values.Count == 0) throw new ArgumentException("A benchmark needs at least one measurement.", nameof(values));
        if (Values.Any(v => !double.IsFinite(v))) throw new ArgumentException("Measurements must be finite.", nameof(values));
    }

    /// <summary>The middle value; for an even count the mean of the two middle values.</summary>
    public double Median
    {
        get
        {
            var sorted = Values.Order().ToArray();
            var mid = sorted.Length / 2;
            return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        }
    }

    public double Min => Values.Min();

    public double Max => Values.Max();

    /// <summary>Index of the measurement closest to the median (the lower middle one for an even count): the run whose details are reported.</summary>
    public int MedianIndex
    {
        get
        {
            var order = Enumerable.Range(0, Values.Count).OrderBy(i => Values[i]).ThenBy(i => i).ToArray();
            return order[(order.Length - 1) / 2];
        }
    }

    /// <summary>"median 9.40 (9.13–9.56, 3 runs)" in <paramref name="format"/>.</summary>
    public string Describe(string format, string unit = "") =>
        Values.Count == 1
            ? $"{Median.ToString(format, CultureInfo.InvariantCulture)}{unit}"
            : $"median {Median.ToString(format, CultureInfo.InvariantCulture)}{unit} ({Min.ToString(format, CultureInfo.InvariantCulture)}–{Max.ToString(format, CultureInfo.InvariantCulture)}, {Values.Count} runs)";
}
