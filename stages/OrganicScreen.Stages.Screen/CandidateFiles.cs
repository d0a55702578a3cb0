using System.Text;
using System.Text.Json.Serialization;
using OrganicScreen.Data;
using OrganicScreen.Screening;

namespace OrganicScreen.Stages;

/// <summary>
/// The Screen stage's candidate files besides the two CSVs: <c>candidates.parquet</c> (both roles, typed columns, nulls
/// where unknown, for pandas) and, when the profile sets filters, <c>filtered_out.csv</c> (what the filters removed and why).
/// </summary>
public static class CandidateFiles
{
    public const string Parquet = "candidates.parquet";
    public const string FilteredOut = "filtered_out.csv";

    /// <summary>Writes the sorted candidates with their rank within the role (1 = first row of its CSV).</summary>
    public static Task WriteParquetAsync(string path, IReadOnlyList<Candidate> sorted)
    {
        var ranks = new Dictionary<ElectrodeRole, int>();
        return ParquetTable.WriteAsync(path, sorted.Select(c =>
        {
            ranks[c.Role] = ranks.GetValueOrDefault(c.Role) + 1;
            var t = c.Traits;
            return new Row
            {
                Role = c.Role == ElectrodeRole.Cathode ? "cathode" : "anode", Rank = ranks[c.Role], Id = c.Id, CanonicalSmiles = c.CanonicalSmiles,
                PotentialVLi = c.Potential.Predicted, LowerVLi = c.Potential.Lower, UpperVLi = c.Potential.Upper, MarginV = c.MarginVolts, HeadroomV = c.HeadroomVolts,
                DftPotentialVLi = c.DftPotentialVolts, MolarMass = t?.Molecule.MolarMassGPerMol, HeavyAtoms = t?.Molecule.HeavyAtoms,
                CapacityPerElectron = t?.CapacityPerElectronMahG, Electrons = t?.Electrons, ElectronsSource = t?.ElectronSourceName,
                Capacity = t?.CapacityMahG, SpecificEnergy = t?.SpecificEnergyWhKg, RedoxStable = t?.Molecule.RedoxStable,
                DatasetCapacity = t?.Molecule.DatasetCapacityMahG, Flags = t?.Molecule.Flags,
            };
        }).ToList());
    }

    /// <summary><c>role,id,canonical_smiles,potential_v_li,reason</c>, in screening order, "\n" line ends, UTF-8 without BOM.</summary>
    public static void WriteFilteredOut(string path, IEnumerable<RemovedCandidate> removed)
    {
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        writer.Write("role,id,canonical_smiles,potential_v_li,reason\n");
        foreach (var r in removed)
        {
            var c = r.Candidate;
            writer.Write(string.Join(',', c.Role == ElectrodeRole.Cathode ? "cathode" : "anode", Core.Csv.Escape(c.Id), Core.Csv.Escape(c.CanonicalSmiles),
                CandidateCsv.Number(c.Potential.Predicted), Core.Csv.Escape(r.Reason)));
            writer.Write('\n');
        }
    }

    // Parquet.Net maps public settable properties to columns; JsonPropertyName names them as in the CSV.
    private sealed class Row
    {
        [JsonPropertyName("role")] public string Role { get; set; } = "";
        [JsonPropertyName("rank")] public int Rank { get; set; }
        [JsonPropertyName("id")] public string Id { get; set; } = "";
        [JsonPropertyName("canonical_smiles")] public string CanonicalSmiles { get; set; } = "";
        [JsonPropertyName("potential_v_li")] public double PotentialVLi { get; set; }
        [JsonPropertyName("lower_v_li")] public double LowerVLi { get; set; }
        [JsonPropertyName("upper_v_li")] public double UpperVLi { get; set; }
        [JsonPropertyName("margin_v")] public double MarginV { get; set; }
        [JsonPropertyName("headroom_v")] public double HeadroomV { get; set; }
        [JsonPropertyName("dft_potential_v_li")] public double? DftPotentialVLi { get; set; }
        [JsonPropertyName("molar_mass_g_mol")] public double? MolarMass { get; set; }
        [JsonPropertyName("heavy_atoms")] public int? HeavyAtoms { get; set; }
        [JsonPropertyName("capacity_per_electron_mah_g")] public double? CapacityPerElectron { get; set; }
        [JsonPropertyName("electrons")] public int? Electrons { get; set; }
        [JsonPropertyName("electrons_source")] public string? ElectronsSource { get; set; }
        [JsonPropertyName("capacity_mah_g")] public double? Capacity { get; set; }
        [JsonPropertyName("specific_energy_wh_kg")] public double? SpecificEnergy { get; set; }
        [JsonPropertyName("redox_stable")] public bool? RedoxStable { get; set; }
        [JsonPropertyName("dataset_capacity_mah_g")] public double? DatasetCapacity { get; set; }
        [JsonPropertyName("flags")] public string? Flags { get; set; }
    }
}
