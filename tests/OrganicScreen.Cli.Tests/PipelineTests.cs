using System.Globalization;
using System.Text;
using OrganicScreen.Pipeline;
using OrganicScreen.Stages;

namespace OrganicScreen.Cli.Tests;

public sealed class PipelineTests(PipelineFixture run) : IClassFixture<PipelineFixture>
{
    [Fact]
    public void Results_folder_holds_everything_users_act_on()
    {
        run.ExitCode.ShouldBe(0, run.Log);
        foreach (var file in new[] { "metrics.json", "predictions.parquet", "potentials.parquet", "candidates_cathode.csv", "candidates_anode.csv", "report.html", "model/model.json",
                     "figures/parity_ie.png", "figures/parity_ea.png", "figures/learning_ie.png", "figures/residuals_ea.png", "model/calibration_ie.json" })
            File.Exists(Path.Combine(run.Results, file)).ShouldBeTrue(file);
        Directory.GetDirectories(Path.Combine(run.Results, "model", "ie")).Length.ShouldBe(8);
        var comparison = File.ReadAllText(Path.Combine(run.Results, "..", "comparison.md"));
        var mae = run.Metrics().EnumerateArray().Single(m => m.GetProperty("target").GetString() == "ie").GetProperty("outOfFold").GetProperty("mae").GetDouble();
        comparison.ShouldContain($"| smoke | FCNN (ECFP) | {mae.ToString("F3", CultureInfo.InvariantCulture)} |");
        comparison.ShouldContain("Chemprop D-MPNN AIE 0.173");
    }

    [Fact]
    public async Task Adaptive_intervals_are_shipped_reported_and_recompute_from_the_model_folder()
    {
        run.ExitCode.ShouldBe(0, run.Log);
        var report = await File.ReadAllTextAsync(Path.Combine(run.Results, "report.html"));
        report.ShouldContain("Adaptive against fixed-width intervals");
        var rows = await InferStage.ReadPredictionsAsync(Path.Combine(run.Results, "predictions.parquet"));
        foreach (var m in run.Metrics().EnumerateArray())
        {
            var target = m.GetProperty("target").GetString()!;
            m.GetProperty("calibration").GetProperty("method").GetString().ShouldBe("AdaptiveConformal");
            var intervals = m.GetProperty("intervals");
            var heldOut = intervals.GetProperty("heldOut");
            // Fold-held-out: every out-of-fold molecule once, ten deciles; 300 molecules give a coarse but honest coverage.
            heldOut.GetProperty("adaptive").GetProperty("count").GetInt32().ShouldBe(300);
            heldOut.GetProperty("adaptive").GetProperty("coverage").GetDouble().ShouldBeInRange(0.90, 0.99);
            heldOut.GetProperty("deciles").GetArrayLength().ShouldBe(10);
            heldOut.GetProperty("deciles").EnumerateArray().Sum(d => d.GetProperty("count").GetInt32()).ShouldBe(300);
            m.GetProperty("coverageFoldHeldOut").GetProperty("coverage").GetDouble().ShouldBe(heldOut.GetProperty("adaptive").GetProperty("coverage").GetDouble());
            // The shipped widths differ per molecule, and their mean and share narrower are those of predictions.parquet.
            var halfWidths = rows.Select(r => r.Interval(target)!.HalfWidth).ToList();
            halfWidths.Distinct().Count().ShouldBeGreaterThan(100);
            intervals.GetProperty("meanHalfWidth").GetDouble().ShouldBe(halfWidths.Average(), 1e-9);
            var fixedWidth = intervals.GetProperty("fixedHalfWidth").GetDouble();
            fixedWidth.ShouldBe(m.GetProperty("fixedCalibration").GetProperty("q").GetDouble());
            intervals.GetProperty("shareNarrower").GetDouble().ShouldBe((double)halfWidths.Count(w => w < fixedWidth) / halfWidths.Count, 1e-9);
            report.ShouldContain(intervals.GetProperty("meanHalfWidth").GetDouble().ToString("F4", CultureInfo.InvariantCulture));
        }

        // A new molecule's interval comes from the model folder alone: the card names each target's out-of-fold errors.
        var card = File.ReadAllText(Path.Combine(run.Results, "model", "model.json"));
        card.ShouldContain("\"intervalErrors\": \"interval_errors_ie.json\"");
        File.Exists(Path.Combine(run.Results, "model", "interval_errors_ea.json")).ShouldBeTrue();
        var model = ShippedModel.Load(run.Results, null);
        var predicted = model.PredictSmiles(["c1ccc2ccccc2c1", "O=C1C=CC(=O)C=C1", "CCCCCCCCCCCCCCCCCCCC"]);
        predicted.ShouldAllBe(p => p.Status == ShippedModel.LinePrediction.Ok);
        predicted.Select(p => p.Prediction!.IonizationEnergy.HalfWidth).Distinct().Count().ShouldBeGreaterThan(1);
    }

