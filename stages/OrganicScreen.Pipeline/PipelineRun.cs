using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using OrganicScreen.Chem;
using OrganicScreen.Core;
using OrganicScreen.Data;
using OrganicScreen.Reporting;
using OrganicScreen.Screening;
using OrganicScreen.Training;

using OrganicScreen.Stages;

namespace OrganicScreen.Pipeline;

/// <summary>What one invocation asks for: dataset, variant, profile (with overrides) and where things are.</summary>
/// <param name="RunId">Shared by the processes of one invocation (Cake passes one), so each artifact is verified once.</param>
/// <param name="AllowOutsideSources">Let a manifest read a local source outside the repository, <c>../shared</c> and the store's ad-hoc datasets.</param>
/// <param name="DatasetVersion">A version the dataset manifest lists; null: the newest (or the sources of an unversioned manifest).</param>
/// <param name="FoldLauncher">The command that runs organicscreen for Train's fold processes (<c>train.foldThreads</c>); null: this program (<see cref="Sharding.OrganicScreenProcess.Launcher"/>).</param>
public sealed record PipelineOptions(
    string Dataset,
    string Profile,
    string? Variant = null,
    string? Root = null,
    string? Device = null,
    string? Libtorch = null,
    bool AllowUnpinned = false,
    string? Artifacts = null,
    IReadOnlyList<string>? Overrides = null,
    string? RunId = null,
    bool AllowOutsideSources = false,
    string? DatasetVersion = null,
    IReadOnlyList<string>? FoldLauncher = null);

/// <summary>The command-line options that make another process (a Slurm task) run the same pipeline, paths made absolute.</summary>
public static class PipelineCommandLine
{
    public static IReadOnlyList<string> Of(PipelineOptions options, RepositoryLayout layout)
    {
        var words = new List<string> { "--dataset", options.Dataset, "--profile", options.Profile, "--root", layout.Root };
        if (options.Variant is { } variant) words.AddRange(["--variant", variant]);
        if (options.Device is { } device) words.AddRange(["--device", device]);
        if (options.Libtorch is { } libtorch) words.AddRange(["--libtorch", Path.GetFullPath(libtorch)]);
        if (options.Artifacts is { } artifacts) words.AddRange(["--artifacts", Path.GetFullPath(artifacts)]);
        if (options.AllowUnpinned) words.Add("--allow-unpinned");
        foreach (var set in options.Overrides ?? []) words.AddRange(["--set", set]);
        if (options.AllowOutsideSources) words.Add("--allow-outside-sources");
        if (options.DatasetVersion is { } version) words.AddRange(["--dataset-version", version]);
        return words;
    }
}

/// <summary>A stage in the DAG: its name, what it does, the stages whose artifacts it reads, and the assembly holding its code.</summary>
public sealed record StageNode(string Name, string Description, IReadOnlyList<string> Upstream, string CodeAssembly);

/// <summary>
/// The DAG, defined once. The CLI's <c>stage</c>, <c>status</c> and <c>dag</c> commands and the Cake build
/// (which makes one task per node from <c>organicscreen dag</c>) all read it. A stage's declared upstream
/// stages are exactly the inputs of its key (checked when keys are computed).
/// </summary>
public static class StageGraph
{
    private static readonly string Data = typeof(FetchStage).Assembly.GetName().Name!;
    private static readonly string Features = typeof(FeaturizeStage).Assembly.GetName().Name!;
    private static readonly string Models = typeof(TrainStage).Assembly.GetName().Name!;
    private static readonly string Inference = typeof(InferStage).Assembly.GetName().Name!;
    private static readonly string Screening = typeof(ScreenStage).Assembly.GetName().Name!;

