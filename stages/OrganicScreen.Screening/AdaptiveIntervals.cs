using System.Text.Json.Serialization;
using MathNet.Numerics.LinearAlgebra;

namespace OrganicScreen.Screening;

/// <summary>
/// How hard a prediction is, from fingerprints and other molecules' errors, never from its own label: the largest and the
/// mean of the <see cref="Neighbours"/> largest Tanimoto similarities (ECFP4) to the training molecules the predicting
/// model did not learn this molecule from, and <see cref="NeighbourError"/>, the mean out-of-fold |error| of its
/// <see cref="ErrorNeighbours"/> most similar molecules within one fold. For an out-of-fold prediction (fold k) the
/// similarities are to the other folds, the training set of the member that made it, and the error neighbours lie in fold
/// k, predicted by that same member, which saw neither them nor it; for a new molecule, the whole training set and one
/// fold picked by its SMILES (see <c>TargetErrors</c> in the Infer stage).
/// </summary>
/// <remarks>
/// Why not the ensemble spread: each out-of-fold molecule was held out by one member only, and the other k − 1 were
/// trained on it. There they agree far more than on a new molecule (the spread is biased low), and the held-out member's
/// distance to them is nearly its own residual (its label leaks into the spread). A quantile of |r|/spread calibrated
/// there is fitted to a scale that behaves differently on new molecules, so their coverage is not the calibrated one,
/// in either direction. Nested folds would fix that but mean retraining every member k − 1 more times. The numbers here
/// need no retraining and are computed the same way for calibration and new molecules.
/// </remarks>
public sealed record Difficulty(double NearestSimilarity, double MeanNeighbourSimilarity, double NeighbourError)
{
    /// <summary>Neighbours averaged in <see cref="MeanNeighbourSimilarity"/>: a few, so one lucky near-duplicate does not decide alone.</summary>
    public const int Neighbours = 5;

    /// <summary>Neighbours whose out-of-fold errors <see cref="NeighbourError"/> averages: enough that one outlier does not decide.</summary>
    public const int ErrorNeighbours = 10;

    /// <summary>From the largest similarities, largest first (missing neighbours count as 0), and the neighbours' mean error.</summary>
    public static Difficulty From(ReadOnlySpan<double> largestFirst, double neighbourError)
    {
        if (largestFirst.Length != Neighbours) throw new ArgumentException($"need the {Neighbours} largest similarities", nameof(largestFirst));
        var sum = 0.0;
        foreach (var s in largestFirst) sum += s;
        return new Difficulty(largestFirst[0], sum / Neighbours, neighbourError);
    }
}

