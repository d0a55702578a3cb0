using System.IO.Compression;

namespace OrganicScreen.Cli.Tests;

/// <summary><c>organicscreen enumerate</c>: reproducible bytes (gzip without a timestamp), --max, messages.</summary>
public sealed class EnumerateCommandTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("os-enum-").FullName;
    private readonly string libraries = Path.Combine(Core.RepositoryLayout.Locate().Data, "libraries");

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private async Task<(int Exit, string Output)> Run(params string[] args)
    {
        var output = new StringWriter();
        var exit = await CliHost.RunAsync(["enumerate", "--cores", Path.Combine(libraries, "redox_cores.smi"), "--substituents", Path.Combine(libraries, "substituents.smi"), .. args], output, output);
        return (exit, output.ToString());
    }

    [Fact]
    public async Task Same_bytes_twice_gzip_has_no_timestamp_and_max_is_respected()
    {
        var first = Path.Combine(folder, "a.smi.gz");
        var second = Path.Combine(folder, "b.smi.gz");
        var plain = Path.Combine(folder, "c.smi");
        var run = await Run("--sites", "2", "--max", "3000", "--output", first);
        run.Exit.ShouldBe(0, run.Output);
        run.Output.ShouldContain("3,000 written");
        (await Run("--sites", "2", "--max", "3000", "--threads", "1", "--output", second)).Exit.ShouldBe(0);
        (await Run("--sites", "2", "--max", "2000", "--output", plain)).Exit.ShouldBe(0);

        var bytes = await File.ReadAllBytesAsync(first);
        bytes.ShouldBe(await File.ReadAllBytesAsync(second));
        bytes[..4].ShouldBe(new byte[] { 0x1f, 0x8b, 8, 0 });  // gzip, deflate, no name/comment flags
        bytes[4..8].ShouldBe(new byte[4]);                       // MTIME 0: no timestamp
        await using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        var lines = new StreamReader(gzip).ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Length.ShouldBe(3000);
        lines.Distinct().Count().ShouldBe(3000);
        (await File.ReadAllLinesAsync(plain)).ShouldBe(lines.Take(2000)); // a smaller --max is a prefix, plain text without .gz
    }

    [Fact]
    public async Task Bad_core_file_is_a_user_error_naming_the_line()
    {
        var cores = Path.Combine(folder, "cores.smi");
        await File.WriteAllTextAsync(cores, "# comment\nO=C1C([*:1])=CC(=O)C=C1 ok\nc1ccccc1[*] unnumbered\n");
        var output = new StringWriter();
        var exit = await CliHost.RunAsync(["enumerate", "--cores", cores, "--substituents", Path.Combine(libraries, "substituents.smi"), "--output", Path.Combine(folder, "x.smi")], output, output);
        exit.ShouldBe(CliHost.UserError);
        output.ToString().ShouldContain("cores.smi line 3");
    }
}
