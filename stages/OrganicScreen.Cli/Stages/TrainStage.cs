using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using OrganicScreen.Core;
using OrganicScreen.Data;
using OrganicScreen.Training;

namespace OrganicScreen.Cli.Stages;

/// <summary>What Train produced for one target: fold summaries, for reports and for Infer.</summary>
/// <param name="Config">Table-1 config (FCNN) or −1 (D-MPNN).</param>
/// <param name="Fingerprint">ECFP setting (FCNN) or "graph" (D-MPNN).</param>
/// <param name="Hidden">Hidden layer sizes (FCNN) or [hidden, depth] (D-MPNN).</param>
public sealed record TrainedTarget(string Target, int Config, string Fingerprint, IReadOnlyList<int> Hidden, IReadOnlyList<TrainedFold> Folds, double OutOfFoldMae, double OutOfFoldR2, int Rows,
    string Model = ModelFamily.Fcnn)
{
    /// <summary>Where fold <paramref name="fold"/>'s model lives inside a Train artifact (and a model folder).</summary>
    public string FoldDirectory(int fold) => (Model == ModelFamily.Dmpnn ? GraphTrainStage.FoldDirectory(fold) : TrainStage.FoldDirectory(Target, fold)).Replace('\\', '/');

    /// <summary>Loads this target's fold models from a folder laid out like the Train artifact.</summary>
    public FoldModelSet LoadFolds(string root, IEnumerable<int> folds) =>
        FoldModelSet.Load(Target, Model, Fingerprint, folds.Select(f => Path.Combine(root, FoldDirectory(f))).ToList());
}

public sealed record TrainedFold(int Fold, int BestEpoch, int EpochsRun, double ValidationMae, int ValidationRows, double Seconds);

/// <summary>
/// Train: k-fold CV (8 in the study) of the sweep's winning config per target. Per target, per fold:
/// the best epoch's model; out-of-fold predictions for every labelled molecule; learning curves.
/// </summary>
public sealed class TrainStage(ArtifactStore store, IStageLog log)
{
    public const string Name = "train";
    public const string Summary = "training.json";
    public const string OutOfFold = "oof.parquet";
    public const string Curves = "curves.parquet";

    public static string FoldDirectory(string target, int fold) => Path.Combine(target, $"fold{fold}");

    public async Task<(Artifact Artifact, IReadOnlyList<TrainedTarget> Targets)> RunAsync(FeatureSet features, Artifact sweep, IReadOnlyList<SweepChoice> choices, TrainingSection section, TorchRuntimeOptions torch, CancellationToken cancellation)
    {
        var request = new StageRequest(Name, CodeVersion.Of(typeof(CrossValidator), 1), section.KeyParameters(),
            new Dictionary<string, string> { [FeaturizeStage.Name] = features.Artifact.Key, [SweepStage.Name] = sweep.Key },
            new Dictionary<string, string> { ["torchsharp"] = ModelTools.TorchSharpVersion, ["dotnet"] = CodeVersion.Runtime });
        var artifact = await store.GetOrBuildAsync(request, async (context, ct) =>
        {
            TorchRuntime.Initialize(torch);
            var molecules = await features.MoleculesAsync();
            var trained = new List<TrainedTarget>();
            var oofRows = new List<OutOfFoldRow>();
            var curveRows = new List<CurveRow>();
            foreach (var choice in choices)
            {
                var target = Target.All.Single(t => t.Name == choice.Target);
                var config = Table1.Config(choice.Config);
                var labels = target.Labels(molecules);
                var name = $"{features.Dataset} {target.Label}";
                var (data, rows) = new LabeledFingerprints(name, await features.FingerprintsAsync(config.Fingerprint), labels).WithoutMissing();
                log.Info($"train {target.Label}: {config}, {section.Folds}-fold CV on {data.Rows:N0} molecules");
                var progress = new SynchronousProgress<FoldProgress>(p =>
                {
                    if (p.Epoch.Epoch % 10 == 0) log.Info($"  {target.Label} fold {p.FoldIndex + 1}/{p.FoldCount} epoch {p.Epoch.Epoch}: validation MAE {p.Epoch.ValidationMae:F3} eV");
                });
                var cv = await Task.Run(() => CrossValidator.Run(data, section.Folds, section.FoldSeed, section.Profile(Name).Architecture(config.Hidden), section.Settings, progress, ct), ct);
                foreach (var fold in cv.Folds)
                {
                    fold.Model.Save(Path.Combine(context.OutputDirectory, FoldDirectory(target.Name, fold.FoldIndex)));
                    curveRows.AddRange(fold.Curve.Select(e => new CurveRow
                    {
                        Target = target.Name, Fold = fold.FoldIndex, Epoch = e.Epoch, LearningRate = e.LearningRate, TrainLoss = e.TrainLoss,
                        ValidationLoss = e.ValidationLoss, TrainMae = e.TrainMae, ValidationMae = e.ValidationMae,
                    }));
                    log.Info($"  {target.Label} fold {fold.FoldIndex + 1}: best epoch {fold.BestEpoch} of {fold.EpochsRun}, validation MAE {fold.BestValidationMae:F3} eV ({fold.Elapsed.TotalSeconds:F0} s)");
                }

                for (var i = 0; i < data.Rows; i++)
                    oofRows.Add(new OutOfFoldRow { Target = target.Name, Index = rows[i], Fold = cv.FoldAssignment[i], Label = data.Labels[i], Prediction = cv.OutOfFoldPredictions[i] });
                var mae = cv.OutOfFoldMae(data.Labels);
                var r2 = Reporting.RegressionMetricsCalculator.Compute(data.Labels, cv.OutOfFoldPredictions).R2;
                log.Info($"train {target.Label}: out-of-fold MAE {mae:F3} eV, R² {r2:F3} ({data.Rows:N0} molecules)");
                trained.Add(new TrainedTarget(target.Name, config.Index, config.Fingerprint.Name, config.Hidden, cv.Folds.Select(f =>
                    new TrainedFold(f.FoldIndex, f.BestEpoch, f.EpochsRun, f.BestValidationMae, f.ValidationRows.Length, Math.Round(f.Elapsed.TotalSeconds, 2))).ToList(), mae, r2, data.Rows));
            }

            await ParquetTable.WriteAsync(Path.Combine(context.OutputDirectory, OutOfFold), oofRows);
            await ParquetTable.WriteAsync(Path.Combine(context.OutputDirectory, Curves), curveRows);
            await File.WriteAllTextAsync(Path.Combine(context.OutputDirectory, Summary), JsonSerializer.Serialize(trained, Json.Options), ct);
            return new JsonObject { ["targets"] = JsonSerializer.SerializeToNode(trained.Select(t => new { t.Target, t.Config, t.OutOfFoldMae, t.OutOfFoldR2 }), Json.Options) };
        }, cancellation);
        var targets = JsonSerializer.Deserialize<List<TrainedTarget>>(await File.ReadAllTextAsync(artifact.PathOf(Summary), cancellation), Json.Options)!;
        foreach (var t in targets)
            log.Info($"train {t.Target.ToUpperInvariant()}: config {t.Config}, out-of-fold MAE {t.OutOfFoldMae.ToString("F3", CultureInfo.InvariantCulture)} eV, R² {t.OutOfFoldR2.ToString("F3", CultureInfo.InvariantCulture)} over {t.Rows:N0} molecules ({t.Folds.Count} folds)");
        return (artifact, targets);
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
