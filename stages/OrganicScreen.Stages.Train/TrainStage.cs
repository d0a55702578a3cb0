using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using OrganicScreen.Chem;
using OrganicScreen.Core;
using OrganicScreen.Data;
using OrganicScreen.Training;
using OrganicScreen.Training.Graph;

namespace OrganicScreen.Stages;

/// <summary>What a trained target's models are, by family: no sentinel values, the family is the type.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "family")]
[JsonDerivedType(typeof(FcnnModel), "fcnn")]
[JsonDerivedType(typeof(DmpnnModel), "dmpnn")]
public abstract record TrainedModel
{
    [JsonIgnore]
    public abstract ModelFamily Family { get; }

    /// <summary>One line for reports and logs.</summary>
    [JsonIgnore]
    public abstract string Summary { get; }
}

/// <summary>The study's FCNN: the sweep's winning Table-1 config for this target.</summary>
public sealed record FcnnModel(int Config, string Fingerprint, IReadOnlyList<int> Hidden) : TrainedModel
{
    [JsonIgnore]
    public override ModelFamily Family => ModelFamily.Fcnn;

    [JsonIgnore]
    public override string Summary => $"FCNN, Table-1 config {Config} ({Fingerprint}, hidden [{string.Join(", ", Hidden)}])";
}

/// <summary>The D-MPNN, trained multi-task on every target at once, plus any <paramref name="Auxiliary"/> targets (learned, not screened).</summary>
public sealed record DmpnnModel(DmpnnArchitecture Architecture, IReadOnlyList<string>? Auxiliary = null) : TrainedModel
{
    [JsonIgnore]
    public override ModelFamily Family => ModelFamily.Dmpnn;

    [JsonIgnore]
    public override string Summary => Auxiliary is { Count: > 0 } auxiliary
        ? $"D-MPNN on RDKit graphs ({Architecture}), auxiliary targets {string.Join(", ", auxiliary)}"
        : $"D-MPNN on RDKit graphs ({Architecture})";
}

/// <summary>The auxiliary targets a run learns (resolved from the profile's groups against the dataset), and what was skipped and why.</summary>
public sealed record AuxiliarySelection(IReadOnlyList<string> Targets, IReadOnlyList<string> Skipped)
{
    public static AuxiliarySelection None { get; } = new([], []);
}

/// <summary>What Train produced for one target: its models (in <see cref="ModelFolder"/>), fold summaries and out-of-fold scores.</summary>
/// <param name="ModelFolder">Folder of the fold models inside the Train artifact and the shipped model folder (one per FCNN target; shared by the D-MPNN's targets).</param>
public sealed record TrainedTarget(string Target, TrainedModel Model, string ModelFolder, IReadOnlyList<TrainedFold> Folds, double OutOfFoldMae, double OutOfFoldR2, int Rows)
{
    public string FoldDirectory(int fold) => $"{ModelFolder}/fold{fold}";
}

public sealed record TrainedFold(int Fold, int BestEpoch, int EpochsRun, double ValidationMae, int ValidationRows, double Seconds);

/// <summary>
/// Train: k-fold CV of the profile's model. The FCNN trains one network per target on the sweep's winning
/// config; the D-MPNN one multi-task network per fold (missing labels masked). Both go through the one
/// cross-validation loop and save through the one fold-model contract, and both write the same tables:
/// fold models, out-of-fold predictions (oof.parquet), learning curves (curves.parquet), training.json.
/// </summary>
public sealed class TrainStage(ArtifactStore store, IStageLog log)
{
    public const string Name = "train";
    public const string Summary = "training.json";
    public const string OutOfFold = "oof.parquet";
    public const string Curves = "curves.parquet";
    public const string GraphFolder = "dmpnn";

    public static StageRequest Request(ModelFamily model, TrainSection section, string featurizeKey, string? sweepKey, CodeLocation code, string rdkitVersion)
    {
        var inputs = new Dictionary<string, string> { [FeaturizeStage.Name] = featurizeKey };
        if (sweepKey is not null) inputs[SweepStage.Name] = sweepKey;
        var tools = new Dictionary<string, string> { ["torchsharp"] = ModelTools.TorchSharpVersion, ["dotnet"] = CodeVersion.Runtime };
        if (model == ModelFamily.Dmpnn) tools["rdkit"] = rdkitVersion;
        return new StageRequest(Name, code.Identity(typeof(TrainStage).Assembly.GetName().Name!),
            new JsonObject { ["model"] = model.ToString(), ["train"] = section.KeyParameters() }, inputs, tools);
    }

