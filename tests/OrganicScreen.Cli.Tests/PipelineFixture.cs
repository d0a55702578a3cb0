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

    public string Store { get; } = Path.Combine(Path.GetTempPath(), "os-cli-" + Guid.NewGuid().ToString("N"));

    public string Root { get; } = RepositoryLayout.Locate().Root;

    /// <summary>results/&lt;dataset&gt;/&lt;variant&gt;/&lt;profile&gt;: the fixture's default variant is adiabatic.</summary>
    public string Results => Path.Combine(Store, "results", "ocelot-fixture", "adiabatic", ProfileName);

    public string Log { get; private set; } = "";

    public int ExitCode { get; private set; }

    public async Task InitializeAsync()
    {
        var output = new StringWriter();
        ExitCode = await CliHost.RunAsync(["stage", "screen", "--dataset", "ocelot-fixture", "--profile", ProfileName, "--device", "cpu", "--root", Root, "--artifacts", Store], output, output);
        Log = output.ToString();
    }

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
