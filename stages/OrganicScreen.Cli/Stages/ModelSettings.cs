using System.Text.Json;
using System.Text.Json.Nodes;
using OrganicScreen.Core;
using OrganicScreen.Data;
using OrganicScreen.Training;

namespace OrganicScreen.Cli.Stages;

/// <summary>A learning target: its name in file and column names, and how to read it from a molecule.</summary>
public sealed record Target(string Name, string Label, Func<Molecule, double?> Of)
{
    public static IReadOnlyList<Target> All { get; } =
    [
        new("ie", "IE", m => m.Ie),
        new("ea", "EA", m => m.Ea),
    ];

    public double[] Labels(IReadOnlyList<Molecule> molecules) => molecules.Select(m => Of(m) ?? double.NaN).ToArray();
}

/// <summary>
/// The <c>sweep</c> or <c>train</c> section of a profile: CV folds, network details and optimiser
/// settings, read straight into the training library's records.
/// </summary>
/// <param name="Dmpnn">The D-MPNN architecture when the profile's model is <c>dmpnn</c>.</param>
/// <param name="Scaling">Label scaling of the D-MPNN's multi-task heads (the FCNN always uses the study's min-max).</param>
public sealed record TrainingSection(int Folds, double Dropout, double InitStd, int FoldSeed, TrainingSettings Settings, JsonNode? Configs,
    Training.Graph.DmpnnArchitecture? Dmpnn = null, Training.Graph.TargetScaling Scaling = Training.Graph.TargetScaling.Standard)
{
    public static TrainingSection From(JsonObject section, string profile, string name, string? device)
    {
        var parsed = section.Deserialize<TrainingSection>(Json.Options)
            ?? throw new FormatException($"profile '{profile}': section '{name}' is empty");
        var settings = device is null ? parsed.Settings : parsed.Settings with { Device = Enum.Parse<ComputeDevice>(device, ignoreCase: true) };
        settings.Validate();
        if (parsed.Folds < 2) throw new FormatException($"profile '{profile}': {name}.folds must be at least 2");
        return parsed with { Settings = settings };
    }

    public TrainingProfile Profile(string name) => new(name, Settings, Dropout, InitStd, Folds, Folds, FoldSeed);

    /// <summary>Table-1 configs this section names: "all", or a list of indices.</summary>
    public IReadOnlyList<SweepConfig> SweepConfigs() => Configs switch
    {
        JsonValue v when v.TryGetValue<string>(out var all) && all == "all" => Table1.Configs,
        JsonArray list => list.Select(n => Table1.Config(n!.GetValue<int>())).ToList(),
        _ => throw new FormatException("sweep.configs must be \"all\" or a list of Table-1 indices"),
    };

    /// <summary>Key material: everything that changes the models, not the device they ran on.</summary>
    public JsonNode KeyParameters() =>
        JsonSerializer.SerializeToNode(this with { Settings = Settings with { Device = ComputeDevice.Auto } }, Json.Options)!;
}

/// <summary>Tool versions recorded in model stage keys.</summary>
public static class ModelTools
{
    public static string TorchSharpVersion { get; } = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString() ?? "unknown";
}
