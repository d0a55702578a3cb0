using System.Globalization;
using System.Text.Json;
using OrganicScreen.Core;

namespace OrganicScreen.Cli.Tests;

/// <summary>
/// <c>organicscreen train --data-path</c> end to end on a user's CSV (the 300-molecule OCELOT fixture with its
/// columns renamed, OCELOT's EA sign and an extra column): an ad-hoc dataset is pinned in the store, the whole
/// pipeline runs, and the model predicts. Same molecules, labels and profile as the fixture dataset, so the same
/// out-of-fold metrics as the approved smoke snapshot.
/// </summary>
public sealed class TrainCommandTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("os-train").FullName;
    private readonly string root = RepositoryLayout.Locate().Root;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public async Task Train_on_a_users_csv_runs_end_to_end_and_its_model_predicts()
    {
        var lines = File.ReadAllLines(Path.Combine(root, "data/fixtures/ocelot_fixture_300.csv"));
        var header = lines[0].Split(',');
        int Col(string name) => Array.IndexOf(header, name);
        var data = Path.Combine(dir, "My Molecules (v1).csv");
        await File.WriteAllLinesAsync(data, lines.Skip(1).Select(l => l.Split(',')).Select(f => $"{f[Col("identifier")]},{f[Col("smiles")]},{f[Col("aie")]},{f[Col("aea")]},note")
            .Prepend("name,smi,ie,ea_raw,comment"));
        var store = Path.Combine(dir, "store");
        var output = new StringWriter();
        var exit = await CliHost.RunAsync(["train", "--data-path", data, "--smiles-column", "smi", "--ie-column", "ie", "--ea-column", "ea_raw", "--ea-sign", "-1",
            "--id-column", "name", "--profile", "smoke", "--device", "cpu", "--root", root, "--artifacts", store], output, output);
        exit.ShouldBe(0, output.ToString());

        // The ad-hoc dataset: a pinned copy and a manifest in the store, named from the file stem.
        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(store, "datasets", "my-molecules-v1.json"))).RootElement;
        manifest.GetProperty("name").GetString().ShouldBe("my-molecules-v1");
        var source = manifest.GetProperty("sources")[0];
        source.GetProperty("sha256").GetString().ShouldBe(await ContentHash.OfFileAsync(data));
        manifest.GetProperty("variants").GetProperty("user").GetProperty("ea").GetProperty("sign").GetDouble().ShouldBe(-1);

        var results = Path.Combine(store, "results", "my-molecules-v1", "user", "smoke");
        output.ToString().ShouldContain(results);
        var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(results, "metrics.json"))).RootElement.EnumerateArray()
            .ToDictionary(m => m.GetProperty("target").GetString()!, m => m.GetProperty("outOfFold"));
        string Summary(string target) => string.Create(CultureInfo.InvariantCulture,
            $"n {metrics[target].GetProperty("count").GetInt32()}, MAE {metrics[target].GetProperty("mae").GetDouble():F3}, R2 {metrics[target].GetProperty("r2").GetDouble():F3}");
        var approved = File.ReadAllText(Path.Combine(root, "tests/OrganicScreen.Cli.Tests/approved/PipelineTests.Metrics_match_approved_snapshot.metrics.approved.txt"));
        approved.ShouldContain(Summary("ie"));
        approved.ShouldContain(Summary("ea"));
        File.Exists(Path.Combine(results, "model", "domain.json")).ShouldBeTrue();

        // Everything downstream works unchanged: predict with the new model, a later stage run finds the dataset.
        var predictions = Path.Combine(dir, "p.csv");
        var input = Path.Combine(dir, "in.smi");
        await File.WriteAllTextAsync(input, "c1ccc2ccccc2c1 naphthalene\n");
        (await CliHost.RunAsync(["predict", "--model", results, "--input", input, "--output", predictions, "--root", root], TextWriter.Null, TextWriter.Null)).ShouldBe(0);
        File.ReadAllLines(predictions)[1].ShouldStartWith("naphthalene,");
        var again = new StringWriter();
        (await CliHost.RunAsync(["stage", "screen", "--dataset", "my-molecules-v1", "--profile", "smoke", "--device", "cpu", "--root", root, "--artifacts", store], again, again)).ShouldBe(0, again.ToString());
        again.ToString().ShouldContain("train: cached");
    }

    [Fact]
    public async Task Train_names_a_missing_column_and_refuses_built_in_names()
    {
        var data = Path.Combine(dir, "ocelot.csv");
        await File.WriteAllTextAsync(data, "smiles,ie,ea\nCCO,9,1\n");
        var error = new StringWriter();
        (await CliHost.RunAsync(["train", "--data-path", data, "--ie-column", "IE", "--ea-column", "ea", "--root", root, "--artifacts", Path.Combine(dir, "s")], TextWriter.Null, error))
            .ShouldBe(CliHost.UserError);
        error.ToString().ShouldContain("no column 'IE' (--ie-column); the header has 'smiles', 'ie', 'ea'");
        error = new StringWriter();
        (await CliHost.RunAsync(["train", "--data-path", data, "--ie-column", "ie", "--ea-column", "ea", "--root", root, "--artifacts", Path.Combine(dir, "s")], TextWriter.Null, error))
            .ShouldBe(CliHost.UserError);
        error.ToString().ShouldContain("'ocelot' is a dataset of the repository");
        error = new StringWriter();
        (await CliHost.RunAsync(["train", "--data-path", data, "--ie-column", "ie", "--ea-column", "ea", "--name", "../x", "--root", root, "--artifacts", Path.Combine(dir, "s")], TextWriter.Null, error))
            .ShouldBe(CliHost.UserError);
        error.ToString().ShouldContain("dataset name '../x' is not valid");
    }
}
