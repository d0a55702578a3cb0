using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using OrganicScreen.Core;
using OrganicScreen.Training;
using OrganicScreen.Training.Graph;

namespace OrganicScreen.Stages;

/// <summary>One epoch of a fold's learning curve, per target (one element for an FCNN target).</summary>
public sealed record StoredEpoch(int Epoch, double LearningRate, double TrainLoss, double ValidationLoss, double[] TrainMae, double[] ValidationMae);

/// <summary>
/// What Train keeps of a trained fold, whatever the family: the numbers of <see cref="IFoldOutcome"/> and the curve.
/// The fold's model lies in <see cref="ModelDirectory"/> (saved by <see cref="FoldModels.Save"/>), not in memory, so a
/// fold trained by another process (a Slurm array task) is as good as one trained here.
/// </summary>
public sealed record StoredFold(
    int FoldIndex,
    int BestEpoch,
    int EpochsRun,
    double[] BestValidationMae,
    int[] ValidationRows,
    double[][] ValidationPredictionsByTarget,
    IReadOnlyList<StoredEpoch> Curve,
    double Seconds) : IFoldOutcome
{
    [JsonIgnore]
    public string ModelDirectory { get; init; } = "";

    public static StoredFold Of(FoldResult fold) => new(fold.FoldIndex, fold.BestEpoch, fold.EpochsRun, [fold.BestValidationMae], fold.ValidationRows,
        fold.ValidationPredictionsByTarget, fold.Curve.Select(e => new StoredEpoch(e.Epoch, e.LearningRate, e.TrainLoss, e.ValidationLoss, [e.TrainMae], [e.ValidationMae])).ToList(),
        Math.Round(fold.Elapsed.TotalSeconds, 2));

    public static StoredFold Of(GraphFoldResult fold) => new(fold.FoldIndex, fold.BestEpoch, fold.EpochsRun, fold.BestValidationMae, fold.ValidationRows,
        fold.ValidationPredictions, fold.Curve.Select(e => new StoredEpoch(e.Epoch, e.LearningRate, e.TrainLoss, e.ValidationLoss, e.TrainMae, e.ValidationMae)).ToList(),
        Math.Round(fold.Elapsed.TotalSeconds, 2));
}

/// <summary>
/// Each cross-validation fold of a Train run as an artifact of its own (stage <see cref="Stage"/>), keyed by the Train
/// request (parameters, inputs, code, tools), the training unit (an FCNN target, or the D-MPNN's one multi-task network)
/// and the fold index. Train gets or builds its folds through here, so a fold that a Slurm array task (or an earlier,
/// interrupted run) already trained is taken from the store, and folds are independent work items: they are seeded per
/// fold (from the settings' seed and the fold index), so a fold trained alone equals the same fold trained in sequence.
/// </summary>
public sealed class FoldArtifacts(ArtifactStore store, StageRequest train, IStageLog log)
{
    public const string Stage = "train-fold";
    public const string Outcome = "outcome.json";
    public const string ModelFolder = "model";

    // Validation MAEs of a target without validation labels are NaN: written as "NaN", not refused.
    private static readonly JsonSerializerOptions Options = new(Json.Options) { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public StageRequest Request(string unit, int fold) =>
        new(Stage, train.Code, new JsonObject { ["train"] = train.Parameters?.DeepClone(), ["unit"] = unit, ["fold"] = fold }, train.Inputs, train.ToolVersions);

    /// <summary>The fold's verified artifact, or null when it was not trained yet (or is damaged).</summary>
    public Task<Artifact?> TryOpenAsync(string unit, int fold, CancellationToken cancellation = default) => store.TryOpenAsync(Request(unit, fold), cancellation);

    /// <summary>The fold from the store, trained by <paramref name="trainFold"/> (which returns its model and numbers) when missing.</summary>
    public async Task<StoredFold> GetOrTrainAsync(string unit, Fold fold, Func<Fold, CancellationToken, (IFoldModel Model, StoredFold Outcome)> trainFold, CancellationToken cancellation)
    {
        var artifact = await store.GetOrBuildAsync(Request(unit, fold.Index), async (context, token) =>
        {
            var (model, outcome) = trainFold(fold, token);
            FoldModels.Save(model, Path.Combine(context.OutputDirectory, ModelFolder));
            await File.WriteAllTextAsync(Path.Combine(context.OutputDirectory, Outcome), JsonSerializer.Serialize(outcome, Options), token);
            return new JsonObject { ["unit"] = unit, ["fold"] = fold.Index, ["bestEpoch"] = outcome.BestEpoch, ["seconds"] = outcome.Seconds };
        }, cancellation);
        if (artifact.FromCache) log.Info($"  {unit} fold {fold.Index + 1}: trained earlier, from the store ({Stage}/{artifact.Key[..16]})");
        var stored = JsonSerializer.Deserialize<StoredFold>(await File.ReadAllTextAsync(artifact.PathOf(Outcome), cancellation), Options)
                     ?? throw new InvalidDataException($"{artifact.PathOf(Outcome)} is empty");
        if (stored.FoldIndex != fold.Index || !stored.ValidationRows.SequenceEqual(fold.ValidationRows))
            throw new InvalidDataException($"{artifact.Directory}: its validation rows are not those of fold {fold.Index} (remove the folder and rerun)");
        return stored with { ModelDirectory = artifact.PathOf(ModelFolder) };
    }
}
