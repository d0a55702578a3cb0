using System.Diagnostics;
using System.Globalization;

namespace OrganicScreen.Cli.Tests;

/// <summary>
/// Ctrl-C and SIGTERM during a long predict, for real: the built CLI as a child process on a 90,000-line .smi.
/// It must stop within two seconds with 130 / 143, delete its temporary output, and not crash inside native code.
/// </summary>
[Collection(ModelConsumers.Name)]
public sealed class SignalTests(PipelineFixture run) : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("os-signals").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Theory]
    [InlineData("INT", CliHost.Interrupted)]
    [InlineData("TERM", CliHost.Terminated)]
    public async Task A_signal_during_predict_exits_cleanly_within_two_seconds(string signal, int expected)
    {
        var smiles = File.ReadLines(Path.Combine(run.Root, "data/fixtures/ocelot_fixture_300.csv")).Skip(1).Select(l => l[(l.LastIndexOf(',') + 1)..]).ToList();
        var input = Path.Combine(dir, "big.smi");
        await File.WriteAllLinesAsync(input, Enumerable.Range(0, 90_000).Select(i => smiles[i % smiles.Count]));
        var outputs = Directory.CreateDirectory(Path.Combine(dir, "out")).FullName;
        var output = Path.Combine(outputs, "predictions.csv");

        var started = Stopwatch.StartNew();
        using var process = CliProcess.Start(["predict", "--model", run.Results, "--input", input, "--output", output, "--root", run.Root]);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        // Signal once predicting is under way (its temporary output exists), and no sooner than 1.5 s after the start.
        while (!Directory.EnumerateFiles(outputs, "*.tmp").Any() && !process.HasExited && started.Elapsed < TimeSpan.FromSeconds(120)) await Task.Delay(20);
        if (started.Elapsed < TimeSpan.FromSeconds(1.5)) await Task.Delay(TimeSpan.FromSeconds(1.5) - started.Elapsed);
        if (process.HasExited || !Directory.EnumerateFiles(outputs, "*.tmp").Any())
        {
            if (!process.HasExited) process.Kill();
            await process.WaitForExitAsync();
            Assert.Fail($"predict did not start writing within {started.Elapsed.TotalSeconds:F0} s (exit {(process.HasExited ? process.ExitCode : -1)}): {await stdout} {await stderr}");
        }

        var signalled = Stopwatch.StartNew();
        CliProcess.Signal(process, signal);
        var exited = process.WaitForExit(TimeSpan.FromSeconds(10));
        signalled.Stop();
        if (!exited) process.Kill();
        var error = await stderr;
        await stdout;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"SIG{signal} {started.Elapsed.TotalSeconds - signalled.Elapsed.TotalSeconds:F1} s after start: exit {process.ExitCode} after {signalled.Elapsed.TotalMilliseconds:F0} ms"));
        exited.ShouldBeTrue();
        process.ExitCode.ShouldBe(expected, error);
        signalled.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(2), error);
        error.ShouldContain($"cancelled (SIG{signal})");
        Directory.EnumerateFiles(outputs).ShouldBeEmpty(); // no *.tmp, and no half-written output
    }
}
