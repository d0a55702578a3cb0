namespace OrganicScreen.Core;

/// <summary>
/// Molecular graphs of many molecules in flat arrays (no per-molecule objects), the input of the
/// D-MPNN. Molecule <c>m</c> owns atoms <c>AtomOffsets[m]..AtomOffsets[m+1]</c> and undirected bonds
/// <c>BondOffsets[m]..BondOffsets[m+1]</c>. Atom indices in <see cref="BondAtoms"/> are local to the
/// molecule (0-based), two per bond (begin, end). Feature rows are row-major float32.
/// Hydrogens are implicit (as in Chemprop): counted in the atom features, not atoms of the graph.
/// </summary>
public sealed record MolecularGraphs(
    int AtomFeatureCount,
    int BondFeatureCount,
    int[] AtomOffsets,
    float[] AtomFeatures,
    int[] BondOffsets,
    int[] BondAtoms,
    float[] BondFeatures)
{
    public int Molecules => AtomOffsets.Length - 1;

    public int Atoms(int molecule) => AtomOffsets[molecule + 1] - AtomOffsets[molecule];

    public int Bonds(int molecule) => BondOffsets[molecule + 1] - BondOffsets[molecule];

    /// <summary>The molecules listed, in that order (fold subsets, mini-batches).</summary>
    public MolecularGraphs Select(IReadOnlyList<int> molecules)
    {
        var atomOffsets = new int[molecules.Count + 1];
        var bondOffsets = new int[molecules.Count + 1];
        for (var i = 0; i < molecules.Count; i++)
        {
            atomOffsets[i + 1] = atomOffsets[i] + Atoms(molecules[i]);
            bondOffsets[i + 1] = bondOffsets[i] + Bonds(molecules[i]);
        }

        var atomFeatures = new float[atomOffsets[^1] * AtomFeatureCount];
        var bondAtoms = new int[bondOffsets[^1] * 2];
        var bondFeatures = new float[bondOffsets[^1] * BondFeatureCount];
        for (var i = 0; i < molecules.Count; i++)
        {
            var m = molecules[i];
            AtomFeatures.AsSpan(AtomOffsets[m] * AtomFeatureCount, Atoms(m) * AtomFeatureCount).CopyTo(atomFeatures.AsSpan(atomOffsets[i] * AtomFeatureCount));
            BondAtoms.AsSpan(BondOffsets[m] * 2, Bonds(m) * 2).CopyTo(bondAtoms.AsSpan(bondOffsets[i] * 2));
            BondFeatures.AsSpan(BondOffsets[m] * BondFeatureCount, Bonds(m) * BondFeatureCount).CopyTo(bondFeatures.AsSpan(bondOffsets[i] * BondFeatureCount));
        }

        return new MolecularGraphs(AtomFeatureCount, BondFeatureCount, atomOffsets, atomFeatures, bondOffsets, bondAtoms, bondFeatures);
    }
}
