namespace OrganicScreen.Training;

/// <summary>Progress of a multi-fold run: which fold, and that fold's latest epoch.</summary>
public sealed record FoldProgress(string Dataset, int FoldIndex, int FoldCount, EpochMetrics Epoch);

/// <summary>k-fold results: per-fold models and metrics, and an out-of-fold prediction (eV) for every row.</summary>
public sealed record CrossValidationResult(
    string Dataset,
    int[] FoldAssignment,
    IReadOnlyList<FoldResult> Folds,
    double[] OutOfFoldPredictions)
{
    public double MeanValidationMae => Folds.Average(f => f.BestValidationMae);

    /// <summary>MAE of the out-of-fold predictions over all rows, in eV.</summary>
    public double OutOfFoldMae(IReadOnlyList<double> labels) =>
        OutOfFoldPredictions.Select((p, i) => Math.Abs(p - labels[i])).Average();
}

/// <summary>A trained fold of any family, as the one cross-validation loop sees it.</summary>
public interface IFoldOutcome
{
    int FoldIndex { get; }

    int[] ValidationRows { get; }

    /// <summary>Validation predictions in eV, <c>[target][i]</c> aligned with <see cref="ValidationRows"/>.</summary>
    double[][] ValidationPredictionsByTarget { get; }
}

/// <summary>
/// The one k-fold loop every model family runs through: shuffled fold assignment (<see cref="Folds.Assign"/>,
/// so families with the same seed validate on the same molecules), folds trained one after the other (each
/// already uses every core), and out-of-fold predictions assembled per target.
/// </summary>
public static class CrossValidation
{
    public static (int[] Assignment, IReadOnlyList<TFold> Folds, double[][] OutOfFold) Run<TFold>(
        int rows, int targets, int k, int foldSeed, Func<Fold, TFold> trainFold, CancellationToken cancellationToken)
        where TFold : IFoldOutcome
    {
        if (k < 2) throw new ArgumentOutOfRangeException(nameof(k), k, "Cross-validation needs at least 2 folds.");
        var assignment = Folds.Assign(rows, k, foldSeed);
        var results = new List<TFold>(k);
        var outOfFold = Enumerable.Range(0, targets).Select(_ => Enumerable.Repeat(double.NaN, rows).ToArray()).ToArray();
        foreach (var fold in Folds.Create(assignment, k))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = trainFold(fold);
            for (var t = 0; t < targets; t++)
                for (var i = 0; i < result.ValidationRows.Length; i++)
                    outOfFold[t][result.ValidationRows[i]] = result.ValidationPredictionsByTarget[t][i];
            results.Add(result);
        }

        return (assignment, results, outOfFold);
    }
}

/// <summary>The FCNN's entry to <see cref="CrossValidation"/>: one target on fingerprints.</summary>
public static class CrossValidator
{
    /// <summary>
    /// Shuffled k-fold CV (<see cref="Folds.Assign"/> with <paramref name="foldSeed"/>); folds train one after the
    /// other because each already uses every core.
    /// </summary>
    public static CrossValidationResult Run(
        LabeledFingerprints data,
        int k,
        int foldSeed,
        FcnnArchitecture architecture,
        TrainingSettings settings,
        IProgress<FoldProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        data.Validate(minimumRows: Math.Max(k, 2));
        var (assignment, results, outOfFold) = CrossValidation.Run(data.Rows, 1, k, foldSeed, fold =>
        {
            var foldProgress = progress is null ? null : new SynchronousProgress<EpochMetrics>(e => progress.Report(new FoldProgress(data.Dataset, fold.Index, k, e)));
            return FoldTrainer.Train(data, fold, architecture, settings, foldProgress, cancellationToken);
        }, cancellationToken);
        return new CrossValidationResult(data.Dataset, assignment, results, outOfFold[0]);
    }
}

/// <summary>IProgress that reports inline (Progress&lt;T&gt; would post to the thread pool and reorder epochs).</summary>
public sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
