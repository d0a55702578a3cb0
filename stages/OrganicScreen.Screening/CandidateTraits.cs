namespace OrganicScreen.Screening;

/// <summary>
/// What an organic-electrode researcher knows about a molecule besides its predicted potentials: RDKit descriptors
/// and the values the dataset carries. Plain inputs (computed by the caller), so this library needs neither RDKit
/// nor the dataset tables.
/// </summary>
/// <param name="MolarMassGPerMol">Average molar mass with implicit hydrogens (RDKit <c>calcAMW</c>), g/mol.</param>
/// <param name="HeavyAtoms">Non-hydrogen atoms.</param>
/// <param name="Elements">Distinct element symbols, "H" included when any atom carries a hydrogen.</param>
/// <param name="RedoxCenters">The dataset's anticipated redox centres (OMEAD's <c>redox_centers</c>); null when it gives none.</param>
/// <param name="RedoxStable">The dataset's stability flag (OMEAD's <c>redox_stable</c>); null when unknown.</param>
/// <param name="DatasetCapacityMahG">The dataset's own capacity column, carried for comparison only (never used in a rule).</param>
/// <param name="Flags">Curation flags of the molecule (';'-separated, empty when clean).</param>
public sealed record MoleculeTraits(
    double MolarMassGPerMol,
    int HeavyAtoms,
    IReadOnlyList<string> Elements,
    int? RedoxCenters = null,
    bool? RedoxStable = null,
    double? DatasetCapacityMahG = null,
    string Flags = "");

/// <summary>Where the electron count of a capacity comes from.</summary>
public enum ElectronSource
{
    /// <summary>The dataset's anticipated redox centres, one electron each.</summary>
    RedoxCenters,

    /// <summary>The dataset gives no count: one electron per molecule (the capacity is per electron).</summary>
    PerElectron,
}

/// <summary>
/// A candidate's capacity and energy figures. Capacity Q = n·26,801.48/M mAh/g (<see cref="TheoreticalCapacity"/>) with
/// n = the dataset's redox centres when it gives them (a molecule with 0 anticipated centres stores no charge, so 0),
/// else n = 1. Specific energy = Q × |E vs Li/Li+| Wh/kg (<see cref="SpecificEnergy"/>) with E the candidate's predicted
/// potential (E_ox for a cathode, E_red for an anode): the energy against a lithium metal counter-electrode. For an anode
/// the useful figure is the cell voltage against a real cathode; |E_red| keeps the figure simple and comparable, and the
/// README says so.
/// </summary>
public sealed record CandidateTraits(
    MoleculeTraits Molecule,
    double CapacityPerElectronMahG,
    int Electrons,
    ElectronSource ElectronSource,
    double CapacityMahG,
    double SpecificEnergyWhKg)
{
    /// <summary>The figures of a molecule working at <paramref name="potentialVoltsVsLithium"/>.</summary>
    public static CandidateTraits Of(MoleculeTraits molecule, double potentialVoltsVsLithium)
    {
        ArgumentNullException.ThrowIfNull(molecule);
        var (electrons, source) = molecule.RedoxCenters is { } centres ? (centres, ElectronSource.RedoxCenters) : (1, ElectronSource.PerElectron);
        var capacity = TheoreticalCapacity.ForElectrons(molecule.MolarMassGPerMol, electrons);
        return new CandidateTraits(molecule, TheoreticalCapacity.PerElectron(molecule.MolarMassGPerMol), electrons, source, capacity,
            SpecificEnergy.WhPerKg(capacity, Math.Abs(potentialVoltsVsLithium)));
    }

    /// <summary>The CSV/table word for <see cref="ElectronSource"/>: <c>redox_centers</c> or <c>per_electron</c>.</summary>
    public string ElectronSourceName => ElectronSource == ElectronSource.RedoxCenters ? "redox_centers" : "per_electron";
}
