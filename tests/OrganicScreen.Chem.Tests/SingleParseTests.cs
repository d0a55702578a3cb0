using OrganicScreen.Core;

namespace OrganicScreen.Chem.Tests;

/// <summary>
/// <see cref="Rdkit.Molecules(IReadOnlyList{string}, MoleculeRequest, int)"/> parses each molecule once and returns what
/// the prediction path used to get from three calls (Featurize with canonical SMILES, Descriptors, the models' own
/// Featurize or Graphs), each parsing again. Every part must equal what those calls give, which are themselves checked
/// against Python RDKit (ecfp reference TSV, DescriptorTests, MolecularGraphTests): the verdict and error text,
/// canonical SMILES, every fingerprint bit, every descriptor and every graph feature, on the full path (canonical
/// SMILES, graphs) and on the fast one a library screen takes (fingerprints and descriptors only).
/// </summary>
public sealed class SingleParseTests
{
    private readonly Rdkit _rdkit = new();

    private static readonly IReadOnlyList<FingerprintSpec> Specs = [.. EcfpOracle.Specs, new(1, 1024), new(2, 2048), new(0, 2048), new(2, 7)];

    private static readonly MoleculeRequest Full = new(Specs, CanonicalSmiles: true, Descriptors: true, Graphs: true);
    private static readonly MoleculeRequest Fast = new(Specs, CanonicalSmiles: false, Descriptors: true);

    /// <summary>Every part of <paramref name="actual"/> against the separate calls on the same SMILES.</summary>
    private void ShouldEqualSeparateCalls(IReadOnlyList<string> smiles, FeaturizedMolecules actual, MoleculeRequest request, string label)
    {
        var featurized = _rdkit.Featurize(smiles, Specs, threads: 0, canonicalSmiles: true);
        var described = _rdkit.Descriptors(smiles);
        actual.Molecules.Count.ShouldBe(smiles.Count, label);
        var verdicts = Enumerable.Range(0, smiles.Count)
            .Where(i => actual.Molecules[i].Error != featurized.Molecules[i].Error
                        || (request.CanonicalSmiles ? actual.Molecules[i].Canonical != featurized.Molecules[i].Canonical : actual.Molecules[i].Canonical is not null))
            .Select(i => $"{smiles[i]}: {actual.Molecules[i]} vs {featurized.Molecules[i]}").Take(5).ToList();
        verdicts.ShouldBeEmpty($"{label}: verdict, error text or canonical SMILES differs");
        foreach (var spec in Specs)
        {
            actual.Fingerprints[spec].Offsets.ShouldBe(featurized.Fingerprints[spec].Offsets, $"{label} {spec}");
            actual.Fingerprints[spec].Indices.ShouldBe(featurized.Fingerprints[spec].Indices, $"{label} {spec}");
        }

        var descriptors = actual.Descriptors.ShouldNotBeNull(label);
        var mismatches = Enumerable.Range(0, smiles.Count).Where(i => !SameDescriptors(descriptors[i], described[i].Descriptors))
            .Select(i => $"{smiles[i]}: {descriptors[i]} vs {described[i].Descriptors}").Take(5).ToList();
        mismatches.ShouldBeEmpty($"{label}: descriptors differ");
        if (!request.Graphs)
        {
            actual.Graphs.ShouldBeNull(label);
            return;
        }

        var graphs = _rdkit.Graphs(smiles).Graphs;
        var mine = actual.Graphs.ShouldNotBeNull(label);
        mine.AtomOffsets.ShouldBe(graphs.AtomOffsets, label);
        mine.BondOffsets.ShouldBe(graphs.BondOffsets, label);
        mine.AtomFeatures.ShouldBe(graphs.AtomFeatures, label);
        mine.BondAtoms.ShouldBe(graphs.BondAtoms, label);
        mine.BondFeatures.ShouldBe(graphs.BondFeatures, label);
    }

    private static bool SameDescriptors(MoleculeDescriptors? a, MoleculeDescriptors? b) =>
        a is null || b is null
            ? a is null && b is null
            : a.MolarMass.Equals(b.MolarMass) && a.HeavyAtoms == b.HeavyAtoms && a.Elements.SequenceEqual(b.Elements)
              && a.FormalCharge == b.FormalCharge && a.Fragments == b.Fragments;

