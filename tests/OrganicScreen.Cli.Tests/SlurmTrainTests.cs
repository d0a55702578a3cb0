using System.Text.Json;
using OrganicScreen.Core;
using OrganicScreen.Pipeline.Sharding;
using OrganicScreen.Stages;

namespace OrganicScreen.Cli.Tests;

/// <summary>
/// Train's folds as separate work items: <c>stage screen --executor slurm</c> against the real one-node Slurm
/// (ci/slurm/start.sh) with one fold task made to fail, then resumed; and <c>stage train --fold N</c> run by hand fold
/// by fold. Both must give the very Train artifact (fold models, out-of-fold predictions, curves) and candidate lists
/// that one local run gives: the fixtures' runs are that reference.
/// </summary>
public sealed class SlurmTrainTests(GraphPipelineFixture graph, PipelineFixture fcnn) : IClassFixture<GraphPipelineFixture>, IClassFixture<PipelineFixture>, IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("os-slurm-train").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public async Task Slurm_fold_array_with_a_failed_task_resumes_only_that_fold_and_matches_the_local_run()
    {
        SlurmCluster.Ensure();
        graph.ExitCode.ShouldBe(0, graph.Log);
        var store = Path.Combine(dir, "store");
        string[] command = ["stage", "screen", "--dataset", graph.Dataset, "--profile", "smoke-dmpnn", "--device", "cpu", "--root", graph.Root, "--artifacts", store,
            "--executor", "slurm", "--wait", "--cpus-per-task", "1", "--time", "00:10:00"];

        var first = new StringWriter();
        var exit = await CliHost.RunAsync([.. command, $"--sbatch-option=--export=ALL,{SlurmTraining.FailFoldsVariable}=2"], first, first);
        exit.ShouldBe(1, first.ToString());   // fold 2 failed, so the screen job never ran
        var text = first.ToString();
        text.ShouldContain("folds 0-7 of 0-7; 0 in the store");
        text.ShouldContain("8 folds: 7 done, 0 queued or running, 1 failed");
        text.ShouldContain("failed on purpose");
        text.ShouldContain("CANCELLED");     // the afterok screen job
        Directory.Exists(Path.Combine(store, "results")).ShouldBeFalse();

        var second = new StringWriter();
        exit = await CliHost.RunAsync(command, second, second);
        exit.ShouldBe(0, second.ToString());
        second.ToString().ShouldContain("folds 2 of 0-7; 7 in the store");
        second.ToString().ShouldContain("8 folds: 8 done");
        second.ToString().ShouldContain("COMPLETED");

        var results = Path.Combine(store, "results", graph.Dataset, graph.Variant, "smoke-dmpnn");
        foreach (var file in new[] { ScreenStage.Cathodes, ScreenStage.Anodes, "predictions.parquet", "metrics.json" })
            File.ReadAllBytes(Path.Combine(results, file)).ShouldBe(File.ReadAllBytes(Path.Combine(graph.Results, file)), file);
        SameTrainArtifact(graph.Store, store);

        // Each fold was trained exactly once, by its own task: the resume redid fold 2 only; Train only assembled.
        var runs = RunRecorder.Read(Path.Combine(store, RunRecorder.Folder));
        var built = runs.Where(r => r.Stage == FoldArtifacts.Stage && r.Status == "built").ToList();
        built.Count.ShouldBe(8);
        built.Select(r => r.Key).Distinct().Count().ShouldBe(8);
        var folder = Directory.GetDirectories(Path.Combine(store, "slurm")).Single();
        var submissions = JsonSerializer.Deserialize<List<SlurmSubmission>>(await File.ReadAllTextAsync(Path.Combine(folder, SlurmBatch.HistoryFile)), Json.Options)!;
        submissions.Select(s => s.Shards).ShouldBe([[0, 1, 2, 3, 4, 5, 6, 7], [2]]);
        (await File.ReadAllTextAsync(Path.Combine(folder, "train-folds.sbatch"))).ShouldContain("stage train --dataset ocelot-fixture --profile smoke-dmpnn");
    }

    [Fact]
    public async Task Folds_trained_one_by_one_assemble_into_the_same_fcnn_train_artifact()
    {
        fcnn.ExitCode.ShouldBe(0, fcnn.Log);
        var store = Path.Combine(dir, "folds");
        string[] train = ["stage", "train", "--dataset", fcnn.Dataset, "--profile", "smoke", "--device", "cpu", "--root", fcnn.Root, "--artifacts", store];
        var missing = new StringWriter();
        (await CliHost.RunAsync([.. train, "--fold", "8"], missing, missing)).ShouldNotBe(0);
        missing.ToString().ShouldContain("fold 8 does not exist: the profile trains folds 0..7");

        foreach (var fold in new[] { 5, 0, 7, 1, 2, 6, 3, 4 })
        {
            var output = new StringWriter();
            (await CliHost.RunAsync([.. train, "--fold", $"{fold}"], output, output)).ShouldBe(0, output.ToString());
        }

        var assemble = new StringWriter();
        (await CliHost.RunAsync(train, assemble, assemble)).ShouldBe(0, assemble.ToString());
        // Two targets (IE, EA) × 8 folds, all from the store.
        assemble.ToString().Split('\n').Count(l => l.Contains("trained earlier, from the store")).ShouldBe(16, assemble.ToString());
        SameTrainArtifact(fcnn.Store, store);
    }

    /// <summary>The Train artifacts of two stores: the same key, and every file equal except the timings (training.json's seconds, and so the manifest).</summary>
    internal static void SameTrainArtifact(string expectedStore, string actualStore)
    {
        var expected = Directory.GetDirectories(Path.Combine(expectedStore, TrainStage.Name)).Single();
        var actual = Path.Combine(actualStore, TrainStage.Name, Path.GetFileName(expected));
        Directory.Exists(actual).ShouldBeTrue($"no Train artifact with the key {Path.GetFileName(expected)} in {actualStore}");
        var files = Directory.GetFiles(expected, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(expected, f)).Order().ToList();
        Directory.GetFiles(actual, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(actual, f)).Order().ShouldBe(files);
        files.Count(f => f.Contains("fold")).ShouldBeGreaterThan(8);
        foreach (var file in files.Where(f => f is not (TrainStage.Summary or "manifest.json")))
            File.ReadAllBytes(Path.Combine(actual, file)).ShouldBe(File.ReadAllBytes(Path.Combine(expected, file)), file);
        Strip(Path.Combine(actual, TrainStage.Summary)).ShouldBe(Strip(Path.Combine(expected, TrainStage.Summary)));

        static string Strip(string path) => string.Join('\n', File.ReadAllLines(path).Where(l => !l.TrimStart().StartsWith("\"seconds\"", StringComparison.Ordinal)));
    }
}