    public static IReadOnlyList<StageNode> For(ModelFamily model) =>
    [
        new(FetchStage.Name, "First available dataset source, sha256-verified, into the artifact store.", [], Data),
        new(FeaturizeStage.Name, "Canonical SMILES, rejects with reasons, deduplication, ECFP fingerprints (Parquet).", [FetchStage.Name], Features),
        .. model == ModelFamily.Fcnn
            ? new[] { new StageNode(SweepStage.Name, "Table-1 configurations, k-fold CV per target; picks the best per target (FCNN only).", [FeaturizeStage.Name], Models) }
            : [],
        new(TrainStage.Name, "k-fold cross-validation of the profile's model; fold models, out-of-fold predictions, learning curves.",
            model == ModelFamily.Fcnn ? [FeaturizeStage.Name, SweepStage.Name] : [FeaturizeStage.Name], Models),
        new(InferStage.Name, "Out-of-fold and final-model metrics, the shipped model's calibrated 95 % intervals, predictions.", [FeaturizeStage.Name, TrainStage.Name], Inference),
        new(ScreenStage.Name, "Potentials, solvent-window screening, figures, report; publishes the results folder.", [FeaturizeStage.Name, TrainStage.Name, InferStage.Name], Screening),
    ];
}

/// <summary>
/// One dataset × variant × profile run over the DAG. Keys are computed from declarations alone (parameters,
/// upstream keys, code identity, tool versions), so <see cref="StatusAsync"/> can tell what would run without
/// building anything. Each stage's artifact is opened (and verified) at most once per run.
/// </summary>
public sealed class PipelineRun
{
    private readonly PipelineOptions options;
    private readonly IStageLog log;
    private readonly Dictionary<string, Task<StageRequest>> requests = [];
    private readonly Dictionary<string, Task<object>> outputs = [];
    private readonly Lazy<Rdkit> rdkit = new(() => new Rdkit());

    public PipelineRun(PipelineOptions options, IStageLog log, CodeLocation? code = null)
    {
        this.options = options;
        this.log = log;
        Layout = RepositoryLayout.Locate(options.Root) with { ArtifactsOverride = options.Artifacts is null ? null : Path.GetFullPath(options.Artifacts) };
        Code = code ?? RunningCode.Location;
        Dataset = DatasetManifest.Find(Layout.Root, options.Dataset, AdHocDatasets);
        Profile = ProfileDefinition.Find(Layout.Root, options.Profile, options.Overrides, Dataset.Name);
        Variant = options.Variant ?? Dataset.DefaultVariant;
        _ = Dataset.Variant(Variant);
        DatasetVersion = Dataset.Version(options.DatasetVersion)?.Name;
        Store = new ArtifactStore(Layout.Artifacts, log, new RunRecorder(Path.Combine(Layout.Artifacts, RunRecorder.Folder), options.RunId));
        Graph = StageGraph.For(Profile.Model);
    }

    public RepositoryLayout Layout { get; }

    /// <summary>The artifact store's folder of ad-hoc dataset manifests (<c>organicscreen train --data-path</c>).</summary>
    public string AdHocDatasets => Path.Combine(Layout.Artifacts, DatasetManifest.AdHocFolder);

    /// <summary>
    /// Where a manifest's local sources may lie: the repository, the shared data beside it (<c>../shared</c>) and the
    /// ad-hoc datasets folder; null (anywhere) with <see cref="PipelineOptions.AllowOutsideSources"/>.
    /// </summary>
    public IReadOnlyList<string>? SourceRoots => options.AllowOutsideSources
        ? null
        : [Layout.Root, Path.GetFullPath(Path.Combine(Layout.Root, "..", "shared")), AdHocDatasets];

    public CodeLocation Code { get; }

    public ProfileDefinition Profile { get; }

    public DatasetManifest Dataset { get; }

    public string Variant { get; }

    /// <summary>The dataset version this run takes (null for a manifest without versions).</summary>
    public string? DatasetVersion { get; }

    public ArtifactStore Store { get; }

    public IReadOnlyList<StageNode> Graph { get; }

    /// <summary>Where this run publishes: <c>results/&lt;dataset&gt;/&lt;variant&gt;/&lt;profile[+overrides]&gt;/</c>.</summary>
    public string ResultsFolder => Layout.Results(Dataset.Name, Variant, Profile.RunName);

    private Rdkit Rdkit => rdkit.Value;

    private TorchRuntimeOptions Torch => new(options.Libtorch);

    public StageNode Node(string stage) =>
        Graph.SingleOrDefault(n => n.Name == stage)
        ?? throw new ArgumentException(stage == SweepStage.Name
            ? $"stage 'sweep' is not part of profile '{Profile.Name}': model {Profile.Model} trains the architecture its train section names"
            : $"unknown stage '{stage}' (stages of profile '{Profile.Name}': {string.Join(", ", Graph.Select(n => n.Name))})");

