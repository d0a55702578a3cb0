using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using OrganicScreen.Core;
using Xunit.Abstractions;

namespace OrganicScreen.Chem.Tests;

/// <summary>
/// Rdkit.Graphs: Chemprop v1 atom/bond features of RDKit 2022.09.3 molecules. The expected values are
/// what RDKit itself reports (Atom.GetHybridization, Bond.GetStereo, ...) for textbook molecules, so
/// each can be checked by hand; the structural checks then run over every oracle row and OCELOT dev.
/// </summary>
public sealed partial class MolecularGraphTests(ITestOutputHelper output)
{
    private readonly Rdkit _rdkit = new();

    private static IReadOnlyList<string> AtomNames => GraphFeatureLayout.AtomFeatureNames;
    private static IReadOnlyList<string> BondNames => GraphFeatureLayout.BondFeatureNames;

    // One-hot blocks per atom (element, degree, charge, chiral tag, H count, hybridisation) and the
    // two scalar columns after them.
    private const int AtomOneHotBlocks = 6;
    private static int Aromatic => AtomNames.Count - 2;
    private static int Mass => AtomNames.Count - 1;

    private MolecularGraphs Single(string smiles)
    {
        var batch = _rdkit.Graphs([smiles], threads: 1);
        batch.Molecules[0].Error.ShouldBeNull(smiles);
        return batch.Graphs;
    }

    private static ReadOnlySpan<float> AtomRow(MolecularGraphs g, int molecule, int atom) =>
        g.AtomFeatures.AsSpan((g.AtomOffsets[molecule] + atom) * g.AtomFeatureCount, g.AtomFeatureCount);

    private static ReadOnlySpan<float> BondRow(MolecularGraphs g, int molecule, int bond) =>
        g.BondFeatures.AsSpan((g.BondOffsets[molecule] + bond) * g.BondFeatureCount, g.BondFeatureCount);

    /// <summary>Names of the set columns of an atom row, mass left out (checked on its own).</summary>
    private static string Atom(MolecularGraphs g, int atom, int molecule = 0)
    {
        var row = AtomRow(g, molecule, atom);
        var hot = new List<string>();
        for (var k = 0; k < Mass; k++)
            if (row[k] != 0) hot.Add(row[k] == 1 ? AtomNames[k] : $"{AtomNames[k]}:{row[k]}");
        return string.Join(" ", hot);
    }

    private static string Bond(MolecularGraphs g, int bond, int molecule = 0)
    {
        var row = BondRow(g, molecule, bond);
        var hot = new List<string>();
        for (var k = 0; k < row.Length; k++)
            if (row[k] != 0) hot.Add(row[k] == 1 ? BondNames[k] : $"{BondNames[k]}:{row[k]}");
        return string.Join(" ", hot);
    }

    private static (int Begin, int End) Ends(MolecularGraphs g, int bond, int molecule = 0) =>
        (g.BondAtoms[2 * (g.BondOffsets[molecule] + bond)], g.BondAtoms[2 * (g.BondOffsets[molecule] + bond) + 1]);

    private static string AtomOf(string element, int degree, string charge, int hs, string hybridization,
        bool aromatic = false, string chiral = "CHI_UNSPECIFIED") =>
        $"element={element} degree={degree} formal_charge={charge} chiral_tag={chiral} num_hs={hs} hybridization={hybridization}"
        + (aromatic ? " aromatic" : "");

