using System.Globalization;
using System.Text;

namespace OrganicScreen.Screening;

/// <summary>
/// Byte-stable CSV for candidate tables, because reviewers diff them as snapshots:
/// fixed column order (<see cref="Header"/>), invariant culture, a fixed number of decimals, "\n" line endings on
/// every OS, UTF-8 without BOM, RFC 4180 quoting, and −0 printed as 0. Missing values are empty fields.
/// Rows are written in the order given: sort with <see cref="CandidateOrder"/> first for tables.
/// <see cref="CandidateColumns.WithTraits"/> appends <see cref="TraitHeader"/> (the Screen stage's tables); the default
/// layout is the prediction columns alone, so the streaming library screen, which has no traits, keeps its bytes.
/// </summary>
public static class CandidateCsv
{
    public const int DefaultDecimals = 4;

    public static readonly IReadOnlyList<string> Header =
    [
        "role", "id", "canonical_smiles",
        "ie_ev", "ie_lo_ev", "ie_hi_ev", "ea_ev", "ea_lo_ev", "ea_hi_ev",
        "potential_v_li", "lower_v_li", "upper_v_li",
        "margin_v", "headroom_v", "dft_ie_ev", "dft_ea_ev", "dft_potential_v_li",
    ];

    /// <summary>
    /// The <see cref="CandidateColumns.WithTraits"/> columns (empty fields when a candidate has no traits):
    /// RDKit molar mass (g/mol) and heavy atoms; capacity for one electron, the electron count n and where it comes from
    /// (<c>redox_centers</c> from the dataset, or <c>per_electron</c> when it gives none), capacity with n electrons (mAh/g);
    /// specific energy = capacity × |potential vs Li/Li+| (Wh/kg); the dataset's redox_stable (yes/no) and its own capacity
    /// column (for comparison); curation flags.
    /// </summary>
    public static readonly IReadOnlyList<string> TraitHeader =
    [
        "molar_mass_g_mol", "heavy_atoms", "capacity_per_electron_mah_g", "electrons", "electrons_source", "capacity_mah_g",
        "specific_energy_wh_kg", "redox_stable", "dataset_capacity_mah_g", "flags",
    ];

