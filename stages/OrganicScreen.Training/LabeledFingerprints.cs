using OrganicScreen.Core;

namespace OrganicScreen.Training;

/// <summary>
/// Training input for one target: fingerprints and labels (eV) row by row. <see cref="Dataset"/> names it in
/// error messages (e.g. "IE r2_2048"). Rows whose label is missing must be removed by the caller — see
/// <see cref="WithoutMissing"/>.
/// </summary>
public sealed record LabeledFingerprints(string Dataset, SparseBitMatrix Fingerprints, double[] Labels)
{
    public int Rows => Labels.Length;

    /// <summary>Throws <see cref="ArgumentException"/> naming the dataset and the offending count.</summary>
    public void Validate(int minimumRows = 1)
    {
        var x = Fingerprints;
        if (x.Offsets.Length == 0 || x.Rows == 0)
            throw new ArgumentException($"{Dataset}: the fingerprint matrix has 0 rows.");
        if (x.Columns <= 0)
            throw new ArgumentException($"{Dataset}: the fingerprint matrix has {x.Columns} columns; expected the fingerprint bit count.");
        if (x.Rows != Labels.Length)
            throw new ArgumentException($"{Dataset}: {x.Rows} fingerprint rows but {Labels.Length} labels.");
        if (x.Offsets[0] != 0 || x.Offsets[^1] != x.Indices.Length)
            throw new ArgumentException($"{Dataset}: fingerprint offsets do not span the {x.Indices.Length} indices.");
        var outOfRange = 0;
        for (var r = 0; r < x.Rows; r++)
        {
            if (x.Offsets[r + 1] < x.Offsets[r]) throw new ArgumentException($"{Dataset}: fingerprint offsets decrease at row {r}.");
            foreach (var bit in x.Row(r))
                if ((uint)bit >= (uint)x.Columns) outOfRange++;
        }
        if (outOfRange > 0)
            throw new ArgumentException($"{Dataset}: {outOfRange} fingerprint bit indices lie outside 0..{x.Columns - 1}.");

        var nan = Labels.Count(double.IsNaN);
        if (nan == Labels.Length)
            throw new ArgumentException($"{Dataset}: the target is missing (NaN) for every one of the {Labels.Length} rows.");
        if (nan > 0)
            throw new ArgumentException($"{Dataset}: {nan} of {Labels.Length} labels are missing (NaN); drop those rows first (WithoutMissing).");
        var infinite = Labels.Count(double.IsInfinity);
        if (infinite > 0)
            throw new ArgumentException($"{Dataset}: {infinite} of {Labels.Length} labels are infinite.");
        if (Labels.Length < minimumRows)
            throw new ArgumentException($"{Dataset}: {Labels.Length} rows are fewer than the {minimumRows} required (one per fold).");
    }

    /// <summary>The rows with a label (not NaN), and their original row numbers for mapping results back.</summary>
    public (LabeledFingerprints Data, int[] OriginalRows) WithoutMissing()
    {
        var keep = Enumerable.Range(0, Labels.Length).Where(r => !double.IsNaN(Labels[r])).ToArray();
        if (keep.Length == Labels.Length) return (this, keep);
        return (new LabeledFingerprints(Dataset, Fingerprints.Select(keep), keep.Select(r => Labels[r]).ToArray()), keep);
    }
}
