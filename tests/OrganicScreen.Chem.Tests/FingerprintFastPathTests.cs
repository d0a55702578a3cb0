using OrganicScreen.Core;

namespace OrganicScreen.Chem.Tests;

/// <summary>
/// The fingerprint-only mode (canonicalSmiles: false) takes a fast path: partial sanitisation and a port
/// of RDKit's Morgan loop. It must be indistinguishable from the full path: same bits for every spec,
/// same valid/invalid verdicts, same error texts. The reference is the old path with one RDKit
/// getFingerprintAsBitVect call per spec, i.e. exactly Python's
/// GetMorganFingerprintAsBitVect(MolFromSmiles(s), radius, nBits).
/// </summary>
public sealed class FingerprintFastPathTests
{
    private readonly Rdkit _rdkit = new();

    private static readonly IReadOnlyList<FingerprintSpec> Mixed =
        [.. EcfpOracle.Specs, new(0, 2048), new(2, 4096), new(4, 1024), new(6, 1 << 20), new(2, 1), new(2, 7)];

    /// <summary>
    /// Inputs aimed at the places where the fast path differs from MolFromSmiles: explicit/isotopic H
    /// (removeHs), valence and kekulisation failures, radicals, charges, stereo marks (which keep the
    /// full path), CXSMILES/name suffixes, odd characters, empty-ish and NUL input.
    /// </summary>
    public static readonly IReadOnlyList<string> Tricky =
    [
        // invalid: kekulisation, valence, syntax, unknown atoms
        "c1cccc1", "c1ccc1", "c1ccccc1c", "n1cccc1", "c1ccnc1", "C[N+](C)(C)(C)C", "[N+](C)(C)(C)(C)C",
        "CN(C)(C)(C)C", "C(C)(C)(C)(C)C", "O=O=O", "[CH5]", "FF(F)F", "C1CC", "C1CC2", "CC(C", "CC)C", "C==C",
        "[Xx]", "Xy", "[C", "C]", "c", "1CC", "C%1CC", "B1OB(O1)",
        // valid but unusual: explicit and isotopic hydrogens, charges, radicals, aromatic heteroatoms
        "[nH]1cccc1", "O=c1cccc[nH]1", "c1ccc2c(c1)[nH]c1ccccc12", "[H]C([H])([H])[H]", "[H][H]", "[H]",
        "[2H]C([2H])([2H])O", "[13CH4]", "[H+]", "[OH-]", "[Na+].[Cl-]", "[CH2]C", "[C]", "[CH]", "[Fe+2]",
        "[O-][N+](=O)c1ccccc1", "CN(=O)=O", "O=[N+]([O-])[O-]", "C=C=C=C", "C%10CC%10", "[se]1cccc1",
        "c1ccc(cc1)B(O)O", "*C", "[*]c1ccccc1", "o1cccc1C", "C12C3C4C1C5C2C3C45", "[Cu]1[Cu]1",
        "c1cc2ccc3cccc4ccc(c1)c2c34", "C1=CC=CC=C1", "O=C1NC=CC2=C1C=CC=C2", "O=C1C=CNC=C1", "[H]c1ccccc1[2H]", "[H]N([H])C", "[H][C@@H](F)Cl",
        // stereo marks (assignStereochemistry can change an atom's H count: issue 194)
        "F[C@H]Cl", "C[C@H](N)O", "C[C@@H](F)Cl", "C/C=C/C", "C/C=C\\C", "F/C=C/F", "[C@H]", "C[C@]",
        "C[Si@SP1](F)(Cl)Br", "N[C@H](C)C(=O)O",
        // CXSMILES, names and text the lexer stops at
        "CC ethane", "CCé", "CC |$R;$|", "C1CC1 |(0,0,0;1,0,0;0,1,0)|", "CO |^1:0|", "CC\tname",
        "", " ", "C\0C",
    ];

    private FeaturizedBatch Reference(IReadOnlyList<string> smiles, IReadOnlyList<FingerprintSpec> specs) =>
        _rdkit.Featurize(smiles, specs, threads: 0, canonicalSmiles: false, separateSpecs: true, FingerprintOnlyPath.Legacy);

