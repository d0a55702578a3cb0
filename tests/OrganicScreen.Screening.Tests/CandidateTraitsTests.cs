using OrganicScreen.Screening;

namespace OrganicScreen.Screening.Tests;

public class CandidateTraitsTests
{
    private static MoleculeTraits Traits(double mass = 100.0, int heavy = 7, string[]? elements = null, int? centres = null, bool? stable = null) =>
        new(mass, heavy, elements ?? ["C", "H", "O"], centres, stable);

    private static Candidate Cand(ElectrodeRole role, string id, double potential, MoleculeTraits? traits) =>
        new(role, id, "C", PredictionInterval.Symmetric(potential, 0.1), 0.1, 0.2, null, null, traits is null ? null : CandidateTraits.Of(traits, potential));

    [Fact]
    public void Capacity_uses_the_datasets_redox_centres_and_energy_the_potential()
    {
        // By hand: 26,801.48 / 100 = 268.0148 mAh/g per electron; 3 centres 804.04 mAh/g; × 3.5 V = 2,814.16 Wh/kg.
        var t = CandidateTraits.Of(Traits(centres: 3), 3.5);
        t.CapacityPerElectronMahG.ShouldBe(268.0148, 1e-4);
        (t.Electrons, t.ElectronSource, t.ElectronSourceName).ShouldBe((3, ElectronSource.RedoxCenters, "redox_centers"));
        t.CapacityMahG.ShouldBe(804.0444, 1e-4);
        t.SpecificEnergyWhKg.ShouldBe(2814.156, 1e-3);
    }

    [Fact]
    public void Without_redox_centres_the_capacity_is_per_electron_and_zero_centres_store_nothing()
    {
        var perElectron = CandidateTraits.Of(Traits(), 1.2);
        (perElectron.Electrons, perElectron.ElectronSourceName).ShouldBe((1, "per_electron"));
        perElectron.CapacityMahG.ShouldBe(perElectron.CapacityPerElectronMahG);
        var none = CandidateTraits.Of(Traits(centres: 0), 4.0);
        (none.CapacityMahG, none.SpecificEnergyWhKg, none.ElectronSource).ShouldBe((0.0, 0.0, ElectronSource.RedoxCenters));
    }

    [Fact]
    public void Energy_uses_the_magnitude_of_a_negative_potential() =>
        CandidateTraits.Of(Traits(), -0.5).SpecificEnergyWhKg.ShouldBe(CandidateTraits.Of(Traits(), 0.5).SpecificEnergyWhKg);

    [Fact]
    public void Rank_by_specific_energy_orders_each_role_by_wh_per_kg_with_unknown_last()
    {
        Candidate[] expected =
        [
            Cand(ElectrodeRole.Cathode, "heavy-energy", 3.5, Traits(mass: 80, centres: 2)),
            Cand(ElectrodeRole.Cathode, "high-voltage", 4.6, Traits(mass: 200, centres: 1)),
            Cand(ElectrodeRole.Cathode, "unknown", 4.7, null),
            Cand(ElectrodeRole.Anode, "a-big", 2.0, Traits(mass: 60, centres: 2)),
            Cand(ElectrodeRole.Anode, "a-small", 0.6, Traits(mass: 60, centres: 2)),
        ];
        CandidateOrder.Sort(expected.Reverse(), CandidateRanking.SpecificEnergy).ShouldBe(expected);
        CandidateOrder.Sort(expected, CandidateRanking.Potential).Select(c => c.Id).ShouldBe(["unknown", "high-voltage", "heavy-energy", "a-small", "a-big"]);
    }

    [Fact]
    public void Filtering_counts_each_condition_and_removes_candidates_without_traits()
    {
        Candidate[] candidates =
        [
            Cand(ElectrodeRole.Cathode, "ok", 4.0, Traits(heavy: 8, stable: true)),
            Cand(ElectrodeRole.Cathode, "big-unstable", 4.0, Traits(heavy: 20, stable: false)),
            Cand(ElectrodeRole.Cathode, "bromine", 4.0, Traits(heavy: 8, elements: ["Br", "C", "H"], stable: true)),
            Cand(ElectrodeRole.Anode, "big", 1.0, Traits(heavy: 11, stable: true)),
            Cand(ElectrodeRole.Anode, "no-traits", 1.0, null),
        ];
        var outcome = CandidateFiltering.Apply(candidates, new CandidateFilters(true, ["C", "H", "N", "O"], 10));
        outcome.Kept.Select(c => c.Id).ShouldBe(["ok"]);
        outcome.Removed.Select(r => r.Candidate.Id).ShouldBe(["big-unstable", "bromine", "big", "no-traits"]);
        outcome.Removed.Single(r => r.Candidate.Id == "big-unstable").Reason.ShouldBe("not redox-stable; 20 heavy atoms > 10");
        outcome.Counts.ShouldBe(
        [
            new FilterCount("requireRedoxStable", "true", 1, 1),
            new FilterCount("allowedElements", "C, H, N, O", 1, 1),
            new FilterCount("maxHeavyAtoms", "10", 1, 2),
        ]);
    }

    [Fact]
    public void No_filters_keep_everything_and_count_nothing()
    {
        var outcome = CandidateFiltering.Apply([Cand(ElectrodeRole.Anode, "x", 1.0, null)], CandidateFilters.None);
        outcome.Kept.Count.ShouldBe(1);
        outcome.Counts.ShouldBeEmpty();
    }
}
