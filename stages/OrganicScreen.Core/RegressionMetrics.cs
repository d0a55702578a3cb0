namespace OrganicScreen.Core;

/// <summary>
/// Regression quality of predictions against DFT labels. Residual convention: r = label − prediction.
/// </summary>
/// <param name="Count">Number of (label, prediction) pairs.</param>
/// <param name="R2">Coefficient of determination 1 − SS_res/SS_tot (can be negative for a model worse than the mean).</param>
/// <param name="Mae">Mean absolute error, mean |r|.</param>
/// <param name="Rmse">Root-mean-square error, sqrt(mean r²).</param>
/// <param name="Sigma">Population standard deviation of the residuals (divide by n, numpy.std's default, as in the study).
/// Differs from RMSE only by the mean residual: RMSE² = σ² + bias².</param>
/// <param name="MeanResidual">Mean r (bias): positive when the model under-predicts.</param>
public sealed record RegressionMetrics(int Count, double R2, double Mae, double Rmse, double Sigma, double MeanResidual);

public static class RegressionMetricsCalculator
{
    public static RegressionMetrics Compute(IReadOnlyList<double> labels, IReadOnlyList<double> predictions)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(predictions);
        if (labels.Count != predictions.Count)
            throw new ArgumentException($"labels ({labels.Count}) and predictions ({predictions.Count}) differ in length.");
        var n = labels.Count;
        if (n < 2) throw new ArgumentException("At least two pairs are needed (R² is undefined for one).");

        double labelMean = 0, residualMean = 0;
        for (var i = 0; i < n; i++)
        {
            if (!double.IsFinite(labels[i]) || !double.IsFinite(predictions[i]))
                throw new ArgumentException($"Non-finite label or prediction at index {i}.");
            labelMean += labels[i];
            residualMean += labels[i] - predictions[i];
        }
        labelMean /= n;
        residualMean /= n;

        double ssRes = 0, ssTot = 0, absSum = 0, centred = 0;
        for (var i = 0; i < n; i++)
        {
            var r = labels[i] - predictions[i];
            ssRes += r * r;
            ssTot += (labels[i] - labelMean) * (labels[i] - labelMean);
            absSum += Math.Abs(r);
            centred += (r - residualMean) * (r - residualMean);
        }
        // With constant labels SS_tot = 0 and R² is undefined; NaN says so rather than a misleading ±∞.
        var r2 = ssTot > 0 ? 1.0 - ssRes / ssTot : double.NaN;
        return new RegressionMetrics(n, r2, absSum / n, Math.Sqrt(ssRes / n), Math.Sqrt(centred / n), residualMean);
    }
}
