using OrganicScreen.Screening;
using OrganicScreen.Stages;

namespace OrganicScreen.Pipeline.Tests;

public sealed class EnsembleCalibrationTests
{
    [Fact]
    public void Member_disagreement_is_the_unbiased_in_sample_spread_scaled_for_k_members()
    {
        // 3 members (folds 0, 1, 2); molecule 0 is in fold 0, so members 1 and 2 saw it: predictions 1.0 and 3.0.
        // Population variance of {1, 3} = 1; unbiased ×(k−1)/(k−2) = ×2 → 2; times (1 − 1/3) → 4/3.
        // Molecule 1 is in fold 2: members 0 and 1 give 5.0 and 5.0 → 0.
        double[][] perFold = [[9.0, 5.0], [1.0, 5.0], [3.0, 7.0]];
        var rows = new[]
        {
            new TrainStage.OutOfFoldRow { Index = 0, Fold = 0 },
            new TrainStage.OutOfFoldRow { Index = 1, Fold = 2 },
        };
        InferStage.MemberDisagreement(rows, perFold, [0, 1, 2]).ShouldBe((4.0 / 3.0 + 0.0) / 2, 1e-12);
        InferStage.MemberDisagreement(rows, perFold.Take(2).ToArray(), [0, 1]).ShouldBe(0); // two members: nothing to estimate
    }

    [Fact]
    public void Ensemble_interval_is_the_member_quantile_narrowed_by_the_removed_error()
    {
        // Residuals 1..19 (n = 19): the conformal 95 % quantile is the ⌈20·0.95⌉ = 19th smallest, 19.
        var data = Enumerable.Range(1, 19).Select(r => new OutOfFoldPrediction(r, 0)).ToList();
        var mse = Enumerable.Range(1, 19).Average(r => (double)r * r); // 130
        var calibration = Calibration.FitEnsembleConformal(data, memberDisagreement: 32.5);
        calibration.Method.ShouldBe(IntervalMethod.EnsembleConformal);
        calibration.Scale.ShouldBe(Math.Sqrt(1 - 32.5 / mse), 1e-12); // √0.75
        calibration.Q.ShouldBe(19 * Math.Sqrt(0.75), 1e-9);
        Calibration.FitEnsembleConformal(data, 0).Q.ShouldBe(19);               // no disagreement: the member interval
        Calibration.FitEnsembleConformal(data, 1e6).Scale.ShouldBe(0.5);        // never below half
        Calibration.FromJson(calibration.ToJson()).ShouldBe(calibration);
        Should.Throw<ArgumentOutOfRangeException>(() => Calibration.FitEnsembleConformal(data, double.NaN));
    }
}
