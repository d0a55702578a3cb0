namespace OrganicScreen.Training;

/// <summary>
/// Label normalisation to [0, 1] with min and max taken from the training rows only, so validation rows never
/// leak into the scaling (the study's protocol).
/// </summary>
public sealed record MinMaxScaler(double Min, double Max)
{
    public double Range => Max - Min;

    public static MinMaxScaler Fit(IReadOnlyList<double> labels, IReadOnlyList<int> trainRows, string dataset)
    {
        if (trainRows.Count == 0) throw new ArgumentException($"{dataset}: no training rows to fit the label scaler on.");
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (var row in trainRows)
        {
            var y = labels[row];
            if (!double.IsFinite(y)) throw new ArgumentException($"{dataset}: label of row {row} is {y}; labels must be finite.");
            min = Math.Min(min, y);
            max = Math.Max(max, y);
        }
        if (!(max > min))
            throw new ArgumentException($"{dataset}: all {trainRows.Count} training labels equal {min}; min-max scaling needs a spread.");
        return new MinMaxScaler(min, max);
    }

    public double Transform(double value) => (value - Min) / Range;

    public double Inverse(double normalised) => normalised * Range + Min;
}
