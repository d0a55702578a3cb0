using System.Text.Json.Nodes;
using OrganicScreen.Chem;
using OrganicScreen.Core;

namespace OrganicScreen.Data;

/// <summary>The Featurize artifact: unique molecules, rejects and one fingerprint table per spec.</summary>
public sealed record FeatureSet(Artifact Artifact, string Dataset, string Variant, IReadOnlyList<FingerprintSpec> Fingerprints)
{
    /// <summary>The molecules with their auxiliary-target values (when the dataset has any).</summary>
    public async Task<IReadOnlyList<Molecule>> MoleculesAsync() =>
        await FeatureTables.WithAuxiliaryAsync(await FeatureTables.ReadMoleculesAsync(Artifact.PathOf(FeatureTables.Molecules)), Artifact.PathOf(FeatureTables.Auxiliary));

    public Task<IReadOnlyList<Reject>> RejectsAsync() => FeatureTables.ReadRejectsAsync(Artifact.PathOf(FeatureTables.Rejects));

    public Task<SparseBitMatrix> FingerprintsAsync(FingerprintSpec spec) =>
        Fingerprints.Contains(spec)
            ? FeatureTables.ReadFingerprintsAsync(Artifact.PathOf(FeatureTables.Fingerprints(spec)), spec)
            : throw new DatasetException($"{Dataset}: fingerprints {spec} were not computed (have {string.Join(", ", Fingerprints)})");
}

/// <summary>Counts that must add up: every input row is a molecule's row or a reject.</summary>
/// <param name="Flags">Molecules per curation flag kind (<see cref="MoleculeFlags"/>); flagged molecules are kept, and one with two flags counts under both.</param>
/// <param name="FlaggedMolecules">Molecules with at least one flag.</param>
public sealed record FeaturizeSummary(int Rows, int Rejected, int Accepted, int Molecules, int MergedDuplicates, IReadOnlyDictionary<string, int> RejectReasons,
    IReadOnlyDictionary<string, int>? Flags = null, int FlaggedMolecules = 0);

/// <summary>
/// Featurize: text checks, RDKit canonicalisation, deduplication on (canonical SMILES, charge),
/// and Morgan fingerprints for every spec the later stages need.
/// </summary>
public sealed class FeaturizeStage(ArtifactStore store, Rdkit rdkit, IStageLog log, CodeLocation? code = null)
{
    public const string Name = "featurize";
    private const int BatchSize = 8192;

    public static IReadOnlyList<FingerprintSpec> Ordered(IEnumerable<FingerprintSpec> specs) => specs.Distinct().OrderBy(s => s.Radius).ThenBy(s => s.Bits).ToList();

    /// <summary>Key material: dataset, variant, column mapping, fingerprint settings, the fetched file's key, the code and RDKit.</summary>
    public static StageRequest Request(DatasetManifest dataset, string? variantName, IReadOnlyList<FingerprintSpec> specs, string fetchKey, CodeLocation code, string rdkitVersion)
    {
        var variantKey = variantName ?? dataset.DefaultVariant;
        var variant = dataset.Variant(variantKey);
        var ordered = Ordered(specs);
        var parameters = new JsonObject
        {
            ["dataset"] = dataset.Name,
            ["variant"] = variantKey,
            ["targets"] = ContentHash.CanonicalJson(variant),
            ["columns"] = ContentHash.CanonicalJson(dataset.Columns),
            ["curation"] = ContentHash.CanonicalJson(dataset.CurationOf(variantKey)),
            ["carry"] = ContentHash.CanonicalJson(dataset.Carry ?? new Dictionary<string, CarriedColumn>()),
            ["auxiliary"] = ContentHash.CanonicalJson(dataset.Auxiliary ?? new Dictionary<string, AuxiliaryColumn>()),
            ["fingerprints"] = new JsonArray(ordered.Select(s => (JsonNode?)s.Name).ToArray()),
        };
        return new StageRequest(Name, code.Identity(typeof(FeaturizeStage).Assembly.GetName().Name!), parameters,
            new Dictionary<string, string> { [FetchStage.Name] = fetchKey },
            new Dictionary<string, string> { ["rdkit"] = rdkitVersion, ["dotnet"] = CodeVersion.Runtime });
    }

    public Task<FeatureSet> RunAsync(FetchedDataset fetched, string? variantName, IReadOnlyList<FingerprintSpec> specs, CancellationToken cancellation = default) =>
        RunAsync(fetched, variantName, specs, Request(fetched.Dataset, variantName, specs, fetched.Artifact.Key, code ?? RunningCode.Location, rdkit.Version), cancellation);

    public async Task<FeatureSet> RunAsync(FetchedDataset fetched, string? variantName, IReadOnlyList<FingerprintSpec> specs, StageRequest request, CancellationToken cancellation = default)
    {
        var dataset = fetched.Dataset;
        var variantKey = variantName ?? dataset.DefaultVariant;
        var variant = dataset.Variant(variantKey);
        var ordered = Ordered(specs);
        var artifact = await store.GetOrBuildAsync(request, async (context, ct) =>
        {
            var summary = await BuildAsync(fetched, variant, dataset.CurationOf(variantKey), ordered, context.OutputDirectory, ct);
            Report(dataset.Name, summary);
            return System.Text.Json.JsonSerializer.SerializeToNode(summary, Json.Options);
        }, cancellation);
        if (artifact.FromCache && artifact.Manifest.Summary is { } cached)
            Report(dataset.Name, System.Text.Json.JsonSerializer.Deserialize<FeaturizeSummary>(cached, Json.Options)!);
        return new FeatureSet(artifact, dataset.Name, variantKey, ordered);
    }

