using OrganicScreen.Screening;

namespace OrganicScreen.Screening.Tests;

public class AdaptiveIntervalsTests
{
    [Fact]
    public void The_error_scale_recovers_an_exact_linear_law_and_floors_it()
    {
        // |r| = 0.1 + 0.2·(1 − s₁) + 0.3·(1 − s̄₅) + 0.5·ē on five points that span the space: least squares is exact.
        //   (1, 0.5, 0.1) → 0.3; (0.5, 0.5, 0.1) → 0.4; (0.75, 0.25, 0.1) → 0.425; (0.25, 0, 0.3) → 0.7; (1, 1, 0.2) → 0.2.
        (double S1, double S5, double E)[] points = [(1.0, 0.5, 0.1), (0.5, 0.5, 0.1), (0.75, 0.25, 0.1), (0.25, 0.0, 0.3), (1.0, 1.0, 0.2)];
        var examples = points.Select(p => (new Difficulty(p.S1, p.S5, p.E), 0.1 + 0.2 * (1 - p.S1) + 0.3 * (1 - p.S5) + 0.5 * p.E)).ToList();
        var scale = ErrorScale.Fit(examples);
        scale.Intercept.ShouldBe(0.1, 1e-12);
        scale.Nearest.ShouldBe(0.2, 1e-12);
        scale.Neighbours.ShouldBe(0.3, 1e-12);
        scale.Errors.ShouldBe(0.5, 1e-12);
        // Mean |r| = 2.025 / 5 = 0.405 → floor a quarter of it, 0.10125.
        scale.Floor.ShouldBe(0.10125, 1e-12);
        scale.Of(new Difficulty(0.5, 0.5, 0.1)).ShouldBe(0.4, 1e-12);
        // A near-duplicate of the training set whose neighbours were predicted exactly extrapolates to 0.1, below the floor.
        scale.Of(new Difficulty(1, 1, 0)).ShouldBe(0.10125, 1e-12);
    }

    [Fact]
    public void Without_variation_in_the_difficulty_the_scale_is_the_mean_error()
    {
        var examples = new[] { 0.2, 0.4, 0.9 }.Select(e => (new Difficulty(0.6, 0.5, 0.2), e)).ToList();
        ErrorScale.Fit(examples).ShouldBe(new ErrorScale(0.5, 0, 0, 0, 0.125));
    }

    [Fact]
    public void The_quantile_is_taken_on_cross_fitted_scores_by_hand()
    {
        // One difficulty for all, so σ fitted on a set is its mean |r| (floor a quarter of it, never reached here).
        // Fold 0: |r| = 1, 2, 3 (mean 2); fold 1: |r| = 2, 4, 6 (mean 4).
        // Scores of fold 0 use σ from fold 1 (4): 0.25, 0.5, 0.75; scores of fold 1 use σ from fold 0 (2): 1, 2, 3.
        // alpha = 0.3, n = 6: k = ⌈7·0.7⌉ = ⌈4.9⌉ = 5 → the 5th smallest of 0.25 0.5 0.75 1 2 3 → q = 2.
        // Shipped σ from all six: mean 18/6 = 3; half-width q·σ·scale = 2·3·0.5 = 3.
        var d = new Difficulty(0.5, 0.4, 0.3);
        ConformalExample[] examples =
        [
            new(0, 1, d), new(0, -2, d), new(0, 3, d),
            new(1, -2, d), new(1, 4, d), new(1, -6, d),
        ];
        var c = AdaptiveConformal.Fit(examples, alpha: 0.3, scale: 0.5);
        c.Method.ShouldBe(IntervalMethod.AdaptiveConformal);
        c.Q.ShouldBe(1.0, 1e-12);
        c.Scale.ShouldBe(0.5);
        c.N.ShouldBe(6);
        c.ErrorScale.ShouldBe(new ErrorScale(3, 0, 0, 0, 0.75));
        c.Apply(5.0, difficulty: d).ShouldBe(new PredictionInterval(5.0, 2.0, 8.0));
        Should.Throw<ArgumentException>(() => c.HalfWidth()).Message.ShouldContain("difficulty");
        // One fold alone (the inner fit of a 2-fold evaluation) is cross-fitted in alternate halves: |r| 1 and 3 against 2.
        // Scores 1/2, 3/2 (σ = 2, the other half's mean) and 2/2 (σ = mean of 1 and 3) → 0.5, 1, 1.5; n = 3, k = ⌈4·0.7⌉ = 3 → q = 1.5.
        AdaptiveConformal.Fit(examples.Where(e => e.Fold == 0).ToList(), 0.3).Q.ShouldBe(1.5, 1e-12);
    }

