using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using OrganicScreen.Chem.Inputs;
using OrganicScreen.Pipeline;
using OrganicScreen.Stages;

namespace OrganicScreen.Cli.Tests;

/// <summary>
/// One smoke model shared by the commands' hardening tests. Not run in parallel with other test classes: the
/// signal tests time a child process, which other tests' CPU load would distort.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ModelConsumers : ICollectionFixture<PipelineFixture>
{
    public const string Name = "model consumers";
}

/// <summary>predict / screen / fingerprint on the inputs people have, damaged models and bad options: no silent damage, no crash.</summary>
[Collection(ModelConsumers.Name)]
public sealed class InputHardeningTests(PipelineFixture run) : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("os-hardening").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string Write(string name, string text) => WriteBytes(name, Encoding.UTF8.GetBytes(text));

    private string WriteBytes(string name, byte[] bytes)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private async Task<(int Exit, string Output, string Error)> Cli(params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var exit = await CliHost.RunAsync(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    private Task<(int Exit, string Output, string Error)> Predict(string input, string output, params string[] more) =>
        Cli(["predict", "--model", run.Results, "--input", input, "--output", output, "--root", run.Root, .. more]);

    private static List<Dictionary<string, string>> ReadCsv(string path)
    {
        using var parser = Core.Csv.Parser(new StreamReader(path));
        parser.Read();
        var header = parser.Record!;
        var rows = new List<Dictionary<string, string>>();
        while (parser.Read()) rows.Add(header.Select((h, i) => (h, v: parser.Record![i])).ToDictionary(p => p.h, p => p.v));
        return rows;
    }

    /// <summary>One line "error: ..." and nothing that looks like a stack trace.</summary>
    private static void OneLineError(string error, string expected)
    {
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.ShouldHaveSingleItem().ShouldStartWith("error: ");
        error.ShouldContain(expected);
        error.ShouldNotContain("   at ");
    }

    [Fact]
    public async Task Predict_on_a_csv_keeps_the_id_and_every_other_column()
    {
        var input = Write("in.csv", "id,smiles,anything\nnaph,c1ccc2ccccc2c1,first\nformula,O=C1C=CC(=O)C=C1,=1+2\nbad,C1CC,third\n");
        var output = Path.Combine(dir, "out.csv");
        var (exit, _, error) = await Predict(input, output);
        exit.ShouldBe(0, error);
        File.ReadLines(output).First().ShouldBe(string.Join(',', PredictCommand.Columns) + ",anything");
        var rows = ReadCsv(output);
        rows.Select(r => (r["id"], r["anything"], r["status"])).Take(2).ShouldBe([("naph", "first", "OK"), ("formula", "'=1+2", "OK")]);
        rows[2]["status"].ShouldStartWith("invalid SMILES: SMILES Parse Error");
        rows[2]["anything"].ShouldBe("third");
    }

    [Fact]
    public async Task Predict_on_an_sdf_predicts_every_record()
    {
        var input = Write("in.sdf", Sdf);
        var output = Path.Combine(dir, "out.csv");
        var (exit, stdout, error) = await Predict(input, output);
        exit.ShouldBe(0, error);
        stdout.ShouldContain("predict: 3 records, 2 predicted");
        var rows = ReadCsv(output);
        rows.Select(r => (r["id"], r["canonical_smiles"], r["IE"], r["status"])).Take(2).ShouldBe([("ethanol", "CCO", "10.5", "OK"), ("benzene", "c1ccccc1", "9.2", "OK")]);
        rows[0]["note"].ShouldBe("'=cmd|x");
        rows[2]["id"].ShouldBe("broken");
        rows[2]["status"].ShouldContain("SD record RDKit cannot read");
    }

    [Fact]
    public async Task Gzipped_smi_with_names_gives_named_rows_not_binary()
    {
        var input = Path.Combine(dir, "in.smi.gz");
        await using (var gz = new GZipStream(File.Create(input), CompressionLevel.Fastest))
            await gz.WriteAsync(Encoding.UTF8.GetBytes("c1ccc2ccccc2c1 naphthalene\nO=C1C=CC(=O)C=C1 benzoquinone\n"));
        var output = Path.Combine(dir, "out.csv");
        (await Predict(input, output)).Exit.ShouldBe(0);
        ReadCsv(output).Select(r => (r["id"], r["smiles"], r["status"])).ShouldBe([("naphthalene", "c1ccc2ccccc2c1", "OK"), ("benzoquinone", "O=C1C=CC(=O)C=C1", "OK")]);
    }

    [Fact]
    public async Task Salts_and_mixtures_are_rejected_by_predict_and_never_become_candidates()
    {
        var input = Write("salts.smi", "[Cl-].[Na+] salt\nC.C.C.C methanes\nc1ccc2ccccc2c1 naphthalene\n");
        var output = Path.Combine(dir, "out.csv");
        (await Predict(input, output)).Exit.ShouldBe(0);
        var rows = ReadCsv(output);
        rows[0]["status"].ShouldStartWith("multi-fragment SMILES (salt or mixture): 2 fragments");
        rows[1]["status"].ShouldStartWith("multi-fragment SMILES (salt or mixture): 4 fragments");
        rows[0]["ie_ev"].ShouldBeEmpty();

        var folder = Path.Combine(dir, "screen");
        var (exit, stdout, error) = await Cli("screen", "--model", run.Results, "--input", input, "--output", folder, "--margin", "None", "--cathode-min", "0", "--include-out-of-domain", "--root", run.Root);
        exit.ShouldBe(0, error);
        stdout.ShouldContain("3 lines, 2 rejected");
        var candidates = File.ReadAllText(Path.Combine(folder, ScreenStage.Cathodes)) + File.ReadAllText(Path.Combine(folder, ScreenStage.Anodes));
        candidates.ShouldNotContain("[Cl-]");
        candidates.ShouldNotContain("C.C");
        File.ReadAllText(Path.Combine(folder, LibraryScreenCommand.Rejects)).ShouldContain("salt,[Cl-].[Na+],multi-fragment");
    }

    [Fact]
    public async Task Ethanol_is_marked_outside_the_applicability_domain()
    {
        var input = Write("eth.smi", "CCO ethanol\n" + FixtureSmiles()[0] + " fixture\n");
        var output = Path.Combine(dir, "out.csv");
        var (exit, stdout, _) = await Predict(input, output);
        exit.ShouldBe(0);
        stdout.ShouldContain("2 predicted (1 outside the applicability domain");
        var rows = ReadCsv(output);
        rows[0]["status"].ShouldBe("OK");
        rows[0]["domain"].ShouldStartWith("out: 3 heavy atoms, training range ");
        rows[0]["domain"].ShouldContain("nearest training molecule similarity");
        rows[1]["domain"].ShouldBe("in"); // a training molecule
        double.Parse(rows[1]["similarity"], CultureInfo.InvariantCulture).ShouldBe(1.0);
    }

    [Fact]
    public async Task Screen_leaves_out_of_domain_molecules_out_unless_asked_and_counts_them()
    {
        // Ethanol's predicted E_ox (about 4.5 V) is a cathode under --margin None, but the model knows nothing like it.
        var input = Write("eth.smi", "CCO ethanol\n");
        var folder = Path.Combine(dir, "screen");
        var (exit, stdout, _) = await Cli("screen", "--model", run.Results, "--input", input, "--output", folder, "--margin", "None", "--root", run.Root);
        exit.ShouldBe(0);
        stdout.ShouldContain("1 outside the applicability domain (left out; --include-out-of-domain keeps them), 0 cathode");
        File.ReadAllLines(Path.Combine(folder, ScreenStage.Cathodes)).Length.ShouldBe(1);

        (exit, stdout, _) = await Cli("screen", "--model", run.Results, "--input", input, "--output", folder, "--margin", "None", "--include-out-of-domain", "--root", run.Root);
        exit.ShouldBe(0);
        stdout.ShouldContain("1 cathode");
        var row = ReadCsv(Path.Combine(folder, ScreenStage.Cathodes)).Single();
        (row["id"], row["canonical_smiles"]).ShouldBe(("ethanol", "CCO"));
        row["domain"].ShouldStartWith("out: ");
    }

    /// <summary>A copy of the model folder with <paramref name="damage"/> applied; <paramref name="fixHash"/> rewrites files.sha256 so the loader's own checks are reached.</summary>
    private string DamagedModel(string relative, Action<string> damage, bool fixHash)
    {
        var copy = Path.Combine(dir, "model-" + Guid.NewGuid().ToString("N")[..8]);
        var from = Path.Combine(run.Results, "model");
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        damage(Path.Combine(copy, relative));
        if (fixHash) ModelFileHashes.Write(copy);
        return copy;
    }

    [Fact]
    public async Task Nan_weights_never_give_an_ok_prediction()
    {
        // Every weight of one IE fold model NaN, and the hash list fixed up: only the NaN check stands between it and "OK".
        var model = DamagedModel("ie/fold0/weights.bin", path =>
        {
            var bytes = File.ReadAllBytes(path);
            for (var i = 0; i + 4 <= bytes.Length; i += 4) BitConverter.TryWriteBytes(bytes.AsSpan(i), float.NaN);
            File.WriteAllBytes(path, bytes);
        }, fixHash: true);
        var input = Write("in.smi", "c1ccc2ccccc2c1\nO=C1C=CC(=O)C=C1\n");
        var output = Path.Combine(dir, "out.csv");
        var (exit, _, error) = await Cli("predict", "--model", model, "--input", input, "--output", output, "--root", run.Root);
        exit.ShouldBe(CliHost.AllRowsFailed);
        error.ShouldContain("none of the 2 lines could be predicted");
        ReadCsv(output).ShouldAllBe(r => r["status"].StartsWith("non-finite prediction (IE is NaN") && r["ie_ev"] == "");
    }

    [Theory]
    [InlineData("ie/fold0/weights.bin", "truncate", false, "does not match its sha256")]
    [InlineData("ie/fold0/weights.bin", "truncate", true, "is damaged")]
    [InlineData("model.json", "broken-json", true, "is not an OrganicScreen model card")]
    [InlineData("ea/fold3/model.json", "shape", true, "is damaged")]
    [InlineData("calibration_ie.json", "broken-json", true, "is damaged")]
    [InlineData("interval_errors_ie.json", "broken-json", true, "interval_errors_ie.json is damaged")]
    [InlineData("domain.json", "broken-json", true, "domain.json is damaged")]
    [InlineData("domain_fingerprints.bin", "truncate", true, "is damaged")]
    [InlineData("files.sha256", "delete", false, "has no files.sha256")]
    public async Task A_damaged_model_folder_is_one_error_line(string file, string damage, bool fixHash, string expected)
    {
        var model = DamagedModel(file, path =>
        {
            switch (damage)
            {
                case "truncate":
                    using (var stream = File.OpenWrite(path)) stream.SetLength(stream.Length / 2);
                    break;
                case "broken-json":
                    File.WriteAllText(path, "{ \"targets\": [");
                    break;
                case "shape":
                    File.WriteAllText(path, File.ReadAllText(path).Replace("\"InputBits\": 1024", "\"InputBits\": 2048"));
                    break;
                case "delete":
                    File.Delete(path);
                    break;
            }
        }, fixHash);
        var (exit, _, error) = await Cli("predict", "--model", model, "--input", Write("in.smi", "CCO\n"), "--output", Path.Combine(dir, "out.csv"), "--root", run.Root);
        exit.ShouldBe(CliHost.UserError, error);
        OneLineError(error, expected);
    }

    [Fact]
    public async Task Bad_option_values_are_one_error_line_that_lists_the_choices()
    {
        var input = Write("in.smi", "CCO\n");
        var (exit, _, error) = await Predict(input, Path.Combine(dir, "out.csv"), "--solvent", "water");
        exit.ShouldBe(CliHost.UserError);
        OneLineError(error, "unknown --solvent 'water' (known: acetonitrile");

        (exit, _, error) = await Cli("screen", "--model", run.Results, "--input", input, "--output", Path.Combine(dir, "s"), "--collector", "copper", "--root", run.Root);
        exit.ShouldBe(CliHost.UserError);
        OneLineError(error, "unknown --collector 'copper' (known: aluminium");

        (exit, _, error) = await Predict(input, dir);
        exit.ShouldBe(CliHost.UserError);
        OneLineError(error, "is a directory");

        (exit, _, error) = await Predict(input, Path.Combine(dir, "out.csv"), "--format", "xlsx");
        OneLineError(error, "unknown input format 'xlsx'");

        (exit, _, error) = await Predict(Write("cols.csv", "a,b\n1,2\n"), Path.Combine(dir, "out.csv"));
        exit.ShouldBe(CliHost.UserError);
        OneLineError(error, "no SMILES column");
    }

    [Fact]
    public async Task The_output_can_never_be_the_input()
    {
        var input = Write("in.smi", "CCO\n");
        File.CreateSymbolicLink(Path.Combine(dir, "link.smi"), input);
        Directory.CreateSymbolicLink(Path.Combine(dir, "alias"), dir);
        foreach (var output in new[] { input, Path.Combine(dir, "link.smi"), Path.Combine(dir, "alias", "in.smi"), Path.Combine(dir, ".", "in.smi") })
        {
            var (exit, _, error) = await Predict(input, output);
            exit.ShouldBe(CliHost.UserError, output);
            OneLineError(error, "is the input file");
            File.ReadAllText(input).ShouldBe("CCO\n");
        }

        var (code, _, message) = await Cli("screen", "--model", run.Results, "--input", Path.Combine(dir, "rejects.csv"), "--output", dir, "--root", run.Root);
        code.ShouldBe(CliHost.UserError);
        message.ShouldContain("is the input file");
    }

    [Fact]
    public async Task A_run_in_which_every_row_fails_exits_2()
    {
        var (exit, _, error) = await Predict(Write("bad.smi", "C1CC\n\nnot a smiles\n"), Path.Combine(dir, "out.csv"));
        exit.ShouldBe(CliHost.AllRowsFailed);
        error.ShouldContain("none of the 3 lines could be predicted (first reason: line 1: invalid SMILES");
        (await Cli("screen", "--model", run.Results, "--input", Write("bad2.smi", "C1CC\n"), "--output", Path.Combine(dir, "s"), "--root", run.Root)).Exit
            .ShouldBe(CliHost.AllRowsFailed);
    }

    [Fact]
    public async Task A_one_megabyte_smiles_line_is_rejected_in_under_a_second()
    {
        var input = Write("huge.smi", new string('C', 1 << 20) + " huge\nCCO ethanol\n");
        using var model = ShippedModel.Load(run.Results, null);
        _ = model.PredictSmiles(["CCO"]); // warm: first-call costs are not the guard's
        var clock = Stopwatch.StartNew();
        using var source = MoleculeSource.Open(input, rdkit: model.Rdkit);
        var rows = new List<ShippedModel.LinePrediction>();
        await foreach (var row in model.PredictAsync(source)) rows.Add(row);
        clock.Stop();
        rows[0].Status.ShouldContain("heavy atoms (counted from the text), more than the limit of 150");
        rows[1].Status.ShouldBe("OK");
        Console.WriteLine($"1 MB SMILES line read and rejected in {clock.Elapsed.TotalMilliseconds:F0} ms");
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(1));

        // Through the CLI the output echoes a shortened input, not a megabyte.
        var output = Path.Combine(dir, "out.csv");
        (await Predict(input, output)).Exit.ShouldBe(0);
        ReadCsv(output)[0]["smiles"].ShouldEndWith("… (1,048,576 characters)");
    }

    [Fact]
    public async Task Standard_input_and_output_work_through_a_child_process()
    {
        var (exit, stdout, stderr) = await CliProcess.RunAsync(
            ["predict", "--model", run.Results, "--input", "-", "--output", "-", "--root", run.Root], Encoding.UTF8.GetBytes("id,smiles,x\nn1,c1ccc2ccccc2c1,keep\n"));
        exit.ShouldBe(0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[0].ShouldBe(string.Join(',', PredictCommand.Columns) + ",x");
        lines[1].ShouldStartWith("n1,c1ccc2ccccc2c1,c1ccc2ccccc2c1,");
        lines[1].ShouldEndWith(",OK,keep");
        lines.Length.ShouldBe(2); // messages went to standard error
        stderr.ShouldContain("predict: 1 lines, 1 predicted");

        (exit, stdout, stderr) = await CliProcess.RunAsync(["fingerprint", "--input", "-", "--output", "-"], Encoding.UTF8.GetBytes(Sdf));
        exit.ShouldBe(0, stderr);
        stdout.Split('\n')[0].ShouldBe("id\tsmiles\tcanonical_smiles\ton_bits\tIE\tnote");
        stdout.ShouldContain("benzene\tc1ccccc1\tc1ccccc1\t389 1088 1873\t9.2\t");
    }

    [Fact]
    public async Task Fingerprint_reads_csv_and_carries_columns()
    {
        var output = Path.Combine(dir, "fp.tsv");
        var (exit, _, error) = await Cli("fingerprint", "--input", Write("in.csv", "name,smiles,extra\nb,C1=CC=CC=C1,z\n"), "--output", output);
        exit.ShouldBe(0, error);
        File.ReadAllLines(output).ShouldBe(["id\tsmiles\tcanonical_smiles\ton_bits\textra", "b\tC1=CC=CC=C1\tc1ccccc1\t389 1088 1873\tz"]);
    }

    [Fact]
    public async Task Manifests_that_reach_outside_are_refused()
    {
        var root = Path.Combine(dir, "repo");
        Directory.CreateDirectory(Path.Combine(root, "data", "datasets"));
        Directory.CreateDirectory(Path.Combine(root, "data", "profiles"));
        File.Copy(Path.Combine(run.Root, "data", "profiles", "smoke.json"), Path.Combine(root, "data", "profiles", "smoke.json"));
        var template = File.ReadAllText(Path.Combine(run.Root, "data", "datasets", "ocelot-fixture.json"));
        File.WriteAllText(Path.Combine(root, "data", "datasets", "evil.json"), template.Replace("\"name\": \"ocelot-fixture\"", "\"name\": \"../../../../tmp/x\""));
        File.WriteAllText(Path.Combine(root, "data", "datasets", "empty.json"), "{}");
        var secret = Write("secret.csv", "identifier,smiles,aie,aea\n");
        File.WriteAllText(Path.Combine(root, "data", "datasets", "outside.json"), template.Replace("\"name\": \"ocelot-fixture\"", "\"name\": \"outside\"")
            .Replace("data/fixtures/ocelot_fixture_300.csv", secret));
        foreach (var (dataset, expected) in new[]
                 {
                     ("evil", "name '../../../../tmp/x' is not valid"),
                     ("../../x", "dataset name '../../x' is not valid"),
                     ("empty", "empty.json: 'name' is missing or empty"),
                     ("outside", "pass --allow-outside-sources"),
                 })
        {
            var (exit, _, error) = await Cli("stage", "fetch", "--dataset", dataset, "--profile", "smoke", "--root", root, "--artifacts", Path.Combine(dir, "store"));
            exit.ShouldBe(CliHost.UserError, dataset);
            OneLineError(error, expected);
        }

        Directory.Exists(Path.Combine("/tmp", "x")).ShouldBeFalse();
        // With the flag, the same manifest is read (and fails only on its pinned checksum).
        var (code, _, message) = await Cli("stage", "fetch", "--dataset", "outside", "--profile", "smoke", "--root", root, "--artifacts", Path.Combine(dir, "store"), "--allow-outside-sources");
        code.ShouldBe(CliHost.UserError);
        message.ShouldContain("checksum mismatch");
    }

    private List<string> FixtureSmiles() =>
        File.ReadLines(Path.Combine(run.Root, "data/fixtures/ocelot_fixture_300.csv")).Skip(1).Select(l => l[(l.LastIndexOf(',') + 1)..]).ToList();

    /// <summary>Two molecules with data items, by hand (ethanol's item "=cmd|x" is a formula to a spreadsheet), then a record RDKit refuses.</summary>
    internal const string Sdf = """
        ethanol
          handmade

          3  2  0  0  0  0  0  0  0  0999 V2000
            0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
            1.5000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
            2.0000    1.4000    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0
          1  2  1  0
          2  3  1  0
        M  END
        >  <IE>
        10.5

        >  <note>
        =cmd|x

        $$$$
        benzene
          handmade

          6  6  0  0  0  0  0  0  0  0999 V2000
            1.4000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
            0.7000    1.2124    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
           -0.7000    1.2124    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
           -1.4000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
           -0.7000   -1.2124    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
            0.7000   -1.2124    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
          1  2  2  0
          2  3  1  0
          3  4  2  0
          4  5  1  0
          5  6  2  0
          6  1  1  0
        M  END
        >  <IE>
        9.2

        $$$$
        broken
          handmade

          1  0  0  0  0  0  0  0  0  0999 V2000
            0.0000    0.0000    0.0000 Xx  0  0  0  0  0  0  0  0  0  0  0  0
        M  END
        $$$$

        """;
}