    [Fact]
    public void Layout_has_the_documented_columns_and_matches_the_native_library()
    {
        AtomNames.Count.ShouldBe(47);
        BondNames.Count.ShouldBe(13);
        AtomNames.Distinct().Count().ShouldBe(AtomNames.Count);
        BondNames.Distinct().Count().ShouldBe(BondNames.Count);
        AtomNames[0].ShouldBe("element=H");
        AtomNames[14].ShouldBe("element=other");
        AtomNames[15].ShouldBe("degree=0");
        AtomNames[22].ShouldBe("formal_charge=-2");
        AtomNames[28].ShouldBe("chiral_tag=CHI_UNSPECIFIED");
        AtomNames[33].ShouldBe("num_hs=0");
        AtomNames[39].ShouldBe("hybridization=SP");
        AtomNames[44].ShouldBe("hybridization=other");
        AtomNames[45].ShouldBe("aromatic");
        AtomNames[46].ShouldBe("mass*0.01");
        BondNames.ShouldBe(["bond_type=SINGLE", "bond_type=DOUBLE", "bond_type=TRIPLE", "bond_type=AROMATIC", "conjugated", "in_ring",
            "stereo=STEREONONE", "stereo=STEREOANY", "stereo=STEREOZ", "stereo=STEREOE", "stereo=STEREOCIS", "stereo=STEREOTRANS", "stereo=other"]);

        // The native table is the one that writes the numbers; the managed names must be its names.
        Marshal.PtrToStringUTF8(NativeMethods.GraphFeatureNames(NativeMethods.GraphAtom))!.Split('\n').ShouldBe(AtomNames);
        Marshal.PtrToStringUTF8(NativeMethods.GraphFeatureNames(NativeMethods.GraphBond))!.Split('\n').ShouldBe(BondNames);
        NativeMethods.GraphFeatureCount(NativeMethods.GraphAtom).ShouldBe(AtomNames.Count);
        NativeMethods.GraphFeatureCount(NativeMethods.GraphBond).ShouldBe(BondNames.Count);
        NativeMethods.GraphFeatureCount(2).ShouldBe(NativeMethods.ErrorArgument);
        NativeMethods.GraphFeatureNames(-1).ShouldBe(0);

        var g = Single("C");
        g.AtomFeatureCount.ShouldBe(47);
        g.BondFeatureCount.ShouldBe(13);
    }

    [Fact]
    public void Benzene_is_six_aromatic_CH_atoms_in_a_conjugated_ring()
    {
        var g = Single("c1ccccc1");
        g.Molecules.ShouldBe(1);
        g.Atoms(0).ShouldBe(6);
        g.Bonds(0).ShouldBe(6);
        for (var a = 0; a < 6; a++)
        {
            Atom(g, a).ShouldBe(AtomOf("C", 3, "0", 1, "SP2", aromatic: true));
            AtomRow(g, 0, a)[Mass].ShouldBe(0.12011f); // 12.011 * 0.01
        }
        for (var b = 0; b < 6; b++)
        {
            Bond(g, b).ShouldBe("bond_type=AROMATIC conjugated in_ring stereo=STEREONONE");
            Ends(g, b).ShouldBe((b, (b + 1) % 6)); // ring in SMILES order, closure last
        }
    }

    [Fact]
    public void Pyridinium_nitrogen_carries_the_positive_charge_and_its_H()
    {
        var g = Single("c1cc[nH+]cc1");
        g.Atoms(0).ShouldBe(6);
        g.Bonds(0).ShouldBe(6);
        Atom(g, 3).ShouldBe(AtomOf("N", 3, "+1", 1, "SP2", aromatic: true));
        AtomRow(g, 0, 3)[Mass].ShouldBe(0.14007f);
        foreach (var a in new[] { 0, 1, 2, 4, 5 })
            Atom(g, a).ShouldBe(AtomOf("C", 3, "0", 1, "SP2", aromatic: true));
    }

