using System.Text.Json.Nodes;
using OrganicScreen.Core;

using OrganicScreen.Stages;

namespace OrganicScreen.Pipeline;

/// <summary>A stage's state before a run: cached (a verified artifact has its key) or to-run, and why.</summary>
public sealed record StageStatus(string Stage, string Key, bool Cached, IReadOnlyList<string> Reasons);

/// <summary>
/// <c>organicscreen status</c>, as <c>dvc status</c>: every stage of the DAG is cached or to-run, and a
/// to-run stage is explained by the parts of its key that differ from the closest artifact of that stage
/// in the store (parameters by key path, inputs by upstream stage, code by assembly, tool versions).
/// </summary>
public static class PipelineStatus
{
    public static async Task<IReadOnlyList<StageStatus>> OfAsync(PipelineRun run, CancellationToken cancellation = default)
    {
        var statuses = new List<StageStatus>();
        foreach (var node in run.Graph)
        {
            var request = await run.RequestAsync(node.Name);
            if (await run.Store.TryOpenAsync(request, cancellation) is not null)
            {
                statuses.Add(new StageStatus(node.Name, request.Key, true, []));
                continue;
            }

            var candidates = await run.Store.ListAsync(node.Name, cancellation);
            statuses.Add(new StageStatus(node.Name, request.Key, false, Explain(request, candidates.Select(c => c.Manifest).ToList())));
        }

        return statuses;
    }

    /// <summary>Why <paramref name="request"/> has no verified artifact: the differences to the closest existing one.</summary>
    public static IReadOnlyList<string> Explain(StageRequest request, IReadOnlyList<ArtifactManifest> existing)
    {
        if (existing.Any(m => m.Key == request.Key))
            return [$"artifact {request.ShortKey} exists but is damaged or incomplete (a file is missing or its sha256 differs); it will be rebuilt"];
        if (existing.Count == 0) return ["never built"];
        return existing.Select(m => Differences(request, m)).Where(d => d.Count > 0).OrderBy(d => d.Count).First();
    }

    public static IReadOnlyList<string> Differences(StageRequest request, ArtifactManifest cached)
    {
        var reasons = new List<string>();
        var parameters = new List<string>();
        DiffJson(cached.Parameters, request.Parameters, "", parameters);
        reasons.AddRange(parameters.Select(p => $"parameter {p}"));
        foreach (var (name, was, now) in DiffMaps(cached.Inputs, request.Inputs))
            reasons.Add($"input {name} changed ({Short(was)} → {Short(now)})");
        foreach (var (name, was, now) in DiffMaps(cached.Code, request.Code))
            reasons.Add(was is null ? $"code {name} is new" : now is null ? $"code {name} is no longer used" : $"code {name} changed ({Short(was)} → {Short(now)})");
        foreach (var (name, was, now) in DiffMaps(cached.ToolVersions, request.ToolVersions))
            reasons.Add($"tool {name} {was ?? "(none)"} → {now ?? "(none)"}");
        return reasons;
    }

    private static string Short(string? value) => value is null ? "(none)" : value.Length > 12 ? value[..12] : value;

    private static IEnumerable<(string Name, string? Was, string? Now)> DiffMaps(IReadOnlyDictionary<string, string>? was, IReadOnlyDictionary<string, string> now)
    {
        was ??= new Dictionary<string, string>();
        foreach (var name in was.Keys.Union(now.Keys).Order(StringComparer.Ordinal))
        {
            var a = was.GetValueOrDefault(name);
            var b = now.GetValueOrDefault(name);
            if (a != b) yield return (name, a, b);
        }
    }

    /// <summary>Key paths whose values differ, with old → new values (short JSON).</summary>
    public static void DiffJson(JsonNode? was, JsonNode? now, string path, List<string> differences)
    {
        if (was is JsonObject a && now is JsonObject b)
        {
            foreach (var name in a.Select(p => p.Key).Union(b.Select(p => p.Key)).Order(StringComparer.Ordinal))
                DiffJson(a[name], b[name], path.Length == 0 ? name : $"{path}.{name}", differences);
            return;
        }

        var x = ContentHash.CanonicalJson(was);
        var y = ContentHash.CanonicalJson(now);
        if (x != y) differences.Add($"{(path.Length == 0 ? "(all)" : path)}: {Clip(x)} → {Clip(y)}");
    }

    private static string Clip(string json) => json.Length > 60 ? json[..57] + "..." : json;
}
