using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using OrganicScreen.Chem;
using OrganicScreen.Core;
using OrganicScreen.Data;
using OrganicScreen.Training;
using OrganicScreen.Training.Graph;

namespace OrganicScreen.Stages;

/// <summary>What a trained target's models are, by family: no sentinel values, the family is the type.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "family")]
[JsonDerivedType(typeof(FcnnModel), "fcnn")]
[JsonDerivedType(typeof(DmpnnModel), "dmpnn")]
public abstract record TrainedModel
{
    [JsonIgnore]
    public abstract ModelFamily Family { get; }

    /// <summary>One line for reports and logs.</summary>
    [JsonIgnore]
    public abstract string Summary { get; }
}

/// <summary>The study's FCNN: the sweep's winning Table-1 config for this target.</summary>
public sealed record FcnnModel(int Config, string Fingerprint, IReadOnlyList<int> Hidden) : TrainedModel
{
    [JsonIgnore]
    public override ModelFamily Family => ModelFamily.Fcnn;

    [JsonIgnore]
    public override string Summary => $"FCNN, Table-1 config {Config} ({Fingerprint}, hidden [{string.Join(", ", Hidden)}])";
}

/// <summary>The D-MPNN, trained multi-task on every target at once, plus any <paramref name="Auxiliary"/> targets (learned, not screened).</summary>
public sealed record DmpnnModel(DmpnnArchitecture Architecture, IReadOnlyList<string>? Auxiliary = null) : TrainedModel
{
    [JsonIgnore]
    public override ModelFamily Family => ModelFamily.Dmpnn;

    [JsonIgnore]
    public override string Summary => Auxiliary is { Count: > 0 } auxiliary
        ? $"D-MPNN on RDKit graphs ({Architecture}), auxiliary targets {string.Join(", ", auxiliary)}"
        : $"D-MPNN on RDKit graphs ({Architecture})";
}

/// <summary>The auxiliary targets a run learns (resolved from the profile's groups against the dataset), and what was skipped and why.</summary>
public sealed record AuxiliarySelection(IReadOnlyList<string> Targets, IReadOnlyList<string> Skipped)
{
    public static AuxiliarySelection None { get; } = new([], []);
}

/// <summary>What Train produced for one target: its models (in <see cref="ModelFolder"/>), fold summaries and out-of-fold scores.</summary>
/// <param name="ModelFolder">Folder of the fold models inside the Train artifact and the shipped model folder (one per FCNN target; shared by the D-MPNN's targets).</param>
public sealed record TrainedTarget(string Target, TrainedModel Model, string ModelFolder, IReadOnlyList<TrainedFold> Folds, double OutOfFoldMae, double OutOfFoldR2, int Rows)
{
    public string FoldDirectory(int fold) => $"{ModelFolder}/fold{fold}";
}

public sealed record TrainedFold(int Fold, int BestEpoch, int EpochsRun, double ValidationMae, int ValidationRows, double Seconds);

/// <summary>
/// Train: k-fold CV of the profile's model. The FCNN trains one network per target on the sweep's winning
/// config; the D-MPNN one multi-task network per fold (missing labels masked). Both go through the one
/// cross-validation loop and save through the one fold-model contract, and both write the same tables:
/// fold models, out-of-fold predictions (oof.parquet), learning curves (curves.parquet), training.json.
/// </summary>
public sealed class TrainStage(ArtifactStore store, IStageLog log)
{
    public const string Name = "train";
    public const string Summary = "training.json";
    public const string OutOfFold = "oof.parquet";
    public const string Curves = "curves.parquet";
    public const string GraphFolder = "dmpnn";

    public static StageRequest Request(ModelFamily model, TrainSection section, string featurizeKey, string? sweepKey, CodeLocation code, string rdkitVersion)
    {
        var inputs = new Dictionary<string, string> { [FeaturizeStage.Name] = featurizeKey };
        if (sweepKey is not null) inputs[SweepStage.Name] = sweepKey;
        var tools = new Dictionary<string, string> { ["torchsharp"] = ModelTools.TorchSharpVersion, ["dotnet"] = CodeVersion.Runtime };
        if (model == ModelFamily.Dmpnn) tools["rdkit"] = rdkitVersion;
        return new StageRequest(Name, code.Identity(typeof(TrainStage).Assembly.GetName().Name!),
            new JsonObject { ["model"] = model.ToString(), ["train"] = section.KeyParameters() }, inputs, tools);
    }

