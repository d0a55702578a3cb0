using System.CommandLine;
using OrganicScreen.Chem;
using OrganicScreen.Core;
using OrganicScreen.Pipeline;
using OrganicScreen.Stages;
using OrganicScreen.Data;
using OrganicScreen.Training;
using OrganicScreen.Training.Graph;

namespace OrganicScreen.Cli;

/// <summary>
/// <c>organicscreen bench</c>: speed goals live here, not in timed unit tests. Prints featurization
/// throughput (SMILES to radius-2/2048-bit fingerprint, all cores) on the dataset's molecules.
/// </summary>
public static class BenchCommand
{
    private static string Describe(ScreenBenchmarkResult r)
    {
        string Share(string phase) => $"{phase} {100 * r.Share(phase):F0} %";
        return $"{r.Molecules:N0} molecules in {r.Wall.TotalSeconds:F1} s on {r.Cores} cores: {r.MoleculesPerSecond:N0} molecules/s ({r.PerCore:N0} per core, {r.PerCpuSecond:N0} per CPU-second); "
               + $"{Share(PhaseTimings.Parse)}, {Share(PhaseTimings.Domain)}, {Share(PhaseTimings.Model)}, {Share(PhaseTimings.Screen)}; "
               + $"{r.Candidates:N0} candidates; peak working set {r.PeakWorkingSetBytes / 1048576.0:N0} MB";
    }

