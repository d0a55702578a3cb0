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

    public EnsemblePredictor Ensemble() => new(Folds.Select(f => f.Model).ToList());
}

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
        var assignment = Folds.Assign(data.Rows, k, foldSeed);
        var results = new List<FoldResult>(k);
        var outOfFold = new double[data.Rows];
        Array.Fill(outOfFold, double.NaN);
        foreach (var fold in Folds.Create(assignment, k))
        {
            var foldProgress = progress is null ? null : new SynchronousProgress<EpochMetrics>(e => progress.Report(new FoldProgress(data.Dataset, fold.Index, k, e)));
            var result = FoldTrainer.Train(data, fold, architecture, settings, foldProgress, cancellationToken);
            for (var i = 0; i < result.ValidationRows.Length; i++) outOfFold[result.ValidationRows[i]] = result.ValidationPredictions[i];
            results.Add(result);
        }
        return new CrossValidationResult(data.Dataset, assignment, results, outOfFold);
    }
}

/// <summary>IProgress that reports inline (Progress&lt;T&gt; would post to the thread pool and reorder epochs).</summary>
public sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
