using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using OrganicScreen.Screening;

namespace OrganicScreen.Reporting;

/// <summary>A box at the top of the report: <paramref name="Title"/> in bold, then <paramref name="Text"/>.</summary>
public sealed record ReportWarning(string Title, string Text);

/// <summary>What the filters did: removals per condition and how many candidates each role kept.</summary>
public sealed record FilterSummary(IReadOnlyList<FilterCount> Counts, int CathodesBefore, int CathodesKept, int AnodesBefore, int AnodesKept);

/// <summary>The screening section: summary paragraphs, the window figure, the filter table (null: no filters set).</summary>
public sealed record ScreenSummary(IReadOnlyList<string> Paragraphs, ReportFigure? Window = null, FilterSummary? Filters = null);

/// <summary>One structure drawing: RDKit's SVG (inlined as is, see <see cref="HtmlReport.IsInlineableSvg"/>), a title and a caption.</summary>
public sealed record StructureDrawing(string Svg, string Title, string Caption);

/// <summary>A grid of structure drawings under a heading, with an optional note below it.</summary>
public sealed record StructureGallery(string Title, IReadOnlyList<StructureDrawing> Drawings, string? Note = null);

/// <summary>The screening parts of the report: warnings, summary, structures, candidate tables and the provenance block.</summary>
public static partial class HtmlReport
{
    /// <summary>
    /// The provenance block of an artifact's report lies between these markers. The artifact is content-hashed, so its
    /// report cannot hold the commit or the date; the pipeline fills the published copy (<see cref="FillProvenance"/>).
    /// </summary>
    public const string ProvenanceBegin = "<!-- organicscreen:provenance:begin -->";

    public const string ProvenanceEnd = "<!-- organicscreen:provenance:end -->";

    /// <summary>
    /// True when <paramref name="svg"/> is a bare <c>&lt;svg&gt;</c> element that can go into the page as markup: RDKit draws
    /// atom labels as paths, so its SVG holds no caller text, but anything that could run or pull content (scripts, event
    /// handlers, foreignObject, external references, entities) is refused all the same and the drawing is left out.
    /// </summary>
    public static bool IsInlineableSvg(string svg)
    {
        ArgumentNullException.ThrowIfNull(svg);
        var text = svg.Trim();
        return text.StartsWith("<svg", StringComparison.Ordinal) && text.EndsWith("</svg>", StringComparison.Ordinal)
            && !UnsafeSvg().IsMatch(text);
    }