    public static Command Create(CommandContext context)
    {
        var dataset = new Option<string>("--dataset", "-d") { Description = "dataset whose SMILES are used", DefaultValueFactory = _ => "ocelot" };
        var root = new Option<string?>("--root") { Description = "repository root" };
        var device = new Option<string>("--device") { Description = "training device: cpu, cuda or auto", DefaultValueFactory = _ => "cpu" };
        var libtorch = new Option<string?>("--libtorch") { Description = "directory of an existing libtorch (e.g. torch/lib)" };
        var skipTraining = new Option<bool>("--featurize-only") { Description = "skip the training epoch timings" };
        var synthetic = new Option<bool>("--synthetic") { Description = "time training on 20k synthetic rows with 40 of 2048 bits set, exactly as bench/pytorch_epoch.py does" };
        var batchSizes = new Option<int[]>("--batch") { Description = "batch sizes to time (0 = full batch)", DefaultValueFactory = _ => [256, 0], AllowMultipleArgumentsPerToken = true };
        var screenModels = new Option<DirectoryInfo[]>("--screen-model") { Description = "time `screen` with these results folders' models instead (repeatable: one per model family)", AllowMultipleArgumentsPerToken = true };
        var library = new Option<FileInfo?>("--library") { Description = "screen benchmark: SMILES library (plain or .gz; default: the dataset's SMILES)" };
        var prefilter = new Option<DirectoryInfo?>("--prefilter") { Description = "screen benchmark: also time the two-stage funnel, this fast model (results folder) before each --screen-model, and its recall of that model's candidates" };
        var limit = new Option<int>("--limit") { Description = "screen benchmark: molecules to screen", DefaultValueFactory = _ => 100_000 };
        var repeat = new Option<int>("--repeat") { Description = "screen benchmark: timed runs per model (after one warm-up batch); the median run is reported", DefaultValueFactory = _ => 3 };
        repeat.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1) r.AddError("--repeat must be at least 1.");
        });
        var models = new Option<string[]>("--train") { Description = "model families whose training epoch is timed: fcnn, dmpnn", DefaultValueFactory = _ => ["fcnn", "dmpnn"], AllowMultipleArgumentsPerToken = true };
        models.AcceptOnlyFromAmong("fcnn", "dmpnn");
        var precisions = new Option<string[]>("--dmpnn-precision")
        {
            Description = "precisions of the D-MPNN's matrix products whose epochs are timed, in this order (the first is the reference the others are compared with)",
            DefaultValueFactory = _ => [DmpnnArchitecture.Float32, DmpnnArchitecture.BFloat16],
            AllowMultipleArgumentsPerToken = true,
        };
        precisions.AcceptOnlyFromAmong(DmpnnArchitecture.Float32, DmpnnArchitecture.BFloat16);
        var timedEpochs = new Option<int>("--dmpnn-epochs") { Description = "D-MPNN epochs timed one by one after one warm-up epoch (the median is reported)", DefaultValueFactory = _ => 3 };
        timedEpochs.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1) r.AddError("--dmpnn-epochs must be at least 1.");
        });
        var depths = new Option<int[]>("--dmpnn-depth")
        {
            Description = "message-passing depths whose D-MPNN epochs are timed (the goal, <= 10 s, is stated for depth 3)",
            DefaultValueFactory = _ => [GraphBenchmarkData.Architecture.Depth],
            AllowMultipleArgumentsPerToken = true,
        };
        depths.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int[]>()?.Any(d => d < 1) == true) r.AddError("--dmpnn-depth values must be at least 1.");
        });
        var command = new Command("bench", "benchmarks: featurization throughput, training epoch time, screen throughput") { dataset, root, device, libtorch, skipTraining, synthetic, batchSizes, models, precisions, depths, timedEpochs, screenModels, library, limit, repeat, prefilter };
        command.SetAction(async (parse, cancellation) =>
        {
            var log = context.Log;
            if (parse.GetValue(screenModels) is { Length: > 0 } screened)
            {
                var layout = RepositoryLayout.Locate(parse.GetValue(root));
                IEnumerable<string> molecules;
                if (parse.GetValue(library) is { } file)
                {
                    // Read as the screen runs, so the library's size does not show in the peak working set.
                    molecules = LibraryLines(file.FullName).Take(parse.GetValue(limit));
                }
                else
                {
                    var source = await new PipelineRun(new PipelineOptions(parse.GetValue(dataset)!, "default", Root: parse.GetValue(root)), log).FetchAsync(cancellation);
                    molecules = RawRecordReader.Read(source.RawPath, source.Source, source.Dataset, source.Dataset.Variant(null))
                        .Select(r => r.Smiles?.Trim() ?? "").Where(s => s.Length > 0).Take(parse.GetValue(limit)).ToList();
                }

                var catalog = Screening.SolventCatalog.Load(Path.Combine(layout.Data, "solvents.json"));
                var rules = new Screening.ScreeningRules(catalog.Solvent("acetonitrile"), catalog.Collector("aluminium"));
                using var fast = parse.GetValue(prefilter) is { } fastFolder ? ShippedModel.Load(fastFolder.FullName, parse.GetValue(libtorch)) : null;
                var runs = parse.GetValue(repeat);
                foreach (var folder in screened)
                {
                    using var model = ShippedModel.Load(folder.FullName, parse.GetValue(libtorch));
                    ScreenBenchmark.Run(model, molecules.Take(ShippedModel.BatchSize).ToList(), rules); // warm-up: JIT, libtorch threads
                    var alone = Repeated(runs, () => ScreenBenchmark.Run(model, molecules, rules, keepCandidates: fast is not null));
                    await context.Output.WriteLineAsync($"bench screen: {folder.Name} ({string.Join("+", model.Card.Targets.Select(t => $"{t.Target} x{t.Folds.Count}"))}; {model.Engine}), "
                        + $"{Rates(alone)}; the median run: {Describe(alone.Median)} (goal >= 10,000/s default, >= 1,000/s best)");
                    if (fast is null) continue;

                    ScreenBenchmark.RunFunnel(fast, model, molecules.Take(ShippedModel.BatchSize).ToList(), rules);
                    var funnel = Repeated(runs, () => ScreenBenchmark.RunFunnel(fast, model, molecules, rules, keepCandidates: true));
                    var kept = funnel.Median.CandidateRows!.ToHashSet();
                    var reference = alone.Median.CandidateRows!;
                    var found = reference.Count(kept.Contains);
                    await context.Output.WriteLineAsync($"bench funnel: {parse.GetValue(prefilter)!.Name} then {folder.Name}, {Rates(funnel)}; the median run: {Describe(funnel.Median)}; "
                        + $"speed-up {alone.Seconds.Median / funnel.Seconds.Median:F2}x wall (medians), {funnel.Median.PerCpuSecond / alone.Median.PerCpuSecond:F2}x per CPU-second (median runs); "
                        + $"recall {found:N0} of {reference.Count:N0} candidate rows of {folder.Name} alone "
                        + $"({(reference.Count == 0 ? 100 : 100.0 * found / reference.Count):F2} %), {kept.Count - found:N0} rows it does not have (goal: 100 % recall)");
                }

                return 0;
            }

            var pipeline = new PipelineRun(new PipelineOptions(parse.GetValue(dataset)!, "default", Root: parse.GetValue(root)), log);
            var fetched = await pipeline.FetchAsync(cancellation);
            var variant = fetched.Dataset.Variant(null);
            var smiles = RawRecordReader.Read(fetched.RawPath, fetched.Source, fetched.Dataset, variant)
                .Select(r => r.Smiles?.Trim() ?? "").Where(s => s.Length > 0).ToList();
            var rate = FeaturizationBenchmark.MoleculesPerSecond(new Rdkit(), smiles);
            await context.Output.WriteLineAsync($"bench featurize: {smiles.Count:N0} molecules, SMILES -> ECFP r2/2048, {Environment.ProcessorCount} cores: {rate:N0} molecules/s (goal >= 45,000)");
            if (parse.GetValue(skipTraining)) return 0;

            TorchRuntime.Initialize(new TorchRuntimeOptions(parse.GetValue(libtorch)));
            var computeDevice = Enum.Parse<ComputeDevice>(parse.GetValue(device)!, ignoreCase: true);
            var families = parse.GetValue(models)!;
            if (families.Contains("dmpnn"))
            {
                var records = RawRecordReader.Read(fetched.RawPath, fetched.Source, fetched.Dataset, variant).Where(r => !string.IsNullOrWhiteSpace(r.Smiles)).Take(20_000).ToList();
                var graphs = GraphBenchmarkData.Create($"{fetched.Dataset.Name} bench", new Rdkit(), records);
                foreach (var depth in parse.GetValue(depths)!.Distinct())
                {
                    double? reference = null;
                    foreach (var precision in parse.GetValue(precisions)!.Distinct())
                    {
                        var architecture = GraphBenchmarkData.Architecture with { Depth = depth, Precision = precision == DmpnnArchitecture.Float32 ? null : precision };
                        var result = GraphTrainingBenchmark.MeasureEpochSeconds(graphs, architecture, GraphBenchmarkData.Settings with { Device = computeDevice }, parse.GetValue(timedEpochs));
                        var goal = result.Device == "CPU" && depth == GraphBenchmarkData.Architecture.Depth ? " (goal <= 10 s on 2 cores)" : "";
                        var ratio = reference is { } r ? $", {r / result.SecondsPerEpoch:F2}x the first precision's speed in this run" : "";
                        reference ??= result.SecondsPerEpoch;
                        await context.Output.WriteLineAsync(
                            $"bench train: D-MPNN hidden {result.Hidden} depth {result.Depth} {precision} products, {result.Molecules:N0} molecules ({result.MeanAtoms:F1} atoms, {result.MeanBonds:F1} bonds on average), "
                            + $"batch {result.BatchSize} ({result.StepsPerEpoch} steps), {result.Device}, {result.Threads} threads: {result.EpochSeconds.Describe("F2", " s")}/epoch{goal}{ratio} (in order: {string.Join(", ", result.EpochSeconds.Values.Select(v => v.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))}); per epoch (mean): {result.PhasesPerEpoch}");
                    }
                }
            }
            if (!families.Contains("fcnn")) return 0;

            // The largest Table-1 config (radius 3, 2048 bits, [1024, 512, 256]) on 20k real molecules.
            var config = Table1.Configs.Where(c => c.Index < 24).OrderByDescending(c => c.Fingerprint.Radius).ThenByDescending(c => c.Fingerprint.Bits).ThenByDescending(c => c.Hidden.Sum()).First();
            LabeledFingerprints data;
            if (parse.GetValue(synthetic))
            {
                data = SyntheticFingerprints.Create(20_000, config.Fingerprint.Bits, 40, seed: 42);
            }
            else
            {
                var records = RawRecordReader.Read(fetched.RawPath, fetched.Source, fetched.Dataset, variant).Where(r => !string.IsNullOrWhiteSpace(r.Smiles)).Take(20_000).ToList();
                var batch = new Rdkit().Featurize(records.Select(r => r.Smiles!.Trim()).ToList(), [config.Fingerprint]);
                var labels = records.Select(r => double.TryParse(r.Ie, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : double.NaN).ToArray();
                data = new LabeledFingerprints($"{fetched.Dataset.Name} bench", batch.Fingerprints[config.Fingerprint], labels).WithoutMissing().Data;
            }

            foreach (var size in parse.GetValue(batchSizes)!)
            {
                var name = size == 0 ? "full batch" : $"batch {size}";
                var result = TrainingBenchmark.MeasureEpochSeconds(data, CrossValidationPlan.Paper.Architecture(config.Hidden),
                    TrainingSettings.Paper with { BatchSize = size, Device = computeDevice }, epochs: size == 0 ? 3 : 5);
                var goal = size == 256 && result.Device == "CPU" ? " (goal <= 1.0 s on 2 cores)" : "";
                await context.Output.WriteLineAsync($"bench train: {config}, {result.Rows:N0} molecules, {name} ({result.StepsPerEpoch} steps), {result.Device}, {result.Threads} threads, first layer {result.FirstLayer}: {result.EpochSeconds.Describe("F3", " s")}/epoch{goal}");
            }

            return 0;
        });
        return command;
    }

    /// <summary>Runs of one screen benchmark: their wall seconds and the run with the median wall time.</summary>
    private sealed record ScreenRuns(Repeats Seconds, ScreenBenchmarkResult Median, IReadOnlyList<ScreenBenchmarkResult> All);

    private static ScreenRuns Repeated(int runs, Func<ScreenBenchmarkResult> run)
    {
        var all = Enumerable.Range(0, runs).Select(_ => run()).ToList();
        var seconds = new Repeats(all.Select(r => r.Wall.TotalSeconds));
        return new ScreenRuns(seconds, all[seconds.MedianIndex], all);
    }

    /// <summary>Molecules per second over the runs: median and range.</summary>
    private static string Rates(ScreenRuns runs) => new Repeats(runs.All.Select(r => r.MoleculesPerSecond)).Describe("N0", " molecules/s");

    /// <summary>The library's lines, trimmed (plain or gzip), read lazily: each enumeration opens the file again.</summary>
    private static IEnumerable<string> LibraryLines(string path)
    {
        using var reader = new StreamReader(GzipFiles.OpenRead(path));
        while (reader.ReadLine() is { } line) yield return line.Trim();
    }
}

