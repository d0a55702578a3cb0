using System.Text.Json;
using System.Text.Json.Nodes;
using OrganicScreen.Core;
using OrganicScreen.Screening;
using OrganicScreen.Stages;

namespace OrganicScreen.Pipeline.Sharding;

/// <summary>The screening choices of a library screen (as the unsharded <c>screen</c> takes them).</summary>
/// <param name="Collector">Current collector name, or null for none.</param>
public sealed record LibraryScreenSettings(string Solvent, string? Collector, MarginPolicy Margin, double CathodeMinimumVolts)
{
    /// <summary>The rules these settings mean with <paramref name="catalog"/> and a model whose global band is <paramref name="globalBandVolts"/>.</summary>
    public ScreeningRules Rules(SolventCatalog catalog, double globalBandVolts) =>
        new(catalog.Solvent(Solvent), Collector is null ? null : catalog.Collector(Collector), Margin, CathodeMinimumVolts,
            GlobalBandVolts: Margin == MarginPolicy.GlobalBand ? globalBandVolts : 0);
}

/// <summary>
/// A sharded screen, written to <c>&lt;output&gt;/shards/plan.json</c> before anything runs, so every executor (this
/// process, a Slurm array task, the merge job, <c>screen-status</c>) works from the same shards and settings.
/// </summary>
/// <param name="ModelIdentity">SHA-256 over the model folder's files (<see cref="ModelIdentity"/>): part of every shard key.</param>
/// <param name="GlobalBandVolts">The model's global band, resolved once (used only with the GlobalBand margin).</param>
/// <param name="Store">Artifact store holding the shard outputs (content-hashed, so reruns reuse them).</param>
/// <param name="Prefilter">The fast model of a two-stage funnel (<see cref="Funnel"/>), or null; its identity joins every shard key.</param>
public sealed record ShardPlan(
    int Version,
    string Library,
    string Model,
    string ModelIdentity,
    double GlobalBandVolts,
    string Root,
    string Store,
    string Output,
    string? Libtorch,
    LibraryScreenSettings Settings,
    long Lines,
    IReadOnlyList<ShardRange> Shards,
    string? Prefilter = null,
    string? PrefilterIdentity = null)
{
    public const int CurrentVersion = 1;
    public const string Folder = "shards";
    public const string FileName = "plan.json";

    public string Directory => Path.Combine(Output, Folder);

    public static string PathFor(string output) => Path.Combine(Path.GetFullPath(output), Folder, FileName);

    public async Task SaveAsync(CancellationToken cancellation = default)
    {
        System.IO.Directory.CreateDirectory(Directory);
        await AtomicFile.WriteAllTextAsync(Path.Combine(Directory, FileName), JsonSerializer.Serialize(this, Json.Options), cancellation);
    }

    /// <summary>Reads a plan from its file or from the screen's output folder.</summary>
    public static ShardPlan Load(string planOrOutput)
    {
        var path = File.Exists(planOrOutput) ? planOrOutput : PathFor(planOrOutput);
        if (!File.Exists(path)) throw new FileNotFoundException($"no sharded screen found: {path} does not exist (start one with screen --shards N)");
        var plan = JsonSerializer.Deserialize<ShardPlan>(File.ReadAllText(path), Json.Options) ?? throw new FormatException($"{path} is empty");
        return plan.Version == CurrentVersion ? plan : throw new FormatException($"{path} is a version {plan.Version} plan; this organicscreen reads version {CurrentVersion}");
    }

    /// <summary>Key parameters of one shard: what it screens with and where its lines sit (ids are global line numbers).</summary>
    public JsonNode KeyParameters(ShardRange shard, ScreeningRules rules) => new JsonObject
    {
        ["format"] = 1,
        ["firstLine"] = shard.FirstLine,
        ["lines"] = shard.Lines,
        ["solvent"] = new JsonObject { ["name"] = rules.Solvent.Name, ["reductionVolts"] = rules.Solvent.ReductionLimit.Volts, ["oxidationVolts"] = rules.Solvent.OxidationLimit.Volts },
        ["collector"] = rules.Collector is null ? null : new JsonObject { ["name"] = rules.Collector.Name, ["oxidationVolts"] = rules.Collector.OxidationLimit.Volts },
        ["margin"] = rules.Margin.ToString(),
        ["cathodeMinimumVolts"] = rules.CathodeMinimumVolts,
        ["globalBandVolts"] = rules.GlobalBandVolts,
        ["lithiumAbsoluteVolts"] = rules.Scale.LithiumAbsoluteVolts,
        ["prefilter"] = Prefilter is null ? null : "fast model's own interval overlaps the accepted range",
    };
}

/// <summary>A model folder's identity: the folder <see cref="ShippedModel.Load"/> reads and a hash of all its files.</summary>
public static class ModelIdentity
{
    /// <summary>The <c>model/</c> folder of a results folder, or the folder itself when it holds model.json.</summary>
    public static string FolderOf(string directory)
    {
        var folder = File.Exists(Path.Combine(directory, ModelCard.FileName)) ? directory : Path.Combine(directory, "model");
        return File.Exists(Path.Combine(folder, ModelCard.FileName))
            ? Path.GetFullPath(folder)
            : throw new FileNotFoundException($"no model found: {directory} has neither {ModelCard.FileName} nor model/{ModelCard.FileName} (run ./build.sh --target Screen first)");
    }

    /// <summary>SHA-256 over every file's relative path and SHA-256, in ordinal order: any changed weight or calibration changes it.</summary>
    public static async Task<string> OfAsync(string directory, CancellationToken cancellation = default)
    {
        var folder = FolderOf(directory);
        var lines = new List<string>();
        foreach (var path in System.IO.Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            lines.Add($"{Path.GetRelativePath(folder, path).Replace('\\', '/')}\t{await ContentHash.OfFileAsync(path, cancellation)}");
        return ContentHash.Of(string.Join('\n', lines));
    }
}