    [Fact]
    public void Acetate_has_a_negative_oxygen_and_single_and_double_bonds()
    {
        var g = Single("CC(=O)[O-]");
        g.Atoms(0).ShouldBe(4);
        g.Bonds(0).ShouldBe(3);
        Atom(g, 0).ShouldBe(AtomOf("C", 4, "0", 3, "SP3"));
        Atom(g, 1).ShouldBe(AtomOf("C", 3, "0", 0, "SP2"));
        Atom(g, 2).ShouldBe(AtomOf("O", 1, "0", 0, "SP2"));
        Atom(g, 3).ShouldBe(AtomOf("O", 1, "-1", 0, "SP2"));
        // The carboxylate is conjugated, the methyl bond is not.
        Bond(g, 0).ShouldBe("bond_type=SINGLE stereo=STEREONONE");
        Bond(g, 1).ShouldBe("bond_type=DOUBLE conjugated stereo=STEREONONE");
        Bond(g, 2).ShouldBe("bond_type=SINGLE conjugated stereo=STEREONONE");
        Ends(g, 0).ShouldBe((0, 1));
        Ends(g, 1).ShouldBe((1, 2));
        Ends(g, 2).ShouldBe((1, 3));
    }

    [Fact]
    public void Difluoroethene_double_bond_stereo_is_E_or_Z()
    {
        var trans = Single("F/C=C/F");
        trans.Atoms(0).ShouldBe(4);
        trans.Bonds(0).ShouldBe(3);
        Bond(trans, 0).ShouldBe("bond_type=SINGLE stereo=STEREONONE");
        Bond(trans, 1).ShouldBe("bond_type=DOUBLE stereo=STEREOE");
        Bond(trans, 2).ShouldBe("bond_type=SINGLE stereo=STEREONONE");
        Atom(trans, 0).ShouldBe(AtomOf("F", 1, "0", 0, "SP3"));
        Atom(trans, 1).ShouldBe(AtomOf("C", 3, "0", 1, "SP2"));

        Bond(Single("F/C=C\\F"), 1).ShouldBe("bond_type=DOUBLE stereo=STEREOZ");
        Bond(Single("FC=CF"), 1).ShouldBe("bond_type=DOUBLE stereo=STEREONONE");
    }

    [Fact]
    public void Alanine_chiral_centre_keeps_its_tag()
    {
        var g = Single("N[C@@H](C)C(=O)O");
        g.Atoms(0).ShouldBe(6);
        g.Bonds(0).ShouldBe(5);
        Atom(g, 0).ShouldBe(AtomOf("N", 3, "0", 2, "SP3"));
        Atom(g, 1).ShouldBe(AtomOf("C", 4, "0", 1, "SP3", chiral: "CHI_TETRAHEDRAL_CW"));
        Atom(g, 2).ShouldBe(AtomOf("C", 4, "0", 3, "SP3"));
        Atom(g, 5).ShouldBe(AtomOf("O", 2, "0", 1, "SP2"));
        Atom(Single("N[C@H](C)C(=O)O"), 1).ShouldBe(AtomOf("C", 4, "0", 1, "SP3", chiral: "CHI_TETRAHEDRAL_CCW"));
        Atom(Single("NC(C)C(=O)O"), 1).ShouldBe(AtomOf("C", 4, "0", 1, "SP3"));
    }

    [Fact]
    public void Elements_in_the_list_get_their_column_and_the_rest_share_other()
    {
        var g = Single("FC(Cl)(Br)C(I)[Se]C[Te]C[Si](C)(C)P(C)B(O)O");
        g.Atoms(0).ShouldBe(18);
        g.Bonds(0).ShouldBe(17);
        string[] elements = ["F", "C", "Cl", "Br", "C", "I", "Se", "C", "Te", "C", "Si", "C", "C", "P", "C", "B", "O", "O"];
        for (var a = 0; a < elements.Length; a++)
            Atom(g, a).Split(' ')[0].ShouldBe("element=" + elements[a], $"atom {a}");
        AtomRow(g, 0, 5)[Mass].ShouldBe(1.26904f); // I 126.904
        Atom(g, 15).ShouldBe(AtomOf("B", 3, "0", 0, "SP2"));

        // Tin and sodium are not in the list; an isotopic H survives removeHs and is a graph atom (and
        // then not counted again in its oxygen's H count).
        var other = Single("C[Sn](C)(C)C.[Na+].[2H]OS");
        other.Atoms(0).ShouldBe(9);
        other.Bonds(0).ShouldBe(6);
        Atom(other, 1).ShouldBe(AtomOf("other", 4, "0", 0, "SP3"));
        AtomRow(other, 0, 1)[Mass].ShouldBe(1.18711f);
        Atom(other, 5).ShouldBe(AtomOf("other", 0, "+1", 0, "other"));
        Atom(other, 6).ShouldBe(AtomOf("H", 1, "0", 0, "other"));
        AtomRow(other, 0, 6)[Mass].ShouldBe((float)(2.0141017778 * 0.01), 1e-6);
        Atom(other, 7).ShouldBe(AtomOf("O", 2, "0", 0, "SP3"));
        Atom(Single("[Fe+3]"), 0).ShouldContain("formal_charge=other");
        Atom(Single("C[N+](C)(C)C"), 1).ShouldBe(AtomOf("N", 4, "+1", 0, "SP3"));
    }

