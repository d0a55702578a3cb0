namespace OrganicScreen.Screening;

/// <summary>The reference electrode a <see cref="Potential"/> is quoted against.</summary>
public enum PotentialScale
{
    /// <summary>Absolute (vacuum) scale: the energy of an electron at rest in vacuum is zero.</summary>
    Absolute,

    /// <summary>Versus the standard hydrogen electrode.</summary>
    StandardHydrogen,

    /// <summary>Versus Li/Li+ (lithium metal in a Li+ electrolyte), the battery convention.</summary>
    Lithium,
}

/// <summary>An electrode potential in volts on a stated scale.</summary>
public readonly record struct Potential(double Volts, PotentialScale Scale)
{
    public override string ToString() => Scale switch
    {
        PotentialScale.Absolute => FormattableString.Invariant($"{Volts:0.####} V (absolute)"),
        PotentialScale.StandardHydrogen => FormattableString.Invariant($"{Volts:0.####} V vs SHE"),
        _ => FormattableString.Invariant($"{Volts:0.####} V vs Li/Li+"),
    };
}

/// <summary>
/// Where the reference electrodes sit on the absolute scale.
/// Defaults: the IUPAC-recommended absolute SHE potential 4.44 V (Trasatti, Pure Appl. Chem. 58, 955, 1986)
/// and Li/Li+ at −3.04 V vs SHE. Together they put Li/Li+ at 4.44 − 3.04 = 1.40 V on the absolute scale,
/// which is exactly the 1.40 V the original study subtracts from IE/EA — the two conventions agree,
/// so E(vs Li/Li+) = E(absolute) − 1.40 V and E(vs SHE) = E(absolute) − 4.44 V.
/// Both values are parameters because other papers use 4.28–4.44 V for the SHE.
/// </summary>
public sealed record ReferenceScale(double SheAbsoluteVolts, double LithiumVsSheVolts)
{
    public static ReferenceScale Default { get; } = new(4.44, -3.04);

    /// <summary>A scale with a chosen Li/Li+ absolute potential, keeping the default SHE.</summary>
    public static ReferenceScale WithLithiumAbsolute(double lithiumAbsoluteVolts) =>
        new(Default.SheAbsoluteVolts, lithiumAbsoluteVolts - Default.SheAbsoluteVolts);

    /// <summary>Li/Li+ on the absolute scale (1.40 V by default).</summary>
    public double LithiumAbsoluteVolts => SheAbsoluteVolts + LithiumVsSheVolts;

    /// <summary>Absolute-scale position of a reference electrode.</summary>
    public double OffsetOf(PotentialScale scale) => scale switch
    {
        PotentialScale.Absolute => 0.0,
        PotentialScale.StandardHydrogen => SheAbsoluteVolts,
        PotentialScale.Lithium => LithiumAbsoluteVolts,
        _ => throw new ArgumentOutOfRangeException(nameof(scale), scale, "Unknown potential scale."),
    };

    /// <summary>Re-expresses a potential against another reference electrode.</summary>
    public Potential Convert(Potential potential, PotentialScale target) =>
        new(potential.Volts + OffsetOf(potential.Scale) - OffsetOf(target), target);
}

/// <summary>
/// Oxidation and reduction potentials of one molecule, derived from its vertical ionization energy and
/// electron affinity. For a one-electron process an energy of x eV corresponds to a potential of x V on the
/// absolute scale, so E_ox(abs) = IE and E_red(abs) = EA. EA follows the Materials Project sign convention
/// (positive when adding an electron is favourable), which makes a larger EA a higher reduction potential.
/// </summary>
public sealed record RedoxPotentials(Potential Oxidation, Potential Reduction)
{
    public static RedoxPotentials FromEnergies(double ionizationEnergyEv, double electronAffinityEv) =>
        new(new Potential(ionizationEnergyEv, PotentialScale.Absolute), new Potential(electronAffinityEv, PotentialScale.Absolute));

    public RedoxPotentials ConvertTo(PotentialScale target, ReferenceScale reference) =>
        new(reference.Convert(Oxidation, target), reference.Convert(Reduction, target));
}
