using OrganicScreen.Core;

namespace OrganicScreen.Pipeline.Sharding;

public enum ShardState
{
    /// <summary>The shard's artifact is in the store (verified).</summary>
    Done,

    /// <summary>Its Slurm task is pending, running or completing.</summary>
    Queued,

    /// <summary>It was attempted and has no artifact: a task failed, was cancelled or killed, or a local run failed.</summary>
    Failed,

    /// <summary>Never attempted.</summary>
    Missing,
}

/// <param name="Detail">What is known beyond the state: the Slurm task and its state, the failure message, the counts.</param>
public sealed record ShardStatus(ShardRange Shard, ShardState State, string Detail, ScreenTotals? Totals);

/// <param name="Merge">The latest merge job and its Slurm state, when the screen went to Slurm.</param>
public sealed record ScreenStatus(IReadOnlyList<ShardStatus> Shards, string? Merge)
{
    public int Count(ShardState state) => Shards.Count(s => s.State == state);

    /// <summary>Shards a resume must run: neither done nor queued.</summary>
    public IReadOnlyList<int> ToRun => Shards.Where(s => s.State is ShardState.Failed or ShardState.Missing).Select(s => s.Shard.Index).ToList();
}

/// <summary>
/// Small files under <c>shards/state/</c> that say what a shard run did where nothing else can: <c>&lt;i&gt;.failed</c>
/// holds the error of a run that threw (a Slurm task that is killed cannot write; the queue tells those apart).
/// </summary>
public static class ShardMarkers
{
    public static string Folder(ShardPlan plan) => Path.Combine(plan.Directory, "state");

    public static void Failed(ShardPlan plan, int index, string message) => Failed(Folder(plan), index, message);

    public static void Clear(ShardPlan plan, int index) => Clear(Folder(plan), index);

    public static string? FailedMessage(ShardPlan plan, int index) => FailedMessage(Folder(plan), index);

    /// <summary>Leaves <c>&lt;index&gt;.failed</c> in <paramref name="folder"/> (a state folder of shards or of Train's folds).</summary>
    public static void Failed(string folder, int index, string message)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, $"{index}.failed"), message.ReplaceLineEndings(" ") + "\n");
    }

    public static void Clear(string folder, int index)
    {
        var path = Path.Combine(folder, $"{index}.failed");
        if (File.Exists(path)) File.Delete(path);
    }

    public static string? FailedMessage(string folder, int index)
    {
        var path = Path.Combine(folder, $"{index}.failed");
        return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
    }
}

/// <summary>Puts together each shard's state from the store, the markers, and (for Slurm screens) squeue and sacct.</summary>
public static class ScreenStatusReader
{
    public static async Task<ScreenStatus> ReadAsync(ShardedScreen screen, CancellationToken cancellation = default)
    {
        var plan = screen.Plan;
        var history = SlurmExecutor.History(plan);
        var jobs = await SlurmQueue.StatesAsync(history, cancellation);
        var shards = new List<ShardStatus>();
        foreach (var shard in plan.Shards)
        {
            if (await screen.TryOpenAsync(shard, cancellation) is { } artifact)
            {
                var totals = ScreenTotals.FromJson(artifact.Manifest.Summary);
                shards.Add(new ShardStatus(shard, ShardState.Done, $"{totals.Cathodes:N0} cathode and {totals.Anodes:N0} anode candidates, {totals.Rejected:N0} rejected, {artifact.Manifest.Seconds:F1} s", totals));
                continue;
            }

            var failed = ShardMarkers.FailedMessage(plan, shard.Index);
            if (SlurmQueue.TaskState(history, jobs, shard.Index, failed) is { } task)
            {
                shards.Add(new ShardStatus(shard, task.State, task.Detail, null));
                continue;
            }

            shards.Add(failed is not null
                ? new ShardStatus(shard, ShardState.Failed, failed, null)
                : new ShardStatus(shard, ShardState.Missing, "not run yet", null));
        }

        var merge = history.LastOrDefault() is { } last ? $"slurm {last.MergeJob} {jobs.GetValueOrDefault(last.MergeJob) ?? "no longer queued"}" : null;
        return new ScreenStatus(shards, merge);
    }
}

