using System.Text.Json;
using System.Text.Json.Nodes;

namespace OrganicScreen.Review.Tests;

public sealed class ResultsDiffTests : IDisposable
{
    private readonly string folder = FakeResults.Temp("os-review");

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private static FakeResults Base()
    {
        var r = new FakeResults();
        r.Cathodes.AddRange([("c1", "CCO", 4.6, 4.5, 4.7), ("c2", "CCN", 4.5, 4.4, 4.6), ("c3", "CCC", 4.4, 4.3, 4.5)]);
        r.Anodes.AddRange([("a1", "c1ccccc1", 0.5, 0.4, 0.6)]);
        r.Dataset.AddRange([("c1", "CCO", 6.0, 1.0), ("c2", "CCN", 5.9, 1.1), ("c3", "CCC", 5.8, null), ("a1", "c1ccccc1", 7.0, 1.9), ("x", "O", 8.0, 0.1)]);
        return r;
    }

    private async Task<ResultsDiff> DiffAsync(FakeResults old, FakeResults now, DiffOptions? options = null) =>
        await ResultsDiffer.CompareFoldersAsync(await old.WriteAsync(Path.Combine(folder, "old")), await now.WriteAsync(Path.Combine(folder, "new")), options);

    [Fact]
    public async Task Identical_folders_do_not_differ()
    {
        var diff = await DiffAsync(Base(), Base());
        diff.Differs.ShouldBeFalse();
        diff.Moves.ShouldBeEmpty();
        diff.NotCompared.ShouldBeEmpty();
        DiffMarkdown.Render(diff).ShouldContain("**No difference**");
    }

    [Fact]
    public async Task Candidates_entered_left_and_moved_are_keyed_by_canonical_smiles_per_role()
    {
        var now = Base();
        now.Cathodes.Clear();
        // c1 leaves; c3 moves up and its potential changes; c2 keeps its potential but drops a rank; CCS enters at the top.
        now.Cathodes.AddRange([("new", "CCS", 4.65, 4.6, 4.7), ("c3", "CCC", 4.55, 4.45, 4.65), ("c2", "CCN", 4.5, 4.4, 4.6)]);
        var diff = await DiffAsync(Base(), now);
        diff.Differs.ShouldBeTrue();
        var cathode = diff.Roles.Single(r => r.Role == "cathode");
        (cathode.Entered, cathode.Left, cathode.Changed).ShouldBe((1, 1, 2));
        diff.Roles.Single(r => r.Role == "anode").ShouldBe(new RoleSummary("anode", 1, 1, 0, 0, 0));
        var moves = diff.Moves.ToDictionary(m => m.CanonicalSmiles);
        moves["CCS"].ShouldBe(new CandidateMove("cathode", "entered", "new", "CCS", null, 1, null, 4.65, null, null, 4.6, 4.7));
        moves["CCO"].Change.ShouldBe("left");
        moves["CCO"].OldRank.ShouldBe(1);
        moves["CCC"].PotentialDelta!.Value.ShouldBe(0.15, 1e-12);
        moves["CCC"].RankDelta.ShouldBe(-1);
        moves["CCN"].PotentialDelta.ShouldBe(0);
        moves["CCN"].RankDelta.ShouldBe(1);
        // Biggest first: membership changes (by rank), then the largest potential move.
        diff.Moves.Select(m => m.CanonicalSmiles).ShouldBe(["CCO", "CCS", "CCC", "CCN"]);
    }

    [Fact]
    public async Task A_tolerance_ignores_small_moves_but_never_membership()
    {
        var now = Base();
        now.Cathodes[0] = ("c1", "CCO", 4.6004, 4.5004, 4.7004);
        now.Anodes.Clear();
        var exact = await DiffAsync(Base(), now);
        exact.Moves.Count.ShouldBe(2);
        var tolerant = await DiffAsync(Base(), now, new DiffOptions(Tolerance: 0.001));
        tolerant.Moves.ShouldHaveSingleItem().Change.ShouldBe("left");
        DiffMarkdown.Render(tolerant).ShouldContain("tolerance: 0.001 V");
        await Should.ThrowAsync<ArgumentException>(() => DiffAsync(Base(), now, new DiffOptions(Tolerance: -1)));
    }

