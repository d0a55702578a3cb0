using OrganicScreen.Core;
using System.Globalization;
using System.Net;
using System.Text;
using OrganicScreen.Screening;

namespace OrganicScreen.Reporting;

/// <summary>One metrics line: a target ("IE", "EA") evaluated one way ("out-of-fold", "final model").</summary>
public sealed record MetricsRow(string Target, string Evaluation, RegressionMetrics Metrics);

/// <summary>A fitted interval rule and the coverage it achieved, per target, with the adaptive-against-fixed comparison when there is one.</summary>
public sealed record IntervalRow(string Target, Calibration Calibration, CoverageReport Coverage, IntervalComparison? Comparison = null);

/// <summary>A PNG to embed; <paramref name="Caption"/> says what the reader is looking at.</summary>
public sealed record ReportFigure(string Title, string Caption, byte[] Png);

/// <summary>
/// A candidate table. Only the first <paramref name="MaxRows"/> rows go into the HTML (a library screen can pass
/// thousands); the report says how many were left out and that the CSV (<paramref name="CsvFile"/> when named) holds
/// them all. Capacity and energy columns appear when any candidate has <see cref="Candidate.Traits"/>.
/// </summary>
public sealed record CandidateTable(string Title, IReadOnlyList<Candidate> Candidates, int MaxRows = 500, string? CsvFile = null);

/// <summary>One run setting, shown verbatim (key/value, in the caller's order).</summary>
public sealed record ReportSetting(string Key, string Value);

/// <summary>A "how this number was produced" paragraph; blank lines in <paramref name="Text"/> separate paragraphs.</summary>
public sealed record MethodNote(string Heading, string Text);

/// <summary>Everything <see cref="HtmlReport"/> renders. Null <paramref name="Methods"/> means <see cref="MethodNotes.Defaults"/>.</summary>
public sealed record ReportContent(
    string Title,
    IReadOnlyList<MetricsRow> Metrics,
    IReadOnlyList<IntervalRow> Intervals,
    IReadOnlyList<ReportFigure> Figures,
    IReadOnlyList<CandidateTable> Candidates,
    IReadOnlyList<ReportSetting> Settings,
    IReadOnlyList<MethodNote>? Methods = null)
{
    /// <summary>Shown in a box at the top of the page, before anything else (e.g. a gas-phase dataset in a solvent window).</summary>
    public IReadOnlyList<ReportWarning> Warnings { get; init; } = [];

    /// <summary>The screen's summary, filter counts and window figure, shown before the candidate tables; null leaves the section out.</summary>
    public ScreenSummary? Screen { get; init; }

    /// <summary>Structure drawings of the top candidates, shown before the candidate tables.</summary>
    public IReadOnlyList<StructureGallery> Structures { get; init; } = [];
}

/// <summary>
/// Builds one self-contained <c>report.html</c>: inline CSS, figures as base64 data URIs, no scripts or external
/// resources, so it can be mailed or archived as a single file. Every caller-supplied string is HTML-escaped.
/// The output is a pure function of the content (no timestamps), so two runs with the same inputs diff clean.
/// </summary>
public static partial class HtmlReport
{
    private const string Style = """
        body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#222;line-height:1.45}
        h1{border-bottom:2px solid #444}h2{margin-top:1.8em;border-bottom:1px solid #bbb}
        table{border-collapse:collapse;margin:0.6em 0}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
        th{background:#eee}td.t{text-align:left;font-family:DejaVu Sans Mono,monospace}
        figure{margin:1em 0}figure img{max-width:100%;border:1px solid #ddd}figcaption{font-size:0.9em;color:#555}
        dl.settings dt{font-weight:bold;float:left;clear:left;width:18em}dl.settings dd{margin-left:19em}
        p.note{font-size:0.9em;color:#555}
        div.warning{border:2px solid #b45309;background:#fff4e0;padding:0.6em 1em;margin:1em 0}div.warning p{margin:0.3em 0}
        table.candidates{font-size:0.85em}table.candidates td:not(.smiles){white-space:nowrap}table.candidates td.smiles{word-break:break-all;min-width:16em;max-width:24em;text-align:left;font-family:DejaVu Sans Mono,monospace}th.t{text-align:left}
        div.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:0.6em}
        div.gallery figure{margin:0;border:1px solid #ddd;padding:4px}div.gallery svg{width:100%;height:auto;display:block}
        div.gallery figcaption{font-size:0.8em;word-break:break-all}
        dl.provenance dt{font-weight:bold;float:left;clear:left;width:12em}dl.provenance dd{margin-left:13em;font-family:DejaVu Sans Mono,monospace;word-break:break-all}
        """;

