using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using OrganicScreen.Core;
using OrganicScreen.Data;
using OrganicScreen.Training;

namespace OrganicScreen.Stages;

/// <summary>Winner per target, as read by Train.</summary>
public sealed record SweepChoice(string Target, int Config, double MeanMae);

/// <summary>
/// Sweep: each configured Table-1 config × target gets a k-fold CV (2 folds in the study); the lowest
/// mean validation MAE wins per target. Outputs sweep.parquet, sweep.md and winners.json.
/// </summary>
public sealed class SweepStage(ArtifactStore store, IStageLog log)
{
    public const string Name = "sweep";
    public const string Winners = "winners.json";

    public static StageRequest Request(SweepSection section, string featurizeKey, CodeLocation code) =>
        new(Name, code.Identity(typeof(SweepStage).Assembly.GetName().Name!), section.KeyParameters(),
            new Dictionary<string, string> { [FeaturizeStage.Name] = featurizeKey },
            new Dictionary<string, string> { ["torchsharp"] = ModelTools.TorchSharpVersion, ["dotnet"] = CodeVersion.Runtime });

    public async Task<(Artifact Artifact, IReadOnlyList<SweepChoice> Choices)> RunAsync(StageRequest request, FeatureSet features, SweepSection section, TorchRuntimeOptions torch, CancellationToken cancellation)
    {
        var configs = section.SweepConfigs();
        var artifact = await store.GetOrBuildAsync(request, async (context, ct) =>
        {
            TorchRuntime.Initialize(torch);
            var molecules = await features.MoleculesAsync();
            var sets = new List<FingerprintSet>();
            foreach (var spec in configs.Select(c => c.Fingerprint).Distinct()) sets.Add(new FingerprintSet(spec, await features.FingerprintsAsync(spec)));
            var targets = Target.All.Select(t => new TargetLabels(t.Name, t.Labels(molecules))).ToList();
            var entries = new List<SweepEntry>();
            var total = configs.Count * targets.Count;
            foreach (var config in configs)
            foreach (var target in targets)
            {
                ct.ThrowIfCancellationRequested();
                if (target.Values.All(double.IsNaN)) { log.Warn($"sweep: no {target.Name} labels in {features.Dataset}; skipped"); continue; }
                var entry = await Task.Run(() => Sweep.RunEntry(features.Dataset, sets, target, config, section.Plan, null, ct), ct);
                entries.Add(entry);
                log.Info($"sweep [{entries.Count}/{total}] {config} {target.Name}: fold MAE {string.Join(" ", entry.FoldMaes.Select(m => m.ToString("F3", CultureInfo.InvariantCulture)))} -> mean {entry.MeanMae:F3} eV");
            }

            var winners = Sweep.PickWinners(entries).Select(w => new SweepChoice(w.Target, w.Config.Index, w.MeanMae)).ToList();
            await ParquetTable.WriteAsync(Path.Combine(context.OutputDirectory, "sweep.parquet"), entries.Select(SweepRow.From).ToList());
            await File.WriteAllTextAsync(Path.Combine(context.OutputDirectory, "sweep.md"), Markdown(entries, winners), ct);
            await File.WriteAllTextAsync(Path.Combine(context.OutputDirectory, Winners), JsonSerializer.Serialize(winners, Json.Options), ct);
            return JsonSerializer.SerializeToNode(winners, Json.Options);
        }, cancellation);
        var choices = JsonSerializer.Deserialize<List<SweepChoice>>(await File.ReadAllTextAsync(artifact.PathOf(Winners), cancellation), Json.Options)!;
        foreach (var c in choices) log.Info($"sweep winner {c.Target}: {Table1.Config(c.Config)} (mean validation MAE {c.MeanMae:F3} eV)");
        return (artifact, choices);
    }

    private static string Markdown(IReadOnlyList<SweepEntry> entries, IReadOnlyList<SweepChoice> winners)
    {
        var text = new StringBuilder("| config | radius | bits | layers | target | fold MAEs (eV) | mean MAE (eV) |\n|---:|---:|---:|---|---|---|---:|\n");
        foreach (var e in entries)
        {
            var win = winners.Any(w => w.Target == e.Target && w.Config == e.Config.Index) ? " **(winner)**" : "";
            text.Append(CultureInfo.InvariantCulture, $"| {e.Config.Index} | {e.Config.Fingerprint.Radius} | {e.Config.Fingerprint.Bits} | [{string.Join(", ", e.Config.Hidden)}] | {e.Target} | {string.Join(", ", e.FoldMaes.Select(m => m.ToString("F4", CultureInfo.InvariantCulture)))} | {e.MeanMae:F4}{win} |\n");
        }

        return text.ToString();
    }

    private sealed class SweepRow
    {
        [JsonPropertyName("config")] public int Config { get; set; }
        [JsonPropertyName("radius")] public int Radius { get; set; }
        [JsonPropertyName("bits")] public int Bits { get; set; }
        [JsonPropertyName("layers")] public string Layers { get; set; } = "";
        [JsonPropertyName("target")] public string Target { get; set; } = "";
        [JsonPropertyName("fold_mae_ev")] public double[] FoldMaes { get; set; } = [];
        [JsonPropertyName("best_epochs")] public int[] BestEpochs { get; set; } = [];
        [JsonPropertyName("mean_mae_ev")] public double MeanMae { get; set; }
        [JsonPropertyName("rows")] public int Rows { get; set; }

        public static SweepRow From(SweepEntry e) => new()
        {
            Config = e.Config.Index, Radius = e.Config.Fingerprint.Radius, Bits = e.Config.Fingerprint.Bits,
            Layers = string.Join(",", e.Config.Hidden), Target = e.Target, FoldMaes = [.. e.FoldMaes], BestEpochs = [.. e.BestEpochs],
            MeanMae = e.MeanMae, Rows = e.Rows,
        };
    }
}