    [Fact]
    public void The_calibration_file_round_trips_and_refuses_an_adaptive_rule_without_its_scale()
    {
        var c = new Calibration(IntervalMethod.AdaptiveConformal, 0.05, 2.4, 0, 20000) { Scale = 0.94, ErrorScale = new ErrorScale(0.05, 0.4, 0.1, 0.6, 0.02) };
        var json = c.ToJson();
        json.ShouldContain("\"method\": \"AdaptiveConformal\"");
        json.ShouldContain("\"errorScale\"");
        Calibration.FromJson(json).ShouldBe(c);
        // Fixed-width files stay as they were: no errorScale key.
        new Calibration(IntervalMethod.SplitConformal, 0.05, 0.6, 0, 100).ToJson().ShouldNotContain("errorScale");
        Should.Throw<FormatException>(() => Calibration.FromJson("""{"method":"AdaptiveConformal","alpha":0.05,"q":2,"epsilon":0,"n":5}"""));
        Should.Throw<FormatException>(() => Calibration.FromJson(
            """{"method":"AdaptiveConformal","alpha":0.05,"q":2,"epsilon":0,"n":5,"errorScale":{"intercept":0.1,"nearest":0,"neighbours":0,"errors":0,"floor":0}}"""));
    }

    /// <summary>
    /// Heteroscedastic residuals with a known law: s₁ uniform in [0.2, 1], s̄₅ = s₁·u with u uniform in [0.6, 1] (no
    /// information beyond s₁), neighbours' error ē uniform in [0, 0.4], and r ~ N(0, σ²) with σ = 0.05 + 0.5·(1 − s₁) + 0.5·ē,
    /// in 8 folds.
    /// </summary>
    private static List<ConformalExample> Synthetic(int seed, int n)
    {
        var rng = new Random(seed);
        var list = new List<ConformalExample>(n);
        for (var i = 0; i < n; i++)
        {
            var s1 = 0.2 + 0.8 * rng.NextDouble();
            var s5 = s1 * (0.6 + 0.4 * rng.NextDouble());
            var e = 0.4 * rng.NextDouble();
            var sigma = 0.05 + 0.5 * (1 - s1) + 0.5 * e;
            list.Add(new ConformalExample(i % 8, sigma * Gaussian(rng), new Difficulty(s1, s5, e)));
        }

        return list;
    }

    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2.0 * Math.Log(1.0 - rng.NextDouble())) * Math.Cos(2.0 * Math.PI * rng.NextDouble());

    [Fact]
    public void On_a_known_noise_law_the_fit_finds_it()
    {
        // E|r| = √(2/π)·σ = 0.7979·(0.05 + 0.5·(1 − s₁) + 0.5·ē): intercept 0.0399, nearest 0.399, neighbours 0, errors 0.399;
        // |r|/E|r| = |z|/0.7979, whose 95th percentile is 1.96/0.7979 = 2.456.
        var c = AdaptiveConformal.Fit(Synthetic(1, 16000), 0.05);
        c.ErrorScale!.Intercept.ShouldBe(0.0399, 0.02);
        c.ErrorScale.Nearest.ShouldBe(0.399, 0.05);
        c.ErrorScale.Neighbours.ShouldBe(0, 0.05);
        c.ErrorScale.Errors.ShouldBe(0.399, 0.05);
        c.Q.ShouldBe(2.456, 0.08);
    }

    [Fact]
    public void Held_out_coverage_is_95_percent_overall_and_in_every_decile_with_narrower_intervals()
    {
        var evaluation = AdaptiveConformal.Evaluate(Synthetic(2, 8000), 0.05);
        evaluation.Adaptive.Count.ShouldBe(8000);
        evaluation.Adaptive.Coverage.ShouldBeInRange(0.94, 0.96);
        evaluation.Deciles.Count.ShouldBe(10);
        evaluation.Deciles.Sum(d => d.Count).ShouldBe(8000);
        foreach (var d in evaluation.Deciles) d.Coverage.ShouldBeInRange(0.90, 0.99, $"decile {d.Decile}");
        // Deciles run from the narrowest intervals to the widest.
        evaluation.Deciles.Select(d => d.MeanHalfWidth).ShouldBeInOrder(SortDirection.Ascending);
        evaluation.Adaptive.MeanHalfWidth.ShouldBeLessThan(evaluation.Fixed.MeanHalfWidth);
        evaluation.ShareNarrower.ShouldBeGreaterThan(0.5);
        // The fixed width covers 95 % overall too, but not where it matters: over-covers the easy decile, under-covers the hard one.
        evaluation.Fixed.Coverage.ShouldBeInRange(0.94, 0.96);
        evaluation.Deciles[0].FixedCoverage.ShouldBeGreaterThan(0.99);
        evaluation.Deciles[^1].FixedCoverage.ShouldBeLessThan(0.90);
    }

    [Fact]
    public void Without_a_difficulty_signal_the_adaptive_interval_is_no_worse_than_the_fixed_one()
    {
        // Homoscedastic noise: σ ≡ 0.3 whatever the similarity. The fitted scale is nearly flat, so widths and coverage match.
        var rng = new Random(3);
        var examples = Enumerable.Range(0, 8000).Select(i =>
        {
            var s1 = 0.2 + 0.8 * rng.NextDouble();
            return new ConformalExample(i % 8, 0.3 * Gaussian(rng), new Difficulty(s1, s1 * (0.6 + 0.4 * rng.NextDouble()), 0.4 * rng.NextDouble()));
        }).ToList();
        var evaluation = AdaptiveConformal.Evaluate(examples, 0.05);
        evaluation.Adaptive.Coverage.ShouldBeInRange(0.94, 0.96);
        evaluation.Adaptive.MeanHalfWidth.ShouldBe(evaluation.Fixed.MeanHalfWidth, 0.03 * evaluation.Fixed.MeanHalfWidth);
    }
}