    [Fact]
    public void Methane_is_one_atom_without_bonds_and_ions_are_disconnected_atoms()
    {
        var g = Single("C");
        g.Atoms(0).ShouldBe(1);
        g.Bonds(0).ShouldBe(0);
        Atom(g, 0).ShouldBe(AtomOf("C", 4, "0", 4, "SP3"));
        g.BondAtoms.ShouldBeEmpty();
        g.BondFeatures.ShouldBeEmpty();

        var salt = Single("[Na+].[Cl-]");
        salt.Atoms(0).ShouldBe(2);
        salt.Bonds(0).ShouldBe(0);
        Atom(salt, 1).ShouldBe(AtomOf("Cl", 0, "-1", 0, "SP3"));
    }

    [Fact]
    public void Invalid_molecules_have_RDKits_message_and_an_empty_graph()
    {
        string[] smiles = ["CC", "c1cccc1", "C1CC", "", "  ", "[Xx]", "C[N+](C)(C)(C)C", "C\0C", "O"];
        var batch = _rdkit.Graphs(smiles, threads: 1);
        var g = batch.Graphs;
        g.Molecules.ShouldBe(smiles.Length);
        for (var i = 0; i < smiles.Length; i++)
        {
            var expected = _rdkit.Parse(smiles[i]);
            batch.Molecules[i].Input.ShouldBe(smiles[i]);
            batch.Molecules[i].Error.ShouldBe(expected.Error, smiles[i]);
            batch.Molecules[i].Canonical.ShouldBeNull(); // Graphs writes no canonical SMILES
        }
        batch.Molecules[1].Error.ShouldBe("Can't kekulize mol.  Unkekulized atoms: 0 1 2 3 4");
        batch.Molecules[2].Error!.ShouldContain("unclosed ring");
        batch.Molecules[3].Error.ShouldBe("empty SMILES");
        batch.Molecules[4].Error.ShouldBe("empty SMILES");
        batch.Molecules[6].Error!.ShouldContain("valence");
        batch.Molecules.Select(m => m.IsValid).ShouldBe([true, false, false, false, false, false, false, false, true]);
        g.AtomOffsets.ShouldBe([0, 2, 2, 2, 2, 2, 2, 2, 2, 3]);
        g.BondOffsets.ShouldBe([0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
        Atom(g, 0, molecule: 8).ShouldBe(AtomOf("O", 2, "0", 2, "SP3"));

        var empty = _rdkit.Graphs([], threads: 0).Graphs;
        empty.Molecules.ShouldBe(0);
        empty.AtomOffsets.ShouldBe([0]);
        Should.Throw<ArgumentOutOfRangeException>(() => _rdkit.Graphs(["C"], threads: -1));
        Should.Throw<ArgumentException>(() => _rdkit.Graphs(["C", null!]));
        Should.Throw<ArgumentNullException>(() => _rdkit.Graphs(null!));
    }

    // Atom tokens of a SMILES: bracket atoms, the organic subset (two-letter halogens first), '*'.
    [GeneratedRegex(@"\[[^\]]*\]|Br|Cl|[BCNOSPFI]|[bcnosp]|\*")]
    private static partial Regex AtomToken();

    // Ring-closure labels outside brackets: %nn or one digit.
    [GeneratedRegex(@"\[[^\]]*\]|%\d\d|\d")]
    private static partial Regex RingToken();

    /// <summary>
    /// Every structural promise, for any batch: offsets consistent, counts equal to the atoms and bonds of
    /// RDKit's canonical SMILES of the same molecule (what GetNumAtoms/GetNumBonds count: every atom MolToSmiles
    /// writes, and for each '.'-separated fragment atoms-1 tree bonds plus one per ring-closure pair), endpoints
    /// in range, each one-hot block exactly one hot, scalars in range, rows summing to blocks + aromatic + mass.
    /// </summary>
    private void ShouldBeWellFormed(IReadOnlyList<string> smiles, MolecularGraphBatch batch)
    {
        var g = batch.Graphs;
        g.Molecules.ShouldBe(smiles.Count);
        g.AtomOffsets[0].ShouldBe(0);
        g.BondOffsets[0].ShouldBe(0);
        g.AtomFeatures.Length.ShouldBe(g.AtomOffsets[^1] * g.AtomFeatureCount);
        g.BondAtoms.Length.ShouldBe(g.BondOffsets[^1] * 2);
        g.BondFeatures.Length.ShouldBe(g.BondOffsets[^1] * g.BondFeatureCount);

        var canonical = _rdkit.Featurize(smiles, [], threads: 0, canonicalSmiles: true).Molecules;
        int[] atomBlockEnds = [15, 22, 28, 33, 39, 45];
        var problems = new List<string>();
        for (var m = 0; m < g.Molecules; m++)
        {
            batch.Molecules[m].Error.ShouldBe(canonical[m].Error, smiles[m]);
            if (!batch.Molecules[m].IsValid)
            {
                if (g.Atoms(m) != 0 || g.Bonds(m) != 0) problems.Add($"{smiles[m]}: invalid but has a graph");
                continue;
            }
            var text = canonical[m].Canonical!;
            var atoms = AtomToken().Count(text);
            var closures = RingToken().Matches(text).Count(t => t.Value[0] != '[');
            var bonds = atoms - (text.Count(c => c == '.') + 1) + closures / 2;
            if (g.Atoms(m) != atoms || g.Bonds(m) != bonds)
                problems.Add($"{smiles[m]}: {g.Atoms(m)} atoms/{g.Bonds(m)} bonds, canonical {text} has {atoms}/{bonds}");

            for (var a = 0; a < g.Atoms(m); a++)
            {
                var row = AtomRow(g, m, a);
                var start = 0;
                foreach (var end in atomBlockEnds)
                {
                    var block = row[start..end];
                    if (block.ToArray().Count(v => v == 1) != 1 || block.ToArray().Count(v => v == 0) != block.Length - 1)
                        problems.Add($"{smiles[m]} atom {a}: block {AtomNames[start]} is not one-hot");
                    start = end;
                }
                if (row[Aromatic] is not (0 or 1)) problems.Add($"{smiles[m]} atom {a}: aromatic {row[Aromatic]}");
                // A dummy atom ('*', atomic number 0) weighs 0 in RDKit; everything else at least an H.
                var dummy = text.Contains('*') && row[14] == 1;
                if (row[Mass] is not (> 0.0099f and < 3) && !(dummy && row[Mass] == 0))
                    problems.Add($"{smiles[m]} atom {a}: mass {row[Mass]}");
                var sum = 0.0;
                foreach (var v in row) sum += v;
                if (Math.Abs(sum - (AtomOneHotBlocks + row[Aromatic] + row[Mass])) > 1e-5)
                    problems.Add($"{smiles[m]} atom {a}: row sums to {sum}");
            }
            for (var b = 0; b < g.Bonds(m); b++)
            {
                var (begin, end) = Ends(g, b, m);
                if (begin < 0 || end < 0 || begin >= g.Atoms(m) || end >= g.Atoms(m) || begin == end)
                    problems.Add($"{smiles[m]} bond {b}: endpoints {begin}-{end} of {g.Atoms(m)} atoms");
                var row = BondRow(g, m, b).ToArray();
                if (row[..4].Sum() != 1) problems.Add($"{smiles[m]} bond {b}: bond type block {string.Join(",", row[..4])}");
                if (row[4] is not (0 or 1) || row[5] is not (0 or 1)) problems.Add($"{smiles[m]} bond {b}: flags");
                if (row[6..].Count(v => v == 1) != 1 || row[6..].Sum() != 1) problems.Add($"{smiles[m]} bond {b}: stereo block");
            }
        }
        problems.Take(10).ShouldBeEmpty();
    }

    private static List<string> Workload()
    {
        // Oracle rows (valid and invalid) and the tricky inputs, repeated in a shuffled order so a row
        // landing on the wrong molecule cannot go unnoticed.
        var rows = EcfpOracle.Load().Select(r => r.Smiles).Concat(FingerprintFastPathTests.Tricky).ToList();
        var random = new Random(4321);
        return Enumerable.Range(0, 3).SelectMany(_ => rows.OrderBy(_ => random.Next())).ToList();
    }

    private static void ShouldBeIdentical(MolecularGraphBatch actual, MolecularGraphBatch expected)
    {
        actual.Molecules.ShouldBe(expected.Molecules);
        actual.Graphs.AtomOffsets.ShouldBe(expected.Graphs.AtomOffsets);
        actual.Graphs.BondOffsets.ShouldBe(expected.Graphs.BondOffsets);
        actual.Graphs.BondAtoms.ShouldBe(expected.Graphs.BondAtoms);
        // Bitwise: the same float32 bits, not merely close.
        MemoryMarshal.AsBytes(actual.Graphs.AtomFeatures.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(expected.Graphs.AtomFeatures.AsSpan())).ShouldBeTrue();
        MemoryMarshal.AsBytes(actual.Graphs.BondFeatures.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(expected.Graphs.BondFeatures.AsSpan())).ShouldBeTrue();
    }

    [Fact]
    public void Oracle_and_tricky_inputs_give_well_formed_graphs()
    {
        var smiles = EcfpOracle.Load().Select(r => r.Smiles).Concat(FingerprintFastPathTests.Tricky).ToList();
        ShouldBeWellFormed(smiles, _rdkit.Graphs(smiles, threads: 2));
    }

    [Fact]
    public void Batch_equals_one_molecule_at_a_time()
    {
        var smiles = EcfpOracle.Load().Select(r => r.Smiles).Concat(FingerprintFastPathTests.Tricky).ToList();
        var batch = _rdkit.Graphs(smiles, threads: 2);
        var g = batch.Graphs;
        for (var i = 0; i < smiles.Count; i++)
        {
            var one = _rdkit.Graphs([smiles[i]], threads: 1);
            one.Molecules[0].ShouldBe(batch.Molecules[i]);
            var h = one.Graphs;
            h.Atoms(0).ShouldBe(g.Atoms(i), smiles[i]);
            h.Bonds(0).ShouldBe(g.Bonds(i), smiles[i]);
            h.AtomFeatures.ShouldBe(g.AtomFeatures.AsSpan(g.AtomOffsets[i] * g.AtomFeatureCount, g.Atoms(i) * g.AtomFeatureCount).ToArray(), smiles[i]);
            h.BondAtoms.ShouldBe(g.BondAtoms.AsSpan(g.BondOffsets[i] * 2, g.Bonds(i) * 2).ToArray(), smiles[i]);
            h.BondFeatures.ShouldBe(g.BondFeatures.AsSpan(g.BondOffsets[i] * g.BondFeatureCount, g.Bonds(i) * g.BondFeatureCount).ToArray(), smiles[i]);
        }
        // MolecularGraphs.Select of a batch is the batch of the selection.
        int[] pick = [5, 0, 3];
        var selected = g.Select(pick);
        var direct = _rdkit.Graphs(pick.Select(i => smiles[i]).ToList(), threads: 1).Graphs;
        selected.AtomFeatures.ShouldBe(direct.AtomFeatures);
        selected.BondAtoms.ShouldBe(direct.BondAtoms);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(0)]
    public void Threads_do_not_change_the_result(int threads)
    {
        var smiles = Workload();
        var single = _rdkit.Graphs(smiles, threads: 1);
        ShouldBeIdentical(_rdkit.Graphs(smiles, threads), single);
        single.Molecules.Count(m => !m.IsValid).ShouldBeGreaterThan(10);
    }

    [Fact]
    public void Canonical_mode_agrees_with_Parse_and_changes_no_graph()
    {
        var smiles = Workload();
        var plain = _rdkit.Graphs(smiles, threads: 2);
        var withCanonical = _rdkit.Graphs(smiles, threads: 2, canonicalSmiles: true);
        withCanonical.Molecules.ShouldBe(smiles.Select(_rdkit.Parse).ToList());
        plain.Molecules.Select(m => m.Error).ShouldBe(withCanonical.Molecules.Select(m => m.Error));
        ShouldBeIdentical(new MolecularGraphBatch(plain.Molecules, withCanonical.Graphs), plain);
    }

    [OcelotDevFact]
    public void All_of_ocelot_dev_gives_valid_well_formed_graphs()
    {
        var smiles = OcelotDev.TryLoad().ShouldNotBeNull();
        smiles.Count.ShouldBe(22725);
        var all = _rdkit.Graphs(smiles, threads: 0);
        all.Molecules.Count(m => m.IsValid).ShouldBe(22725);
        ShouldBeIdentical(_rdkit.Graphs(smiles, threads: 1), all);
        ShouldBeWellFormed(smiles, all);
    }

    /// <summary>
    /// Graphs per second on OCELOT dev (ORGANICSCREEN_BENCHMARK=1 only: in the normal run other test classes
    /// share the cores and the process CPU clock, so the numbers would mean nothing). Median of 3 after a
    /// warm-up, on all cores and on one; the CPU-second rate stays meaningful on a busy machine.
    /// </summary>
    [BenchmarkFact]
    public void Ocelot_dev_graph_throughput()
    {
        var smiles = OcelotDev.TryLoad();
        smiles.ShouldNotBeNull("../shared/data/ocelot_chromophore_v1/ocelot_chromophore_v1.dev.csv next to the repository");
        _rdkit.Graphs(smiles, threads: 0); // warm-up: page-in, RDKit's lazily built tables

        var lines = new List<string>();
        foreach (var threads in new[] { 0, 1 })
        {
            var wall = new List<double>();
            var cpu = new List<double>();
            for (var repeat = 0; repeat < 3; repeat++)
            {
                var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                var clock = Stopwatch.StartNew();
                var batch = _rdkit.Graphs(smiles, threads);
                wall.Add(smiles.Count / clock.Elapsed.TotalSeconds);
                cpu.Add(smiles.Count / (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds);
                batch.Molecules.Count(m => m.IsValid).ShouldBe(smiles.Count);
            }
            lines.Add($"OCELOT dev graphs, threads={(threads == 0 ? Environment.ProcessorCount : threads)}: "
                + $"{wall.Order().ElementAt(1):F0} graphs/s wall, {cpu.Order().ElementAt(1):F0} graphs/CPU-s (median of 3)");
        }
        foreach (var line in lines) output.WriteLine(line);
        File.WriteAllLines(Path.Combine(AppContext.BaseDirectory, "graph-benchmark.txt"), lines);
    }
}
