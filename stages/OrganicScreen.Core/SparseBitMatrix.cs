namespace OrganicScreen.Core;

/// <summary>
/// Rows of set-bit indices in compressed-row form: row <c>i</c> owns
/// <c>Indices[Offsets[i]..Offsets[i+1]]</c>, ascending. ECFP vectors have ~40 of 2048 bits set,
/// so this is ~50x smaller than a dense matrix and is what a sparse first layer consumes directly.
/// </summary>
public sealed record SparseBitMatrix(int Columns, int[] Offsets, int[] Indices)
{
    public int Rows => Offsets.Length - 1;

    public ReadOnlySpan<int> Row(int row) => Indices.AsSpan(Offsets[row], Offsets[row + 1] - Offsets[row]);

    /// <summary>The rows listed, in that order (fold subsets, shuffles).</summary>
    public SparseBitMatrix Select(IReadOnlyList<int> rows)
    {
        var offsets = new int[rows.Count + 1];
        for (var i = 0; i < rows.Count; i++)
            offsets[i + 1] = offsets[i] + (Offsets[rows[i] + 1] - Offsets[rows[i]]);
        var indices = new int[offsets[^1]];
        for (var i = 0; i < rows.Count; i++)
            Row(rows[i]).CopyTo(indices.AsSpan(offsets[i]));
        return new SparseBitMatrix(Columns, offsets, indices);
    }

    public static SparseBitMatrix FromRows(int columns, IReadOnlyList<int[]> rows)
    {
        var offsets = new int[rows.Count + 1];
        for (var i = 0; i < rows.Count; i++) offsets[i + 1] = offsets[i] + rows[i].Length;
        var indices = new int[offsets[^1]];
        for (var i = 0; i < rows.Count; i++) rows[i].CopyTo(indices, offsets[i]);
        return new SparseBitMatrix(columns, offsets, indices);
    }
}

/// <summary>Morgan/ECFP settings: radius and folded bit count (RDKit GetMorganFingerprintAsBitVect).</summary>
public sealed record FingerprintSpec(int Radius, int Bits)
{
    /// <summary>File-name stem, e.g. <c>r2_2048</c>, matching the RDKit oracle's column names.</summary>
    public string Name => $"r{Radius}_{Bits}";

    /// <summary>The inverse of <see cref="Name"/>: <c>r2_2048</c> → radius 2, 2048 bits.</summary>
    public static FingerprintSpec Parse(string name)
    {
        var parts = name.StartsWith('r') ? name[1..].Split('_') : [];
        return parts.Length == 2 && int.TryParse(parts[0], out var radius) && int.TryParse(parts[1], out var bits) && radius >= 0 && bits > 0
            ? new FingerprintSpec(radius, bits)
            : throw new FormatException($"fingerprint '{name}' is not of the form r<radius>_<bits> (e.g. r2_2048)");
    }

    public override string ToString() => Name;
}