    public async Task<(Artifact Artifact, IReadOnlyList<TrainedTarget> Targets)> RunAsync(StageRequest request, ModelFamily model, FeatureSet features,
        IReadOnlyList<SweepChoice> choices, Rdkit rdkit, TrainSection section, TorchRuntimeOptions torch, CancellationToken cancellation,
        AuxiliarySelection? auxiliary = null)
    {
        auxiliary ??= AuxiliarySelection.None;
        foreach (var note in auxiliary.Skipped) log.Info($"train: skipped {note}");
        var artifact = await store.GetOrBuildAsync(request, async (context, ct) =>
        {
            TorchRuntime.Initialize(torch);
            var molecules = await features.MoleculesAsync();
            var outcome = model == ModelFamily.Dmpnn
                ? await TrainGraphsAsync(features, molecules, rdkit, section, auxiliary.Targets, context.OutputDirectory, ct)
                : await TrainFingerprintsAsync(features, molecules, choices, section, context.OutputDirectory, ct);
            await ParquetTable.WriteAsync(Path.Combine(context.OutputDirectory, OutOfFold), outcome.OutOfFold);
            await ParquetTable.WriteAsync(Path.Combine(context.OutputDirectory, Curves), outcome.Curves);
            await File.WriteAllTextAsync(Path.Combine(context.OutputDirectory, Summary), JsonSerializer.Serialize(outcome.Targets, Json.Options), ct);
            return new JsonObject { ["targets"] = JsonSerializer.SerializeToNode(outcome.Targets.Select(t => new { t.Target, t.OutOfFoldMae, t.OutOfFoldR2 }), Json.Options) };
        }, cancellation);
        var targets = await ReadTargetsAsync(artifact, cancellation);
        foreach (var t in targets)
            log.Info(string.Create(CultureInfo.InvariantCulture, $"train {t.Target.ToUpperInvariant()} ({t.Model.Summary}): out-of-fold MAE {t.OutOfFoldMae:F3} eV, R² {t.OutOfFoldR2:F3} over {t.Rows:N0} molecules ({t.Folds.Count} folds)"));
        return (artifact, targets);
    }

    public static async Task<IReadOnlyList<TrainedTarget>> ReadTargetsAsync(Artifact train, CancellationToken cancellation = default) =>
        JsonSerializer.Deserialize<List<TrainedTarget>>(await File.ReadAllTextAsync(train.PathOf(Summary), cancellation), Json.Options)!;

    private sealed record Outcome(List<TrainedTarget> Targets, List<OutOfFoldRow> OutOfFold, List<CurveRow> Curves);