    [Fact]
    public void One_parse_gives_the_oracle_canonical_smiles_and_bits()
    {
        var rows = EcfpOracle.Load();
        var smiles = rows.Select(r => r.Smiles).ToList();
        foreach (var request in new[] { Full, Fast })
        {
            var batch = _rdkit.Molecules(smiles, request);
            var label = request.CanonicalSmiles ? "full" : "fast";
            var mismatches = new List<string>();
            for (var i = 0; i < rows.Count; i++)
            {
                batch.Molecules[i].IsValid.ShouldBe(rows[i].IsValid, $"{label} line {rows[i].Line} {rows[i].Smiles}");
                if (request.CanonicalSmiles && batch.Molecules[i].Canonical != rows[i].Canonical) mismatches.Add($"{label} line {rows[i].Line} canonical");
                for (var k = 0; k < EcfpOracle.Specs.Count; k++)
                    if (!batch.Fingerprints[EcfpOracle.Specs[k]].Row(i).SequenceEqual(rows[i].Bits[k]))
                        mismatches.Add($"{label} line {rows[i].Line} {rows[i].Smiles} {EcfpOracle.Specs[k]}");
            }

            mismatches.ShouldBeEmpty();
        }
    }

    [Fact]
    public void One_parse_equals_the_separate_calls_on_oracle_rows_and_tricky_inputs()
    {
        var smiles = EcfpOracle.Load().Select(r => r.Smiles).Concat(FingerprintFastPathTests.Tricky).ToList();
        ShouldEqualSeparateCalls(smiles, _rdkit.Molecules(smiles, Full), Full, "full");
        ShouldEqualSeparateCalls(smiles, _rdkit.Molecules(smiles, Fast), Fast, "fast");
        // The test hooks (full sanitisation, RDKit's Morgan code) agree too: the port and the fast parse change nothing.
        foreach (var path in new[] { FingerprintOnlyPath.FullSanitize, FingerprintOnlyPath.RdkitMorgan, FingerprintOnlyPath.Legacy })
            ShouldEqualSeparateCalls(smiles, _rdkit.Molecules(smiles, Fast, threads: 2, path), Fast, $"fast {path}");
    }

    [Fact]
    public void Salts_mixtures_and_invalid_molecules_keep_their_verdicts_and_empty_rows()
    {
        string[] smiles = ["[Na+].[Cl-]", "C.C.C.C", "c1cccc1", "", "CCO", "C1CC", "O=C1C=CC(=O)C=C1"];
        foreach (var request in new[] { Full, Fast })
        {
            var batch = _rdkit.Molecules(smiles, request, threads: 1);
            batch.Descriptors![0]!.Fragments.ShouldBe(2);
            batch.Descriptors[1]!.Fragments.ShouldBe(4);
            foreach (var i in new[] { 2, 3, 5 })
            {
                batch.Molecules[i].IsValid.ShouldBeFalse(smiles[i]);
                batch.Molecules[i].Error.ShouldBe(_rdkit.Parse(smiles[i]).Error, smiles[i]);
                batch.Descriptors[i].ShouldBeNull(smiles[i]);
                foreach (var spec in Specs) batch.Fingerprints[spec].Row(i).Length.ShouldBe(0);
            }

            if (request.Graphs) batch.Graphs!.Atoms(2).ShouldBe(0);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Any_thread_count_gives_the_same_batch(int threads)
    {
        var smiles = EcfpOracle.Load().Select(r => r.Smiles).Concat(FingerprintFastPathTests.Tricky).ToList();
        var expected = _rdkit.Molecules(smiles, Full, threads: 2);
        var actual = _rdkit.Molecules(smiles, Full, threads);
        actual.Molecules.ShouldBe(expected.Molecules);
        foreach (var spec in Specs) actual.Fingerprints[spec].Indices.ShouldBe(expected.Fingerprints[spec].Indices);
        actual.Graphs!.AtomFeatures.ShouldBe(expected.Graphs!.AtomFeatures);
    }

    /// <summary>All 22,725 OCELOT dev SMILES, both paths (about half a minute on 2 cores).</summary>
    [OcelotDevFact]
    public void One_parse_equals_the_separate_calls_on_all_of_ocelot_dev()
    {
        var smiles = OcelotDev.TryLoad().ShouldNotBeNull();
        ShouldEqualSeparateCalls(smiles, _rdkit.Molecules(smiles, Full), Full, "full");
        ShouldEqualSeparateCalls(smiles, _rdkit.Molecules(smiles, Fast), Fast, "fast");
    }
}
