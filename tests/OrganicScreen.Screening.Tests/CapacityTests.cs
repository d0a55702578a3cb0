using OrganicScreen.Screening;

namespace OrganicScreen.Screening.Tests;

public class CapacityTests
{
    [Fact]
    public void Faraday_constant_is_the_exact_si_value()
    {
        TheoreticalCapacity.FaradayCoulombPerMol.ShouldBe(96_485.33212, 1e-5);
        TheoreticalCapacity.MilliampHoursPerMolOfElectrons.ShouldBe(26_801.48, 0.005);
    }

    [Fact]
    public void Benzoquinone_capacity_and_specific_energy_match_hand_computed_values()
    {
        // 1,4-benzoquinone C6H4O2, M = 108.10 g/mol. By hand: 26,801.48 / 108.10 = 247.93 mAh/g per electron.
        TheoreticalCapacity.PerElectron(108.10).ShouldBe(247.932, 0.001);
        TheoreticalCapacity.ForElectrons(108.10, 2).ShouldBe(495.864, 0.001);
        // 495.864 mAh/g × 2.5 V = 1,239.66 Wh/kg.
        SpecificEnergy.WhPerKg(TheoreticalCapacity.ForElectrons(108.10, 2), 2.5).ShouldBe(1239.66, 0.01);
        Math.Round(SpecificEnergy.WhPerKg(495.864, 2.5), 1).ShouldBe(1239.7);
    }

    [Fact]
    public void Capacity_scales_with_electrons_and_zero_electrons_is_zero()
    {
        TheoreticalCapacity.ForElectrons(60.0, 3).ShouldBe(3 * TheoreticalCapacity.PerElectron(60.0), 1e-9);
        TheoreticalCapacity.ForElectrons(60.0, 0).ShouldBe(0.0);
        SpecificEnergy.WhPerKg(0, 3.0).ShouldBe(0.0);
        SpecificEnergy.WhPerKg(100, 0).ShouldBe(0.0);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-5.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Molar_mass_must_be_finite_and_positive(double mass)
    {
        Should.Throw<ArgumentOutOfRangeException>(() => TheoreticalCapacity.PerElectron(mass)).ParamName.ShouldBe("molarMassGPerMol");
    }

    [Fact]
    public void Negative_electrons_capacity_or_voltage_are_refused()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => TheoreticalCapacity.ForElectrons(100, -1));
        Should.Throw<ArgumentOutOfRangeException>(() => SpecificEnergy.WhPerKg(-1, 2.0)).ParamName.ShouldBe("capacityMahPerG");
        Should.Throw<ArgumentOutOfRangeException>(() => SpecificEnergy.WhPerKg(100, -0.1)).ParamName.ShouldBe("volts");
        Should.Throw<ArgumentOutOfRangeException>(() => SpecificEnergy.WhPerKg(100, double.NaN));
    }
}

public class CandidateFilterTests
{
    private static readonly string[] Chno = ["C", "H", "N", "O"];

    [Fact]
    public void No_filters_accept_everything_even_unknown_traits()
    {
        CandidateFilters.None.Accepts(null, null, null).ShouldBeTrue();
        CandidateFilters.None.RejectionReason(false, ["U"], 500).ShouldBeNull();
    }

    [Theory]
    [InlineData(true, true, null)]
    [InlineData(false, true, "not redox-stable")]
    [InlineData(null, true, "redox stability unknown")]
    [InlineData(false, false, null)]   // RequireRedoxStable = false: no requirement
    [InlineData(null, false, null)]
    public void Redox_stability(bool? stable, bool require, string? reason)
    {
        new CandidateFilters(RequireRedoxStable: require).RejectionReason(stable, null, null).ShouldBe(reason);
    }

    [Fact]
    public void Elements_must_all_be_allowed()
    {
        var filters = new CandidateFilters(AllowedElements: Chno);
        filters.Accepts(null, ["C", "H", "O"], null).ShouldBeTrue();
        filters.Accepts(null, ["C", "H", "N", "O"], null).ShouldBeTrue();     // exactly the allowed set
        filters.Accepts(null, [], null).ShouldBeTrue();
        filters.RejectionReason(null, ["C", "H", "S"], null).ShouldBe("element S not allowed (allowed: C, H, N, O)");
        filters.RejectionReason(null, ["Cl", "C", "Br", "Cl"], null).ShouldBe("elements Br, Cl not allowed (allowed: C, H, N, O)");
        filters.RejectionReason(null, ["c"], null).ShouldBe("element c not allowed (allowed: C, H, N, O)"); // symbols are case-sensitive
        filters.RejectionReason(null, null, null).ShouldBe("elements unknown");
        new CandidateFilters(AllowedElements: ["C", "N", "O"]).RejectionReason(null, ["C", "H"], null)
            .ShouldBe("element H not allowed (allowed: C, N, O)");                                    // hydrogen is not implied
    }

    [Theory]
    [InlineData(29, null)]
    [InlineData(30, null)]                     // on the boundary: inclusive
    [InlineData(31, "31 heavy atoms > 30")]
    [InlineData(null, "heavy-atom count unknown")]
    public void Heavy_atoms_at_the_boundary(int? heavyAtoms, string? reason)
    {
        new CandidateFilters(MaxHeavyAtoms: 30).RejectionReason(null, null, heavyAtoms).ShouldBe(reason);
    }

    [Fact]
    public void Every_failed_condition_is_named()
    {
        var filters = new CandidateFilters(true, Chno, 12);
        filters.RejectionReason(false, ["C", "F"], 13).ShouldBe("not redox-stable; element F not allowed (allowed: C, H, N, O); 13 heavy atoms > 12");
        filters.Accepts(true, ["C", "O"], 12).ShouldBeTrue();
        filters.Accepts(true, ["C", "O"], 13).ShouldBeFalse();
    }

    [Fact]
    public void Nonsense_settings_are_refused()
    {
        Should.Throw<ArgumentException>(() => new CandidateFilters(AllowedElements: []).Accepts(true, ["C"], 1)).Message.ShouldContain("empty");
        Should.Throw<ArgumentOutOfRangeException>(() => new CandidateFilters(MaxHeavyAtoms: -1).Accepts(null, null, 1));
        Should.Throw<ArgumentOutOfRangeException>(() => CandidateFilters.None.Accepts(null, null, -3));
    }
}