    private async Task<Outcome> TrainFingerprintsAsync(FeatureSet features, IReadOnlyList<Molecule> molecules, IReadOnlyList<SweepChoice> choices, TrainSection section, string output, CancellationToken ct)
    {
        var outcome = new Outcome([], [], []);
        foreach (var choice in choices)
        {
            var target = Target.Named(choice.Target);
            var config = Table1.Config(choice.Config);
            var (data, rows) = new LabeledFingerprints($"{features.Dataset} {target.Label}", await features.FingerprintsAsync(config.Fingerprint), target.Labels(molecules)).WithoutMissing();
            log.Info($"train {target.Label}: {config}, {section.Folds}-fold CV on {data.Rows:N0} molecules");
            var progress = new SynchronousProgress<FoldProgress>(p =>
            {
                if (p.Epoch.Epoch % 10 == 0) log.Info($"  {target.Label} fold {p.FoldIndex + 1}/{p.FoldCount} epoch {p.Epoch.Epoch}: validation MAE {p.Epoch.ValidationMae:F3} eV");
            });
            var cv = await Task.Run(() => CrossValidator.Run(data, section.Folds, section.FoldSeed, section.Plan.Architecture(config.Hidden), section.Settings, progress, ct), ct);
            var model = new FcnnModel(config.Index, config.Fingerprint.Name, config.Hidden);
            var trained = new TrainedTarget(target.Name, model, target.Name, [], 0, 0, data.Rows);
            foreach (var fold in cv.Folds)
            {
                FoldModels.Save(new FingerprintFoldModel(fold.Model, config.Fingerprint, target.Name), Path.Combine(output, trained.FoldDirectory(fold.FoldIndex)));
                outcome.Curves.AddRange(fold.Curve.Select(e => new CurveRow
                {
                    Target = target.Name, Fold = fold.FoldIndex, Epoch = e.Epoch, LearningRate = e.LearningRate, TrainLoss = e.TrainLoss,
                    ValidationLoss = e.ValidationLoss, TrainMae = e.TrainMae, ValidationMae = e.ValidationMae,
                }));
                log.Info($"  {target.Label} fold {fold.FoldIndex + 1}: best epoch {fold.BestEpoch} of {fold.EpochsRun}, validation MAE {fold.BestValidationMae:F3} eV ({fold.Elapsed.TotalSeconds:F0} s)");
            }

            for (var i = 0; i < data.Rows; i++)
                outcome.OutOfFold.Add(new OutOfFoldRow { Target = target.Name, Index = rows[i], Fold = cv.FoldAssignment[i], Label = data.Labels[i], Prediction = cv.OutOfFoldPredictions[i] });
            var metrics = RegressionMetricsCalculator.Compute(data.Labels, cv.OutOfFoldPredictions);
            outcome.Targets.Add(trained with
            {
                Folds = cv.Folds.Select(f => new TrainedFold(f.FoldIndex, f.BestEpoch, f.EpochsRun, f.BestValidationMae, f.ValidationRows.Length, Math.Round(f.Elapsed.TotalSeconds, 2))).ToList(),
                OutOfFoldMae = metrics.Mae, OutOfFoldR2 = metrics.R2,
            });
        }

        return outcome;
    }

    private async Task<Outcome> TrainGraphsAsync(FeatureSet features, IReadOnlyList<Molecule> molecules, Rdkit rdkit, TrainSection section,
        IReadOnlyList<string> auxiliary, string output, CancellationToken ct)
    {
        var architecture = section.Dmpnn!;
        var graphs = MoleculeGraphs.Build(rdkit, molecules, features.Dataset);
        var targets = Target.All;
        var unlabelled = auxiliary.Where(a => molecules.All(m => m.Auxiliary?.ContainsKey(a) != true)).ToList();
        foreach (var a in unlabelled) log.Info($"train: skipped auxiliary '{a}': no molecule of {features.Dataset} has a value");
        auxiliary = auxiliary.Except(unlabelled).ToList();
        // Auxiliary columns follow IE and EA: the primary targets keep indices 0 and 1 whatever else is learned.
        var names = targets.Select(t => t.Name).Concat(auxiliary).ToList();
        var columns = targets.Select(t => t.Labels(molecules))
            .Concat(auxiliary.Select(a => molecules.Select(m => m.Auxiliary is { } values && values.TryGetValue(a, out var v) ? v : double.NaN).ToArray()))
            .ToArray();
        var data = LabeledGraphs.FromColumns($"{features.Dataset} graphs", graphs, names, columns);
        var auxiliaryNote = auxiliary.Count == 0 ? "" : $", auxiliary {string.Join(", ", auxiliary.Select((a, i) => $"{a} ({columns[targets.Count + i].Count(double.IsFinite):N0} labels)"))} at weight {section.AuxiliaryWeight ?? 1.0}";
        log.Info($"train D-MPNN ({architecture}): {section.Folds}-fold CV on {data.Rows:N0} molecules, targets {string.Join(", ", targets.Select(t => t.Label))}{auxiliaryNote}");
        var progress = new SynchronousProgress<GraphFoldProgress>(p =>
            log.Info($"  fold {p.FoldIndex + 1}/{p.FoldCount} epoch {p.Epoch.Epoch}: validation MAE {string.Join(", ", targets.Select((t, i) => $"{t.Label} {p.Epoch.ValidationMae[i]:F3}"))} eV"));
        var options = new GraphTrainingOptions(section.Scaling ?? TargetScaling.Standard, Auxiliary: auxiliary, AuxiliaryWeight: section.AuxiliaryWeight ?? 1.0);
        var cv = await Task.Run(() => GraphCrossValidator.Run(data, section.Folds, section.FoldSeed, architecture, section.Settings, options, progress, ct), ct);

        var outcome = new Outcome([], [], []);
        var model = new DmpnnModel(architecture, auxiliary.Count == 0 ? null : auxiliary);
        foreach (var fold in cv.Folds)
        {
            FoldModels.Save(fold.Model, Path.Combine(output, GraphFolder, $"fold{fold.FoldIndex}"));
            for (var t = 0; t < targets.Count; t++)
                outcome.Curves.AddRange(fold.Curve.Select(e => new CurveRow
                {
                    Target = targets[t].Name, Fold = fold.FoldIndex, Epoch = e.Epoch, LearningRate = e.LearningRate, TrainLoss = e.TrainLoss,
                    ValidationLoss = e.ValidationLoss, TrainMae = e.TrainMae[t], ValidationMae = e.ValidationMae[t],
                }));
        }

        for (var t = 0; t < targets.Count; t++)
        {
            var labelled = Enumerable.Range(0, data.Rows).Where(r => !double.IsNaN(data.Labels[r, t])).ToList();
            if (labelled.Count == 0) continue;
            outcome.OutOfFold.AddRange(labelled.Select(r => new OutOfFoldRow
            {
                Target = targets[t].Name, Index = r, Fold = cv.FoldAssignment[r], Label = data.Labels[r, t], Prediction = cv.OutOfFoldPredictions[t][r],
            }));
            var metrics = RegressionMetricsCalculator.Compute(labelled.Select(r => data.Labels[r, t]).ToList(), labelled.Select(r => cv.OutOfFoldPredictions[t][r]).ToList());
            outcome.Targets.Add(new TrainedTarget(targets[t].Name, model, GraphFolder, cv.Folds.Select(f =>
                new TrainedFold(f.FoldIndex, f.BestEpoch, f.EpochsRun, f.BestValidationMae[t], f.ValidationRows.Count(r => !double.IsNaN(data.Labels[r, t])),
                    Math.Round(f.Elapsed.TotalSeconds, 2))).ToList(), metrics.Mae, metrics.R2, labelled.Count));
        }

        return outcome;
    }

