namespace OrganicScreen.Screening;

/// <summary>
/// One molecule's model output, as the training stage hands it over (plain numbers; no model types).
/// IE and EA are in eV on the absolute scale, EA with the Materials Project sign (positive = favourable reduction).
/// </summary>
/// <param name="Id">Stable identifier (dataset id or library row key).</param>
/// <param name="CanonicalSmiles">Canonical SMILES, used as a tie-breaker and for display.</param>
/// <param name="IonizationEnergy">Predicted IE with its interval (eV).</param>
/// <param name="ElectronAffinity">Predicted EA with its interval (eV).</param>
/// <param name="DftIonizationEnergy">DFT IE label when the molecule is in the training data; otherwise null.</param>
/// <param name="DftElectronAffinity">DFT EA label when known; otherwise null.</param>
public sealed record MoleculePrediction(
    string Id,
    string CanonicalSmiles,
    PredictionInterval IonizationEnergy,
    PredictionInterval ElectronAffinity,
    double? DftIonizationEnergy = null,
    double? DftElectronAffinity = null);

/// <summary>Which electrode a candidate would serve as.</summary>
public enum ElectrodeRole
{
    /// <summary>Positive electrode: judged on its oxidation potential.</summary>
    Cathode,

    /// <summary>Negative electrode: judged on its reduction potential.</summary>
    Anode,
}

/// <summary>How much safety distance a candidate must keep from a stability limit.</summary>
public enum MarginPolicy
{
    /// <summary>
    /// The molecule's own interval: the distance from its prediction to the interval bound facing the limit
    /// (upper side for cathodes, lower side for anodes; equal to the half-width for symmetric intervals).
    /// </summary>
    IntervalHalfWidth,

    /// <summary>One fixed margin for every molecule (<see cref="ScreeningRules.GlobalBandVolts"/>), as in the 2020 study.</summary>
    GlobalBand,

    /// <summary>Point predictions only.</summary>
    None,
}

/// <summary>
/// Selection rules, all potentials vs Li/Li+.
/// Cathode: E_ox + margin ≤ min(solvent oxidation limit, collector oxidation limit) and E_ox ≥ <see cref="CathodeMinimumVolts"/>.
/// Anode: E_red − margin ≥ solvent reduction limit and, when set, E_red ≥ <see cref="AnodeMinimumVolts"/>.
/// Comparisons are inclusive: a molecule exactly on a boundary passes.
/// </summary>
/// <param name="Solvent">Electrolyte stability window.</param>
/// <param name="Collector">Cathode current collector; null means only the solvent limits the cathode.</param>
/// <param name="Margin">Which margin to keep from the limits.</param>
/// <param name="CathodeMinimumVolts">Lowest useful cathode potential (default 3.0 V: below it a cathode gives too little cell voltage).</param>
/// <param name="AnodeMinimumVolts">Optional floor on the anode potential.</param>
/// <param name="GlobalBandVolts">Margin for <see cref="MarginPolicy.GlobalBand"/> (e.g. the study's z·σ).</param>
/// <param name="Reference">Absolute ↔ Li/Li+ conversion.</param>
public sealed record ScreeningRules(
    SolventWindow Solvent,
    CurrentCollector? Collector,
    MarginPolicy Margin = MarginPolicy.IntervalHalfWidth,
    double CathodeMinimumVolts = 3.0,
    double? AnodeMinimumVolts = null,
    double GlobalBandVolts = 0.0,
    ReferenceScale? Reference = null)
{
    public ReferenceScale Scale => Reference ?? ReferenceScale.Default;

    /// <summary>The cathode ceiling: the lower of the solvent's oxidation limit and the collector's.</summary>
    public double CathodeCeilingVolts => Collector is null
        ? Solvent.OxidationLimit.Volts
        : Math.Min(Solvent.OxidationLimit.Volts, Collector.OxidationLimit.Volts);

    public double AnodeFloorVolts => Solvent.ReductionLimit.Volts;
}

/// <summary>
/// A molecule that passed the rules for one electrode role. Potentials are vs Li/Li+.
/// </summary>
/// <param name="Potential">Predicted E_ox (cathode) or E_red (anode) with its interval, V vs Li/Li+.</param>
/// <param name="MarginVolts">The margin that was applied.</param>
/// <param name="HeadroomVolts">How far inside the limit the candidate sits after the margin (≥ 0).</param>
/// <param name="DftPotentialVolts">The same potential from the DFT label, when known.</param>
/// <param name="Molecule">The predictions the candidate came from (IE and EA with intervals, DFT labels), for tables.</param>
/// <param name="Traits">Molar mass, capacity, specific energy and dataset values (<see cref="CandidateTraits"/>); null until the
/// caller adds them (the rules above need only potentials, so a library screen streams without them).</param>
public sealed record Candidate(
    ElectrodeRole Role,
    string Id,
    string CanonicalSmiles,
    PredictionInterval Potential,
    double MarginVolts,
    double HeadroomVolts,
    double? DftPotentialVolts,
    MoleculePrediction? Molecule = null,
    CandidateTraits? Traits = null);

/// <summary>
/// Applies <see cref="ScreeningRules"/> one molecule at a time. <see cref="Screen"/> is lazy and keeps no state
/// between molecules, so a library of any size streams through in bounded memory; ordering for the final
/// tables is a separate step (<see cref="CandidateOrder"/>).
/// </summary>
public sealed class CandidateScreen
{
    public CandidateScreen(ScreeningRules rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        // A negative band would widen the window beyond the stability limits, i.e. admit molecules the solvent cannot hold.
        if (!double.IsFinite(rules.GlobalBandVolts) || rules.GlobalBandVolts < 0)
            throw new ArgumentOutOfRangeException(nameof(rules), rules.GlobalBandVolts, "GlobalBandVolts must be a finite, non-negative number.");
        if (!double.IsFinite(rules.CathodeMinimumVolts))
            throw new ArgumentOutOfRangeException(nameof(rules), rules.CathodeMinimumVolts, "CathodeMinimumVolts must be finite.");
        Rules = rules;
    }

