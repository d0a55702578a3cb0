using System.Globalization;
using OrganicScreen.Chem;
using OrganicScreen.Core;
using Xunit.Abstractions;

namespace OrganicScreen.Data.Tests;

/// <summary>OMEAD rows in the published column layout, written by the tests.</summary>
internal static class OmeadCsv
{
    public const string Header =
        "index,dielectric,homo,lumo,oxidation,reduction,ip,ea,deo,der,oxidation_solv,reduction_solv,ip_solv,ea_solv,deo_solv,der_solv,capacity,redox_centers,smiles,redox_stable";

    /// <summary>One row; the gas, solution and electronic columns get distinct values so a wrong column shows.</summary>
    public static string Row(string index, string smiles, double oxSolv, double redSolv, string capacity = "250.5", string centers = "2",
        string stable = "yes", double homo = -0.25, double lumo = -0.05) =>
        string.Join(',', index, "2.5", F(homo), F(lumo),
            F(oxSolv + 2.0), F(redSolv - 1.5),            // oxidation, reduction (gas)
            F(oxSolv + 2.1), F(redSolv - 1.6),            // ip, ea (gas)
            F(oxSolv + 2.2), F(redSolv - 1.7),            // deo, der
            F(oxSolv), F(redSolv),                        // oxidation_solv, reduction_solv
            F(oxSolv + 0.03), F(redSolv - 0.04),          // ip_solv, ea_solv
            F(oxSolv + 0.05), F(redSolv - 0.05),          // deo_solv, der_solv
            capacity, centers, smiles, stable);

    public static string Write(params string[] rows)
    {
        var path = Path.Combine(Path.GetTempPath(), $"omead-{Guid.NewGuid():N}.csv");
        File.WriteAllText(path, Header + "\n" + string.Join("\n", rows) + "\n");
        return path;
    }

