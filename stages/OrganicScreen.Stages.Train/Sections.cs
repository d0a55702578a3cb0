using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using OrganicScreen.Core;
using OrganicScreen.Data;
using OrganicScreen.Training;
using OrganicScreen.Training.Graph;

namespace OrganicScreen.Stages;

/// <summary>A learning target: its name in file and column names, and how to read it from a molecule.</summary>
public sealed record Target(string Name, string Label, Func<Molecule, double?> Of)
{
    public static IReadOnlyList<Target> All { get; } =
    [
        new("ie", "IE", m => m.Ie),
        new("ea", "EA", m => m.Ea),
    ];

    public static Target Named(string name) => All.SingleOrDefault(t => t.Name == name) ?? throw new FormatException($"unknown target '{name}' (ie, ea)");

    public double[] Labels(IReadOnlyList<Molecule> molecules) => molecules.Select(m => Of(m) ?? double.NaN).ToArray();
}

/// <summary>
/// The profile's <c>train</c> section: k-fold CV of the chosen model. <see cref="Dropout"/> and
/// <see cref="InitStd"/> are the FCNN's; the D-MPNN's architecture (with its own dropout) is <see cref="Dmpnn"/>.
/// <see cref="Auxiliary"/> names groups of auxiliary DFT targets (<see cref="AuxiliaryGroups"/>) the D-MPNN learns
/// alongside IE and EA, each weighing <see cref="AuxiliaryWeight"/> (default 1) in the loss; <see cref="AuxiliaryByDataset"/>
/// names other groups for particular datasets, because what helps differs (measured: orbital targets help on OMEAD and
/// hurt on OCELOT). <see cref="FoldThreads"/>, when set, trains each fold on that many threads, folds side by side as
/// processes of their own (see <c>LocalFoldTraining</c>); null trains one fold after another on all cores.
/// </summary>
public sealed record TrainSection(int Folds, int FoldSeed, TrainingSettings Settings, double? Dropout = null, double? InitStd = null,
    DmpnnArchitecture? Dmpnn = null, TargetScaling? Scaling = null, IReadOnlyList<string>? Auxiliary = null, double? AuxiliaryWeight = null,
    IReadOnlyDictionary<string, IReadOnlyList<string>>? AuxiliaryByDataset = null,
    // Ignored when null so that the keys of every model trained before the key existed (MSE) stay as they were.
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TrainingLoss? Loss = null,
    // Keyed because a fold's numbers depend on its thread count (products split their sums over threads, and training
    // amplifies the rounding); ignored when null so that every earlier key stays as it was.
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? FoldThreads = null)
{
    /// <summary>The most threads <see cref="FoldThreads"/> may ask for.</summary>
    public const int MaxFoldThreads = 1024;

    /// <summary>The auxiliary groups a run on <paramref name="dataset"/> asks for: its own entry in <see cref="AuxiliaryByDataset"/>, else <see cref="Auxiliary"/>.</summary>
    public IReadOnlyList<string> AuxiliaryFor(string dataset) =>
        AuxiliaryByDataset is { } byDataset && byDataset.TryGetValue(dataset, out var groups) ? groups : Auxiliary ?? [];

    [JsonIgnore]
    public CrossValidationPlan Plan => new(Folds, FoldSeed, Dropout ?? 0.1, InitStd ?? 0.05, Settings);

    public void Validate(string file, string section, ModelFamily model)
    {
        if (Folds is < 2 or > 100) throw new FormatException($"{file}: key '{section}.folds' must be 2–100, not {Folds}");
        if (FoldThreads is < 1 or > MaxFoldThreads)
            throw new FormatException($"{file}: key '{section}.foldThreads' must be 1–{MaxFoldThreads} (threads per fold; leave it out to train folds one after another on all cores), not {FoldThreads}");
        Validated(file, $"{section}.settings", Settings.Validate);
        if (model == ModelFamily.Dmpnn)
        {
            if (Dmpnn is null) throw new FormatException($"{file}: key '{section}.dmpnn' is required for model 'dmpnn' (hidden, depth, aggregation, headHidden, dropout)");
            if (Dropout is not null || InitStd is not null)
                throw new FormatException($"{file}: key '{section}.{(Dropout is not null ? "dropout" : "initStd")}' is an FCNN setting; the D-MPNN's dropout is '{section}.dmpnn.dropout'");
            Validated(file, $"{section}.dmpnn", Dmpnn.Validate);
            ValidateGroups(file, $"{section}.auxiliary", Auxiliary ?? []);
            foreach (var (dataset, groups) in AuxiliaryByDataset ?? new Dictionary<string, IReadOnlyList<string>>())
                ValidateGroups(file, $"{section}.auxiliaryByDataset.{dataset}", groups ?? throw new FormatException($"{file}: key '{section}.auxiliaryByDataset.{dataset}' must list groups ([] for none)"));
            if (AuxiliaryWeight is { } weight && !(weight is > 0 and <= 10))
                throw new FormatException($"{file}: key '{section}.auxiliaryWeight' must be in (0, 10], not {weight}");
            if (AuxiliaryWeight is not null && Auxiliary is not { Count: > 0 } && !(AuxiliaryByDataset ?? new Dictionary<string, IReadOnlyList<string>>()).Values.Any(g => g.Count > 0))
                throw new FormatException($"{file}: key '{section}.auxiliaryWeight' needs '{section}.auxiliary' (which groups to learn)");
        }
        else
        {
            string? graphKey = Dmpnn is not null ? "dmpnn" : Scaling is not null ? "scaling" : Auxiliary is not null ? "auxiliary" : AuxiliaryWeight is not null ? "auxiliaryWeight"
                : AuxiliaryByDataset is not null ? "auxiliaryByDataset" : Loss is not null ? "loss" : null;
            if (graphKey is not null) throw new FormatException($"{file}: key '{section}.{graphKey}' is a D-MPNN setting; model 'fcnn' does not read it");
            Validated(file, section, () => Plan.Architecture([1]).Validate());
        }
    }

    private static void ValidateGroups(string file, string key, IReadOnlyList<string> groups)
    {
        var unknown = groups.Where(g => !AuxiliaryGroups.Known.ContainsKey(g)).ToList();
        if (unknown.Count > 0)
            throw new FormatException($"{file}: key '{key}' names unknown group{(unknown.Count > 1 ? "s" : "")} {string.Join(", ", unknown.Select(u => $"'{u}'"))} (groups: {string.Join(", ", AuxiliaryGroups.Known.Keys)})");
        if (groups.Distinct().Count() != groups.Count) throw new FormatException($"{file}: key '{key}' lists a group twice");
    }

    internal static void Validated(string file, string key, Action validate)
    {
        try
        {
            validate();
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"{file}: key '{key}': {e.Message}");
        }
    }

    /// <summary>Key material: everything that changes the models, not the device they ran on.</summary>
    public JsonNode KeyParameters() => JsonSerializer.SerializeToNode(this with { Settings = Settings with { Device = ComputeDevice.Auto } }, Json.Options)!;

    public TrainSection OnDevice(string? device) =>
        device is null ? this : this with { Settings = Settings with { Device = Enum.Parse<ComputeDevice>(device, ignoreCase: true) } };
}

