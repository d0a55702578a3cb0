using OrganicScreen.Screening;

namespace OrganicScreen.Screening.Tests;

public class ScreeningTests
{
    // Binary-exact numbers so boundary tests test the rule, not floating-point rounding:
    // Li/Li+ at 4.5 − 3.0 = 1.5 V absolute; window 0.5 … 6.5 V; collector 4.75 V.
    private static readonly ReferenceScale Scale = new(4.5, -3.0);
    private static readonly SolventWindow Window =
        new("test-solvent", new CitedPotential(0.5, "test", null), new CitedPotential(6.5, "test", null));
    private static readonly CurrentCollector Al = new("Al", new CitedPotential(4.75, "test", null));

    private static ScreeningRules Rules(MarginPolicy margin = MarginPolicy.IntervalHalfWidth, CurrentCollector? collector = null,
        double? anodeMinimum = null, double band = 0.0) =>
        new(Window, collector ?? Al, margin, CathodeMinimumVolts: 3.0, AnodeMinimumVolts: anodeMinimum, GlobalBandVolts: band, Reference: Scale);

    /// <summary>IE and EA given as absolute-scale eV with symmetric half-widths.</summary>
    private static MoleculePrediction Molecule(string id, double ie, double ieHalf, double ea, double eaHalf, string smiles = "C",
        double? dftIe = null, double? dftEa = null) =>
        new(id, smiles, PredictionInterval.Symmetric(ie, ieHalf), PredictionInterval.Symmetric(ea, eaHalf), dftIe, dftEa);

    private static readonly double Tiny = Math.Pow(2, -30);

    [Fact]
    public void Cathode_on_the_collector_limit_passes_and_just_above_fails()
    {
        var screen = new CandidateScreen(Rules());
        // E_ox = 6.0 − 1.5 = 4.5; 4.5 + 0.25 = 4.75 = Al limit (below solvent 6.5) → pass with zero headroom.
        var c = screen.AsCathode(Molecule("m", 6.0, 0.25, 0.0, 0.0)).ShouldNotBeNull();
        c.Potential.ShouldBe(new PredictionInterval(4.5, 4.25, 4.75));
        c.MarginVolts.ShouldBe(0.25);
        c.HeadroomVolts.ShouldBe(0.0);
        screen.AsCathode(Molecule("m", 6.0 + Tiny, 0.25, 0.0, 0.0)).ShouldBeNull();
        screen.AsCathode(Molecule("m", 6.0, 0.25 + Tiny, 0.0, 0.0)).ShouldBeNull();
    }

    [Fact]
    public void Without_a_collector_the_solvent_oxidation_limit_bounds_the_cathode()
    {
        var rules = Rules() with { Collector = null };
        rules.CathodeCeilingVolts.ShouldBe(6.5);
        var screen = new CandidateScreen(rules);
        // E_ox = 7.5 − 1.5 = 6.0; 6.0 + 0.5 = 6.5 → pass; the Al collector (4.75) would have rejected it.
        screen.AsCathode(Molecule("m", 7.5, 0.5, 0, 0)).ShouldNotBeNull();
        screen.AsCathode(Molecule("m", 7.5 + Tiny, 0.5, 0, 0)).ShouldBeNull();
        new CandidateScreen(Rules()).AsCathode(Molecule("m", 7.5, 0.5, 0, 0)).ShouldBeNull();
    }

    [Fact]
    public void Cathode_minimum_potential_is_inclusive()
    {
        var screen = new CandidateScreen(Rules());
        // E_ox = 4.5 − 1.5 = 3.0 = minimum → pass; a hair lower → fail.
        screen.AsCathode(Molecule("m", 4.5, 0.1, 0, 0)).ShouldNotBeNull();
        screen.AsCathode(Molecule("m", 4.5 - Tiny, 0.1, 0, 0)).ShouldBeNull();
    }

    [Fact]
    public void Anode_on_the_solvent_reduction_limit_passes_and_just_below_fails()
    {
        var screen = new CandidateScreen(Rules());
        // E_red = 2.25 − 1.5 = 0.75; 0.75 − 0.25 = 0.5 = solvent reduction limit → pass.
        var a = screen.AsAnode(Molecule("m", 0, 0, 2.25, 0.25)).ShouldNotBeNull();
        a.Role.ShouldBe(ElectrodeRole.Anode);
        a.Potential.Predicted.ShouldBe(0.75);
        a.HeadroomVolts.ShouldBe(0.0);
        screen.AsAnode(Molecule("m", 0, 0, 2.25 - Tiny, 0.25)).ShouldBeNull();
        screen.AsAnode(Molecule("m", 0, 0, 2.25, 0.25 + Tiny)).ShouldBeNull();
    }

