namespace OrganicScreen.Training.Tests;

public class TrainingTests
{
    [Fact]
    public void Training_learns_a_linear_function_of_the_bits()
    {
        // label = 7 + Σ w_bit over 6 of 64 bits, w ∈ [−0.1, 0.1]: a few epochs of the real loop must beat the mean predictor by far.
        var data = TestData.Linear(rows: 400, bits: 64, onBits: 6);
        var fold = Folds.Create(data.Rows, 5, 1)[0];
        var settings = TestData.Quick(epochs: 150, batch: 32) with { L2 = 1e-5, LearningRate = 0.003, Schedule = LearningRateSchedule.Constant };
        var result = FoldTrainer.Train(data, fold, new FcnnArchitecture([64, 32], Dropout: 0.0), settings);

        var trainMean = fold.TrainRows.Average(r => data.Labels[r]);
        var baseline = fold.ValidationRows.Average(r => Math.Abs(data.Labels[r] - trainMean));
        result.BestValidationMae.ShouldBeLessThan(baseline * 0.35, $"baseline {baseline}");
        result.Curve.Count.ShouldBe(150);
        result.Curve[^1].TrainMae.ShouldBeLessThan(result.Curve[0].TrainMae);
        // Validation predictions are in eV and consistent with the reported best MAE.
        var mae = result.ValidationRows.Select((r, i) => Math.Abs(result.ValidationPredictions[i] - data.Labels[r])).Average();
        mae.ShouldBe(result.BestValidationMae, 1e-4);
        result.Curve[result.BestEpoch].ValidationMae.ShouldBe(result.BestValidationMae);
    }

    [Fact]
    public void Cross_validation_on_cpu_is_deterministic_run_after_run()
    {
        var data = TestData.Linear(rows: 120);
        var settings = TestData.Quick(epochs: 6, batch: 25);
        var a = CrossValidator.Run(data, 3, 7, TestData.Small, settings);
        var b = CrossValidator.Run(data, 3, 7, TestData.Small, settings);
        a.OutOfFoldPredictions.ShouldBe(b.OutOfFoldPredictions);
        a.Folds.Select(f => f.BestValidationMae).ShouldBe(b.Folds.Select(f => f.BestValidationMae));
        a.Folds.Select(f => f.Curve.Select(c => c.TrainLoss)).SelectMany(x => x).ShouldBe(b.Folds.Select(f => f.Curve.Select(c => c.TrainLoss)).SelectMany(x => x));
        a.OutOfFoldPredictions.ShouldAllBe(p => double.IsFinite(p));
        // A different seed gives a different run.
        var c = CrossValidator.Run(data, 3, 7, TestData.Small, settings with { Seed = 12 });
        c.OutOfFoldPredictions.ShouldNotBe(a.OutOfFoldPredictions);
    }

    [Fact]
    public void Full_batch_sparse_and_dense_first_layers_train_the_same_model()
    {
        var data = TestData.Linear(rows: 60);
        var fold = Folds.Create(data.Rows, 3, 2)[1];
        var settings = TestData.Quick(epochs: 5, batch: 0);
        var sparse = FoldTrainer.Train(data, fold, TestData.Small, settings with { FirstLayer = FirstLayerMode.Sparse });
        var dense = FoldTrainer.Train(data, fold, TestData.Small, settings with { FirstLayer = FirstLayerMode.Dense });
        dense.ValidationPredictions.ShouldBe(sparse.ValidationPredictions, 1e-4);
    }

    [Fact]
    public void Patience_stops_early_but_keeps_the_best_epoch()
    {
        var data = TestData.Linear(rows: 60);
        var fold = Folds.Create(data.Rows, 3, 2)[0];
        var result = FoldTrainer.Train(data, fold, TestData.Small, TestData.Quick(epochs: 400, batch: 0) with { LearningRate = 0.05, Patience = 3 });
        result.EpochsRun.ShouldBeLessThan(400);
        result.EpochsRun.ShouldBe(result.BestEpoch + 4);
        result.Curve.Min(c => c.ValidationMae).ShouldBe(result.BestValidationMae);
    }

