using OrganicScreen.Chem.Inputs;
using OrganicScreen.Screening;
using OrganicScreen.Stages;

namespace OrganicScreen.Pipeline.Sharding;

/// <summary>Predictions for a batch of input records, in order (<see cref="ShippedModel.PredictBatch"/>, or a funnel of two models).</summary>
public delegate IReadOnlyList<ShippedModel.LinePrediction> LinePredictor(IReadOnlyList<InputMolecule> batch, Func<InputMolecule, string> idOf, CancellationToken cancellation);

/// <summary>
/// The two-stage funnel: a fast model screens every line, the accurate model only the survivors. A survivor is a
/// molecule whose fast interval (its own calibrated 95 % interval, vs Li/Li+) overlaps the range of potentials the
/// accurate model could accept: [cathode minimum, cathode ceiling] for E_ox, [anode floor (and minimum), ∞) for
/// E_red. The accurate model's margin is never negative, so it accepts only predictions inside those ranges; the
/// funnel therefore keeps every molecule the accurate model would accept whose accurate prediction lies inside the
/// fast model's interval (about 95 % of molecules if both models err like their calibration says, more in
/// practice because the two models' errors are correlated). What it misses is measured, not assumed (README).
/// </summary>
public static class Funnel
{
    /// <summary>Status of a valid line the fast model ruled out: neither a candidate nor a reject.</summary>
    public const string ScreenedOut = "screened out by the prefilter";

    /// <summary>Whether the accurate model could accept a molecule whose fast prediction is <paramref name="fast"/>.</summary>
    public static bool MayPass(MoleculePrediction fast, ScreeningRules rules)
    {
        var toLithium = -rules.Scale.LithiumAbsoluteVolts;
        var oxidation = fast.IonizationEnergy.Shift(toLithium);
        var reduction = fast.ElectronAffinity.Shift(toLithium);
        var cathode = oxidation.Upper >= rules.CathodeMinimumVolts && oxidation.Lower <= rules.CathodeCeilingVolts;
        var anode = reduction.Upper >= rules.AnodeFloorVolts && (rules.AnodeMinimumVolts is not { } minimum || reduction.Upper >= minimum);
        return cathode || anode;
    }

    /// <summary>
    /// A <see cref="LinePredictor"/> that runs <paramref name="accurate"/> on the lines <paramref name="fast"/> lets
    /// through. Invalid lines keep the fast model's reason; ruled-out lines get <see cref="ScreenedOut"/>.
    /// <paramref name="canonicalFor"/> picks the accurate rows that get canonical SMILES (<see cref="ShippedModel.Predictor"/>;
    /// null: all); the fast model's never appear in an output, so it computes none.
    /// </summary>
    public static LinePredictor Of(ShippedModel fast, ShippedModel accurate, ScreeningRules rules,
        Func<MoleculePrediction, DomainVerdict, bool>? canonicalFor = null) => (batch, idOf, cancellation) =>
    {
        var first = fast.Predictor(static (_, _) => false)(batch, idOf, cancellation);
        var survivors = Enumerable.Range(0, batch.Count).Where(i => first[i].Prediction is { } p && MayPass(p, rules)).ToList();
        var rest = survivors.Select(i => batch[i]).ToList();
        var second = survivors.Count == 0 ? []
            : canonicalFor is null ? accurate.PredictBatch(rest, idOf, cancellation) : accurate.Predictor(canonicalFor)(rest, idOf, cancellation);
        var result = first.Select(p => p.Prediction is null ? p : p with { Prediction = null, Domain = null, Status = ScreenedOut }).ToArray();
        // The survivors are the same input records, so the accurate rows carry the same ids and row numbers.
        for (var k = 0; k < survivors.Count; k++) result[survivors[k]] = second[k];
        return result;
    };
}