    public async Task<(Artifact Artifact, IReadOnlyList<TrainedTarget> Targets)> RunAsync(StageRequest request, ModelFamily model, FeatureSet features,
        IReadOnlyList<SweepChoice> choices, Rdkit rdkit, TrainSection section, TorchRuntimeOptions torch, CancellationToken cancellation,
        AuxiliarySelection? auxiliary = null)
    {
        auxiliary ??= AuxiliarySelection.None;
        foreach (var note in auxiliary.Skipped) log.Info($"train: skipped {note}");
        var artifact = await store.GetOrBuildAsync(request, async (context, ct) =>
        {
            var outcome = (await TrainAsync(new FoldRunner(new FoldArtifacts(store, request, log), null), model, features, choices, rdkit, section, torch, auxiliary, context.OutputDirectory, ct))!;
            await ParquetTable.WriteAsync(Path.Combine(context.OutputDirectory, OutOfFold), outcome.OutOfFold);
            await ParquetTable.WriteAsync(Path.Combine(context.OutputDirectory, Curves), outcome.Curves);
            await File.WriteAllTextAsync(Path.Combine(context.OutputDirectory, Summary), JsonSerializer.Serialize(outcome.Targets, Json.Options), ct);
            return new JsonObject { ["targets"] = JsonSerializer.SerializeToNode(outcome.Targets.Select(t => new { t.Target, t.OutOfFoldMae, t.OutOfFoldR2 }), Json.Options) };
        }, cancellation);
        var targets = await ReadTargetsAsync(artifact, cancellation);
        foreach (var t in targets)
            log.Info(string.Create(CultureInfo.InvariantCulture, $"train {t.Target.ToUpperInvariant()} ({t.Model.Summary}): out-of-fold MAE {t.OutOfFoldMae:F3} eV, R² {t.OutOfFoldR2:F3} over {t.Rows:N0} molecules ({t.Folds.Count} folds)"));
        return (artifact, targets);
    }

    /// <summary>
    /// Trains fold <paramref name="fold"/> of every training unit (each FCNN target, or the one D-MPNN) into the store
    /// unless it is there: what one array task of <c>train --executor slurm</c> runs. Train, run later, assembles the
    /// folds from the store without training them again.
    /// </summary>
    public async Task TrainFoldAsync(StageRequest request, ModelFamily model, FeatureSet features, IReadOnlyList<SweepChoice> choices, Rdkit rdkit,
        TrainSection section, TorchRuntimeOptions torch, int fold, CancellationToken cancellation, AuxiliarySelection? auxiliary = null)
    {
        if (fold < 0 || fold >= section.Folds) throw new ArgumentException($"fold {fold} does not exist: the profile trains folds 0..{section.Folds - 1}");
        if (await store.TryOpenAsync(request, cancellation) is { } done)
        {
            log.Info($"train: {Name}/{done.Key[..16]} is already built; fold {fold} has nothing to do");
            return;
        }

        // A fold process is where train.foldThreads takes effect: libtorch is set up here, on the profile's thread count.
        await TrainAsync(new FoldRunner(new FoldArtifacts(store, request, log), fold), model, features, choices, rdkit, section,
            torch with { Threads = section.FoldThreads ?? torch.Threads }, auxiliary ?? AuxiliarySelection.None, null, cancellation);
    }

    /// <summary>
    /// With <see cref="TrainSection.FoldThreads"/> set, a CPU fold must train on exactly that many threads: its key says
    /// so, and another count gives other numbers. Only a process set up for it (<see cref="TrainFoldAsync"/>) qualifies.
    /// </summary>
    private static void CheckFoldThreads(TrainSection section)
    {
        if (section.FoldThreads is not { } wanted || TorchRuntime.Resolve(section.Settings.Device).type != TorchSharp.DeviceType.CPU) return;
        var threads = TorchSharp.torch.get_num_threads();
        if (threads != wanted)
            throw new InvalidOperationException(
                $"train: the profile trains each fold on {wanted} thread{(wanted == 1 ? "" : "s")} (train.foldThreads), but this process's libtorch runs {threads}; " +
                "such folds train in processes of their own (organicscreen stage train --fold N), which the pipeline starts");
    }

    /// <summary>The units a profile trains folds of: each FCNN target (its own data and network), or the D-MPNN's one network.</summary>
    public static IReadOnlyList<string> Units(ModelFamily model, IReadOnlyList<SweepChoice> choices) =>
        model == ModelFamily.Dmpnn ? [GraphFolder] : choices.Select(c => c.Target).ToList();

