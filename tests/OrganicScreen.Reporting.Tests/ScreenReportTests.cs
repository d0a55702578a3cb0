using System.Text.RegularExpressions;
using OrganicScreen.Reporting;
using OrganicScreen.Screening;

namespace OrganicScreen.Reporting.Tests;

public class ScreenReportTests
{
    private const string Svg = "<svg version='1.1' xmlns='http://www.w3.org/2000/svg' width='250px' height='200px' viewBox='0 0 250 200'>\n<!-- END OF HEADER -->\n<rect style='opacity:1.0;fill:#FFFFFF' width='250.0' height='200.0'> </rect>\n<path class='bond-0 atom-0 atom-1' d='M 10,10 L 20,20' />\n</svg>\n";

    private static ReportContent Content(IReadOnlyList<Candidate>? candidates = null) => new("t", [], [], [], [new CandidateTable("Cathode candidates", candidates ?? [], 2, "candidates_cathode.csv")], []);

    private static Candidate Cand(string id, MoleculeTraits? traits) =>
        new(ElectrodeRole.Cathode, id, "O=C1C=CC(=O)C=C1", new PredictionInterval(4.2, 4.0, 4.4), 0.2, 0.1, null, null, traits is null ? null : CandidateTraits.Of(traits, 4.2));

    [Fact]
    public void Warnings_come_first_escaped_and_a_clean_screen_has_none()
    {
        var html = HtmlReport.Build(Content() with
        {
            Warnings = [new ReportWarning("Not a <physical> screen", "gas & phase")],
            Screen = new ScreenSummary(["summary"]),
        });
        html.ShouldContain("<div class=\"warning\" role=\"alert\"><p><b>Not a &lt;physical&gt; screen</b></p><p>gas &amp; phase</p></div>");
        html.IndexOf("class=\"warning\"", StringComparison.Ordinal).ShouldBeLessThan(html.IndexOf("<h2>Screening</h2>", StringComparison.Ordinal));
        html.IndexOf("</h1>", StringComparison.Ordinal).ShouldBeLessThan(html.IndexOf("class=\"warning\"", StringComparison.Ordinal));
        HtmlReport.Build(Content()).ShouldNotContain("class=\"warning\"");
    }

    [Fact]
    public void Trait_columns_show_mass_electrons_capacity_and_energy_and_mark_per_electron()
    {
        var html = HtmlReport.Build(Content([Cand("q", new MoleculeTraits(108.096, 8, ["C", "H", "O"], RedoxCenters: 2)), Cand("p", new MoleculeTraits(108.096, 8, ["C", "H", "O"])), Cand("hidden", null)]));
        html.ShouldContain("<th>M (g/mol)</th><th>n e⁻</th><th>Capacity (mAh/g)</th><th>Specific energy (Wh/kg)</th>");
        html.ShouldContain("<td>108.10</td><td>2</td><td>496</td><td>2083</td></tr>"); // 495.88 mAh/g × 4.2 V
        html.ShouldContain("<td>108.10</td><td>1†</td><td>248</td><td>1041</td></tr>");
        html.ShouldContain("† The dataset gives no redox-centre count");
        html.ShouldContain("Showing the first 2 of 3 candidates; <code>candidates_cathode.csv</code> holds them all.");
        html.ShouldContain("<td class=\"smiles\">O=C1C=CC(=O)C=C1</td>");
    }

    [Fact]
    public void Structure_drawings_are_inlined_and_anything_but_a_plain_svg_is_left_out()
    {
        var gallery = new StructureGallery("Top <cathodes>", [
            new StructureDrawing(Svg, "#1 <id>", "E_ox 4.20 V · C&C"),
            new StructureDrawing("<svg><script>alert(1)</script></svg>", "#2", "bad"),
            new StructureDrawing("<svg onload='x()'></svg>", "#3", "bad"),
            new StructureDrawing("<p>not svg</p>", "#4", "bad"),
        ], "note <b>");
        var html = HtmlReport.Build(Content() with { Structures = [gallery] });
        html.ShouldContain(Svg.Trim());
        Regex.Matches(html, "<svg").Count.ShouldBe(1);
        html.ShouldNotContain("<script", Case.Insensitive);
        html.ShouldNotContain("onload");
        Regex.Matches(html, "drawing left out").Count.ShouldBe(3);
        html.ShouldContain("<h2>Top &lt;cathodes&gt;</h2>");
        html.ShouldContain("<b>#1 &lt;id&gt;</b><br>" + HtmlReport.E("E_ox 4.20 V · C&C")); // · is written as &#183;
        html.ShouldContain("<p class=\"note\">note &lt;b&gt;</p>");
        HtmlReport.IsInlineableSvg("<svg><foreignObject><div/></foreignObject></svg>").ShouldBeFalse();
        HtmlReport.IsInlineableSvg("<svg><a href='x'/></svg>").ShouldBeFalse();
    }

    [Fact]
    public void Screening_section_shows_the_window_figure_and_filter_counts()
    {
        var png = new byte[] { 0x89, 0x50, 0x4E, 0x47, 9, 9 };
        var filters = new FilterSummary([new FilterCount("maxHeavyAtoms", "10", 5, 7)], 20, 15, 30, 23);
        var html = HtmlReport.Build(Content() with { Screen = new ScreenSummary(["a < b"], new ReportFigure("Electrochemical window", "c", png), filters) });
        html.ShouldContain("<p>a &lt; b</p>");
        html.ShouldContain("<td class=\"t\">maxHeavyAtoms</td><td class=\"t\">10</td><td>5</td><td>7</td>");
        html.ShouldContain("<th>15 of 20</th><th>23 of 30</th>");
        html.ShouldContain(Convert.ToBase64String(png));
        html.IndexOf("<h2>Screening</h2>", StringComparison.Ordinal).ShouldBeLessThan(html.IndexOf("<h2>Cathode candidates</h2>", StringComparison.Ordinal));
    }

    [Fact]
    public void Provenance_placeholder_is_filled_escaped_and_only_between_its_markers()
    {
        var html = HtmlReport.Build(Content());
        html.ShouldContain(HtmlReport.ProvenanceBegin);
        html.ShouldContain("Filled in when the results folder is published");
        var filled = HtmlReport.FillProvenance(html, [new ReportSetting("commit", "abc<1>"), new ReportSetting("screen artifact", "f00d")]);
        filled.ShouldContain(HtmlReport.ProvenanceBegin + "\n<dl class=\"provenance\">\n<dt>commit</dt><dd>abc&lt;1&gt;</dd>\n<dt>screen artifact</dt><dd>f00d</dd>\n</dl>\n" + HtmlReport.ProvenanceEnd);
        filled.ShouldNotContain("Filled in when the results folder is published");
        filled.Replace(filled[filled.IndexOf(HtmlReport.ProvenanceBegin, StringComparison.Ordinal)..(filled.IndexOf(HtmlReport.ProvenanceEnd, StringComparison.Ordinal))], "")
            .ShouldBe(html.Replace(html[html.IndexOf(HtmlReport.ProvenanceBegin, StringComparison.Ordinal)..(html.IndexOf(HtmlReport.ProvenanceEnd, StringComparison.Ordinal))], ""));
        HtmlReport.FillProvenance("<p>old report</p>", []).ShouldBe("<p>old report</p>");
    }
}
