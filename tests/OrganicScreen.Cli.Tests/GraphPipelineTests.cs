using System.Globalization;
using OrganicScreen.Pipeline;
using OrganicScreen.Stages;

namespace OrganicScreen.Cli.Tests;

public sealed class GraphPipelineTests(GraphPipelineFixture run) : IClassFixture<GraphPipelineFixture>
{
    [Fact]
    public void Dmpnn_runs_through_every_stage_with_one_model_per_fold()
    {
        run.ExitCode.ShouldBe(0, run.Log);
        run.Log.ShouldNotContain("sweep:"); // the D-MPNN's DAG has no Sweep stage
        Directory.GetDirectories(Path.Combine(run.Results, "model", "dmpnn")).Length.ShouldBeGreaterThanOrEqualTo(1);
        var card = File.ReadAllText(Path.Combine(run.Results, "model", "model.json"));
        card.ShouldContain("\"family\": \"dmpnn\"");
        foreach (var m in run.Metrics().EnumerateArray())
        {
            m.GetProperty("model").GetProperty("family").GetString().ShouldBe("dmpnn");
            m.GetProperty("model").TryGetProperty("config", out _).ShouldBeFalse(); // no sentinel values
            m.GetProperty("outOfFold").GetProperty("count").GetInt32().ShouldBe(300);
            m.GetProperty("outOfFold").GetProperty("mae").GetDouble().ShouldBeLessThan(2.0);
        }
    }

    [Fact]
    public async Task Report_numbers_recompute_from_predictions_parquet()
    {
        var rows = await InferStage.ReadPredictionsAsync(Path.Combine(run.Results, "predictions.parquet"));
        var reported = run.Metrics().EnumerateArray().Single(m => m.GetProperty("target").GetString() == "ea").GetProperty("outOfFold");
        var mae = rows.Average(r => Math.Abs(r.EaDft!.Value - r.EaOof!.Value));
        reported.GetProperty("mae").GetDouble().ShouldBe(mae, 1e-9);
    }

    [Fact]
    public async Task Predict_uses_the_graph_model_and_matches_the_pipeline()
    {
        var rows = await InferStage.ReadPredictionsAsync(Path.Combine(run.Results, "predictions.parquet"));
        var input = Path.Combine(run.Store, "graph.smi");
        var output = Path.Combine(run.Store, "graph.csv");
        var first = rows.OrderBy(r => r.Index).First();
        await File.WriteAllTextAsync(input, $"{first.CanonicalSmiles}\nnot a smiles\n");
        (await CliHost.RunAsync(["predict", "--model", run.Results, "--input", input, "--output", output, "--root", run.Root], TextWriter.Null, TextWriter.Null)).ShouldBe(0);
        var lines = await File.ReadAllLinesAsync(output);
        lines.Length.ShouldBe(3);
        lines[1].ShouldEndWith(",OK");
        lines[2].ShouldContain("invalid SMILES");
        // Same molecule, same final model: the predict command reproduces the pipeline's prediction.
        double.Parse(lines[1].Split(',')[3], CultureInfo.InvariantCulture).ShouldBe(first.IePred!.Value, 1e-3); // ie_ev (after id, smiles, canonical_smiles)
    }
}
