using System.Text.Json.Nodes;
using OrganicScreen.Core;

namespace OrganicScreen.Data;

/// <summary>The verified raw file of a dataset in the artifact store, and where it came from.</summary>
public sealed record FetchedDataset(DatasetManifest Dataset, DatasetSource Source, Artifact Artifact)
{
    public string RawPath => Artifact.PathOf(Source.FileName);
}

/// <summary>
/// Fetch: takes the first available source of a dataset (local copies first, then downloads),
/// verifies its sha256 and stores it. The key is the content hash, not the location, so the same
/// file found in another place is the same artifact. A mismatch stops and caches nothing.
/// </summary>
public sealed class FetchStage(ArtifactStore store, IStageLog log, HttpClient? http = null, CodeLocation? code = null)
{
    public const string Name = "fetch";

    /// <summary>Which source a run takes: the first local copy that exists, else the first URL that may be downloaded.</summary>
    /// <param name="Version">The dataset version it belongs to; null for a manifest without versions.</param>
    public sealed record Choice(DatasetManifest Dataset, DatasetSource Source, string? LocalPath, string? Version = null);

    /// <param name="allowedRoots">
    /// Folders a local source must lie in (symbolic links resolved), e.g. the repository, <c>../shared</c> and the
    /// artifact store's ad-hoc datasets; a path outside them is refused. Null: anywhere (<c>--allow-outside-sources</c>).
    /// </param>
    /// <param name="version">A version the manifest lists; null: the newest, or the top-level sources of an unversioned manifest.</param>
    public static Choice Choose(DatasetManifest dataset, string repositoryRoot, bool allowUnpinned, bool downloads = true, IReadOnlyList<string>? allowedRoots = null, string? version = null)
    {
        var tried = new List<string>();
        var chosen = dataset.Version(version)?.Name;
        foreach (var source in dataset.SourcesOf(chosen))
        {
            if (source.Path is not null)
            {
                var path = Path.GetFullPath(Path.Combine(dataset.SourceBase ?? repositoryRoot, source.Path));
                if (allowedRoots is not null && !allowedRoots.Any(root => PathIdentity.IsInside(path, root)))
                    throw new DatasetException($"dataset '{dataset.Name}': source path '{source.Path}' resolves to {PathIdentity.Resolve(path)}, outside the folders a manifest may read " +
                                               $"({string.Join(", ", allowedRoots)}); pass --allow-outside-sources if you trust this manifest");
                if (File.Exists(path)) return new Choice(dataset, source, path, chosen);
                tried.Add($"{source.Path}: not found");
            }
            else if (source.Sha256 is null && !allowUnpinned)
                tried.Add($"{source.Url}: no pinned sha256 (pass --allow-unpinned to download it once and print its sha256 for pinning)");
            else if (!downloads)
                tried.Add($"{source.Url}: downloads disabled");
            else
                return new Choice(dataset, source, null, chosen);
        }

        throw new DatasetException($"no source of dataset '{dataset.Name}'{(chosen is null ? "" : $" version '{chosen}'")} is available:\n  " + string.Join("\n  ", tried));
    }

    /// <summary>The key material: the content (sha256), format and column renames; never the location.</summary>
    public static StageRequest Request(Choice choice, CodeLocation code) => new(Name, code.Identity(typeof(FetchStage).Assembly.GetName().Name!),
        new JsonObject
        {
            ["dataset"] = choice.Dataset.Name,
            ["format"] = choice.Source.Format,
            // Content, not location: an unpinned URL is the only case where the address stands in.
            ["sha256"] = choice.Source.Sha256 ?? $"unpinned:{choice.Source.Url}",
            ["rename"] = ContentHash.CanonicalJson(choice.Source.Rename ?? new Dictionary<string, string>()),
        },
        new Dictionary<string, string>(),
        new Dictionary<string, string> { ["dotnet"] = CodeVersion.Runtime });

    public Task<FetchedDataset> RunAsync(DatasetManifest dataset, string repositoryRoot, bool allowUnpinned = false, CancellationToken cancellation = default)
    {
        var choice = Choose(dataset, repositoryRoot, allowUnpinned, http is not null);
        return RunAsync(choice, Request(choice, code ?? new CodeLocation(AppContext.BaseDirectory, new Dictionary<string, string>())), cancellation);
    }

    public async Task<FetchedDataset> RunAsync(Choice choice, StageRequest request, CancellationToken cancellation = default)
    {
        var (dataset, source) = (choice.Dataset, choice.Source);
        Func<string, CancellationToken, Task> copy = choice.LocalPath is { } path
            ? (target, ct) => CopyAsync(path, target, ct)
            : (target, ct) => DownloadAsync(http ?? throw new DatasetException($"{source.Url}: downloads disabled"), source.Url!, target, ct);
        var artifact = await store.GetOrBuildAsync(request, async (context, ct) =>
        {
            log.Info($"fetch: {dataset.Name} from {source.Location}");
            var target = Path.Combine(context.OutputDirectory, source.FileName);
            await copy(target, ct);
            var actual = await ContentHash.OfFileAsync(target, ct);
            if (source.Sha256 is null)
                log.Warn($"fetch: {source.Url} is not pinned; its sha256 is {actual} — add it to data/datasets/{dataset.Name}.json");
            else if (!string.Equals(actual, source.Sha256, StringComparison.OrdinalIgnoreCase))
                throw new DatasetException($"checksum mismatch for dataset '{dataset.Name}' from {source.Location}: expected sha256 {source.Sha256}, got {actual}. Nothing was cached; the file may be corrupt or a different version.");
            return new JsonObject { ["source"] = source.Location, ["sha256"] = actual, ["bytes"] = new FileInfo(target).Length };
        }, cancellation);
        return new FetchedDataset(dataset, source, artifact);
    }

    private static async Task CopyAsync(string from, string to, CancellationToken cancellation)
    {
        await using var input = File.OpenRead(from);
        await using var output = File.Create(to);
        await input.CopyToAsync(output, cancellation);
    }

    private static async Task DownloadAsync(HttpClient http, string url, string to, CancellationToken cancellation)
    {
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellation);
        response.EnsureSuccessStatusCode();
        await using var input = await response.Content.ReadAsStreamAsync(cancellation);
        await using var output = File.Create(to);
        await input.CopyToAsync(output, cancellation);
    }
}
