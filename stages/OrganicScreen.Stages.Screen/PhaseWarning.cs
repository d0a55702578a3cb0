using OrganicScreen.Data;
using OrganicScreen.Reporting;

namespace OrganicScreen.Stages;

/// <summary>
/// Whether a dataset's energies may be compared with a solvent's electrochemical window. The window limits are
/// potentials in that solvent; a molecule's redox potential moves by about 2 V on solvation, so gas-phase values
/// (OCELOT, OMEAD's <c>gas</c> variant) put candidates in the wrong place. Such a screen still runs (it ranks
/// molecules), but the log and the top of the report say it is not a physical screen.
/// </summary>
public static class PhaseWarning
{
    /// <summary>
    /// The measured solvation shifts that make the point: on OMEAD's development split, <c>oxidation_solv</c> is on average
    /// 1.98 V below the gas-phase <c>oxidation</c> and <c>reduction_solv</c> 1.54 V above <c>reduction</c>.
    /// </summary>
    public const string Shifts = "on OMEAD, oxidation in acetonitrile averages 1.98 V below the gas-phase oxidation and reduction 1.54 V above the gas-phase reduction";

    /// <summary>Null when the phase fits the window; otherwise the warning for the log and the report.</summary>
    public static ReportWarning? For(DatasetPhase phase, string dataset, string variant, string solvent)
    {
        ArgumentNullException.ThrowIfNull(phase);
        if (phase.IsGas)
            return new ReportWarning("Not a physical screen: gas-phase energies against a solvent window",
                $"{dataset} (variant {variant}) holds gas-phase IE/EA, but the candidates were screened against the {solvent} window. " +
                $"Solvation moves redox potentials by about 2 V ({Shifts}), so gas-phase E_ox lies too high and E_red too low for the " +
                "window limits to apply: cathodes are missed and anodes admitted for the wrong reason. Read these candidates as a ranking " +
                "of the molecules, not as molecules the electrolyte holds. For a physical screen use solution-phase energies " +
                "(--dataset omead, variant solution: acetonitrile, SMD).");
        if (phase.Solvent is null)
            return new ReportWarning("Solvent of the dataset not stated",
                $"{dataset} (variant {variant}) holds solution-phase energies ({phase.Model}) but does not name the solvent" +
                $"{(phase.Note is null ? "" : $" ({phase.Note})")}. The screen assumes they apply to the {solvent} window.");
        if (!string.Equals(phase.Solvent, solvent, StringComparison.OrdinalIgnoreCase))
            return new ReportWarning("Dataset solvent differs from the window's",
                $"{dataset} (variant {variant}) holds energies in {phase.Solvent} ({phase.Model}), screened against the {solvent} window; " +
                "redox potentials shift with the solvent, so the limits apply only approximately.");
        return null;
    }
}
