using System.Globalization;
using OrganicScreen.Chem;
using OrganicScreen.Reporting;
using OrganicScreen.Screening;

namespace OrganicScreen.Stages;

/// <summary>The screening parts of report.html: the window figure, summary, filter counts and structure drawings.</summary>
public static class ScreenReport
{
    /// <summary>Structures drawn per role (the study's figures show about a dozen of each).</summary>
    public const int DrawnPerRole = 12;

    /// <summary>Rows per candidate table in the HTML; the CSV holds every candidate.</summary>
    public const int TableRows = 50;

    public const string WindowFile = "window.png";

    /// <summary>
    /// The study's Figures 8–10: predicted E_ox and E_red of every molecule against the window, the collector limit and
    /// the electrode bands, candidates highlighted. The rules set no anode ceiling, so the anode band runs up to the
    /// solvent's oxidation limit (an anode candidate may sit anywhere above the floor).
    /// </summary>
    public static ReportFigure Window(ScreeningRules rules, IReadOnlyList<double> oxidation, IReadOnlyList<double> reduction, IReadOnlyList<Candidate> candidates, string datasetLabel)
    {
        var limits = WindowLimits.FromRules(rules, rules.Solvent.OxidationLimit.Volts);
        var png = WindowFigure.RedoxWindowPlot(oxidation, reduction,
            candidates.Where(c => c.Role == ElectrodeRole.Cathode).Select(c => c.Potential.Predicted).ToList(),
            candidates.Where(c => c.Role == ElectrodeRole.Anode).Select(c => c.Potential.Predicted).ToList(),
            limits, $"Predicted redox potentials in the {rules.Solvent.Name} window ({datasetLabel})");
        var collector = rules.Collector is { } c ? string.Create(CultureInfo.InvariantCulture, $"; red: the {c.Name} collector's {c.OxidationLimit.Volts:0.00} V limit.") : ".";
        var caption = string.Create(CultureInfo.InvariantCulture,
            $"Predicted E_ox (top) and E_red (bottom) vs Li/Li+ of every molecule (blue, left axis) and of the candidates kept (orange, right axis). " +
            $"Grey: outside the {rules.Solvent.Name} window ({rules.Solvent.ReductionLimit.Volts:0.00}–{rules.Solvent.OxidationLimit.Volts:0.00} V); " +
            $"shaded: the cathode band (E_ox from {rules.CathodeMinimumVolts:0.00} V to the {rules.CathodeCeilingVolts:0.00} V ceiling) and the anode band (E_red above {limits.AnodeBand!.LowerVolts:0.00} V)");
        return new ReportFigure("Electrochemical window", caption + collector, png);
    }

    /// <summary>Drawings of the first <see cref="DrawnPerRole"/> candidates of <paramref name="sorted"/> (one role, table order).</summary>
    public static StructureGallery Gallery(string title, IReadOnlyList<Candidate> sorted, Rdkit rdkit, string rankedBy)
    {
        var drawings = new List<StructureDrawing>();
        var rank = 0;
        foreach (var c in sorted.Take(DrawnPerRole))
        {
            rank++;
            string svg;
            try
            {
                svg = rdkit.DepictSvg(c.CanonicalSmiles, 250, 190);
            }
            catch (InvalidSmilesException e)
            {
                svg = ""; // left out by the report (not an <svg> element), with the reason in the caption
                drawings.Add(new StructureDrawing(svg, $"#{rank} {c.Id}", $"cannot draw: {e.Message}"));
                continue;
            }

            var quantity = c.Role == ElectrodeRole.Cathode ? "E_ox" : "E_red";
            var energy = c.Traits is { } t ? string.Create(CultureInfo.InvariantCulture, $", {t.CapacityMahG:0} mAh/g, {t.SpecificEnergyWhKg:0} Wh/kg") : "";
            drawings.Add(new StructureDrawing(svg, $"#{rank} {c.Id}",
                string.Create(CultureInfo.InvariantCulture, $"{quantity} {c.Potential.Predicted:0.00} V{energy} · {c.CanonicalSmiles}")));
        }

        var note = sorted.Count > DrawnPerRole ? $"The first {DrawnPerRole} of {sorted.Count} by {rankedBy}; RDKit 2-D depictions." : $"Ranked by {rankedBy}; RDKit 2-D depictions.";
        return new StructureGallery(title, drawings, note);
    }

    /// <summary>The filter table, or null when the profile sets no filter.</summary>
    public static FilterSummary? Filters(ScreenSectionOutcome outcome) => outcome.Filters is not { } f ? null : new FilterSummary(f.Counts,
        outcome.CathodesBeforeFilters, outcome.Cathodes.Count, outcome.AnodesBeforeFilters, outcome.Anodes.Count);

    /// <summary>Method notes for what this stage adds: capacity and energy, filters, ranking, phase.</summary>
    public static IReadOnlyList<MethodNote> Methods { get; } =
    [
        new("Molar mass, capacity and specific energy",
            "Molar mass M is RDKit's average molecular weight with implicit hydrogens (calcAMW, Python's Descriptors.MolWt) of the canonical SMILES. " +
            "The theoretical capacity for n electrons per molecule is Q = n·F/(3.6·M) = n × 26,801.48 mAh/mol ÷ M (F = 96,485.332 C/mol, exact). " +
            "n is the dataset's redox_centers count when it gives one (OMEAD; a molecule with 0 anticipated centres stores no charge and gets 0), " +
            "else 1, and the tables say which (electrons_source: redox_centers or per_electron). " +
            "Specific energy = Q × |E vs Li/Li+| in Wh/kg, with E the candidate's predicted potential: E_ox for a cathode, E_red for an anode, i.e. " +
            "against a lithium metal counter-electrode. For an anode the figure that matters in a cell is the voltage against the cathode; |E_red| keeps " +
            "the number simple and comparable between candidates. The dataset's own capacity column is carried as dataset_capacity_mah_g for comparison only."),
        new("Filters and ranking",
            "Filters from the profile's screen section run after the potential rules: requireRedoxStable keeps molecules the dataset marks redox-stable " +
            "(OMEAD: no bond changes by more than 40 % on oxidation or reduction), allowedElements keeps molecules whose every element is listed " +
            "(hydrogen is not implied), maxHeavyAtoms keeps molecules with at most that many non-hydrogen atoms. A molecule whose trait is unknown fails " +
            "the filter that needs it. rankBy orders each table by potential (as the rules see usefulness) or by specific energy, ties by potential, id and SMILES."),
        new("Phase of the energies",
            "A solvent's window is a pair of potentials in that solvent. Energies computed for the isolated molecule (gas phase) differ from the solvated ones " +
            $"by about 2 V ({PhaseWarning.Shifts}), so only solution-phase energies can be screened against the window; the report warns at the top otherwise."),
    ];
}

/// <summary>What the screening step produced: the sorted, filtered candidates per role, and the filter outcome (null: no filters).</summary>
public sealed record ScreenSectionOutcome(IReadOnlyList<Candidate> Cathodes, IReadOnlyList<Candidate> Anodes, int CathodesBeforeFilters, int AnodesBeforeFilters, FilterOutcome? Filters);
