using System.Text.Json.Nodes;
using OrganicScreen.Core;

namespace OrganicScreen.Review;

/// <summary>
/// Differences between two stage key descriptions (parameters by key path, inputs, code by assembly, tool
/// versions). <c>status</c> explains a cache miss with it and the results diff explains a settings or code
/// change with it, so both say the same thing in the same words.
/// </summary>
public static class KeyDiff
{
    /// <summary>What a stage's key is made of (a manifest, or a request that has not run yet).</summary>
    public sealed record Parts(JsonNode? Parameters, IReadOnlyDictionary<string, string>? Inputs, IReadOnlyDictionary<string, string>? Code, IReadOnlyDictionary<string, string>? Tools)
    {
        public static Parts Of(ArtifactManifest manifest) => new(manifest.Parameters, manifest.Inputs, manifest.Code, manifest.ToolVersions);
    }

    /// <summary>Every difference, in the order parameters, inputs, code, tools; empty when the keys would agree.</summary>
    public static IReadOnlyList<string> Differences(Parts was, Parts now)
    {
        var reasons = new List<string>();
        var parameters = new List<string>();
        Json(was.Parameters, now.Parameters, "", parameters);
        reasons.AddRange(parameters.Select(p => $"parameter {p}"));
        foreach (var (name, a, b) in Maps(was.Inputs, now.Inputs))
            reasons.Add($"input {name} changed ({Short(a)} → {Short(b)})");
        foreach (var (name, a, b) in Maps(was.Code, now.Code))
            reasons.Add(a is null ? $"code {name} is new" : b is null ? $"code {name} is no longer used" : $"code {name} changed ({Short(a)} → {Short(b)})");
        foreach (var (name, a, b) in Maps(was.Tools, now.Tools))
            reasons.Add($"tool {name} {a ?? "(none)"} → {b ?? "(none)"}");
        return reasons;
    }

    /// <summary>Key paths whose values differ, with old → new values (short canonical JSON).</summary>
    public static void Json(JsonNode? was, JsonNode? now, string path, List<string> differences)
    {
        if (was is JsonObject a && now is JsonObject b)
        {
            foreach (var name in a.Select(p => p.Key).Union(b.Select(p => p.Key)).Order(StringComparer.Ordinal))
                Json(a[name], b[name], path.Length == 0 ? name : $"{path}.{name}", differences);
            return;
        }

        var x = ContentHash.CanonicalJson(was);
        var y = ContentHash.CanonicalJson(now);
        if (x != y) differences.Add($"{(path.Length == 0 ? "(all)" : path)}: {Clip(x)} → {Clip(y)}");
    }

    public static string Short(string? value) => value is null ? "(none)" : value.Length > 12 ? value[..12] : value;

    private static IEnumerable<(string Name, string? Was, string? Now)> Maps(IReadOnlyDictionary<string, string>? was, IReadOnlyDictionary<string, string>? now)
    {
        was ??= new Dictionary<string, string>();
        now ??= new Dictionary<string, string>();
        foreach (var name in was.Keys.Union(now.Keys).Order(StringComparer.Ordinal))
        {
            var a = was.GetValueOrDefault(name);
            var b = now.GetValueOrDefault(name);
            if (a != b) yield return (name, a, b);
        }
    }

    private static string Clip(string json) => json.Length > 60 ? json[..57] + "..." : json;
}
