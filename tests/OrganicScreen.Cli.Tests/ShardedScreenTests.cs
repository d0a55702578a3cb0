using System.Text;
using OrganicScreen.Core;
using OrganicScreen.Pipeline;
using OrganicScreen.Pipeline.Sharding;
using OrganicScreen.Screening;

namespace OrganicScreen.Cli.Tests;

/// <summary>
/// <c>screen --shards</c> on the fixture's smoke model: merged candidate lists equal the unsharded screen's byte for
/// byte, and a run cancelled after one shard resumes by building only the missing shards.
/// </summary>
public sealed class ShardedScreenTests(PipelineFixture run) : IClassFixture<PipelineFixture>
{
    /// <summary>
    /// 3 prediction batches' worth of lines (12,602): the fixture's molecules 42 times, an invalid SMILES, an empty
    /// line, CRLF and lone-CR line ends and no final newline, so line numbering is exercised too.
    /// </summary>
    internal static string Library(string root, string folder)
    {
        var smiles = File.ReadLines(Path.Combine(root, "data/fixtures/ocelot_fixture_300.csv")).Skip(1).Select(l => l[(l.LastIndexOf(',') + 1)..]).ToList();
        var lines = Enumerable.Repeat(smiles, 42).SelectMany(s => s).ToList();
        lines.Insert(5000, "C1CC");
        lines.Insert(9000, "");
        var text = new StringBuilder();
        for (var i = 0; i < lines.Count; i++)
            text.Append(lines[i]).Append(i == lines.Count - 1 ? "" : i % 97 == 0 ? "\r\n" : i % 331 == 0 ? "\r" : "\n");
        var path = Path.Combine(folder, "library.smi");
        Directory.CreateDirectory(folder);
        File.WriteAllText(path, text.ToString());
        return path;
    }

    internal static readonly string[] Outputs = ["candidates_cathode.csv", "candidates_anode.csv", "rejects.csv"];

    [Fact]
    public async Task Three_shards_merge_to_the_unsharded_files_byte_for_byte()
    {
        var folder = Path.Combine(run.Store, "sharded-equality");
        var library = Library(run.Root, folder);
        var output = new StringWriter();
        var exit = await CliHost.RunAsync(["screen", "--model", run.Results, "--input", library, "--output", Path.Combine(folder, "plain"), "--root", run.Root, "--margin", "None"], output, output);
        exit.ShouldBe(0, output.ToString());
        output.ToString().ShouldContain("12,602 lines, 2 rejected");

        var sharded = new StringWriter();
        exit = await CliHost.RunAsync(["screen", "--model", run.Results, "--input", library, "--output", Path.Combine(folder, "sharded"), "--root", run.Root, "--margin", "None",
            "--shards", "3", "--jobs", "2", "--artifacts", Path.Combine(folder, "store")], sharded, sharded);
        exit.ShouldBe(0, sharded.ToString());
        sharded.ToString().ShouldContain("3 shards (3 built, 0 cached)");
        foreach (var file in Outputs)
            File.ReadAllBytes(Path.Combine(folder, "sharded", file)).ShouldBe(File.ReadAllBytes(Path.Combine(folder, "plain", file)), file);
        // Something to compare: the smoke model's ±1.2 eV intervals leave no candidate with an interval margin.
        File.ReadAllLines(Path.Combine(folder, "sharded", "candidates_cathode.csv")).Length.ShouldBeGreaterThan(100);
        File.ReadAllLines(Path.Combine(folder, "sharded", "candidates_anode.csv")).Length.ShouldBeGreaterThan(100);

        // A second run finds every shard in the store.
        var again = new StringWriter();
        (await CliHost.RunAsync(["screen", "--model", run.Results, "--input", library, "--output", Path.Combine(folder, "sharded"), "--root", run.Root, "--margin", "None",
            "--shards", "3", "--artifacts", Path.Combine(folder, "store")], again, again)).ShouldBe(0, again.ToString());
        again.ToString().ShouldContain("3 shards (0 built, 3 cached)");
    }

