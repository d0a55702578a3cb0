using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using OrganicScreen.Core;
using OrganicScreen.Data;

namespace OrganicScreen.Review.Tests;

/// <summary>A hand-made results folder: exactly the files the diff reads, with values a test chooses.</summary>
internal sealed class FakeResults
{
    public List<(string Id, string Smiles, double E, double Lo, double Hi)> Cathodes { get; } = [];

    public List<(string Id, string Smiles, double E, double Lo, double Hi)> Anodes { get; } = [];

    public Dictionary<string, (double Mae, double R2, double Coverage, double Width, int Count)> Metrics { get; } = new()
    {
        ["ie"] = (0.45, 0.17, 0.95, 1.16, 300),
        ["ea"] = (0.41, 0.35, 0.95, 1.10, 300),
    };

    public List<(string Id, string Smiles, double? Ie, double? Ea)> Dataset { get; } = [];

    public Dictionary<string, string> Keys { get; } = new() { ["fetch"] = new string('a', 64), ["screen"] = new string('b', 64) };

    public string DatasetSha256 { get; set; } = new('c', 64);

    public JsonObject ScreenParameters { get; set; } = new() { ["section"] = new JsonObject { ["solvent"] = "acetonitrile", ["cathodeMinimumVolts"] = 3.0 } };

    public Dictionary<string, string> Code { get; } = new() { ["OrganicScreen.Stages.Screen"] = "mvid-1" };

    public static string Temp(string prefix)
    {
        var path = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    public async Task<string> WriteAsync(string folder)
    {
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "candidates_cathode.csv"), Csv("cathode", Cathodes));
        await File.WriteAllTextAsync(Path.Combine(folder, "candidates_anode.csv"), Csv("anode", Anodes));
        var metrics = new JsonArray(Metrics.Select(m => (JsonNode)new JsonObject
        {
            ["target"] = m.Key,
            ["outOfFold"] = new JsonObject { ["count"] = m.Value.Count, ["mae"] = m.Value.Mae, ["r2"] = m.Value.R2 },
            ["calibration"] = new JsonObject { ["alpha"] = 0.05, ["q"] = m.Value.Width },
            ["coverageInSample"] = new JsonObject { ["meanHalfWidth"] = m.Value.Width },
            ["coverageFoldHeldOut"] = new JsonObject { ["coverage"] = m.Value.Coverage },
        }).ToArray());
        await File.WriteAllTextAsync(Path.Combine(folder, "metrics.json"), metrics.ToJsonString());
        await ParquetTable.WriteAsync(Path.Combine(folder, "predictions.parquet"), Dataset.Select((d, i) => new PredictionRow
            { Index = i, Id = d.Id, CanonicalSmiles = d.Smiles, IeDft = d.Ie, EaDft = d.Ea, IePred = 1.0 }).ToList());
        var provenance = new JsonObject
        {
            ["dataset"] = "fake", ["variant"] = "v", ["profile"] = "smoke", ["overrides"] = new JsonArray(), ["datasetVersion"] = null,
            ["datasetSha256"] = DatasetSha256, ["commit"] = "0123456789", ["date"] = "2026-01-01T00:00:00Z",
            ["keys"] = new JsonObject(Keys.Select(k => KeyValuePair.Create(k.Key, (JsonNode?)k.Value))),
        };
        await File.WriteAllTextAsync(Path.Combine(folder, "provenance.json"), provenance.ToJsonString());
        var manifest = new ArtifactManifest("screen", Keys["screen"], Code, ScreenParameters.DeepClone(), new Dictionary<string, string>(),
            new Dictionary<string, string> { ["dotnet"] = "10.0" }, [], DateTimeOffset.UnixEpoch, 1, null);
        await File.WriteAllTextAsync(Path.Combine(folder, ArtifactManifest.FileName), System.Text.Json.JsonSerializer.Serialize(manifest, Json.Options));
        return folder;
    }

    private static string Csv(string role, IEnumerable<(string Id, string Smiles, double E, double Lo, double Hi)> rows) =>
        "role,id,canonical_smiles,ie_ev,potential_v_li,lower_v_li,upper_v_li,margin_v\n" + string.Concat(rows.Select(r =>
            string.Create(CultureInfo.InvariantCulture, $"{role},{Core.Csv.Escape(r.Id)},{Core.Csv.Escape(r.Smiles)},1.0000,{r.E:F4},{r.Lo:F4},{r.Hi:F4},0.0000\n")));

    private sealed class PredictionRow
    {
        [JsonPropertyName("index")] public int Index { get; set; }
        [JsonPropertyName("id")] public string Id { get; set; } = "";
        [JsonPropertyName("canonical_smiles")] public string CanonicalSmiles { get; set; } = "";
        [JsonPropertyName("ie_dft_ev")] public double? IeDft { get; set; }
        [JsonPropertyName("ea_dft_ev")] public double? EaDft { get; set; }
        [JsonPropertyName("ie_pred_ev")] public double? IePred { get; set; }
    }
}