    /// <summary>The stage's request (and so its key), computed from declarations and upstream keys only.</summary>
    public Task<StageRequest> RequestAsync(string stage)
    {
        if (!requests.TryGetValue(stage, out var task)) requests[stage] = task = ComputeRequestAsync(Node(stage));
        return task;
    }

    private async Task<StageRequest> ComputeRequestAsync(StageNode node)
    {
        var keys = new Dictionary<string, string>();
        foreach (var upstream in node.Upstream) keys[upstream] = (await RequestAsync(upstream)).Key;
        var request = node.Name switch
        {
            FetchStage.Name => FetchStage.Request(FetchChoice(), Code),
            FeaturizeStage.Name => FeaturizeStage.Request(Dataset, Variant, Profile.FingerprintSpecs, keys[FetchStage.Name], Code, Rdkit.Version),
            SweepStage.Name => SweepStage.Request(Profile.Sweep!, keys[FeaturizeStage.Name], Code),
            TrainStage.Name => TrainStage.Request(Profile.Model, Profile.Train, keys[FeaturizeStage.Name], keys.GetValueOrDefault(SweepStage.Name), Code, Rdkit.Version),
            InferStage.Name => InferStage.Request(Profile.FinalModel, Profile.Intervals, keys[FeaturizeStage.Name], keys[TrainStage.Name], Code, Rdkit.Version),
            ScreenStage.Name => ScreenStage.Request(Profile.ScreenSettings, Phase, Solvents(), ReportSettings(), keys[FeaturizeStage.Name], keys[TrainStage.Name], keys[InferStage.Name], Code, Rdkit.Version, Dataset.Anchors),
            _ => throw new ArgumentException($"unknown stage '{node.Name}'"),
        };
        // The DAG's declaration and the key's inputs must agree, or status and Cake would show a different graph than the one that runs.
        if (!request.Inputs.Keys.Order().SequenceEqual(node.Upstream.Order()))
            throw new InvalidOperationException($"stage {node.Name} declares upstream [{string.Join(", ", node.Upstream)}] but its key reads [{string.Join(", ", request.Inputs.Keys)}]");
        if (request.Code.Keys.All(k => k != node.CodeAssembly))
            throw new InvalidOperationException($"stage {node.Name}: its code identity does not include its own assembly {node.CodeAssembly}");
        return request;
    }

    private FetchStage.Choice FetchChoice() => FetchStage.Choose(Dataset, Layout.Root, options.AllowUnpinned, allowedRoots: SourceRoots, version: DatasetVersion);

    /// <summary>Where the chosen variant's energies were computed (gas or solution); Screen warns when it is not the window's solvent.</summary>
    public DatasetPhase Phase => Dataset.PhaseOf(Variant);

    private SolventCatalog Solvents() => SolventCatalog.Load(Path.Combine(Layout.Data, "solvents.json"));

    /// <summary>Runs <paramref name="stage"/>, taking upstream artifacts from the store (building those that are missing).</summary>
    public async Task RunAsync(string stage, CancellationToken cancellation)
    {
        _ = Node(stage);
        switch (stage)
        {
            case FetchStage.Name: await FetchAsync(cancellation); break;
            case FeaturizeStage.Name: await FeaturesAsync(cancellation); break;
            case SweepStage.Name: await SweepAsync(cancellation); break;
            case TrainStage.Name: await TrainAsync(cancellation); break;
            case InferStage.Name: await InferAsync(cancellation); break;
            case ScreenStage.Name: await ScreenAsync(cancellation); break;
        }
    }

    private async Task<T> Once<T>(string stage, Func<Task<T>> run) where T : class
    {
        if (!outputs.TryGetValue(stage, out var task)) outputs[stage] = task = Box(run());
        return (T)await task;

        static async Task<object> Box(Task<T> t) => await t;
    }

