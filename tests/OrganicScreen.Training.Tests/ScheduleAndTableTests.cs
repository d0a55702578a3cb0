using OrganicScreen.Core;

namespace OrganicScreen.Training.Tests;

public class ScheduleAndTableTests
{
    [Theory]
    // Hand-computed: 0.003·exp(3·(500 − e)/4500) for e ≥ 500.
    [InlineData(0, 0.003)]
    [InlineData(499, 0.003)]
    [InlineData(500, 0.003)]
    [InlineData(1000, 0.002149593931721368)]
    [InlineData(2750, 0.0006693904804452894)]
    [InlineData(4999, 0.00014946081243908356)]
    public void Paper_schedule_matches_hand_computed_values(int epoch, double expected) =>
        TrainingSettings.Paper.LearningRateAt(epoch).ShouldBe(expected, 1e-15);

    [Fact]
    public void Constant_schedule_never_decays() =>
        (TrainingSettings.Paper with { Schedule = LearningRateSchedule.Constant }).LearningRateAt(4999).ShouldBe(0.003);

    [Fact]
    public void Paper_profile_is_the_study_protocol()
    {
        var s = TrainingSettings.Paper;
        (s.Epochs, s.BatchSize, s.LearningRate, s.WarmEpochs, s.L2, s.AdamBeta1, s.AdamBeta2, s.AdamEpsilon)
            .ShouldBe((5000, 30000, 0.003, 500, 0.003, 0.9, 0.999, 1e-7));
        s.EffectiveBatchSize(21000).ShouldBe(21000);
        s.Patience.ShouldBeNull();
        CrossValidationPlan.Paper.Dropout.ShouldBe(0.1);
        CrossValidationPlan.Paper.InitStd.ShouldBe(0.05);
        CrossValidationPlan.Paper.Folds.ShouldBe(8);
        CrossValidationPlan.Paper.Settings.ShouldBe(TrainingSettings.Paper);
    }

    [Fact]
    public void Table1_enumerates_the_grid_radius_major_plus_the_extra_config_24()
    {
        Table1.Configs.Count.ShouldBe(25);
        Table1.Configs.Select(c => c.Index).ShouldBe(Enumerable.Range(0, 25));
        var ie = Table1.Config(Table1.PaperIonizationEnergyConfig);
        ie.Fingerprint.ShouldBe(new FingerprintSpec(1, 1024));
        ie.Hidden.ShouldBe([1024, 512]);
        var ea = Table1.Config(Table1.PaperElectronAffinityConfig);
        ea.Fingerprint.ShouldBe(new FingerprintSpec(1, 1024));
        ea.Hidden.ShouldBe([512, 256]);
        Table1.Config(23).ShouldBe(new SweepConfig(23, new FingerprintSpec(3, 2048), [1024, 256]));
        Table1.Configs.Take(24).Select(c => (c.Fingerprint, string.Join(",", c.Hidden))).Distinct().Count().ShouldBe(24);
    }
}