    [GeneratedRegex(@"<\s*(script|foreignObject|iframe|object|embed|image|use|a|style)\b|<!DOCTYPE|<!ENTITY|<\?|\son[a-z]+\s*=|javascript:|href\s*=|url\s*\(", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex UnsafeSvg();

    /// <summary>
    /// Replaces the provenance placeholder of <paramref name="html"/> with <paramref name="items"/> (escaped). Returns the
    /// text unchanged when it has no placeholder (a report from before this existed).
    /// </summary>
    public static string FillProvenance(string html, IReadOnlyList<ReportSetting> items)
    {
        ArgumentNullException.ThrowIfNull(html);
        ArgumentNullException.ThrowIfNull(items);
        var begin = html.IndexOf(ProvenanceBegin, StringComparison.Ordinal);
        var end = html.IndexOf(ProvenanceEnd, StringComparison.Ordinal);
        if (begin < 0 || end < begin) return html;
        var block = new StringBuilder(ProvenanceBegin).Append("\n<dl class=\"provenance\">\n");
        foreach (var item in items) block.Append("<dt>").Append(E(item.Key)).Append("</dt><dd>").Append(E(item.Value)).Append("</dd>\n");
        block.Append("</dl>\n");
        return string.Concat(html.AsSpan(0, begin), block.ToString(), html.AsSpan(end));
    }

    private static void AppendProvenancePlaceholder(StringBuilder html) =>
        html.Append("<h2 id=\"provenance\">Provenance</h2>\n").Append(ProvenanceBegin)
            .Append("\n<p class=\"note\">Filled in when the results folder is published (provenance.json beside this report): the commit, ")
            .Append("the dataset file's sha256, every stage's artifact key and the date. This copy is the stage artifact's, which holds ")
            .Append("only content.</p>\n").Append(ProvenanceEnd).Append('\n');

    private static void AppendWarnings(StringBuilder html, IReadOnlyList<ReportWarning> warnings)
    {
        foreach (var w in warnings)
            html.Append("<div class=\"warning\" role=\"alert\"><p><b>").Append(E(w.Title)).Append("</b></p><p>").Append(E(w.Text)).Append("</p></div>\n");
    }

    private static void AppendScreen(StringBuilder html, ScreenSummary screen)
    {
        html.Append("<h2>Screening</h2>\n");
        foreach (var p in screen.Paragraphs) html.Append("<p>").Append(E(p)).Append("</p>\n");
        if (screen.Filters is { } filters)
        {
            html.Append("<table class=\"filters\">\n<tr><th class=\"t\">Filter</th><th class=\"t\">Setting</th><th>Cathodes removed</th><th>Anodes removed</th></tr>\n");
            foreach (var c in filters.Counts)
                html.Append("<tr><td class=\"t\">").Append(E(c.Filter)).Append("</td><td class=\"t\">").Append(E(c.Setting)).Append("</td><td>")
                    .Append(I(c.Cathodes)).Append("</td><td>").Append(I(c.Anodes)).Append("</td></tr>\n");
            html.Append("<tr><th class=\"t\" colspan=\"2\">kept</th><th>").Append(I(filters.CathodesKept)).Append(" of ").Append(I(filters.CathodesBefore))
                .Append("</th><th>").Append(I(filters.AnodesKept)).Append(" of ").Append(I(filters.AnodesBefore)).Append("</th></tr>\n</table>\n")
                .Append("<p class=\"note\">A candidate that fails several filters counts under each.</p>\n");
        }

        if (screen.Window is { } window) AppendFigure(html, window);
    }

    private static void AppendGallery(StringBuilder html, StructureGallery gallery)
    {
        html.Append("<h2>").Append(E(gallery.Title)).Append("</h2>\n");
        if (gallery.Drawings.Count == 0)
        {
            html.Append("<p class=\"note\">No candidates to draw.</p>\n");
            return;
        }

        html.Append("<div class=\"gallery\">\n");
        foreach (var d in gallery.Drawings)
        {
            html.Append("<figure>\n");
            if (IsInlineableSvg(d.Svg)) html.Append(d.Svg.Trim()).Append('\n');
            else html.Append("<p class=\"note\">(drawing left out: not a plain SVG element)</p>\n");
            html.Append("<figcaption><b>").Append(E(d.Title)).Append("</b><br>").Append(E(d.Caption)).Append("</figcaption>\n</figure>\n");
        }

        html.Append("</div>\n");
        if (gallery.Note is { } note) html.Append("<p class=\"note\">").Append(E(note)).Append("</p>\n");
    }

    private static void AppendCandidates(StringBuilder html, CandidateTable table)
    {
        html.Append("<h2>").Append(E(table.Title)).Append("</h2>\n");
        if (table.Candidates.Count == 0)
        {
            html.Append("<p class=\"note\">No candidates passed the rules.</p>\n");
            return;
        }

        // The role is in the title, so the row starts with the rank; the interval is one cell so SMILES keeps room to wrap.
        var traits = table.Candidates.Any(c => c.Traits is not null);
        html.Append("<table class=\"candidates\">\n<tr><th>#</th><th class=\"t\">Id</th><th class=\"t\">SMILES</th><th>E (V vs Li/Li+)</th><th>95 % interval (V)</th><th>Margin (V)</th><th>Headroom (V)</th><th>DFT E (V vs Li/Li+)</th>");
        if (traits) html.Append("<th>M (g/mol)</th><th>n e⁻</th><th>Capacity (mAh/g)</th><th>Specific energy (Wh/kg)</th>");
        html.Append("</tr>\n");
        var rank = 0;
        foreach (var c in table.Candidates.Take(table.MaxRows))
        {
            html.Append("<tr><td>").Append(I(++rank)).Append("</td><td class=\"t\">").Append(E(c.Id)).Append("</td><td class=\"smiles\">").Append(E(c.CanonicalSmiles))
                .Append("</td><td>").Append(F(c.Potential.Predicted, 3)).Append("</td><td>").Append(F(c.Potential.Lower, 3)).Append("–").Append(F(c.Potential.Upper, 3))
                .Append("</td><td>").Append(F(c.MarginVolts, 3)).Append("</td><td>").Append(F(c.HeadroomVolts, 3)).Append("</td><td>")
                .Append(c.DftPotentialVolts is { } dft ? F(dft, 3) : "").Append("</td>");
            if (traits) AppendTraitCells(html, c.Traits);
            html.Append("</tr>\n");
        }

        html.Append("</table>\n");
        if (traits && table.Candidates.Take(table.MaxRows).Any(c => c.Traits?.ElectronSource == ElectronSource.PerElectron))
            html.Append("<p class=\"note\">† The dataset gives no redox-centre count for this molecule: capacity and energy are per electron.</p>\n");
        if (table.Candidates.Count > table.MaxRows)
            html.Append("<p class=\"note\">Showing the first ").Append(I(table.MaxRows)).Append(" of ").Append(I(table.Candidates.Count))
                .Append(" candidates; ").Append(table.CsvFile is { } csv ? $"<code>{E(csv)}</code>" : "the CSV file").Append(" holds them all.</p>\n");
    }

    private static void AppendTraitCells(StringBuilder html, CandidateTraits? t)
    {
        if (t is null)
        {
            html.Append("<td></td><td></td><td></td><td></td>");
            return;
        }

        html.Append("<td>").Append(F(t.Molecule.MolarMassGPerMol, 2)).Append("</td><td>").Append(I(t.Electrons))
            .Append(t.ElectronSource == ElectronSource.PerElectron ? "†" : "").Append("</td><td>").Append(F(t.CapacityMahG, 0))
            .Append("</td><td>").Append(F(t.SpecificEnergyWhKg, 0)).Append("</td>");
    }

    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);
}
