using Parquet.Serialization;

namespace OrganicScreen.Data;

/// <summary>
/// A unique molecule after canonicalisation and deduplication on (canonical SMILES, charge).
/// Targets are in eV in the pipeline's convention; null when no source row had the value.
/// Spreads are max − min over the merged rows (0 for a single row).
/// </summary>
/// <param name="Flags">Curation flags (<see cref="MoleculeFlags"/>), ';'-separated; empty when clean.</param>
/// <param name="Carried">Values the dataset carries (<see cref="CarriedValues"/>); null when it carries none.</param>
/// <param name="Auxiliary">Auxiliary-target values by name (<see cref="AuxiliaryValues"/>), in auxiliary.parquet; null when none.</param>
public sealed record Molecule(
    int Index,
    string Id,
    string CanonicalSmiles,
    string InputSmiles,
    int Charge,
    double? Ie,
    double? Ea,
    double? IeSpread,
    double? EaSpread,
    int Count,
    string SourceRows,
    string Flags = "",
    CarriedValues? Carried = null,
    IReadOnlyDictionary<string, double>? Auxiliary = null);

/// <summary>An input row that could not become a molecule, and why.</summary>
public sealed record Reject(int Row, string? Id, string Input, string Reason);

/// <summary>
/// Parquet layout of the Featurize artifact (documented in README "Artifacts"): column names are
/// snake_case so Python/pandas users read them naturally.
/// </summary>
public static class FeatureTables
{
    public const string Molecules = "molecules.parquet";
    public const string Rejects = "rejects.parquet";
    public const string RejectsCsv = "rejects.csv";
    public const string Auxiliary = "auxiliary.parquet";

    public static string Fingerprints(Core.FingerprintSpec spec) => Path.Combine("fingerprints", $"{spec.Name}.parquet");

    public static async Task WriteMoleculesAsync(string path, IEnumerable<Molecule> molecules) =>
        await WriteAsync(path, molecules.Select(m => new MoleculeRow
        {
            Index = m.Index, Id = m.Id, CanonicalSmiles = m.CanonicalSmiles, InputSmiles = m.InputSmiles, Charge = m.Charge,
            IeEv = m.Ie, EaEv = m.Ea, IeSpreadEv = m.IeSpread, EaSpreadEv = m.EaSpread, Count = m.Count, SourceRows = m.SourceRows,
            Flags = m.Flags, CapacityMahG = m.Carried?.CapacityMahG, RedoxCenters = m.Carried?.RedoxCenters, RedoxStable = m.Carried?.RedoxStable,
            HomoHartree = m.Carried?.HomoHartree, LumoHartree = m.Carried?.LumoHartree,
        }).ToList());

    public static async Task<IReadOnlyList<Molecule>> ReadMoleculesAsync(string path) =>
        (await ReadAsync<MoleculeRow>(path)).Select(r =>
        {
            var carried = new CarriedValues(r.CapacityMahG, r.RedoxCenters, r.RedoxStable, r.HomoHartree, r.LumoHartree);
            return new Molecule(r.Index, r.Id, r.CanonicalSmiles, r.InputSmiles, r.Charge,
                r.IeEv, r.EaEv, r.IeSpreadEv, r.EaSpreadEv, r.Count, r.SourceRows, r.Flags ?? "", carried.IsEmpty ? null : carried);
        }).ToList();

    /// <summary>Auxiliary-target values in long form (index, name, value): the set of names is the dataset's, not fixed.</summary>
    public static async Task WriteAuxiliaryAsync(string path, IEnumerable<Molecule> molecules) =>
        await WriteAsync(path, molecules.SelectMany(m => (m.Auxiliary ?? new Dictionary<string, double>()).Select(a => new AuxiliaryRow { Index = m.Index, Name = a.Key, Value = a.Value })).ToList());

    /// <summary>Molecules with their auxiliary values from <paramref name="path"/> (unchanged when the file does not exist).</summary>
    public static async Task<IReadOnlyList<Molecule>> WithAuxiliaryAsync(IReadOnlyList<Molecule> molecules, string path)
    {
        if (!File.Exists(path)) return molecules;
        var byIndex = (await ReadAsync<AuxiliaryRow>(path)).GroupBy(r => r.Index)
            .ToDictionary(g => g.Key, g => (IReadOnlyDictionary<string, double>)new SortedDictionary<string, double>(g.ToDictionary(r => r.Name, r => r.Value), StringComparer.Ordinal));
        return molecules.Select(m => byIndex.TryGetValue(m.Index, out var values) ? m with { Auxiliary = values } : m).ToList();
    }

