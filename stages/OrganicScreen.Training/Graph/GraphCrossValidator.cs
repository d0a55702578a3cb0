using OrganicScreen.Core;

namespace OrganicScreen.Training.Graph;

/// <summary>Progress of a multi-fold graph run: which fold, and that fold's latest epoch.</summary>
public sealed record GraphFoldProgress(string Dataset, int FoldIndex, int FoldCount, GraphEpochMetrics Epoch);

/// <summary>k-fold results: per-fold models and metrics, and out-of-fold predictions (eV) <c>[target][row]</c> for every row.</summary>
public sealed record GraphCrossValidationResult(
    string Dataset,
    IReadOnlyList<string> TargetNames,
    int[] FoldAssignment,
    IReadOnlyList<GraphFoldResult> Folds,
    double[][] OutOfFoldPredictions)
{
    /// <summary>Mean over folds of the best epoch's validation MAE of <paramref name="target"/> (folds without its labels skipped).</summary>
    public double MeanValidationMae(int target) =>
        Folds.Select(f => f.BestValidationMae[target]).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average();

    /// <summary>MAE in eV of the out-of-fold predictions of <paramref name="target"/> over the rows where it has a label.</summary>
    public double OutOfFoldMae(int target, double[,] labels)
    {
        double sum = 0;
        var count = 0;
        for (var r = 0; r < OutOfFoldPredictions[target].Length; r++)
        {
            if (double.IsNaN(labels[r, target])) continue;
            sum += Math.Abs(OutOfFoldPredictions[target][r] - labels[r, target]);
            count++;
        }
        return count == 0 ? double.NaN : sum / count;
    }
}

/// <summary>The D-MPNN's entry to <see cref="CrossValidation"/>: every target at once on molecular graphs.</summary>
public static class GraphCrossValidator
{
    /// <summary>
    /// Shuffled k-fold CV over molecules. The split is <see cref="Folds.Assign"/> with <paramref name="foldSeed"/>, so
    /// for the same rows and seed the D-MPNN and the FCNN validate on the same molecules; folds train one after
    /// the other because each already uses every core.
    /// </summary>
    public static GraphCrossValidationResult Run(
        LabeledGraphs data,
        int k,
        int foldSeed,
        DmpnnArchitecture architecture,
        TrainingSettings settings,
        GraphTrainingOptions? options = null,
        IProgress<GraphFoldProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (k < 2) throw new ArgumentOutOfRangeException(nameof(k), k, "Cross-validation needs at least 2 folds.");
        data.Validate(minimumRows: k);
        options ??= GraphTrainingOptions.Default;
        var (assignment, results, outOfFold) = CrossValidation.Run(data.Rows, data.Targets, k, foldSeed, fold =>
        {
            var foldProgress = progress is null ? null
                : new SynchronousProgress<GraphEpochMetrics>(e => progress.Report(new GraphFoldProgress(data.Dataset, fold.Index, k, e)));
            return GraphFoldTrainer.TrainValidated(data, fold, architecture, settings, options, foldProgress, cancellationToken);
        }, cancellationToken);
        return new GraphCrossValidationResult(data.Dataset, data.TargetNames, assignment, results, outOfFold);
    }

    /// <summary>The same from raw arrays: <paramref name="labels"/> is [molecules, targets] in eV, NaN = missing.</summary>
    public static GraphCrossValidationResult Run(
        MolecularGraphs graphs,
        double[,] labels,
        IReadOnlyList<string> targetNames,
        int k,
        int foldSeed,
        DmpnnArchitecture architecture,
        TrainingSettings settings,
        IProgress<GraphFoldProgress>? progress = null,
        CancellationToken cancellationToken = default,
        string dataset = "graphs") =>
        Run(new LabeledGraphs(dataset, graphs, labels, targetNames), k, foldSeed, architecture, settings, null, progress, cancellationToken);
}
