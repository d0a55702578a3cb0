using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using OrganicScreen.Core;

namespace OrganicScreen.Pipeline.Sharding;

/// <summary>How Slurm jobs are asked for. <see cref="Launcher"/> is the command that runs organicscreen on a node.</summary>
/// <param name="Time">Wall-time limit per shard task (sbatch --time), e.g. 01:00:00.</param>
/// <param name="Memory">Memory per task (sbatch --mem), e.g. 4G.</param>
/// <param name="Extra">More sbatch options, one per element, each written as an #SBATCH line (e.g. --account=chem, --qos=short).</param>
public sealed record SlurmOptions(string? Partition, string? Time, string? Memory, int? CpusPerTask, IReadOnlyList<string> Extra, IReadOnlyList<string> Launcher);

/// <summary>One submission: the array job (null when every task was already done) and the job that depends on it (a merge, or the stage after Train's folds).</summary>
/// <param name="Shards">The array's task indices: shards of a screen, or folds of a training.</param>
public sealed record SlurmSubmission(DateTimeOffset Time, string? ArrayJob, string MergeJob, IReadOnlyList<int> Shards);

/// <summary>A batch script: the job's name, its log file name (sbatch patterns such as %a, %A, %j), CPUs, and the organicscreen arguments it runs, then <paramref name="Tail"/> unquoted (e.g. "$SLURM_ARRAY_TASK_ID").</summary>
public sealed record SlurmJob(string Script, string Name, string Log, int? Cpus, IReadOnlyList<string> Arguments, string? Tail = null);

/// <summary>
/// A job array and one job that waits for all of it (<c>--dependency=afterok</c>), written as batch scripts in
/// <see cref="Folder"/> (with <c>logs/</c> and the submission history), so a person can read and resubmit them by hand.
/// </summary>
public sealed class SlurmBatch(string folder, SlurmOptions options)
{
    public const string HistoryFile = "submissions.json";

    public string Folder => folder;

    public string PathOf(SlurmJob job) => Path.Combine(folder, job.Script);

    /// <summary>Writes both scripts and submits the array for <paramref name="tasks"/> (none: only the final job) and the final job.</summary>
    public async Task<SlurmSubmission> SubmitAsync(SlurmJob array, SlurmJob final, IReadOnlyList<int> tasks, CancellationToken cancellation = default)
    {
        Directory.CreateDirectory(Path.Combine(folder, "logs"));
        await File.WriteAllTextAsync(PathOf(array), Script(array), cancellation);
        await File.WriteAllTextAsync(PathOf(final), Script(final), cancellation);
        string? arrayJob = null;
        if (tasks.Count > 0)
            arrayJob = JobId(await SlurmCommands.RunAsync("sbatch", ["--parsable", $"--array={ArraySpec(tasks)}", PathOf(array)], cancellation));
        var finalJob = JobId(await SlurmCommands.RunAsync("sbatch", arrayJob is null ? ["--parsable", PathOf(final)] : ["--parsable", $"--dependency=afterok:{arrayJob}", PathOf(final)], cancellation));
        var submission = new SlurmSubmission(DateTimeOffset.UtcNow, arrayJob, finalJob, tasks);
        await AtomicFile.WriteAllTextAsync(Path.Combine(folder, HistoryFile), JsonSerializer.Serialize(History(folder).Append(submission).ToList(), Json.Options), cancellation);
        return submission;
    }

    /// <summary>Every submission so far, oldest first (empty when nothing went to Slurm).</summary>
    public static IReadOnlyList<SlurmSubmission> History(string folder)
    {
        var path = Path.Combine(folder, HistoryFile);
        return File.Exists(path) ? JsonSerializer.Deserialize<List<SlurmSubmission>>(File.ReadAllText(path), Json.Options) ?? [] : [];
    }

    /// <summary>"0-2,5": sbatch's array syntax for ascending indices.</summary>
    public static string ArraySpec(IReadOnlyList<int> tasks)
    {
        var parts = new List<string>();
        var sorted = tasks.Distinct().Order().ToList();
        for (var i = 0; i < sorted.Count;)
        {
            var j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1) j++;
            parts.Add(i == j ? $"{sorted[i]}" : $"{sorted[i]}-{sorted[j]}");
            i = j + 1;
        }

