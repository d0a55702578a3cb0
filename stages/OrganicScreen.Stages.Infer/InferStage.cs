using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using OrganicScreen.Chem;
using OrganicScreen.Core;
using OrganicScreen.Data;
using OrganicScreen.Screening;
using OrganicScreen.Training;

namespace OrganicScreen.Stages;

/// <summary>Per target: how accurate, which model ships, and its calibrated interval.</summary>
/// <param name="FinalModel">"ensemble" (the k fold models averaged) or "fold&lt;k&gt;" (the study's best fold).</param>
/// <param name="Calibration">The shipped interval rule (the profile's <c>intervals</c>: AdaptiveConformal or the fixed width).</param>
/// <param name="CoverageInSample">The shipped rule on the residuals it was fitted on; its mean half-width is the mean shipped width.</param>
/// <param name="CoverageFoldHeldOut">Coverage of the shipped method's member-level intervals fitted on the other folds' out-of-fold residuals, per fold, pooled.</param>
/// <param name="FixedCalibration">The fixed-width rule (EnsembleConformal, or SplitConformal for the best fold), shipped or not, for comparison.</param>
/// <param name="Intervals">Adaptive against fixed: the shipped widths over the dataset, and the fold-held-out evaluation with coverage per decile.</param>
public sealed record TargetMetrics(
    string Target,
    TrainedModel Model,
    string FinalModel,
    int BestFold,
    RegressionMetrics OutOfFold,
    RegressionMetrics BestFoldOnDataset,
    RegressionMetrics EnsembleOnDataset,
    double BestFoldValidationMae,
    Calibration Calibration,
    Calibration GlobalBand,
    CoverageReport CoverageInSample,
    CoverageReport CoverageFoldHeldOut,
    Calibration FixedCalibration,
    IntervalComparison Intervals);

/// <summary>
/// Infer: out-of-fold metrics (honest), the study's final-model metrics over the whole dataset (best fold,
/// and the k-fold ensemble), the shipped model's calibrated 95 % interval, and predictions with intervals
/// for every molecule. The shipped model is the ensemble unless the profile keeps the study's best fold.
/// </summary>
public sealed class InferStage(ArtifactStore store, Rdkit rdkit, IStageLog log)
{
    public const string Name = "infer";
    public const string Metrics = "metrics.json";
    public const string Predictions = "predictions.parquet";
    public const double Alpha = 0.05;

    public static string CalibrationFile(string target) => $"calibration_{target}.json";

    /// <summary>The study's global z·σ band, kept as an alternative margin.</summary>
    public static string GlobalCalibrationFile(string target) => $"calibration_{target}_global.json";

    public static StageRequest Request(FinalModelPolicy policy, IntervalPolicy intervals, string featurizeKey, string trainKey, CodeLocation code, string rdkitVersion) =>
        new(Name, code.Identity(typeof(InferStage).Assembly.GetName().Name!),
            new JsonObject { ["alpha"] = Alpha, ["finalModel"] = policy.ToString(), ["intervals"] = intervals.ToString() },
            new Dictionary<string, string> { [FeaturizeStage.Name] = featurizeKey, [TrainStage.Name] = trainKey },
            new Dictionary<string, string> { ["torchsharp"] = ModelTools.TorchSharpVersion, ["rdkit"] = rdkitVersion, ["dotnet"] = CodeVersion.Runtime });

