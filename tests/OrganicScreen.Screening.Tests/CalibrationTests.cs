using OrganicScreen.Screening;

namespace OrganicScreen.Screening.Tests;

public class CalibrationTests
{
    [Fact]
    public void Conformal_quantile_uses_the_n_plus_1_correction()
    {
        // Nine scores, sorted: 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9.
        double[] scores = [0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6];
        // alpha = 0.2: k = ceil((9+1)·0.8) = ceil(8.0) = 8 → 8th smallest = 0.8.
        // (A plain 80th percentile without the correction would interpolate to 0.74.)
        Calibration.ConformalQuantile(scores, 0.2).ShouldBe(0.8);
        // alpha = 0.3: k = ceil(10·0.7) = 7 → 0.7.
        Calibration.ConformalQuantile(scores, 0.3).ShouldBe(0.7);
        // alpha = 0.25: k = ceil(10·0.75) = ceil(7.5) = 8 → 0.8. Without the (n+1) correction k would be
        // ceil(9·0.75) = ceil(6.75) = 7 → 0.7, so this case tells the two rules apart.
        Calibration.ConformalQuantile(scores, 0.25).ShouldBe(0.8);
        // alpha = 0.1: k = ceil(10·0.9) = 9 → the largest score.
        Calibration.ConformalQuantile(scores, 0.1).ShouldBe(0.9);
    }

    [Fact]
    public void Conformal_quantile_refuses_too_few_examples_instead_of_returning_an_infinite_interval()
    {
        // alpha = 0.05 needs n ≥ 19: n = 19 → k = ceil(20·0.95) = 19 ≤ 19; n = 18 → k = ceil(19·0.95) = ceil(18.05) = 19 > 18.
        var nineteen = Enumerable.Range(1, 19).Select(i => (double)i).ToArray();
        Calibration.ConformalQuantile(nineteen, 0.05).ShouldBe(19.0);
        var e = Should.Throw<ArgumentException>(() => Calibration.ConformalQuantile(nineteen[..18], 0.05));
        e.Message.ShouldContain("needs at least 19 examples; got 18");
    }

    [Fact]
    public void Split_conformal_fit_takes_absolute_residuals()
    {
        // Residuals (label − prediction): +0.3, −0.1, −0.5, +0.2; |r| sorted: 0.1 0.2 0.3 0.5.
        // alpha = 0.4: k = ceil(5·0.6) = 3 → q = 0.3.
        OutOfFoldPrediction[] oof = [new(1.3, 1.0), new(1.9, 2.0), new(2.5, 3.0), new(4.2, 4.0)];
        var c = Calibration.FitSplitConformal(oof, alpha: 0.4);
        c.Method.ShouldBe(IntervalMethod.SplitConformal);
        c.Q.ShouldBe(0.3, 1e-12);
        c.N.ShouldBe(4);
        c.Apply(5.0).ShouldBe(new PredictionInterval(5.0, 4.7, 5.3));
        // In-sample: |r| ≤ 0.3 for 3 of 4 (0.3 sits exactly on the bound and counts as covered).
        var coverage = c.EmpiricalCoverage(oof);
        coverage.Covered.ShouldBe(3);
        coverage.Coverage.ShouldBe(0.75);
    }

    [Fact]
    public void Normalized_conformal_scales_by_spread_plus_epsilon()
    {
        // Scores |r|/(σ+ε) with ε = 0.1:
        //   |0.2|/(0.1+0.1) = 1.0,  |0.6|/(0.2+0.1) = 2.0,  |0.15|/(0.4+0.1) = 0.3,  |0.9|/(0.2+0.1) = 3.0.
        // alpha = 0.4: k = ceil(5·0.6) = 3 → sorted 0.3 1.0 2.0 3.0 → q = 2.0.
        OutOfFoldPrediction[] oof = [new(1.2, 1.0, 0.1), new(0.4, 1.0, 0.2), new(1.15, 1.0, 0.4), new(1.9, 1.0, 0.2)];
        var c = Calibration.FitNormalizedConformal(oof, alpha: 0.4, epsilon: 0.1);
        c.Q.ShouldBe(2.0, 1e-12);
        c.Epsilon.ShouldBe(0.1);
        // Half-width = q·(σ+ε) = 2·(0.3+0.1) = 0.8.
        c.HalfWidth(0.3).ShouldBe(0.8, 1e-12);
        Should.Throw<ArgumentException>(() => c.HalfWidth(null));
        Should.Throw<ArgumentException>(() => Calibration.FitNormalizedConformal([new(1, 1)], 0.4));
    }

