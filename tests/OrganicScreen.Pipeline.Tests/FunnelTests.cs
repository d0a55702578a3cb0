using OrganicScreen.Pipeline.Sharding;
using OrganicScreen.Screening;

namespace OrganicScreen.Pipeline.Tests;

/// <summary>The funnel's rule at its boundaries: keep a molecule when its fast interval overlaps what the accurate model could accept.</summary>
public sealed class FunnelTests
{
    // Window 0.44–6.54 V, collector 4.7 V, cathode minimum 3.0 V; absolute = Li/Li+ + 1.40 V.
    private static readonly ScreeningRules Rules = new(
        new SolventWindow("acetonitrile", new CitedPotential(0.44, "test", null), new CitedPotential(6.54, "test", null)),
        new CurrentCollector("aluminium", new CitedPotential(4.7, "test", null)));

    private static MoleculePrediction Molecule(double eOx, double eRed, double halfWidth) =>
        new("x", "C", PredictionInterval.Symmetric(eOx + 1.40, halfWidth), PredictionInterval.Symmetric(eRed + 1.40, halfWidth));

    [Theory]
    [InlineData(5.199, -2.0, 0.5, true)]  // lower E_ox bound 4.699 is under the 4.7 V ceiling: the accurate model could accept
    [InlineData(5.201, -2.0, 0.5, false)] // 4.701: no E_ox inside the interval is a cathode, no E_red an anode
    [InlineData(2.501, -2.0, 0.5, true)]  // upper bound 3.001 reaches the cathode minimum
    [InlineData(2.499, -2.0, 0.5, false)]
    [InlineData(9.0, -0.059, 0.5, true)]  // upper E_red bound 0.441 reaches the anode floor
    [InlineData(9.0, -0.061, 0.5, false)]
    public void May_pass_exactly_when_the_interval_overlaps_an_accepted_range(double eOx, double eRed, double halfWidth, bool expected) =>
        Funnel.MayPass(Molecule(eOx, eRed, halfWidth), Rules).ShouldBe(expected);

    [Fact]
    public void Whatever_the_accurate_model_accepts_inside_the_fast_interval_passes()
    {
        // Accurate predictions anywhere in the fast interval, with any non-negative margin: accepted implies kept.
        var screen = new CandidateScreen(Rules with { Margin = MarginPolicy.None });
        var random = new Random(7);
        for (var i = 0; i < 20_000; i++)
        {
            var fast = Molecule(random.NextDouble() * 8, random.NextDouble() * 4 - 2, random.NextDouble());
            var accurate = new MoleculePrediction("x", "C",
                PredictionInterval.Symmetric(fast.IonizationEnergy.Lower + random.NextDouble() * (fast.IonizationEnergy.Upper - fast.IonizationEnergy.Lower), 0.1),
                PredictionInterval.Symmetric(fast.ElectronAffinity.Lower + random.NextDouble() * (fast.ElectronAffinity.Upper - fast.ElectronAffinity.Lower), 0.1));
            if (screen.Screen([accurate]).Any()) Funnel.MayPass(fast, Rules).ShouldBeTrue();
        }
    }
}