    private static string F(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>Skips, saying why, when ../shared/data/omead_v1/omead_v1.dev.csv is not next to the repository.</summary>
public sealed class OmeadDevFactAttribute : FactAttribute
{
    public static string DevPath { get; } = Path.GetFullPath(Path.Combine(Repo.Root, "..", "shared", "data", "omead_v1", "omead_v1.dev.csv"));

    public OmeadDevFactAttribute()
    {
        if (!File.Exists(DevPath)) Skip = $"OMEAD dev split not found at {DevPath}";
    }
}

public sealed class OmeadManifestTests
{
    [Fact]
    public void Omead_manifest_names_sources_columns_and_solution_phase()
    {
        var omead = Repo.Dataset("omead");
        omead.Sources.Select(s => s.Location).ShouldBe([
            "../shared/data/omead_v1/omead_v1.dev.csv",
            "https://raw.githubusercontent.com/rpcarvs/anima/8b4721ccdc7445a3831a36d4a6f6c1e0a04e3b8e/databases/OMEAD_26218.csv"]);
        omead.Sources[0].Sha256.ShouldBe("fd55c3cb3b8f5f8f32ca757fac577ee1b07db8da151f5caa8bdd7fa5dc353743");
        omead.Sources[1].Sha256.ShouldBe("d05998b5c4c8b3f7c9e6c08833b66a439202667a9ae7dadfb554d24c6f80f67b");
        omead.Citation.ShouldContain("10.1016/j.ensm.2021.10.029");
        omead.Columns.ShouldBe(new DatasetColumns("index", "smiles", null));
        omead.DefaultVariant.ShouldBe("solution");

        omead.PhaseOf(null).ShouldBe(new DatasetPhase("solution", "acetonitrile", "SMD", omead.Phase!.Note));
        omead.PhaseOf("solution-electronic").IsSolution.ShouldBeTrue();
        omead.PhaseOf("gas").ShouldBe(new DatasetPhase("gas"));
        omead.PhaseOf("gas").IsGas.ShouldBeTrue();
        Should.Throw<DatasetException>(() => omead.PhaseOf("liquid")).Message.ShouldContain("no variant 'liquid'");

        omead.Carry!.Keys.Order().ShouldBe(["capacity_mah_g", "homo_hartree", "lumo_hartree", "redox_centers", "redox_stable"]);
        omead.Carry["redox_stable"].ShouldBe(new CarriedColumn("redox_stable", "bool"));
        omead.DuplicateSpreadEv.ShouldBe(0.1);
        omead.PlausibleOf(null)!.Ie.ShouldBe([1.0, 10.0]);
        omead.PlausibleOf("gas")!.Ie.ShouldBe([3.0, 12.0]);
    }

    [Fact]
    public void Other_datasets_state_their_phase()
    {
        Repo.Dataset("ocelot").PhaseOf(null).IsGas.ShouldBeTrue();
        Repo.Dataset("ocelot").PhaseOf("vertical").IsGas.ShouldBeTrue();
        Repo.Dataset("ocelot-fixture").PhaseOf(null).IsGas.ShouldBeTrue();
        var mp = Repo.Dataset("mp-jcesr").PhaseOf("all-charges");
        mp.IsSolution.ShouldBeTrue();
        mp.Model.ShouldBe("PCM");
        mp.Solvent.ShouldBeNull();        // not named in the source notes: the note says so
        mp.Note.ShouldNotBeNull().ShouldContain("unverified");
        Repo.Dataset("ocelot").PlausibleOf(null).ShouldBeNull();
        Repo.Dataset("ocelot").Carry.ShouldBeNull();
    }

    [Fact]
    public void Fixture_manifest_is_omead_with_a_committed_source()
    {
        var omead = Repo.Dataset("omead");
        var fixture = Repo.Dataset("omead-fixture");
        fixture.Sources.Single().Path.ShouldBe("data/fixtures/omead_fixture_300.csv");
        fixture.Columns.ShouldBe(omead.Columns);
        fixture.Phase.ShouldBe(omead.Phase);
        fixture.DuplicateSpreadEv.ShouldBe(omead.DuplicateSpreadEv);
        fixture.Carry.ShouldBe(omead.Carry, ignoreOrder: true);
        foreach (var (name, variant) in omead.Variants)
        {
            var other = fixture.Variant(name);
            (other.Ie, other.Ea, other.Description, other.Phase).ShouldBe((variant.Ie, variant.Ea, variant.Description, variant.Phase));
            fixture.PlausibleOf(name)!.Ie.ShouldBe(omead.PlausibleOf(name)!.Ie);
            fixture.PlausibleOf(name)!.Ea.ShouldBe(omead.PlausibleOf(name)!.Ea);
        }
    }

    [Fact]
    public async Task Fixture_file_matches_its_pin_and_is_rows_of_the_dev_split()
    {
        var fixture = Repo.Dataset("omead-fixture");
        var path = Path.Combine(Repo.Root, fixture.Sources[0].Path!);
        (await ContentHash.OfFileAsync(path)).ShouldBe(fixture.Sources[0].Sha256);
        var lines = File.ReadAllLines(path);
        lines.Length.ShouldBe(301);
        lines[0].ShouldBe(OmeadCsv.Header);
        if (!File.Exists(OmeadDevFactAttribute.DevPath)) return;
        var dev = File.ReadAllLines(OmeadDevFactAttribute.DevPath);
        var expected = Enumerable.Range(0, 299).Select(i => 1 + 78 * i).Append(7266).Order().Select(i => dev[i]);
        lines.Skip(1).ShouldBe(expected);
    }

    private static string WriteManifest(string phase, string extra = "")
    {
        var path = Path.Combine(Path.GetTempPath(), $"manifest-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, $$"""
            {
              "name": "t", "title": "t", "citation": "c", "license": "l",
              "sources": [ { "format": "csv", "path": "x.csv", "sha256": null } ],
              "columns": { "id": "id", "smiles": "smiles", "charge": null },
              {{phase}}
              {{extra}}
              "defaultVariant": "v",
              "variants": { "v": { "description": "d", "ie": { "column": "ie", "sign": 1 }, "ea": { "column": "ea", "sign": 1 }, "charges": null } }
            }
            """);
        return path;
    }

    [Theory]
    [InlineData("\"phase\": { \"kind\": \"plasma\" },", "", "unknown kind 'plasma' (known: gas, solution)")]
    [InlineData("", "", "variant 'v' has no phase")]
    [InlineData("\"phase\": { \"kind\": \"gas\", \"solvent\": \"water\" },", "", "gas-phase dataset has no solvent")]
    [InlineData("\"phase\": { \"kind\": \"solution\", \"solvent\": \"water\" },", "", "names its solvation model")]
    [InlineData("\"phase\": { \"kind\": \"solution\", \"model\": \"PCM\" },", "", "names its solvent, or says in \"note\" why it cannot")]
    [InlineData("\"phase\": { \"kind\": \"gas\" },", "\"plausible\": { \"ie\": [5, 1], \"ea\": null },", "plausible.ie must be [min, max]")]
    [InlineData("\"phase\": { \"kind\": \"gas\" },", "\"duplicateSpreadEv\": -1,", "duplicateSpreadEv must be")]
    [InlineData("\"phase\": { \"kind\": \"gas\" },", "\"carry\": { \"colour\": { \"column\": \"c\", \"type\": \"double\" } },", "carry 'colour' is not a known property")]
    [InlineData("\"phase\": { \"kind\": \"gas\" },", "\"carry\": { \"redox_centers\": { \"column\": \"c\", \"type\": \"double\" } },", "the property is a int")]
    [InlineData("\"phase\": { \"kind\": \"gas\" },", "\"auxiliary\": { \"homo\": { \"column\": \"h\", \"group\": \"orbitals\", \"unit\": \"eV\", \"description\": \"d\" } },", "auxiliary 'homo' has group 'orbitals'; groups are electronic, excited, gas, orbital, reorganization, vertical")]
    [InlineData("\"phase\": { \"kind\": \"gas\" },", "\"auxiliary\": { \"ie\": { \"column\": \"h\", \"group\": \"orbital\", \"unit\": \"eV\", \"description\": \"d\" } },", "auxiliary 'ie' clashes with a target name")]
    [InlineData("\"phase\": { \"kind\": \"gas\" },", "\"auxiliary\": { \"Homo\": { \"column\": \"h\", \"group\": \"orbital\", \"unit\": \"eV\", \"description\": \"d\" } },", "auxiliary 'Homo' must be lower-case")]
    public void Manifest_problems_are_refused_on_load(string phase, string extra, string message)
    {
        var path = WriteManifest(phase, extra);
        try
        {
            Should.Throw<DatasetException>(() => DatasetManifest.Load(path)).Message.ShouldContain(message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_valid_solution_manifest_loads()
    {
        var path = WriteManifest("\"phase\": { \"kind\": \"solution\", \"model\": \"PCM\", \"note\": \"solvent not named\" },");
        try
        {
            DatasetManifest.Load(path).PhaseOf("v").ToString().ShouldBe("solution (solvent not stated, PCM)");
        }
        finally
        {
            File.Delete(path);
        }
    }
}

public sealed class OmeadCurationTests
{
    private static readonly DatasetManifest Omead = Repo.Dataset("omead");

    [Theory]
    [InlineData("solution", 5.5, 2.8)]                 // oxidation_solv, reduction_solv
    [InlineData("solution-electronic", 5.53, 2.76)]    // ip_solv, ea_solv
    [InlineData("gas", 7.5, 1.3)]                      // oxidation, reduction
    public void Variants_read_their_columns_with_sign_plus_one(string variantName, double ie, double ea)
    {
        var path = OmeadCsv.Write(
            OmeadCsv.Row("10", "O=C1C=CC(=O)C=C1", 5.5, 2.8),
            OmeadCsv.Row("11", "c1ccccc1", 6.8, -0.3),
            OmeadCsv.Row("12", "CCO", 7.2, -0.6));
        try
        {
            var variant = Omead.Variant(variantName);
            var records = RawRecordReader.Read(path, Omead.Sources[0], Omead, variant).ToList();
            records.Count.ShouldBe(3);
            var first = RecordChecks.Check(records[0], variant).Record.ShouldNotBeNull();
            first.Raw.Id.ShouldBe("10");
            first.Ie!.Value.ShouldBe(ie, 1e-9);
            first.Ea!.Value.ShouldBe(ea, 1e-9);
            // Sign: quinone is easier to reduce than benzene, which is easier to reduce than ethanol, in every variant.
            var eas = records.Select(r => RecordChecks.Check(r, variant).Record!.Ea!.Value).ToList();
            eas.ShouldBeInOrder(SortDirection.Descending);
            var ies = records.Select(r => RecordChecks.Check(r, variant).Record!.Ie!.Value).ToList();
            ies.ShouldBeInOrder(SortDirection.Ascending);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Carried_text_parses_and_bad_values_are_named()
    {
        var (values, invalid) = CarriedProperties.Parse(new Dictionary<string, string?>
        {
            ["capacity_mah_g"] = "495.9", ["redox_centers"] = "2.0", ["redox_stable"] = "No", ["homo_hartree"] = "", ["lumo_hartree"] = "abc",
        });
        values.ShouldBe(new CarriedValues(495.9, 2, false, null, null));
        invalid.ShouldBe(["lumo_hartree"]);
        CarriedProperties.Parse(null).Values.IsEmpty.ShouldBeTrue();
        CarriedProperties.Parse(new Dictionary<string, string?> { ["redox_stable"] = "maybe", ["redox_centers"] = "2.5" }).Invalid
            .ShouldBe(["redox_centers", "redox_stable"]);
    }

    [Fact]
    public void Carried_values_merge_mean_for_doubles_first_for_int_and_bool()
    {
        var merged = CarriedProperties.Merge([
            new CarriedValues(100, null, true, -0.2, null),
            new CarriedValues(200, 3, false, -0.3, -0.1),
            new CarriedValues(null, 4, null, null, null)]);
        merged.CapacityMahG.ShouldBe(150);
        merged.RedoxCenters.ShouldBe(3);       // first row that has a value
        merged.RedoxStable.ShouldBe(true);
        merged.HomoHartree!.Value.ShouldBe(-0.25, 1e-12);
        merged.LumoHartree.ShouldBe(-0.1);
    }

    private static CheckedRecord Row(int row, string ie, string ea, IReadOnlyDictionary<string, string?>? carried = null) =>
        RecordChecks.Check(new RawRecord(row, $"id{row}", "C", null, ie, ea, carried), Omead.Variant(null)).Record.ShouldNotBeNull();

    [Fact]
    public void Flags_mark_suspicious_molecules_and_keep_them()
    {
        var dedup = new Deduplicator(Omead.CurationOf(null));
        dedup.Add(Row(2, "5.6", "2.8"), "clean").ShouldBeTrue();
        dedup.Add(Row(3, "3.1", "3.4"), "reduced-before-oxidised");
        dedup.Add(Row(4, "10.5", "1.0"), "absurd-ie");
        dedup.Add(Row(5, "6.0", "9.5"), "absurd-ea-and-above");
        dedup.Add(Row(6, "5.0", "2.0"), "spread");
        dedup.Add(Row(7, "5.3", "2.0"), "spread");                   // IE spread 0.3 > 0.1
        dedup.Add(Row(8, "5.0", "2.0"), "tight");
        dedup.Add(Row(9, "5.1", "2.0"), "tight");                    // spread exactly 0.1: not above the threshold
        dedup.Add(Row(10, "5.0", "2.0"), "hidden-by-mean");
        dedup.Add(Row(11, "0.5", "2.0"), "hidden-by-mean");          // mean 2.75 is plausible; row 11 is not
        dedup.Add(Row(12, "1.0", "-2.0"), "on-the-bounds");          // inclusive bounds: plausible
        dedup.Add(Row(13, "5.5", "", new Dictionary<string, string?> { ["capacity_mah_g"] = "n/a" }), "bad-carry");

        var molecules = dedup.Molecules().ToDictionary(m => m.CanonicalSmiles);
        molecules.Count.ShouldBe(9);
        molecules["clean"].Flags.ShouldBe("");
        molecules["reduced-before-oxidised"].Flags.ShouldBe("reduction-above-oxidation");
        molecules["absurd-ie"].Flags.ShouldBe("implausible-ie");
        molecules["absurd-ea-and-above"].Flags.ShouldBe("reduction-above-oxidation;implausible-ea");
        molecules["spread"].Flags.ShouldBe("duplicate-spread");
        molecules["tight"].Flags.ShouldBe("");
        molecules["hidden-by-mean"].Flags.ShouldBe("implausible-ie;duplicate-spread");
        molecules["on-the-bounds"].Flags.ShouldBe("");
        molecules["bad-carry"].Flags.ShouldBe("invalid-capacity_mah_g");
        molecules["bad-carry"].Carried.ShouldBeNull();            // the only carried value did not parse

        var counts = MoleculeFlags.Count(molecules.Values);
        counts.ShouldBe(new Dictionary<string, int>
        {
            ["duplicate-spread"] = 2, ["implausible-ea"] = 1, ["implausible-ie"] = 2, ["invalid-capacity_mah_g"] = 1, ["reduction-above-oxidation"] = 2,
        }, ignoreOrder: true);
        counts.Values.Sum().ShouldBe(molecules.Values.Sum(m => MoleculeFlags.Split(m.Flags).Count));
    }

    [Fact]
    public void Without_rules_only_the_physics_flag_applies()
    {
        var dedup = new Deduplicator();
        dedup.Add(Row(2, "-2.27", "-3.0"), "a");
        dedup.Add(Row(3, "5.0", "6.0"), "b");
        dedup.Add(Row(4, "5.5", "6.0"), "b");
        dedup.Molecules().Select(m => m.Flags).ShouldBe(["", "reduction-above-oxidation"]);
    }
}

public sealed class OmeadStageTests(ITestOutputHelper output) : IDisposable
{
    private readonly string store = Path.Combine(Path.GetTempPath(), "os-omead-" + Guid.NewGuid().ToString("N"));
    private readonly MemoryStageLog log = new();
    private static readonly FingerprintSpec R1 = new(1, 1024);

    public void Dispose()
    {
        if (Directory.Exists(store)) Directory.Delete(store, recursive: true);
    }

    private async Task<(FeatureSet Features, FeaturizeSummary Summary)> FeaturizeAsync(DatasetManifest dataset, string? variant = null)
    {
        var artifacts = new ArtifactStore(store, log);
        var fetched = await new FetchStage(artifacts, log).RunAsync(dataset, Repo.Root);
        var features = await new FeaturizeStage(artifacts, new Rdkit(), log).RunAsync(fetched, variant, [R1]);
        return (features, System.Text.Json.JsonSerializer.Deserialize<FeaturizeSummary>(features.Artifact.Manifest.Summary!, Json.Options)!);
    }

    [Fact]
    public async Task Hand_made_rows_featurize_with_flags_counted_and_carried_columns_round_trip()
    {
        var path = OmeadCsv.Write(
            OmeadCsv.Row("1", "O=C1C=CC(=O)C=C1", 5.8, 3.9, capacity: "495.9", centers: "2", stable: "yes", homo: -0.28, lumo: -0.14),
            OmeadCsv.Row("2", "C1=CC(=O)C=CC1=O", 6.2, 3.9, capacity: "496.1", centers: "3", stable: "no", homo: -0.26, lumo: -0.12), // same molecule
            OmeadCsv.Row("3", "CCN(CC)CC", 4.1, 4.6, capacity: "", centers: "", stable: ""),                                        // EA > IE, no carried values
            OmeadCsv.Row("4", "CCOC1=N=C(C2=C1CSC(=C2O)Cl)OC=O", 5.0, 2.0),                                                       // RDKit-invalid (SOURCE.md)
            OmeadCsv.Row("5", "CC#N", -2.27, 0.5, capacity: "x"),                                                                     // implausible IE, bad capacity
            OmeadCsv.Row("6", "[Li]OC(=O)c1ccc(cc1)C(=O)O[Li]", 6.5, 1.9));                                                          // lithium salt written covalently: kept
        try
        {
            var dataset = Repo.WithSource(Repo.Dataset("omead"), path, "csv", await ContentHash.OfFileAsync(path));
            var (features, summary) = await FeaturizeAsync(dataset);
            var molecules = await features.MoleculesAsync();
            var rejects = await features.RejectsAsync();

            summary.Rows.ShouldBe(6);
            (summary.Accepted + summary.Rejected).ShouldBe(summary.Rows);
            (molecules.Sum(m => m.Count) + rejects.Count).ShouldBe(6);
            summary.MergedDuplicates.ShouldBe(1);
            rejects.Single().Reason.ShouldStartWith("invalid SMILES: ");
            rejects.Single().Row.ShouldBe(5);

            molecules.Count.ShouldBe(4);
            var quinone = molecules[0];
            quinone.Count.ShouldBe(2);
            quinone.Ie!.Value.ShouldBe(6.0, 1e-9);
            quinone.Flags.ShouldBe("duplicate-spread");                                        // IE 5.8 vs 6.2
            quinone.Carried.ShouldNotBeNull();
            quinone.Carried.CapacityMahG!.Value.ShouldBe(496.0, 1e-9);                          // mean
            quinone.Carried.RedoxCenters.ShouldBe(2);                                           // first row
            quinone.Carried.RedoxStable.ShouldBe(true);                                         // first row
            quinone.Carried.HomoHartree!.Value.ShouldBe(-0.27, 1e-12);
            quinone.Carried.LumoHartree!.Value.ShouldBe(-0.13, 1e-12);
            molecules[1].Flags.ShouldBe("reduction-above-oxidation");
            molecules[1].Carried.ShouldBe(new CarriedValues(null, null, null, -0.25, -0.05));
            molecules[2].Flags.ShouldBe("reduction-above-oxidation;implausible-ie;invalid-capacity_mah_g"); // −2.27 < 0.5 too
            molecules[2].Carried!.CapacityMahG.ShouldBeNull();
            molecules[3].CanonicalSmiles.ShouldContain("[Li]");
            molecules[3].Flags.ShouldBe("");

            summary.FlaggedMolecules.ShouldBe(3);
            summary.Flags.ShouldNotBeNull().ShouldBe(new Dictionary<string, int>
            {
                ["duplicate-spread"] = 1, ["implausible-ie"] = 1, ["invalid-capacity_mah_g"] = 1, ["reduction-above-oxidation"] = 2,
            }, ignoreOrder: true);
            log.Lines.ShouldContain(l => l.Contains("flagged") && l.Contains("reduction-above-oxidation"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Auxiliary_targets_featurize_per_molecule_with_duplicates_averaged_and_bad_text_flagged()
    {
        var bad = OmeadCsv.Row("3", "CCN(CC)CC", 4.1, 2.6).Split(',');
        bad[4] = "n/a";   // gas-phase oxidation: not a number
        bad[2] = "";      // homo: missing
        var path = OmeadCsv.Write(
            OmeadCsv.Row("1", "O=C1C=CC(=O)C=C1", 5.8, 3.9, homo: -0.28),
            OmeadCsv.Row("2", "C1=CC(=O)C=CC1=O", 6.2, 3.9, homo: -0.26), // the same molecule
            string.Join(',', bad));
        try
        {
            var dataset = Repo.WithSource(Repo.Dataset("omead"), path, "csv", await ContentHash.OfFileAsync(path));
            var (features, _) = await FeaturizeAsync(dataset);
            var molecules = await features.MoleculesAsync();
            File.Exists(features.Artifact.PathOf(FeatureTables.Auxiliary)).ShouldBeTrue();

            // OmeadCsv puts gas oxidation at oxidation_solv + 2.0, reduction at reduction_solv − 1.5, ip_solv at + 0.03, ea_solv at − 0.04.
            var quinone = molecules[0].Auxiliary.ShouldNotBeNull();
            quinone["oxidation_gas"].ShouldBe(8.0, 1e-12);          // mean of 7.8 and 8.2
            quinone["reduction_gas"].ShouldBe(2.4, 1e-12);
            quinone["ip_solv"].ShouldBe(6.03, 1e-12);
            quinone["ea_solv"].ShouldBe(3.86, 1e-12);
            quinone["homo"].ShouldBe(-0.27, 1e-12);
            quinone["lumo"].ShouldBe(-0.05, 1e-12);

            var amine = molecules[1];
            amine.Auxiliary.ShouldNotBeNull().Keys.ShouldBe(["ea_solv", "ip_solv", "lumo", "reduction_gas"], ignoreOrder: true);
            amine.Flags.ShouldBe("invalid-oxidation_gas");          // bad text flags, missing text does not
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("solution", new[] { "gas", "orbital", "vertical" }, new[] { "oxidation_gas", "reduction_gas", "homo", "lumo" }, new[] { "auxiliary group 'vertical': dataset 'omead' has none" })]
    [InlineData("gas", new[] { "gas", "electronic" }, new[] { "ip_solv", "ea_solv" }, new[] { "auxiliary 'oxidation_gas' (gas): it is this variant's IE or EA", "auxiliary 'reduction_gas' (gas): it is this variant's IE or EA" })]
    [InlineData("solution-electronic", new[] { "electronic" }, new string[0], new[] { "auxiliary 'ip_solv' (electronic): it is this variant's IE or EA", "auxiliary 'ea_solv' (electronic): it is this variant's IE or EA" })]
    public void Auxiliary_groups_resolve_per_variant_and_never_repeat_a_target(string variant, string[] groups, string[] targets, string[] skipped)
    {
        var (chosen, notes) = Repo.Dataset("omead").AuxiliaryTargets(groups, variant);
        chosen.ShouldBe(targets);
        notes.ShouldBe(skipped);
    }

    [Fact]
    public void Ocelot_vertical_variant_skips_its_own_vertical_energies()
    {
        var ocelot = Repo.Dataset("ocelot");
        ocelot.AuxiliaryTargets(["vertical"], "adiabatic").Targets.ShouldBe(["vie", "vea"]);
        ocelot.AuxiliaryTargets(["vertical", "excited"], "vertical").Targets.ShouldBe(["s0s1", "s0t1"]);
    }

    [Fact]
    public async Task Molecules_table_round_trips_every_new_column_and_keeps_nulls()
    {
        var path = Path.Combine(store, "molecules.parquet");
        Directory.CreateDirectory(store);
        Molecule[] molecules =
        [
            new(0, "a", "C", "C", 0, 5.0, 1.0, 0.0, 0.0, 1, "2", "", new CarriedValues(248.0, 2, true, -0.25, -0.1)),
            new(1, "b", "CC", "CC", 0, null, 2.0, null, 0.3, 2, "3;4", "reduction-above-oxidation;duplicate-spread", new CarriedValues(null, 0, false, null, null)),
            new(2, "c", "CCC", "CCC", 0, 6.0, null, 0.0, null, 1, "5"),
        ];
        await FeatureTables.WriteMoleculesAsync(path, molecules);
        (await FeatureTables.ReadMoleculesAsync(path)).ShouldBe(molecules);
    }

    [Fact]
    public async Task Fixture_featurizes_with_its_invalid_row_rejected_and_flags_counted()
    {
        var (features, summary) = await FeaturizeAsync(Repo.Dataset("omead-fixture"));
        var molecules = await features.MoleculesAsync();
        var rejects = await features.RejectsAsync();
        summary.Rows.ShouldBe(300);
        (molecules.Sum(m => m.Count) + rejects.Count).ShouldBe(300);
        rejects.Single().Id.ShouldBe("8061");
        rejects.Single().Reason.ShouldStartWith("invalid SMILES: ");
        summary.Molecules.ShouldBe(299);
        summary.Flags!["reduction-above-oxidation"].ShouldBe(molecules.Count(m => m.Ea > m.Ie));
        summary.Flags["reduction-above-oxidation"].ShouldBeGreaterThan(0);
        molecules.ShouldAllBe(m => m.Carried != null && m.Carried.CapacityMahG != null && m.Carried.RedoxStable != null && m.Carried.HomoHartree != null);
    }

    [Fact]
    public async Task Gas_variant_reads_the_gas_columns()
    {
        var (features, _) = await FeaturizeAsync(Repo.Dataset("omead-fixture"), "gas");
        var molecules = await features.MoleculesAsync();
        var raw = File.ReadLines(Path.Combine(Repo.Root, "data/fixtures/omead_fixture_300.csv")).Skip(1).First().Split(',');
        molecules[0].Ie!.Value.ShouldBe(double.Parse(raw[4], CultureInfo.InvariantCulture), 1e-12);   // oxidation
        molecules[0].Ea!.Value.ShouldBe(double.Parse(raw[5], CultureInfo.InvariantCulture), 1e-12);   // reduction
    }

    /// <summary>The whole development split: every row accounted for, and the counts in the report measured here.</summary>
    [OmeadDevFact]
    public async Task Dev_split_featurizes_with_every_row_accounted_for()
    {
        var (features, summary) = await FeaturizeAsync(Repo.Dataset("omead"));
        var molecules = await features.MoleculesAsync();
        var rejects = await features.RejectsAsync();
        summary.Rows.ShouldBe(23_587);
        (molecules.Sum(m => m.Count) + rejects.Count).ShouldBe(summary.Rows);
        (summary.Accepted + summary.Rejected).ShouldBe(summary.Rows);
        summary.RejectReasons.ShouldBe(new Dictionary<string, int> { ["invalid SMILES"] = 13 }, ignoreOrder: true); // SOURCE.md
        summary.MergedDuplicates.ShouldBe(summary.Accepted - summary.Molecules);
        summary.Flags!.Values.Sum().ShouldBe(molecules.Sum(m => MoleculeFlags.Split(m.Flags).Count));
        summary.Flags["reduction-above-oxidation"].ShouldBe(molecules.Count(m => m.Ea > m.Ie));
        // The Li/Na/Zn compounds are written covalently ([Li]OC(=O)…), one fragment each: kept as molecules, none rejected.
        molecules.Count(m => m.CanonicalSmiles.Contains("[Li]") || m.CanonicalSmiles.Contains("[Na]") || m.CanonicalSmiles.Contains("[Zn]"))
            .ShouldBe(43);
        molecules.ShouldAllBe(m => m.Carried != null);
        foreach (var line in log.Lines.Where(l => l.StartsWith("featurize omead") || l.StartsWith("  "))) output.WriteLine(line);
    }
}