    private static void ShouldBeIdentical(IReadOnlyList<string> smiles, IReadOnlyList<FingerprintSpec> specs,
        FeaturizedBatch actual, FeaturizedBatch expected, string label)
    {
        actual.Molecules.Count.ShouldBe(smiles.Count, label);
        var verdicts = Enumerable.Range(0, smiles.Count)
            .Where(i => actual.Molecules[i] != expected.Molecules[i])
            .Select(i => $"{smiles[i]}: {actual.Molecules[i]} vs {expected.Molecules[i]}").Take(5).ToList();
        verdicts.ShouldBeEmpty($"{label}: validity or error text differs");
        foreach (var spec in specs)
        {
            var mismatches = Enumerable.Range(0, smiles.Count)
                .Where(i => !actual.Fingerprints[spec].Row(i).SequenceEqual(expected.Fingerprints[spec].Row(i)))
                .Select(i => smiles[i]).Take(5).ToList();
            mismatches.ShouldBeEmpty($"{label} {spec}");
            actual.Fingerprints[spec].Offsets.ShouldBe(expected.Fingerprints[spec].Offsets, $"{label} {spec}");
        }
    }

    /// <summary>Fast path, each half of it alone, and the shared RDKit pass, all against per-spec RDKit calls.</summary>
    private void AllPathsShouldMatchReference(IReadOnlyList<string> smiles, IReadOnlyList<FingerprintSpec> specs, int threads = 0)
    {
        var reference = Reference(smiles, specs);
        foreach (var path in new[] { FingerprintOnlyPath.Fast, FingerprintOnlyPath.FullSanitize, FingerprintOnlyPath.RdkitMorgan, FingerprintOnlyPath.Legacy })
        {
            var batch = _rdkit.Featurize(smiles, specs, threads, canonicalSmiles: false, separateSpecs: false, path);
            ShouldBeIdentical(smiles, specs, batch, reference, path.ToString());
        }
        // The public API (what the pipeline and the benchmark call) is the fast path.
        ShouldBeIdentical(smiles, specs, _rdkit.Featurize(smiles, specs, threads, canonicalSmiles: false), reference, "public");
    }

    [Fact]
    public void Fast_path_equals_full_path_on_every_oracle_row()
    {
        var rows = EcfpOracle.Load();
        AllPathsShouldMatchReference(rows.Select(r => r.Smiles).ToList(), Mixed);
    }

    [Fact]
    public void Fast_path_reproduces_the_python_oracle()
    {
        var rows = EcfpOracle.Load();
        var batch = _rdkit.Featurize(rows.Select(r => r.Smiles).ToList(), EcfpOracle.Specs, threads: 2, canonicalSmiles: false);
        var mismatches = new List<string>();
        for (var i = 0; i < rows.Count; i++)
        {
            batch.Molecules[i].IsValid.ShouldBe(rows[i].IsValid, $"line {rows[i].Line} {rows[i].Smiles}");
            for (var k = 0; k < EcfpOracle.Specs.Count; k++)
                if (!batch.Fingerprints[EcfpOracle.Specs[k]].Row(i).SequenceEqual(rows[i].Bits[k]))
                    mismatches.Add($"line {rows[i].Line} {rows[i].Smiles} {EcfpOracle.Specs[k]}");
        }
        mismatches.ShouldBeEmpty();
    }