    private async Task<FeaturizeSummary> BuildAsync(FetchedDataset fetched, TargetVariant variant, CurationRules rules, IReadOnlyList<FingerprintSpec> specs, string output, CancellationToken cancellation)
    {
        var rejects = new List<Reject>();
        var checkedRecords = new List<CheckedRecord>();
        var rows = 0;
        foreach (var raw in RawRecordReader.Read(fetched.RawPath, fetched.Source, fetched.Dataset, variant))
        {
            rows++;
            var (record, reject) = RecordChecks.Check(raw, variant);
            if (reject is not null) rejects.Add(reject);
            else checkedRecords.Add(record!);
        }

        var dedup = new Deduplicator(rules);
        var kept = specs.ToDictionary(s => s, _ => new List<int[]>());
        using (var progress = log.Progress($"featurize {fetched.Dataset.Name}", checkedRecords.Count))
        {
            for (var start = 0; start < checkedRecords.Count; start += BatchSize)
            {
                cancellation.ThrowIfCancellationRequested();
                var batch = checkedRecords.Skip(start).Take(BatchSize).ToList();
                var result = await Task.Run(() => rdkit.Featurize(batch.Select(r => r.Smiles).ToList(), specs), cancellation);
                for (var i = 0; i < batch.Count; i++)
                {
                    var parsed = result.Molecules[i];
                    if (!parsed.IsValid)
                    {
                        rejects.Add(new Reject(batch[i].Raw.Row, batch[i].Raw.Id, batch[i].Smiles, $"invalid SMILES: {parsed.Error}"));
                        continue;
                    }

                    if (!dedup.Add(batch[i], parsed.Canonical!)) continue;
                    foreach (var spec in specs) kept[spec].Add(result.Fingerprints[spec].Row(i).ToArray());
                }

                progress.Report(Math.Min(start + BatchSize, checkedRecords.Count));
            }
        }

        var molecules = dedup.Molecules();
        if (molecules.Count == 0)
            throw new DatasetException($"dataset '{fetched.Dataset.Name}': none of its {rows} rows gave a molecule ({rejects.Count} rejected)");
        rejects.Sort((a, b) => a.Row.CompareTo(b.Row));
        await FeatureTables.WriteMoleculesAsync(Path.Combine(output, FeatureTables.Molecules), molecules);
        if (fetched.Dataset.Auxiliary is { Count: > 0 }) await FeatureTables.WriteAuxiliaryAsync(Path.Combine(output, FeatureTables.Auxiliary), molecules);
        await FeatureTables.WriteRejectsAsync(Path.Combine(output, FeatureTables.Rejects), rejects);
        await WriteRejectsCsvAsync(Path.Combine(output, FeatureTables.RejectsCsv), rejects, cancellation);
        foreach (var spec in specs)
            await FeatureTables.WriteFingerprintsAsync(Path.Combine(output, FeatureTables.Fingerprints(spec)), SparseBitMatrix.FromRows(spec.Bits, kept[spec]));

        var summary = new FeaturizeSummary(rows, rejects.Count, dedup.Rows, molecules.Count, dedup.Rows - molecules.Count,
            new SortedDictionary<string, int>(rejects.GroupBy(r => ReasonKind(r.Reason)).ToDictionary(g => g.Key, g => g.Count()), StringComparer.Ordinal),
            MoleculeFlags.Count(molecules), molecules.Count(m => m.Flags.Length > 0));
        if (summary.Accepted + summary.Rejected != summary.Rows)
            throw new InvalidOperationException($"featurize lost rows: {summary.Rows} read, {summary.Accepted} accepted, {summary.Rejected} rejected");
        return summary;
    }

    /// <summary>The reason without the row-specific detail, for counting (e.g. "invalid SMILES").</summary>
    public static string ReasonKind(string reason)
    {
        var cut = reason.IndexOfAny([':', '\'']);
        return (cut > 0 ? reason[..cut] : reason).Trim();
    }

    private void Report(string dataset, FeaturizeSummary s)
    {
        log.Info($"featurize {dataset}: {s.Rows:N0} rows -> {s.Molecules:N0} molecules ({s.MergedDuplicates:N0} duplicate rows merged), {s.Rejected:N0} rejected");
        foreach (var (reason, count) in s.RejectReasons) log.Info($"  rejected {count,6:N0} × {reason}");
        if (s.FlaggedMolecules > 0) log.Info($"  flagged  {s.FlaggedMolecules,6:N0} molecules (kept; see the flags column of {FeatureTables.Molecules})");
        foreach (var (flag, count) in s.Flags ?? new Dictionary<string, int>()) log.Info($"  flagged  {count,6:N0} × {flag}");
    }

    private static async Task WriteRejectsCsvAsync(string path, IEnumerable<Reject> rejects, CancellationToken cancellation)
    {
        var text = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        using (var csv = Csv.Writer(text))
        {
            foreach (var name in new[] { "row", "id", "input", "reason" }) csv.WriteField(name);
            csv.NextRecord();
            foreach (var r in rejects)
            {
                // Ids and inputs come from the dataset file: neutralised so a spreadsheet shows them as text.
                csv.WriteField(r.Row.ToString(System.Globalization.CultureInfo.InvariantCulture));
                csv.WriteField(Csv.Neutralize(r.Id));
                csv.WriteField(Csv.Neutralize(r.Input));
                csv.WriteField(r.Reason);
                csv.NextRecord();
            }
        }

        await AtomicFile.WriteAllTextAsync(path, text.ToString(), cancellation);
    }
}
