using System.Globalization;
using System.Net;
using System.Text;

namespace OrganicScreen.Review;

/// <summary>
/// The diff as one self-contained HTML page (inline CSS, no scripts or external resources), escaped as the
/// report is (<see cref="WebUtility.HtmlEncode"/> on every string from the data). It lists up to
/// <see cref="MaxRows"/> moves and dataset rows; the JSON holds all of them. Given a drawer, the first
/// <see cref="DrawnMoves"/> moves show their structure.
/// </summary>
public static class DiffHtml
{
    public const int MaxRows = 2000;

    /// <summary>Moves drawn (RDKit depictions cost a few milliseconds each and bloat the page).</summary>
    public const int DrawnMoves = 50;

    private const string Style = """
        body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1200px;color:#222;line-height:1.45}
        h1{border-bottom:2px solid #444}h2{margin-top:1.8em;border-bottom:1px solid #bbb}
        table{border-collapse:collapse;margin:0.6em 0}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
        th{background:#eee}td.t{text-align:left;font-family:DejaVu Sans Mono,monospace}
        .better{color:#1a7f37}.worse{color:#b42318}.entered{background:#e9f7ee}.left{background:#fdecea}
        p.note{font-size:0.9em;color:#555}
        """;

    /// <param name="draw">
    /// Canonical SMILES → an inline <c>&lt;svg&gt;</c> element that the caller has checked is safe to embed, or null when
    /// it cannot be drawn. Null: no structure column (this library knows no RDKit).
    /// </param>
    public static string Render(ResultsDiff diff, Func<string, string?>? draw = null)
    {
        ArgumentNullException.ThrowIfNull(diff);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Candidate-list review: ").Append(E(diff.Title))
            .Append("</title>\n<style>\n").Append(Style).Append("</style>\n</head>\n<body>\n<h1>Candidate-list review: ").Append(E(diff.Title)).Append("</h1>\n");
        html.Append("<p><b>").Append(diff.Differs ? "Differs" : "No difference").Append("</b> (").Append(E(diff.OldLabel)).Append(": <code>").Append(E(diff.Old))
            .Append("</code> → ").Append(E(diff.NewLabel)).Append(": <code>").Append(E(diff.New)).Append("</code>; tolerance: ")
            .Append(diff.Tolerance == 0 ? "none, exact" : E(diff.Tolerance.ToString("G6", CultureInfo.InvariantCulture) + " V")).Append(").</p>\n<ul>\n");
        foreach (var line in DiffSummary.Lines(diff)) html.Append("<li>").Append(E(line)).Append("</li>\n");
        html.Append("</ul>\n");

        html.Append("<h2>Candidates per role</h2>\n<table>\n<tr><th></th>").Append(string.Concat(diff.Roles.Select(r => $"<th>{E(r.Role)}</th>"))).Append("</tr>\n");
        foreach (var (label, value) in new (string, Func<RoleSummary, int?>)[]
                 { (diff.OldLabel, r => r.Old), (diff.NewLabel, r => r.New), ("entered", r => r.Entered), ("left", r => r.Left), ("changed", r => r.Changed) })
            html.Append("<tr><td class=\"t\">").Append(E(label)).Append("</td>").Append(string.Concat(diff.Roles.Select(r => $"<td>{value(r)?.ToString(CultureInfo.InvariantCulture) ?? "–"}</td>"))).Append("</tr>\n");
        html.Append("</table>\n");

        if (diff.Metrics.Count > 0)
        {
            html.Append("<h2>Metrics</h2>\n<table>\n<tr><th>Target</th><th>Metric</th><th>").Append(E(diff.OldLabel)).Append("</th><th>").Append(E(diff.NewLabel)).Append("</th><th>Δ</th><th></th></tr>\n");
            foreach (var m in diff.Metrics)
                html.Append("<tr><td class=\"t\">").Append(E(m.Target.ToUpperInvariant())).Append("</td><td class=\"t\">").Append(E(DiffSummary.MetricName(m.Metric)))
                    .Append("</td><td>").Append(E(DiffSummary.Value(m.Metric, m.Old))).Append("</td><td>").Append(E(DiffSummary.Value(m.Metric, m.New)))
                    .Append("</td><td>").Append(E(DiffSummary.Signed(m.Metric, m.Delta))).Append("</td><td class=\"t ").Append(E(m.Verdict)).Append("\">").Append(E(m.Verdict)).Append("</td></tr>\n");
            html.Append("</table>\n");
        }

        if (diff.DatasetChanges.Count > 0)
        {
            html.Append("<h2>Dataset rows</h2>\n<table>\n<tr><th>Change</th><th>Id</th><th>Canonical SMILES</th><th>DFT IE (eV)</th><th>DFT EA (eV)</th></tr>\n");
            foreach (var c in diff.DatasetChanges.Take(MaxRows))
                html.Append("<tr><td class=\"t\">").Append(E(c.Change)).Append("</td><td class=\"t\">").Append(E(c.OldId is null ? c.Id : $"{c.OldId} → {c.Id}"))
                    .Append("</td><td class=\"t\">").Append(E(c.CanonicalSmiles)).Append("</td><td>").Append(E(DiffSummary.Pair(c.OldIe, c.NewIe, c.Change)))
                    .Append("</td><td>").Append(E(DiffSummary.Pair(c.OldEa, c.NewEa, c.Change))).Append("</td></tr>\n");
            html.Append("</table>\n").Append(More(diff.DatasetChanges.Count));
        }

        if (diff.Moves.Count > 0)
        {
            html.Append("<h2>Candidate moves (biggest first)</h2>\n<table>\n<tr><th>Role</th><th>Change</th><th>Id</th><th>Canonical SMILES</th><th>Rank</th><th>E (V vs Li/Li+)</th><th>ΔE (V)</th><th>95 % interval (V)</th>")
                .Append(draw is null ? "" : "<th>Structure</th>").Append("</tr>\n");
            foreach (var (m, i) in diff.Moves.Take(MaxRows).Select((m, i) => (m, i)))
                html.Append("<tr class=\"").Append(E(m.Change)).Append("\"><td class=\"t\">").Append(E(m.Role)).Append("</td><td class=\"t\">").Append(E(m.Change))
                    .Append("</td><td class=\"t\">").Append(E(m.Id)).Append("</td><td class=\"t\">").Append(E(m.CanonicalSmiles))
                    .Append("</td><td>").Append(E(DiffSummary.Arrow(m.OldRank?.ToString(CultureInfo.InvariantCulture), m.NewRank?.ToString(CultureInfo.InvariantCulture))))
                    .Append("</td><td>").Append(E(DiffSummary.Arrow(DiffSummary.Volts(m.OldPotential), DiffSummary.Volts(m.NewPotential))))
                    .Append("</td><td>").Append(E(DiffSummary.Signed("v", m.PotentialDelta)))
                    .Append("</td><td>").Append(E(DiffSummary.Arrow(DiffSummary.Interval(m.OldLower, m.OldUpper), DiffSummary.Interval(m.NewLower, m.NewUpper))))
                    .Append(draw is null ? "" : $"</td><td class=\"t\">{(i < DrawnMoves ? draw(m.CanonicalSmiles)?.Trim() : null)}").Append("</td></tr>\n");
            html.Append("</table>\n").Append(More(diff.Moves.Count));
        }

        if (diff.Settings.Count > 0)
        {
            html.Append("<h2>Settings and code identity</h2>\n<ul>\n");
            foreach (var s in diff.Settings)
                html.Append("<li>").Append(s.Counts ? "<b>" : "").Append(E(s.Scope)).Append(s.Counts ? "</b>" : "").Append(": ").Append(E(s.Text))
                    .Append(s.Counts ? "" : " <i>(reported; does not count on its own)</i>").Append("</li>\n");
            html.Append("</ul>\n");
        }

        if (diff.NotCompared.Count > 0)
        {
            html.Append("<h2>Not compared</h2>\n<ul>\n");
            foreach (var n in diff.NotCompared) html.Append("<li>").Append(E(n)).Append("</li>\n");
            html.Append("</ul>\n");
        }

        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    private static string More(int count) =>
        count > MaxRows ? $"<p class=\"note\">{count - MaxRows} more rows are in the JSON diff.</p>\n" : "";

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