    public async Task<(Artifact Artifact, IReadOnlyList<TargetMetrics> Metrics)> RunAsync(StageRequest request, FinalModelPolicy policy, IntervalPolicy intervals, FeatureSet features, Artifact train,
        IReadOnlyList<TrainedTarget> trained, TorchRuntimeOptions torch, CancellationToken cancellation)
    {
        var artifact = await store.GetOrBuildAsync(request, async (context, ct) =>
        {
            TorchRuntime.Initialize(torch);
            var molecules = await features.MoleculesAsync();
            var oof = await TrainStage.ReadOutOfFoldAsync(train);
            // The first input SMILES of each molecule: the same string its fingerprints and graphs came from.
            var inputs = new MoleculeInputs(rdkit, molecules.Select(m => m.InputSmiles).ToList());
            var rows = molecules.Select(m => new PredictionRow { Index = m.Index, Id = m.Id, CanonicalSmiles = m.CanonicalSmiles }).ToList();
            var metrics = new List<TargetMetrics>();
            var smiles = molecules.Select(m => m.CanonicalSmiles).ToList();
            var similarity = MoleculeDifficulty.Index(rdkit, smiles, ct);
            // Members' predictions per model folder: the D-MPNN's targets share one set of fold models.
            var members = new Dictionary<string, (Ensemble Ensemble, double[][][] Predictions)>();
            foreach (var t in trained)
            {
                ct.ThrowIfCancellationRequested();
                var target = Target.Named(t.Target);
                if (!members.TryGetValue(t.ModelFolder, out var group))
                {
                    var ensemble = Ensemble.Load(t.Folds.Select(f => Path.Combine(train.Directory, t.FoldDirectory(f.Fold))));
                    members[t.ModelFolder] = group = (ensemble, ensemble.PredictMembers(inputs));
                }

                var targetIndex = group.Ensemble.Targets.ToList().IndexOf(t.Target);
                var perFold = group.Predictions.Select(p => p[targetIndex]).ToArray();
                var combined = Ensemble.Combine(group.Predictions)[targetIndex];
                var best = t.Folds.OrderBy(f => f.ValidationMae).ThenBy(f => f.Fold).First();
                var bestPrediction = perFold[t.Folds.ToList().IndexOf(best)];

                var mine = oof.Where(r => r.Target == t.Target).ToList();
                var outOfFold = RegressionMetricsCalculator.Compute(mine.Select(r => r.Label).ToList(), mine.Select(r => r.Prediction).ToList());
                var labels = mine.Select(r => r.Label).ToList();
                var bestOnData = RegressionMetricsCalculator.Compute(labels, mine.Select(r => bestPrediction[r.Index]).ToList());
                var ensembleOnData = RegressionMetricsCalculator.Compute(labels, mine.Select(r => combined.Mean[r.Index]).ToList());
                var finalModel = policy == FinalModelPolicy.Ensemble ? "ensemble" : $"fold{best.Fold}";
                var final = policy == FinalModelPolicy.Ensemble ? combined.Mean : bestPrediction;

                var errors = TargetErrors.From(t.Target, mine, molecules.Count);
                errors.Save(Path.Combine(context.OutputDirectory, TargetErrors.FileName(t.Target)));
                var (difficulty, examples) = IntervalExamples(similarity, errors, mine);
                var calibrationData = mine.Select(r => new OutOfFoldPrediction(r.Label, r.Prediction, Difficulty: difficulty[r.Index])).ToList();
                var fixedCalibration = policy == FinalModelPolicy.Ensemble
                    ? Calibration.FitEnsembleConformal(calibrationData, MemberDisagreement(mine, perFold, t.Folds.Select(f => f.Fold).ToList()), Alpha)
                    : Calibration.FitSplitConformal(calibrationData, Alpha);
                // The adaptive rule takes the fixed rule's ensemble narrowing as it is: the share of the squared error that
                // averaging removes is estimated over all molecules, and nothing here measures how it varies between them.
                var calibration = intervals == IntervalPolicy.Adaptive ? AdaptiveConformal.Fit(examples, Alpha, fixedCalibration.Scale) : fixedCalibration;
                var evaluation = AdaptiveConformal.Evaluate(examples, Alpha);
                var inSample = calibration.EmpiricalCoverage(calibrationData);
                var heldOut = intervals == IntervalPolicy.Adaptive ? evaluation.Adaptive : evaluation.Fixed;
                var globalBand = Calibration.FitGlobalGaussian(calibrationData, Alpha);
                var predicted = rows.Select(row => calibration.HalfWidth(difficulty: difficulty[row.Index])).ToList();
                var comparison = new IntervalComparison(predicted.Average(), fixedCalibration.Q, (double)predicted.Count(w => w < fixedCalibration.Q) / predicted.Count, evaluation);
                metrics.Add(new TargetMetrics(t.Target, t.Model, finalModel, best.Fold, outOfFold, bestOnData, ensembleOnData, best.ValidationMae, calibration, globalBand, inSample, heldOut,
                    fixedCalibration, comparison));
                await File.WriteAllTextAsync(Path.Combine(context.OutputDirectory, CalibrationFile(t.Target)), calibration.ToJson(), ct);
                await File.WriteAllTextAsync(Path.Combine(context.OutputDirectory, GlobalCalibrationFile(t.Target)), globalBand.ToJson(), ct);
                log.Info($"infer {target.Label}: out-of-fold MAE {outOfFold.Mae:F3} eV, R² {outOfFold.R2:F3}, RMSE {outOfFold.Rmse:F3}, σ {outOfFold.Sigma:F3} (n {outOfFold.Count:N0}); shipped model {finalModel}; " +
                         $"95 % interval {calibration.Method}: mean ±{comparison.MeanHalfWidth:F3} eV, fixed ±{fixedCalibration.Q:F3} eV (scale {fixedCalibration.Scale:F3}), {comparison.ShareNarrower:P0} narrower; " +
                         $"member-level fold-held-out coverage {evaluation.Adaptive.Coverage:P1} adaptive (deciles {string.Join("/", evaluation.Deciles.Select(d => (100 * d.Coverage).ToString("F0", System.Globalization.CultureInfo.InvariantCulture)))} %), {evaluation.Fixed.Coverage:P1} fixed");

                var oofByIndex = mine.ToDictionary(r => r.Index, r => r.Prediction);
                foreach (var row in rows)
                {
                    var interval = calibration.Apply(final[row.Index], difficulty: difficulty[row.Index]);
                    double? oofValue = oofByIndex.TryGetValue(row.Index, out var v) ? v : null;
                    row.Set(t.Target, target.Of(molecules[row.Index]), oofValue, interval, combined.StandardDeviation[row.Index]);
                }
            }

            await ParquetTable.WriteAsync(Path.Combine(context.OutputDirectory, Predictions), rows);
            await File.WriteAllTextAsync(Path.Combine(context.OutputDirectory, Metrics), JsonSerializer.Serialize(metrics, Json.Options), ct);
            return JsonSerializer.SerializeToNode(metrics.Select(m => new { m.Target, m.FinalModel, OutOfFoldMae = m.OutOfFold.Mae, OutOfFoldR2 = m.OutOfFold.R2, MeanHalfWidth = m.Intervals.MeanHalfWidth, Coverage = m.CoverageFoldHeldOut.Coverage }), Json.Options);
        }, cancellation);
        var result = await ReadMetricsAsync(artifact.PathOf(Metrics), cancellation);
        if (artifact.FromCache)
            foreach (var m in result)
                log.Info($"infer {m.Target.ToUpperInvariant()}: out-of-fold MAE {m.OutOfFold.Mae:F3} eV, R² {m.OutOfFold.R2:F3}; shipped {m.FinalModel}, 95 % interval {m.Calibration.Method} mean ±{m.Intervals.MeanHalfWidth:F3} eV");
        return (artifact, result);
    }

