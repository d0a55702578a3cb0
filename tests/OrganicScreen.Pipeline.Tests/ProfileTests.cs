using OrganicScreen.Pipeline;
using OrganicScreen.Training;
using OrganicScreen.Training.Graph;

namespace OrganicScreen.Pipeline.Tests;

public sealed class ProfileTests
{
    private const string Valid = """
        {
          "name": "t", "description": "test", "model": "fcnn", "fingerprints": ["r1_1024"],
          "sweep": { "configs": [2], "folds": 2, "foldSeed": 1, "settings": { "epochs": 3, "batchSize": 64 } },
          "train": { "folds": 3, "foldSeed": 1, "dropout": 0.1, "initStd": 0.05, "settings": { "epochs": 4, "batchSize": 64 } }
        }
        """;

    private static string Error(string json, params string[] overrides) =>
        Should.Throw<FormatException>(() => ProfileDefinition.Parse(json, "data/profiles/t.json", overrides)).Message;

    [Theory]
    [InlineData("default")]
    [InlineData("paper")]
    [InlineData("paper-winners")]
    [InlineData("best")]
    [InlineData("dmpnn-cpu")]
    [InlineData("smoke")]
    [InlineData("smoke-dmpnn")]
    public void Every_shipped_profile_loads_and_validates(string name)
    {
        var profile = ProfileDefinition.Find(TestRepo.Root, name);
        profile.Name.ShouldBe(name);
        profile.RunName.ShouldBe(name);
        (profile.Model == ModelFamily.Fcnn).ShouldBe(profile.Sweep is not null);
    }

    [Fact]
    public void Only_the_studys_own_profiles_ship_the_best_fold()
    {
        foreach (var file in Directory.EnumerateFiles(Path.Combine(TestRepo.Root, "data", "profiles"), "*.json"))
        {
            var profile = ProfileDefinition.Find(TestRepo.Root, Path.GetFileNameWithoutExtension(file));
            profile.FinalModel.ShouldBe(profile.Name.StartsWith("paper") ? Stages.FinalModelPolicy.BestFold : Stages.FinalModelPolicy.Ensemble, profile.Name);
        }
    }

    [Fact]
    public void Intervals_are_adaptive_unless_the_profile_says_fixed_and_only_those_two_are_accepted()
    {
        ProfileDefinition.Parse(Valid, "t.json", []).Intervals.ShouldBe(Stages.IntervalPolicy.Adaptive);
        var fixedWidth = ProfileDefinition.Parse(Valid, "t.json", ["intervals=Fixed"]);
        fixedWidth.Intervals.ShouldBe(Stages.IntervalPolicy.Fixed);
        // Part of the profile's canonical JSON (report, provenance); Infer takes it into its key parameters.
        fixedWidth.CanonicalJson().ShouldContain("\"intervals\":\"Fixed\"");
        Error(Valid, "intervals=Narrow").ShouldContain("intervals");
        Error(Valid.Replace("\"model\": \"fcnn\"", "\"model\": \"fcnn\", \"intervals\": 7")).ShouldContain("key 'intervals' must be Adaptive or Fixed");
    }

    [Fact]
    public void A_misspelled_key_is_named_with_its_file()
    {
        Error(Valid.Replace("\"epochs\": 4", "\"epoch\": 4")).ShouldBe("data/profiles/t.json: unknown key 'train.settings.epoch' (misspelled, or not a setting of this section)");
        Error(Valid.Replace("\"description\"", "\"descripton\"")).ShouldContain("unknown key 'descripton'");
    }

    [Fact]
    public void Wrong_types_and_out_of_range_values_name_the_key()
    {
        Error(Valid.Replace("\"folds\": 3", "\"folds\": \"three\"")).ShouldContain("key 'train.folds'");
        Error(Valid.Replace("\"folds\": 3", "\"folds\": 1")).ShouldContain("key 'train.folds' must be 2–100, not 1");
        Error(Valid.Replace("\"epochs\": 4", "\"epochs\": 0")).ShouldContain("key 'train.settings'");
        Error(Valid.Replace("\"dropout\": 0.1", "\"dropout\": 1.5")).ShouldContain("key 'train'");
        Error(Valid.Replace("[\"r1_1024\"]", "[\"ecfp4\"]")).ShouldContain("key 'fingerprints'");
        Error(Valid.Replace("\"configs\": [2]", "\"configs\": [99]")).ShouldContain("key 'sweep.configs'");
        Error(Valid.Replace("\"fcnn\"", "\"transformer\"")).ShouldContain("key 'model'");
        Error("{ not json").ShouldContain("not valid JSON");
    }

