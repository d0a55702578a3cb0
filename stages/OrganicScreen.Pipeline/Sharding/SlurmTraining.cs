using OrganicScreen.Core;
using OrganicScreen.Stages;

namespace OrganicScreen.Pipeline.Sharding;

/// <param name="Detail">The Slurm task and its state, or the failure a task left, or "in the store".</param>
public sealed record FoldStatus(int Fold, ShardState State, string Detail);

/// <summary>
/// Train's cross-validation folds as a Slurm job array: task i runs <c>organicscreen stage train --fold i</c> (fold i
/// of every training unit into the store as a <see cref="FoldArtifacts.Stage"/> artifact), and one job that depends on
/// the whole array (<c>afterok</c>) runs the asked stage (<c>stage train</c>, <c>infer</c> or <c>screen</c>), whose Train
/// assembles the folds from the store. Upstream artifacts (Fetch, Featurize and, for an FCNN, the Sweep) are built
/// before submitting, so the tasks only read them. Folds already in the store are not submitted again, nor are folds
/// whose task is still queued or running: rerunning the same command resumes. Scripts, logs and the submission history
/// live in <c>&lt;store&gt;/slurm/train-&lt;train key&gt;/</c>.
/// </summary>
public sealed class SlurmTraining(PipelineRun run, PipelineOptions options)
{
    /// <summary>Comma-separated fold indices on which <c>stage train --fold</c> fails on purpose (tests of resume).</summary>
    public const string FailFoldsVariable = "ORGANICSCREEN_FAIL_FOLDS";

    public async Task<string> FolderAsync() => Path.Combine(run.Layout.Artifacts, "slurm", $"{TrainStage.Name}-{(await run.RequestAsync(TrainStage.Name)).ShortKey}");

    /// <summary>The latest submission's final job and its Slurm state ("COMPLETED" once it ran), or null when nothing was submitted.</summary>
    public async Task<(string Job, string State)?> FinalJobAsync(CancellationToken cancellation = default)
    {
        var history = SlurmBatch.History(await FolderAsync());
        if (history.Count == 0) return null;
        var jobs = await SlurmQueue.StatesAsync(history, cancellation);
        return (history[^1].MergeJob, jobs.GetValueOrDefault(history[^1].MergeJob) ?? "no longer queued");
    }

    /// <summary>Each fold: in the store, queued or running, failed (its task left the queue without a result), or not run.</summary>
    public async Task<IReadOnlyList<FoldStatus>> StatusAsync(CancellationToken cancellation = default)
    {
        var folder = await FolderAsync();
        var history = SlurmBatch.History(folder);
        var jobs = await SlurmQueue.StatesAsync(history, cancellation);
        var done = await run.TrainFoldsDoneAsync(cancellation);
        return done.Select((isDone, fold) => isDone
            ? new FoldStatus(fold, ShardState.Done, "in the store")
            : SlurmQueue.TaskState(history, jobs, fold, FailureMessage(folder, fold)) is { } task
                ? new FoldStatus(fold, task.State, task.Detail)
                : new FoldStatus(fold, ShardState.Missing, "not run yet")).ToList();
    }

    /// <summary>Builds the upstream artifacts here, then submits the folds still to train and the job that runs <paramref name="stage"/> after them.</summary>
    public async Task<(SlurmSubmission Submission, IReadOnlyList<FoldStatus> Before)> SubmitAsync(string stage, SlurmOptions slurm, CancellationToken cancellation = default)
    {
        if (stage is not (TrainStage.Name or InferStage.Name or ScreenStage.Name))
            throw new ArgumentException($"--executor slurm runs Train's folds as a job array: it applies to stage train, infer or screen, not {stage}");
        await run.FeaturesAsync(cancellation);
        if (run.Graph.Any(n => n.Name == SweepStage.Name)) await run.SweepAsync(cancellation);
        var before = await StatusAsync(cancellation);
        var toRun = before.Where(f => f.State is ShardState.Failed or ShardState.Missing).Select(f => f.Fold).ToList();
        var folder = await FolderAsync();
        foreach (var fold in toRun) ClearFailure(folder, fold);
        var pipeline = PipelineCommandLine.Of(options, run.Layout);
        var folds = new SlurmJob("train-folds.sbatch", "organicscreen-folds", "fold-%a-%A.log", slurm.CpusPerTask, ["stage", TrainStage.Name, .. pipeline, "--fold"], "\"$SLURM_ARRAY_TASK_ID\"");
        var next = new SlurmJob($"{stage}.sbatch", $"organicscreen-{stage}", $"{stage}-%j.log", slurm.CpusPerTask, ["stage", stage, .. pipeline]);
        return (await new SlurmBatch(folder, slurm).SubmitAsync(folds, next, toRun, cancellation), before);
    }

    /// <summary>Trains one fold: what an array task runs. A failure (not a cancellation) leaves its message for <see cref="StatusAsync"/>.</summary>
    public async Task TrainFoldAsync(int fold, CancellationToken cancellation = default)
    {
        var folder = await FolderAsync();
        try
        {
            var failOn = (Environment.GetEnvironmentVariable(FailFoldsVariable) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (failOn.Contains(fold.ToString(System.Globalization.CultureInfo.InvariantCulture)))
                throw new InvalidOperationException($"fold {fold} failed on purpose ({FailFoldsVariable}={string.Join(',', failOn)})");
            await run.TrainFoldAsync(fold, cancellation);
            ClearFailure(folder, fold);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            ShardMarkers.Failed(States(folder), fold, $"{e.GetType().Name}: {e.Message}");
            throw;
        }
    }

    private static string States(string folder) => Path.Combine(folder, "state");

    private static string? FailureMessage(string folder, int fold) => ShardMarkers.FailedMessage(States(folder), fold);

    private static void ClearFailure(string folder, int fold) => ShardMarkers.Clear(States(folder), fold);
}
