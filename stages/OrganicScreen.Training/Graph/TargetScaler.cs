namespace OrganicScreen.Training.Graph;

/// <summary>Affine label normalisation of one target: normalised = (y − Shift) / Scale; errors in eV = normalised error · Scale.</summary>
public sealed record TargetScaler(TargetScaling Kind, double Shift, double Scale)
{
    public double Transform(double value) => (value - Shift) / Scale;

    public double Inverse(double normalised) => normalised * Scale + Shift;

    /// <summary>Fits on the rows of <paramref name="trainRows"/> whose label is present (not NaN).</summary>
    public static TargetScaler Fit(TargetScaling kind, double[,] labels, int target, IReadOnlyList<int> trainRows, string dataset, string targetName)
    {
        var present = new List<int>(trainRows.Count);
        var column = new double[labels.GetLength(0)];
        foreach (var row in trainRows)
        {
            var y = labels[row, target];
            if (double.IsNaN(y)) continue;
            column[row] = y;
            present.Add(row);
        }
        if (present.Count == 0)
            throw new ArgumentException($"{dataset}: target '{targetName}' has no label among the {trainRows.Count} training rows; cannot fit its scaler.");
        if (kind == TargetScaling.MinMax)
        {
            var minMax = MinMaxScaler.Fit(column, present, $"{dataset} {targetName}");
            return new TargetScaler(kind, minMax.Min, minMax.Range);
        }
        var mean = 0.0;
        foreach (var row in present)
        {
            if (!double.IsFinite(column[row])) throw new ArgumentException($"{dataset}: target '{targetName}' label of row {row} is {column[row]}; labels must be finite.");
            mean += column[row];
        }
        mean /= present.Count;
        var variance = 0.0;
        foreach (var row in present) variance += (column[row] - mean) * (column[row] - mean);
        var std = Math.Sqrt(variance / present.Count);
        // Chemprop's rule: a constant target keeps scale 1 instead of dividing by zero.
        return new TargetScaler(kind, mean, std > 0 ? std : 1.0);
    }
}
