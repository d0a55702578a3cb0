using OrganicScreen.Core;
using System.Text.RegularExpressions;
using OrganicScreen.Reporting;
using OrganicScreen.Screening;

namespace OrganicScreen.Reporting.Tests;

public class HtmlReportTests
{
    private static byte[] FakePng => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3, 250];

    private static ReportContent Content(IReadOnlyList<Candidate>? candidates = null, IReadOnlyList<MethodNote>? methods = null, int maxRows = 500) => new(
        Title: "Run <1> & co",
        Metrics:
        [
            new MetricsRow("IE", "out-of-fold", new RegressionMetrics(4, 0.7, 0.5, 0.612372, 0.559017, 0.25)),
            new MetricsRow("EA", "final model", new RegressionMetrics(3, double.NaN, 0.1, 0.2, 0.2, 0.0)),
        ],
        Intervals: [new IntervalRow("IE", new Calibration(IntervalMethod.NormalizedConformal, 0.05, 1.9, 0.01, 20000), new CoverageReport(20000, 19002, 0.9501, 0.41, 0.37))],
        Figures: [new ReportFigure("Parity <IE>", "Binned \"density\"", FakePng)],
        Candidates: [new CandidateTable("Cathode candidates", candidates ?? [], maxRows)],
        Settings: [new ReportSetting("solvent", "acetonitrile"), new ReportSetting("margin<policy>", "IntervalHalfWidth & 'q'")],
        Methods: methods);

    private static Candidate Cand(string id, string smiles) =>
        new(ElectrodeRole.Cathode, id, smiles, new PredictionInterval(4.2, 4.0, 4.4), 0.2, 0.1, null);

    [Fact]
    public void Escapes_every_caller_string()
    {
        var html = HtmlReport.Build(Content([Cand("<script>alert(1)</script>", "C[N+](=O)[O-]&\"x\"")]));
        html.ShouldNotContain("<script>");
        html.ShouldContain("&lt;script&gt;alert(1)&lt;/script&gt;");
        html.ShouldContain("C[N+](=O)[O-]&amp;&quot;x&quot;");
        html.ShouldContain("<title>Run &lt;1&gt; &amp; co</title>");
        html.ShouldContain("<dt>margin&lt;policy&gt;</dt><dd>IntervalHalfWidth &amp; &#39;q&#39;</dd>");
        html.ShouldContain("alt=\"Parity &lt;IE&gt;\"");
        html.ShouldContain("Binned &quot;density&quot;");
    }

    [Fact]
    public void Is_self_contained_with_the_figure_embedded_as_base64()
    {
        var html = HtmlReport.Build(Content());
        html.ShouldNotContain("<script", Case.Insensitive);
        html.ShouldNotContain("<link", Case.Insensitive);
        html.ShouldNotContain("http://");
        html.ShouldNotContain("https://");
        var match = Regex.Match(html, "src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\"");
        match.Success.ShouldBeTrue();
        Convert.FromBase64String(match.Groups[1].Value).ShouldBe(FakePng);
    }

    [Fact]
    public void Shows_metrics_intervals_and_settings_with_invariant_numbers()
    {
        var html = HtmlReport.Build(Content());
        html.ShouldContain("<td class=\"t\">IE</td><td class=\"t\">out-of-fold</td><td>4</td><td>0.7000</td><td>0.5000</td><td>0.6124</td><td>0.5590</td><td>0.2500</td>");
        html.ShouldContain("<td class=\"t\">EA</td><td class=\"t\">final model</td><td>3</td><td>n/a</td>");
        html.ShouldContain("<td>95.0 %</td><td>1.9000</td><td>1.000</td><td>0.0100</td><td>20000</td><td>95.01 %</td>");
        html.ShouldContain("<dt>solvent</dt><dd>acetonitrile</dd>");
        html.IndexOf("<dt>solvent</dt>", StringComparison.Ordinal).ShouldBeLessThan(html.IndexOf("<dt>margin", StringComparison.Ordinal));
    }

    [Fact]
    public void Candidate_tables_are_truncated_with_a_note_and_empty_tables_say_so()
    {
        var many = Enumerable.Range(0, 5).Select(i => Cand($"m{i}", "C")).ToList();
        var html = HtmlReport.Build(Content(many, maxRows: 3));
        Regex.Matches(html, "<td class=\"smiles\">").Count.ShouldBe(3);
        html.ShouldContain("Showing the first 3 of 5 candidates; the CSV file holds them all.");
        html.ShouldContain("<td>4.200</td><td>4.000–4.400</td><td>0.200</td><td>0.100</td><td></td></tr>"); // no trait columns without traits
        HtmlReport.Build(Content()).ShouldContain("No candidates passed the rules.");
    }

    [Fact]
    public void Default_method_notes_are_used_unless_the_caller_supplies_text()
    {
        var html = HtmlReport.Build(Content());
        foreach (var note in MethodNotes.Defaults) html.ShouldContain("<h3>" + HtmlReport.E(note.Heading) + "</h3>");
        html.ShouldContain("1 − SS_res/SS_tot");
        html.ShouldContain("⌈(n+1)(1−α)⌉");

        var custom = HtmlReport.Build(Content(methods: [new MethodNote("Mine", "First <para>.\n\nSecond para.")]));
        custom.ShouldContain("<h3>Mine</h3>\n<p>First &lt;para&gt;.</p>\n<p>Second para.</p>");
        custom.ShouldNotContain("SS_res");
    }

    [Fact]
    public void Output_is_deterministic_and_written_as_utf8_without_bom()
    {
        var content = Content([Cand("a", "C")]);
        HtmlReport.Build(content).ShouldBe(HtmlReport.Build(content));
        var path = Path.Combine(Path.GetTempPath(), $"report-{Guid.NewGuid():N}.html");
        try
        {
            HtmlReport.Write(path, content);
            var bytes = File.ReadAllBytes(path);
            bytes.Take(15).ShouldBe("<!DOCTYPE html>"u8.ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
