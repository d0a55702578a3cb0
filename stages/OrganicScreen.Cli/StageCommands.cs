using System.CommandLine;
using OrganicScreen.Chem;
using OrganicScreen.Core;
using System.Text.Json;
using System.Text.Json.Nodes;
using OrganicScreen.Cli.Stages;
using OrganicScreen.Data;
using OrganicScreen.Reporting;
using OrganicScreen.Screening;
using OrganicScreen.Training;

namespace OrganicScreen.Cli;

/// <summary>Arguments every stage takes; the CLI recomputes upstream keys from them.</summary>
public sealed record PipelineOptions(string Dataset, string ProfileName, string? Variant, string? Root, string? Device, string? Libtorch, bool AllowUnpinned, string? Artifacts = null);

/// <summary>
/// <c>organicscreen stage &lt;name&gt;</c>: runs one stage and, through the store's cache, whatever
/// it needs upstream. Each stage is one method; data flows one way.
/// </summary>
public static class StageCommands
{
    public static Command Create(CommandContext context)
    {
        var dataset = new Option<string>("--dataset", "-d") { Description = "dataset name (data/datasets/<name>.json)", DefaultValueFactory = _ => "ocelot" };
        var profile = new Option<string>("--profile", "-p") { Description = "profile name (data/profiles/<name>.json)", DefaultValueFactory = _ => "default" };
        var variant = new Option<string?>("--variant") { Description = "target variant of the dataset (e.g. adiabatic, vertical)" };
        var root = new Option<string?>("--root") { Description = "repository root (default: found from the current directory)" };
        var device = new Option<string?>("--device") { Description = "auto, cpu or cuda" };
        var libtorch = new Option<string?>("--libtorch") { Description = "directory of an existing libtorch (e.g. a PyTorch install's torch/lib); also ORGANICSCREEN_LIBTORCH" };
        var artifacts = new Option<string?>("--artifacts") { Description = "artifact store folder (default: <root>/artifacts)" };
        var allowUnpinned = new Option<bool>("--allow-unpinned") { Description = "download a source that has no pinned sha256 (prints it for pinning)" };
        var stage = new Command("stage", "run one pipeline stage (and, from cache, the stages before it)");
        foreach (var name in new[] { "fetch", "featurize", "sweep", "train", "infer", "screen" })
        {
            var command = new Command(name, $"the {name} stage") { dataset, profile, variant, root, device, libtorch, allowUnpinned, artifacts };
            command.SetAction(async (parse, cancellation) =>
            {
                var options = new PipelineOptions(parse.GetValue(dataset)!, parse.GetValue(profile)!, parse.GetValue(variant), parse.GetValue(root),
                    parse.GetValue(device), parse.GetValue(libtorch), parse.GetValue(allowUnpinned), parse.GetValue(artifacts));
                var pipeline = new Pipeline(options, context.Log);
                await pipeline.RunAsync(name, cancellation);
                return 0;
            });
            stage.Subcommands.Add(command);
        }

        return stage;
    }
}

/// <summary>The stages wired together for one dataset and profile.</summary>
public sealed class Pipeline(PipelineOptions options, IStageLog log)
{
    private readonly RepositoryLayout layout = RepositoryLayout.Locate(options.Root) with { ArtifactsOverride = options.Artifacts is null ? null : Path.GetFullPath(options.Artifacts) };

    public async Task RunAsync(string stage, CancellationToken cancellation)
    {
        switch (stage)
        {
            case "fetch":
                await FetchAsync(cancellation);
                break;
            case "featurize":
                await FeaturizeAsync(cancellation);
                break;
            case "sweep" when Profile.Model == ModelFamily.Dmpnn:
                await FeaturizeAsync(cancellation);
                LogSweepNotUsed();
                break;
            case "sweep":
                await SweepAsync(await FeaturizeAsync(cancellation), cancellation);
                break;
            case "train":
                await TrainAsync(cancellation);
                break;
            case "infer":
                await InferAsync(cancellation);
                break;
            case "screen":
                await ScreenAsync(cancellation);
                break;
            default:
                throw new NotImplementedStageException(stage);
        }
    }

    private TorchRuntimeOptions Torch => new(options.Libtorch);

    private void LogSweepNotUsed() =>
        log.Info($"sweep: not used by profile '{options.ProfileName}' (model dmpnn trains the architecture its train section names)");