    [Fact]
    public void Each_family_takes_only_its_own_settings()
    {
        // The sweep's fingerprints must be computed; D-MPNN profiles carry no sweep and no FCNN keys.
        Error(Valid.Replace("[\"r1_1024\"]", "[\"r2_2048\"]")).ShouldContain("lacks r1_1024");
        var dmpnn = Valid.Replace("\"fcnn\"", "\"dmpnn\"");
        Error(dmpnn).ShouldContain("key 'train.dmpnn' is required");
        var withArchitecture = dmpnn.Replace("\"dropout\": 0.1, \"initStd\": 0.05,", "\"dmpnn\": { \"hidden\": 16, \"depth\": 2 },");
        Error(withArchitecture).ShouldContain("key 'sweep' is an FCNN setting");
        var clean = withArchitecture.Replace("\"sweep\": { \"configs\": [2], \"folds\": 2, \"foldSeed\": 1, \"settings\": { \"epochs\": 3, \"batchSize\": 64 } },", "");
        ProfileDefinition.Parse(clean, "t.json", []).Train.Dmpnn!.Hidden.ShouldBe(16);
        ProfileDefinition.Parse(clean, "t.json", []).Train.Dmpnn!.BFloat16Products.ShouldBeFalse();
        ProfileDefinition.Parse(clean.Replace("\"depth\": 2", "\"depth\": 2, \"precision\": \"bfloat16\""), "t.json", []).Train.Dmpnn!.BFloat16Products.ShouldBeTrue();
        Error(clean.Replace("\"depth\": 2", "\"depth\": 2, \"precision\": \"float16\"")).ShouldContain("key 'train.dmpnn': D-MPNN precision must be 'float32' or 'bfloat16': 'float16'");
        // A float32 profile's key material is what it was before the precision existed (no "precision": null).
        ProfileDefinition.Parse(clean, "t.json", []).Train.KeyParameters().ToJsonString().ShouldNotContain("precision");
        Error(clean.Replace("\"dmpnn\": {", "\"dropout\": 0.2, \"dmpnn\": {")).ShouldContain("key 'train.dropout' is an FCNN setting");
    }

    [Fact]
    public void Auxiliary_groups_are_a_dmpnn_setting_from_the_shared_vocabulary()
    {
        var dmpnn = Valid.Replace("\"fcnn\"", "\"dmpnn\"")
            .Replace("\"dropout\": 0.1, \"initStd\": 0.05,", "\"dmpnn\": { \"hidden\": 16, \"depth\": 2 },")
            .Replace("\"sweep\": { \"configs\": [2], \"folds\": 2, \"foldSeed\": 1, \"settings\": { \"epochs\": 3, \"batchSize\": 64 } },", "");
        var set = ProfileDefinition.Parse(dmpnn, "t.json", ["train.auxiliary=[\"gas\",\"orbital\"]", "train.auxiliaryWeight=0.5"]);
        set.Train.Auxiliary.ShouldBe(["gas", "orbital"]);
        set.Train.AuxiliaryWeight.ShouldBe(0.5);
        set.RunName.ShouldNotBe(ProfileDefinition.Parse(dmpnn, "t.json", ["train.auxiliary=[\"gas\"]", "train.auxiliaryWeight=0.5"]).RunName);
        Error(dmpnn, "train.auxiliary=[\"orbitals\"]").ShouldContain("key 'train.auxiliary' names unknown group 'orbitals' (groups: electronic, excited, gas, orbital, reorganization, vertical)");
        Error(dmpnn, "train.auxiliary=[\"gas\",\"gas\"]").ShouldContain("lists a group twice");
        Error(dmpnn, "train.auxiliary=[\"gas\"]", "train.auxiliaryWeight=0").ShouldContain("key 'train.auxiliaryWeight' must be in (0, 10]");
        Error(dmpnn, "train.auxiliaryWeight=0.5").ShouldContain("needs 'train.auxiliary'");
        Error(Valid, "train.auxiliary=[\"gas\"]").ShouldContain("key 'train.auxiliary' is a D-MPNN setting");

        // Per dataset: its own entry wins ([] = none), other datasets take the list.
        var byDataset = ProfileDefinition.Parse(dmpnn, "t.json", ["train.auxiliary=[\"gas\",\"orbital\"]", "train.auxiliaryByDataset={\"ocelot\": [], \"mine\": [\"vertical\"]}"]);
        byDataset.Train.AuxiliaryFor("omead").ShouldBe(["gas", "orbital"]);
        byDataset.Train.AuxiliaryFor("ocelot").ShouldBeEmpty();
        byDataset.Train.AuxiliaryFor("mine").ShouldBe(["vertical"]);
        set.Train.AuxiliaryFor("ocelot").ShouldBe(["gas", "orbital"]);
        byDataset.RunName.ShouldNotBe(set.RunName);
        Error(dmpnn, "train.auxiliaryByDataset={\"ocelot\": [\"orbitals\"]}").ShouldContain("key 'train.auxiliaryByDataset.ocelot' names unknown group 'orbitals'");
        Error(Valid, "train.auxiliaryByDataset={\"ocelot\": []}").ShouldContain("key 'train.auxiliaryByDataset' is a D-MPNN setting");
    }

