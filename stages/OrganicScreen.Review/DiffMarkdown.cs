using System.Globalization;
using System.Text;

namespace OrganicScreen.Review;

/// <summary>
/// The diff as Markdown that fits a pull-request comment or a job summary: what differs in counts first, then
/// metrics, dataset rows and the <see cref="ResultsDiff.MarkdownMoves"/> biggest candidate moves, settings, and
/// what could not be compared. Text from the data (ids, SMILES) is escaped so it cannot break the tables.
/// </summary>
public static class DiffMarkdown
{
    public static string Render(ResultsDiff diff)
    {
        ArgumentNullException.ThrowIfNull(diff);
        var md = new StringBuilder();
        md.Append("### Candidate-list review: ").Append(Text(diff.Title)).Append("\n\n");
        md.Append(diff.Differs ? "**Differs**" : "**No difference**").Append(CultureInfo.InvariantCulture,
            $" ({Text(diff.OldLabel)} → {Text(diff.NewLabel)}; tolerance: {(diff.Tolerance == 0 ? "none, exact" : $"{diff.Tolerance:G6} V")}).\n\n");
        foreach (var line in DiffSummary.Lines(diff)) md.Append("- ").Append(line).Append('\n');
        md.Append('\n');

        md.Append("| | ").AppendJoin(" | ", diff.Roles.Select(r => r.Role)).Append(" |\n|---|").Append(string.Concat(diff.Roles.Select(_ => "---:|"))).Append('\n');
        foreach (var (label, value) in new (string, Func<RoleSummary, int?>)[]
                 { (diff.OldLabel, r => r.Old), (diff.NewLabel, r => r.New), ("entered", r => r.Entered), ("left", r => r.Left), ("changed", r => r.Changed) })
            md.Append("| ").Append(Text(label)).Append(" | ").AppendJoin(" | ", diff.Roles.Select(r => value(r)?.ToString(CultureInfo.InvariantCulture) ?? "–")).Append(" |\n");

        if (diff.Metrics.Count > 0)
        {
            md.Append("\n#### Metrics\n\n| target | metric | ").Append(Text(diff.OldLabel)).Append(" | ").Append(Text(diff.NewLabel)).Append(" | Δ | |\n|---|---|---:|---:|---:|---|\n");
            foreach (var m in diff.Metrics)
                md.Append(CultureInfo.InvariantCulture, $"| {m.Target.ToUpperInvariant()} | {DiffSummary.MetricName(m.Metric)} | {DiffSummary.Value(m.Metric, m.Old)} | {DiffSummary.Value(m.Metric, m.New)} | {DiffSummary.Signed(m.Metric, m.Delta)} | {m.Verdict} |\n");
        }

        if (diff.DatasetChanges.Count > 0)
        {
            md.Append("\n#### Dataset rows\n\n| change | id | canonical SMILES | DFT IE (eV) | DFT EA (eV) |\n|---|---|---|---|---|\n");
            foreach (var c in diff.DatasetChanges.Take(ResultsDiff.MarkdownMoves))
                md.Append("| ").Append(c.Change).Append(" | ").Append(Text(c.OldId is null ? c.Id : $"{c.OldId} → {c.Id}")).Append(" | ").Append(Code(c.CanonicalSmiles))
                    .Append(" | ").Append(DiffSummary.Pair(c.OldIe, c.NewIe, c.Change)).Append(" | ").Append(DiffSummary.Pair(c.OldEa, c.NewEa, c.Change)).Append(" |\n");
            if (diff.DatasetChanges.Count > ResultsDiff.MarkdownMoves)
                md.Append(CultureInfo.InvariantCulture, $"\n{diff.DatasetChanges.Count - ResultsDiff.MarkdownMoves} more dataset changes are in the HTML and JSON diffs.\n");
        }

        if (diff.Moves.Count > 0)
        {
            var shown = Math.Min(diff.Moves.Count, ResultsDiff.MarkdownMoves);
            md.Append(CultureInfo.InvariantCulture, $"\n#### Candidates: {(shown < diff.Moves.Count ? $"the {shown} biggest moves of {diff.Moves.Count}" : $"{shown} moves")}\n\n");
            md.Append("| role | change | id | canonical SMILES | rank | E (V vs Li/Li+) | ΔE (V) | 95 % interval (V) |\n|---|---|---|---|---|---|---:|---|\n");
            foreach (var m in diff.Moves.Take(shown))
                md.Append("| ").Append(m.Role).Append(" | ").Append(m.Change).Append(" | ").Append(Text(m.Id)).Append(" | ").Append(Code(m.CanonicalSmiles))
                    .Append(" | ").Append(DiffSummary.Arrow(m.OldRank?.ToString(CultureInfo.InvariantCulture), m.NewRank?.ToString(CultureInfo.InvariantCulture)))
                    .Append(" | ").Append(DiffSummary.Arrow(DiffSummary.Volts(m.OldPotential), DiffSummary.Volts(m.NewPotential)))
                    .Append(" | ").Append(DiffSummary.Signed("v", m.PotentialDelta))
                    .Append(" | ").Append(DiffSummary.Arrow(DiffSummary.Interval(m.OldLower, m.OldUpper), DiffSummary.Interval(m.NewLower, m.NewUpper))).Append(" |\n");
        }

        if (diff.Settings.Count > 0)
        {
            md.Append("\n#### Settings and code identity\n\n");
            foreach (var s in diff.Settings)
                md.Append("- ").Append(s.Counts ? "**" : "").Append(Text(s.Scope)).Append(s.Counts ? "**" : "").Append(": ").Append(Text(s.Text))
                    .Append(s.Counts ? "" : " _(reported; does not count on its own)_").Append('\n');
        }

        if (diff.NotCompared.Count > 0)
        {
            md.Append("\n#### Not compared\n\n");
            foreach (var n in diff.NotCompared) md.Append("- ").Append(Text(n)).Append('\n');
        }

        return md.ToString();
    }

    /// <summary>Plain text in Markdown: escapes the characters that would start emphasis, links, HTML or a table cell.</summary>
    public static string Text(string text)
    {
        var escaped = new StringBuilder(text.Length);
        foreach (var c in text.Replace('\n', ' ').Replace('\r', ' '))
        {
            if (c is '\\' or '`' or '*' or '_' or '[' or ']' or '<' or '>' or '|' or '#' or '~') escaped.Append('\\');
            escaped.Append(c);
        }

        return escaped.ToString();
    }

    /// <summary>
    /// A SMILES as a code span (its '#', '=', '[' and '\' stay literal); '|' is escaped for the table, and a
    /// backtick in the text gets a longer fence.
    /// </summary>
    public static string Code(string text)
    {
        var body = text.Replace('\n', ' ').Replace('\r', ' ').Replace("|", "\\|", StringComparison.Ordinal);
        var fence = body.Contains('`', StringComparison.Ordinal) ? "`` " : "`";
        return fence + body + (fence.Length > 1 ? " ``" : "`");
    }
}