    /// <summary>Whether fold <paramref name="fold"/> of every unit is in the store.</summary>
    public async Task<bool> FoldDoneAsync(StageRequest request, IReadOnlyList<string> units, int fold, CancellationToken cancellation = default)
    {
        var folds = new FoldArtifacts(store, request, log);
        foreach (var unit in units)
            if (await folds.TryOpenAsync(unit, fold, cancellation) is null) return false;
        return true;
    }

    private async Task<Outcome?> TrainAsync(FoldRunner runner, ModelFamily model, FeatureSet features, IReadOnlyList<SweepChoice> choices, Rdkit rdkit,
        TrainSection section, TorchRuntimeOptions torch, AuxiliarySelection auxiliary, string? output, CancellationToken ct)
    {
        TorchRuntime.Initialize(torch);
        var molecules = await features.MoleculesAsync();
        return model == ModelFamily.Dmpnn
            ? await TrainGraphsAsync(runner, features, molecules, rdkit, section, auxiliary.Targets, output, ct)
            : await TrainFingerprintsAsync(runner, features, molecules, choices, section, output, ct);
    }

    /// <summary>
    /// Runs a unit's folds through <see cref="CrossValidation"/>, each fold from the store or trained into it; with
    /// <see cref="Only"/> set, gets or trains that fold alone and returns null (nothing to assemble).
    /// </summary>
    private sealed record FoldRunner(FoldArtifacts Folds, int? Only)
    {
        public (int[] Assignment, IReadOnlyList<StoredFold> Folds, double[][] OutOfFold)? Run(string unit, int rows, int targets, TrainSection section,
            Func<Fold, CancellationToken, (IFoldModel Model, StoredFold Outcome)> train, CancellationToken ct)
        {
            // Inside Task.Run: blocking on the store's async calls holds no synchronisation context.
            if (Only is { } only)
            {
                Folds.GetOrTrainAsync(unit, Training.Folds.Create(rows, section.Folds, section.FoldSeed)[only], train, ct).GetAwaiter().GetResult();
                return null;
            }

            return CrossValidation.Run(rows, targets, section.Folds, section.FoldSeed, fold => Folds.GetOrTrainAsync(unit, fold, train, ct).GetAwaiter().GetResult(), ct);
        }
    }

    public static async Task<IReadOnlyList<TrainedTarget>> ReadTargetsAsync(Artifact train, CancellationToken cancellation = default) =>
        JsonSerializer.Deserialize<List<TrainedTarget>>(await File.ReadAllTextAsync(train.PathOf(Summary), cancellation), Json.Options)!;

    private sealed record Outcome(List<TrainedTarget> Targets, List<OutOfFoldRow> OutOfFold, List<CurveRow> Curves);

    private async Task<Outcome?> TrainFingerprintsAsync(FoldRunner runner, FeatureSet features, IReadOnlyList<Molecule> molecules, IReadOnlyList<SweepChoice> choices,
        TrainSection section, string? output, CancellationToken ct)
    {
        var outcome = new Outcome([], [], []);
        foreach (var choice in choices)
        {
            var target = Target.Named(choice.Target);
            var config = Table1.Config(choice.Config);
            var (data, rows) = new LabeledFingerprints($"{features.Dataset} {target.Label}", await features.FingerprintsAsync(config.Fingerprint), target.Labels(molecules)).WithoutMissing();
            data.Validate(minimumRows: Math.Max(section.Folds, 2));
            log.Info($"train {target.Label}: {config}, {section.Folds}-fold CV on {data.Rows:N0} molecules");
            var architecture = section.Plan.Architecture(config.Hidden);
            var cv = await Task.Run(() => runner.Run(target.Name, data.Rows, 1, section, (fold, token) =>
            {
                CheckFoldThreads(section);
                var progress = new SynchronousProgress<EpochMetrics>(e =>
                {
                    if (e.Epoch % 10 == 0) log.Info($"  {target.Label} fold {fold.Index + 1}/{section.Folds} epoch {e.Epoch}: validation MAE {e.ValidationMae:F3} eV");
                });
                var result = FoldTrainer.Train(data, fold, architecture, section.Settings, progress, token);
                log.Info($"  {target.Label} fold {fold.Index + 1}: best epoch {result.BestEpoch} of {result.EpochsRun}, validation MAE {result.BestValidationMae:F3} eV ({result.Elapsed.TotalSeconds:F0} s)");
                return (new FingerprintFoldModel(result.Model, config.Fingerprint, target.Name), StoredFold.Of(result));
            }, ct), ct);
            if (cv is not { } done) continue;
            var model = new FcnnModel(config.Index, config.Fingerprint.Name, config.Hidden);
            var trained = new TrainedTarget(target.Name, model, target.Name, [], 0, 0, data.Rows);
            foreach (var fold in done.Folds)
            {
                CopyFolder(fold.ModelDirectory, Path.Combine(output!, trained.FoldDirectory(fold.FoldIndex)));
                outcome.Curves.AddRange(CurveRows(target.Name, fold, 0));
            }

            var predictions = done.OutOfFold[0];
            for (var i = 0; i < data.Rows; i++)
                outcome.OutOfFold.Add(new OutOfFoldRow { Target = target.Name, Index = rows[i], Fold = done.Assignment[i], Label = data.Labels[i], Prediction = predictions[i] });
            var metrics = RegressionMetricsCalculator.Compute(data.Labels, predictions);
            outcome.Targets.Add(trained with
            {
                Folds = done.Folds.Select(f => new TrainedFold(f.FoldIndex, f.BestEpoch, f.EpochsRun, f.BestValidationMae[0], f.ValidationRows.Length, f.Seconds)).ToList(),
                OutOfFoldMae = metrics.Mae, OutOfFoldR2 = metrics.R2,
            });
        }

        return runner.Only is null ? outcome : null;
    }

