namespace OrganicScreen.Cli.Tests;

public sealed class CliTests
{
    [Fact]
    public async Task Fingerprint_writes_tsv_with_errors_inline()
    {
        var dir = Directory.CreateTempSubdirectory("os-fp").FullName;
        var input = Path.Combine(dir, "in.smi");
        var output = Path.Combine(dir, "out.tsv");
        await File.WriteAllTextAsync(input, "C1=CC=CC=C1\nC1CC\n");
        (await CliHost.RunAsync(["fingerprint", "--input", input, "--radius", "2", "--bits", "2048", "--output", output], TextWriter.Null, TextWriter.Null)).ShouldBe(0);
        var lines = await File.ReadAllLinesAsync(output);
        lines[0].ShouldBe("id\tsmiles\tcanonical_smiles\ton_bits");
        lines[1].ShouldBe("line1\tC1=CC=CC=C1\tc1ccccc1\t389 1088 1873"); // the RDKit oracle row for benzene, r2_2048 column
        lines[2].ShouldStartWith("line2\tC1CC\tERROR: SMILES Parse Error");
        lines[2].ShouldEndWith("\t");
        Directory.Delete(dir, true);
    }

    [Fact]
    public async Task Missing_input_file_is_a_non_zero_exit_with_message()
    {
        var error = new StringWriter();
        (await CliHost.RunAsync(["fingerprint", "--input", "/nonexistent/x.smi", "--output", "/tmp/x.tsv"], TextWriter.Null, error)).ShouldBe(CliHost.UserError);
        error.ToString().ShouldContain("input file not found");
    }

    [Fact]
    public async Task Unknown_dataset_names_the_known_ones()
    {
        var error = new StringWriter();
        (await CliHost.RunAsync(["stage", "fetch", "--dataset", "nope"], TextWriter.Null, error)).ShouldBe(CliHost.UserError);
        error.ToString().ShouldContain("ocelot");
    }

    [Fact]
    public async Task Omead_is_the_default_dataset()
    {
        var output = new StringWriter();
        (await CliHost.RunAsync(["dag"], output, TextWriter.Null)).ShouldBe(0);
        var status = new StringWriter();
        var store = Directory.CreateTempSubdirectory("os-default").FullName;
        try
        {
            // status names the run it would do; a fresh store has nothing cached, so it builds nothing.
            (await CliHost.RunAsync(["status", "--profile", "smoke", "--artifacts", store], status, status)).ShouldBe(0, status.ToString());
            status.ToString().ShouldStartWith("omead / solution / smoke");
        }
        finally
        {
            Directory.Delete(store, recursive: true);
        }
    }
}