    [Fact]
    public void Models_round_trip_through_disk_and_the_ensemble_averages_folds()
    {
        var data = TestData.Linear(rows: 90);
        var cv = CrossValidator.Run(data, 3, 1, TestData.Small, TestData.Quick(epochs: 4));
        var directory = Path.Combine(Path.GetTempPath(), "os-training-" + Guid.NewGuid().ToString("N"));
        try
        {
            var dirs = cv.Folds.Select(f => Path.Combine(directory, $"fold{f.FoldIndex}")).ToList();
            var spec = new OrganicScreen.Core.FingerprintSpec(1, data.Fingerprints.Columns);
            for (var i = 0; i < dirs.Count; i++) FoldModels.Save(new FingerprintFoldModel(cv.Folds[i].Model, spec, "ie"), dirs[i]);
            var loaded = FoldModel.Load(dirs[0]);
            loaded.Architecture.ShouldBe(cv.Folds[0].Model.Architecture);
            loaded.Scaler.ShouldBe(cv.Folds[0].Model.Scaler);
            loaded.Layers.Select(l => l.Kernel).ShouldBe(cv.Folds[0].Model.Layers.Select(l => l.Kernel));

            // The loaded model reproduces the fold's own validation predictions.
            var fold0 = cv.Folds[0];
            var predicted = loaded.Predict(data.Fingerprints.Select(fold0.ValidationRows));
            predicted.ShouldBe(fold0.ValidationPredictions, 1e-5);

            // The one ensemble and the family-blind loader: each folder says it holds an FCNN for "ie" on this fingerprint.
            var features = new GivenFeatures(data.Rows, new Dictionary<OrganicScreen.Core.FingerprintSpec, OrganicScreen.Core.SparseBitMatrix> { [spec] = data.Fingerprints });
            FoldModels.Load(dirs[0]).ShouldBeOfType<FingerprintFoldModel>().Fingerprint.ShouldBe(spec);
            var ensemble = Ensemble.Load(dirs).Predict(features).Single();
            var each = cv.Folds.Select(f => f.Model.Predict(data.Fingerprints)).ToList();
            for (var r = 0; r < data.Rows; r++)
            {
                var values = each.Select(p => p[r]).ToList();
                ensemble.Mean[r].ShouldBe(values.Average(), 1e-9);
                ensemble.StandardDeviation[r].ShouldBe(Math.Sqrt(values.Average(v => (v - values.Average()) * (v - values.Average()))), 1e-9);
            }
        }
        finally
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Sweep_picks_the_lowest_mean_mae_per_target_and_drops_missing_labels()
    {
        var data = TestData.Linear(rows: 60, bits: 32);
        var other = TestData.Linear(rows: 60, bits: 32, seed: 9);
        var ea = other.Labels.Select((v, i) => i % 5 == 0 ? double.NaN : v).ToArray();
        var spec = new OrganicScreen.Core.FingerprintSpec(1, 32);
        var configs = new[] { new SweepConfig(0, spec, [8]), new SweepConfig(1, spec, [16, 8]) };
        var profile = new CrossValidationPlan(2, 5, 0.1, 0.05, TestData.Quick(epochs: 3));
        var result = Sweep.Run("tiny", [new FingerprintSet(spec, data.Fingerprints)],
            [new TargetLabels("IE", data.Labels), new TargetLabels("EA", ea)], configs, profile);
        result.Entries.Count.ShouldBe(4);
        result.Entries.Single(e => e.Target == "EA" && e.Config.Index == 0).Rows.ShouldBe(48);
        result.Entries.ShouldAllBe(e => e.FoldMaes.Count == 2);
        foreach (var target in new[] { "IE", "EA" })
            result.Winners.Single(w => w.Target == target).MeanMae.ShouldBe(result.Entries.Where(e => e.Target == target).Min(e => e.MeanMae));
    }
}
