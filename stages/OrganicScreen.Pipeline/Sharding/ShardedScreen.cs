using OrganicScreen.Chem.Inputs;
using System.Text;
using System.Text.Json.Nodes;
using OrganicScreen.Chem;
using OrganicScreen.Core;
using OrganicScreen.Screening;
using OrganicScreen.Stages;

namespace OrganicScreen.Pipeline.Sharding;

/// <summary>What a sharded screen found, summed over its shards.</summary>
/// <param name="Prefiltered">Valid lines the funnel's fast model ruled out (0 without a prefilter).</param>
public sealed record ScreenTotals(long Lines, long Rejected, long Cathodes, long Anodes, long Prefiltered = 0)
{
    public static ScreenTotals Zero { get; } = new(0, 0, 0, 0);

    public ScreenTotals Plus(ScreenTotals other) =>
        new(Lines + other.Lines, Rejected + other.Rejected, Cathodes + other.Cathodes, Anodes + other.Anodes, Prefiltered + other.Prefiltered);

    public JsonNode ToJson() => new JsonObject { ["lines"] = Lines, ["rejected"] = Rejected, ["cathodes"] = Cathodes, ["anodes"] = Anodes, ["prefiltered"] = Prefiltered };

    public static ScreenTotals FromJson(JsonNode? node) =>
        new(Read(node, "lines"), Read(node, "rejected"), Read(node, "cathodes"), Read(node, "anodes"), Read(node, "prefiltered"));

    private static long Read(JsonNode? node, string name) => node?[name]?.GetValue<long>() ?? 0;
}

/// <summary>
/// Screens a library shard by shard. Each shard's candidates and rejects are one artifact of stage
/// <see cref="Stage"/> in the content-hashed store, keyed by the model's identity, the shard's content hash, its
/// first line and the screening settings (plus code and tool versions), so a rerun after a failure, on this machine
/// or on a cluster, builds only the shards that are missing.
/// <para>
/// Ordering rule: within a shard, rows follow the input lines (a molecule's cathode row before its anode row) with
/// ids <c>line&lt;n&gt;</c>, n the line's number in the whole library; the merge concatenates shards in line
/// order. That is the order of the unsharded streaming <c>screen</c>, so merged files equal its files byte for byte.
/// Shards start at multiples of <see cref="ShippedModel.BatchSize"/> lines and are predicted in batches of that
/// size, so each molecule meets the model in the very batch it would meet unsharded (numbers equal to the bit).
/// </para>
/// </summary>
public sealed class ShardedScreen
{
    public const string Stage = "screen-shard";
    public const string Cathodes = ScreenStage.Cathodes;
    public const string Anodes = ScreenStage.Anodes;
    public const string Rejects = "rejects.csv";
    private const int BatchSize = ShippedModel.BatchSize;

    private readonly IStageLog log;
    private readonly CodeLocation code;
    private readonly Lazy<ScreeningRules> rules;
    private readonly Lazy<string> rdkitVersion = new(() => new Rdkit().Version);

    public ShardedScreen(ShardPlan plan, IStageLog log, CodeLocation? code = null, RunRecorder? recorder = null)
    {
        Plan = plan;
        this.log = log;
        this.code = code ?? RunningCode.Location;
        Store = new ArtifactStore(plan.Store, log, recorder);
        rules = new(() => plan.Settings.Rules(SolventCatalog.Load(Path.Combine(new RepositoryLayout(plan.Root).Data, "solvents.json")), plan.GlobalBandVolts));
    }

    public ShardPlan Plan { get; }

    public ArtifactStore Store { get; }

    public ScreeningRules Rules => rules.Value;