    [Fact]
    public void Global_band_is_z_times_population_sigma()
    {
        // Residuals +1, −1, +1, −1: mean 0, population σ = sqrt(4/4) = 1.
        OutOfFoldPrediction[] oof = [new(1, 0), new(-1, 0), new(1, 0), new(-1, 0)];
        Calibration.FitGlobalGaussian(oof, z: 1.96).Q.ShouldBe(1.96, 1e-12);
        // Default z = Φ⁻¹(0.975) = 1.959964...
        Calibration.FitGlobalGaussian(oof).Q.ShouldBe(1.959964, 1e-6);
        Calibration.PopulationStdDev([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).ShouldBe(2.0, 1e-12);
    }

    [Fact]
    public void Json_round_trips_with_documented_field_names()
    {
        var c = new Calibration(IntervalMethod.NormalizedConformal, 0.05, 1.8765, 0.01, 20000);
        var json = c.ToJson();
        json.ShouldContain("\"method\": \"NormalizedConformal\"");
        json.ShouldContain("\"alpha\": 0.05");
        json.ShouldContain("\"q\": 1.8765");
        json.ShouldContain("\"epsilon\": 0.01");
        json.ShouldContain("\"n\": 20000");
        Calibration.FromJson(json).ShouldBe(c);

        var path = Path.Combine(Path.GetTempPath(), $"calib-{Guid.NewGuid():N}.json");
        try
        {
            c.Save(path);
            Calibration.Load(path).ShouldBe(c);
        }
        finally
        {
            File.Delete(path);
        }

        Should.Throw<FormatException>(() => Calibration.FromJson("""{"method":"SplitConformal","alpha":0.05,"q":-1,"epsilon":0,"n":5}"""));
        Should.Throw<FormatException>(() => Calibration.FromJson("""{"method":"NormalizedConformal","alpha":0.05,"q":1,"epsilon":0,"n":5}"""));
    }

    /// <summary>
    /// Synthetic heteroscedastic OOF data: each molecule has its own true error scale s_i ∈ [0.05, 0.6] eV,
    /// the ensemble spread is a noisy estimate of it (s_i × U(0.7, 1.3)), and the residual is N(0, s_i).
    /// </summary>
    private static List<OutOfFoldPrediction> Synthetic(Random rng, int n)
    {
        var list = new List<OutOfFoldPrediction>(n);
        for (var i = 0; i < n; i++)
        {
            var scale = 0.05 + 0.55 * rng.NextDouble();
            var spread = scale * (0.7 + 0.6 * rng.NextDouble());
            var predicted = 5.0 + 2.0 * rng.NextDouble();
            var residual = scale * Gaussian(rng);
            list.Add(new OutOfFoldPrediction(predicted + residual, predicted, spread));
        }
        return list;
    }

    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2.0 * Math.Log(1.0 - rng.NextDouble())) * Math.Cos(2.0 * Math.PI * rng.NextDouble());

    [Fact]
    public void Both_conformal_methods_cover_95_percent_on_OOF_and_held_out_heteroscedastic_data()
    {
        var rng = new Random(20200817);
        var oof = Synthetic(rng, 5000);
        var heldOut = Synthetic(rng, 5000);

        foreach (var calibration in new[] { Calibration.FitSplitConformal(oof), Calibration.FitNormalizedConformal(oof) })
        {
            var inSample = calibration.EmpiricalCoverage(oof).Coverage;
            inSample.ShouldBeInRange(0.94, 0.96, calibration.Method.ToString());
            var outOfSample = calibration.EmpiricalCoverage(heldOut).Coverage;
            outOfSample.ShouldBeInRange(0.94, 0.96, calibration.Method.ToString());
        }
    }

    [Fact]
    public void Normalized_intervals_keep_coverage_on_the_most_uncertain_molecules_where_a_global_width_fails()
    {
        var rng = new Random(7);
        var oof = Synthetic(rng, 5000);
        var split = Calibration.FitSplitConformal(oof);
        var normalized = Calibration.FitNormalizedConformal(oof);
        // The fifth of molecules with the largest ensemble spread.
        var uncertain = oof.OrderByDescending(p => p.Spread).Take(1000).ToList();
        split.EmpiricalCoverage(uncertain).Coverage.ShouldBeLessThan(0.90);
        normalized.EmpiricalCoverage(uncertain).Coverage.ShouldBeGreaterThan(0.93);
        // And the confident molecules get narrower intervals than the one-size-fits-all width.
        var confident = oof.OrderBy(p => p.Spread).Take(1000).ToList();
        normalized.EmpiricalCoverage(confident).MeanHalfWidth.ShouldBeLessThan(split.Q / 2);
    }
}
