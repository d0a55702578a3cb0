using OrganicScreen.Chem;
using OrganicScreen.Core;
using OrganicScreen.Training;

namespace OrganicScreen.Stages;

/// <summary>
/// Model inputs of one set of valid molecules from RDKit, each computed once and shared by every model
/// (IE and EA models often read the same fingerprint, and graph models always read the same graphs).
/// </summary>
public sealed class MoleculeInputs(Rdkit rdkit, IReadOnlyList<string> smiles) : IMoleculeFeatures
{
    private readonly Dictionary<FingerprintSpec, SparseBitMatrix> fingerprints = [];
    private MolecularGraphs? graphs;

    public int Count => smiles.Count;

    public SparseBitMatrix Fingerprints(FingerprintSpec spec)
    {
        if (!fingerprints.TryGetValue(spec, out var matrix))
            fingerprints[spec] = matrix = rdkit.Featurize(smiles, [spec], canonicalSmiles: false).Fingerprints[spec];
        return matrix;
    }

    public MolecularGraphs Graphs() => graphs ??= rdkit.Graphs(smiles).Graphs;
}
