namespace OrganicScreen.Screening;

/// <summary>
/// Theoretical specific capacity of an electrode material: the charge its electrons carry per gram,
/// Q = n·F / (3.6·M) in mAh/g, for n electrons exchanged per molecule of molar mass M (g/mol).
/// F is the exact SI Faraday constant, e·N_A = 1.602176634e−19 C × 6.02214076e23 /mol = 96,485.33212… C/mol
/// (both factors exact since the 2019 SI redefinition), and 1 mAh = 3.6 C, so one electron per mole carries
/// F/3.6 = 26,801.48 mAh/mol.
/// </summary>
public static class TheoreticalCapacity
{
    /// <summary>Elementary charge, C (exact, SI 2019).</summary>
    public const double ElementaryChargeCoulomb = 1.602176634e-19;

    /// <summary>Avogadro constant, /mol (exact, SI 2019).</summary>
    public const double AvogadroPerMol = 6.02214076e23;

    /// <summary>Faraday constant F = e·N_A = 96,485.33212… C/mol (exact).</summary>
    public const double FaradayCoulombPerMol = ElementaryChargeCoulomb * AvogadroPerMol;

    /// <summary>Charge of one mole of electrons in mAh: F / 3.6 = 26,801.48 mAh/mol.</summary>
    public const double MilliampHoursPerMolOfElectrons = FaradayCoulombPerMol / 3.6;

    /// <summary>Capacity for one electron per molecule, mAh/g: 26,801.48 / M.</summary>
    /// <param name="molarMassGPerMol">Molar mass of the active molecule (g/mol), finite and positive.</param>
    public static double PerElectron(double molarMassGPerMol) => ForElectrons(molarMassGPerMol, 1);

    /// <summary>Capacity for <paramref name="electrons"/> electrons per molecule, mAh/g: n × 26,801.48 / M.</summary>
    /// <param name="molarMassGPerMol">Molar mass of the active molecule (g/mol), finite and positive.</param>
    /// <param name="electrons">Electrons exchanged per molecule (e.g. its redox centres), ≥ 0.</param>
    public static double ForElectrons(double molarMassGPerMol, int electrons)
    {
        if (!double.IsFinite(molarMassGPerMol) || molarMassGPerMol <= 0)
            throw new ArgumentOutOfRangeException(nameof(molarMassGPerMol), molarMassGPerMol, "Molar mass must be a finite, positive number of g/mol.");
        ArgumentOutOfRangeException.ThrowIfNegative(electrons);
        return electrons * MilliampHoursPerMolOfElectrons / molarMassGPerMol;
    }
}

/// <summary>
/// Theoretical specific energy of an electrode material: capacity times voltage. mAh/g × V = mWh/g = Wh/kg.
/// The voltage is the cell voltage the material works at, e.g. its potential vs Li/Li+ against a lithium anode.
/// </summary>
public static class SpecificEnergy
{
    /// <param name="capacityMahPerG">Specific capacity (mAh/g), finite and ≥ 0.</param>
    /// <param name="volts">Cell voltage (V), finite and ≥ 0.</param>
    public static double WhPerKg(double capacityMahPerG, double volts)
    {
        if (!double.IsFinite(capacityMahPerG) || capacityMahPerG < 0)
            throw new ArgumentOutOfRangeException(nameof(capacityMahPerG), capacityMahPerG, "Capacity must be a finite number ≥ 0 mAh/g.");
        if (!double.IsFinite(volts) || volts < 0)
            throw new ArgumentOutOfRangeException(nameof(volts), volts, "Cell voltage must be a finite number ≥ 0 V.");
        return capacityMahPerG * volts;
    }
}

/// <summary>
/// Extra conditions a screening candidate must meet, beyond the potential window. Each condition is off when null.
/// The molecule's traits are plain inputs (RDKit descriptors and dataset values, computed elsewhere); a trait the
/// molecule lacks (null) fails a condition that needs it, so nothing passes unchecked.
/// </summary>
/// <param name="RequireRedoxStable">True: the molecule must be known to keep its bonds on oxidation/reduction
/// (OMEAD's <c>redox_stable</c>). False or null: no requirement.</param>
/// <param name="AllowedElements">Element symbols the molecule may contain (exact, case-sensitive: "C", "Cl"). Every
/// element of the molecule must be listed; hydrogen is not implied, list "H" when the element list includes it.
/// Null: any element. An empty list is refused (it would reject every molecule).</param>
/// <param name="MaxHeavyAtoms">Largest number of non-hydrogen atoms (inclusive). Null: any size.</param>
public sealed record CandidateFilters(bool? RequireRedoxStable = null, IReadOnlyList<string>? AllowedElements = null, int? MaxHeavyAtoms = null)
{
    public static CandidateFilters None { get; } = new();

    /// <summary>True when the molecule meets every condition.</summary>
    public bool Accepts(bool? redoxStable, IReadOnlyCollection<string>? elements, int? heavyAtoms) =>
        RejectionReason(redoxStable, elements, heavyAtoms) is null;

    /// <summary>Null when the molecule meets every condition; otherwise every failed condition in words, joined by "; ".</summary>
    /// <param name="redoxStable">Whether the molecule is redox-stable; null when unknown.</param>
    /// <param name="elements">The molecule's element symbols (duplicates allowed); null when unknown.</param>
    /// <param name="heavyAtoms">The molecule's non-hydrogen atom count; null when unknown.</param>
    public string? RejectionReason(bool? redoxStable, IReadOnlyCollection<string>? elements, int? heavyAtoms)
    {
        if (AllowedElements is { Count: 0 })
            throw new ArgumentException("AllowedElements is empty: it would reject every molecule (use null for no element filter).", nameof(AllowedElements));
        if (MaxHeavyAtoms is < 0)
            throw new ArgumentOutOfRangeException(nameof(MaxHeavyAtoms), MaxHeavyAtoms, "MaxHeavyAtoms must be ≥ 0.");
        if (heavyAtoms is < 0) throw new ArgumentOutOfRangeException(nameof(heavyAtoms), heavyAtoms, "A heavy-atom count cannot be negative.");

        var reasons = new List<string>();
        if (RequireRedoxStable == true)
        {
            if (redoxStable is null) reasons.Add("redox stability unknown");
            else if (redoxStable == false) reasons.Add("not redox-stable");
        }

        if (AllowedElements is { } allowed)
        {
            if (elements is null) reasons.Add("elements unknown");
            else
            {
                var outside = elements.Where(e => !allowed.Contains(e, StringComparer.Ordinal)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
                if (outside.Count > 0)
                    reasons.Add($"element{(outside.Count > 1 ? "s" : "")} {string.Join(", ", outside)} not allowed (allowed: {string.Join(", ", allowed)})");
            }
        }

        if (MaxHeavyAtoms is { } max)
        {
            if (heavyAtoms is null) reasons.Add("heavy-atom count unknown");
            else if (heavyAtoms > max) reasons.Add($"{heavyAtoms} heavy atoms > {max}");
        }

        return reasons.Count == 0 ? null : string.Join("; ", reasons);
    }
}
