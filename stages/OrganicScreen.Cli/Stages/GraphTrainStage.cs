using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using OrganicScreen.Chem;
using OrganicScreen.Core;
using OrganicScreen.Data;
using OrganicScreen.Reporting;
using OrganicScreen.Training;
using OrganicScreen.Training.Graph;

namespace OrganicScreen.Cli.Stages;

/// <summary>
/// Train for the D-MPNN: one multi-task model (IE and EA together, missing labels masked) per fold
/// of a k-fold CV on RDKit molecular graphs. Writes the same tables as the FCNN's Train stage
/// (oof.parquet, curves.parquet, training.json) so Infer and Screen work unchanged.
/// </summary>
public sealed class GraphTrainStage(ArtifactStore store, Rdkit rdkit, IStageLog log)
{
    public const string ModelFolder = "dmpnn";

    public static string FoldDirectory(int fold) => Path.Combine(ModelFolder, $"fold{fold}");

    public async Task<(Artifact Artifact, IReadOnlyList<TrainedTarget> Targets)> RunAsync(FeatureSet features, TrainingSection section, TorchRuntimeOptions torch, CancellationToken cancellation)
    {
        var architecture = section.Dmpnn ?? throw new FormatException("profile: model 'dmpnn' needs train.dmpnn (hidden, depth, aggregation, headHidden, dropout)");
        architecture.Validate();
        var request = new StageRequest(TrainStage.Name, CodeVersion.Of(typeof(GraphCrossValidator), 1), section.KeyParameters(),
            new Dictionary<string, string> { [FeaturizeStage.Name] = features.Artifact.Key },
            new Dictionary<string, string> { ["torchsharp"] = ModelTools.TorchSharpVersion, ["rdkit"] = rdkit.Version, ["dotnet"] = CodeVersion.Runtime });
        var artifact = await store.GetOrBuildAsync(request, async (context, ct) =>
        {
            TorchRuntime.Initialize(torch);
            var molecules = await features.MoleculesAsync();
            var graphs = MoleculeGraphs.Build(rdkit, molecules, features.Dataset);
            var targets = Target.All;
            var data = LabeledGraphs.FromColumns($"{features.Dataset} graphs", graphs, targets.Select(t => t.Name).ToList(), targets.Select(t => t.Labels(molecules)).ToArray());
            log.Info($"train D-MPNN ({architecture}): {section.Folds}-fold CV on {data.Rows:N0} molecules, targets {string.Join(", ", targets.Select(t => t.Label))}");
            var progress = new SynchronousProgress<GraphFoldProgress>(p =>
                log.Info($"  fold {p.FoldIndex + 1}/{p.FoldCount} epoch {p.Epoch.Epoch}: validation MAE {string.Join(", ", targets.Select((t, i) => $"{t.Label} {p.Epoch.ValidationMae[i]:F3}"))} eV"));
            var cv = await Task.Run(() => GraphCrossValidator.Run(data, section.Folds, section.FoldSeed, architecture, section.Settings,
                new GraphTrainingOptions(section.Scaling), progress, ct), ct);

            var oofRows = new List<TrainStage.OutOfFoldRow>();
            var curveRows = new List<TrainStage.CurveRow>();
            foreach (var fold in cv.Folds)
            {
                fold.Model.Save(Path.Combine(context.OutputDirectory, FoldDirectory(fold.FoldIndex)));
                for (var t = 0; t < targets.Count; t++)
                    curveRows.AddRange(fold.Curve.Select(e => new TrainStage.CurveRow
                    {
                        Target = targets[t].Name, Fold = fold.FoldIndex, Epoch = e.Epoch, LearningRate = e.LearningRate, TrainLoss = e.TrainLoss,
                        ValidationLoss = e.ValidationLoss, TrainMae = e.TrainMae[t], ValidationMae = e.ValidationMae[t],
                    }));
            }

            var trained = new List<TrainedTarget>();
            for (var t = 0; t < targets.Count; t++)
            {
                var labelled = Enumerable.Range(0, data.Rows).Where(r => !double.IsNaN(data.Labels[r, t])).ToList();
                if (labelled.Count == 0) continue;
                oofRows.AddRange(labelled.Select(r => new TrainStage.OutOfFoldRow
                {
                    Target = targets[t].Name, Index = r, Fold = cv.FoldAssignment[r], Label = data.Labels[r, t], Prediction = cv.OutOfFoldPredictions[t][r],
                }));
                var metrics = RegressionMetricsCalculator.Compute(labelled.Select(r => data.Labels[r, t]).ToList(), labelled.Select(r => cv.OutOfFoldPredictions[t][r]).ToList());
                log.Info($"train {targets[t].Label} (D-MPNN): out-of-fold MAE {metrics.Mae:F3} eV, R² {metrics.R2:F3} ({labelled.Count:N0} molecules)");
                trained.Add(new TrainedTarget(targets[t].Name, -1, MoleculeGraphs.Feature, [architecture.Hidden, architecture.Depth], cv.Folds.Select(f =>
                    new TrainedFold(f.FoldIndex, f.BestEpoch, f.EpochsRun, f.BestValidationMae[t], f.ValidationRows.Count(r => !double.IsNaN(data.Labels[r, t])),
                        Math.Round(f.Elapsed.TotalSeconds, 2))).ToList(), metrics.Mae, metrics.R2, labelled.Count, ModelFamily.Dmpnn));
            }

            await ParquetTable.WriteAsync(Path.Combine(context.OutputDirectory, TrainStage.OutOfFold), oofRows);
            await ParquetTable.WriteAsync(Path.Combine(context.OutputDirectory, TrainStage.Curves), curveRows);
            await File.WriteAllTextAsync(Path.Combine(context.OutputDirectory, TrainStage.Summary), JsonSerializer.Serialize(trained, Json.Options), ct);
            return new JsonObject { ["targets"] = JsonSerializer.SerializeToNode(trained.Select(t => new { t.Target, t.OutOfFoldMae, t.OutOfFoldR2 }), Json.Options) };
        }, cancellation);
        var result = JsonSerializer.Deserialize<List<TrainedTarget>>(await File.ReadAllTextAsync(artifact.PathOf(TrainStage.Summary), cancellation), Json.Options)!;
        foreach (var t in result)
            log.Info($"train {t.Target.ToUpperInvariant()} (D-MPNN): out-of-fold MAE {t.OutOfFoldMae.ToString("F3", CultureInfo.InvariantCulture)} eV, R² {t.OutOfFoldR2.ToString("F3", CultureInfo.InvariantCulture)} over {t.Rows:N0} molecules");
        return (artifact, result);
    }
}

/// <summary>Molecular graphs of a feature set's molecules, built on the fly from RDKit (≈ seconds for 20k molecules).</summary>
public static class MoleculeGraphs
{
    /// <summary>What <see cref="TrainedTarget.Fingerprint"/> says for graph models.</summary>
    public const string Feature = "graph";

    public static MolecularGraphs Build(Rdkit rdkit, IReadOnlyList<Molecule> molecules, string dataset)
    {
        var batch = rdkit.Graphs(molecules.Select(m => m.InputSmiles).ToList());
        var invalid = batch.Molecules.Count(m => !m.IsValid);
        if (invalid > 0)
            throw new DatasetException($"{dataset}: {invalid} molecules that passed Featurize gave no RDKit graph (first: {batch.Molecules.First(m => !m.IsValid).Error})");
        return batch.Graphs;
    }
}
