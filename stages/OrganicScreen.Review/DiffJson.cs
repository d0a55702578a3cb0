using System.Text.Json;
using System.Text.Json.Nodes;
using OrganicScreen.Core;

namespace OrganicScreen.Review;

/// <summary>The whole diff as JSON (every move and dataset row), with <c>differs</c> first for scripts.</summary>
public static class DiffJson
{
    public static string Render(ResultsDiff diff)
    {
        ArgumentNullException.ThrowIfNull(diff);
        var node = JsonSerializer.SerializeToNode(diff, Json.Options)!.AsObject();
        var result = new JsonObject { ["differs"] = diff.Differs };
        foreach (var (name, value) in node.ToList())
        {
            node.Remove(name);
            result[name] = value;
        }

        return result.ToJsonString(Json.Options) + "\n";
    }
}

/// <summary>Writes the three renderings where they were asked for.</summary>
public static class DiffFiles
{
    /// <param name="draw">Structure drawings for the HTML (see <see cref="DiffHtml.Render"/>); null: none.</param>
    public static async Task WriteAsync(ResultsDiff diff, string? markdown, string? html, string? json, Func<string, string?>? draw = null, CancellationToken cancellation = default)
    {
        foreach (var (path, render) in new (string?, Func<ResultsDiff, string>)[] { (markdown, DiffMarkdown.Render), (html, d => DiffHtml.Render(d, draw)), (json, DiffJson.Render) })
        {
            if (path is null) continue;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            await AtomicFile.WriteAllTextAsync(path, render(diff), cancellation);
        }
    }
}
