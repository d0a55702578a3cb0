using OrganicScreen.Core;
using OrganicScreen.Pipeline;
using OrganicScreen.Pipeline.Sharding;
using OrganicScreen.Stages;
using OrganicScreen.Training;

namespace OrganicScreen.Cli.Tests;

/// <summary>
/// <c>train.foldThreads</c>: Train's folds as organicscreen processes side by side (<see cref="LocalFoldTraining"/>). The
/// truth they are held to is the same folds trained one process at a time: a fold's numbers may depend on its thread
/// count, never on which process ran it or what ran beside it.
/// </summary>
public sealed class LocalFoldTrainingTests : IDisposable
{
    private const string Dataset = "ocelot-fixture";
    private const string Profile = "smoke-dmpnn";
    private readonly string root = RepositoryLayout.Locate().Root;
    private readonly string dir = Directory.CreateTempSubdirectory("os-local-folds").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private PipelineOptions Options(string store, IReadOnlyList<string>? launcher = null) =>
        new(Dataset, Profile, Root: root, Device: "cpu", Artifacts: store, Overrides: ["train.foldThreads=1"], FoldLauncher: launcher);

    [Fact]
    public async Task Folds_run_as_processes_side_by_side_resume_after_a_failed_one_and_match_one_process_at_a_time()
    {
        // This test host's organicscreen, wrapped so that fold 3's process fails and the others run as they are.
        var launcher = OrganicScreenProcess.Launcher(null);
        string[] failing = ["/bin/sh", "-c", "case \" $* \" in *' --fold 3 '*) echo 'fold 3 broke on purpose' >&2; exit 3;; esac; exec \"$0\" \"$@\"", .. launcher];
        var store = Path.Combine(dir, "side-by-side");
        var log = new MemoryStageLog();
        var error = await Should.ThrowAsync<InvalidOperationException>(() => new PipelineRun(Options(store, failing), log).RunAsync(TrainStage.Name, CancellationToken.None));
        error.Message.ShouldContain("1 of 8 fold processes failed");
        error.Message.ShouldContain("fold 3: exit code 3");
        error.Message.ShouldContain("fold 3 broke on purpose");
        var jobs = Math.Min(Environment.ProcessorCount, 8);
        log.Lines.ShouldContain($"train: 8 folds (0-7) as processes of their own, {jobs} at once, 1 thread each");
        log.Lines.ShouldContain(l => l.StartsWith("train: fold processes 0-7: 7 trained, 1 failed", StringComparison.Ordinal) && l.EndsWith($"up to {jobs} at once", StringComparison.Ordinal),
            string.Join('\n', log.Lines.Where(l => l.StartsWith("train:", StringComparison.Ordinal))));
        log.Lines.ShouldContain(l => l.StartsWith("  [fold 5] ", StringComparison.Ordinal) && l.Contains("epoch 5"));   // each process's lines, passed on
        (await new PipelineRun(Options(store), new MemoryStageLog()).TrainFoldsDoneAsync(CancellationToken.None)).ShouldBe([true, true, true, false, true, true, true, true]);
        Directory.Exists(Path.Combine(store, TrainStage.Name)).ShouldBeFalse();

        // The same command trains only the missing fold, then Train assembles all eight.
        var resume = new MemoryStageLog();
        await new PipelineRun(Options(store), resume).RunAsync(TrainStage.Name, CancellationToken.None);
        resume.Lines.ShouldContain("train: 1 fold (3) as processes of their own, 1 at once, 1 thread each");

        // One process at a time (ORGANICSCREEN_FOLD_JOBS=1, through the CLI): the very same Train artifact.
        var sequential = Path.Combine(dir, "one-at-a-time");
        var output = new StringWriter();
        Environment.SetEnvironmentVariable(LocalFoldTraining.JobsVariable, "1");
        try
        {
            var exit = await CliHost.RunAsync(["stage", "train", "--dataset", Dataset, "--profile", Profile, "--device", "cpu", "--root", root, "--artifacts", sequential,
                "--set", "train.foldThreads=1"], output, output);
            exit.ShouldBe(0, output.ToString());
        }
        finally
        {
            Environment.SetEnvironmentVariable(LocalFoldTraining.JobsVariable, null);
        }

        output.ToString().ShouldContain("train: 8 folds (0-7) as processes of their own, 1 at once, 1 thread each");
        output.ToString().ShouldContain("up to 1 at once");
        SlurmTrainTests.SameTrainArtifact(store, sequential);
    }

