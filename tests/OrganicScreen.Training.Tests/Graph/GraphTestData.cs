using OrganicScreen.Core;
using OrganicScreen.Training.Graph;

namespace OrganicScreen.Training.Tests.Graph;

/// <summary>A molecule for hand-built graphs: atom feature rows and bonds (local atom indices, bond feature row).</summary>
internal sealed record TestMolecule(float[][] Atoms, (int A, int B, float[] Features)[] Bonds);

internal static class GraphTestData
{
    public static MolecularGraphs Build(int atomFeatures, int bondFeatures, params TestMolecule[] molecules)
    {
        var atomOffsets = new int[molecules.Length + 1];
        var bondOffsets = new int[molecules.Length + 1];
        var x = new List<float>();
        var bondAtoms = new List<int>();
        var e = new List<float>();
        for (var m = 0; m < molecules.Length; m++)
        {
            foreach (var row in molecules[m].Atoms) { row.Length.ShouldBe(atomFeatures); x.AddRange(row); }
            foreach (var (a, b, f) in molecules[m].Bonds) { f.Length.ShouldBe(bondFeatures); bondAtoms.Add(a); bondAtoms.Add(b); e.AddRange(f); }
            atomOffsets[m + 1] = atomOffsets[m] + molecules[m].Atoms.Length;
            bondOffsets[m + 1] = bondOffsets[m] + molecules[m].Bonds.Length;
        }
        return new MolecularGraphs(atomFeatures, bondFeatures, atomOffsets, x.ToArray(), bondOffsets, bondAtoms.ToArray(), e.ToArray());
    }

    /// <summary>Random features on a given topology (edges as local atom pairs).</summary>
    public static TestMolecule Random(ref SplitMix64 rng, int atoms, (int, int)[] edges, int atomFeatures, int bondFeatures)
    {
        var x = new float[atoms][];
        for (var i = 0; i < atoms; i++) x[i] = Values(ref rng, atomFeatures);
        var bonds = edges.Select(_ => (0, 0, Array.Empty<float>())).ToArray();
        for (var k = 0; k < edges.Length; k++) bonds[k] = (edges[k].Item1, edges[k].Item2, Values(ref rng, bondFeatures));
        return new TestMolecule(x, bonds);
    }

    static float[] Values(ref SplitMix64 rng, int count)
    {
        var v = new float[count];
        for (var i = 0; i < count; i++) v[i] = rng.NextInt(1000) / 500f - 1f;
        return v;
    }

    /// <summary>
    /// Molecules in Chemprop's layout: 133 atom features, one-hot groups (element, degree, charge, chirality, Hs,
    /// hybridisation), an aromatic flag and mass / 100, so about 8 non-zero per atom; 4 bond features; random trees of
    /// 1 to <paramref name="maxAtoms"/> atoms, those of 6 or more with a ring.
    /// </summary>
    public static MolecularGraphs ChempropShaped(ref SplitMix64 rng, int count, int maxAtoms = 14)
    {
        (int Start, int Width)[] groups = [(0, 101), (101, 7), (108, 6), (114, 5), (119, 6), (125, 6)];
        var molecules = new List<TestMolecule>();
        for (var m = 0; m < count; m++)
        {
            var n = 1 + rng.NextInt(maxAtoms);
            var edges = new List<(int, int)>();
            for (var i = 1; i < n; i++) edges.Add((rng.NextInt(i), i));
            if (n >= 6) edges.Add((0, n - 1));
            var atoms = new float[n][];
            for (var a = 0; a < n; a++)
            {
                var x = new float[133];
                foreach (var (start, width) in groups) x[start + rng.NextInt(width)] = 1;
                x[131] = rng.NextInt(2);
                x[132] = (1 + rng.NextInt(3500)) / 1000f;
                atoms[a] = x;
            }

            var bonds = new List<(int, int, float[])>();
            foreach (var (from, to) in edges) bonds.Add((from, to, [1f, 0f, rng.NextInt(2), 0f]));
            molecules.Add(new TestMolecule(atoms, [.. bonds]));
        }

        return Build(133, 4, [.. molecules]);
    }

    public static (int, int)[] Chain(int atoms) => Enumerable.Range(1, atoms - 1).Select(i => (i - 1, i)).ToArray();

    public static (int, int)[] Ring(int atoms) => [.. Chain(atoms), (atoms - 1, 0)];

    /// <summary>A single atom, a 2-atom bond, a chain, a 6-ring, a branched ring system and another single atom.</summary>
    public static MolecularGraphs Assorted(int atomFeatures = 5, int bondFeatures = 3, int seed = 5)
    {
        var rng = new SplitMix64((ulong)seed);
        return Build(atomFeatures, bondFeatures,
            Random(ref rng, 1, [], atomFeatures, bondFeatures),
            Random(ref rng, 2, [(0, 1)], atomFeatures, bondFeatures),
            Random(ref rng, 5, Chain(5), atomFeatures, bondFeatures),
            Random(ref rng, 6, Ring(6), atomFeatures, bondFeatures),
            Random(ref rng, 7, [(0, 1), (1, 2), (2, 3), (3, 0), (2, 4), (4, 5), (4, 6), (6, 1)], atomFeatures, bondFeatures),
            Random(ref rng, 1, [], atomFeatures, bondFeatures));
    }

    /// <summary>
    /// Random trees plus a ring closure, 3–10 atoms; atom feature 0 is set on ~40% of atoms, bond feature 0 on ~30% of
    /// bonds. Labels: target 0 "atoms" = number of atoms with feature 0 set, target 1 "bonds" = number of bonds with
    /// bond feature 0 set.
    /// </summary>
    public static LabeledGraphs Countable(int molecules, int seed, int atomFeatures = 6, int bondFeatures = 3)
    {
        var rng = new SplitMix64((ulong)seed);
        var list = new List<TestMolecule>();
        var labels = new double[molecules, 2];
        for (var m = 0; m < molecules; m++)
        {
            var n = 3 + rng.NextInt(8);
            var edges = Enumerable.Range(1, n - 1).Select(i => (rng.NextInt(i), i)).ToList();
            if (n >= 4 && !edges.Contains((0, n - 1))) edges.Add((0, n - 1));
            var atoms = new float[n][];
            for (var i = 0; i < n; i++)
            {
                atoms[i] = new float[atomFeatures];
                if (rng.NextInt(10) < 4) { atoms[i][0] = 1; labels[m, 0]++; }
                atoms[i][1 + rng.NextInt(atomFeatures - 1)] = 1;
            }
            var bonds = edges.Select(e =>
            {
                var f = new float[bondFeatures];
                if (rng.NextInt(10) < 3) { f[0] = 1; labels[m, 1]++; }
                else f[1 + rng.NextInt(bondFeatures - 1)] = 1;
                return (e.Item1, e.Item2, f);
            }).ToArray();
            list.Add(new TestMolecule(atoms, bonds));
        }
        return new LabeledGraphs("countable", Build(atomFeatures, bondFeatures, list.ToArray()), labels, ["atoms", "bonds"]);
    }

    public static TrainingSettings Quick(int epochs, int batch = 32, double learningRate = 0.003) => new(
        Epochs: epochs, BatchSize: batch, LearningRate: learningRate, Schedule: LearningRateSchedule.Constant, L2: 0, Seed: 11,
        Device: ComputeDevice.Cpu);
}