    public static string Build(ReportContent content)
    {
        ArgumentNullException.ThrowIfNull(content);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
            .Append(E(content.Title)).Append("</title>\n<style>\n").Append(Style).Append("</style>\n</head>\n<body>\n");
        html.Append("<h1>").Append(E(content.Title)).Append("</h1>\n");

        // Screen first (what a reader acts on), then the model evidence, then settings, provenance and methods.
        AppendWarnings(html, content.Warnings);
        if (content.Screen is { } screen) AppendScreen(html, screen);
        foreach (var gallery in content.Structures) AppendGallery(html, gallery);
        foreach (var table in content.Candidates) AppendCandidates(html, table);
        AppendMetrics(html, content.Metrics);
        AppendIntervals(html, content.Intervals);
        AppendFigures(html, content.Figures);
        AppendSettings(html, content.Settings);
        AppendProvenancePlaceholder(html);
        AppendMethods(html, content.Methods ?? MethodNotes.Defaults);

        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    public static void Write(string path, ReportContent content) =>
        File.WriteAllText(path, Build(content), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));

    /// <summary>HTML-escapes text for element content and attribute values (&amp; &lt; &gt; &quot; &#39;).</summary>
    public static string E(string text) => WebUtility.HtmlEncode(text);

    private static string F(double value, int decimals) =>
        double.IsNaN(value) ? "n/a" : value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private static void AppendMetrics(StringBuilder html, IReadOnlyList<MetricsRow> rows)
    {
        html.Append("<h2>Metrics</h2>\n");
        if (rows.Count == 0)
        {
            html.Append("<p class=\"note\">No metrics supplied.</p>\n");
            return;
        }
        html.Append("<table class=\"metrics\">\n<tr><th>Target</th><th>Evaluation</th><th>n</th><th>R²</th><th>MAE (eV)</th><th>RMSE (eV)</th><th>σ (eV)</th><th>Mean residual (eV)</th></tr>\n");
        foreach (var r in rows)
        {
            var m = r.Metrics;
            html.Append("<tr><td class=\"t\">").Append(E(r.Target)).Append("</td><td class=\"t\">").Append(E(r.Evaluation))
                .Append("</td><td>").Append(m.Count.ToString(CultureInfo.InvariantCulture))
                .Append("</td><td>").Append(F(m.R2, 4)).Append("</td><td>").Append(F(m.Mae, 4))
                .Append("</td><td>").Append(F(m.Rmse, 4)).Append("</td><td>").Append(F(m.Sigma, 4))
                .Append("</td><td>").Append(F(m.MeanResidual, 4)).Append("</td></tr>\n");
        }
        html.Append("</table>\n");
    }