    [Fact]
    public void Optional_anode_minimum_applies_only_when_set()
    {
        var molecule = Molecule("m", 0, 0, 2.5, 0.0); // E_red = 1.0
        new CandidateScreen(Rules()).AsAnode(molecule).ShouldNotBeNull();
        new CandidateScreen(Rules(anodeMinimum: 1.0)).AsAnode(molecule).ShouldNotBeNull();
        new CandidateScreen(Rules(anodeMinimum: 1.0 + Tiny)).AsAnode(molecule).ShouldBeNull();
    }

    [Fact]
    public void Asymmetric_intervals_use_the_side_that_faces_the_limit()
    {
        var screen = new CandidateScreen(Rules());
        // IE interval 6.0 [5.0, 6.25]: the upper side (0.25) matters for the cathode, not the 1.0 lower side.
        var m = new MoleculePrediction("m", "C", new PredictionInterval(6.0, 5.0, 6.25), new PredictionInterval(2.25, 2.0, 4.0));
        screen.AsCathode(m).ShouldNotBeNull().MarginVolts.ShouldBe(0.25);
        // EA interval 2.25 [2.0, 4.0]: the lower side (0.25) matters for the anode.
        screen.AsAnode(m).ShouldNotBeNull().MarginVolts.ShouldBe(0.25);
    }

    [Fact]
    public void Global_band_and_no_margin_policies_ignore_the_molecule_interval()
    {
        // E_ox = 4.5 with a huge own interval (1.0): the interval policy rejects it …
        var m = Molecule("m", 6.0, 1.0, 0, 0);
        new CandidateScreen(Rules()).AsCathode(m).ShouldBeNull();
        // … a global band of 0.25 accepts it exactly at the limit, 0.25 + Tiny rejects it …
        new CandidateScreen(Rules(MarginPolicy.GlobalBand, band: 0.25)).AsCathode(m).ShouldNotBeNull().MarginVolts.ShouldBe(0.25);
        new CandidateScreen(Rules(MarginPolicy.GlobalBand, band: 0.25 + Tiny)).AsCathode(m).ShouldBeNull();
        // … and no margin keeps 0.25 V of headroom.
        new CandidateScreen(Rules(MarginPolicy.None)).AsCathode(m).ShouldNotBeNull().HeadroomVolts.ShouldBe(0.25);
    }

    [Fact]
    public void Negative_global_band_is_refused() =>
        Should.Throw<ArgumentOutOfRangeException>(() => new CandidateScreen(Rules(MarginPolicy.GlobalBand, band: -0.1)));

    [Fact]
    public void Default_rules_use_the_1_40_V_lithium_offset()
    {
        var catalog = SolventCatalog.Load(TestPaths.SolventsJson());
        var screen = new CandidateScreen(new ScreeningRules(catalog.Solvent("acetonitrile"), catalog.Collector("aluminium")));
        // IE 6.0 eV → 4.60 V vs Li/Li+; 4.60 + 0.05 < 4.7 → cathode. 4.60 + 0.15 > 4.7 → rejected.
        screen.AsCathode(Molecule("m", 6.0, 0.05, 0, 0)).ShouldNotBeNull().Potential.Predicted.ShouldBe(4.60, 1e-12);
        screen.AsCathode(Molecule("m", 6.0, 0.15, 0, 0)).ShouldBeNull();
        // EA 2.0 eV → 0.60 V; 0.60 − 0.1 = 0.50 ≥ 0.44 → anode. 0.60 − 0.2 < 0.44 → rejected.
        screen.AsAnode(Molecule("m", 0, 0, 2.0, 0.1)).ShouldNotBeNull().Potential.Predicted.ShouldBe(0.60, 1e-12);
        screen.AsAnode(Molecule("m", 0, 0, 2.0, 0.2)).ShouldBeNull();
    }

    [Fact]
    public void One_molecule_can_be_both_and_dft_labels_are_converted()
    {
        var screen = new CandidateScreen(Rules());
        var both = Molecule("m", 6.0, 0.0, 2.5, 0.0, dftIe: 6.25, dftEa: null);
        var result = screen.Screen([both]).ToList();
        result.Select(c => c.Role).ShouldBe([ElectrodeRole.Cathode, ElectrodeRole.Anode]);
        result[0].DftPotentialVolts.ShouldBe(4.75);
        result[1].DftPotentialVolts.ShouldBeNull();
    }

    [Fact]
    public void Screen_is_lazy_and_streams_an_unbounded_library()
    {
        var pulled = 0;
        IEnumerable<MoleculePrediction> Library()
        {
            for (var i = 0; ; i++)
            {
                pulled++;
                // Every third molecule is a cathode (E_ox = 4.0), the rest fail the 3.0 V minimum and the anode floor.
                yield return i % 3 == 0
                    ? Molecule($"m{i}", 5.5, 0.1, 0.0, 0.0)
                    : Molecule($"m{i}", 4.0, 0.1, 0.0, 0.0);
            }
        }
        var first = new CandidateScreen(Rules()).Screen(Library()).Take(3).ToList();
        first.Select(c => c.Id).ShouldBe(["m0", "m3", "m6"]);
        pulled.ShouldBe(7);
    }

