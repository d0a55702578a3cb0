using System.Text.Json.Nodes;

namespace OrganicScreen.Core;

/// <summary>
/// Everything that determines a stage's output. Its <see cref="Key"/> hashes all of it, so a
/// change in any input, parameter, code or tool version gives a new artifact folder.
/// </summary>
/// <param name="Code">Code identity: assembly name → module version id, native library → sha256 (<see cref="CodeLocation"/>).</param>
public sealed record StageRequest(
    string Stage,
    IReadOnlyDictionary<string, string> Code,
    JsonNode? Parameters,
    IReadOnlyDictionary<string, string> Inputs,
    IReadOnlyDictionary<string, string> ToolVersions)
{
    public string Key => ContentHash.Of(ContentHash.CanonicalJson(new JsonObject
    {
        ["stage"] = Stage,
        ["code"] = ToObject(Code),
        ["parameters"] = Parameters?.DeepClone(),
        ["inputs"] = ToObject(Inputs),
        ["tools"] = ToObject(ToolVersions),
    }));

    /// <summary>Folder name: 16 hex digits (64 bits) are plenty to tell artifacts of one stage apart.</summary>
    public string ShortKey => Key[..16];

    internal static JsonObject ToObject(IReadOnlyDictionary<string, string> map) =>
        new(map.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value)));
}

public sealed record ArtifactFile(string Path, long Bytes, string Sha256);

/// <summary>Written last into an artifact folder: its presence and file hashes mark the artifact complete.</summary>
public sealed record ArtifactManifest(
    string Stage,
    string Key,
    IReadOnlyDictionary<string, string> Code,
    JsonNode? Parameters,
    IReadOnlyDictionary<string, string> Inputs,
    IReadOnlyDictionary<string, string> ToolVersions,
    IReadOnlyList<ArtifactFile> Files,
    DateTimeOffset CreatedUtc,
    double Seconds,
    JsonNode? Summary)
{
    public const string FileName = "manifest.json";
}

/// <summary>A verified artifact folder.</summary>
public sealed record Artifact(string Directory, ArtifactManifest Manifest, bool FromCache)
{
    public string Key => Manifest.Key;

    public string PathOf(string relative) => System.IO.Path.Combine(Directory, relative);
}

/// <summary>What a stage's build step sees: an empty folder to fill, and somewhere to report.</summary>
public sealed record StageContext(string OutputDirectory, IStageLog Log);