    private static IEnumerable<CurveRow> CurveRows(string target, StoredFold fold, int column) => fold.Curve.Select(e => new CurveRow
    {
        Target = target, Fold = fold.FoldIndex, Epoch = e.Epoch, LearningRate = e.LearningRate, TrainLoss = e.TrainLoss,
        ValidationLoss = e.ValidationLoss, TrainMae = e.TrainMae[column], ValidationMae = e.ValidationMae[column],
    });

    /// <summary>A fold model's files, copied from its fold artifact into the Train artifact (the shipped layout).</summary>
    private static void CopyFolder(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(destination, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private async Task<Outcome?> TrainGraphsAsync(FoldRunner runner, FeatureSet features, IReadOnlyList<Molecule> molecules, Rdkit rdkit, TrainSection section,
        IReadOnlyList<string> auxiliary, string? output, CancellationToken ct)
    {
        var architecture = section.Dmpnn!;
        var graphs = MoleculeGraphs.Build(rdkit, molecules, features.Dataset);
        var targets = Target.All;
        var unlabelled = auxiliary.Where(a => molecules.All(m => m.Auxiliary?.ContainsKey(a) != true)).ToList();
        foreach (var a in unlabelled) log.Info($"train: skipped auxiliary '{a}': no molecule of {features.Dataset} has a value");
        auxiliary = auxiliary.Except(unlabelled).ToList();
        // Auxiliary columns follow IE and EA: the primary targets keep indices 0 and 1 whatever else is learned.
        var names = targets.Select(t => t.Name).Concat(auxiliary).ToList();
        var columns = targets.Select(t => t.Labels(molecules))
            .Concat(auxiliary.Select(a => molecules.Select(m => m.Auxiliary is { } values && values.TryGetValue(a, out var v) ? v : double.NaN).ToArray()))
            .ToArray();
        var data = LabeledGraphs.FromColumns($"{features.Dataset} graphs", graphs, names, columns);
        var auxiliaryNote = auxiliary.Count == 0 ? "" : $", auxiliary {string.Join(", ", auxiliary.Select((a, i) => $"{a} ({columns[targets.Count + i].Count(double.IsFinite):N0} labels)"))} at weight {section.AuxiliaryWeight ?? 1.0}";
        log.Info($"train D-MPNN ({architecture}): {section.Folds}-fold CV on {data.Rows:N0} molecules, targets {string.Join(", ", targets.Select(t => t.Label))}{auxiliaryNote}{(section.Loss is { } loss ? $", {loss} loss" : "")}");
        if (architecture.BFloat16Products && section.Settings.Device != ComputeDevice.Cuda && CpuFeatures.BFloat16 == false)
            log.Warn("train: this CPU has neither AVX512-BF16 nor AMX (/proc/cpuinfo), so bfloat16 products are emulated and slower than float32 ones; " +
                     "--set train.dmpnn.precision=float32 trains faster here (a different model key)");
        var options = new GraphTrainingOptions(section.Scaling ?? TargetScaling.Standard, Auxiliary: auxiliary, AuxiliaryWeight: section.AuxiliaryWeight ?? 1.0,
            Loss: section.Loss ?? TrainingLoss.Mse);
        data.Validate(minimumRows: section.Folds);
        var cv = await Task.Run(() => runner.Run(GraphFolder, data.Rows, data.Targets, section, (fold, token) =>
        {
            CheckFoldThreads(section);
            var progress = new SynchronousProgress<GraphEpochMetrics>(e =>
                log.Info($"  fold {fold.Index + 1}/{section.Folds} epoch {e.Epoch}: validation MAE {string.Join(", ", targets.Select((t, i) => $"{t.Label} {e.ValidationMae[i]:F3}"))} eV"));
            var result = GraphFoldTrainer.Train(data, fold, architecture, section.Settings, options, progress, token);
            return (result.Model, StoredFold.Of(result));
        }, ct), ct);
        if (cv is not { } done) return null;

        var outcome = new Outcome([], [], []);
        var model = new DmpnnModel(architecture, auxiliary.Count == 0 ? null : auxiliary);
        foreach (var fold in done.Folds)
        {
            CopyFolder(fold.ModelDirectory, Path.Combine(output!, GraphFolder, $"fold{fold.FoldIndex}"));
            for (var t = 0; t < targets.Count; t++) outcome.Curves.AddRange(CurveRows(targets[t].Name, fold, t));
        }

        for (var t = 0; t < targets.Count; t++)
        {
            var labelled = Enumerable.Range(0, data.Rows).Where(r => !double.IsNaN(data.Labels[r, t])).ToList();
            if (labelled.Count == 0) continue;
            outcome.OutOfFold.AddRange(labelled.Select(r => new OutOfFoldRow
            {
                Target = targets[t].Name, Index = r, Fold = done.Assignment[r], Label = data.Labels[r, t], Prediction = done.OutOfFold[t][r],
            }));
            var metrics = RegressionMetricsCalculator.Compute(labelled.Select(r => data.Labels[r, t]).ToList(), labelled.Select(r => done.OutOfFold[t][r]).ToList());
            outcome.Targets.Add(new TrainedTarget(targets[t].Name, model, GraphFolder, done.Folds.Select(f =>
                new TrainedFold(f.FoldIndex, f.BestEpoch, f.EpochsRun, f.BestValidationMae[t], f.ValidationRows.Count(r => !double.IsNaN(data.Labels[r, t])), f.Seconds)).ToList(),
                metrics.Mae, metrics.R2, labelled.Count));
        }

        return outcome;
    }

    public static async Task<IReadOnlyList<OutOfFoldRow>> ReadOutOfFoldAsync(Artifact train) => (await ParquetTable.ReadAsync<OutOfFoldRow>(train.PathOf(OutOfFold))).ToList();

    public static async Task<IReadOnlyList<CurveRow>> ReadCurvesAsync(Artifact train) => (await ParquetTable.ReadAsync<CurveRow>(train.PathOf(Curves))).ToList();

    public sealed class OutOfFoldRow
    {
        [JsonPropertyName("target")] public string Target { get; set; } = "";
        [JsonPropertyName("index")] public int Index { get; set; }
        [JsonPropertyName("fold")] public int Fold { get; set; }
        [JsonPropertyName("label_ev")] public double Label { get; set; }
        [JsonPropertyName("oof_prediction_ev")] public double Prediction { get; set; }
    }

    public sealed class CurveRow
    {
        [JsonPropertyName("target")] public string Target { get; set; } = "";
        [JsonPropertyName("fold")] public int Fold { get; set; }
        [JsonPropertyName("epoch")] public int Epoch { get; set; }
        [JsonPropertyName("learning_rate")] public double LearningRate { get; set; }
        [JsonPropertyName("train_loss")] public double TrainLoss { get; set; }
        [JsonPropertyName("validation_loss")] public double ValidationLoss { get; set; }
        [JsonPropertyName("train_mae_ev")] public double TrainMae { get; set; }
        [JsonPropertyName("validation_mae_ev")] public double ValidationMae { get; set; }
    }
}

/// <summary>Molecular graphs of a feature set's molecules, built on the fly from RDKit (≈ seconds for 20k molecules).</summary>
public static class MoleculeGraphs
{
    public static MolecularGraphs Build(Rdkit rdkit, IReadOnlyList<Molecule> molecules, string dataset)
    {
        var batch = rdkit.Graphs(molecules.Select(m => m.InputSmiles).ToList());
        var invalid = batch.Molecules.Count(m => !m.IsValid);
        if (invalid > 0)
            throw new DatasetException($"{dataset}: {invalid} molecules that passed Featurize gave no RDKit graph (first: {batch.Molecules.First(m => !m.IsValid).Error})");
        return batch.Graphs;
    }
}
