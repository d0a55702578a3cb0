using OrganicScreen.Core;

namespace OrganicScreen.Training;

/// <summary>The fingerprint matrix of every molecule for one <see cref="FingerprintSpec"/> (rows aligned across specs and targets).</summary>
public sealed record FingerprintSet(FingerprintSpec Spec, SparseBitMatrix Matrix);

/// <summary>A target's labels in eV, aligned with the fingerprint rows; NaN marks a molecule without this label.</summary>
public sealed record TargetLabels(string Name, double[] Values);

/// <summary>One (config, target) cell of the sweep.</summary>
public sealed record SweepEntry(SweepConfig Config, string Target, IReadOnlyList<double> FoldMaes, IReadOnlyList<int> BestEpochs, int Rows)
{
    public double MeanMae => FoldMaes.Average();
}

/// <summary>The config with the lowest mean validation MAE for a target.</summary>
public sealed record SweepWinner(string Target, SweepConfig Config, double MeanMae);

public sealed record SweepResult(IReadOnlyList<SweepEntry> Entries, IReadOnlyList<SweepWinner> Winners);

public sealed record SweepProgress(SweepConfig Config, string Target, FoldProgress Fold);

/// <summary>
/// The study's model selection: every Table-1 config × target gets a shuffled 2-fold CV; per target, the
/// config with the lowest mean validation MAE wins. Entries can be produced one at a time
/// (<see cref="RunEntry"/>, for resumable stages) and combined with <see cref="PickWinners"/>.
/// </summary>
public static class Sweep
{
    public static SweepResult Run(
        string dataset,
        IReadOnlyList<FingerprintSet> fingerprints,
        IReadOnlyList<TargetLabels> targets,
        IReadOnlyList<SweepConfig> configs,
        CrossValidationPlan plan,
        IProgress<SweepProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var entries = new List<SweepEntry>();
        foreach (var config in configs)
            foreach (var target in targets)
                entries.Add(RunEntry(dataset, fingerprints, target, config, plan, progress, cancellationToken));
        return new SweepResult(entries, PickWinners(entries));
    }

    /// <summary>
    /// One config for one target. Rows whose label is NaN (molecule not measured for this target) are dropped
    /// here, because the sweep pairs one target with several fingerprint matrices; ±∞ labels are rejected.
    /// </summary>
    public static SweepEntry RunEntry(
        string dataset,
        IReadOnlyList<FingerprintSet> fingerprints,
        TargetLabels target,
        SweepConfig config,
        CrossValidationPlan plan,
        IProgress<SweepProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var set = fingerprints.FirstOrDefault(f => f.Spec == config.Fingerprint)
                  ?? throw new ArgumentException($"{dataset}: no fingerprints for {config.Fingerprint} (needed by {config}).");
        var name = $"{dataset} {target.Name} {config.Fingerprint}";
        if (set.Matrix.Offsets.Length - 1 != target.Values.Length)
            throw new ArgumentException($"{name}: {set.Matrix.Offsets.Length - 1} fingerprint rows but {target.Values.Length} {target.Name} labels.");
        var (data, _) = new LabeledFingerprints(name, set.Matrix, target.Values).WithoutMissing();
        var cvProgress = progress is null ? null : new SynchronousProgress<FoldProgress>(f => progress.Report(new SweepProgress(config, target.Name, f)));
        var cv = CrossValidator.Run(data, plan.Folds, plan.FoldSeed, plan.Architecture(config.Hidden),
            plan.Settings, cvProgress, cancellationToken);
        return new SweepEntry(config, target.Name, cv.Folds.Select(f => f.BestValidationMae).ToList(),
            cv.Folds.Select(f => f.BestEpoch).ToList(), data.Rows);
    }

    /// <summary>Lowest mean MAE per target; ties go to the lower config index.</summary>
    public static IReadOnlyList<SweepWinner> PickWinners(IEnumerable<SweepEntry> entries) =>
        entries.GroupBy(e => e.Target, StringComparer.Ordinal)
            .Select(g => g.OrderBy(e => e.MeanMae).ThenBy(e => e.Config.Index).First())
            .Select(e => new SweepWinner(e.Target, e.Config, e.MeanMae))
            .ToList();
}
