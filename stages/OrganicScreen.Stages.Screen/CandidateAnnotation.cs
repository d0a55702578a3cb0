using OrganicScreen.Chem;
using OrganicScreen.Core;
using OrganicScreen.Data;
using OrganicScreen.Screening;

namespace OrganicScreen.Stages;

/// <summary>
/// Builds <see cref="MoleculeTraits"/> for the molecules that passed the potential rules: molar mass, heavy atoms and
/// elements from RDKit (one batch call on the canonical SMILES), and the dataset's carried values and curation flags from
/// molecules.parquet. Only candidates are described, so a 20k-molecule screen costs a few hundred RDKit parses.
/// </summary>
public static class CandidateAnnotation
{
    /// <summary>Traits per molecule index; a molecule RDKit cannot describe (never expected for canonical SMILES) is left out and logged.</summary>
    public static IReadOnlyDictionary<int, MoleculeTraits> Describe(IEnumerable<int> indexes, IReadOnlyDictionary<int, Molecule> molecules, Rdkit rdkit, IStageLog log)
    {
        var wanted = indexes.Distinct().Order().Select(i => molecules.TryGetValue(i, out var m)
            ? m
            : throw new InvalidOperationException($"prediction index {i} has no molecule in molecules.parquet (the Featurize and Infer artifacts disagree)")).ToList();
        var described = rdkit.Descriptors(wanted.Select(m => m.CanonicalSmiles).ToList());
        var traits = new Dictionary<int, MoleculeTraits>();
        for (var i = 0; i < wanted.Count; i++)
        {
            var m = wanted[i];
            if (described[i].Descriptors is not { } d)
            {
                log.Warn($"screen: RDKit cannot describe candidate {m.Id} ({m.CanonicalSmiles}): {described[i].Error}; it has no molar mass, capacity or energy, and any filter removes it");
                continue;
            }

            traits[m.Index] = new MoleculeTraits(d.MolarMass, d.HeavyAtoms, d.Elements, m.Carried?.RedoxCenters, m.Carried?.RedoxStable, m.Carried?.CapacityMahG, m.Flags);
        }

        return traits;
    }
}