    public static async Task WriteRejectsAsync(string path, IEnumerable<Reject> rejects) =>
        await WriteAsync(path, rejects.Select(r => new RejectRow { Row = r.Row, Id = r.Id, Input = r.Input, Reason = r.Reason }).ToList());

    public static async Task<IReadOnlyList<Reject>> ReadRejectsAsync(string path) =>
        (await ReadAsync<RejectRow>(path)).Select(r => new Reject(r.Row, r.Id, r.Input, r.Reason)).ToList();

    public static async Task WriteFingerprintsAsync(string path, Core.SparseBitMatrix matrix) =>
        await WriteAsync(path, Enumerable.Range(0, matrix.Rows).Select(i => new FingerprintRow { Index = i, Bits = matrix.Columns, OnBits = matrix.Row(i).ToArray() }).ToList());

    public static async Task<Core.SparseBitMatrix> ReadFingerprintsAsync(string path, Core.FingerprintSpec spec)
    {
        var rows = await ReadAsync<FingerprintRow>(path);
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i].Index != i) throw new DatasetException($"{path}: row {i} has index {rows[i].Index}; the file is out of order");
            if (rows[i].Bits != spec.Bits) throw new DatasetException($"{path}: holds {rows[i].Bits}-bit fingerprints, expected {spec.Bits}");
        }

        return Core.SparseBitMatrix.FromRows(spec.Bits, rows.Select(r => r.OnBits).ToList());
    }

    private static Task WriteAsync<T>(string path, IReadOnlyList<T> rows) where T : class, new() => ParquetTable.WriteAsync(path, rows);

    private static Task<IList<T>> ReadAsync<T>(string path) where T : class, new() => ParquetTable.ReadAsync<T>(path);

    // Parquet.Net maps public settable properties to columns; JsonPropertyName sets the column name.
    private sealed class MoleculeRow
    {
        [System.Text.Json.Serialization.JsonPropertyName("index")] public int Index { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("id")] public string Id { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("canonical_smiles")] public string CanonicalSmiles { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("input_smiles")] public string InputSmiles { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("charge")] public int Charge { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("ie_ev")] public double? IeEv { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("ea_ev")] public double? EaEv { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("ie_spread_ev")] public double? IeSpreadEv { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("ea_spread_ev")] public double? EaSpreadEv { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("count")] public int Count { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("source_rows")] public string SourceRows { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("flags")] public string? Flags { get; set; } = "";
        // Carried values (CarriedProperties): null for datasets that do not carry them.
        [System.Text.Json.Serialization.JsonPropertyName("capacity_mah_g")] public double? CapacityMahG { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("redox_centers")] public int? RedoxCenters { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("redox_stable")] public bool? RedoxStable { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("homo_hartree")] public double? HomoHartree { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("lumo_hartree")] public double? LumoHartree { get; set; }
    }

    private sealed class AuxiliaryRow
    {
        [System.Text.Json.Serialization.JsonPropertyName("index")] public int Index { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("name")] public string Name { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("value")] public double Value { get; set; }
    }

    private sealed class RejectRow
    {
        [System.Text.Json.Serialization.JsonPropertyName("row")] public int Row { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("id")] public string? Id { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("input")] public string Input { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("reason")] public string Reason { get; set; } = "";
    }

    private sealed class FingerprintRow
    {
        [System.Text.Json.Serialization.JsonPropertyName("index")] public int Index { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("bits")] public int Bits { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("on_bits")] public int[] OnBits { get; set; } = [];
    }
}

/// <summary>Parquet files of row classes (public settable properties; JsonPropertyName names columns), written atomically.</summary>
public static class ParquetTable
{
    public static Task WriteAsync<T>(string path, IReadOnlyList<T> rows) where T : class, new()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        return Core.AtomicFile.WriteAsync(path, stream => ParquetSerializer.SerializeAsync(rows, stream));
    }

    public static async Task<IList<T>> ReadAsync<T>(string path) where T : class, new()
    {
        if (!File.Exists(path)) throw new DatasetException($"table not found: {path}");
        await using var stream = File.OpenRead(path);
        return (await ParquetSerializer.DeserializeAsync<T>(stream)).Data;
    }
}
