using OrganicScreen.Stages;
using System.Text.Json;
using OrganicScreen.Core;
using OrganicScreen.Pipeline;

namespace OrganicScreen.Pipeline.Tests;

/// <summary>One smoke run over the 300-molecule OCELOT fixture in a private store; tests work on copies of it.</summary>
public sealed class SmokeStore : IAsyncLifetime
{
    public string Folder { get; } = TestRepo.TempFolder("os-status");

    public string Store => Path.Combine(Folder, "store");

    public IReadOnlyList<StageStatus> Before { get; private set; } = [];

    public string Results { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Before = await PipelineStatus.OfAsync(new PipelineRun(TestRepo.Options(Store), new RecordingLog()));
        Results = await new PipelineRun(TestRepo.Options(Store), new RecordingLog()).ScreenAsync(CancellationToken.None);
    }

    /// <summary>A private copy of the store, so a test may damage or clean it.</summary>
    public string Copy()
    {
        var copy = Path.Combine(Folder, Guid.NewGuid().ToString("N"));
        TestRepo.CopyDirectory(Store, copy);
        return copy;
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Folder, recursive: true);
        return Task.CompletedTask;
    }
}

public sealed class StatusAndStoreTests(SmokeStore smoke) : IClassFixture<SmokeStore>
{
    private static readonly string[] Stages = ["fetch", "featurize", "sweep", "train", "infer", "screen"];

    private static Task<IReadOnlyList<StageStatus>> StatusAsync(string store, params string[] overrides) =>
        PipelineStatus.OfAsync(new PipelineRun(TestRepo.Options(store, "smoke", overrides), new RecordingLog()));

    [Fact]
    public void Before_a_run_every_stage_is_to_run_and_never_built()
    {
        smoke.Before.Select(s => s.Stage).ShouldBe(Stages);
        smoke.Before.ShouldAllBe(s => !s.Cached && s.Reasons.SequenceEqual(new[] { "never built" }));
    }

    [Fact]
    public async Task After_a_run_every_stage_is_cached_under_the_key_status_predicted()
    {
        var after = await StatusAsync(smoke.Store);
        after.ShouldAllBe(s => s.Cached);
        after.Select(s => s.Key).ShouldBe(smoke.Before.Select(s => s.Key));
        // The published provenance names exactly those keys.
        Provenance.Keys(smoke.Results).ShouldBe(after.Select(s => s.Key));
        smoke.Results.ShouldBe(Path.Combine(smoke.Store, "results", "ocelot-fixture", "adiabatic", "smoke"));
    }

    [Fact]
    public async Task A_parameter_change_is_explained_by_its_key_and_reruns_only_downstream()
    {
        var changed = (await StatusAsync(smoke.Store, "train.settings.epochs=3")).ToDictionary(s => s.Stage);
        foreach (var stage in new[] { "fetch", "featurize", "sweep" }) changed[stage].Cached.ShouldBeTrue(stage);
        changed["train"].Cached.ShouldBeFalse();
        changed["train"].Reasons.ShouldBe(["parameter train.settings.epochs: 12 → 3"]);
        changed["infer"].Reasons.ShouldHaveSingleItem().ShouldStartWith("input train changed");
        changed["screen"].Reasons.ShouldContain(r => r.StartsWith("input infer changed"));
    }

    [Fact]
    public async Task A_damaged_artifact_is_reported_and_a_new_run_rebuilds_it()
    {
        var store = smoke.Copy();
        var infer = Directory.GetDirectories(Path.Combine(store, "infer")).Single();
        var metrics = Path.Combine(infer, "metrics.json");
        var bytes = File.ReadAllBytes(metrics);
        bytes[10] ^= 0x20; // same size, different content
        File.WriteAllBytes(metrics, bytes);
        var status = (await StatusAsync(store)).ToDictionary(s => s.Stage);
        status["infer"].Reasons.ShouldHaveSingleItem().ShouldContain("damaged");
        status["screen"].Cached.ShouldBeTrue(); // its own files are intact

        var log = new RecordingLog();
        await new PipelineRun(TestRepo.Options(store), log).InferAsync(CancellationToken.None);
        log.Text.ShouldContain("incomplete or damaged; rebuilding");
        (await StatusAsync(store)).ShouldAllBe(s => s.Cached);
    }

