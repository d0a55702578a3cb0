using System.Text.Json.Nodes;
using OrganicScreen.Core;
using OrganicScreen.Data;

namespace OrganicScreen.Pipeline.Tests;

/// <summary>
/// A repository-like root whose dataset lists three versions of the 300-molecule fixture: v1 (as committed),
/// mirror (the same bytes at another path, dated earlier) and v2 (five molecules relabelled, three rows removed,
/// the newest). v1 is built once (smoke profile); the tests read status for the others.
/// </summary>
public sealed class VersionedRoot : IAsyncLifetime
{
    public string Root { get; } = TestRepo.TempFolder("os-versions");

    public string Store => Path.Combine(Root, "artifacts");

    public string V1Results { get; private set; } = "";

    public PipelineOptions Options(string? version) => new("versioned", "smoke", Root: Root, Device: "cpu", DatasetVersion: version);

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(Root, "data", "datasets"));
        Directory.CreateDirectory(Path.Combine(Root, "data", "profiles"));
        File.Copy(Path.Combine(TestRepo.Root, "data", "profiles", "smoke.json"), Path.Combine(Root, "data", "profiles", "smoke.json"));
        File.Copy(Path.Combine(TestRepo.Root, "data", "solvents.json"), Path.Combine(Root, "data", "solvents.json"));
        var lines = File.ReadAllLines(Path.Combine(TestRepo.Root, "data", "fixtures", "ocelot_fixture_300.csv"));
        File.WriteAllLines(Path.Combine(Root, "data", "v1.csv"), lines);
        File.WriteAllLines(Path.Combine(Root, "data", "mirror.csv"), lines);
        // v2: aie (column 2) + 0.5 eV on rows 10..50, rows 100..102 gone.
        File.WriteAllLines(Path.Combine(Root, "data", "v2.csv"), lines.Select((l, i) =>
            i is 10 or 20 or 30 or 40 or 50 ? string.Join(',', l.Split(',').Select((f, c) => c == 2 ? (double.Parse(f, System.Globalization.CultureInfo.InvariantCulture) + 0.5).ToString(System.Globalization.CultureInfo.InvariantCulture) : f)) : l)
            .Where((_, i) => i is < 100 or > 102));

        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(TestRepo.Root, "data", "datasets", "ocelot-fixture.json")))!.AsObject();
        manifest["name"] = "versioned";
        manifest.Remove("sources");
        var sha = new Dictionary<string, string>();
        foreach (var file in new[] { "v1.csv", "v2.csv", "mirror.csv" }) sha[file] = await ContentHash.OfFileAsync(Path.Combine(Root, "data", file));
        JsonNode Version(string name, string date, string file) => new JsonObject
        {
            ["name"] = name, ["date"] = date, ["note"] = $"test version {name}",
            ["sources"] = new JsonArray(new JsonObject { ["format"] = "csv", ["path"] = $"data/{file}", ["sha256"] = sha[file] }),
        };
        manifest["versions"] = new JsonArray(Version("v1", "2025-01-01", "v1.csv"), Version("v2", "2025-06-01", "v2.csv"), Version("mirror", "2024-12-01", "mirror.csv"));
        await File.WriteAllTextAsync(Path.Combine(Root, "data", "datasets", "versioned.json"), manifest.ToJsonString());

        V1Results = await new PipelineRun(Options("v1"), new RecordingLog()).ScreenAsync(CancellationToken.None);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Root, recursive: true);
        return Task.CompletedTask;
    }
}

public sealed class DatasetVersionTests(VersionedRoot root) : IClassFixture<VersionedRoot>
{
    private async Task<Dictionary<string, StageStatus>> StatusAsync(string? version) =>
        (await PipelineStatus.OfAsync(new PipelineRun(root.Options(version), new RecordingLog()))).ToDictionary(s => s.Stage);

    [Fact]
    public void The_newest_version_is_the_default_and_provenance_names_the_one_taken()
    {
        new PipelineRun(root.Options(null), new RecordingLog()).DatasetVersion.ShouldBe("v2");
        JsonNode.Parse(File.ReadAllText(Path.Combine(root.V1Results, "provenance.json")))!["datasetVersion"]!.GetValue<string>().ShouldBe("v1");
    }

    [Fact]
    public async Task A_new_version_reruns_every_stage_whose_inputs_changed_and_says_why()
    {
        var v1 = await StatusAsync("v1");
        v1.Values.ShouldAllBe(s => s.Cached);
        var v2 = await StatusAsync(null);
        v2.Values.ShouldAllBe(s => !s.Cached);
        v2["fetch"].Reasons.ShouldHaveSingleItem().ShouldStartWith("parameter sha256: \"6ffe2406");
        v2["featurize"].Reasons.ShouldBe([$"input fetch changed ({v1["fetch"].Key[..12]} → {v2["fetch"].Key[..12]})"]);
        v2["sweep"].Reasons.ShouldBe([$"input featurize changed ({v1["featurize"].Key[..12]} → {v2["featurize"].Key[..12]})"]);
        v2["train"].Reasons.Select(r => r.Split(' ')[1]).ShouldBe(["featurize", "sweep"]);
        v2["infer"].Reasons.Select(r => r.Split(' ')[1]).ShouldBe(["featurize", "train"]);
        v2["screen"].Reasons.Select(r => r.Split(' ')[1]).ShouldBe(["featurize", "infer", "train"]);
    }

    [Fact]
    public async Task A_version_with_the_same_content_reruns_nothing()
    {
        // Only the sha256 is key material: the mirror's other path and date change no key.
        var mirror = await StatusAsync("mirror");
        mirror.Values.ShouldAllBe(s => s.Cached);
        mirror.Values.Select(s => s.Key).ShouldBe((await StatusAsync("v1")).Values.Select(s => s.Key));
    }

    [Fact]
    public void An_unknown_version_or_a_version_of_an_unversioned_dataset_is_refused_with_the_choices()
    {
        Should.Throw<DatasetException>(() => new PipelineRun(root.Options("v3"), new RecordingLog()))
            .Message.ShouldBe("dataset 'versioned' has no version 'v3' (versions: v1 (2025-01-01), v2 (2025-06-01), mirror (2024-12-01))");
        Should.Throw<DatasetException>(() => new PipelineRun(TestRepo.Options(root.Store) with { DatasetVersion = "v1" }, new RecordingLog()))
            .Message.ShouldContain("lists no versions");
    }
}