    public static async Task<IReadOnlyList<OutOfFoldRow>> ReadOutOfFoldAsync(Artifact train) => (await ParquetTable.ReadAsync<OutOfFoldRow>(train.PathOf(OutOfFold))).ToList();

    public static async Task<IReadOnlyList<CurveRow>> ReadCurvesAsync(Artifact train) => (await ParquetTable.ReadAsync<CurveRow>(train.PathOf(Curves))).ToList();

    public sealed class OutOfFoldRow
    {
        [JsonPropertyName("target")] public string Target { get; set; } = "";
        [JsonPropertyName("index")] public int Index { get; set; }
        [JsonPropertyName("fold")] public int Fold { get; set; }
        [JsonPropertyName("label_ev")] public double Label { get; set; }
        [JsonPropertyName("oof_prediction_ev")] public double Prediction { get; set; }
    }

    public sealed class CurveRow
    {
        [JsonPropertyName("target")] public string Target { get; set; } = "";
        [JsonPropertyName("fold")] public int Fold { get; set; }
        [JsonPropertyName("epoch")] public int Epoch { get; set; }
        [JsonPropertyName("learning_rate")] public double LearningRate { get; set; }
        [JsonPropertyName("train_loss")] public double TrainLoss { get; set; }
        [JsonPropertyName("validation_loss")] public double ValidationLoss { get; set; }
        [JsonPropertyName("train_mae_ev")] public double TrainMae { get; set; }
        [JsonPropertyName("validation_mae_ev")] public double ValidationMae { get; set; }
    }
}

/// <summary>Molecular graphs of a feature set's molecules, built on the fly from RDKit (≈ seconds for 20k molecules).</summary>
public static class MoleculeGraphs
{
    public static MolecularGraphs Build(Rdkit rdkit, IReadOnlyList<Molecule> molecules, string dataset)
    {
        var batch = rdkit.Graphs(molecules.Select(m => m.InputSmiles).ToList());
        var invalid = batch.Molecules.Count(m => !m.IsValid);
        if (invalid > 0)
            throw new DatasetException($"{dataset}: {invalid} molecules that passed Featurize gave no RDKit graph (first: {batch.Molecules.First(m => !m.IsValid).Error})");
        return batch.Graphs;
    }
}