/// <summary>What Slurm says of submitted jobs and array tasks.</summary>
public static class SlurmQueue
{
    private static readonly string[] Active = ["PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "RESIZING", "SUSPENDED"];

    public static bool IsActive(string? state) => state is not null && Active.Contains(state);

    /// <summary>
    /// The state of array task <paramref name="index"/> in its latest submission: queued while Slurm has it pending or
    /// running, failed once it left the queue without a result (<paramref name="failure"/>: the message the task left);
    /// null when no submission had that task.
    /// </summary>
    public static (ShardState State, string Detail)? TaskState(IReadOnlyList<SlurmSubmission> history, IReadOnlyDictionary<string, string> jobs, int index, string? failure)
    {
        var submission = history.LastOrDefault(s => s.ArrayJob is not null && s.Shards.Contains(index));
        if (submission is null) return null;
        var task = $"{submission.ArrayJob}_{index}";
        var state = jobs.GetValueOrDefault(task);
        return IsActive(state)
            ? (ShardState.Queued, $"slurm {task} {state}")
            : (ShardState.Failed, $"slurm {task} {state ?? "no longer queued"}" + (failure is not null ? $": {failure}" : state is null ? ", no output: killed, cancelled or lost" : ""));
    }

    /// <summary>
    /// Job (and array task, "id_i") states the controller still knows (<c>squeue --states=all</c> keeps finished jobs
    /// for MinJobAge), then sacct's where accounting is enabled; commands that fail add nothing.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, string>> StatesAsync(IReadOnlyList<SlurmSubmission> history, CancellationToken cancellation)
    {
        var states = new Dictionary<string, string>();
        if (history.Count == 0) return states;
        var ids = history.SelectMany(s => new[] { s.ArrayJob, s.MergeJob }).OfType<string>().ToHashSet();
        var (code, output, _) = await SlurmCommands.TryRunAsync("squeue", ["--noheader", "--array", "--states=all", "--format=%i|%T"], cancellation);
        if (code == 0) Read(output);
        (code, output, _) = await SlurmCommands.TryRunAsync("sacct", ["--noheader", "--parsable2", "--allocations", "--format=JobID,State", "--jobs", string.Join(',', ids)], cancellation);
        if (code == 0) Read(output);
        return states;

        void Read(string text)
        {
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var parts = line.Split('|');
                if (parts.Length < 2 || !ids.Contains(parts[0].Split('_')[0])) continue;
                // sacct writes "CANCELLED by 0": the first word is the state.
                states.TryAdd(parts[0], parts[1].Split(' ')[0]);
            }
        }
    }

    /// <summary>
    /// Polls squeue every two seconds until none of <paramref name="jobs"/> is pending or running. squeue refusing the
    /// ids ("Invalid job id": every job aged out of the controller) means they are done; any other failure (a busy
    /// controller's socket time-out) is retried, for up to <see cref="TransientFailures"/> polls in a row, since
    /// returning early would report folds or shards as failed that are still running.
    /// </summary>
    public static async Task WaitAsync(IEnumerable<string?> jobs, CancellationToken cancellation)
    {
        var ids = string.Join(',', jobs.OfType<string>());
        var failures = 0;
        while (true)
        {
            await Task.Delay(TimeSpan.FromSeconds(2), cancellation);
            var (code, queue, error) = await SlurmCommands.TryRunAsync("squeue", ["--noheader", "--jobs", ids, "--format=%T"], cancellation);
            if (code == 0)
            {
                if (queue.Split('\n', StringSplitOptions.RemoveEmptyEntries).All(s => !IsActive(s.Trim()))) return;
                failures = 0;
            }
            else if (error.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase) || ++failures >= TransientFailures)
            {
                return;
            }
        }
    }

    /// <summary>squeue failures in a row (two seconds apart) after which waiting gives up and reports what is known.</summary>
    public const int TransientFailures = 30;
}
