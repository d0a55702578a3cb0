using System.Text.Json;
using System.Text.Json.Serialization;
using MathNet.Numerics.Distributions;

namespace OrganicScreen.Screening;

/// <summary>A prediction with its interval, all in the same unit (eV for IE/EA, V for potentials).</summary>
public sealed record PredictionInterval(double Predicted, double Lower, double Upper)
{
    public double HalfWidth => (Upper - Lower) / 2.0;

    /// <summary>Distance from the prediction up to the upper bound (the margin a cathode must leave).</summary>
    public double UpperMargin => Upper - Predicted;

    /// <summary>Distance from the prediction down to the lower bound (the margin an anode must leave).</summary>
    public double LowerMargin => Predicted - Lower;

    public bool Contains(double value) => value >= Lower && value <= Upper;

    /// <summary>Moves the whole interval by a constant, e.g. converting eV on the absolute scale to V vs Li/Li+.</summary>
    public PredictionInterval Shift(double offset) => new(Predicted + offset, Lower + offset, Upper + offset);

    public static PredictionInterval Symmetric(double predicted, double halfWidth) =>
        new(predicted, predicted - halfWidth, predicted + halfWidth);
}

/// <summary>How the half-width of a prediction interval is obtained.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<IntervalMethod>))]
public enum IntervalMethod
{
    /// <summary>Split conformal: one half-width q for every molecule, q = the ⌈(n+1)(1−α)⌉-th smallest |residual|.</summary>
    SplitConformal,

    /// <summary>
    /// Normalised split conformal: scores |r|/(σ_i+ε) where σ_i is the ensemble spread of molecule i;
    /// the interval is ŷ ± q·(σ_i+ε), wide where the fold models disagree and narrow where they agree.
    /// </summary>
    NormalizedConformal,

    /// <summary>
    /// Split conformal for a k-fold ensemble: the quantile of the members' out-of-fold residuals, narrowed by
    /// the share of the squared error that averaging k members removes (see <see cref="FitEnsembleConformal"/>).
    /// </summary>
    EnsembleConformal,

    /// <summary>
    /// Normalised conformal with a difficulty scale (<see cref="AdaptiveConformal"/>): ŷ ± q·σ(x), σ from the molecule's
    /// similarity to the training molecules, q cross-fitted on out-of-fold residuals; times the ensemble narrowing.
    /// </summary>
    AdaptiveConformal,

    /// <summary>The 2020 study's global band ŷ ± z·σ, σ = standard deviation of the residuals. Kept for comparison.</summary>
    GlobalGaussian,
}

/// <summary>One calibration example: an out-of-fold prediction, the DFT label, and the ensemble spread.</summary>
/// <param name="Label">DFT value (eV).</param>
/// <param name="Predicted">Out-of-fold prediction (eV): made by the fold model that never saw this molecule.</param>
/// <param name="Spread">Ensemble standard deviation across fold models (eV); needed only for <see cref="IntervalMethod.NormalizedConformal"/>.</param>
/// <param name="Difficulty">How unlike the training molecules it is; needed only for <see cref="IntervalMethod.AdaptiveConformal"/>.</param>
public sealed record OutOfFoldPrediction(double Label, double Predicted, double? Spread = null, Difficulty? Difficulty = null)
{
    /// <summary>Residual convention used throughout: label − prediction.</summary>
    public double Residual => Label - Predicted;
}

/// <summary>Observed coverage of a calibration on a set of labelled predictions.</summary>
public sealed record CoverageReport(int Count, int Covered, double Coverage, double MeanHalfWidth, double MedianHalfWidth)
{
    /// <summary>The report of intervals with these half-widths, <paramref name="covered"/> of them containing their label.</summary>
    public static CoverageReport Of(int covered, IReadOnlyCollection<double> halfWidths)
    {
        if (halfWidths.Count == 0) throw new ArgumentException("No predictions to measure coverage on.", nameof(halfWidths));
        var sorted = halfWidths.Order().ToArray();
        var median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2.0;
        return new CoverageReport(sorted.Length, covered, (double)covered / sorted.Length, sorted.Average(), median);
    }
}