    [Fact]
    public async Task One_invocation_hashes_each_artifact_once_across_its_processes()
    {
        var store = smoke.Copy();
        // Process 1 of a Cake invocation verifies (hashes) Train; process 2 of the same run trusts that.
        await new PipelineRun(TestRepo.Options(store) with { RunId = "cake-test" }, new RecordingLog()).TrainAsync(CancellationToken.None);
        var train = Directory.GetDirectories(Path.Combine(store, "train")).Single();
        var oof = Path.Combine(train, "oof.parquet");
        var bytes = File.ReadAllBytes(oof);
        bytes[^20] ^= 0x01;
        File.WriteAllBytes(oof, bytes);
        var sameRun = new RecordingLog();
        await new PipelineRun(TestRepo.Options(store) with { RunId = "cake-test" }, sameRun).TrainAsync(CancellationToken.None);
        sameRun.Text.ShouldContain("train: cached");
        // A new invocation hashes again and finds the damage.
        var nextRun = new RecordingLog();
        await new PipelineRun(TestRepo.Options(store) with { RunId = "cake-next" }, nextRun).TrainAsync(CancellationToken.None);
        nextRun.Text.ShouldContain("train: artifact");
        nextRun.Text.ShouldContain("damaged; rebuilding");
    }

    [Fact]
    public async Task A_warm_run_is_all_cached_and_every_outcome_is_recorded()
    {
        var store = smoke.Copy();
        var log = new RecordingLog();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await new PipelineRun(TestRepo.Options(store), log).ScreenAsync(CancellationToken.None);
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(60)); // generous: seconds when idle, never a rebuild
        foreach (var stage in Stages) log.Text.ShouldContain($"{stage}: cached");
        log.Text.ShouldNotContain("building");
        var records = RunRecorder.Read(Path.Combine(store, "runs"));
        records.Count(r => r.Status == "built" && r.Stage != FoldArtifacts.Stage).ShouldBe(6);   // the fixture's first run
        records.Count(r => r.Status == "built" && r.Stage == FoldArtifacts.Stage).ShouldBe(16);  // Train's folds: IE and EA × 8
        records.TakeLast(6).ShouldAllBe(r => r.Status == "cached");      // this run
        records.TakeLast(6).Select(r => r.Stage).ShouldBe(Stages);
        records.Single(r => r.Stage == "infer" && r.Status == "built").Outputs.ShouldContain("metrics.json");
    }

    [Fact]
    public async Task Gc_removes_only_unreferenced_artifacts_stale_tmp_and_free_locks()
    {
        var store = smoke.Copy();
        // An artifact no results folder references (an older sweep), a dead tmp folder and a free lock.
        var sweep = Directory.GetDirectories(Path.Combine(store, "sweep")).Single();
        var orphan = Path.Combine(store, "sweep", "0000000000000000");
        TestRepo.CopyDirectory(sweep, orphan);
        var manifest = JsonSerializer.Deserialize<ArtifactManifest>(File.ReadAllText(Path.Combine(orphan, "manifest.json")), Json.Options)!;
        File.WriteAllText(Path.Combine(orphan, "manifest.json"), JsonSerializer.Serialize(manifest with { Key = new string('0', 64) }, Json.Options));
        Directory.CreateDirectory(Path.Combine(store, "tmp", "train-deadbeef"));
        File.WriteAllText(Path.Combine(store, "tmp", "train-deadbeef", "weights.bin"), "half");

        var dry = await GarbageCollector.RunAsync(store, dryRun: true, keepDays: 0, new RecordingLog());
        dry.Removed.ShouldContain(orphan);
        Directory.Exists(orphan).ShouldBeTrue();

        // A lock a live run holds is never touched, and then tmp/ is left alone too.
        var held = Directory.GetFiles(Path.Combine(store, "locks")).First();
        await using (var holder = await FileLock.AcquireAsync(held, new RecordingLog(), CancellationToken.None))
        {
            var cautious = await GarbageCollector.RunAsync(store, dryRun: false, keepDays: 0, new RecordingLog());
            cautious.Removed.ShouldNotContain(held);
            Directory.Exists(Path.Combine(store, "tmp", "train-deadbeef")).ShouldBeTrue();
        }

        var report = await GarbageCollector.RunAsync(store, dryRun: false, keepDays: 0, new RecordingLog());
        Directory.Exists(Path.Combine(store, "tmp", "train-deadbeef")).ShouldBeFalse();
        Directory.GetFiles(Path.Combine(store, "locks")).ShouldBeEmpty();
        Directory.Exists(orphan).ShouldBeFalse();
        report.Artifacts.Where(a => a.Referenced).Select(a => a.Stage).Order().ShouldBe(Stages.Order());
        (await StatusAsync(store)).ShouldAllBe(s => s.Cached); // nothing the results need was removed
    }
}
