using System.Text.Json;
using System.Text.Json.Serialization;
using OrganicScreen.Core;
using OrganicScreen.Data;
using OrganicScreen.Reporting;
using OrganicScreen.Screening;
using OrganicScreen.Training;

namespace OrganicScreen.Cli.Stages;

/// <summary>Per target: how accurate, which final model, and the calibrated interval.</summary>
public sealed record TargetMetrics(
    string Target,
    int Config,
    string Fingerprint,
    string FinalModel,
    int BestFold,
    RegressionMetrics OutOfFold,
    RegressionMetrics BestFoldOnDataset,
    RegressionMetrics EnsembleOnDataset,
    double BestFoldValidationMae,
    Calibration Calibration,
    Calibration GlobalBand,
    CoverageReport CoverageInSample,
    CoverageReport CoverageFoldHeldOut);

/// <summary>
/// Infer: out-of-fold metrics (honest), the study's final-model metrics over the whole dataset
/// (best fold, and the 8-fold ensemble), a split-conformal 95 % interval from out-of-fold residuals,
/// and predictions with intervals for every molecule.
/// </summary>
public sealed class InferStage(ArtifactStore store, Chem.Rdkit rdkit, IStageLog log)
{
    public const string Name = "infer";
    public const string Metrics = "metrics.json";
    public const string Predictions = "predictions.parquet";
    public const double Alpha = 0.05;

    public static string CalibrationFile(string target) => $"calibration_{target}.json";

    /// <summary>The study's global z·σ band, kept as an alternative margin.</summary>
    public static string GlobalCalibrationFile(string target) => $"calibration_{target}_global.json";

    public async Task<(Artifact Artifact, IReadOnlyList<TargetMetrics> Metrics)> RunAsync(FeatureSet features, Artifact train, IReadOnlyList<TrainedTarget> trained, TorchRuntimeOptions torch, CancellationToken cancellation)
    {
        var request = new StageRequest(Name, CodeVersion.Of(typeof(InferStage), 1), new System.Text.Json.Nodes.JsonObject { ["alpha"] = Alpha, ["interval"] = "split-conformal" },
            new Dictionary<string, string> { [FeaturizeStage.Name] = features.Artifact.Key, [TrainStage.Name] = train.Key },
            new Dictionary<string, string> { ["torchsharp"] = ModelTools.TorchSharpVersion, ["rdkit"] = rdkit.Version, ["dotnet"] = CodeVersion.Runtime });
        var artifact = await store.GetOrBuildAsync(request, async (context, ct) =>
        {
            TorchRuntime.Initialize(torch);
            var molecules = await features.MoleculesAsync();
            var oof = await TrainStage.ReadOutOfFoldAsync(train);
            // The first input SMILES of each molecule: the same string its fingerprints and graphs came from.
            var inputs = new MoleculeInputs(rdkit, molecules.Select(m => m.InputSmiles).ToList());
            var rows = molecules.Select(m => new PredictionRow { Index = m.Index, Id = m.Id, CanonicalSmiles = m.CanonicalSmiles }).ToList();
            var metrics = new List<TargetMetrics>();
            foreach (var t in trained)
            {
                var target = Target.All.Single(x => x.Name == t.Target);
                var perFold = t.LoadFolds(train.Directory, t.Folds.Select(f => f.Fold)).Predict(inputs);
                var ensemble = FoldModelSet.Ensemble(perFold);
                var best = t.Folds.OrderBy(f => f.ValidationMae).ThenBy(f => f.Fold).First();
                var bestPrediction = perFold[t.Folds.ToList().IndexOf(best)];

                var mine = oof.Where(r => r.Target == t.Target).ToList();
                var outOfFold = RegressionMetricsCalculator.Compute(mine.Select(r => r.Label).ToList(), mine.Select(r => r.Prediction).ToList());
                var labelled = mine.Select(r => r.Index).ToList();
                var labels = mine.Select(r => r.Label).ToList();
                var bestOnData = RegressionMetricsCalculator.Compute(labels, labelled.Select(i => bestPrediction[i]).ToList());
                var ensembleOnData = RegressionMetricsCalculator.Compute(labels, labelled.Select(i => ensemble.Mean[i]).ToList());
                // The study kept its best fold; the ensemble's honest error is the out-of-fold MAE (each molecule
                // predicted by the member that did not see it). Pick whichever scores better out of fold.
                var finalModel = outOfFold.Mae <= best.ValidationMae ? "ensemble" : $"fold{best.Fold}";
                var final = finalModel == "ensemble" ? ensemble.Mean : bestPrediction;

                var calibrationData = mine.Select(r => new OutOfFoldPrediction(r.Label, r.Prediction)).ToList();
                var calibration = Calibration.FitSplitConformal(calibrationData, Alpha);
                var inSample = calibration.EmpiricalCoverage(calibrationData);
                var heldOut = FoldHeldOutCoverage(mine);
                var globalBand = Calibration.FitGlobalGaussian(calibrationData, Alpha);
                metrics.Add(new TargetMetrics(t.Target, t.Config, t.Fingerprint, finalModel, best.Fold, outOfFold, bestOnData, ensembleOnData, best.ValidationMae, calibration, globalBand, inSample, heldOut));
                await File.WriteAllTextAsync(Path.Combine(context.OutputDirectory, CalibrationFile(t.Target)), calibration.ToJson(), ct);
                await File.WriteAllTextAsync(Path.Combine(context.OutputDirectory, GlobalCalibrationFile(t.Target)), globalBand.ToJson(), ct);
                log.Info($"infer {target.Label}: out-of-fold MAE {outOfFold.Mae:F3} eV, R² {outOfFold.R2:F3}, RMSE {outOfFold.Rmse:F3}, σ {outOfFold.Sigma:F3} (n {outOfFold.Count:N0}); final model {finalModel}; 95 % interval ±{calibration.Q:F3} eV, coverage {inSample.Coverage:P1} in sample, {heldOut.Coverage:P1} fold-held-out");

                var oofByIndex = mine.ToDictionary(r => r.Index, r => r.Prediction);
                foreach (var row in rows)
                {
                    var interval = calibration.Apply(final[row.Index]);
                    var dft = target.Of(molecules[row.Index]);
                    double? oofValue = oofByIndex.TryGetValue(row.Index, out var v) ? v : null;
                    row.Set(t.Target, dft, oofValue, interval, ensemble.StandardDeviation[row.Index]);
                }
            }

            await ParquetTable.WriteAsync(Path.Combine(context.OutputDirectory, Predictions), rows);
            await File.WriteAllTextAsync(Path.Combine(context.OutputDirectory, Metrics), JsonSerializer.Serialize(metrics, Json.Options), ct);
            return JsonSerializer.SerializeToNode(metrics.Select(m => new { m.Target, m.FinalModel, OutOfFoldMae = m.OutOfFold.Mae, OutOfFoldR2 = m.OutOfFold.R2, Coverage = m.CoverageFoldHeldOut.Coverage }), Json.Options);
        }, cancellation);
        var result = JsonSerializer.Deserialize<List<TargetMetrics>>(await File.ReadAllTextAsync(artifact.PathOf(Metrics), cancellation), Json.Options)!;
        if (artifact.FromCache)
            foreach (var m in result)
                log.Info($"infer {m.Target.ToUpperInvariant()}: out-of-fold MAE {m.OutOfFold.Mae:F3} eV, R² {m.OutOfFold.R2:F3}; 95 % interval ±{m.Calibration.Q:F3} eV, coverage {m.CoverageFoldHeldOut.Coverage:P1}");
        return (artifact, result);
    }

