using System.Diagnostics;
using OrganicScreen.Training.Graph;

namespace OrganicScreen.Training.Tests.Graph;

public class GraphTrainingTests
{
    static readonly DmpnnArchitecture Small = new(Hidden: 32, Depth: 3, Aggregation: DmpnnArchitecture.Sum, HeadHidden: [32]);

    [Fact]
    public void Training_learns_atom_and_bond_counts_to_a_small_error()
    {
        // Target "atoms" = atoms with feature 0 set, "bonds" = bonds with bond feature 0 set: exact sums over the
        // graph, so a sum-readout D-MPNN must get far below the mean predictor within a few seconds.
        var data = GraphTestData.Countable(1000, seed: 2);
        var fold = Folds.Create(data.Rows, 5, 1)[0];
        var stopwatch = Stopwatch.StartNew();
        var result = GraphFoldTrainer.Train(data, fold, Small with { Depth = 2 }, GraphTestData.Quick(epochs: 60, batch: 32, learningRate: 0.003));
        stopwatch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(30));

        for (var t = 0; t < 2; t++)
        {
            var trainMean = fold.TrainRows.Average(r => data.Labels[r, t]);
            var baseline = fold.ValidationRows.Average(r => Math.Abs(data.Labels[r, t] - trainMean));
            result.BestValidationMae[t].ShouldBeLessThan(Math.Min(0.2, baseline * 0.15), $"{data.TargetNames[t]}: baseline {baseline} curve {string.Join(" ", result.Curve.Where((_, i) => i % 5 == 0).Select(c => $"{c.TrainMae[t]:F2}/{c.ValidationMae[t]:F2}"))}");
            // Validation predictions are in label units and consistent with the reported MAE.
            var mae = result.ValidationRows.Select((r, i) => Math.Abs(result.ValidationPredictions[t][i] - data.Labels[r, t])).Average();
            mae.ShouldBe(result.BestValidationMae[t], 1e-4);
        }
        result.BestSelectionMae.ShouldBe(result.BestValidationMae.Average(), 1e-12);
        result.Curve.Count.ShouldBe(60);
        result.Curve[result.BestEpoch].SelectionMae.ShouldBe(result.BestSelectionMae);
        result.Curve[^1].TrainLoss.ShouldBeLessThan(result.Curve[0].TrainLoss);
    }

    [Fact]
    public void Missing_labels_train_only_their_own_target_and_selection_can_follow_one_target()
    {
        var data = GraphTestData.Countable(120, seed: 4);
        var labels = (double[,])data.Labels.Clone();
        for (var r = 0; r < data.Rows; r += 3) labels[r, 1] = double.NaN;
        for (var r = 1; r < data.Rows; r += 5) labels[r, 0] = double.NaN;
        var partial = data with { Labels = labels };
        var cv = GraphCrossValidator.Run(partial, 3, 5, Small, GraphTestData.Quick(epochs: 5), new GraphTrainingOptions(TargetScaling.MinMax, SelectionTarget: "bonds"));
        // Every row gets an out-of-fold prediction for every target, also where its label is missing.
        cv.OutOfFoldPredictions.ShouldAllBe(p => p.All(double.IsFinite));
        foreach (var fold in cv.Folds)
        {
            fold.BestSelectionMae.ShouldBe(fold.BestValidationMae[1]);
            fold.Model.Scalers.ShouldAllBe(s => s.Kind == TargetScaling.MinMax);
        }
        cv.OutOfFoldMae(1, labels).ShouldBeGreaterThan(0);
        cv.FoldAssignment.ShouldBe(Folds.Assign(data.Rows, 3, 5));
    }

    [Fact]
    public void Cross_validation_on_cpu_is_deterministic_run_after_run()
    {
        var data = SyntheticGraphs.Create(90, seed: 3, meanAtoms: 8, atomFeatures: 24, bondFeatures: 8);
        var architecture = Small with { Aggregation = DmpnnArchitecture.Mean, Dropout = 0.1 };
        var settings = GraphTestData.Quick(epochs: 3, batch: 20);
        var a = GraphCrossValidator.Run(data.Graphs, data.Labels, data.TargetNames, 3, 7, architecture, settings);
        var b = GraphCrossValidator.Run(data.Graphs, data.Labels, data.TargetNames, 3, 7, architecture, settings);
        a.OutOfFoldPredictions.ShouldBe(b.OutOfFoldPredictions);
        a.Folds.SelectMany(f => f.Curve.Select(c => c.TrainLoss)).ShouldBe(b.Folds.SelectMany(f => f.Curve.Select(c => c.TrainLoss)));
        a.OutOfFoldPredictions.ShouldAllBe(p => p.All(double.IsFinite));
        // Same folds as the FCNN's cross-validation for the same row count and seed.
        a.FoldAssignment.ShouldBe(Folds.Assign(data.Rows, 3, 7));
        var c = GraphCrossValidator.Run(data.Graphs, data.Labels, data.TargetNames, 3, 7, architecture, settings with { Seed = 12 });
        c.OutOfFoldPredictions[0].ShouldNotBe(a.OutOfFoldPredictions[0]);
    }

    [Fact]
    public void Bfloat16_products_train_deterministically_and_learn_what_float32_learns()
    {
        // Dropout 0: the CPU's fused message passing, where the bfloat16 path has its own kernels and whole-batch GEMMs.
        var data = GraphTestData.Countable(400, seed: 6);
        var fold = Folds.Create(data.Rows, 5, 1)[0];
        var settings = GraphTestData.Quick(epochs: 25, batch: 32, learningRate: 0.003);
        var single = GraphFoldTrainer.Train(data, fold, Small with { Depth = 2 }, settings);
        var half = Small with { Depth = 2, Precision = DmpnnArchitecture.BFloat16 };
        var a = GraphFoldTrainer.Train(data, fold, half, settings);
        var b = GraphFoldTrainer.Train(data, fold, half, settings);
        a.Curve.Select(c => c.TrainLoss).ShouldBe(b.Curve.Select(c => c.TrainLoss));
        a.ValidationPredictions.ShouldBe(b.ValidationPredictions);
        a.Curve.Select(c => c.TrainLoss).ShouldNotBe(single.Curve.Select(c => c.TrainLoss));
        for (var t = 0; t < 2; t++)
            a.BestValidationMae[t].ShouldBeLessThan(1.5 * single.BestValidationMae[t] + 0.02, $"{data.TargetNames[t]}: float32 {single.BestValidationMae[t]:F3}");
    }

    [Fact]
    public void Patience_stops_early_but_keeps_the_best_epoch()
    {
        var data = GraphTestData.Countable(60, seed: 8);
        var fold = Folds.Create(data.Rows, 3, 2)[0];
        var result = GraphFoldTrainer.Train(data, fold, Small, GraphTestData.Quick(epochs: 300, batch: 0, learningRate: 0.05) with { Patience = 3 });
        result.EpochsRun.ShouldBeLessThan(300);
        result.EpochsRun.ShouldBe(result.BestEpoch + 4);
        result.Curve.Min(c => c.SelectionMae).ShouldBe(result.BestSelectionMae);
    }

    [Fact]
    public void Models_round_trip_through_disk_and_the_ensemble_averages_folds()
    {
        var data = GraphTestData.Countable(60, seed: 6);
        var architecture = new DmpnnArchitecture(Hidden: 12, Depth: 2, HeadHidden: [6, 4], Dropout: 0.2);
        var cv = GraphCrossValidator.Run(data, 3, 1, architecture, GraphTestData.Quick(epochs: 3));
        var directory = Path.Combine(Path.GetTempPath(), "os-graph-" + Guid.NewGuid().ToString("N"));
        try
        {
            var dirs = cv.Folds.Select(f => Path.Combine(directory, $"fold{f.FoldIndex}")).ToList();
            for (var i = 0; i < dirs.Count; i++) FoldModels.Save(cv.Folds[i].Model, dirs[i]);
            var loaded = GraphFoldModel.Load(dirs[0]);
            FoldModels.Load(dirs[0]).Family.ShouldBe(ModelFamily.Dmpnn);
            var original = cv.Folds[0].Model;
            loaded.Architecture.ShouldBe(original.Architecture);
            loaded.TargetNames.ShouldBe(original.TargetNames);
            loaded.Scalers.ShouldBe(original.Scalers);
            loaded.Weights.ShouldBe(original.Weights);

            // The loaded model reproduces the fold's own validation predictions, and predicts exactly what the original does.
            var fold0 = cv.Folds[0];
            var validation = data.Graphs.Select(fold0.ValidationRows);
            var predicted = loaded.Predict(validation);
            for (var t = 0; t < 2; t++) predicted[t].ShouldBe(fold0.ValidationPredictions[t], 1e-9);
            loaded.Predict(data.Graphs).ShouldBe(original.Predict(data.Graphs));

            var loadedEnsemble = Ensemble.Load(dirs);
            var ensemble = loadedEnsemble.Predict(new GivenFeatures(data.Rows, graphs: data.Graphs));
            var each = cv.Folds.Select(f => f.Model.Predict(data.Graphs)).ToList();
            loadedEnsemble.Targets.ShouldBe(data.TargetNames);
            for (var r = 0; r < data.Rows; r += 7)
            {
                var values = each.Select(p => p[1][r]).ToArray();
                var mean = values.Average();
                ensemble[data.TargetNames.ToList().IndexOf("bonds")].Mean[r].ShouldBe(mean, 1e-9);
                ensemble[1].StandardDeviation[r].ShouldBe(Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Length), 1e-9);
            }
            // An FCNN fold folder is not mistaken for a D-MPNN one.
            cv.Folds.Count.ShouldBe(3);
            File.WriteAllText(Path.Combine(dirs[1], "model.json"), File.ReadAllText(Path.Combine(dirs[1], "model.json")).Replace("\"dmpnn\"", "\"fcnn\""));
            Should.Throw<InvalidDataException>(() => GraphFoldModel.Load(dirs[1])).Message.ShouldContain("dmpnn");
        }
        finally
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }
}
