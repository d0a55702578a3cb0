using System.Globalization;

namespace OrganicScreen.Review;

/// <summary>Counts and number formats shared by the Markdown and HTML renderings, so both say the same.</summary>
public static class DiffSummary
{
    /// <summary>The summary lines: candidates, metrics, dataset, settings; each a plain sentence.</summary>
    public static IReadOnlyList<string> Lines(ResultsDiff diff)
    {
        var lines = new List<string>
        {
            $"candidates: {Count(diff, "entered")} entered, {Count(diff, "left")} left, {Count(diff, "changed")} changed potential, interval or rank ("
            + string.Join("; ", diff.Roles.Select(r => $"{r.Role} {N(r.Old)} → {N(r.New)}")) + ")",
            diff.Metrics.Count == 0
                ? "metrics: unchanged"
                : $"metrics: {diff.Metrics.Count} changed ({diff.Metrics.Count(m => m.Verdict == "better")} better, {diff.Metrics.Count(m => m.Verdict == "worse")} worse)",
            diff.Dataset is { } d
                ? $"dataset: {d.OldRows} → {d.NewRows} rows: {d.Added} added, {d.Removed} removed, {d.Relabelled} relabelled"
                : "dataset rows: not compared (see below)",
        };
        var counting = diff.Settings.Count(s => s.Counts);
        lines.Add($"settings: {counting} changed; code identity, keys and commit: {diff.Settings.Count - counting} reported");
        return lines;
    }

    private static int Count(ResultsDiff diff, string change) => diff.Count(change);

    private static string N(int? n) => n?.ToString(CultureInfo.InvariantCulture) ?? "–";

    public static string MetricName(string metric) => metric switch
    {
        "mae" => "MAE (eV)",
        "r2" => "R²",
        "coverage" => "95 % coverage",
        "interval" => "interval ± (eV)",
        "count" => "n",
        _ => metric,
    };

    public static string Value(string metric, double? value) => value switch
    {
        null => "–",
        { } v when metric == "count" => v.ToString("F0", CultureInfo.InvariantCulture),
        { } v when metric == "coverage" => v.ToString("P2", CultureInfo.InvariantCulture),
        { } v => v.ToString("F4", CultureInfo.InvariantCulture),
    };

    /// <summary>A delta with its sign always shown (+0.0123, -0.0040); "–" when there is none.</summary>
    public static string Signed(string metric, double? delta)
    {
        if (delta is not { } d) return "–";
        var text = metric switch
        {
            "count" => d.ToString("+0;-0;0", CultureInfo.InvariantCulture),
            "coverage" => (100 * d).ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture) + " pp",
            _ => d.ToString("+0.0000;-0.0000;0.0000", CultureInfo.InvariantCulture),
        };
        return text;
    }

    public static string Volts(double? v) => v?.ToString("F4", CultureInfo.InvariantCulture) ?? "–";

    public static string Interval(double? lower, double? upper) => lower is { } l && upper is { } u ? $"[{Volts(l)}, {Volts(u)}]" : "–";

    public static string Arrow(string? old, string? now) => old == now ? old ?? "–" : $"{old ?? "–"} → {now ?? "–"}";

    /// <summary>A dataset label: the old and new values of a relabel, or the one value of an added/removed row.</summary>
    public static string Pair(double? old, double? now, string change) => change switch
    {
        "added" => Volts(now),
        "removed" => Volts(old),
        _ => Arrow(Volts(old), Volts(now)),
    };
}