    /// <summary>
    /// Coverage where no molecule helps set its own interval: the quantile is fitted on the other
    /// folds' residuals and applied to this fold's, then pooled over folds.
    /// </summary>
    private static CoverageReport FoldHeldOutCoverage(IReadOnlyList<TrainStage.OutOfFoldRow> rows)
    {
        var reports = rows.GroupBy(r => r.Fold).Select(fold =>
        {
            var others = rows.Where(r => r.Fold != fold.Key).Select(r => new OutOfFoldPrediction(r.Label, r.Prediction)).ToList();
            return Calibration.FitSplitConformal(others, Alpha).EmpiricalCoverage(fold.Select(r => new OutOfFoldPrediction(r.Label, r.Prediction)));
        }).ToList();
        var count = reports.Sum(r => r.Count);
        var covered = reports.Sum(r => r.Covered);
        return new CoverageReport(count, covered, (double)covered / count, reports.Sum(r => r.MeanHalfWidth * r.Count) / count, reports.Select(r => r.MedianHalfWidth).Order().ElementAt(reports.Count / 2));
    }

    public static async Task<IReadOnlyList<PredictionRow>> ReadPredictionsAsync(string path) => (await ParquetTable.ReadAsync<PredictionRow>(path)).ToList();

    /// <summary>One molecule's predictions (eV; EA in the Materials Project sign). Documented in README "Artifacts".</summary>
    public sealed class PredictionRow
    {
        [JsonPropertyName("index")] public int Index { get; set; }
        [JsonPropertyName("id")] public string Id { get; set; } = "";
        [JsonPropertyName("canonical_smiles")] public string CanonicalSmiles { get; set; } = "";
        [JsonPropertyName("ie_dft_ev")] public double? IeDft { get; set; }
        [JsonPropertyName("ie_oof_ev")] public double? IeOof { get; set; }
        [JsonPropertyName("ie_pred_ev")] public double? IePred { get; set; }
        [JsonPropertyName("ie_lo_ev")] public double? IeLo { get; set; }
        [JsonPropertyName("ie_hi_ev")] public double? IeHi { get; set; }
        [JsonPropertyName("ie_spread_ev")] public double? IeSpread { get; set; }
        [JsonPropertyName("ea_dft_ev")] public double? EaDft { get; set; }
        [JsonPropertyName("ea_oof_ev")] public double? EaOof { get; set; }
        [JsonPropertyName("ea_pred_ev")] public double? EaPred { get; set; }
        [JsonPropertyName("ea_lo_ev")] public double? EaLo { get; set; }
        [JsonPropertyName("ea_hi_ev")] public double? EaHi { get; set; }
        [JsonPropertyName("ea_spread_ev")] public double? EaSpread { get; set; }

        public void Set(string target, double? dft, double? oof, PredictionInterval interval, double spread)
        {
            if (target == "ie") (IeDft, IeOof, IePred, IeLo, IeHi, IeSpread) = (dft, oof, interval.Predicted, interval.Lower, interval.Upper, spread);
            else (EaDft, EaOof, EaPred, EaLo, EaHi, EaSpread) = (dft, oof, interval.Predicted, interval.Lower, interval.Upper, spread);
        }

        public PredictionInterval? Interval(string target) => target == "ie"
            ? IePred is { } p ? new PredictionInterval(p, IeLo!.Value, IeHi!.Value) : null
            : EaPred is { } q ? new PredictionInterval(q, EaLo!.Value, EaHi!.Value) : null;
    }
}