    /// <summary>
    /// For one target's out-of-fold rows: every indexed molecule's difficulty (<see cref="TargetErrors.Of"/>) and the
    /// calibration examples, each residual with its fold and difficulty.
    /// </summary>
    public static (Difficulty[] Difficulty, IReadOnlyList<ConformalExample> Examples) IntervalExamples(FingerprintIndex similarity,
        TargetErrors errors, IReadOnlyList<TrainStage.OutOfFoldRow> mine)
    {
        var difficulty = MoleculeDifficulty.ForTarget(similarity, errors);
        return (difficulty, mine.Select(r => new ConformalExample(r.Fold, r.Label - r.Prediction, difficulty[r.Index])).ToList());
    }

    /// <summary>
    /// The fold-held-out comparison of adaptive and fixed intervals for a finished training run, from its
    /// <c>molecules.parquet</c> (Featurize) and <c>oof.parquet</c> (Train) alone: it reads them and writes nothing, so
    /// it can measure another checkout's artifacts without rebuilding them (the <c>intervals</c> command).
    /// </summary>
    public static async Task<IReadOnlyList<IntervalEvaluation>> EvaluateIntervalsAsync(string moleculesPath, string outOfFoldPath, Rdkit rdkit,
        CancellationToken cancellation)
    {
        var molecules = await FeatureTables.ReadMoleculesAsync(moleculesPath);
        var oof = (await ParquetTable.ReadAsync<TrainStage.OutOfFoldRow>(outOfFoldPath)).ToList();
        if (oof.Any(r => r.Index < 0 || r.Index >= molecules.Count))
            throw new FormatException($"{outOfFoldPath} names molecules that {moleculesPath} does not have: they are not from the same run");
        var smiles = molecules.Select(m => m.CanonicalSmiles).ToList();
        var similarity = MoleculeDifficulty.Index(rdkit, smiles, cancellation);
        return oof.Select(r => r.Target).Distinct().Order(StringComparer.Ordinal).Select(target =>
        {
            var mine = oof.Where(r => r.Target == target).ToList();
            var (difficulty, examples) = IntervalExamples(similarity, TargetErrors.From(target, oof, molecules.Count), mine);
            // Member level (scale 1): the ensemble narrowing scales the adaptive and the fixed width alike.
            var shipped = AdaptiveConformal.Fit(examples, Alpha);
            var fixedWidth = Calibration.FitSplitConformal(mine.Select(r => new OutOfFoldPrediction(r.Label, r.Prediction)), Alpha).Q;
            var widths = difficulty.Select(d => shipped.HalfWidth(difficulty: d)).ToList();
            return new IntervalEvaluation(target, shipped,
                new IntervalComparison(widths.Average(), fixedWidth, (double)widths.Count(w => w < fixedWidth) / widths.Count, AdaptiveConformal.Evaluate(examples, Alpha)));
        }).ToList();
    }