        return string.Join(',', parts);
    }

    private string Script(SlurmJob job)
    {
        var text = new StringBuilder("#!/bin/bash\n");
        text.Append($"#SBATCH --job-name={job.Name}\n#SBATCH --output={Path.Combine(folder, "logs", job.Log)}\n");
        if (options.Partition is { } partition) text.Append($"#SBATCH --partition={partition}\n");
        if (options.Time is { } time) text.Append($"#SBATCH --time={time}\n");
        if (options.Memory is { } memory) text.Append($"#SBATCH --mem={memory}\n");
        if (job.Cpus is { } c) text.Append($"#SBATCH --cpus-per-task={c}\n");
        foreach (var extra in options.Extra) text.Append($"#SBATCH {extra}\n");
        // Written by organicscreen --executor slurm: the arguments below say everything the job needs.
        text.Append("set -euo pipefail\n");
        // Two busy-waiting thread pools (OpenMP in libtorch, RDKit's) on a shared node run many times slower.
        text.Append("export OMP_WAIT_POLICY=PASSIVE\n");
        text.Append("exec ").Append(string.Join(' ', options.Launcher.Concat(job.Arguments).Select(Quote)));
        if (job.Tail is not null) text.Append(' ').Append(job.Tail);
        return text.Append('\n').ToString();
    }

    private static string Quote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "/._-+=:,".Contains(c)) ? word : "'" + word.Replace("'", "'\\''") + "'";

    /// <summary>sbatch --parsable prints "id" or "id;cluster".</summary>
    private static string JobId(string output)
    {
        var id = output.Trim().Split(';')[0];
        return id.Length > 0 && id.All(char.IsAsciiDigit) ? id : throw new InvalidOperationException($"sbatch printed '{output.Trim()}', not a job id");
    }
}

/// <summary>
/// Runs a <see cref="ShardPlan"/> as a Slurm job array: task i screens shard i (<c>organicscreen screen-shard --plan P
/// --index $SLURM_ARRAY_TASK_ID</c>); a merge job (<c>screen-merge</c>) waits for the whole array. Scripts, logs and the
/// submission history live in the plan's <c>shards/slurm/</c> folder.
/// </summary>
public sealed class SlurmExecutor(ShardPlan plan, SlurmOptions options)
{
    public const string HistoryFile = SlurmBatch.HistoryFile;

    private readonly SlurmBatch batch = new(FolderOf(plan), options);

    public string Folder => batch.Folder;

    public string ArrayScript => batch.PathOf(Shards);

    public string MergeScript => batch.PathOf(Merge);

    private SlurmJob Shards => new("screen-shards.sbatch", "organicscreen-shards", "shard-%a-%A.log", options.CpusPerTask, ["screen-shard", "--plan", PlanPath, "--index"], "\"$SLURM_ARRAY_TASK_ID\"");

    private SlurmJob Merge => new("screen-merge.sbatch", "organicscreen-merge", "merge-%j.log", 1, ["screen-merge", "--plan", PlanPath]);

    /// <summary>Writes both scripts and submits the array for <paramref name="shards"/> (none: only the merge) and the merge job.</summary>
    public Task<SlurmSubmission> SubmitAsync(IReadOnlyList<int> shards, CancellationToken cancellation = default) => batch.SubmitAsync(Shards, Merge, shards, cancellation);

    /// <summary>Every submission so far, oldest first (empty when the plan never went to Slurm).</summary>
    public static IReadOnlyList<SlurmSubmission> History(ShardPlan plan) => SlurmBatch.History(FolderOf(plan));

    public static string ArraySpec(IReadOnlyList<int> shards) => SlurmBatch.ArraySpec(shards);

    private static string FolderOf(ShardPlan plan) => Path.Combine(plan.Directory, "slurm");

    private string PlanPath => Path.Combine(plan.Directory, ShardPlan.FileName);
}

/// <summary>Runs Slurm's client commands; errors carry Slurm's own message.</summary>
public static class SlurmCommands
{
    public static async Task<string> RunAsync(string command, IReadOnlyList<string> arguments, CancellationToken cancellation = default)
    {
        var (code, output, error) = await TryRunAsync(command, arguments, cancellation);
        return code == 0 ? output : throw new InvalidOperationException($"{command} {string.Join(' ', arguments)} failed ({code}): {error.Trim()}");
    }

    /// <summary>Exit code, stdout and stderr; a missing command is exit code 127 with a message saying what to install.</summary>
    public static async Task<(int Code, string Output, string Error)> TryRunAsync(string command, IReadOnlyList<string> arguments, CancellationToken cancellation = default)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {command}");
        }
        catch (Win32Exception e)
        {
            return (127, "", $"{command} not found ({e.Message}): Slurm's client commands must be on PATH (Debian: apt-get install slurm-client; ci/slurm/start.sh starts a one-node cluster)");
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync(cancellation);
            var error = process.StandardError.ReadToEndAsync(cancellation);
            await process.WaitForExitAsync(cancellation);
            return (process.ExitCode, await output, await error);
        }
    }
}
