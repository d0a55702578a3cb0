using OrganicScreen.Screening;

namespace OrganicScreen.Screening.Tests;

public class ElectrochemistryTests
{
    [Fact]
    public void Default_scale_puts_lithium_at_1_40_V_absolute_consistent_with_SHE_4_44_and_Li_minus_3_04()
    {
        var scale = ReferenceScale.Default;
        scale.SheAbsoluteVolts.ShouldBe(4.44);
        scale.LithiumVsSheVolts.ShouldBe(-3.04);
        scale.LithiumAbsoluteVolts.ShouldBe(1.40, 1e-12);
    }

    [Fact]
    public void Ionization_energy_becomes_oxidation_potential_minus_1_40_vs_lithium_and_minus_4_44_vs_SHE()
    {
        var redox = RedoxPotentials.FromEnergies(ionizationEnergyEv: 6.0, electronAffinityEv: 2.0);
        var li = redox.ConvertTo(PotentialScale.Lithium, ReferenceScale.Default);
        li.Oxidation.Volts.ShouldBe(4.60, 1e-12);
        li.Reduction.Volts.ShouldBe(0.60, 1e-12);
        li.Oxidation.Scale.ShouldBe(PotentialScale.Lithium);

        var she = redox.ConvertTo(PotentialScale.StandardHydrogen, ReferenceScale.Default);
        she.Oxidation.Volts.ShouldBe(1.56, 1e-12);
        // Li/Li+ itself sits at −3.04 V vs SHE.
        ReferenceScale.Default.Convert(new Potential(0.0, PotentialScale.Lithium), PotentialScale.StandardHydrogen).Volts.ShouldBe(-3.04, 1e-12);
    }

    [Fact]
    public void Lithium_offset_is_configurable()
    {
        var scale = ReferenceScale.WithLithiumAbsolute(1.5);
        scale.LithiumAbsoluteVolts.ShouldBe(1.5, 1e-12);
        scale.Convert(new Potential(6.0, PotentialScale.Absolute), PotentialScale.Lithium).Volts.ShouldBe(4.5, 1e-12);
    }

    [Fact]
    public void Conversion_round_trips()
    {
        var scale = ReferenceScale.Default;
        var start = new Potential(3.7, PotentialScale.Lithium);
        var back = scale.Convert(scale.Convert(start, PotentialScale.StandardHydrogen), PotentialScale.Lithium);
        back.Volts.ShouldBe(3.7, 1e-12);
        back.Scale.ShouldBe(PotentialScale.Lithium);
    }
}