/// <summary>
/// The scale σ(x) of a molecule's error: σ = max(Floor, Intercept + Nearest·(1 − s₁) + Neighbours·(1 − s̄₅) + Errors·ē),
/// a least-squares fit of |residual| on the two distances and the neighbours' mean error ē. Linear because the
/// out-of-fold MAE grows about linearly as similarity falls (<c>domain.json</c>'s bins) and with the local error, and
/// four coefficients cannot overfit thousands of residuals.
/// </summary>
/// <param name="Floor">σ never goes below <see cref="FloorShare"/> of the mean |residual| it was fitted on: the fit may
/// extrapolate to near zero for a molecule that has near-duplicates in training, but the DFT labels themselves are not
/// that exact.</param>
public sealed record ErrorScale(
    [property: JsonPropertyName("intercept")] double Intercept,
    [property: JsonPropertyName("nearest")] double Nearest,
    [property: JsonPropertyName("neighbours")] double Neighbours,
    [property: JsonPropertyName("errors")] double Errors,
    [property: JsonPropertyName("floor")] double Floor)
{
    public const double FloorShare = 0.25;

    private const int Coefficients = 4;

    public double Of(Difficulty d) =>
        Math.Max(Floor, Intercept + Nearest * (1 - d.NearestSimilarity) + Neighbours * (1 - d.MeanNeighbourSimilarity) + Errors * d.NeighbourError);

    [JsonIgnore]
    public bool IsValid => double.IsFinite(Intercept) && double.IsFinite(Nearest) && double.IsFinite(Neighbours) && double.IsFinite(Errors) && double.IsFinite(Floor) && Floor > 0;

    /// <summary>Least squares of |residual| on (1, 1 − s₁, 1 − s̄₅, ē); a constant (the mean) when the features do not vary independently.</summary>
    public static ErrorScale Fit(IReadOnlyList<(Difficulty Difficulty, double AbsoluteError)> examples)
    {
        if (examples.Count == 0) throw new ArgumentException("no examples to fit the error scale on", nameof(examples));
        var mean = examples.Average(e => e.AbsoluteError);
        // A zero mean error (a perfect fit on every example) still needs a positive scale for the scores to be defined.
        var floor = Math.Max(FloorShare * mean, 1e-6);
        if (examples.Count < Coefficients) return new ErrorScale(mean, 0, 0, 0, floor);
        var design = Matrix<double>.Build.Dense(examples.Count, Coefficients, (i, j) => j switch
        {
            0 => 1.0,
            1 => 1 - examples[i].Difficulty.NearestSimilarity,
            2 => 1 - examples[i].Difficulty.MeanNeighbourSimilarity,
            _ => examples[i].Difficulty.NeighbourError,
        });
        var errors = Vector<double>.Build.Dense(examples.Count, i => examples[i].AbsoluteError);
        var qr = design.QR();
        // Rank-deficient (a feature constant, or one a combination of the others): one width for all, as with too few examples.
        if (qr.R.Diagonal().Enumerate().Any(d => Math.Abs(d) < 1e-9 * Math.Sqrt(examples.Count)))
            return new ErrorScale(mean, 0, 0, 0, floor);
        var beta = qr.Solve(errors);
        return new ErrorScale(beta[0], beta[1], beta[2], beta[3], floor);
    }
}

/// <summary>One calibration example: its cross-validation fold, the out-of-fold residual (label − prediction) and its difficulty.</summary>
public sealed record ConformalExample(int Fold, double Residual, Difficulty Difficulty);

/// <summary>Coverage and width in one decile of predicted uncertainty (decile 1: the narrowest adaptive intervals).</summary>
public sealed record DecileCoverage(int Decile, int Count, double MeanHalfWidth, double Coverage, double FixedMeanHalfWidth, double FixedCoverage);

/// <summary>
/// Fold-held-out comparison of the adaptive and the fixed-width interval (both member-level): for every fold, both rules
/// are fitted on the other folds' residuals alone and applied to this fold; the numbers pool all folds, so no molecule's
/// error helped set its own interval.
/// </summary>
/// <param name="Adaptive">The adaptive interval's coverage and half-widths.</param>
/// <param name="Fixed">The same for one split-conformal width (the fixed-width interval before the ensemble narrowing).</param>
/// <param name="ShareNarrower">Share of molecules whose adaptive interval is narrower than the fixed one.</param>
/// <param name="Deciles">By deciles of the adaptive half-width over all held-out molecules.</param>
public sealed record AdaptiveEvaluation(CoverageReport Adaptive, CoverageReport Fixed, double ShareNarrower, IReadOnlyList<DecileCoverage> Deciles);

/// <summary>
/// The adaptive interval against the fixed one for a target. <see cref="MeanHalfWidth"/>, <see cref="FixedHalfWidth"/> and
/// <see cref="ShareNarrower"/> are the shipped intervals of the dataset's predicted molecules (ensemble-narrowed like the
/// fixed one); <see cref="HeldOut"/> is the honest member-level measurement (no molecule's error sets its own interval).
/// </summary>
public sealed record IntervalComparison(double MeanHalfWidth, double FixedHalfWidth, double ShareNarrower, AdaptiveEvaluation HeldOut);

