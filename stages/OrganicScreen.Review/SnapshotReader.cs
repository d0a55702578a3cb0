using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using OrganicScreen.Core;
using OrganicScreen.Data;

namespace OrganicScreen.Review;

/// <summary>
/// Reads a results folder or an approved snapshot into a <see cref="Snapshot"/>. Missing parts are not errors:
/// the snapshot says what it lacks. When an artifact store is given, a part the folder lacks (predictions,
/// the Screen manifest) is taken from the store's artifact that the folder's provenance names, if it is still there.
/// </summary>
public static class SnapshotReader
{
    public const string Provenance = "provenance.json";
    public const string Predictions = "predictions.parquet";
    public const string Metrics = "metrics.json";

    public static string CandidateFile(string role) => $"candidates_{role}.csv";

    public static async Task<Snapshot> ReadAsync(string folder, string? store = null, CancellationToken cancellation = default)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"not a results folder or approved snapshot: {folder} does not exist");
        var notes = new List<string>();
        var candidates = new Dictionary<string, IReadOnlyList<CandidateRow>>();
        foreach (var role in Snapshot.Roles)
        {
            var path = Path.Combine(folder, CandidateFile(role));
            if (File.Exists(path)) candidates[role] = ReadCandidates(path, role);
            else notes.Add($"{role} candidates: {CandidateFile(role)} is missing");
        }

        var identity = ReadIdentity(folder, notes);
        var metrics = ReadMetrics(folder, notes);
        var dataset = await ReadDatasetAsync(folder, identity, store, notes);
        var screen = await ReadScreenAsync(folder, identity, store, notes, cancellation);
        return new Snapshot(folder, candidates, metrics, dataset, identity, screen, notes);
    }

    /// <summary>A candidate table (CandidateCsv's layout), read by its header so added columns do not break it.</summary>
    public static IReadOnlyList<CandidateRow> ReadCandidates(string path, string role)
    {
        var records = Records(path);
        if (records.Count == 0) throw new FormatException($"{path}: empty (a candidate table has at least its header)");
        var header = records[0].ToList();
        int Column(string name) => header.IndexOf(name) is var i and >= 0 ? i : throw new FormatException($"{path}: no column '{name}' in the header");
        var (id, smiles, potential, lower, upper) = (Column("id"), Column("canonical_smiles"), Column("potential_v_li"), Column("lower_v_li"), Column("upper_v_li"));
        var rows = new List<CandidateRow>();
        foreach (var (fields, line) in records.Skip(1).Select((f, i) => (f, i + 2)))
        {
            if (fields.Length != header.Count) throw new FormatException($"{path}: record {line} has {fields.Length} fields, the header {header.Count}");
            double Number(int column) => double.TryParse(fields[column], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)
                ? v : throw new FormatException($"{path}: record {line}, column {header[column]}: '{fields[column]}' is not a number");
            rows.Add(new CandidateRow(role, rows.Count + 1, fields[id], fields[smiles], Number(potential), Number(lower), Number(upper)));
        }

        return rows;
    }

    /// <summary>Every non-blank record of a CSV file (the header first), through the project's CSV reader.</summary>
    private static List<string[]> Records(string path)
    {
        using var reader = new StreamReader(path, Csv.Utf8);
        using var parser = Csv.Parser(reader);
        var records = new List<string[]>();
        while (parser.Read())
            if (parser.Record is { } record && !(record.Length == 1 && record[0].Length == 0)) records.Add(record);
        return records;
    }

    private static RunIdentity? ReadIdentity(string folder, List<string> notes)
    {
        var path = new[] { Provenance, ApprovedSnapshot.Record }.Select(f => Path.Combine(folder, f)).FirstOrDefault(File.Exists);
        if (path is null)
        {
            notes.Add($"settings and code identity: neither {Provenance} nor {ApprovedSnapshot.Record} is present");
            return null;
        }

        var node = ParseObject(path);
        string? Text(string name) => node[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        var keys = node["keys"] is JsonObject k
            ? k.Where(p => p.Value is JsonValue).ToDictionary(p => p.Key, p => p.Value!.GetValue<string>())
            : new Dictionary<string, string>();
        var overrides = node["overrides"] is JsonArray a ? a.Select(o => o?.GetValue<string>() ?? "").ToList() : [];
        return new RunIdentity(Text("dataset"), Text("variant"), Text("profile"), overrides, Text("datasetVersion"), Text("datasetSha256"), Text("commit"), Text("date"), keys);
    }

    private static IReadOnlyList<TargetSummary>? ReadMetrics(string folder, List<string> notes)
    {
        var full = Path.Combine(folder, Metrics);
        if (File.Exists(full)) return FromInferMetrics(full);
        var summary = Path.Combine(folder, ApprovedSnapshot.MetricsSummary);
        if (File.Exists(summary))
            return JsonSerializer.Deserialize<MetricsSummaryFile>(File.ReadAllText(summary), Json.Options)?.Targets
                   ?? throw new FormatException($"{summary}: empty");
        notes.Add($"metrics: neither {Metrics} nor {ApprovedSnapshot.MetricsSummary} is present");
        return null;
    }

    /// <summary>
    /// The summary of Infer's metrics.json, read as JSON (its record type lives with the model code): out-of-fold
    /// MAE, R² and count; fold-held-out coverage; the shipped interval's mean half-width over the labelled molecules.
    /// </summary>
    public static IReadOnlyList<TargetSummary> FromInferMetrics(string path)
    {
        if (JsonNode.Parse(File.ReadAllText(path)) is not JsonArray targets) throw new FormatException($"{path}: expected a list of per-target metrics");
        double Number(JsonNode? node, string what) => node is JsonValue v && v.TryGetValue<double>(out var d) ? d : throw new FormatException($"{path}: {what} is missing");
        return targets.OfType<JsonObject>().Select(t => new TargetSummary(
            t["target"]?.GetValue<string>() ?? throw new FormatException($"{path}: a metrics entry has no target"),
            (int)Number(t["outOfFold"]?["count"], "outOfFold.count"),
            Number(t["outOfFold"]?["mae"], "outOfFold.mae"),
            Number(t["outOfFold"]?["r2"], "outOfFold.r2"),
            Number(t["coverageFoldHeldOut"]?["coverage"], "coverageFoldHeldOut.coverage"),
            1 - Number(t["calibration"]?["alpha"], "calibration.alpha"),
            Number(t["coverageInSample"]?["meanHalfWidth"], "coverageInSample.meanHalfWidth"))).ToList();
    }

    private static async Task<IReadOnlyList<DatasetRow>?> ReadDatasetAsync(string folder, RunIdentity? identity, string? store, List<string> notes)
    {
        var path = Path.Combine(folder, Predictions);
        var labels = Path.Combine(folder, ApprovedSnapshot.Labels);
        if (!File.Exists(path) && File.Exists(labels)) return ReadLabels(labels);
        if (!File.Exists(path) && StoreFile(store, "infer", identity, Predictions) is { } stored) path = stored;
        if (!File.Exists(path))
        {
            notes.Add($"dataset rows: neither {Predictions} nor {ApprovedSnapshot.Labels} is here{(store is null ? "" : " or in the artifact store")}; only the dataset's sha256 can be compared");
            return null;
        }

        return await ReadPredictionLabelsAsync(path);
    }

    /// <summary>An approved snapshot's dataset labels (<see cref="ApprovedSnapshot.WriteLabels"/>).</summary>
    public static IReadOnlyList<DatasetRow> ReadLabels(string path)
    {
        var records = Records(path);
        if (records.Count == 0 || string.Join(',', records[0]) != ApprovedSnapshot.LabelsHeader) throw new FormatException($"{path}: expected the header '{ApprovedSnapshot.LabelsHeader}'");
        return records.Skip(1).Select((f, i) =>
        {
            if (f.Length != 4) throw new FormatException($"{path}: record {i + 2} has {f.Length} fields, not 4");
            double? Label(string text) => text.Length == 0 ? null
                : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw new FormatException($"{path}: record {i + 2}: '{text}' is not a number");
            return new DatasetRow(f[0], f[1], Label(f[2]), Label(f[3]));
        }).ToList();
    }

    /// <summary>The dataset rows of a results folder's predictions.parquet.</summary>
    public static async Task<IReadOnlyList<DatasetRow>> ReadPredictionLabelsAsync(string path) =>
        (await ParquetTable.ReadAsync<LabelRow>(path)).Select(r => new DatasetRow(r.Id, r.CanonicalSmiles, r.IeDft, r.EaDft)).ToList();

    private static async Task<ScreenDescription?> ReadScreenAsync(string folder, RunIdentity? identity, string? store, List<string> notes, CancellationToken cancellation)
    {
        var manifest = await ArtifactStore.ReadManifestAsync(folder, cancellation);
        if (manifest is null && StoreFile(store, "screen", identity, ArtifactManifest.FileName) is { } stored)
            manifest = await ArtifactStore.ReadManifestAsync(Path.GetDirectoryName(stored)!, cancellation);
        if (manifest is not null) return new ScreenDescription(manifest.Parameters, manifest.Code, manifest.ToolVersions);
        var record = Path.Combine(folder, ApprovedSnapshot.Record);
        if (File.Exists(record) && ParseObject(record)["screen"] is JsonObject screen)
            return screen.Deserialize<ScreenDescription>(Json.Options);
        notes.Add("screen settings and code: no Screen manifest (only stage keys can be compared)");
        return null;
    }

    /// <summary>A file of the store's artifact for <paramref name="stage"/> under the key the identity names; null when absent.</summary>
    internal static string? StoreFile(string? store, string stage, RunIdentity? identity, string file)
    {
        if (store is null || identity?.Keys.GetValueOrDefault(stage) is not { Length: >= 16 } key) return null;
        var path = Path.Combine(store, stage, key[..16], file);
        return File.Exists(path) ? path : null;
    }

    internal static JsonObject ParseObject(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new FormatException($"{path}: expected a JSON object");
        }
        catch (JsonException e)
        {
            throw new FormatException($"{path}: not valid JSON ({e.Message})");
        }
    }

    // Parquet.Net reads the columns this class names and ignores the rest of predictions.parquet.
    private sealed class LabelRow
    {
        [JsonPropertyName("id")] public string Id { get; set; } = "";
        [JsonPropertyName("canonical_smiles")] public string CanonicalSmiles { get; set; } = "";
        [JsonPropertyName("ie_dft_ev")] public double? IeDft { get; set; }
        [JsonPropertyName("ea_dft_ev")] public double? EaDft { get; set; }
    }
}

/// <summary>The approved snapshot's metrics summary file.</summary>
public sealed record MetricsSummaryFile(IReadOnlyList<TargetSummary> Targets, IReadOnlyDictionary<string, int> Candidates);