/// <summary>
/// The D-MPNN epoch benchmark's input and model: real molecules as RDKit graphs with their IE/EA as parsed from
/// the source (the sign convention does not matter for timing), trained like the <c>best</c> profile (hidden 300,
/// depth 3, mean readout, one 300-wide head layer, Adam lr 1e-3 at batch 50, no L2).
/// </summary>
internal static class GraphBenchmarkData
{
    public static DmpnnArchitecture Architecture { get; } = new(Hidden: 300, Depth: 3, Aggregation: DmpnnArchitecture.Mean, HeadHidden: [300]);

    public static TrainingSettings Settings { get; } = new(BatchSize: 50, LearningRate: 1e-3, Schedule: LearningRateSchedule.Constant, L2: 0, Seed: 42);

    /// <summary>Molecules RDKit cannot read are left out (the pipeline's Featurize drops them too).</summary>
    public static LabeledGraphs Create(string name, Rdkit rdkit, IReadOnlyList<RawRecord> records)
    {
        var batch = rdkit.Graphs(records.Select(r => r.Smiles!.Trim()).ToList());
        var valid = Enumerable.Range(0, records.Count).Where(i => batch.Molecules[i].IsValid && batch.Graphs.Atoms(i) > 0).ToList();
        static double Parse(string? text) =>
            double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : double.NaN;
        return LabeledGraphs.FromColumns(name, batch.Graphs.Select(valid), ["IE", "EA"],
            valid.Select(i => Parse(records[i].Ie)).ToArray(), valid.Select(i => Parse(records[i].Ea)).ToArray());
    }
}