/// <summary>
/// Normalised split conformal with a difficulty scale: scores |r|/σ(x), q their conformal quantile, interval ŷ ± q·σ(x).
/// Fitting σ and taking the quantile on the same residuals would make the scores of the fitting residuals too small
/// (σ was fitted to them) and q too low, so they are cross-fitted: the score of a fold-k residual uses σ fitted on the
/// other folds only. The shipped σ is fitted on every fold, which no new molecule's error was part of, as for the scores.
/// </summary>
public static class AdaptiveConformal
{
    /// <summary>
    /// The shipped rule: σ fitted on all examples, q from the cross-fitted scores, times <paramref name="scale"/> (the
    /// ensemble narrowing of <see cref="Calibration.FitEnsembleConformal"/>; 1 for a single model).
    /// </summary>
    public static Calibration Fit(IReadOnlyList<ConformalExample> examples, double alpha, double scale = 1.0)
    {
        if (!(scale > 0) || !double.IsFinite(scale)) throw new ArgumentOutOfRangeException(nameof(scale), scale, "scale must be a positive finite number.");
        if (examples.Any(e => !double.IsFinite(e.Residual)))
            throw new ArgumentException("adaptive intervals need finite residuals", nameof(examples));
        // The cross-fitting groups are the folds; residuals of a single fold (Evaluate's inner fit under 2-fold
        // cross-validation) are all out-of-fold just the same, so alternate halves of them serve.
        var group = examples.Select(e => e.Fold).Distinct().Count() >= 2 ? examples.Select(e => e.Fold).ToList() : examples.Select((_, i) => i % 2).ToList();
        var scores = new List<double>(examples.Count);
        foreach (var g in group.Distinct().Order())
        {
            var sigma = ErrorScale.Fit(examples.Where((_, i) => group[i] != g).Select(e => (e.Difficulty, Math.Abs(e.Residual))).ToList());
            scores.AddRange(examples.Where((_, i) => group[i] == g).Select(e => Math.Abs(e.Residual) / sigma.Of(e.Difficulty)));
        }

        var q = Calibration.ConformalQuantile(scores, alpha);
        var shipped = ErrorScale.Fit(examples.Select(e => (e.Difficulty, Math.Abs(e.Residual))).ToList());
        return new Calibration(IntervalMethod.AdaptiveConformal, alpha, q * scale, 0.0, examples.Count) { Scale = scale, ErrorScale = shipped };
    }

    /// <summary>
    /// The honest measurement: for each fold, <see cref="Fit"/> (itself cross-fitted over the remaining folds) and the
    /// fixed split-conformal width are fitted without that fold and applied to it; coverage and widths pool the folds.
    /// </summary>
    public static AdaptiveEvaluation Evaluate(IReadOnlyList<ConformalExample> examples, double alpha)
    {
        var held = new List<(double HalfWidth, double FixedHalfWidth, bool Covered, bool FixedCovered)>(examples.Count);
        foreach (var fold in examples.Select(e => e.Fold).Distinct().Order())
        {
            var others = examples.Where(e => e.Fold != fold).ToList();
            var adaptive = Fit(others, alpha);
            var fixedWidth = Calibration.ConformalQuantile(others.Select(e => Math.Abs(e.Residual)).ToList(), alpha);
            foreach (var e in examples.Where(e => e.Fold == fold))
            {
                var halfWidth = adaptive.HalfWidth(difficulty: e.Difficulty);
                held.Add((halfWidth, fixedWidth, Math.Abs(e.Residual) <= halfWidth, Math.Abs(e.Residual) <= fixedWidth));
            }
        }

        var n = held.Count;
        // Ranks, not values, cut the deciles, so ties at the floor still give ten groups of (nearly) equal size; the sort is
        // stable, so equal widths keep the examples' order and the split is reproducible.
        var ranked = held.OrderBy(h => h.HalfWidth).ToList();
        var deciles = Enumerable.Range(0, 10).Select(d => ranked[(d * n / 10)..((d + 1) * n / 10)]).Where(part => part.Count > 0)
            .Select((part, d) => new DecileCoverage(d + 1, part.Count, part.Average(h => h.HalfWidth), Share(part, h => h.Covered),
                part.Average(h => h.FixedHalfWidth), Share(part, h => h.FixedCovered))).ToList();
        return new AdaptiveEvaluation(CoverageReport.Of(held.Count(h => h.Covered), held.Select(h => h.HalfWidth).ToList()),
            CoverageReport.Of(held.Count(h => h.FixedCovered), held.Select(h => h.FixedHalfWidth).ToList()),
            Share(held, h => h.HalfWidth < h.FixedHalfWidth), deciles);
    }

    private static double Share<T>(IReadOnlyCollection<T> items, Func<T, bool> predicate) => (double)items.Count(predicate) / items.Count;
}