    /// <summary>What <see cref="EvaluateIntervalsAsync"/> finds for a target: the rule it would ship (member level) and the comparison.</summary>
    public sealed record IntervalEvaluation(string Target, Calibration Adaptive, IntervalComparison Comparison);

    public static async Task<IReadOnlyList<TargetMetrics>> ReadMetricsAsync(string path, CancellationToken cancellation = default) =>
        JsonSerializer.Deserialize<List<TargetMetrics>>(await File.ReadAllTextAsync(path, cancellation), Json.Options)!;

    /// <summary>
    /// E[(f_j − ȳ)²] for a k-member ensemble, estimated per labelled molecule from the k − 1 members that were
    /// trained on it (its own fold's member is excluded, since its deviation is part of the out-of-fold residual):
    /// their population variance, made unbiased by (k−1)/(k−2), times (1 − 1/k). Members trained on a molecule agree
    /// more there than on a new one, so this is a lower bound and the ensemble interval stays conservative.
    /// </summary>
    public static double MemberDisagreement(IReadOnlyList<TrainStage.OutOfFoldRow> rows, double[][] perFold, IReadOnlyList<int> foldIds)
    {
        var k = perFold.Length;
        if (k < 3 || rows.Count == 0) return 0;
        var sum = 0.0;
        foreach (var r in rows)
        {
            double mean = 0, count = 0;
            for (var j = 0; j < k; j++)
                if (foldIds[j] != r.Fold) { mean += perFold[j][r.Index]; count++; }
            mean /= count;
            var variance = 0.0;
            for (var j = 0; j < k; j++)
                if (foldIds[j] != r.Fold) variance += (perFold[j][r.Index] - mean) * (perFold[j][r.Index] - mean);
            variance /= count;
            sum += variance * count / (count - 1) * (1.0 - 1.0 / k);
        }

        return sum / rows.Count;
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