    [Fact]
    public void The_training_loss_is_a_dmpnn_setting_that_leaves_older_keys_alone()
    {
        var dmpnn = Valid.Replace("\"fcnn\"", "\"dmpnn\"")
            .Replace("\"dropout\": 0.1, \"initStd\": 0.05,", "\"dmpnn\": { \"hidden\": 16, \"depth\": 2 },")
            .Replace("\"sweep\": { \"configs\": [2], \"folds\": 2, \"foldSeed\": 1, \"settings\": { \"epochs\": 3, \"batchSize\": 64 } },", "");
        var plain = ProfileDefinition.Parse(dmpnn, "t.json", []);
        plain.Train.Loss.ShouldBeNull();
        // A profile without the key keeps the key material (and so the models) it had before the key existed.
        plain.Train.KeyParameters().ToJsonString().ShouldNotContain("loss");
        var mae = ProfileDefinition.Parse(dmpnn, "t.json", ["train.loss=\"Mae\""]);
        mae.Train.Loss.ShouldBe(TrainingLoss.Mae);
        mae.RunName.ShouldNotBe(plain.RunName);
        mae.Train.KeyParameters().ToJsonString().ShouldContain("\"loss\":\"Mae\"");
        Error(dmpnn, "train.loss=\"Huber\"").ShouldContain("train.loss");
        Error(Valid, "train.loss=\"Mae\"").ShouldContain("key 'train.loss' is a D-MPNN setting");
    }

    [Fact]
    public void Threads_per_fold_are_keyed_when_set_and_leave_older_keys_alone()
    {
        var plain = ProfileDefinition.Parse(Valid, "t.json", []);
        plain.Train.FoldThreads.ShouldBeNull();
        plain.Train.KeyParameters().ToJsonString().ShouldNotContain("foldThreads");
        // A fold's numbers depend on its thread count, so the count is key material once a profile sets it.
        var one = ProfileDefinition.Parse(Valid, "t.json", ["train.foldThreads=1"]);
        one.Train.FoldThreads.ShouldBe(1);
        one.Train.KeyParameters().ToJsonString().ShouldContain("\"foldThreads\":1");
        one.Train.KeyParameters().ToJsonString().ShouldNotBe(ProfileDefinition.Parse(Valid, "t.json", ["train.foldThreads=2"]).Train.KeyParameters().ToJsonString());
        Error(Valid, "train.foldThreads=0").ShouldContain("key 'train.foldThreads' must be 1–1024");
        Error(Valid, "train.foldThreads=1.5").ShouldContain("train.foldThreads");
    }

    [Fact]
    public void A_dataset_part_is_merged_for_that_dataset_only_before_the_overrides()
    {
        var json = Valid.TrimEnd().TrimEnd('}') + """
            , "byDataset": { "ocelot": { "train": { "settings": { "epochs": 9 }, "folds": 4 }, "fingerprints": ["r2_2048", "r1_1024"] } } }
            """;
        var plain = ProfileDefinition.Parse(json, "t.json", []);
        var other = ProfileDefinition.Parse(json, "t.json", [], "omead");
        var ocelot = ProfileDefinition.Parse(json, "t.json", [], "ocelot");
        foreach (var p in new[] { plain, other })
        {
            p.Train.Settings.Epochs.ShouldBe(4);
            p.Train.Folds.ShouldBe(3);
            p.Fingerprints.ShouldBe(["r1_1024"]);
        }
        // Objects merge key by key (batchSize is kept), lists are replaced.
        ocelot.Train.Settings.Epochs.ShouldBe(9);
        ocelot.Train.Settings.BatchSize.ShouldBe(64);
        ocelot.Train.Folds.ShouldBe(4);
        ocelot.Fingerprints.ShouldBe(["r2_2048", "r1_1024"]);
        ocelot.CanonicalJson().ShouldNotContain("\"byDataset\"", Case.Sensitive);
        ocelot.Train.KeyParameters().ToJsonString().ShouldNotBe(plain.Train.KeyParameters().ToJsonString());
        // --set applies after the dataset's part.
        ProfileDefinition.Parse(json, "t.json", ["train.settings.epochs=11"], "ocelot").Train.Settings.Epochs.ShouldBe(11);
        ProfileDefinition.Parse(json, "t.json", ["train.settings.epochs=11"], "ocelot").Train.Folds.ShouldBe(4);

        // Every dataset's part is checked, whichever dataset runs.
        Should.Throw<FormatException>(() => ProfileDefinition.Parse(json.Replace("\"epochs\": 9", "\"epoch\": 9"), "t.json", [], "omead")).Message
            .ShouldBe("t.json (byDataset.ocelot): unknown key 'train.settings.epoch' (misspelled, or not a setting of this section)");
        Should.Throw<FormatException>(() => ProfileDefinition.Parse(json.Replace("\"folds\": 4", "\"folds\": 1"), "t.json", [])).Message
            .ShouldContain("t.json (byDataset.ocelot): key 'train.folds' must be 2–100");
        Error(Valid.TrimEnd().TrimEnd('}') + ", \"byDataset\": { \"ocelot\": 3 } }").ShouldContain("key 'byDataset.ocelot' must be an object");
        Error(Valid.TrimEnd().TrimEnd('}') + ", \"byDataset\": [] }").ShouldContain("key 'byDataset' must be an object");
        Error(Valid.TrimEnd().TrimEnd('}') + ", \"byDataset\": { \"ocelot\": { \"name\": \"x\" } } }").ShouldContain("key 'byDataset.ocelot' may not set 'name'");
    }