    /// <summary>Plans a screen of <paramref name="library"/> in <paramref name="shards"/> line blocks and saves the plan in <paramref name="output"/>.</summary>
    /// <param name="prefilter">A fast model to run first (the two-stage <see cref="Funnel"/>), or null.</param>
    public static async Task<ShardPlan> PlanAsync(string library, string model, LibraryScreenSettings settings, int shards, string root, string store,
        string output, string? libtorch, Func<double> globalBand, CancellationToken cancellation = default, string? prefilter = null)
    {
        if (!File.Exists(library)) throw new FileNotFoundException($"input file not found: {library}");
        var identity = await ModelIdentity.OfAsync(model, cancellation);
        var prefilterIdentity = prefilter is null ? null : await ModelIdentity.OfAsync(prefilter, cancellation);
        var ranges = await Task.Run(() => LibraryShards.Plan(library, shards, ShippedModel.BatchSize, cancellation), cancellation);
        var plan = new ShardPlan(ShardPlan.CurrentVersion, Path.GetFullPath(library), ModelIdentity.FolderOf(model), identity,
            settings.Margin == MarginPolicy.GlobalBand ? globalBand() : 0, Path.GetFullPath(root), Path.GetFullPath(store), Path.GetFullPath(output),
            libtorch, settings, ranges.Sum(r => r.Lines), ranges, prefilter is null ? null : ModelIdentity.FolderOf(prefilter), prefilterIdentity);
        // Checks the settings (unknown solvent or collector) before anything is submitted.
        _ = new ShardedScreen(plan, new MemoryStageLog()).Rules;
        await plan.SaveAsync(cancellation);
        return plan;
    }

    public ShardRange Shard(int index) =>
        index >= 0 && index < Plan.Shards.Count ? Plan.Shards[index] : throw new ArgumentException($"shard {index} does not exist: the plan has shards 0..{Plan.Shards.Count - 1}");

    public StageRequest Request(ShardRange shard) => new(
        Stage,
        code.Identity("OrganicScreen.Pipeline"),
        Plan.KeyParameters(shard, Rules),
        Plan.PrefilterIdentity is { } fast
            ? new Dictionary<string, string> { ["model"] = Plan.ModelIdentity, ["prefilter"] = fast, ["shard"] = shard.Sha256 }
            : new Dictionary<string, string> { ["model"] = Plan.ModelIdentity, ["shard"] = shard.Sha256 },
        new Dictionary<string, string> { ["rdkit"] = rdkitVersion.Value, ["torchsharp"] = ModelTools.TorchSharpVersion, ["dotnet"] = CodeVersion.Runtime });

    /// <summary>The shard's verified artifact, or null when it is missing or damaged.</summary>
    public Task<Artifact?> TryOpenAsync(ShardRange shard, CancellationToken cancellation = default) => Store.TryOpenAsync(Request(shard), cancellation);

    /// <summary>The plan's predictor: its model, or the funnel of its prefilter and model. Loads the models (seconds); their networks stay built for as long as the predictor is used (the process).</summary>
    public LinePredictor LoadPredictor()
    {
        var model = ShippedModel.Load(Plan.Model, Plan.Libtorch);
        // Shards never keep molecules outside the domain (ScreenAsync's tables).
        var writes = LibraryScreenTables.WritesCandidate(new CandidateScreen(Rules), keepOutside: false);
        return Plan.Prefilter is null ? model.Predictor(writes) : Funnel.Of(ShippedModel.Load(Plan.Prefilter, Plan.Libtorch), model, Rules, writes);
    }

    /// <summary>
    /// Screens one shard unless its artifact exists; <paramref name="model"/> is called only when it must be built.
    /// A failure (not a cancellation) leaves its message in <see cref="ShardMarkers"/> for <c>screen-status</c>.
    /// </summary>
    public async Task<Artifact> RunShardAsync(ShardRange shard, Func<LinePredictor> model, CancellationToken cancellation = default)
    {
        try
        {
            var artifact = await Store.GetOrBuildAsync(Request(shard), async (context, token) =>
            {
                var totals = await ScreenAsync(model(), shard, context.OutputDirectory, token);
                return totals.ToJson();
            }, cancellation);
            ShardMarkers.Clear(Plan, shard.Index);
            return artifact;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            ShardMarkers.Failed(Plan, shard.Index, $"{e.GetType().Name}: {e.Message}");
            throw;
        }
    }