    [Fact]
    public async Task Cancelling_stops_the_fold_processes_and_leaves_nothing_in_the_store()
    {
        var store = Path.Combine(dir, "cancelled");
        var log = new MemoryStageLog();
        using var cancel = new CancellationTokenSource();
        var train = new PipelineRun(Options(store) with { Overrides = ["train.foldThreads=1", "train.settings.epochs=100000"] }, log).RunAsync(TrainStage.Name, cancel.Token);
        // Ctrl-C once every process at work is training its fold.
        var jobs = Math.Min(Environment.ProcessorCount, 8);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (log.Lines.Count(l => l.Contains("train-fold: building", StringComparison.Ordinal)) < jobs)
        {
            train.IsCompleted.ShouldBeFalse(string.Join('\n', log.Lines));
            clock.Elapsed.ShouldBeLessThan(TimeSpan.FromMinutes(2), string.Join('\n', log.Lines));
            await Task.Delay(100);
        }

        await Task.Delay(500);
        clock.Restart();
        cancel.Cancel();
        var cancelled = false;
        try
        {
            await train;
        }
        catch (OperationCanceledException)
        {
            cancelled = true;
        }

        cancelled.ShouldBeTrue();
        // Each process was asked to stop as Ctrl-C stops it, and did, well before it would have been killed.
        log.Lines.Count(l => l.Contains("cancelled (SIGTERM); partial outputs removed", StringComparison.Ordinal)).ShouldBe(jobs, string.Join('\n', log.Lines.TakeLast(20)));
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10));
        Entries(Path.Combine(store, FoldArtifacts.Stage)).ShouldBeEmpty();
        Entries(Path.Combine(store, "tmp")).ShouldBeEmpty();

        static IEnumerable<string> Entries(string folder) => Directory.Exists(folder) ? Directory.EnumerateFileSystemEntries(folder) : [];
    }

    [Fact]
    public async Task A_fold_whose_libtorch_runs_another_thread_count_is_refused()
    {
        // This host set libtorch up before the tests (TestHostRuntime); a fold asking for one thread more must not train here.
        var threads = TorchRuntime.Initialize().Threads;
        var store = Path.Combine(dir, "refused");
        var output = new StringWriter();
        var exit = await CliHost.RunAsync(["stage", "train", "--dataset", Dataset, "--profile", Profile, "--device", "cpu", "--root", root, "--artifacts", store,
            "--set", $"train.foldThreads={threads + 1}", "--fold", "0"], output, output);
        exit.ShouldNotBe(0);
        output.ToString().ShouldContain($"trains each fold on {threads + 1} threads (train.foldThreads), but this process's libtorch runs {threads}");
        Directory.Exists(Path.Combine(store, FoldArtifacts.Stage)).ShouldBeFalse();
    }

    [Theory]
    [InlineData("1", 1, 8, 1)]
    [InlineData("3", 1, 8, 3)]
    [InlineData("16", 1, 8, 8)]
    public void The_jobs_variable_sets_how_many_folds_run_at_once_never_more_than_there_are(string given, int threads, int folds, int expected)
    {
        Environment.SetEnvironmentVariable(LocalFoldTraining.JobsVariable, given);
        try
        {
            LocalFoldTraining.Jobs(threads, folds).ShouldBe(expected);
        }
        finally
        {
            Environment.SetEnvironmentVariable(LocalFoldTraining.JobsVariable, null);
        }
    }
}
