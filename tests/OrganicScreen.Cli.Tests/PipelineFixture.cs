using System.Text.Json;
using OrganicScreen.Core;

namespace OrganicScreen.Cli.Tests;

/// <summary>
/// Runs the whole pipeline once (Fetch → Screen) on the committed 300-molecule OCELOT fixture with
/// the smoke profile on CPU, in a private artifact store; the tests then read its results folder.
/// </summary>
public class PipelineFixture : IAsyncLifetime
{
    protected virtual string ProfileName => "smoke";

    public virtual string Dataset => "ocelot-fixture";

    /// <summary>The dataset's default variant (the results folder is named after it).</summary>
    public virtual string Variant => "adiabatic";

    public string Store { get; } = Path.Combine(Path.GetTempPath(), "os-cli-" + Guid.NewGuid().ToString("N"));

    public string Root { get; } = RepositoryLayout.Locate().Root;

    /// <summary>results/&lt;dataset&gt;/&lt;variant&gt;/&lt;profile&gt;.</summary>
    public string Results => Path.Combine(Store, "results", Dataset, Variant, ProfileName);

    public string Log { get; private set; } = "";

    public int ExitCode { get; private set; }

    public async Task InitializeAsync()
    {
        (ExitCode, Log) = await ScreenAsync();
    }

    /// <summary>Runs <c>stage screen</c> on this fixture's dataset and store with extra arguments (e.g. <c>--set</c>); upstream stages come from the store.</summary>
    public async Task<(int ExitCode, string Log)> ScreenAsync(params string[] extra)
    {
        var output = new StringWriter();
        var exit = await CliHost.RunAsync(["stage", "screen", "--dataset", Dataset, "--profile", ProfileName, "--device", "cpu", "--root", Root, "--artifacts", Store, .. extra], output, output);
        return (exit, output.ToString());
    }

    /// <summary>The results folder a run's log names ("results: …").</summary>
    public static string ResultsOf(string log) => log.Split('\n').Single(l => l.StartsWith("results: ", StringComparison.Ordinal))["results: ".Length..].Trim();

    public Task DisposeAsync()
    {
        if (Directory.Exists(Store)) Directory.Delete(Store, recursive: true);
        return Task.CompletedTask;
    }

    public JsonElement Metrics() => JsonDocument.Parse(File.ReadAllText(Path.Combine(Results, "metrics.json"))).RootElement;
}

/// <summary>The same run with the D-MPNN (smoke-dmpnn profile): one multi-task graph model per fold.</summary>
public sealed class GraphPipelineFixture : PipelineFixture
{
    protected override string ProfileName => "smoke-dmpnn";
}

/// <summary>The same run on the 300-row OMEAD fixture (solution phase, acetonitrile), which carries redox centres and stability.</summary>
public sealed class OmeadPipelineFixture : PipelineFixture
{
    public override string Dataset => "omead-fixture";

    public override string Variant => "solution";
}