    /// <summary>
    /// The local executor: up to <paramref name="parallelism"/> shards at once in this process, each worker with its
    /// own model (loaded only if one of its shards has to be built). <paramref name="done"/> sees each finished shard.
    /// Workers overlap reading, screening and writing, but predict one batch at a time: a prediction already uses
    /// every core (RDKit and libtorch threads), and two TorchSharp inferences at once in one process corrupted a
    /// libtorch scalar once in a 1,000,000-molecule run (add_: toFloat check failed). Separate processes (Slurm
    /// tasks, several local runs) are not affected.
    /// </summary>
    public async Task RunLocalAsync(int parallelism, Func<LinePredictor> loadModel, Action<ShardRange, Artifact>? done = null, CancellationToken cancellation = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1);
        var queue = new Queue<ShardRange>(Plan.Shards);
        var gate = new Lock();
        var predicting = new Lock();
        var workers = Enumerable.Range(0, Math.Min(parallelism, Plan.Shards.Count)).Select(_ => Task.Run(async () =>
        {
            var model = new Lazy<LinePredictor>(() =>
            {
                var predictor = loadModel();
                return (batch, idOf, token) =>
                {
                    lock (predicting) return predictor(batch, idOf, token);
                };
            });
            while (true)
            {
                ShardRange? shard;
                lock (gate) shard = queue.TryDequeue(out var next) ? next : null;
                if (shard is null) return;
                cancellation.ThrowIfCancellationRequested();
                var artifact = await RunShardAsync(shard, () => model.Value, cancellation);
                done?.Invoke(shard, artifact);
            }
        }, cancellation)).ToList();
        await Task.WhenAll(workers);
    }

    /// <summary>
    /// Concatenates the shards' files in line order into the plan's output folder (<see cref="Cathodes"/>,
    /// <see cref="Anodes"/>, <see cref="Rejects"/>). Fails, writing nothing, when a shard is missing.
    /// </summary>
    public async Task<ScreenTotals> MergeAsync(CancellationToken cancellation = default)
    {
        var artifacts = new List<Artifact>();
        var missing = new List<int>();
        foreach (var shard in Plan.Shards)
        {
            if (await TryOpenAsync(shard, cancellation) is { } artifact) artifacts.Add(artifact);
            else missing.Add(shard.Index);
        }

        if (missing.Count > 0)
            throw new InvalidOperationException($"cannot merge: shard{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing)} of {Plan.Shards.Count} not screened yet (rerun with --resume)");
        foreach (var file in new[] { Cathodes, Anodes, Rejects })
        {
            // Every shard file starts with the same header line: keep the first one, skip it in the others.
            await AtomicFile.WriteAsync(Path.Combine(Plan.Output, file), async stream =>
            {
                for (var i = 0; i < artifacts.Count; i++)
                {
                    await using var part = File.OpenRead(artifacts[i].PathOf(file));
                    if (i > 0) SkipLine(part);
                    await part.CopyToAsync(stream, cancellation);
                }
            });
        }

        return artifacts.Aggregate(ScreenTotals.Zero, (sum, a) => sum.Plus(ScreenTotals.FromJson(a.Manifest.Summary)));
    }

    private static void SkipLine(Stream stream)
    {
        int b;
        while ((b = stream.ReadByte()) >= 0 && b != '\n') { }
    }

    /// <summary>
    /// One shard's rows of the library read by the same reader as the unsharded screen (so ids, the title line and
    /// row numbers are the file's), predicted and written through the same <see cref="LibraryScreenTables"/>.
    /// </summary>
    private async Task<ScreenTotals> ScreenAsync(LinePredictor model, ShardRange shard, string folder, CancellationToken cancellation)
    {
        var utf8 = new UTF8Encoding(false);
        using var source = MoleculeSource.Open(Plan.Library, new MoleculeInputOptions(MoleculeFormat.Smi), new Rdkit());
        await using (var cathodeText = new StreamWriter(Path.Combine(folder, Cathodes), false, utf8))
        await using (var anodeText = new StreamWriter(Path.Combine(folder, Anodes), false, utf8))
        await using (var rejectText = new StreamWriter(Path.Combine(folder, Rejects), false, utf8))
        {
            using var tables = new LibraryScreenTables(cathodeText, anodeText, rejectText, source.RowLabel, [], new CandidateScreen(Rules), keepOutside: false);
            using var progress = log.Progress($"shard {shard.Index}", shard.Lines);
            var (first, last) = (shard.FirstLine, shard.FirstLine + shard.Lines);
            var rows = source.Read(cancellation).SkipWhile(m => m.Row <= first).TakeWhile(m => m.Row <= last);
            await foreach (var row in ShippedModel.PredictAsync(model, rows, source.IdOf, cancellation))
            {
                tables.Add(row, source.RowLabel);
                if (tables.Records % BatchSize == 0) progress.Report(tables.Records);
            }

            tables.Flush();
            return new ScreenTotals(tables.Records, tables.Rejected, tables.Cathodes, tables.Anodes, tables.Prefiltered);
        }
    }
}
