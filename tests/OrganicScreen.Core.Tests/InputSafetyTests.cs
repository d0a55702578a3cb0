using OrganicScreen.Core;

namespace OrganicScreen.Core.Tests;

public sealed class InputSafetyTests
{
    [Theory]
    [InlineData("ocelot_fixture_300.csv", "ocelot-fixture-300-csv")]
    [InlineData("My Data (v2)", "my-data-v2")]
    [InlineData("../../../../tmp/x", "tmp-x")]
    [InlineData("...", "dataset")]
    public void File_stems_become_plain_names(string text, string expected)
    {
        PlainNames.Sanitize(text).ShouldBe(expected);
        PlainNames.IsValid(PlainNames.Sanitize(text)).ShouldBeTrue();
    }

    [Theory]
    [InlineData("ocelot", true)]
    [InlineData("mp-jcesr", true)]
    [InlineData("../x", false)]
    [InlineData("Ocelot", false)]
    [InlineData("", false)]
    public void Plain_names_are_lower_case_letters_digits_and_dashes(string name, bool valid) => PlainNames.IsValid(name).ShouldBe(valid);

    [Fact]
    public void Paths_are_compared_through_symbolic_links()
    {
        var dir = Directory.CreateTempSubdirectory("os-paths").FullName;
        try
        {
            var file = Path.Combine(dir, "real", "in.smi");
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllText(file, "CCO\n");
            File.CreateSymbolicLink(Path.Combine(dir, "link.smi"), file);
            Directory.CreateSymbolicLink(Path.Combine(dir, "folder"), Path.Combine(dir, "real"));
            PathIdentity.Same(Path.Combine(dir, "link.smi"), file).ShouldBeTrue();
            PathIdentity.Same(Path.Combine(dir, "folder", "in.smi"), file).ShouldBeTrue();
            PathIdentity.Same(Path.Combine(dir, "folder", "..", "real", "in.smi"), file).ShouldBeTrue();
            PathIdentity.Same(Path.Combine(dir, "real", "other.smi"), file).ShouldBeFalse();
            PathIdentity.IsInside(Path.Combine(dir, "folder", "in.smi"), Path.Combine(dir, "real")).ShouldBeTrue();
            PathIdentity.IsInside(Path.Combine(dir, "realx", "in.smi"), Path.Combine(dir, "real")).ShouldBeFalse();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Atomic_writes_leave_no_temporary_file_when_cancelled()
    {
        var dir = Directory.CreateTempSubdirectory("os-atomic").FullName;
        try
        {
            var path = Path.Combine(dir, "out.csv");
            using var cancellation = new CancellationTokenSource();
            await Should.ThrowAsync<OperationCanceledException>(() => AtomicFile.WriteAsync(path, async stream =>
            {
                await stream.WriteAsync("half"u8.ToArray());
                await cancellation.CancelAsync();
                cancellation.Token.ThrowIfCancellationRequested();
            }));
            await Should.ThrowAsync<OperationCanceledException>(() => AtomicFile.WriteAllTextAsync(path, "x", cancellation.Token));
            Directory.GetFiles(dir).ShouldBeEmpty();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Plain_progress_lines_carry_an_eta()
    {
        ConsoleStageLog.Eta(25, 100, TimeSpan.FromSeconds(10)).ShouldBe("0:30");
        ConsoleStageLog.Eta(1, 1000, TimeSpan.FromSeconds(10)).ShouldBe("2:46:30");
        ConsoleStageLog.Eta(10, 0, TimeSpan.FromSeconds(10)).ShouldBeNull(); // unknown total
        var text = new StringWriter();
        using (var progress = new ConsoleStageLog(text, interactive: false).Progress("predict", 4_000_000, ProgressUnit.Bytes))
        {
            Thread.Sleep(250);
            progress.Report(1_000_000, "2,048 molecules");
        }

        text.ToString().ShouldStartWith("predict: 25 % (1.0/4.0 MB), 2,048 molecules, eta 0:");
    }
}
