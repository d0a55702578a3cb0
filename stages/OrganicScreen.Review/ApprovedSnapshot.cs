using System.Text.Json;
using System.Text.Json.Nodes;
using OrganicScreen.Core;

namespace OrganicScreen.Review;

/// <summary>
/// An approved snapshot, committed under <c>data/approved/&lt;dataset&gt;/&lt;variant&gt;/&lt;profile&gt;/</c>: the two
/// candidate tables as published, a metrics summary, the dataset's labels (id, canonical SMILES, DFT IE and EA, so a
/// review on a fresh clone still names the rows a dataset edit added, removed or relabelled), and <c>approved.json</c>
/// (the results' provenance: commit, stage keys, dataset sha256 and version, date; plus the Screen manifest's
/// parameters, code and tools so a later review can say which setting changed). Predictions and models stay out.
/// </summary>
public static class ApprovedSnapshot
{
    public const string Record = "approved.json";
    public const string MetricsSummary = "metrics_summary.json";
    public const string Labels = "dataset_labels.csv";
    public const string LabelsHeader = "id,canonical_smiles,ie_dft_ev,ea_dft_ev";

    /// <summary>Every file an approved snapshot consists of.</summary>
    public static IReadOnlyList<string> Files { get; } = [.. Snapshot.Roles.Select(SnapshotReader.CandidateFile), MetricsSummary, Labels, Record];

    /// <summary>What approving did to one file.</summary>
    public sealed record FileChange(string File, string Change);

    /// <summary>Replaces the snapshot in <paramref name="approved"/> with <paramref name="results"/>; says per file whether it was created, replaced or unchanged.</summary>
    public static async Task<IReadOnlyList<FileChange>> ApproveAsync(string results, string approved, CancellationToken cancellation = default)
    {
        var provenance = Path.Combine(results, SnapshotReader.Provenance);
        if (!File.Exists(provenance)) throw new FileNotFoundException($"{results} is not a published results folder (no {SnapshotReader.Provenance}); only a results folder can be approved");
        var contents = new Dictionary<string, byte[]>();
        foreach (var role in Snapshot.Roles)
        {
            var path = Path.Combine(results, SnapshotReader.CandidateFile(role));
            contents[SnapshotReader.CandidateFile(role)] = File.Exists(path) ? await File.ReadAllBytesAsync(path, cancellation) : throw new FileNotFoundException($"{path} is missing");
        }

        var metrics = SnapshotReader.FromInferMetrics(Path.Combine(results, SnapshotReader.Metrics));
        var counts = Snapshot.Roles.ToDictionary(r => r, r => SnapshotReader.ReadCandidates(Path.Combine(results, SnapshotReader.CandidateFile(r)), r).Count);
        contents[MetricsSummary] = Utf8(JsonSerializer.Serialize(new MetricsSummaryFile(metrics, counts), Readable));
        var predictions = Path.Combine(results, SnapshotReader.Predictions);
        contents[Labels] = System.Text.Encoding.UTF8.GetBytes(WriteLabels(File.Exists(predictions)
            ? await SnapshotReader.ReadPredictionLabelsAsync(predictions)
            : throw new FileNotFoundException($"{predictions} is missing")));

        // The provenance facts a review compares (and a reader wants): not its notes about the results folder.
        var facts = SnapshotReader.ParseObject(provenance);
        var record = new JsonObject();
        foreach (var name in new[] { "dataset", "variant", "profile", "overrides", "datasetVersion", "datasetSha256", "commit", "date", "keys" })
            record[name] = facts[name]?.DeepClone();
        if (await ArtifactStore.ReadManifestAsync(results, cancellation) is { } manifest)
            record["screen"] = JsonSerializer.SerializeToNode(new ScreenDescription(manifest.Parameters, manifest.Code, manifest.ToolVersions), Json.Options);
        contents[Record] = Utf8(record.ToJsonString(Readable));

        Directory.CreateDirectory(approved);
        var changes = new List<FileChange>();
        foreach (var file in Files)
        {
            var path = Path.Combine(approved, file);
            var existed = File.Exists(path);
            if (existed && (await File.ReadAllBytesAsync(path, cancellation)).AsSpan().SequenceEqual(contents[file]))
            {
                changes.Add(new FileChange(file, "unchanged"));
                continue;
            }

            await AtomicFile.WriteAsync(path, stream => stream.WriteAsync(contents[file], cancellation).AsTask());
            changes.Add(new FileChange(file, existed ? "replaced" : "created"));
        }

        return changes;
    }

    /// <summary>
    /// The labels as CSV in the results' row order, numbers round-trip exact ("R"), so a relabel of 1e-9 eV is seen and
    /// the file's own diff in a pull request shows the edited rows. Ids and SMILES are written as they are (not
    /// neutralised for spreadsheets): this file is read back by the review and must give the same strings.
    /// </summary>
    public static string WriteLabels(IEnumerable<DatasetRow> rows)
    {
        static string Number(double? v) => v?.ToString("R", System.Globalization.CultureInfo.InvariantCulture) ?? "";
        var text = new System.Text.StringBuilder(LabelsHeader).Append('\n');
        foreach (var r in rows) text.Append(Csv.Escape(r.Id)).Append(',').Append(Csv.Escape(r.CanonicalSmiles)).Append(',').Append(Number(r.Ie)).Append(',').Append(Number(r.Ea)).Append('\n');
        return text.ToString();
    }

    // Committed files are read in pull requests: no \u0027-style escapes of quotes, '+' or non-ASCII text.
    private static readonly JsonSerializerOptions Readable = new(Json.Options) { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // "\n" endings and no BOM, as the candidate tables: byte-stable files diff clean in git on every OS.
    private static byte[] Utf8(string json) => System.Text.Encoding.UTF8.GetBytes(json.ReplaceLineEndings("\n") + "\n");
}