    [Fact]
    public async Task Metric_changes_carry_their_sign_and_whether_they_are_better()
    {
        var now = Base();
        now.Metrics["ie"] = (0.40, 0.10, 0.96, 1.20, 300);     // MAE down, R² down, coverage further from 95 %, wider
        now.Metrics["ea"] = (0.41, 0.35, 0.95, 1.00, 297);     // narrower; three fewer molecules
        var diff = await DiffAsync(Base(), now);
        var m = diff.Metrics.ToDictionary(x => $"{x.Target}.{x.Metric}");
        m.Keys.ShouldBe(["ie.mae", "ie.r2", "ie.coverage", "ie.interval", "ea.interval", "ea.count"], ignoreOrder: true);
        m["ie.mae"].Delta!.Value.ShouldBe(-0.05, 1e-12);
        m["ie.mae"].Verdict.ShouldBe("better");
        m["ie.r2"].Delta!.Value.ShouldBe(-0.07, 1e-12);
        m["ie.r2"].Verdict.ShouldBe("worse");
        m["ie.coverage"].Verdict.ShouldBe("worse");
        m["ie.interval"].Verdict.ShouldBe("worse");
        m["ea.interval"].Verdict.ShouldBe("better");
        m["ea.count"].Delta.ShouldBe(-3);
        var markdown = DiffMarkdown.Render(diff);
        markdown.ShouldContain("| IE | MAE (eV) | 0.4500 | 0.4000 | -0.0500 | better |");
        markdown.ShouldContain("| IE | R² | 0.1700 | 0.1000 | -0.0700 | worse |");
        markdown.ShouldContain("| IE | 95 % coverage | 95.00 % | 96.00 % | +1.00 pp | worse |");
        markdown.ShouldContain("| EA | n | 300 | 297 | -3 | neutral |");
    }

    [Fact]
    public async Task Dataset_rows_added_removed_and_relabelled_beyond_1e_9()
    {
        var now = Base();
        now.Dataset.Clear();
        now.Dataset.AddRange([("c1", "CCO", 6.0 + 5e-10, 1.0), ("c2", "CCN", 5.9, 1.3), ("c3", "CCC", 5.8, 0.2), ("a1", "c1ccccc1", 7.0, 1.9), ("y", "N", 9.0, null)]);
        var diff = await DiffAsync(Base(), now);
        diff.Dataset.ShouldBe(new DatasetSummary(5, 5, 1, 1, 2));
        diff.DatasetChanges.Select(c => (c.Change, c.Id, c.CanonicalSmiles)).ShouldBe([
            ("relabelled", "c2", "CCN"), ("relabelled", "c3", "CCC"), ("removed", "x", "O"), ("added", "y", "N")]);
        diff.DatasetChanges[1].ShouldBe(new DatasetChange("relabelled", "c3", "CCC", null, 5.8, 5.8, null, 0.2)); // a label that appears is a relabel
        DiffMarkdown.Render(diff).ShouldContain("| relabelled | c2 | `CCN` | 5.9000 | 1.1000 → 1.3000 |");
    }

