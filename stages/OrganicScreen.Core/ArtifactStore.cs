using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace OrganicScreen.Core;

/// <summary>
/// Content-addressed store of stage outputs under <c>root/&lt;stage&gt;/&lt;key&gt;/</c>.
/// A stage writes into <c>root/tmp/&lt;guid&gt;</c>; the manifest (with every file's sha256) is
/// written last and the folder is renamed into place, so a killed run leaves only a tmp folder
/// that nothing trusts. A per-key lock file serialises two runs building the same artifact.
/// </summary>
public sealed class ArtifactStore(string root, IStageLog log, RunRecorder? recorder = null)
{
    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>Appends one line per stage outcome under <c>runs/</c>, and remembers what this run already verified.</summary>
    public RunRecorder Recorder { get; } = recorder ?? new RunRecorder(Path.Combine(Path.GetFullPath(root), RunRecorder.Folder), null);

    public string DirectoryFor(StageRequest request) => Path.Combine(Root, request.Stage, request.ShortKey);

    /// <summary>Returns the verified artifact for <paramref name="request"/>, building it when absent or damaged.</summary>
    public async Task<Artifact> GetOrBuildAsync(
        StageRequest request,
        Func<StageContext, CancellationToken, Task<JsonNode?>> build,
        CancellationToken cancellation = default)
    {
        var final = DirectoryFor(request);
        var existing = await TryOpenAsync(request, cancellation);
        if (existing is not null)
        {
            log.Info($"{request.Stage}: cached ({request.ShortKey}), skipped");
            Recorder.Record(existing, 0);
            return existing;
        }

        await using var _ = await FileLock.AcquireAsync(Path.Combine(Root, "locks", $"{request.Stage}-{request.ShortKey}.lock"), log, cancellation);
        // Another process may have finished the same artifact while we waited for the lock.
        existing = await TryOpenAsync(request, cancellation);
        if (existing is not null)
        {
            log.Info($"{request.Stage}: cached ({request.ShortKey}), built by a concurrent run");
            Recorder.Record(existing, 0);
            return existing;
        }

        if (Directory.Exists(final))
        {
            log.Warn($"{request.Stage}: artifact {request.ShortKey} is incomplete or damaged; rebuilding");
            Discard(final);
        }

        var temp = Path.Combine(Root, "tmp", $"{request.Stage}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            log.Info($"{request.Stage}: building ({request.ShortKey})");
            var clock = Stopwatch.StartNew();
            var summary = await build(new StageContext(temp, log), cancellation);
            var files = await HashFilesAsync(temp, cancellation);
            var manifest = new ArtifactManifest(request.Stage, request.Key, Sorted(request.Code), request.Parameters?.DeepClone(),
                Sorted(request.Inputs), Sorted(request.ToolVersions), files, DateTimeOffset.UtcNow, Math.Round(clock.Elapsed.TotalSeconds, 3), summary);
            await AtomicFile.WriteAllTextAsync(Path.Combine(temp, ArtifactManifest.FileName), JsonSerializer.Serialize(manifest, Json.Options), cancellation);
            Directory.CreateDirectory(Path.GetDirectoryName(final)!);
            Directory.Move(temp, final);
            log.Info($"{request.Stage}: done in {clock.Elapsed.TotalSeconds:F1} s ({request.ShortKey})");
            var built = new Artifact(final, manifest, FromCache: false);
            Recorder.Verified(built);
            Recorder.Record(built, clock.Elapsed.TotalSeconds);
            return built;
        }
        catch
        {
            Discard(temp);
            throw;
        }
    }

    /// <summary>The artifact if its manifest matches the request and every file verifies; otherwise null.</summary>
    public async Task<Artifact?> TryOpenAsync(StageRequest request, CancellationToken cancellation = default)
    {
        var folder = DirectoryFor(request);
        var manifest = await ReadManifestAsync(folder, cancellation);
        if (manifest is null || manifest.Key != request.Key) return null;
        // Hash every file once per run: a later stage of the same run (another process of one Cake
        // invocation too) trusts what this run already verified, as long as sizes still match.
        var hash = !Recorder.WasVerified(manifest.Key);
        foreach (var file in manifest.Files)
        {
            var path = Path.Combine(folder, file.Path);
            var info = new FileInfo(path);
            if (!info.Exists || info.Length != file.Bytes) return null;
            if (hash && await ContentHash.OfFileAsync(path, cancellation) != file.Sha256) return null;
        }

        var artifact = new Artifact(folder, manifest, FromCache: true);
        Recorder.Verified(artifact);
        return artifact;
    }

    /// <summary>The manifest in <paramref name="folder"/>, or null when absent or unreadable (an unfinished or damaged artifact).</summary>
    public static async Task<ArtifactManifest?> ReadManifestAsync(string folder, CancellationToken cancellation = default)
    {
        var path = Path.Combine(folder, ArtifactManifest.FileName);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<ArtifactManifest>(await File.ReadAllTextAsync(path, cancellation), Json.Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Every artifact folder of <paramref name="stage"/> that has a readable manifest (not verified).</summary>
    public async Task<IReadOnlyList<(string Directory, ArtifactManifest Manifest)>> ListAsync(string stage, CancellationToken cancellation = default)
    {
        var folder = Path.Combine(Root, stage);
        if (!Directory.Exists(folder)) return [];
        var found = new List<(string, ArtifactManifest)>();
        foreach (var directory in Directory.EnumerateDirectories(folder).Order(StringComparer.Ordinal))
            if (await ReadManifestAsync(directory, cancellation) is { } manifest) found.Add((directory, manifest));
        return found;
    }

    private static async Task<IReadOnlyList<ArtifactFile>> HashFilesAsync(string folder, CancellationToken cancellation)
    {
        var files = new List<ArtifactFile>();
        foreach (var path in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(folder, path).Replace('\\', '/');
            files.Add(new ArtifactFile(relative, new FileInfo(path).Length, await ContentHash.OfFileAsync(path, cancellation)));
        }

        return files;
    }

    private static SortedDictionary<string, string> Sorted(IReadOnlyDictionary<string, string> map) =>
        new(map.ToDictionary(p => p.Key, p => p.Value), StringComparer.Ordinal);

    public void Discard(string folder)
    {
        // Rename first so a half-deleted folder is never mistaken for an artifact.
        var trash = Path.Combine(Root, "tmp", $"trash-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(trash)!);
            Directory.Move(folder, trash);
            Directory.Delete(trash, recursive: true);
        }
        catch (IOException e)
        {
            log.Warn($"could not remove {folder}: {e.Message}");
        }
    }
}