    private TrainingSection Section(string name, JsonObject json) => TrainingSection.From(json, options.ProfileName, name, options.Device);

    public async Task<(Artifact Artifact, IReadOnlyList<SweepChoice> Choices)> SweepAsync(FeatureSet features, CancellationToken cancellation)
    {
        var profile = Profile;
        return await new SweepStage(Store, log).RunAsync(features, Section("sweep", profile.Sweep), Torch, cancellation);
    }

    public async Task<(FeatureSet Features, Artifact Train, IReadOnlyList<TrainedTarget> Targets)> TrainAsync(CancellationToken cancellation)
    {
        var features = await FeaturizeAsync(cancellation);
        var profile = Profile;
        if (profile.Model == ModelFamily.Dmpnn)
        {
            LogSweepNotUsed();
            var (graphTrain, graphTargets) = await new GraphTrainStage(Store, new Rdkit(), log).RunAsync(features, Section("train", profile.Train), Torch, cancellation);
            return (features, graphTrain, graphTargets);
        }

        if (profile.Model != ModelFamily.Fcnn) throw new FormatException($"profile '{profile.Name}': unknown model '{profile.Model}' (fcnn, dmpnn)");
        var (sweep, choices) = await SweepAsync(features, cancellation);
        var (train, targets) = await new TrainStage(Store, log).RunAsync(features, sweep, choices, Section("train", Profile.Train), Torch, cancellation);
        return (features, train, targets);
    }

    public async Task<(FeatureSet Features, Artifact Train, IReadOnlyList<TrainedTarget> Targets, Artifact Infer, IReadOnlyList<TargetMetrics> Metrics)> InferAsync(CancellationToken cancellation)
    {
        var (features, train, targets) = await TrainAsync(cancellation);
        var (infer, metrics) = await new InferStage(Store, new Rdkit(), log).RunAsync(features, train, targets, Torch, cancellation);
        return (features, train, targets, infer, metrics);
    }

    public async Task<string> ScreenAsync(CancellationToken cancellation)
    {
        var profile = Profile;
        var (features, train, targets, infer, metrics) = await InferAsync(cancellation);
        var section = profile.Screen?.Deserialize<ScreenSection>(Json.Options) ?? new ScreenSection();
        var solvents = SolventCatalog.Load(Path.Combine(layout.Data, "solvents.json"));
        var rdkit = features.Artifact.Manifest.ToolVersions["rdkit"];
        var settings = new List<ReportSetting>
        {
            new("dataset", $"{features.Dataset} (variant {features.Variant})"),
            new("profile", $"{profile.Name}: {profile.Description}"),
            new("RDKit", rdkit),
            new("TorchSharp", ModelTools.TorchSharpVersion),
            new("solvent", section.Solvent),
            new("current collector", section.Collector ?? "none"),
            new("margin", section.Margin.ToString()),
            new("cathode minimum E_ox", $"{section.CathodeMinimumVolts} V vs Li/Li+"),
            new("E(vs Li/Li+)", string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"E(absolute) − {section.LithiumAbsoluteVolts:F2} V: E_ox = IE − {section.LithiumAbsoluteVolts:F2} V, E_red = EA − {section.LithiumAbsoluteVolts:F2} V; E(vs SHE) = E(absolute) − {section.Reference.SheAbsoluteVolts:F2} V")),
        };
        var screen = await new ScreenStage(Store, log).RunAsync(features, train, targets, infer, metrics, section, solvents, profile.Name, rdkit, settings, cancellation);
        var results = layout.Results(features.Dataset, profile.Name);
        ScreenStage.Publish(screen, results, log);
        return results;
    }

    private ArtifactStore Store => new(layout.Artifacts, log);

    public Profile Profile => Profile.Find(layout.Root, options.ProfileName);

    public async Task<FetchedDataset> FetchAsync(CancellationToken cancellation)
    {
        var dataset = DatasetManifest.Find(layout.Root, options.Dataset);
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
        return await new FetchStage(Store, log, http).RunAsync(dataset, layout.Root, options.AllowUnpinned, cancellation);
    }

    public async Task<FeatureSet> FeaturizeAsync(CancellationToken cancellation)
    {
        var profile = Profile;
        var fetched = await FetchAsync(cancellation);
        return await new FeaturizeStage(Store, new Rdkit(), log).RunAsync(fetched, options.Variant, profile.FingerprintSpecs, cancellation);
    }
}