    [Fact]
    public void Best_is_deeper_on_ocelot_keeps_omeads_auxiliary_targets_and_trains_on_the_absolute_error()
    {
        var omead = ProfileDefinition.Find(TestRepo.Root, "best", dataset: "omead");
        var ocelot = ProfileDefinition.Find(TestRepo.Root, "best", dataset: "ocelot");
        omead.Train.Dmpnn!.Depth.ShouldBe(3);
        omead.Train.Settings.Epochs.ShouldBe(25);
        omead.Train.AuxiliaryFor("omead").ShouldBe(["gas", "electronic", "orbital"]);
        ocelot.Train.Dmpnn!.Depth.ShouldBe(4);
        ocelot.Train.Dmpnn.Hidden.ShouldBe(300);
        ocelot.Train.Dmpnn.BFloat16Products.ShouldBeTrue();
        ocelot.Train.Settings.Epochs.ShouldBe(25);
        ocelot.Train.Settings.WarmEpochs.ShouldBe(8);
        ocelot.Train.Loss.ShouldBe(TrainingLoss.Mae);
        omead.Train.Loss.ShouldBe(TrainingLoss.Mae);
        ocelot.Train.Settings.BatchSize.ShouldBe(50);
        ocelot.Train.AuxiliaryFor("ocelot").ShouldBeEmpty();
        // Folds side by side, one thread each, on both datasets (OCELOT's Screen: 29.5 instead of about 48 minutes on 2 cores).
        ocelot.Train.FoldThreads.ShouldBe(1);
        omead.Train.FoldThreads.ShouldBe(1);
        ProfileDefinition.Find(TestRepo.Root, "default", dataset: "omead").Train.FoldThreads.ShouldBeNull();
        ocelot.RunName.ShouldBe("best");
    }

    [Fact]
    public void Set_overrides_values_validates_them_and_names_its_own_results()
    {
        var plain = ProfileDefinition.Parse(Valid, "t.json", []);
        var set = ProfileDefinition.Parse(Valid, "t.json", ["train.settings.epochs=7", "screen.cathodeMinimumVolts=3.5"]);
        set.Train.Settings.Epochs.ShouldBe(7);
        set.ScreenSettings.CathodeMinimumVolts.ShouldBe(3.5);
        set.RunName.ShouldStartWith("t+");
        set.RunName.ShouldNotBe(plain.RunName);
        ProfileDefinition.Parse(Valid, "t.json", ["train.settings.epochs=7"]).RunName
            .ShouldNotBe(ProfileDefinition.Parse(Valid, "t.json", ["train.settings.epochs=8"]).RunName);
        Error(Valid, "train.settings.epohcs=7").ShouldContain("unknown key 'train.settings.epohcs'");
        Error(Valid, "train.folds=1").ShouldContain("key 'train.folds' must be 2–100");
        Error(Valid, "novalue").ShouldContain("expected key=value");
    }

    [Fact]
    public void Names_are_plain_and_match_their_files()
    {
        Should.Throw<FormatException>(() => ProfileDefinition.Find(TestRepo.Root, "../datasets/ocelot")).Message.ShouldContain("is not valid: lower-case letters, digits and");
        Should.Throw<FileNotFoundException>(() => ProfileDefinition.Find(TestRepo.Root, "nope")).Message.ShouldContain("known: best,");
    }
}
