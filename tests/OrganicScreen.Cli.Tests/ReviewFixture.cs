using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using OrganicScreen.Core;

namespace OrganicScreen.Cli.Tests;

/// <summary>
/// A repository-like root holding the 300-molecule OCELOT fixture, reviewed end to end through the CLI (smoke profile,
/// CPU): approve, rerun unchanged, review against a deliberately edited approved CSV, then relabel five molecules and
/// remove three rows, rerun, review, diff the two results folders, and run ci/review.sh on the change. Every step's
/// exit code and output is kept for the tests; two pipeline builds in all (the rest is cached).
/// </summary>
public sealed class ReviewFixture : IAsyncLifetime
{
    public const string Dataset = "ocelot-fixture";

    /// <summary>Data rows (1-based) relabelled: IE + 0.8 eV on the first three (aie), EA + 0.8 eV on the last two (aea − 0.8).</summary>
    public static readonly int[] RelabelledRows = [5, 25, 45, 65, 85];

    public static readonly int[] RemovedRows = [150, 200, 250];

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "os-review-" + Guid.NewGuid().ToString("N"));

    public string Results => Path.Combine(Root, "artifacts", "results", Dataset, "adiabatic", "smoke");

    public string Approved => Path.Combine(Root, "data", "approved", Dataset, "adiabatic", "smoke");

    public string Before => Path.Combine(Root, "before");

    public string After => Path.Combine(Root, "after");

    /// <summary>Ids of the relabelled and removed rows, as the CSV names them.</summary>
    public List<string> RelabelledIds { get; } = [];

    public List<string> RemovedIds { get; } = [];

    public (int Exit, string Output) Approve { get; private set; }

    public (int Exit, string Output) Unchanged { get; private set; }

    public (int Exit, string Output) EditedApproved { get; private set; }

    public string EditedId { get; private set; } = "";

    public (int Exit, string Output) DatasetEdit { get; private set; }

    public (int Exit, string Output) Diff { get; private set; }

    public (int Exit, string Output, string Summary) Script { get; private set; }

    public async Task InitializeAsync()
    {
        var repo = RepositoryLayout.Locate().Root;
        foreach (var file in new[] { "data/datasets/ocelot-fixture.json", "data/profiles/smoke.json", "data/solvents.json", "data/fixtures/ocelot_fixture_300.csv" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(Root, file))!);
            File.Copy(Path.Combine(repo, file), Path.Combine(Root, file));
        }

        Approve = await CliAsync("review", "--approve");
        CopyDirectory(Results, Before);
        Unchanged = await CliAsync("review");

        // A deliberate edit of an approved CSV: the first cathode's potential moves by 0.1 V.
        var edited = Path.Combine(Root, "edited-approved");
        CopyDirectory(Path.Combine(Root, "data", "approved"), edited);
        var csv = Path.Combine(edited, Dataset, "adiabatic", "smoke", "candidates_cathode.csv");
        var lines = File.ReadAllLines(csv);
        var potential = Array.IndexOf(lines[0].Split(','), "potential_v_li");
        var fields = lines[1].Split(',');
        EditedId = fields[1];
        fields[potential] = (double.Parse(fields[potential], CultureInfo.InvariantCulture) + 0.1).ToString("F4", CultureInfo.InvariantCulture);
        lines[1] = string.Join(',', fields);
        File.WriteAllText(csv, string.Join('\n', lines) + "\n");
        EditedApproved = await CliAsync("review", "--approved", edited);

        await EditDatasetAsync();
        DatasetEdit = await CliAsync("review");
        CopyDirectory(Results, After);
        Diff = await RunAsync(["diff", Before, After, "--json", Path.Combine(Root, "diff.json"), "--html", Path.Combine(Root, "diff.html"), "--markdown", Path.Combine(Root, "diff.md")]);
        Script = await RunScriptAsync();
    }

    /// <summary>Relabels <see cref="RelabelledRows"/> and removes <see cref="RemovedRows"/>, and pins the edited file's sha256 in the manifest.</summary>
    private async Task EditDatasetAsync()
    {
        var path = Path.Combine(Root, "data", "fixtures", "ocelot_fixture_300.csv");
        var lines = File.ReadAllLines(path).ToList();
        var header = lines[0].Split(',').ToList();
        var (aie, aea) = (header.IndexOf("aie"), header.IndexOf("aea"));
        for (var k = 0; k < RelabelledRows.Length; k++)
        {
            var fields = lines[RelabelledRows[k]].Split(',');
            var (column, shift) = k < 3 ? (aie, 0.8) : (aea, -0.8); // EA = −aea: aea − 0.8 is EA + 0.8
            fields[column] = (double.Parse(fields[column], CultureInfo.InvariantCulture) + shift).ToString("R", CultureInfo.InvariantCulture);
            lines[RelabelledRows[k]] = string.Join(',', fields);
            RelabelledIds.Add(fields[0]);
        }

        RemovedIds.AddRange(RemovedRows.Select(r => lines[r].Split(',')[0]));
        foreach (var row in RemovedRows.OrderDescending()) lines.RemoveAt(row);
        File.WriteAllText(path, string.Join('\n', lines) + "\n");

        var manifestPath = Path.Combine(Root, "data", "datasets", "ocelot-fixture.json");
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        manifest["sources"]![0]!["sha256"] = await ContentHash.OfFileAsync(path);
        File.WriteAllText(manifestPath, manifest.ToJsonString());
    }

    private Task<(int, string)> CliAsync(string command, params string[] extra) =>
        RunAsync([command, "--dataset", Dataset, "--profile", "smoke", "--device", "cpu", "--root", Root, .. extra]);

    private static async Task<(int, string)> RunAsync(string[] args)
    {
        var output = new StringWriter();
        var exit = await CliHost.RunAsync(args, output, output);
        return (exit, output.ToString());
    }

    /// <summary>ci/review.sh run, as the workflow calls it, on a changed-file list naming the dataset manifest; the CLI stands in for build.sh.</summary>
    private async Task<(int, string, string)> RunScriptAsync()
    {
        var repo = RepositoryLayout.Locate().Root;
        var changed = Path.Combine(Root, "changed.txt");
        File.WriteAllText(changed, "data/datasets/ocelot-fixture.json\ndata/fixtures/ocelot_fixture_300.csv\n");
        var summary = Path.Combine(Root, "summary.md");
        var start = new ProcessStartInfo("bash", [Path.Combine(repo, "ci", "review.sh"), "run", "--changed", changed])
            { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Root };
        start.Environment["REVIEW_ROOT"] = Root;
        // An empty store, as on a fresh clone in CI: the approved side is the committed files alone.
        start.Environment["REVIEW_COMMAND"] = $"dotnet {Path.Combine(AppContext.BaseDirectory, "organicscreen.dll")} review --device cpu --root {Root} --artifacts {Path.Combine(Root, "ci-store")}";
        start.Environment["REVIEW_ARTIFACTS"] = Path.Combine(Root, "ci-store");
        start.Environment["GITHUB_STEP_SUMMARY"] = summary;
        start.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, stdout + await stderr, File.Exists(summary) ? await File.ReadAllTextAsync(summary) : "");
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }

    public Task DisposeAsync()
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
        return Task.CompletedTask;
    }
}