    private static void AppendIntervals(StringBuilder html, IReadOnlyList<IntervalRow> rows)
    {
        if (rows.Count == 0) return;
        html.Append("<h2>Prediction intervals</h2>\n<table class=\"intervals\">\n<tr><th>Target</th><th>Method</th><th>Nominal</th><th>q (shipped half-width)</th><th>Ensemble scale</th><th>ε (eV)</th><th>n</th><th>Fold-held-out coverage</th><th>Mean half-width (eV)</th><th>Median half-width (eV)</th></tr>\n");
        foreach (var r in rows)
        {
            var c = r.Calibration;
            html.Append("<tr><td class=\"t\">").Append(E(r.Target)).Append("</td><td class=\"t\">").Append(E(c.Method.ToString()))
                .Append("</td><td>").Append(F(100 * (1 - c.Alpha), 1)).Append(" %</td><td>").Append(F(c.Q, 4))
                .Append("</td><td>").Append(F(c.Scale, 3)).Append("</td><td>").Append(F(c.Epsilon, 4)).Append("</td><td>").Append(c.N.ToString(CultureInfo.InvariantCulture))
                .Append("</td><td>").Append(F(100 * r.Coverage.Coverage, 2)).Append(" %</td><td>").Append(F(r.Coverage.MeanHalfWidth, 4))
                .Append("</td><td>").Append(F(r.Coverage.MedianHalfWidth, 4)).Append("</td></tr>\n");
        }
        html.Append("</table>\n");
        var compared = rows.Where(r => r.Comparison is not null).ToList();
        if (compared.Count == 0) return;
        html.Append("<h3>Adaptive against fixed-width intervals</h3>\n<table class=\"intervals\">\n<tr><th>Target</th><th>Mean shipped half-width (eV)</th><th>Fixed half-width (eV)</th>" +
                    "<th>Narrower than fixed</th><th>Fold-held-out coverage, adaptive / fixed</th><th>Fold-held-out mean half-width, adaptive / fixed (eV)</th></tr>\n");
        foreach (var r in compared)
        {
            var c = r.Comparison!;
            html.Append("<tr><td class=\"t\">").Append(E(r.Target)).Append("</td><td>").Append(F(c.MeanHalfWidth, 4)).Append("</td><td>").Append(F(c.FixedHalfWidth, 4))
                .Append("</td><td>").Append(F(100 * c.ShareNarrower, 1)).Append(" %</td><td>").Append(F(100 * c.HeldOut.Adaptive.Coverage, 2)).Append(" % / ")
                .Append(F(100 * c.HeldOut.Fixed.Coverage, 2)).Append(" %</td><td>").Append(F(c.HeldOut.Adaptive.MeanHalfWidth, 4)).Append(" / ")
                .Append(F(c.HeldOut.Fixed.MeanHalfWidth, 4)).Append("</td></tr>\n");
        }

        html.Append("</table>\n<table class=\"intervals\">\n<tr><th>Target</th><th>Decile of predicted uncertainty</th><th>n</th><th>Mean half-width, adaptive / fixed (eV)</th><th>Coverage, adaptive / fixed</th></tr>\n");
        foreach (var r in compared)
            foreach (var d in r.Comparison!.HeldOut.Deciles)
                html.Append("<tr><td class=\"t\">").Append(E(r.Target)).Append("</td><td>").Append(d.Decile.ToString(CultureInfo.InvariantCulture)).Append("</td><td>")
                    .Append(d.Count.ToString(CultureInfo.InvariantCulture)).Append("</td><td>").Append(F(d.MeanHalfWidth, 4)).Append(" / ").Append(F(d.FixedMeanHalfWidth, 4))
                    .Append("</td><td>").Append(F(100 * d.Coverage, 1)).Append(" % / ").Append(F(100 * d.FixedCoverage, 1)).Append(" %</td></tr>\n");
        html.Append("</table>\n");
    }

    private static void AppendFigures(StringBuilder html, IReadOnlyList<ReportFigure> figures)
    {
        if (figures.Count == 0) return;
        html.Append("<h2>Model figures</h2>\n");
        foreach (var f in figures) AppendFigure(html, f);
    }

    private static void AppendFigure(StringBuilder html, ReportFigure f) =>
        html.Append("<figure>\n<img alt=\"").Append(E(f.Title)).Append("\" src=\"data:image/png;base64,")
            .Append(Convert.ToBase64String(f.Png)).Append("\">\n<figcaption><b>").Append(E(f.Title)).Append(".</b> ")
            .Append(E(f.Caption)).Append("</figcaption>\n</figure>\n");

    private static void AppendSettings(StringBuilder html, IReadOnlyList<ReportSetting> settings)
    {
        html.Append("<h2>Settings</h2>\n");
        if (settings.Count == 0)
        {
            html.Append("<p class=\"note\">No settings supplied.</p>\n");
            return;
        }
        html.Append("<dl class=\"settings\">\n");
        foreach (var s in settings)
            html.Append("<dt>").Append(E(s.Key)).Append("</dt><dd>").Append(E(s.Value)).Append("</dd>\n");
        html.Append("</dl>\n");
    }