    public ScreeningRules Rules { get; }

    /// <summary>
    /// Yields at most two candidates per molecule, cathode before anode, in input order.
    /// A molecule can legitimately qualify for both roles (bipolar redox-active molecules).
    /// </summary>
    public IEnumerable<Candidate> Screen(IEnumerable<MoleculePrediction> molecules)
    {
        ArgumentNullException.ThrowIfNull(molecules);
        return Iterate(molecules);

        IEnumerable<Candidate> Iterate(IEnumerable<MoleculePrediction> source)
        {
            foreach (var molecule in source)
            {
                if (AsCathode(molecule) is { } cathode) yield return cathode;
                if (AsAnode(molecule) is { } anode) yield return anode;
            }
        }
    }

    /// <summary>The molecule as a cathode candidate, or null if it fails a cathode rule.</summary>
    public Candidate? AsCathode(MoleculePrediction molecule)
    {
        Validate(molecule);
        var toLithium = -Rules.Scale.LithiumAbsoluteVolts;
        var potential = molecule.IonizationEnergy.Shift(toLithium);
        var margin = MarginFor(potential.UpperMargin);
        if (potential.Predicted < Rules.CathodeMinimumVolts) return null;
        var headroom = Rules.CathodeCeilingVolts - (potential.Predicted + margin);
        if (headroom < 0) return null;
        return new Candidate(ElectrodeRole.Cathode, molecule.Id, molecule.CanonicalSmiles, potential, margin, headroom,
            molecule.DftIonizationEnergy + toLithium, molecule);
    }

    /// <summary>The molecule as an anode candidate, or null if it fails an anode rule.</summary>
    public Candidate? AsAnode(MoleculePrediction molecule)
    {
        Validate(molecule);
        var toLithium = -Rules.Scale.LithiumAbsoluteVolts;
        var potential = molecule.ElectronAffinity.Shift(toLithium);
        var margin = MarginFor(potential.LowerMargin);
        if (Rules.AnodeMinimumVolts is { } minimum && potential.Predicted < minimum) return null;
        var headroom = potential.Predicted - margin - Rules.AnodeFloorVolts;
        if (headroom < 0) return null;
        return new Candidate(ElectrodeRole.Anode, molecule.Id, molecule.CanonicalSmiles, potential, margin, headroom,
            molecule.DftElectronAffinity + toLithium, molecule);
    }

    private double MarginFor(double intervalSide) => Rules.Margin switch
    {
        MarginPolicy.IntervalHalfWidth => intervalSide,
        MarginPolicy.GlobalBand => Rules.GlobalBandVolts,
        MarginPolicy.None => 0.0,
        _ => throw new InvalidOperationException($"Unknown margin policy {Rules.Margin}."),
    };

    private static void Validate(MoleculePrediction m)
    {
        ArgumentNullException.ThrowIfNull(m);
        // NaN compares false with everything, so a NaN prediction would silently fail every rule and vanish;
        // an explicit error is easier to trace back to the model output.
        foreach (var interval in new[] { m.IonizationEnergy, m.ElectronAffinity })
        {
            if (!double.IsFinite(interval.Predicted) || !double.IsFinite(interval.Lower) || !double.IsFinite(interval.Upper))
                throw new ArgumentException($"Molecule '{m.Id}' has a non-finite prediction or interval bound.");
            if (interval.Lower > interval.Predicted || interval.Upper < interval.Predicted)
                throw new ArgumentException($"Molecule '{m.Id}' has an interval that does not contain its prediction.");
        }
    }
}

/// <summary>How candidate tables are ranked within each role.</summary>
public enum CandidateRanking
{
    /// <summary>Most useful potential first: cathodes by descending E_ox, anodes by ascending E_red.</summary>
    Potential,

    /// <summary>Highest specific energy (Wh/kg) first; candidates without one (no molar mass) last; ties by potential.</summary>
    SpecificEnergy,
}

/// <summary>
/// The deterministic order of final candidate tables:
/// 1. role — cathodes, then anodes;
/// 2. with <see cref="CandidateRanking.SpecificEnergy"/>, descending specific energy (unknown last);
/// 3. potential, most useful first — cathodes by descending E_ox (higher cell voltage), anodes by ascending E_red
///    (lower anode potential, higher cell voltage);
/// 4. Id, ordinal (culture-independent) comparison;
/// 5. canonical SMILES, ordinal.
/// Exact duplicates keep their input order (the sort is stable), so the output is a pure function of the input.
/// This needs the whole set in memory; run it on the (small) candidate set, not on the library.
/// </summary>
public static class CandidateOrder
{
    public static IReadOnlyList<Candidate> Sort(IEnumerable<Candidate> candidates, CandidateRanking ranking = CandidateRanking.Potential)
    {
        if (!Enum.IsDefined(ranking)) throw new ArgumentOutOfRangeException(nameof(ranking), ranking, "Unknown ranking.");
        return candidates
            .OrderBy(c => c.Role)
            .ThenByDescending(c => ranking == CandidateRanking.SpecificEnergy ? c.Traits?.SpecificEnergyWhKg ?? double.NegativeInfinity : 0)
            .ThenBy(c => c.Role == ElectrodeRole.Cathode ? -c.Potential.Predicted : c.Potential.Predicted)
            .ThenBy(c => c.Id, StringComparer.Ordinal)
            .ThenBy(c => c.CanonicalSmiles, StringComparer.Ordinal)
            .ToList();
    }
}
