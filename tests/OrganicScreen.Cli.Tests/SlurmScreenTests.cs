using System.Text.Json;
using OrganicScreen.Core;
using OrganicScreen.Pipeline.Sharding;

namespace OrganicScreen.Cli.Tests;

/// <summary>
/// <c>screen --executor slurm</c> against a real one-node Slurm (ci/slurm/start.sh): a 3-task job array and a merge
/// job; one task made to fail (<see cref="ShardedScreenOptions.FailShardsVariable"/>), the merge cancelled with it;
/// <c>--resume</c> submits that shard alone; the merged candidate lists equal the local executor's byte for byte.
/// </summary>
public sealed class SlurmScreenTests(PipelineFixture run) : IClassFixture<PipelineFixture>
{
    [Fact]
    public async Task Slurm_array_with_a_failed_task_resumes_only_that_shard_and_matches_the_local_executor()
    {
        SlurmCluster.Ensure();
        run.ExitCode.ShouldBe(0, run.Log);
        var folder = Path.Combine(run.Store, "slurm");
        var library = ShardedScreenTests.Library(run.Root, folder);
        string[] common = ["screen", "--model", run.Results, "--input", library, "--root", run.Root, "--margin", "None"];

        var local = new StringWriter();
        (await CliHost.RunAsync([.. common, "--output", Path.Combine(folder, "local"), "--shards", "3", "--artifacts", Path.Combine(folder, "local-store")], local, local))
            .ShouldBe(0, local.ToString());

        var output = Path.Combine(folder, "cluster");
        var store = Path.Combine(folder, "cluster-store");
        var first = new StringWriter();
        var exit = await CliHost.RunAsync([.. common, "--output", output, "--shards", "3", "--artifacts", store, "--executor", "slurm", "--wait",
            "--cpus-per-task", "1", "--time", "00:10:00", $"--sbatch-option=--export=ALL,{ShardedScreenOptions.FailShardsVariable}=1"], first, first);
        exit.ShouldBe(1, first.ToString());   // shard 1 failed, so the merge never ran
        var text = first.ToString();
        text.ShouldContain("tasks 0-2 of 0-2");
        text.ShouldContain("2 done, 0 queued or running, 1 failed");
        text.ShouldContain("failed on purpose");
        text.ShouldContain("CANCELLED");      // the afterok merge job
        File.Exists(Path.Combine(output, "candidates_cathode.csv")).ShouldBeFalse();
        var script = await File.ReadAllTextAsync(Path.Combine(output, "shards", "slurm", "screen-shards.sbatch"));
        script.ShouldContain("#SBATCH --cpus-per-task=1");
        script.ShouldContain("screen-shard --plan");

        var second = new StringWriter();
        exit = await CliHost.RunAsync([.. common, "--output", output, "--executor", "slurm", "--wait", "--resume"], second, second);
        exit.ShouldBe(0, second.ToString());
        second.ToString().ShouldContain("tasks 1 of 0-2; 2 done");
        second.ToString().ShouldContain("3 done, 0 queued or running, 0 failed");

        foreach (var file in ShardedScreenTests.Outputs)
            File.ReadAllBytes(Path.Combine(output, file)).ShouldBe(File.ReadAllBytes(Path.Combine(folder, "local", file)), file);
        // Each shard was built exactly once, by its own task: the resume redid shard 1 only.
        var built = RunRecorder.Read(Path.Combine(store, RunRecorder.Folder)).Where(r => r.Stage == ShardedScreen.Stage && r.Status == "built").ToList();
        built.Count.ShouldBe(3);
        built.Select(r => r.Key).Distinct().Count().ShouldBe(3);
        var submissions = JsonSerializer.Deserialize<List<SlurmSubmission>>(await File.ReadAllTextAsync(Path.Combine(output, "shards", "slurm", SlurmExecutor.HistoryFile)), Json.Options)!;
        submissions.Select(s => s.Shards).ShouldBe([[0, 1, 2], [1]]);
    }
}