    public Task<FetchedDataset> FetchAsync(CancellationToken cancellation) => Once(FetchStage.Name, async () =>
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
        return await new FetchStage(Store, log, http, Code).RunAsync(FetchChoice(), await RequestAsync(FetchStage.Name), cancellation);
    });

    public Task<FeatureSet> FeaturesAsync(CancellationToken cancellation) => Once(FeaturizeStage.Name, async () =>
        await new FeaturizeStage(Store, Rdkit, log, Code).RunAsync(await FetchAsync(cancellation), Variant, Profile.FingerprintSpecs, await RequestAsync(FeaturizeStage.Name), cancellation));

    public Task<SweepOutput> SweepAsync(CancellationToken cancellation) => Once(SweepStage.Name, async () =>
    {
        var features = await FeaturesAsync(cancellation);
        var (artifact, choices) = await new SweepStage(Store, log).RunAsync(await RequestAsync(SweepStage.Name), features, Profile.Sweep!.OnDevice(options.Device), Torch, cancellation);
        return new SweepOutput(artifact, choices);
    });

    public Task<TrainOutput> TrainAsync(CancellationToken cancellation) => Once(TrainStage.Name, async () =>
    {
        var features = await FeaturesAsync(cancellation);
        var choices = Profile.Model == ModelFamily.Fcnn ? (await SweepAsync(cancellation)).Choices : [];
        var (targetsLearned, skipped) = Dataset.AuxiliaryTargets(Profile.Train.AuxiliaryFor(Dataset.Name), Variant);
        if (Profile.Train.FoldThreads is { } foldThreads && await TrainsOnCpuAsync(cancellation))
            await new Sharding.LocalFoldTraining(this, options, log, options.FoldLauncher ?? Sharding.OrganicScreenProcess.Launcher(null)).RunAsync(foldThreads, cancellation);
        var (artifact, targets) = await new TrainStage(Store, log).RunAsync(await RequestAsync(TrainStage.Name), Profile.Model, features, choices, Rdkit,
            Profile.Train.OnDevice(options.Device), Torch, cancellation, new AuxiliarySelection(targetsLearned, skipped));
        return new TrainOutput(artifact, targets);
    });

    /// <summary>
    /// Whether Train, if it has to run, trains on the CPU, where <c>train.foldThreads</c> applies (a GPU trains one fold
    /// after another here). False when Train is in the store: nothing to train.
    /// </summary>
    private async Task<bool> TrainsOnCpuAsync(CancellationToken cancellation)
    {
        if (await Store.TryOpenAsync(await RequestAsync(TrainStage.Name), cancellation) is not null) return false;
        return TorchRuntime.Resolve(Profile.Train.OnDevice(options.Device).Settings.Device).type == TorchSharp.DeviceType.CPU;
    }

    /// <summary>Trains fold <paramref name="fold"/> of Train into the store (upstream artifacts from the store, built when missing): one array task of <c>--executor slurm</c>.</summary>
    public async Task TrainFoldAsync(int fold, CancellationToken cancellation)
    {
        var features = await FeaturesAsync(cancellation);
        var choices = Profile.Model == ModelFamily.Fcnn ? (await SweepAsync(cancellation)).Choices : [];
        var (targetsLearned, skipped) = Dataset.AuxiliaryTargets(Profile.Train.AuxiliaryFor(Dataset.Name), Variant);
        await new TrainStage(Store, log).TrainFoldAsync(await RequestAsync(TrainStage.Name), Profile.Model, features, choices, Rdkit,
            Profile.Train.OnDevice(options.Device), Torch, fold, cancellation, new AuxiliarySelection(targetsLearned, skipped));
    }

    /// <summary>
    /// Which of Train's folds are in the store (all of them when Train itself is built). Reads the sweep's choices for an
    /// FCNN profile, so Sweep must be built first.
    /// </summary>
    public async Task<IReadOnlyList<bool>> TrainFoldsDoneAsync(CancellationToken cancellation)
    {
        var request = await RequestAsync(TrainStage.Name);
        if (await Store.TryOpenAsync(request, cancellation) is not null) return Enumerable.Repeat(true, Profile.Train.Folds).ToList();
        var units = TrainStage.Units(Profile.Model, Profile.Model == ModelFamily.Fcnn ? (await SweepAsync(cancellation)).Choices : []);
        var train = new TrainStage(Store, log);
        var done = new List<bool>();
        for (var fold = 0; fold < Profile.Train.Folds; fold++) done.Add(await train.FoldDoneAsync(request, units, fold, cancellation));
        return done;
    }

    public Task<InferOutput> InferAsync(CancellationToken cancellation) => Once(InferStage.Name, async () =>
    {
        var features = await FeaturesAsync(cancellation);
        var train = await TrainAsync(cancellation);
        var (artifact, metrics) = await new InferStage(Store, Rdkit, log).RunAsync(await RequestAsync(InferStage.Name), Profile.FinalModel, Profile.Intervals, features, train.Artifact, train.Targets, Torch, cancellation);
        return new InferOutput(artifact, metrics);
    });

    /// <summary>Runs Screen and publishes the results folder; returns its path.</summary>
    public Task<string> ScreenAsync(CancellationToken cancellation) => Once(ScreenStage.Name, async () =>
    {
        var features = await FeaturesAsync(cancellation);
        var train = await TrainAsync(cancellation);
        var infer = await InferAsync(cancellation);
        var section = Profile.ScreenSettings;
        var screen = await new ScreenStage(Store, Rdkit, log).RunAsync(await RequestAsync(ScreenStage.Name), features, train.Artifact, train.Targets, infer.Artifact, infer.Metrics,
            section, Phase, Solvents(), Profile.RunName, ReportSettings(), cancellation, Dataset.Anchors);
        var results = ResultsFolder;
        ScreenStage.Publish(screen, results, log, Dataset.Anchors);
        await WriteProvenanceAsync(results, cancellation);
        return results;
    });

    /// <summary>What the report lists under "settings"; part of Screen's key because the report prints it.</summary>
    private IReadOnlyList<ReportSetting> ReportSettings()
    {
        var section = Profile.ScreenSettings;
        return
        [
            new("dataset", $"{Dataset.Name} (variant {Variant})"),
            new("energies", Phase.ToString()),
            new("profile", $"{Profile.RunName}: {Profile.Description}{(Profile.Overrides.Count > 0 ? $" (overrides: {string.Join(", ", Profile.Overrides)})" : "")}"),
            new("RDKit", Rdkit.Version),
            new("TorchSharp", ModelTools.TorchSharpVersion),
            new("solvent", section.Solvent),
            new("current collector", section.Collector ?? "none"),
            new("margin", section.Margin.ToString()),
            new("cathode minimum E_ox", $"{section.CathodeMinimumVolts} V vs Li/Li+"),
            new("ranked by", section.RankBy == CandidateRanking.SpecificEnergy ? "specificEnergy" : "potential"),
            new("filters", section.HasFilters
                ? string.Join("; ", new[]
                {
                    section.RequireRedoxStable ? "requireRedoxStable" : null,
                    section.AllowedElements is { } e ? $"allowedElements {string.Join(", ", e)}" : null,
                    section.MaxHeavyAtoms is { } n ? $"maxHeavyAtoms {n}" : null,
                }.OfType<string>())
                : "none"),
            new("E(vs Li/Li+)", string.Create(CultureInfo.InvariantCulture,
                $"E(absolute) − {section.LithiumAbsoluteVolts:F2} V: E_ox = IE − {section.LithiumAbsoluteVolts:F2} V, E_red = EA − {section.LithiumAbsoluteVolts:F2} V; E(vs SHE) = E(absolute) − {section.Reference.SheAbsoluteVolts:F2} V")),
        ];
    }

    /// <summary>
    /// <c>provenance.json</c> in the results folder: every stage's key, the dataset file's sha256, the commit
    /// and the date. It lives outside the content-hashed artifact because commit and date are not content.
    /// The same facts go into the published report.html: the artifact's report carries a placeholder between
    /// <see cref="HtmlReport.ProvenanceBegin"/> and <see cref="HtmlReport.ProvenanceEnd"/>, and only the published copy
    /// is filled. That keeps the Screen artifact a pure function of its key (a new commit or day would otherwise change
    /// its bytes and break verification), while the report a user opens still says where it came from. The published
    /// report.html therefore differs from the artifact's by exactly that block; nothing verifies results folders against
    /// artifacts (they are copies for people), and provenance.json names the artifact to compare with.
    /// </summary>
    private async Task WriteProvenanceAsync(string results, CancellationToken cancellation)
    {
        var keys = new JsonObject();
        foreach (var node in Graph) keys[node.Name] = (await RequestAsync(node.Name)).Key;
        var provenance = new JsonObject
        {
            ["dataset"] = Dataset.Name,
            ["variant"] = Variant,
            ["profile"] = Profile.Name,
            ["overrides"] = new JsonArray(Profile.Overrides.Select(o => (JsonNode?)o).ToArray()),
            ["datasetVersion"] = DatasetVersion,
            ["datasetSha256"] = FetchChoice().Source.Sha256,
            ["commit"] = GitCommit(Layout.Root),
            ["date"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            ["keys"] = keys,
            // manifest.json in the results folder is the artifact's: its report.html sha256 is of the unfilled copy.
            ["report"] = $"{ScreenStage.Report} is the screen artifact's report with this provenance filled in; manifest.json lists the artifact's unfilled bytes",
        };
        await AtomicFile.WriteAllTextAsync(Path.Combine(results, Provenance.FileName), provenance.ToJsonString(Json.Options), cancellation);

        var report = Path.Combine(results, ScreenStage.Report);
        if (!File.Exists(report)) return;
        var html = await File.ReadAllTextAsync(report, cancellation);
        var filled = HtmlReport.FillProvenance(html, [
            new("commit", (string)provenance["commit"]!),
            new("date (UTC)", (string)provenance["date"]!),
            new("dataset", $"{Dataset.Name}, variant {Variant}"),
            new("dataset sha256", (string?)provenance["datasetSha256"] ?? "not pinned"),
            new("profile", Profile.RunName + (Profile.Overrides.Count > 0 ? $" (overrides: {string.Join(", ", Profile.Overrides)})" : "")),
            .. Graph.Select(node => new ReportSetting($"{node.Name} artifact", (string)keys[node.Name]!)),
        ]);
        if (ReferenceEquals(filled, html)) log.Warn($"report: {report} has no provenance placeholder; see {Provenance.FileName}");
        else await AtomicFile.WriteAllTextAsync(report, filled, cancellation);
    }

    /// <summary>The checked-out commit read from .git (no git binary needed), or "unknown".</summary>
    public static string GitCommit(string root)
    {
        try
        {
            var git = Path.Combine(root, ".git");
            if (File.Exists(git) && File.ReadAllText(git).Trim() is var pointer && pointer.StartsWith("gitdir:", StringComparison.Ordinal))
                git = Path.GetFullPath(Path.Combine(root, pointer["gitdir:".Length..].Trim()));
            var head = File.ReadAllText(Path.Combine(git, "HEAD")).Trim();
            if (!head.StartsWith("ref: ", StringComparison.Ordinal)) return head;
            var reference = head[5..];
            var common = File.Exists(Path.Combine(git, "commondir")) ? Path.GetFullPath(Path.Combine(git, File.ReadAllText(Path.Combine(git, "commondir")).Trim())) : git;
            foreach (var dir in new[] { git, common })
                if (File.Exists(Path.Combine(dir, reference))) return File.ReadAllText(Path.Combine(dir, reference)).Trim();
            var packed = Path.Combine(common, "packed-refs");
            if (File.Exists(packed))
                foreach (var line in File.ReadLines(packed))
                    if (line.EndsWith(" " + reference, StringComparison.Ordinal)) return line[..40];
        }
        catch (IOException)
        {
        }

        return "unknown";
    }
}

public sealed record SweepOutput(Artifact Artifact, IReadOnlyList<SweepChoice> Choices);

public sealed record TrainOutput(Artifact Artifact, IReadOnlyList<TrainedTarget> Targets);

public sealed record InferOutput(Artifact Artifact, IReadOnlyList<TargetMetrics> Metrics);

/// <summary>The provenance file of a results folder: which artifacts (keys) it was published from.</summary>
public static class Provenance
{
    public const string FileName = "provenance.json";

    /// <summary>Every artifact key a results folder's provenance names.</summary>
    public static IReadOnlyList<string> Keys(string resultsFolder)
    {
        var path = Path.Combine(resultsFolder, FileName);
        if (!File.Exists(path)) return [];
        try
        {
            return JsonNode.Parse(File.ReadAllText(path))?["keys"] is JsonObject keys ? keys.Select(k => k.Value?.GetValue<string>() ?? "").Where(k => k.Length > 0).ToList() : [];
        }
        catch (JsonException)
        {
            return [];
        }
    }
}