    [Fact]
    public async Task Potentials_are_on_three_scales_with_the_study_offsets()
    {
        var predictions = (await InferStage.ReadPredictionsAsync(Path.Combine(run.Results, "predictions.parquet"))).ToDictionary(p => p.Index);
        var potentials = await Data.ParquetTable.ReadAsync<ScreenStage.PotentialRow>(Path.Combine(run.Results, "potentials.parquet"));
        potentials.Count.ShouldBe(300);
        foreach (var row in potentials)
        {
            var p = predictions[row.Index];
            row.OxidationAbsolute.ShouldBe(p.IePred!.Value, 1e-12);
            row.OxidationLithium.ShouldBe(p.IePred!.Value - 1.40, 1e-9);   // E_ox = IE − 1.40 V
            row.ReductionLithium.ShouldBe(p.EaPred!.Value - 1.40, 1e-9);   // E_red = EA − 1.40 V
            row.OxidationShe.ShouldBe(p.IePred!.Value - 4.44, 1e-9);       // absolute SHE 4.44 V (Trasatti)
            row.OxidationLithiumUpper.ShouldBe(p.IeHi!.Value - 1.40, 1e-9);
        }
    }

    [Fact]
    public async Task Report_numbers_recompute_from_predictions_parquet()
    {
        var rows = await InferStage.ReadPredictionsAsync(Path.Combine(run.Results, "predictions.parquet"));
        rows.Count.ShouldBe(300);
        var metrics = run.Metrics();
        var report = await File.ReadAllTextAsync(Path.Combine(run.Results, "report.html"));
        foreach (var (target, dft, oof) in new (string, Func<InferStage.PredictionRow, double?>, Func<InferStage.PredictionRow, double?>)[]
                 { ("ie", r => r.IeDft, r => r.IeOof), ("ea", r => r.EaDft, r => r.EaOof) })
        {
            // Independent recomputation: plain loops over the Parquet columns, no library metric code.
            var pairs = rows.Where(r => dft(r) is not null).Select(r => (y: dft(r)!.Value, p: oof(r)!.Value)).ToList();
            var mae = pairs.Average(x => Math.Abs(x.y - x.p));
            var mean = pairs.Average(x => x.y);
            var r2 = 1 - pairs.Sum(x => (x.y - x.p) * (x.y - x.p)) / pairs.Sum(x => (x.y - mean) * (x.y - mean));
            var reported = metrics.EnumerateArray().Single(m => m.GetProperty("target").GetString() == target).GetProperty("outOfFold");
            reported.GetProperty("mae").GetDouble().ShouldBe(mae, 1e-9);
            reported.GetProperty("r2").GetDouble().ShouldBe(r2, 1e-9);
            reported.GetProperty("count").GetInt32().ShouldBe(pairs.Count);
            report.ShouldContain(mae.ToString("F3", CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public void Coverage_of_the_95_percent_interval_is_reported()
    {
        foreach (var m in run.Metrics().EnumerateArray())
        {
            var coverage = m.GetProperty("coverageFoldHeldOut").GetProperty("coverage").GetDouble();
            coverage.ShouldBeInRange(0.90, 1.0); // 300 molecules: ±2.5 % binomial noise around 95 %
            m.GetProperty("calibration").GetProperty("alpha").GetDouble().ShouldBe(0.05);
        }
    }

    [Fact]
    public async Task Review_against_the_committed_approved_snapshot_passes()
    {
        // data/approved/ocelot-fixture/adiabatic/smoke is what CI's review workflow compares with; this run is cached.
        var output = new StringWriter();
        var exit = await CliHost.RunAsync(["review", "--dataset", "ocelot-fixture", "--profile", "smoke", "--device", "cpu", "--root", run.Root, "--artifacts", run.Store], output, output);
        exit.ShouldBe(ReviewCommands.Same, output.ToString());
        output.ToString().ShouldContain("**No difference**");
    }

    [Fact]
    public void Candidate_lists_match_approved_snapshots()
    {
        // Reviewers read these diffs: a change in candidates fails here with the received file beside the approved one.
        File.ReadAllText(Path.Combine(run.Results, "candidates_cathode.csv")).ShouldMatchApproved(c => c.SubFolder("approved").WithDiscriminator("cathode").NoDiff());
        File.ReadAllText(Path.Combine(run.Results, "candidates_anode.csv")).ShouldMatchApproved(c => c.SubFolder("approved").WithDiscriminator("anode").NoDiff());
    }

    [Fact]
    public void Gas_phase_dataset_warns_in_the_log_and_at_the_top_of_the_report()
    {
        // OCELOT's energies are gas phase; the acetonitrile window applies to solvated molecules (about 2 V apart).
        run.Log.ShouldContain("warning: Not a physical screen: gas-phase energies against a solvent window. ocelot-fixture (variant adiabatic) holds gas-phase IE/EA");
        run.Log.ShouldContain("1.98 V below the gas-phase oxidation and reduction 1.54 V above");
        var report = File.ReadAllText(Path.Combine(run.Results, "report.html"));
        var warning = report.IndexOf("<div class=\"warning\" role=\"alert\"><p><b>Not a physical screen", StringComparison.Ordinal);
        warning.ShouldBeGreaterThan(0);
        warning.ShouldBeLessThan(report.IndexOf("<h2>", StringComparison.Ordinal)); // above every section
        report.ShouldContain("Energies: gas phase.");
    }

    [Fact]
    public void Without_redox_centres_in_the_dataset_capacity_is_per_electron()
    {
        foreach (var file in new[] { "candidates_cathode.csv", "candidates_anode.csv" })
            foreach (var r in Csv.Rows(Path.Combine(run.Results, file)))
            {
                (r["electrons"], r["electrons_source"], r["redox_stable"], r["dataset_capacity_mah_g"]).ShouldBe(("1", "per_electron", "", ""));
                r["capacity_mah_g"].ShouldBe(r["capacity_per_electron_mah_g"]);
                Csv.Number(r["specific_energy_wh_kg"]).ShouldBe(Csv.Number(r["capacity_mah_g"]) * Math.Abs(Csv.Number(r["potential_v_li"])), 0.05); // 4-decimal potential
            }
    }

    [Fact]
    public void Metrics_match_approved_snapshot()
    {
        var text = new StringBuilder();
        foreach (var m in run.Metrics().EnumerateArray())
        {
            var oof = m.GetProperty("outOfFold");
            var model = m.GetProperty("model");
            text.Append(CultureInfo.InvariantCulture, $"{m.GetProperty("target").GetString()}: {model.GetProperty("family").GetString()} config {model.GetProperty("config").GetInt32()} {model.GetProperty("fingerprint").GetString()}, ");
            text.Append(CultureInfo.InvariantCulture, $"n {oof.GetProperty("count").GetInt32()}, MAE {oof.GetProperty("mae").GetDouble():F3}, R2 {oof.GetProperty("r2").GetDouble():F3}, final {m.GetProperty("finalModel").GetString()}\n");
        }

        text.ToString().ShouldMatchApproved(c => c.SubFolder("approved").WithDiscriminator("metrics").NoDiff());
    }

    [Fact]
    public async Task Second_run_is_fully_cached()
    {
        var output = new StringWriter();
        var exit = await CliHost.RunAsync(["stage", "screen", "--dataset", "ocelot-fixture", "--profile", "smoke", "--device", "cpu", "--root", run.Root, "--artifacts", run.Store], output, output);
        exit.ShouldBe(0);
        var log = output.ToString();
        foreach (var stage in new[] { "fetch", "featurize", "sweep", "train", "infer", "screen" })
            log.ShouldContain($"{stage}: cached");
        log.ShouldNotContain("building");
    }

    [Fact]
    public async Task Predict_gives_every_line_a_row_and_a_status()
    {
        var input = Path.Combine(run.Store, "mixed.smi");
        var output = Path.Combine(run.Store, "mixed.csv");
        await File.WriteAllTextAsync(input, "c1ccc2ccccc2c1\n\nC1CC\nO=C1C=CC(=O)C=C1\n");
        var exit = await CliHost.RunAsync(["predict", "--model", run.Results, "--input", input, "--output", output, "--root", run.Root], TextWriter.Null, TextWriter.Null);
        exit.ShouldBe(0);
        var lines = await File.ReadAllLinesAsync(output);
        lines[0].ShouldBe("id,smiles,canonical_smiles,ie_ev,ie_lo,ie_hi,ea_ev,ea_lo,ea_hi,e_ox_li,e_red_li,domain,similarity,status");
        lines.Length.ShouldBe(5);
        lines[1].ShouldStartWith("line1,c1ccc2ccccc2c1,");
        lines[1].ShouldEndWith(",OK");
        lines[2].ShouldBe("line2,,,,,,,,,,,,,empty line");
        lines[3].ShouldStartWith("line3,C1CC,,");
        lines[3].ShouldContain("invalid SMILES: SMILES Parse Error");
        var fields = lines[4].Split(',');
        var ie = double.Parse(fields[3], CultureInfo.InvariantCulture);
        double.Parse(fields[9], CultureInfo.InvariantCulture).ShouldBe(ie - 1.40, 1e-3); // E_ox = IE − 1.40 V
        double.Parse(fields[4], CultureInfo.InvariantCulture).ShouldBeLessThan(ie);
        double.Parse(fields[5], CultureInfo.InvariantCulture).ShouldBeGreaterThan(ie);
    }

    [Fact]
    public async Task Predict_with_a_missing_model_fails_with_a_message()
    {
        var error = new StringWriter();
        var exit = await CliHost.RunAsync(["predict", "--model", run.Store, "--input", Path.Combine(run.Root, "data/fixtures/ocelot_fixture_300.csv"), "--output", Path.Combine(run.Store, "x.csv")], TextWriter.Null, error);
        exit.ShouldBe(CliHost.UserError);
        error.ToString().ShouldContain("no model found");
    }

    [Fact]
    public async Task Library_screen_streams_and_agrees_with_the_screen_stage()
    {
        var smiles = File.ReadLines(Path.Combine(run.Root, "data/fixtures/ocelot_fixture_300.csv")).Skip(1).Select(l => l[(l.LastIndexOf(',') + 1)..]).ToList();
        var input = Path.Combine(run.Store, "library.smi");
        await File.WriteAllLinesAsync(input, smiles.Append("C1CC").Append(""));
        var folder = Path.Combine(run.Store, "library");
        var output = new StringWriter();
        var exit = await CliHost.RunAsync(["screen", "--model", run.Results, "--input", input, "--output", folder, "--margin", "None", "--root", run.Root], output, output);
        exit.ShouldBe(0, output.ToString());
        output.ToString().ShouldContain("302 lines, 2 rejected");
        foreach (var file in new[] { "candidates_cathode.csv", "candidates_anode.csv" })
        {
            static HashSet<string> Smiles(string path) => File.ReadLines(path).Skip(1).Select(l => l.Split(',')[2]).ToHashSet();
            Smiles(Path.Combine(folder, file)).ShouldBe(Smiles(Path.Combine(run.Results, file)), ignoreOrder: true);
        }

        File.ReadAllLines(Path.Combine(folder, "rejects.csv")).Length.ShouldBe(3);
    }
}
