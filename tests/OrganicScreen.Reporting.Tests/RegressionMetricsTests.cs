using OrganicScreen.Reporting;

using OrganicScreen.Core;

namespace OrganicScreen.Reporting.Tests;

public class RegressionMetricsTests
{
    [Fact]
    public void Matches_hand_computed_values()
    {
        // y = [1, 2, 3, 4], ŷ = [1.5, 2, 2, 3.5]  →  r = y − ŷ = [−0.5, 0, 1, 0.5]
        // MAE  = (0.5 + 0 + 1 + 0.5)/4 = 0.5
        // SS_res = 0.25 + 0 + 1 + 0.25 = 1.5  →  RMSE = sqrt(1.5/4) = sqrt(0.375) = 0.612372...
        // ȳ = 2.5, SS_tot = 2.25 + 0.25 + 0.25 + 2.25 = 5  →  R² = 1 − 1.5/5 = 0.7
        // mean r = 1/4 = 0.25; deviations −0.75, −0.25, 0.75, 0.25 → squares 0.5625, 0.0625, 0.5625, 0.0625, sum 1.25
        // σ = sqrt(1.25/4) = sqrt(0.3125) = 0.559017...   (check: σ² + bias² = 0.3125 + 0.0625 = 0.375 = RMSE²)
        var m = RegressionMetricsCalculator.Compute([1, 2, 3, 4], [1.5, 2, 2, 3.5]);
        m.Count.ShouldBe(4);
        m.Mae.ShouldBe(0.5, 1e-12);
        m.Rmse.ShouldBe(Math.Sqrt(0.375), 1e-12);
        m.R2.ShouldBe(0.7, 1e-12);
        m.MeanResidual.ShouldBe(0.25, 1e-12);
        m.Sigma.ShouldBe(Math.Sqrt(0.3125), 1e-12);
    }

    [Fact]
    public void R2_is_negative_when_worse_than_predicting_the_mean()
    {
        // y = [0, 2], ŷ = [2, 0]: SS_res = 4 + 4 = 8, ȳ = 1, SS_tot = 1 + 1 = 2 → R² = 1 − 8/2 = −3.
        RegressionMetricsCalculator.Compute([0, 2], [2, 0]).R2.ShouldBe(-3.0, 1e-12);
    }

    [Fact]
    public void Perfect_predictions_score_R2_one_and_zero_errors()
    {
        var m = RegressionMetricsCalculator.Compute([1, 5, 9], [1, 5, 9]);
        m.R2.ShouldBe(1.0);
        m.Mae.ShouldBe(0.0);
        m.Rmse.ShouldBe(0.0);
    }

    [Fact]
    public void Constant_labels_give_undefined_R2_and_bad_input_is_refused()
    {
        double.IsNaN(RegressionMetricsCalculator.Compute([3, 3], [2, 4]).R2).ShouldBeTrue();
        Should.Throw<ArgumentException>(() => RegressionMetricsCalculator.Compute([1, 2], [1]));
        Should.Throw<ArgumentException>(() => RegressionMetricsCalculator.Compute([1], [1]));
        Should.Throw<ArgumentException>(() => RegressionMetricsCalculator.Compute([1, double.NaN], [1, 2]));
    }
}
