using System.Text;
using OrganicScreen.Screening;

namespace OrganicScreen.Screening.Tests;

public class CandidateCsvTests
{
    // A property, not a static array: each test gets its own copy.
    private static Candidate[] Rows =>
    [
        new(ElectrodeRole.Cathode, "mp-1", "O=C1C=CC(=O)C=C1", new PredictionInterval(4.123456, 3.9, 4.35), 0.226544, 0.1, 4.2,
            new MoleculePrediction("mp-1", "O=C1C=CC(=O)C=C1", new PredictionInterval(5.523456, 5.3, 5.75), new PredictionInterval(1.5, 1.25, 1.75), 5.6, null)),
        new(ElectrodeRole.Anode, "id,with\"quote", "C(Cl)C,\"x\"", new PredictionInterval(-0.00001, -0.5, 0.5), 0.0, 2.0, null),
    ];

    [Fact]
    public void Writes_the_exact_snapshot()
    {
        const string expected =
            "role,id,canonical_smiles,ie_ev,ie_lo_ev,ie_hi_ev,ea_ev,ea_lo_ev,ea_hi_ev,potential_v_li,lower_v_li,upper_v_li,margin_v,headroom_v,dft_ie_ev,dft_ea_ev,dft_potential_v_li\n" +
            "cathode,mp-1,O=C1C=CC(=O)C=C1,5.5235,5.3000,5.7500,1.5000,1.2500,1.7500,4.1235,3.9000,4.3500,0.2265,0.1000,5.6000,,4.2000\n" +
            "anode,\"id,with\"\"quote\",\"C(Cl)C,\"\"x\"\"\",,,,,,,0.0000,-0.5000,0.5000,0.0000,2.0000,,,\n";
        CandidateCsv.ToCsv(Rows).ShouldBe(expected);
    }

    [Fact]
    public void Trait_columns_follow_the_prediction_columns_byte_for_byte()
    {
        // Benzoquinone C6H4O2 by hand: M = 6 × 12.011 + 4 × 1.008 + 2 × 15.999 = 108.096 g/mol; one electron 26,801.48/108.096 =
        // 247.9415 mAh/g; two redox centres 495.8829 mAh/g; at E_ox 4.123456 V: 2,044.7515 Wh/kg. The second molecule has no
        // redox-centre count (per electron) and no stability flag; the anode energy uses |E_red| (here 1e−5 V).
        var quinone = new MoleculeTraits(108.096, 8, ["C", "H", "O"], RedoxCenters: 2, RedoxStable: true, DatasetCapacityMahG: 480.0);
        var other = new MoleculeTraits(60.052, 4, ["C", "H", "O"], Flags: "reduction-above-oxidation;implausible-ea");
        var rows = Rows;
        rows[0] = rows[0] with { Traits = CandidateTraits.Of(quinone, rows[0].Potential.Predicted) };
        rows[1] = rows[1] with { Traits = CandidateTraits.Of(other, rows[1].Potential.Predicted) };
        const string expected =
            "role,id,canonical_smiles,ie_ev,ie_lo_ev,ie_hi_ev,ea_ev,ea_lo_ev,ea_hi_ev,potential_v_li,lower_v_li,upper_v_li,margin_v,headroom_v,dft_ie_ev,dft_ea_ev,dft_potential_v_li," +
            "molar_mass_g_mol,heavy_atoms,capacity_per_electron_mah_g,electrons,electrons_source,capacity_mah_g,specific_energy_wh_kg,redox_stable,dataset_capacity_mah_g,flags\n" +
            "cathode,mp-1,O=C1C=CC(=O)C=C1,5.5235,5.3000,5.7500,1.5000,1.2500,1.7500,4.1235,3.9000,4.3500,0.2265,0.1000,5.6000,,4.2000," +
            "108.0960,8,247.9415,2,redox_centers,495.8829,2044.7515,yes,480.0000,\n" +
            "anode,\"id,with\"\"quote\",\"C(Cl)C,\"\"x\"\"\",,,,,,,0.0000,-0.5000,0.5000,0.0000,2.0000,,,," +
            "60.0520,4,446.3046,1,per_electron,446.3046,0.0045,,,reduction-above-oxidation;implausible-ea\n";
        CandidateCsv.ToCsv(rows, columns: CandidateColumns.WithTraits).ShouldBe(expected);
    }

