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
public sealed class FetchStage(ArtifactStore store, IStageLog log, HttpClient? http = null)
{
    public const string Name = "fetch";

    public async Task<FetchedDataset> RunAsync(DatasetManifest dataset, string repositoryRoot, bool allowUnpinned = false, CancellationToken cancellation = default)
    {
        var tried = new List<string>();
        foreach (var source in dataset.Sources)
        {
            if (source.Path is not null)
            {
                var path = Path.GetFullPath(Path.Combine(repositoryRoot, source.Path));
                if (!File.Exists(path))
                {
                    tried.Add($"{source.Path}: not found");
                    continue;
                }

                log.Info($"fetch: {dataset.Name} from {source.Path}");
                return await StoreAsync(dataset, source, (target, ct) => CopyAsync(path, target, ct), cancellation);
            }

            if (source.Sha256 is null && !allowUnpinned)
            {
                tried.Add($"{source.Url}: no pinned sha256 (pass --allow-unpinned to download it once and print its sha256 for pinning)");
                continue;
            }

            if (http is null)
            {
                tried.Add($"{source.Url}: downloads disabled");
                continue;
            }

            try
            {
                log.Info($"fetch: {dataset.Name} from {source.Url}");
                return await StoreAsync(dataset, source, (target, ct) => DownloadAsync(http, source.Url!, target, ct), cancellation);
            }
            catch (HttpRequestException e)
            {
                tried.Add($"{source.Url}: {e.Message}");
            }
        }

        throw new DatasetException($"no source of dataset '{dataset.Name}' is available:\n  " + string.Join("\n  ", tried));
    }

    private async Task<FetchedDataset> StoreAsync(DatasetManifest dataset, DatasetSource source, Func<string, CancellationToken, Task> copy, CancellationToken cancellation)
    {
        var parameters = new JsonObject
        {
            ["dataset"] = dataset.Name,
            ["format"] = source.Format,
            // Content, not location: an unpinned URL is the only case where the address stands in.
            ["sha256"] = source.Sha256 ?? $"unpinned:{source.Url}",
            ["rename"] = ContentHash.CanonicalJson(source.Rename ?? new Dictionary<string, string>()),
        };
        var request = new StageRequest(Name, CodeVersion.Of(typeof(FetchStage), 1), parameters, new Dictionary<string, string>(),
            new Dictionary<string, string> { ["dotnet"] = CodeVersion.Runtime });
        var artifact = await store.GetOrBuildAsync(request, async (context, ct) =>
        {
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