    public static void Write(TextWriter writer, IEnumerable<Candidate> candidates, int decimals = DefaultDecimals, CandidateColumns columns = CandidateColumns.Predictions)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (!Enum.IsDefined(columns)) throw new ArgumentOutOfRangeException(nameof(columns), columns, "Unknown column layout.");
        var traits = columns == CandidateColumns.WithTraits;
        using var table = new CandidateCsvWriter(writer, traits ? TraitHeader : [], decimals);
        foreach (var c in candidates) table.Write(c, traits ? TraitFields(c.Traits, decimals).ToList() : []);
    }

    private static IEnumerable<string> TraitFields(CandidateTraits? t, int decimals)
    {
        if (t is null) return Enumerable.Repeat("", TraitHeader.Count);
        var m = t.Molecule;
        return
        [
            Number(m.MolarMassGPerMol, decimals), m.HeavyAtoms.ToString(CultureInfo.InvariantCulture),
            Number(t.CapacityPerElectronMahG, decimals), t.Electrons.ToString(CultureInfo.InvariantCulture), t.ElectronSourceName,
            Number(t.CapacityMahG, decimals), Number(t.SpecificEnergyWhKg, decimals),
            m.RedoxStable switch { true => "yes", false => "no", null => "" },
            m.DatasetCapacityMahG is { } dataset ? Number(dataset, decimals) : "", m.Flags,
        ];
    }

    public static string ToCsv(IEnumerable<Candidate> candidates, int decimals = DefaultDecimals, CandidateColumns columns = CandidateColumns.Predictions)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        Write(writer, candidates, decimals, columns);
        return writer.ToString();
    }

    /// <summary>Streams to a file; memory stays bounded however many candidates there are.</summary>
    public static void WriteFile(string path, IEnumerable<Candidate> candidates, int decimals = DefaultDecimals, CandidateColumns columns = CandidateColumns.Predictions)
    {
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        Write(writer, candidates, decimals, columns);
    }

    /// <summary>Fixed-point with invariant culture; negative zero after rounding becomes "0.0000" so −0.00001 and 0 diff equal.</summary>
    public static string Number(double value, int decimals = DefaultDecimals)
    {
        if (!double.IsFinite(value))
            throw new ArgumentException($"Cannot write non-finite value {value} to a candidate table.", nameof(value));
        var text = value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return text.StartsWith('-') && text.AsSpan(1).IndexOfAnyExcept("0.") < 0 ? text[1..] : text;
    }

    /// <summary>RFC 4180: quote a field that holds a comma, quote, CR or LF, or leading/trailing space; double inner quotes.</summary>
    public static string Escape(string field) => Core.Csv.Escape(field);

    /// <summary>The cells of one candidate under <see cref="Header"/>; ids and SMILES (user text) neutralised against spreadsheet formulas.</summary>
    internal static IEnumerable<string> Cells(Candidate c, int decimals)
    {
        string Optional(double? value) => value is { } v ? Number(v, decimals) : "";
        var m = c.Molecule;
        return
        [
            c.Role == ElectrodeRole.Cathode ? "cathode" : "anode",
            Core.Csv.Neutralize(c.Id),
            Core.Csv.Neutralize(c.CanonicalSmiles),
            Optional(m?.IonizationEnergy.Predicted), Optional(m?.IonizationEnergy.Lower), Optional(m?.IonizationEnergy.Upper),
            Optional(m?.ElectronAffinity.Predicted), Optional(m?.ElectronAffinity.Lower), Optional(m?.ElectronAffinity.Upper),
            Number(c.Potential.Predicted, decimals),
            Number(c.Potential.Lower, decimals),
            Number(c.Potential.Upper, decimals),
            Number(c.MarginVolts, decimals),
            Number(c.HeadroomVolts, decimals),
            Optional(m?.DftIonizationEnergy), Optional(m?.DftElectronAffinity),
            Optional(c.DftPotentialVolts),
        ];
    }
}

/// <summary>
/// Streams a candidate table: <see cref="CandidateCsv.Header"/> plus extra columns (e.g. the library screen's
/// domain verdict and the input file's carried columns), one row per <see cref="Write"/>. Extra cells are
/// written as given: callers neutralise user text with <see cref="Core.Csv.Neutralize"/>.
/// </summary>
public sealed class CandidateCsvWriter : IDisposable
{
    private readonly CsvHelper.CsvWriter csv;
    private readonly int decimals;
    private readonly int extras;

    public CandidateCsvWriter(TextWriter writer, IReadOnlyList<string> extraColumns, int decimals = CandidateCsv.DefaultDecimals)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentOutOfRangeException.ThrowIfNegative(decimals);
        csv = Core.Csv.Writer(writer);
        this.decimals = decimals;
        extras = extraColumns.Count;
        foreach (var name in CandidateCsv.Header.Concat(extraColumns)) csv.WriteField(name);
        csv.NextRecord();
    }

    public void Write(Candidate candidate, IReadOnlyList<string?> extraCells)
    {
        if (extraCells.Count != extras) throw new ArgumentException($"expected {extras} extra cells, got {extraCells.Count}", nameof(extraCells));
        foreach (var cell in CandidateCsv.Cells(candidate, decimals)) csv.WriteField(cell);
        foreach (var cell in extraCells) csv.WriteField(cell ?? "");
        csv.NextRecord();
    }

    public void Flush() => csv.Flush();

    public void Dispose() => csv.Dispose();
}

/// <summary>Which columns <see cref="CandidateCsv"/> writes.</summary>
public enum CandidateColumns
{
    /// <summary><see cref="CandidateCsv.Header"/> only: predictions, potentials, margin, headroom, DFT labels.</summary>
    Predictions,

    /// <summary><see cref="CandidateCsv.Header"/> then <see cref="CandidateCsv.TraitHeader"/>.</summary>
    WithTraits,
}