    [Fact]
    public async Task Cancelled_after_one_shard_the_rerun_builds_only_the_missing_shards()
    {
        var folder = Path.Combine(run.Store, "sharded-resume");
        var library = Library(run.Root, folder);
        var store = Path.Combine(folder, "store");
        var settings = new LibraryScreenSettings("acetonitrile", "aluminium", MarginPolicy.IntervalHalfWidth, 3.0);
        var plan = await ShardedScreen.PlanAsync(library, run.Results, settings, 3, run.Root, store, Path.Combine(folder, "out"), null, () => 0);
        plan.Shards.Count.ShouldBe(3);
        var log = new MemoryStageLog();

        using var cancel = new CancellationTokenSource();
        var first = new ShardedScreen(plan, log);
        var cancelled = await Record.ExceptionAsync(() => first.RunLocalAsync(1, first.LoadPredictor, (_, _) => cancel.Cancel(), cancel.Token));
        cancelled.ShouldBeAssignableTo<OperationCanceledException>();
        var records = RunRecorder.Read(Path.Combine(store, RunRecorder.Folder)).Where(r => r.Stage == ShardedScreen.Stage).ToList();
        records.Select(r => r.Status).ShouldBe(["built"]);
        (await ScreenStatusReader.ReadAsync(first)).Shards.Select(s => s.State).ShouldBe([ShardState.Done, ShardState.Missing, ShardState.Missing]);
        await Should.ThrowAsync<InvalidOperationException>(() => first.MergeAsync()); // names the missing shards, writes nothing
        File.Exists(Path.Combine(folder, "out", "candidates_cathode.csv")).ShouldBeFalse();

        // The rerun (a new process would do the same: the plan and the store are on disk).
        var output = new StringWriter();
        var exit = await CliHost.RunAsync(["screen", "--model", run.Results, "--input", library, "--output", Path.Combine(folder, "out"), "--root", run.Root, "--resume"], output, output);
        exit.ShouldBe(0, output.ToString());
        output.ToString().ShouldContain("3 shards (2 built, 1 cached)");
        var after = RunRecorder.Read(Path.Combine(store, RunRecorder.Folder)).Where(r => r.Stage == ShardedScreen.Stage).ToList();
        after.Count(r => r.Status == "built").ShouldBe(3);                                    // each shard built exactly once
        after.Where(r => r.Status == "built").Select(r => r.Key).Distinct().Count().ShouldBe(3);
        after.Single(r => r.Status == "cached").Key.ShouldBe(records[0].Key);                  // the first shard was reused
        File.Exists(Path.Combine(folder, "out", "candidates_cathode.csv")).ShouldBeTrue();
    }

    [Fact]
    public async Task The_funnel_keeps_every_candidate_of_the_accurate_model_with_its_ids()
    {
        // The same model as prefilter and accurate model: its prediction always lies in its own interval, so the
        // funnel must keep every candidate, row for row, while still ruling out molecules no rule could accept.
        var folder = Path.Combine(run.Store, "funnel");
        Directory.CreateDirectory(folder);
        var library = Path.Combine(folder, "fixture.smi");
        File.WriteAllLines(library, File.ReadLines(Path.Combine(run.Root, "data/fixtures/ocelot_fixture_300.csv")).Skip(1).Select(l => l[(l.LastIndexOf(',') + 1)..]).Append("C1CC"));
        string[] common = ["screen", "--model", run.Results, "--input", library, "--root", run.Root, "--margin", "None"];
        var alone = new StringWriter();
        (await CliHost.RunAsync([.. common, "--output", Path.Combine(folder, "alone")], alone, alone)).ShouldBe(0, alone.ToString());
        var funnel = new StringWriter();
        (await CliHost.RunAsync([.. common, "--output", Path.Combine(folder, "funnel"), "--prefilter", run.Results, "--artifacts", Path.Combine(folder, "store")], funnel, funnel))
            .ShouldBe(0, funnel.ToString());

        var ruledOut = System.Text.RegularExpressions.Regex.Match(funnel.ToString(), "ruled out ([0-9,]+) of 300 valid");
        ruledOut.Success.ShouldBeTrue(funnel.ToString());
        int.Parse(ruledOut.Groups[1].Value, System.Globalization.NumberStyles.AllowThousands, System.Globalization.CultureInfo.InvariantCulture).ShouldBeGreaterThan(0);
        foreach (var file in Outputs)
            File.ReadAllBytes(Path.Combine(folder, "funnel", file)).ShouldBe(File.ReadAllBytes(Path.Combine(folder, "alone", file)), file);
    }

    [Fact]
    public async Task Bench_times_the_screen_by_phase()
    {
        var folder = Path.Combine(run.Store, "bench");
        var library = Library(run.Root, folder);
        var output = new StringWriter();
        var exit = await CliHost.RunAsync(["bench", "--screen-model", run.Results, "--library", library, "--limit", "5000", "--repeat", "2", "--root", run.Root], output, output);
        exit.ShouldBe(0, output.ToString());
        // The fingerprint networks' hidden layers run in managed code wherever AVX-512 is (this CI machine), libtorch elsewhere.
        var engine = System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? "managed hidden layers in 16 of 16 members" : "libtorch";
        output.ToString().ShouldMatch(@"bench screen: smoke \(ie x8\+ea x8; " + engine + @"\), median [0-9,]+ molecules/s \([0-9,]+–[0-9,]+, 2 runs\); the median run: 5,000 molecules in [0-9.]+ s on \d+ cores: [0-9,]+ molecules/s \([0-9,]+ per core, [0-9,]+ per CPU-second\); parse \d+ %, domain \d+ %, model \d+ %, screen\+csv \d+ %; [0-9,]+ candidates; peak working set [0-9,]+ MB");
        (await CliHost.RunAsync(["bench", "--screen-model", run.Results, "--repeat", "0", "--root", run.Root], output, output)).ShouldNotBe(0);
        output.ToString().ShouldContain("--repeat must be at least 1");
    }
}
