using System.Text.Json.Nodes;

namespace OrganicScreen.Data.Tests;

/// <summary>Dataset versions in a manifest: optional, validated, the newest by default, and what Fetch takes.</summary>
public sealed class DatasetVersionManifestTests : IDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), $"os-manifest-{Guid.NewGuid():N}");

    public DatasetVersionManifestTests() => Directory.CreateDirectory(folder);

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private static JsonObject Source(string path) => new() { ["format"] = "csv", ["path"] = path, ["sha256"] = new string('a', 64) };

    private string Write(Action<JsonObject> edit)
    {
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(Repo.Root, "data", "datasets", "ocelot-fixture.json")))!.AsObject();
        edit(manifest);
        var path = Path.Combine(folder, $"{Guid.NewGuid():N}.json");
        File.WriteAllText(path, manifest.ToJsonString());
        return path;
    }

    private static JsonObject Version(string name, string date, params JsonObject[] sources) => new() { ["name"] = name, ["date"] = date, ["sources"] = new JsonArray(sources) };

    [Fact]
    public void Every_committed_manifest_still_loads_and_has_no_versions()
    {
        foreach (var path in Directory.GetFiles(Path.Combine(Repo.Root, "data", "datasets"), "*.json"))
        {
            var manifest = DatasetManifest.Load(path);
            manifest.Version(null).ShouldBeNull();
            manifest.SourcesOf(null).ShouldBe(manifest.Sources);
        }
    }

    [Fact]
    public void The_newest_version_is_the_default_and_fetch_takes_its_sources()
    {
        var manifest = DatasetManifest.Load(Write(m =>
        {
            m.Remove("sources");
            m["versions"] = new JsonArray(Version("2024", "2024-03-01", Source("data/fixtures/ocelot_fixture_300.csv")),
                Version("2025", "2025-03-01", Source("missing.csv"), Source("data/fixtures/ocelot_fixture_300.csv")), Version("old", "2023-01-31", Source("x.csv")));
        }));
        manifest.Sources.ShouldBeEmpty();
        manifest.Version(null)!.Name.ShouldBe("2025");
        var choice = FetchStage.Choose(manifest, Repo.Root, allowUnpinned: false);
        (choice.Version, choice.Source.Path).ShouldBe(("2025", "data/fixtures/ocelot_fixture_300.csv"));
        Should.Throw<DatasetException>(() => FetchStage.Choose(manifest, Repo.Root, false, version: "old")).Message.ShouldBe(
            "no source of dataset 'ocelot-fixture' version 'old' is available:\n  x.csv: not found");
    }

    [Theory]
    [InlineData("both", "list sources either at the top level or in each of \"versions\", not both")]
    [InlineData("date", "versions[0] ('v1'): \"date\" must be yyyy-MM-dd, not '1 May 2025'")]
    [InlineData("twice", "versions[1]: version 'v1' is listed twice")]
    [InlineData("empty", "versions[0] ('v1'): no sources")]
    [InlineData("sha", "sha256 of b.csv must be 64 hex digits")]
    public void A_bad_version_is_refused_with_a_message_that_names_it(string fault, string message)
    {
        var path = Write(m =>
        {
            if (fault != "both") m.Remove("sources");
            var bad = Source("b.csv");
            bad["sha256"] = "abc";
            m["versions"] = fault switch
            {
                "date" => new JsonArray(Version("v1", "1 May 2025", Source("a.csv"))),
                "twice" => new JsonArray(Version("v1", "2025-01-01", Source("a.csv")), Version("v1", "2025-02-01", Source("a.csv"))),
                "empty" => new JsonArray(Version("v1", "2025-01-01")),
                "sha" => new JsonArray(Version("v1", "2025-01-01", bad)),
                _ => new JsonArray(Version("v1", "2025-01-01", Source("a.csv"))),
            };
        });
        Should.Throw<DatasetException>(() => DatasetManifest.Load(path)).Message.ShouldContain(message);
    }
}
