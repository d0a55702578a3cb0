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

/// <summary>One submission: the array job (null when every shard was already done) and the merge job that depends on it.</summary>
public sealed record SlurmSubmission(DateTimeOffset Time, string? ArrayJob, string MergeJob, IReadOnlyList<int> Shards);

/// <summary>
/// Runs a <see cref="ShardPlan"/> as a Slurm job array: task i screens shard i (<c>organicscreen screen-shard --plan P
/// --index $SLURM_ARRAY_TASK_ID</c>); a merge job (<c>screen-merge</c>) waits for the whole array with
/// <c>--dependency=afterok</c>. The batch scripts, their logs and the submission history live in the plan's
/// <c>shards/slurm/</c> folder, so a person can read and resubmit them by hand.
/// </summary>
public sealed class SlurmExecutor(ShardPlan plan, SlurmOptions options)
{
    public const string HistoryFile = "submissions.json";

    public string Folder => Path.Combine(plan.Directory, "slurm");

    public string ArrayScript => Path.Combine(Folder, "screen-shards.sbatch");

    public string MergeScript => Path.Combine(Folder, "screen-merge.sbatch");

    /// <summary>Writes both scripts and submits the array for <paramref name="shards"/> (none: only the merge) and the merge job.</summary>
    public async Task<SlurmSubmission> SubmitAsync(IReadOnlyList<int> shards, CancellationToken cancellation = default)
    {
        Directory.CreateDirectory(Path.Combine(Folder, "logs"));
        await File.WriteAllTextAsync(ArrayScript, Script("organicscreen-shards", "shard-%a-%A.log", options.CpusPerTask,
            ["screen-shard", "--plan", PlanPath, "--index"], "\"$SLURM_ARRAY_TASK_ID\""), cancellation);
        await File.WriteAllTextAsync(MergeScript, Script("organicscreen-merge", "merge-%j.log", 1, ["screen-merge", "--plan", PlanPath], null), cancellation);
        string? array = null;
        if (shards.Count > 0)
            array = JobId(await SlurmCommands.RunAsync("sbatch", ["--parsable", $"--array={ArraySpec(shards)}", ArrayScript], cancellation));
        var merge = JobId(await SlurmCommands.RunAsync("sbatch", array is null ? ["--parsable", MergeScript] : ["--parsable", $"--dependency=afterok:{array}", MergeScript], cancellation));
        var submission = new SlurmSubmission(DateTimeOffset.UtcNow, array, merge, shards);
        await AtomicFile.WriteAllTextAsync(Path.Combine(Folder, HistoryFile), JsonSerializer.Serialize(History(plan).Append(submission).ToList(), Json.Options), cancellation);
        return submission;
    }

    /// <summary>Every submission so far, oldest first (empty when the plan never went to Slurm).</summary>
    public static IReadOnlyList<SlurmSubmission> History(ShardPlan plan)
    {
        var path = Path.Combine(plan.Directory, "slurm", HistoryFile);
        return File.Exists(path) ? JsonSerializer.Deserialize<List<SlurmSubmission>>(File.ReadAllText(path), Json.Options) ?? [] : [];
    }

    /// <summary>"0-2,5": sbatch's array syntax for ascending indices.</summary>
    public static string ArraySpec(IReadOnlyList<int> shards)
    {
        var parts = new List<string>();
        var sorted = shards.Distinct().Order().ToList();
        for (var i = 0; i < sorted.Count;)
        {
            var j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1) j++;
            parts.Add(i == j ? $"{sorted[i]}" : $"{sorted[i]}-{sorted[j]}");
            i = j + 1;
        }

        return string.Join(',', parts);
    }

    private string PlanPath => Path.Combine(plan.Directory, ShardPlan.FileName);

    private string Script(string name, string log, int? cpus, IReadOnlyList<string> arguments, string? tail)
    {
        var text = new StringBuilder("#!/bin/bash\n");
        text.Append($"#SBATCH --job-name={name}\n#SBATCH --output={Path.Combine(Folder, "logs", log)}\n");
        if (options.Partition is { } partition) text.Append($"#SBATCH --partition={partition}\n");
        if (options.Time is { } time) text.Append($"#SBATCH --time={time}\n");
        if (options.Memory is { } memory) text.Append($"#SBATCH --mem={memory}\n");
        if (cpus is { } c) text.Append($"#SBATCH --cpus-per-task={c}\n");
        foreach (var extra in options.Extra) text.Append($"#SBATCH {extra}\n");
        // Written by organicscreen screen --executor slurm; the plan holds the shards and settings.
        text.Append("set -euo pipefail\n");
        // Two busy-waiting thread pools (OpenMP in libtorch, RDKit's) on a shared node run many times slower.
        text.Append("export OMP_WAIT_POLICY=PASSIVE\n");
        text.Append("exec ").Append(string.Join(' ', options.Launcher.Concat(arguments).Select(Quote)));
        if (tail is not null) text.Append(' ').Append(tail);
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
