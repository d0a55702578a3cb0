using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace OrganicScreen.Core;

/// <summary>SHA-256 helpers and canonical JSON, so equal content always gives equal keys.</summary>
public static class ContentHash
{
    public static string Of(string text) => Of(Encoding.UTF8.GetBytes(text));

    public static string Of(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static async Task<string> OfFileAsync(string path, CancellationToken cancellation = default)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellation));
    }

    /// <summary>
    /// JSON with object keys sorted recursively and no whitespace: the serialisation of a
    /// parameter record must not depend on property order or formatting to give a stable key.
    /// </summary>
    public static string CanonicalJson(JsonNode? node) => Canonicalize(node)?.ToJsonString() ?? "null";

    public static string CanonicalJson<T>(T value) => CanonicalJson(JsonSerializer.SerializeToNode(value, Json.Options));

    private static JsonNode? Canonicalize(JsonNode? node) => node switch
    {
        JsonObject obj => new JsonObject(obj.OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => KeyValuePair.Create(p.Key, Canonicalize(p.Value)))),
        JsonArray array => new JsonArray(array.Select(Canonicalize).ToArray()),
        null => null,
        _ => JsonNode.Parse(node.ToJsonString()),
    };
}

/// <summary>One place for the JSON conventions used by manifests, profiles and reports.</summary>
public static class Json
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        // Doubles such as NaN never belong in a manifest; fail loudly instead of writing strings.
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        // Profiles and manifests name enum values ("Constant", "Cuda"), never their numbers.
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };
}