    [Fact]
    public async Task Settings_count_but_code_identity_alone_is_reported_only()
    {
        var now = Base();
        now.Keys["screen"] = new string('d', 64);
        now.Code["OrganicScreen.Stages.Screen"] = "mvid-2";
        var refactor = await DiffAsync(Base(), now);
        refactor.Differs.ShouldBeFalse();
        refactor.Settings.Select(s => (s.Scope, s.Counts)).ShouldBe([("stage keys", false), ("stage screen", false)]);
        refactor.Settings[0].Text.ShouldBe("screen bbbbbbbbbbbb → dddddddddddd");
        refactor.Settings[1].Text.ShouldBe("code OrganicScreen.Stages.Screen changed (mvid-1 → mvid-2)");

        now.ScreenParameters = new JsonObject { ["section"] = new JsonObject { ["solvent"] = "acetonitrile", ["cathodeMinimumVolts"] = 3.5 } };
        now.DatasetSha256 = new string('e', 64);
        var changed = await DiffAsync(Base(), now);
        changed.Differs.ShouldBeTrue();
        changed.Settings.Where(s => s.Counts).Select(s => s.Text).ShouldBe([
            $"{new string('c', 64)} → {new string('e', 64)}", "parameter section.cathodeMinimumVolts: 3 → 3.5"]);
    }

