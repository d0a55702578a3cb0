using OrganicScreen.Core;
using OrganicScreen.Data;

using OrganicScreen.Stages;

namespace OrganicScreen.Pipeline;

/// <summary>One artifact in the store, as <c>gc</c> lists it.</summary>
public sealed record StoredArtifact(string Stage, string Key, string Directory, long Bytes, DateTimeOffset? LastUsed, bool Referenced);

/// <summary>What <c>gc</c> found and (unless a dry run) removed.</summary>
public sealed record GcReport(IReadOnlyList<StoredArtifact> Artifacts, IReadOnlyList<string> Removed, long BytesFreed);

/// <summary>
/// <c>organicscreen gc</c>: lists every artifact with its size and last use (from <c>runs/runs.jsonl</c>), and
/// removes artifacts that no published results folder references (their provenance names every key they came
/// from), unless used within <c>keepDays</c>; folders in <c>tmp/</c> and lock files that no live run holds.
/// A lock that a run holds is never touched, and while any lock is held <c>tmp/</c> is left alone.
/// </summary>
public static class GarbageCollector
{
    public static async Task<GcReport> RunAsync(string artifactsRoot, bool dryRun, double keepDays, IStageLog log, CancellationToken cancellation = default)
    {
        var store = new ArtifactStore(artifactsRoot, log);
        var referenced = ReferencedKeys(Path.Combine(store.Root, "results"));
        var lastUse = RunRecorder.Read(Path.Combine(store.Root, RunRecorder.Folder))
            .GroupBy(r => r.Key).ToDictionary(g => g.Key, g => g.Max(r => r.Time));
        var cutoff = DateTimeOffset.UtcNow.AddDays(-keepDays);
        var artifacts = new List<StoredArtifact>();
        var removed = new List<string>();
        long freed = 0;
        foreach (var stageFolder in Directory.Exists(store.Root) ? Directory.EnumerateDirectories(store.Root).Order(StringComparer.Ordinal).ToList() : [])
        {
            var stage = Path.GetFileName(stageFolder);
            if (stage is "tmp" or "locks" or "results" or "runs" or "slurm" or "bin" or "native" or "test-results" or "review" or DatasetManifest.AdHocFolder) continue;
            foreach (var folder in Directory.EnumerateDirectories(stageFolder).Order(StringComparer.Ordinal))
            {
                var manifest = await ArtifactStore.ReadManifestAsync(folder, cancellation);
                var key = manifest?.Key ?? "";
                DateTimeOffset? used = lastUse.TryGetValue(key, out var t) ? t : manifest?.CreatedUtc;
                var keep = manifest is not null && (referenced.Contains(key) || used >= cutoff);
                var bytes = Size(folder);
                artifacts.Add(new StoredArtifact(stage, key.Length > 0 ? key : "(no manifest)", folder, bytes, used, referenced.Contains(key)));
                if (keep) continue;
                removed.Add(folder);
                freed += bytes;
                if (!dryRun) store.Discard(folder);
            }
        }

        var locks = Path.Combine(store.Root, "locks");
        var held = false;
        foreach (var file in Directory.Exists(locks) ? Directory.EnumerateFiles(locks).Order(StringComparer.Ordinal).ToList() : [])
        {
            await using var probe = FileLock.TryAcquire(file);
            if (probe is null)
            {
                held = true;
                continue;
            }

            removed.Add(file);
            if (!dryRun) File.Delete(file);
        }

        var tmp = Path.Combine(store.Root, "tmp");
        if (!held)
            foreach (var folder in Directory.Exists(tmp) ? Directory.EnumerateFileSystemEntries(tmp).Order(StringComparer.Ordinal).ToList() : [])
            {
                var bytes = Directory.Exists(folder) ? Size(folder) : new FileInfo(folder).Length;
                removed.Add(folder);
                freed += bytes;
                if (dryRun) continue;
                if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
                else File.Delete(folder);
            }
        else
            log.Warn("gc: a run holds a lock; tmp/ left as it is");

        return new GcReport(artifacts, removed, freed);
    }

    /// <summary>Keys named by the provenance of every published results folder.</summary>
    public static HashSet<string> ReferencedKeys(string resultsRoot)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        if (!Directory.Exists(resultsRoot)) return keys;
        foreach (var provenance in Directory.EnumerateFiles(resultsRoot, Provenance.FileName, SearchOption.AllDirectories))
            keys.UnionWith(Provenance.Keys(Path.GetDirectoryName(provenance)!));
        return keys;
    }

    private static long Size(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
}