    private static void AppendMethods(StringBuilder html, IReadOnlyList<MethodNote> notes)
    {
        html.Append("<h2>How each number was produced</h2>\n");
        foreach (var note in notes)
        {
            html.Append("<h3>").Append(E(note.Heading)).Append("</h3>\n");
            foreach (var paragraph in note.Text.Replace("\r\n", "\n", StringComparison.Ordinal)
                         .Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                html.Append("<p>").Append(E(paragraph)).Append("</p>\n");
        }
    }
}

/// <summary>Default "how each number was produced" text; callers may replace or extend it.</summary>
public static class MethodNotes
{
    public static IReadOnlyList<MethodNote> Defaults { get; } =
    [
        new("Residuals, MAE, RMSE, σ and R²",
            "For each molecule the residual is r = y − ŷ, the DFT label minus the prediction, in eV. " +
            "MAE is the mean of |r|; RMSE is the square root of the mean of r². σ is the standard deviation of the residuals " +
            "around their mean, dividing by n (numpy's default, as in the 2020 study), so RMSE² = σ² + (mean residual)². " +
            "R² = 1 − SS_res/SS_tot with SS_res = Σ r² and SS_tot = Σ (y − ȳ)², the share of the label variance the model explains."),
        new("Out-of-fold versus final-model metrics",
            "Out-of-fold (OOF) numbers come from 8-fold cross-validation: every molecule is predicted by the one fold model " +
            "that never saw it during training, so OOF metrics estimate accuracy on new molecules. " +
            "Final-model numbers are computed on the data set named in the settings; if that data was used for training they are " +
            "optimistic and should not be read as generalisation error."),
        new("Prediction intervals",
            "Intervals are calibrated on the OOF residuals. Split conformal uses one half-width q for every molecule: the " +
            "⌈(n+1)(1−α)⌉-th smallest |r| among the n OOF molecules; the (n+1) correction guarantees at least 1−α coverage for a new " +
            "molecule exchangeable with the calibration set. " +
            "Normalised conformal divides each score by the ensemble spread plus a floor, |r|/(σᵢ+ε), where σᵢ is the standard " +
            "deviation of the 8 fold models' predictions for molecule i; the interval is ŷ ± q·(σᵢ+ε), so molecules on which the " +
            "fold models disagree get wider intervals. " +
            "The global band reproduces the 2020 study: ŷ ± z·σ with z = 1.96 and σ the residual standard deviation, identical for all molecules. " +
            "Ensemble conformal (the shipped k-fold ensemble) takes the split-conformal q of the members' OOF residuals and scales it by " +
            "√(1 − D/MSE), where MSE is the OOF mean squared error and D the members' disagreement E[(f_j − ȳ)²], estimated on each " +
            "molecule from the k − 1 members trained on it: averaging removes that part of a member's error. Members agree more on " +
            "molecules they saw, so D is underestimated and the interval errs wide. The fold-held-out coverage and half-widths in the " +
            "table are those of the member-level interval (q fitted on the other folds, applied to each fold's OOF residuals), the " +
            "one check that needs no extra training. " +
            "Adaptive conformal (the default) gives each molecule its own width, q·σ(x): σ(x) is a least-squares fit of |r| on " +
            "1 − s₁ and 1 − s̄₅, where s₁ is the molecule's largest ECFP4 Tanimoto similarity to the training molecules of the member " +
            "that predicted it out of fold and s̄₅ the mean of its five largest (a new molecule: to the whole training set), floored at " +
            "a quarter of the mean |r|; q is the conformal quantile of |r|/σ(x), each score using σ fitted without its own fold; the " +
            "ensemble scale above narrows it likewise. The ensemble spread is not used: every out-of-fold molecule was seen by all but " +
            "one member, so the spread there is biased low. The comparison tables fit both rules on the other folds only, apply " +
            "them to each fold, and give coverage per decile of the adaptive half-width."),
        new("Coverage",
            "Coverage is the fraction of molecules whose DFT label lies inside its interval. Measured on the same OOF data used for " +
            "calibration it is ≈ ⌈(n+1)(1−α)⌉/n, just above the nominal level. The guarantee is marginal (on average over molecules) " +
            "and assumes the screened molecules resemble the training data; molecules far from it may be covered less often."),
        new("Potentials",
            "A one-electron energy of x eV equals x V on the absolute (vacuum) scale, so E_ox = IE and E_red = EA there, with EA " +
            "positive when reduction is favourable (Materials Project convention). Potentials are converted to Li/Li+ by subtracting " +
            "1.40 V: the IUPAC absolute SHE potential 4.44 V (Trasatti 1986) plus Li/Li+ at −3.04 V vs SHE. " +
            "Interval bounds are shifted by the same constant."),
        new("Screening rules",
            "Cathode candidates need E_ox + margin ≤ min(solvent oxidation limit, current-collector oxidation limit) and E_ox at or " +
            "above the minimum cathode potential. Anode candidates need E_red − margin ≥ the solvent reduction limit (and E_red at or " +
            "above the anode minimum when one is set). The margin is the molecule's own interval on the side facing the limit, " +
            "the global band, or zero, as listed in the settings; boundaries are inclusive. Tables are ordered cathodes first by " +
            "descending potential, then anodes by ascending potential, ties broken by id and then SMILES (ordinal)."),
    ];
}
