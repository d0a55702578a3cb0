using System.Text.Json.Serialization;

namespace OrganicScreen.Training.Graph;

/// <summary>
/// Shape of a directed message-passing network (Chemprop v1 defaults): hidden size of messages and atom states,
/// message-passing depth (W_i counts as step 1, so depth 3 means two shared W_h updates), molecule readout
/// ("mean" or "sum" over atoms), hidden sizes of the feed-forward head, dropout used in encoder and head, and the
/// precision of the message-passing (W_h) products (<see cref="Precision"/>; null is float32).
/// </summary>
public sealed record DmpnnArchitecture(
    int Hidden = 300,
    int Depth = 3,
    string Aggregation = DmpnnArchitecture.Mean,
    IReadOnlyList<int>? HeadHidden = null,
    double Dropout = 0.0,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Precision = null)
{
    public const string Mean = "mean";
    public const string Sum = "sum";

    /// <summary>Every product in float32 (the default).</summary>
    public const string Float32 = "float32";

    /// <summary>
    /// The message-passing products with W_h (forward, and both backward products) take bfloat16 operands and round
    /// their result to bfloat16 before it is added in float32; W_i, W_o, the head, sums, ReLU, readout, loss and
    /// optimiser stay float32 (mixed precision, as torch.autocast does on the CPU). W_h's products are most of the
    /// FLOPs, and CPUs with AVX512-BF16 or AMX run them several times faster (measured: bfloat16 W_o and W_i products
    /// as well gained nothing, their conversions costing what the GEMMs saved). The results differ from float32 by
    /// bfloat16 rounding, so the precision is part of the model (its key and model card).
    /// </summary>
    public const string BFloat16 = "bfloat16";

    /// <summary>Whether the W_h products run in bfloat16 (<see cref="BFloat16"/>).</summary>
    public bool BFloat16Products => string.Equals(Precision, BFloat16, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Head hidden sizes in use: <see cref="HeadHidden"/>, or when that is null Chemprop's default of one layer as
    /// wide as <see cref="Hidden"/> (computed, so <c>with { Hidden = … }</c> keeps the default tied to it).
    /// An empty list is a single linear layer from the molecule vector to the targets.
    /// </summary>
    public IReadOnlyList<int> Head => HeadHidden ?? [Hidden];

    public bool MeanReadout => string.Equals(Aggregation, Mean, StringComparison.OrdinalIgnoreCase);

    public void Validate()
    {
        if (Hidden <= 0) throw new ArgumentException($"D-MPNN hidden size must be positive: {Hidden}.");
        if (Depth < 1) throw new ArgumentException($"D-MPNN depth must be ≥ 1 (1 = W_i only, no message step): {Depth}.");
        if (!string.Equals(Aggregation, Mean, StringComparison.OrdinalIgnoreCase) && !string.Equals(Aggregation, Sum, StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"D-MPNN aggregation must be '{Mean}' or '{Sum}': '{Aggregation}'.");
        if (Head.Any(h => h <= 0)) throw new ArgumentException($"Head hidden sizes must be positive: [{string.Join(",", Head)}].");
        if (Dropout is < 0 or >= 1 || double.IsNaN(Dropout)) throw new ArgumentException($"Dropout must be in [0, 1): {Dropout}.");
        if (Precision is not null && !string.Equals(Precision, Float32, StringComparison.OrdinalIgnoreCase) && !BFloat16Products)
            throw new ArgumentException($"D-MPNN precision must be '{Float32}' or '{BFloat16}': '{Precision}'.");
    }

    public override string ToString() =>
        $"D-MPNN hidden {Hidden} depth {Depth} {Aggregation} head [{string.Join(",", Head)}] dropout {Dropout}" + (BFloat16Products ? " bfloat16 products" : "");

    // Records compare lists by reference; architectures are compared by value (persistence round trips).
    public bool Equals(DmpnnArchitecture? other) =>
        other is not null && Hidden == other.Hidden && Depth == other.Depth
        && string.Equals(Aggregation, other.Aggregation, StringComparison.OrdinalIgnoreCase)
        && Head.SequenceEqual(other.Head) && Dropout.Equals(other.Dropout) && BFloat16Products == other.BFloat16Products;

    public override int GetHashCode() =>
        HashCode.Combine(Hidden, Depth, Aggregation.ToLowerInvariant(), string.Join(",", Head), Dropout, BFloat16Products);
}

/// <summary>How each target's labels are normalised (fitted per target on the fold's training rows only).</summary>
public enum TargetScaling
{
    /// <summary>(y − mean) / std, population std, as Chemprop's StandardScaler (a zero std becomes 1).</summary>
    Standard,
    /// <summary>(y − min) / (max − min), as the FCNN (<see cref="MinMaxScaler"/>).</summary>
    MinMax,
}

/// <summary>
/// What each label's error costs in the training loss (normalised units). The epoch is chosen on validation MAE either way.
/// </summary>
public enum TrainingLoss
{
    /// <summary>Squared error, as Chemprop (regression's default): the model of the conditional mean.</summary>
    Mse,
    /// <summary>
    /// Absolute error: the model of the conditional median, which is what a mean absolute error rewards, and outliers
    /// (a few DFT labels far off the trend) pull on it no harder than any other molecule.
    /// </summary>
    Mae,
}

/// <summary>
/// Settings of the multi-task graph training that <see cref="TrainingSettings"/> does not cover.
/// </summary>
/// <param name="Scaling">Per-target label normalisation.</param>
/// <param name="SelectionTarget">
/// Target whose validation MAE picks the best epoch; null = the mean of the per-target validation MAEs
/// (targets without validation labels in a fold are left out of that mean).
/// </param>
/// <param name="InferenceBatchSize">Molecules per forward pass for validation and prediction (memory, not results).</param>
/// <param name="Auxiliary">
/// Targets learned only to shape the shared representation (auxiliary DFT quantities): they weigh
/// <paramref name="AuxiliaryWeight"/> each in the loss instead of 1, and never take part in choosing the best epoch.
/// </param>
/// <param name="AuxiliaryWeight">Loss weight of each auxiliary target relative to a primary one.</param>
public sealed record GraphTrainingOptions(
    TargetScaling Scaling = TargetScaling.Standard,
    string? SelectionTarget = null,
    int InferenceBatchSize = 1000,
    IReadOnlyList<string>? Auxiliary = null,
    double AuxiliaryWeight = 1.0,
    TrainingLoss Loss = TrainingLoss.Mse)
{
    public static GraphTrainingOptions Default { get; } = new();

    public void Validate(IReadOnlyList<string> targetNames)
    {
        if (InferenceBatchSize <= 0) throw new ArgumentException($"Inference batch size must be positive: {InferenceBatchSize}.");
        if (SelectionTarget is not null && !targetNames.Contains(SelectionTarget))
            throw new ArgumentException($"Selection target '{SelectionTarget}' is not one of the targets [{string.Join(", ", targetNames)}].");
        if (SelectionTarget is not null && IsAuxiliary(SelectionTarget))
            throw new ArgumentException($"Selection target '{SelectionTarget}' is auxiliary; the best epoch is chosen on a primary target.");
        var unknown = (Auxiliary ?? []).Where(a => !targetNames.Contains(a)).ToList();
        if (unknown.Count > 0) throw new ArgumentException($"Auxiliary targets [{string.Join(", ", unknown)}] are not among the targets [{string.Join(", ", targetNames)}].");
        if (targetNames.All(IsAuxiliary)) throw new ArgumentException("Every target is auxiliary; at least one must be primary.");
        if (!(AuxiliaryWeight is > 0 and <= 10)) throw new ArgumentException($"Auxiliary weight must be in (0, 10]: {AuxiliaryWeight}.");
    }

    public bool IsAuxiliary(string target) => Auxiliary?.Contains(target) == true;

    /// <summary>Loss weight per target, in target order: 1 for primary targets, <see cref="AuxiliaryWeight"/> for auxiliary ones.</summary>
    public float[] LossWeights(IReadOnlyList<string> targetNames) => targetNames.Select(t => IsAuxiliary(t) ? (float)AuxiliaryWeight : 1f).ToArray();
}