    [Fact]
    public async Task An_approved_snapshot_compares_without_predictions_or_manifest_and_says_so()
    {
        var results = await Base().WriteAsync(Path.Combine(folder, "results"));
        var approved = Path.Combine(folder, "approved");
        (await ApprovedSnapshot.ApproveAsync(results, approved)).Select(c => c.Change).ShouldAllBe(c => c == "created");
        Directory.GetFiles(approved).Select(Path.GetFileName).ShouldBe(ApprovedSnapshot.Files, ignoreOrder: true);
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(approved, ApprovedSnapshot.MetricsSummary)))!;
        summary["candidates"]!["cathode"]!.GetValue<int>().ShouldBe(3);
        summary["targets"]![0]!["mae"]!.GetValue<double>().ShouldBe(0.45);

        var diff = await ResultsDiffer.CompareFoldersAsync(approved, results);
        diff.Differs.ShouldBeFalse();
        diff.NotCompared.ShouldBeEmpty();
        diff.Dataset.ShouldBe(new DatasetSummary(5, 5, 0, 0, 0)); // from dataset_labels.csv
        File.ReadAllLines(Path.Combine(approved, ApprovedSnapshot.Labels))[3].ShouldBe("c3,CCC,5.8,");

        // Without the labels (an older snapshot) the rows are not compared, and the diff says so.
        File.Delete(Path.Combine(approved, ApprovedSnapshot.Labels));
        var partial = await ResultsDiffer.CompareFoldersAsync(approved, results);
        partial.Dataset.ShouldBeNull();
        partial.NotCompared.ShouldHaveSingleItem().ShouldStartWith("old: dataset rows: neither predictions.parquet nor dataset_labels.csv is here");
        await ApprovedSnapshot.ApproveAsync(results, approved);
        // approved.json keeps the Screen manifest's settings, so a settings change is still named.
        var now = Base();
        now.ScreenParameters = new JsonObject { ["section"] = new JsonObject { ["solvent"] = "water", ["cathodeMinimumVolts"] = 3.0 } };
        var changed = await ResultsDiffer.CompareFoldersAsync(approved, await now.WriteAsync(Path.Combine(folder, "changed")));
        changed.Settings.ShouldContain(s => s.Counts && s.Text == "parameter section.solvent: \"acetonitrile\" → \"water\"");

        (await ApprovedSnapshot.ApproveAsync(results, approved)).Select(c => c.Change).ShouldAllBe(c => c == "unchanged");
        var relabelled = Base();
        relabelled.Dataset[0] = ("c1", "CCO", 6.0 + 2e-9, 1.0);
        (await ResultsDiffer.CompareFoldersAsync(approved, await relabelled.WriteAsync(Path.Combine(folder, "relabelled")))).Dataset!.Relabelled.ShouldBe(1);
        (await ApprovedSnapshot.ApproveAsync(Path.Combine(folder, "changed"), approved)).Single(c => c.File == ApprovedSnapshot.Record).Change.ShouldBe("replaced");
    }

    [Fact]
    public async Task Missing_parts_are_listed_not_fatal()
    {
        var results = await Base().WriteAsync(Path.Combine(folder, "results"));
        var bare = Path.Combine(folder, "bare");
        Directory.CreateDirectory(bare);
        File.Copy(Path.Combine(results, "candidates_cathode.csv"), Path.Combine(bare, "candidates_cathode.csv"));
        var diff = await ResultsDiffer.CompareFoldersAsync(bare, results);
        diff.NotCompared.ShouldContain(n => n.Contains("candidates_anode.csv is missing"));
        diff.NotCompared.ShouldContain(n => n.StartsWith("old: metrics"));
        diff.NotCompared.ShouldContain(n => n.StartsWith("old: settings and code identity"));
        diff.Roles.Single(r => r.Role == "cathode").Changed.ShouldBe(0);
        await Should.ThrowAsync<DirectoryNotFoundException>(() => ResultsDiffer.CompareFoldersAsync(Path.Combine(folder, "nowhere"), results));
    }

    [Fact]
    public async Task Markdown_gives_counts_first_then_at_most_fifty_moves_escaped()
    {
        var now = Base();
        for (var i = 0; i < 60; i++) now.Anodes.Add(($"id|{i:D2}*", $"C[N+](C)(C)C{i}|x", 1.0 + i / 100.0, 0.9, 1.1));
        var diff = await DiffAsync(Base(), now);
        var markdown = DiffMarkdown.Render(diff);
        markdown.IndexOf("- candidates: 60 entered", StringComparison.Ordinal).ShouldBeLessThan(markdown.IndexOf("#### Candidates", StringComparison.Ordinal));
        markdown.ShouldContain("the 50 biggest moves of 60");
        markdown.Split('\n').Count(l => l.StartsWith("| anode | entered |", StringComparison.Ordinal)).ShouldBe(50);
        markdown.ShouldContain(@"| id\|00\* | `C[N+](C)(C)C0\|x` |");
        DiffHtml.Render(diff).Split("<tr class=\"entered\">").Length.ShouldBe(61);
        JsonNode.Parse(DiffJson.Render(diff))!["moves"]!.AsArray().Count.ShouldBe(60);
    }

    [Fact]
    public async Task Html_is_self_contained_and_escapes_everything_from_the_data()
    {
        var now = Base();
        now.Cathodes.Add(("<script>alert(1)</script>", "C&C\"'", 4.0, 3.9, 4.1));
        var html = DiffHtml.Render(await DiffAsync(Base(), now));
        html.ShouldNotContain("<script>");
        html.ShouldContain("&lt;script&gt;alert(1)&lt;/script&gt;");
        html.ShouldContain("C&amp;C&quot;&#39;");
        html.ShouldNotContain("http");
        html.ShouldNotContain("<link");
    }

    [Fact]
    public async Task Html_shows_the_structures_a_drawer_supplies_for_the_first_fifty_moves()
    {
        var now = Base();
        for (var i = 0; i < 55; i++) now.Anodes.Add(($"n{i}", $"C{i}", 1.0 + i / 100.0, 0.9, 1.1));
        var diff = await DiffAsync(Base(), now);
        var html = DiffHtml.Render(diff, smiles => $"<svg data-smiles=\"{smiles}\"></svg>");
        html.ShouldContain("<th>Structure</th>");
        html.Split("<svg ").Length.ShouldBe(DiffHtml.DrawnMoves + 1);
        DiffHtml.Render(diff).ShouldNotContain("<th>Structure</th>");
    }

    [Fact]
    public async Task Json_puts_differs_first_and_round_trips()
    {
        var now = Base();
        now.Anodes.Clear();
        var json = DiffJson.Render(await DiffAsync(Base(), now));
        json.TrimStart().ShouldStartWith("{\n  \"differs\": true");
        using var doc = JsonDocument.Parse(json);
        doc.RootElement.GetProperty("moves")[0].GetProperty("change").GetString().ShouldBe("left");
        doc.RootElement.GetProperty("roles")[1].GetProperty("left").GetInt32().ShouldBe(1);
    }
}