    [Fact]
    public void Non_finite_predictions_are_rejected_loudly()
    {
        var screen = new CandidateScreen(Rules());
        Should.Throw<ArgumentException>(() => screen.Screen([Molecule("bad", double.NaN, 0.1, 2, 0.1)]).ToList())
            .Message.ShouldContain("'bad'");
    }

    [Fact]
    public void Sort_orders_by_role_then_usefulness_then_id_then_smiles_regardless_of_input_order()
    {
        static Candidate C(ElectrodeRole role, double e, string id, string smiles) =>
            new(role, id, smiles, PredictionInterval.Symmetric(e, 0.1), 0.1, 0.2, null);
        Candidate[] expected =
        [
            C(ElectrodeRole.Cathode, 4.5, "b", "CC"),
            C(ElectrodeRole.Cathode, 4.0, "a", "C"),
            C(ElectrodeRole.Cathode, 4.0, "a", "CC"),
            C(ElectrodeRole.Cathode, 4.0, "b", "C"),
            C(ElectrodeRole.Anode, 0.6, "z", "C"),
            C(ElectrodeRole.Anode, 1.2, "a", "C"),
        ];
        var shuffled = expected.Reverse().ToArray();
        CandidateOrder.Sort(shuffled).ShouldBe(expected);
        CandidateOrder.Sort(expected.OrderBy(c => c.CanonicalSmiles).ThenBy(c => c.Id).ToArray()).ShouldBe(expected);
    }

    [Fact]
    public void Adaptive_intervals_give_each_molecule_its_own_margin_at_the_boundaries()
    {
        // Half-width q·σ(x) with q = 1 and σ = 1 − s₁ (floor 0.125): s₁ = 0.75 → 0.25, s₁ = 0.5 → 0.5, s₁ = 1 → the floor.
        var calibration = new Calibration(IntervalMethod.AdaptiveConformal, 0.05, 1.0, 0, 100) { ErrorScale = new ErrorScale(0, 1, 0, 0, 0.125) };
        var familiar = new Difficulty(0.75, 0.5, 0.2);
        var novel = new Difficulty(0.5, 0.5, 0.2);
        MoleculePrediction Predicted(string id, double ie, double ea, Difficulty d) =>
            new(id, "C", calibration.Apply(ie, difficulty: d), calibration.Apply(ea, difficulty: d));
        var screen = new CandidateScreen(Rules());
        // Cathode: E_ox = 6.0 − 1.5 = 4.5. Familiar: 4.5 + 0.25 = 4.75 = Al limit → pass with zero headroom;
        // novel: 4.5 + 0.5 = 5.0 > 4.75 → fail, although both have the same prediction.
        var cathode = screen.AsCathode(Predicted("familiar", 6.0, 0, familiar)).ShouldNotBeNull();
        cathode.MarginVolts.ShouldBe(0.25);
        cathode.HeadroomVolts.ShouldBe(0.0);
        screen.AsCathode(Predicted("novel", 6.0, 0, novel)).ShouldBeNull();
        screen.AsCathode(Predicted("familiar", 6.0 + Tiny, 0, familiar)).ShouldBeNull();
        // The novel molecule passes once its own margin fits: E_ox = 4.25, 4.25 + 0.5 = 4.75.
        screen.AsCathode(Predicted("novel", 5.75, 0, novel)).ShouldNotBeNull().MarginVolts.ShouldBe(0.5);
        // A near-duplicate of a training molecule keeps the floor, never a zero margin.
        screen.AsCathode(Predicted("duplicate", 6.125, 0, new Difficulty(1, 1, 0))).ShouldNotBeNull().MarginVolts.ShouldBe(0.125);
        // Anode: E_red = 2.25 − 1.5 = 0.75. Familiar: 0.75 − 0.25 = 0.5 = solvent limit → pass; novel: 0.75 − 0.5 = 0.25 → fail.
        var anode = screen.AsAnode(Predicted("familiar", 6.0, 2.25, familiar)).ShouldNotBeNull();
        anode.MarginVolts.ShouldBe(0.25);
        anode.HeadroomVolts.ShouldBe(0.0);
        screen.AsAnode(Predicted("novel", 6.0, 2.25, novel)).ShouldBeNull();
        screen.AsAnode(Predicted("familiar", 6.0, 2.25 - Tiny, familiar)).ShouldBeNull();
    }
}
