using OrganicScreen.Core;

namespace OrganicScreen.Training;

/// <summary>
/// Fully connected network shape: Dense(h) → ReLU → Dropout for each hidden size, then Dense(1).
/// Kernels start from Normal(0, <see cref="InitStd"/>) (Keras RandomNormal, not truncated), biases at zero.
/// </summary>
public sealed record FcnnArchitecture(IReadOnlyList<int> Hidden, double Dropout = 0.1, double InitStd = 0.05)
{
    public void Validate()
    {
        if (Hidden.Count == 0) throw new ArgumentException("The network needs at least one hidden layer.");
        if (Hidden.Any(h => h <= 0)) throw new ArgumentException($"Hidden sizes must be positive: [{string.Join(",", Hidden)}].");
        if (Dropout is < 0 or >= 1) throw new ArgumentException($"Dropout must be in [0, 1): {Dropout}.");
        if (!(InitStd > 0)) throw new ArgumentException($"Init std must be positive: {InitStd}.");
    }

    public override string ToString() => $"[{string.Join(",", Hidden)}] dropout {Dropout} init N(0,{InitStd})";

    // Records compare lists by reference; architectures are compared by value (persistence round trips).
    public bool Equals(FcnnArchitecture? other) =>
        other is not null && Hidden.SequenceEqual(other.Hidden) && Dropout.Equals(other.Dropout) && InitStd.Equals(other.InitStd);

    public override int GetHashCode() => HashCode.Combine(string.Join(",", Hidden), Dropout, InitStd);
}

public enum LearningRateSchedule
{
    /// <summary>The study's: constant for <see cref="TrainingSettings.WarmEpochs"/>, then lr·exp(3·(warm − epoch)/(epochs − warm)).</summary>
    PaperExponential,
    Constant,
}

public enum ComputeDevice
{
    /// <summary>CUDA when libtorch reports it, else CPU.</summary>
    Auto,
    Cpu,
    Cuda,
}

/// <summary>How the first Dense layer consumes the fingerprint (both compute the same function).</summary>
public enum FirstLayerMode
{
    /// <summary>Sparse on CPU (input is ~2% dense); dense on CUDA when the batch is the full fold (one big GEMM wins there).</summary>
    Auto,
    /// <summary>Embedding-bag sum of the kernel rows of the set bits.</summary>
    Sparse,
    /// <summary>A 0/1 float matrix times the kernel.</summary>
    Dense,
}

/// <summary>
/// Optimisation settings. Adam uses the Keras update (epsilon added to √v before bias correction of the step
/// size), because the study trained with Keras and the two formulas differ in early steps.
/// </summary>
public sealed record TrainingSettings(
    int Epochs = 5000,
    int BatchSize = 0,
    double LearningRate = 0.003,
    LearningRateSchedule Schedule = LearningRateSchedule.PaperExponential,
    int WarmEpochs = 500,
    double L2 = 0.003,
    int? Patience = null,
    int Seed = 42,
    ComputeDevice Device = ComputeDevice.Auto,
    FirstLayerMode FirstLayer = FirstLayerMode.Auto,
    double AdamBeta1 = 0.9,
    double AdamBeta2 = 0.999,
    double AdamEpsilon = 1e-7)
{
    /// <summary>The study's protocol: 5000 epochs, batch 30000 (= every training row), lr 0.003, exponential decay after 500.</summary>
    public static TrainingSettings Paper { get; } = new(BatchSize: 30000);

    /// <summary>Learning rate used during 0-based <paramref name="epoch"/> (Keras LearningRateScheduler semantics).</summary>
    public double LearningRateAt(int epoch)
    {
        if (Schedule == LearningRateSchedule.Constant || epoch < WarmEpochs || Epochs <= WarmEpochs) return LearningRate;
        return LearningRate * Math.Exp(3.0 * (WarmEpochs - epoch) / (Epochs - WarmEpochs));
    }

    /// <summary>Rows per step for a fold of <paramref name="rows"/> rows: 0 or ≥ rows means one full batch.</summary>
    public int EffectiveBatchSize(int rows) => BatchSize <= 0 || BatchSize >= rows ? rows : BatchSize;

    public void Validate()
    {
        if (Epochs <= 0) throw new ArgumentException($"Epochs must be positive: {Epochs}.");
        if (BatchSize < 0) throw new ArgumentException($"Batch size must be 0 (full batch) or positive: {BatchSize}.");
        if (!(LearningRate > 0)) throw new ArgumentException($"Learning rate must be positive: {LearningRate}.");
        if (WarmEpochs < 0) throw new ArgumentException($"Warm epochs must be ≥ 0: {WarmEpochs}.");
        if (L2 < 0) throw new ArgumentException($"L2 must be ≥ 0: {L2}.");
        if (Patience is <= 0) throw new ArgumentException($"Patience must be positive or null: {Patience}.");
    }
}

