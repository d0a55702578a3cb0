using System.Text.Json.Nodes;
using OrganicScreen.Core;

namespace OrganicScreen.Core.Tests;

public sealed class ArtifactStoreTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "os-store-" + Guid.NewGuid().ToString("N"));
    private readonly MemoryStageLog log = new();
    private int builds;

    public void Dispose()
    {
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    private static StageRequest Request(int alpha = 1, string input = "abc", string tool = "1.0") => new(
        "demo", new Dictionary<string, string> { ["Demo"] = "1" }, new JsonObject { ["alpha"] = alpha }, new Dictionary<string, string> { ["up"] = input },
        new Dictionary<string, string> { ["tool"] = tool });

    private Task<Artifact> BuildAsync(ArtifactStore store, StageRequest request, string content = "hello") =>
        store.GetOrBuildAsync(request, async (context, ct) =>
        {
            Interlocked.Increment(ref builds);
            Directory.CreateDirectory(Path.Combine(context.OutputDirectory, "sub"));
            await File.WriteAllTextAsync(Path.Combine(context.OutputDirectory, "sub", "out.txt"), content, ct);
            return new JsonObject { ["rows"] = 3 };
        });

    [Fact]
    public async Task Second_run_with_same_key_is_a_cache_hit()
    {
        var store = new ArtifactStore(root, log);
        var first = await BuildAsync(store, Request());
        var second = await BuildAsync(store, Request());
        builds.ShouldBe(1);
        first.FromCache.ShouldBeFalse();
        second.FromCache.ShouldBeTrue();
        second.Directory.ShouldBe(first.Directory);
        second.Manifest.Summary!["rows"]!.GetValue<int>().ShouldBe(3);
        log.Lines.ShouldContain(l => l.Contains("cached"));
    }

    [Theory]
    [InlineData(2, "abc", "1.0")]
    [InlineData(1, "abd", "1.0")]
    [InlineData(1, "abc", "1.1")]
    public async Task Changing_a_parameter_input_or_tool_version_misses(int alpha, string input, string tool)
    {
        var store = new ArtifactStore(root, log);
        var first = await BuildAsync(store, Request());
        var changed = await BuildAsync(store, Request(alpha, input, tool));
        builds.ShouldBe(2);
        changed.FromCache.ShouldBeFalse();
        changed.Directory.ShouldNotBe(first.Directory);
    }

    [Fact]
    public void Key_ignores_property_and_dictionary_order()
    {
        var a = new StageRequest("s", new Dictionary<string, string> { ["S"] = "1" }, JsonNode.Parse("""{"x":1,"y":{"b":2,"a":1}}"""), new Dictionary<string, string> { ["p"] = "1", ["q"] = "2" }, new Dictionary<string, string>());
        var b = new StageRequest("s", new Dictionary<string, string> { ["S"] = "1" }, JsonNode.Parse("""{"y":{"a":1,"b":2},"x":1}"""), new Dictionary<string, string> { ["q"] = "2", ["p"] = "1" }, new Dictionary<string, string>());
        a.Key.ShouldBe(b.Key);
        a.Key.Length.ShouldBe(64);
    }

    [Fact]
    public async Task Damaged_file_is_detected_and_rebuilt()
    {
        var first = await BuildAsync(new ArtifactStore(root, log), Request());
        await File.WriteAllTextAsync(first.PathOf("sub/out.txt"), "HELLO"); // same length, different bytes
        // A later run (a new store: nothing verified yet) hashes the files and finds the damage.
        var again = await BuildAsync(new ArtifactStore(root, log), Request());
        builds.ShouldBe(2);
        again.FromCache.ShouldBeFalse();
        (await File.ReadAllTextAsync(again.PathOf("sub/out.txt"))).ShouldBe("hello");
        log.Lines.ShouldContain(l => l.Contains("damaged"));
    }

    [Fact]
    public async Task Within_one_run_a_verified_artifact_is_not_hashed_again_but_a_changed_size_still_shows()
    {
        var recorder = new RunRecorder(Path.Combine(root, "runs"), "run-1");
        var first = await BuildAsync(new ArtifactStore(root, log, recorder), Request());
        await File.WriteAllTextAsync(first.PathOf("sub/out.txt"), "HELLO");
        // Another process of the same run (same run id, fresh recorder reading the run's verified list) trusts it.
        var sameRun = await BuildAsync(new ArtifactStore(root, log, new RunRecorder(Path.Combine(root, "runs"), "run-1")), Request());
        sameRun.FromCache.ShouldBeTrue();
        builds.ShouldBe(1);
        // Sizes are always checked: a truncated file is caught even within the run.
        await File.WriteAllTextAsync(first.PathOf("sub/out.txt"), "HELL");
        var truncated = await BuildAsync(new ArtifactStore(root, log, new RunRecorder(Path.Combine(root, "runs"), "run-1")), Request());
        truncated.FromCache.ShouldBeFalse();
        builds.ShouldBe(2);
        Should.Throw<ArgumentException>(() => new RunRecorder(root, "../evil"));
    }

    [Fact]
    public async Task Missing_file_or_manifest_is_rebuilt()
    {
        var store = new ArtifactStore(root, log);
        var first = await BuildAsync(store, Request());
        File.Delete(first.PathOf("sub/out.txt"));
        (await store.TryOpenAsync(Request())).ShouldBeNull();
        await BuildAsync(store, Request());
        File.Delete(Path.Combine(first.Directory, ArtifactManifest.FileName)); // as if killed before the manifest
        (await store.TryOpenAsync(Request())).ShouldBeNull();
        var third = await BuildAsync(store, Request());
        builds.ShouldBe(3);
        third.FromCache.ShouldBeFalse();
    }

    [Fact]
    public async Task Failed_build_leaves_nothing_trusted()
    {
        var store = new ArtifactStore(root, log);
        await Should.ThrowAsync<InvalidOperationException>(() => store.GetOrBuildAsync(Request(), async (context, ct) =>
        {
            await File.WriteAllTextAsync(Path.Combine(context.OutputDirectory, "half.txt"), "partial", ct);
            throw new InvalidOperationException("killed");
        }));
        Directory.Exists(store.DirectoryFor(Request())).ShouldBeFalse();
        Directory.EnumerateDirectories(Path.Combine(root, "tmp")).ShouldBeEmpty();
        (await BuildAsync(store, Request())).FromCache.ShouldBeFalse();
    }

    [Fact]
    public async Task Concurrent_runs_build_once_and_agree()
    {
        var stores = Enumerable.Range(0, 4).Select(_ => new ArtifactStore(root, log)).ToList();
        var gate = new TaskCompletionSource();
        var tasks = stores.Select(store => Task.Run(() => store.GetOrBuildAsync(Request(), async (context, ct) =>
        {
            Interlocked.Increment(ref builds);
            await Task.Delay(300, ct); // hold the lock long enough for the others to queue
            await File.WriteAllTextAsync(Path.Combine(context.OutputDirectory, "out.txt"), "x", ct);
            return null;
        }))).ToList();
        var results = await Task.WhenAll(tasks);
        builds.ShouldBe(1);
        results.Select(r => r.Key).Distinct().Count().ShouldBe(1);
        results.Count(r => !r.FromCache).ShouldBe(1);
    }

    [Fact]
    public async Task Manifest_records_files_with_hashes()
    {
        var store = new ArtifactStore(root, log);
        var artifact = await BuildAsync(store, Request());
        var file = artifact.Manifest.Files.ShouldHaveSingleItem();
        file.Path.ShouldBe("sub/out.txt");
        file.Bytes.ShouldBe(5);
        // sha256("hello"), independently known.
        file.Sha256.ShouldBe("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        artifact.Manifest.ToolVersions["tool"].ShouldBe("1.0");
        artifact.Manifest.Inputs["up"].ShouldBe("abc");
    }
}