    [Fact]
    public void Tricky_inputs_get_the_same_verdicts_messages_and_bits()
    {
        AllPathsShouldMatchReference(Tricky, Mixed, threads: 1);
        var fast = _rdkit.Featurize(Tricky, [new FingerprintSpec(2, 2048)], threads: 1, canonicalSmiles: false);
        for (var i = 0; i < Tricky.Count; i++)
        {
            // Same verdict and message as Chem.MolFromSmiles through Parse.
            var parsed = _rdkit.Parse(Tricky[i]);
            fast.Molecules[i].Error.ShouldBe(parsed.Error, Tricky[i]);
        }
        var invalid = fast.Molecules.Where(m => !m.IsValid).Select(m => m.Input).ToList();
        invalid.ShouldContain("c1cccc1");
        invalid.ShouldContain("C[N+](C)(C)(C)C");
        invalid.ShouldContain("C1CC");
        invalid.ShouldContain("[Xx]");
        fast.Molecules.Single(m => m.Input == "c1cccc1").Error.ShouldNotBeNull().ShouldContain("Can't kekulize mol");
        fast.Molecules.Single(m => m.Input == "CN(C)(C)(C)C").Error.ShouldNotBeNull().ShouldContain("Explicit valence");
        fast.Molecules.Single(m => m.Input == "C1CC").Error.ShouldNotBeNull().ShouldContain("SMILES Parse Error");
    }

    [Fact]
    public void Oracle_invalid_rows_are_rejected_with_the_same_message()
    {
        var invalid = EcfpOracle.Load().Where(r => !r.IsValid).Select(r => r.Smiles).ToList();
        invalid.Count.ShouldBe(9);
        var fast = _rdkit.Featurize(invalid, EcfpOracle.Specs, threads: 1, canonicalSmiles: false);
        for (var i = 0; i < invalid.Count; i++)
        {
            fast.Molecules[i].IsValid.ShouldBeFalse(invalid[i]);
            fast.Molecules[i].Error.ShouldBe(_rdkit.Parse(invalid[i]).Error, invalid[i]);
            foreach (var spec in EcfpOracle.Specs) fast.Fingerprints[spec].Row(i).Length.ShouldBe(0);
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Fast_path_with_many_threads_equals_single_thread(int threads)
    {
        var rows = EcfpOracle.Load().Select(r => r.Smiles).Concat(Tricky).ToList();
        var random = new Random(99);
        var smiles = Enumerable.Range(0, 4).SelectMany(_ => rows.OrderBy(_ => random.Next())).ToList();
        var single = _rdkit.Featurize(smiles, Mixed, threads: 1, canonicalSmiles: false);
        ShouldBeIdentical(smiles, Mixed, _rdkit.Featurize(smiles, Mixed, threads, canonicalSmiles: false), single, $"{threads} threads");
    }

    /// <summary>All 22,725 OCELOT dev SMILES, every oracle setting plus odd ones (a few seconds on 2 cores).</summary>
    [OcelotDevFact]
    public void Fast_path_equals_full_path_on_all_of_ocelot_dev()
    {
        var smiles = OcelotDev.TryLoad().ShouldNotBeNull();
        smiles.Count.ShouldBe(22725);
        IReadOnlyList<FingerprintSpec> specs = [.. EcfpOracle.Specs, new(0, 2048), new(4, 1024), new(2, 7)];
        var reference = Reference(smiles, specs);
        ShouldBeIdentical(smiles, specs, _rdkit.Featurize(smiles, specs, threads: 0, canonicalSmiles: false), reference, "fast");
        // Canonical mode (the Featurize stage) is untouched and agrees too.
        var canonical = _rdkit.Featurize(smiles, [FeaturizationBenchmark.Spec], threads: 0, canonicalSmiles: true);
        var fast = _rdkit.Featurize(smiles, [FeaturizationBenchmark.Spec], threads: 0, canonicalSmiles: false);
        canonical.Molecules.Select(m => m.Error).ShouldBe(fast.Molecules.Select(m => m.Error));
        canonical.Fingerprints[FeaturizationBenchmark.Spec].Indices.ShouldBe(fast.Fingerprints[FeaturizationBenchmark.Spec].Indices);
    }
}

/// <summary>Skips, saying why, when ../shared/data/ocelot_chromophore_v1/ocelot_chromophore_v1.dev.csv is not next to the repository.</summary>
public sealed class OcelotDevFactAttribute : FactAttribute
{
    public OcelotDevFactAttribute()
    {
        if (OcelotDev.Find() is null)
            Skip = "OCELOT dev split not found at ../shared/data/ocelot_chromophore_v1/ocelot_chromophore_v1.dev.csv relative to the repository root";
    }
}