/// <summary>
/// How one k-fold cross-validation of the FCNN runs: folds, fold seed, the network's dropout and
/// initialisation, and the optimiser settings. Profiles hold these; the study's values are <see cref="Paper"/>.
/// </summary>
public sealed record CrossValidationPlan(int Folds, int FoldSeed, double Dropout, double InitStd, TrainingSettings Settings)
{
    /// <summary>The study's 8-fold CV: dropout 0.1, N(0, 0.05) init, Keras-style Adam at 0.003 for 5000 full-batch epochs (its sweep used 2 folds).</summary>
    public static CrossValidationPlan Paper { get; } = new(8, 42, 0.1, 0.05, TrainingSettings.Paper);

    public FcnnArchitecture Architecture(IReadOnlyList<int> hidden) => new(hidden, Dropout, InitStd);
}

/// <summary>One row of the study's Table 1: fingerprint settings and hidden layer sizes.</summary>
public sealed record SweepConfig(int Index, FingerprintSpec Fingerprint, IReadOnlyList<int> Hidden)
{
    public override string ToString() => $"config {Index}: {Fingerprint} [{string.Join(",", Hidden)}]";

    public bool Equals(SweepConfig? other) =>
        other is not null && Index == other.Index && Fingerprint == other.Fingerprint && Hidden.SequenceEqual(other.Hidden);

    public override int GetHashCode() => HashCode.Combine(Index, Fingerprint, string.Join(",", Hidden));
}

/// <summary>
/// The study's Table 1. Configs 0–23 are the full grid enumerated radius-major, then bits, then hidden sizes
/// (index = ((radius − 1)·2 + bitsIndex)·4 + hiddenIndex), so config 2 is radius 1, 1024 bits, [1024,512] (the IE
/// winner). Config 24 is the extra row the study added outside the grid — radius 1, 1024 bits, [512,256] (the EA
/// winner); it is not expressible as a grid point because [512,256] is not one of the four grid shapes.
/// </summary>
public static class Table1
{
    public static IReadOnlyList<int> Radii { get; } = [1, 2, 3];
    public static IReadOnlyList<int> Bits { get; } = [1024, 2048];
    public static IReadOnlyList<IReadOnlyList<int>> HiddenShapes { get; } =
        [[1024, 512, 256], [512, 256, 128], [1024, 512], [1024, 256]];

    public static IReadOnlyList<SweepConfig> Configs { get; } = Build();

    /// <summary>The study's picks, for reproducing its final CV without re-running the sweep.</summary>
    public const int PaperIonizationEnergyConfig = 2;
    public const int PaperElectronAffinityConfig = 24;

    public static SweepConfig Config(int index) =>
        index >= 0 && index < Configs.Count ? Configs[index]
            : throw new ArgumentOutOfRangeException(nameof(index), index, $"Table 1 has configs 0–{Configs.Count - 1}.");

    static List<SweepConfig> Build()
    {
        var configs = new List<SweepConfig>();
        foreach (var radius in Radii)
            foreach (var bits in Bits)
                foreach (var hidden in HiddenShapes)
                    configs.Add(new SweepConfig(configs.Count, new FingerprintSpec(radius, bits), hidden));
        configs.Add(new SweepConfig(configs.Count, new FingerprintSpec(1, 1024), [512, 256]));
        return configs;
    }
}