    [Fact]
    public void Trait_columns_are_empty_for_a_candidate_without_traits_and_absent_by_default()
    {
        var csv = CandidateCsv.ToCsv(Rows, columns: CandidateColumns.WithTraits).Split('\n');
        csv[2].ShouldEndWith(",,,,,,,,,,,");
        csv[2].Split(',').Length.ShouldBe(CandidateCsv.Header.Count + CandidateCsv.TraitHeader.Count + 2); // two commas inside the quoted fields
        CandidateCsv.ToCsv(Rows).ShouldNotContain("molar_mass");
    }

    [Theory]
    [InlineData("CCO", "CCO")]
    [InlineData("C,C", "\"C,C\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("a\nb", "\"a\nb\"")]
    [InlineData(" lead", "\" lead\"")]
    [InlineData("", "")]
    public void Escapes_per_rfc4180(string field, string expected) => CandidateCsv.Escape(field).ShouldBe(expected);

    [Theory]
    [InlineData(1.23456, 4, "1.2346")]
    [InlineData(-0.00004, 4, "0.0000")]
    [InlineData(-0.00006, 4, "-0.0001")]
    [InlineData(1234567.5, 2, "1234567.50")]
    [InlineData(-2.0, 0, "-2")]
    public void Numbers_are_fixed_point_invariant_and_never_negative_zero(double value, int decimals, string expected) =>
        CandidateCsv.Number(value, decimals).ShouldBe(expected);

    [Fact]
    public void Non_finite_numbers_are_refused() =>
        Should.Throw<ArgumentException>(() => CandidateCsv.Number(double.PositiveInfinity));

    [Fact]
    public void File_output_is_utf8_without_bom_and_byte_identical_across_writes()
    {
        var a = Path.Combine(Path.GetTempPath(), $"cands-{Guid.NewGuid():N}.csv");
        var b = Path.Combine(Path.GetTempPath(), $"cands-{Guid.NewGuid():N}.csv");
        try
        {
            CandidateCsv.WriteFile(a, Rows);
            CandidateCsv.WriteFile(b, Rows);
            var bytes = File.ReadAllBytes(a);
            bytes.ShouldBe(File.ReadAllBytes(b));
            bytes[0].ShouldBe((byte)'r'); // no EF BB BF preamble
            bytes.ShouldBe(Encoding.UTF8.GetBytes(CandidateCsv.ToCsv(Rows)));
            bytes.ShouldNotContain((byte)'\r');
        }
        finally
        {
            File.Delete(a);
            File.Delete(b);
        }
    }

    [Fact]
    public void User_text_is_neutralised_against_spreadsheet_formulas_and_our_numbers_are_not()
    {
        Candidate[] rows =
        [
            new(ElectrodeRole.Anode, "=HYPERLINK(\"http://x\")", "@SUM(A1)", new PredictionInterval(-0.5, -0.75, -0.25), 0.0, 2.0, null),
        ];
        var lines = CandidateCsv.ToCsv(rows).Split('\n');
        lines[1].ShouldBe("anode,\"'=HYPERLINK(\"\"http://x\"\")\",'@SUM(A1),,,,,,,-0.5000,-0.7500,-0.2500,0.0000,2.0000,,,");
    }

    [Fact]
    public void Extra_columns_follow_the_standard_ones()
    {
        var text = new StringWriter();
        using (var writer = new CandidateCsvWriter(text, ["domain", "note"]))
            writer.Write(Rows[0], ["in", "a, b"]);
        var lines = text.ToString().Split('\n');
        lines[0].ShouldBe(string.Join(',', CandidateCsv.Header) + ",domain,note");
        lines[1].ShouldEndWith(",4.2000,in,\"a, b\"");
    }
}