/// <summary>
/// A fitted interval rule that can be stored next to a model and applied to new predictions.
/// JSON form: <c>{"method":"NormalizedConformal","alpha":0.05,"q":1.87,"epsilon":0.01,"n":20000}</c>.
/// </summary>
/// <param name="Method">Which rule produced <paramref name="Q"/>.</param>
/// <param name="Alpha">Miscoverage level: 0.05 for a 95 % interval.</param>
/// <param name="Q">Half-width (eV) for SplitConformal/GlobalGaussian; multiplier of (σ_i+ε) for NormalizedConformal and of σ(x) for AdaptiveConformal.</param>
/// <param name="Epsilon">Floor added to σ_i (eV), NormalizedConformal only; 0 otherwise.</param>
/// <param name="N">Number of out-of-fold examples it was fitted on.</param>
public sealed record Calibration(
    [property: JsonPropertyName("method")] IntervalMethod Method,
    [property: JsonPropertyName("alpha")] double Alpha,
    [property: JsonPropertyName("q")] double Q,
    [property: JsonPropertyName("epsilon")] double Epsilon,
    [property: JsonPropertyName("n")] int N)
{
    /// <summary>
    /// Default ε for normalised conformal (eV). Without a floor a molecule on which all eight fold models
    /// happen to agree would get a near-zero interval; 0.01 eV is well below typical ensemble spreads
    /// (~0.05–0.3 eV) so it only matters in that degenerate case.
    /// </summary>
    public const double DefaultEpsilon = 0.01;

    /// <summary>EnsembleConformal and AdaptiveConformal: the factor the member-level quantile was scaled by (1 for the other methods).</summary>
    [JsonPropertyName("scale")]
    public double Scale { get; init; } = 1.0;

    /// <summary>AdaptiveConformal only: σ(x), the error scale the quantile multiplies.</summary>
    [JsonPropertyName("errorScale")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ErrorScale? ErrorScale { get; init; }

    /// <summary>
    /// Split conformal with the finite-sample correction: with n exchangeable calibration scores, taking the
    /// k = ⌈(n+1)(1−α)⌉-th smallest guarantees coverage ≥ 1−α on a new molecule. If k &gt; n the guarantee
    /// needs an infinite interval; we refuse rather than silently returning one.
    /// </summary>
    public static Calibration FitSplitConformal(IEnumerable<OutOfFoldPrediction> outOfFold, double alpha = 0.05)
    {
        ValidateAlpha(alpha);
        var scores = outOfFold.Select(p => Math.Abs(CheckFinite(p).Residual)).ToArray();
        return new Calibration(IntervalMethod.SplitConformal, alpha, ConformalQuantile(scores, alpha), 0.0, scores.Length);
    }

    /// <summary>
    /// Split conformal for the ensemble of k fold models. Out-of-fold residuals are each one member's error on a
    /// molecule it did not see; the ensemble's error on a new molecule is smaller by the members' disagreement:
    /// E[(y − ȳ_ens)²] = E[(y − f_j)²] − E[(f_j − ȳ_ens)²] (the cross term averages to zero over exchangeable
    /// members). <paramref name="memberDisagreement"/> estimates the last term, E[(f_j − ȳ_ens)²] in eV²; the
    /// member-level conformal quantile is scaled by √(1 − disagreement / out-of-fold MSE), never below 1/2.
    /// Estimating the disagreement on molecules the other members were trained on (all one has without nested
    /// folds) underestimates it, so the interval errs wide, never narrow.
    /// </summary>
    public static Calibration FitEnsembleConformal(IReadOnlyList<OutOfFoldPrediction> outOfFold, double memberDisagreement, double alpha = 0.05)
    {
        ValidateAlpha(alpha);
        if (!(memberDisagreement >= 0) || !double.IsFinite(memberDisagreement))
            throw new ArgumentOutOfRangeException(nameof(memberDisagreement), memberDisagreement, "member disagreement must be a finite number ≥ 0 (eV²).");
        var scores = outOfFold.Select(p => Math.Abs(CheckFinite(p).Residual)).ToArray();
        var mse = scores.Select(r => r * r).DefaultIfEmpty(0).Average();
        var scale = mse > 0 ? Math.Sqrt(Math.Max(1.0 - memberDisagreement / mse, 0.25)) : 1.0;
        return new Calibration(IntervalMethod.EnsembleConformal, alpha, ConformalQuantile(scores, alpha) * scale, 0.0, scores.Length) { Scale = scale };
    }

    /// <summary>Normalised split conformal on scores |r_i|/(σ_i+ε); every example needs a spread.</summary>
    public static Calibration FitNormalizedConformal(IEnumerable<OutOfFoldPrediction> outOfFold, double alpha = 0.05, double epsilon = DefaultEpsilon)
    {
        ValidateAlpha(alpha);
        if (!(epsilon > 0) || !double.IsFinite(epsilon))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be a positive finite number (eV).");
        var scores = outOfFold.Select(p =>
        {
            CheckFinite(p);
            var spread = RequireSpread(p.Spread);
            return Math.Abs(p.Residual) / (spread + epsilon);
        }).ToArray();
        return new Calibration(IntervalMethod.NormalizedConformal, alpha, ConformalQuantile(scores, alpha), epsilon, scores.Length);
    }

    /// <summary>
    /// The study's global band: q = z·σ with σ the population standard deviation of the residuals
    /// (ddof = 0, as numpy.std computes it). z defaults to Φ⁻¹(1−α/2) (1.95996 for α = 0.05, the study's 1.96);
    /// pass <paramref name="z"/> to reproduce a different published multiplier exactly.
    /// </summary>
    public static Calibration FitGlobalGaussian(IEnumerable<OutOfFoldPrediction> outOfFold, double alpha = 0.05, double? z = null)
    {
        ValidateAlpha(alpha);
        var residuals = outOfFold.Select(p => CheckFinite(p).Residual).ToArray();
        if (residuals.Length < 2) throw new ArgumentException("At least two out-of-fold predictions are needed to estimate σ.", nameof(outOfFold));
        var multiplier = z ?? Normal.InvCDF(0.0, 1.0, 1.0 - alpha / 2.0);
        return new Calibration(IntervalMethod.GlobalGaussian, alpha, multiplier * PopulationStdDev(residuals), 0.0, residuals.Length);
    }

    /// <summary>
    /// The conformal quantile: the k-th smallest score with k = ⌈(n+1)(1−α)⌉ (1-based).
    /// Public so the rule can be checked by hand.
    /// </summary>
    public static double ConformalQuantile(IReadOnlyList<double> scores, double alpha)
    {
        ValidateAlpha(alpha);
        var n = scores.Count;
        // The tiny tolerance keeps e.g. (19+1)·0.95 = 19.000000000000004 from rounding up to 20.
        var k = (int)Math.Ceiling((n + 1) * (1.0 - alpha) - 1e-9);
        if (k > n)
            throw new ArgumentException(
                $"Conformal calibration at alpha={alpha.ToString(System.Globalization.CultureInfo.InvariantCulture)} needs at least " +
                $"{(int)Math.Ceiling((1.0 - alpha) / alpha - 1e-9)} examples; got {n}.", nameof(scores));
        var sorted = scores.ToArray();
        Array.Sort(sorted);
        return sorted[Math.Max(k, 1) - 1];
    }

    /// <summary>
    /// Half-width for one molecule; <paramref name="spread"/> is required for NormalizedConformal only,
    /// <paramref name="difficulty"/> for AdaptiveConformal only.
    /// </summary>
    public double HalfWidth(double? spread = null, Difficulty? difficulty = null) => Method switch
    {
        IntervalMethod.NormalizedConformal => Q * (RequireSpread(spread) + Epsilon),
        IntervalMethod.AdaptiveConformal => Q * (ErrorScale ?? throw new InvalidOperationException("AdaptiveConformal calibration without its error scale"))
            .Of(difficulty ?? throw new ArgumentException("AdaptiveConformal needs the molecule's difficulty (its similarities to the training molecules).", nameof(difficulty))),
        _ => Q,
    };

    public PredictionInterval Apply(double predicted, double? spread = null, Difficulty? difficulty = null) =>
        PredictionInterval.Symmetric(predicted, HalfWidth(spread, difficulty));

    /// <summary>
    /// Fraction of labels inside their intervals. On the same OOF data used for fitting this is the in-sample
    /// coverage (≈ k/n, just above 1−α); on held-out data it estimates the true coverage.
    /// </summary>
    public CoverageReport EmpiricalCoverage(IEnumerable<OutOfFoldPrediction> predictions)
    {
        var covered = 0;
        var widths = new List<double>();
        foreach (var p in predictions)
        {
            var interval = Apply(p.Predicted, p.Spread, p.Difficulty);
            if (interval.Contains(p.Label)) covered++;
            widths.Add(interval.HalfWidth);
        }

        return CoverageReport.Of(covered, widths);
    }

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions());

    public static Calibration FromJson(string json)
    {
        var c = JsonSerializer.Deserialize<Calibration>(json, JsonOptions())
                ?? throw new FormatException("Calibration JSON is null.");
        if (!double.IsFinite(c.Q) || c.Q < 0) throw new FormatException($"Calibration q must be a finite non-negative number, got {c.Q}.");
        if (!(c.Alpha > 0 && c.Alpha < 1)) throw new FormatException($"Calibration alpha must be in (0,1), got {c.Alpha}.");
        if (c.Method == IntervalMethod.NormalizedConformal && !(c.Epsilon > 0))
            throw new FormatException("NormalizedConformal calibration needs a positive epsilon.");
        if (c.Method == IntervalMethod.AdaptiveConformal && c.ErrorScale is not { IsValid: true })
            throw new FormatException("AdaptiveConformal calibration needs a finite error scale with a positive floor.");
        if (c.N <= 0) throw new FormatException($"Calibration n must be positive, got {c.N}.");
        return c;
    }

    public void Save(string path) => File.WriteAllText(path, ToJson() + "\n");

    public static Calibration Load(string path) => FromJson(File.ReadAllText(path));

    /// <summary>Population standard deviation (divide by n), the numpy.std default the study used.</summary>
    public static double PopulationStdDev(IReadOnlyCollection<double> values)
    {
        var mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Count);
    }

    // Built per call rather than cached in a static: the options object is mutable until first use and
    // calibration files are tiny, so sharing it buys nothing.
    private static JsonSerializerOptions JsonOptions() => new() { WriteIndented = true };

    private static void ValidateAlpha(double alpha)
    {
        if (!(alpha > 0 && alpha < 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be in (0, 1).");
    }

    private static OutOfFoldPrediction CheckFinite(OutOfFoldPrediction p)
    {
        if (!double.IsFinite(p.Label) || !double.IsFinite(p.Predicted))
            throw new ArgumentException($"Out-of-fold prediction has a non-finite label or prediction: {p}.");
        return p;
    }

    private static double RequireSpread(double? spread)
    {
        if (spread is not { } s || !double.IsFinite(s) || s < 0)
            throw new ArgumentException("NormalizedConformal needs a finite, non-negative ensemble spread for every molecule.");
        return s;
    }
}