/// <summary>The FCNN's Table-1 sweep: which configs ("all" or indices), each with a k-fold CV (2 in the study).</summary>
public sealed record SweepSection(JsonNode Configs, int Folds, int FoldSeed, TrainingSettings Settings, double Dropout = 0.1, double InitStd = 0.05)
{
    [JsonIgnore]
    public CrossValidationPlan Plan => new(Folds, FoldSeed, Dropout, InitStd, Settings);

    public IReadOnlyList<SweepConfig> SweepConfigs() => Configs switch
    {
        JsonValue v when v.TryGetValue<string>(out var all) && all == "all" => Table1.Configs,
        JsonArray list => list.Select(n => Table1.Config(n!.GetValue<int>())).ToList(),
        _ => throw new FormatException("sweep.configs must be \"all\" or a list of Table-1 indices"),
    };

    public void Validate(string file, string section)
    {
        if (Folds is < 2 or > 100) throw new FormatException($"{file}: key '{section}.folds' must be 2–100, not {Folds}");
        try
        {
            if (SweepConfigs().Count == 0) throw new FormatException("is empty");
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            throw new FormatException($"{file}: key '{section}.configs' must be \"all\" or a list of Table-1 indices 0–{Table1.Configs.Count - 1} ({e.Message})");
        }

        TrainSection.Validated(file, $"{section}.settings", Settings.Validate);
        TrainSection.Validated(file, section, () => Plan.Architecture([1]).Validate());
    }

    public JsonNode KeyParameters() => JsonSerializer.SerializeToNode(this with { Settings = Settings with { Device = ComputeDevice.Auto } }, Json.Options)!;

    public SweepSection OnDevice(string? device) =>
        device is null ? this : this with { Settings = Settings with { Device = Enum.Parse<ComputeDevice>(device, ignoreCase: true) } };
}

/// <summary>Tool versions recorded in model stage keys.</summary>
public static class ModelTools
{
    public static string TorchSharpVersion { get; } = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString() ?? "unknown";
}
