using System.CommandLine;
using OrganicScreen.Chem;
using OrganicScreen.Core;
using OrganicScreen.Pipeline;
using OrganicScreen.Stages;
using OrganicScreen.Data;
using OrganicScreen.Training;

namespace OrganicScreen.Cli;

/// <summary>
/// <c>organicscreen bench</c>: speed goals live here, not in timed unit tests. Prints featurization
/// throughput (SMILES to radius-2/2048-bit fingerprint, all cores) on the dataset's molecules.
/// </summary>
public static class BenchCommand
{
    public static Command Create(CommandContext context)
    {
        var dataset = new Option<string>("--dataset", "-d") { Description = "dataset whose SMILES are used", DefaultValueFactory = _ => "ocelot" };
        var root = new Option<string?>("--root") { Description = "repository root" };
        var device = new Option<string>("--device") { Description = "training device: cpu, cuda or auto", DefaultValueFactory = _ => "cpu" };
        var libtorch = new Option<string?>("--libtorch") { Description = "directory of an existing libtorch (e.g. torch/lib)" };
        var skipTraining = new Option<bool>("--featurize-only") { Description = "skip the training epoch timings" };
        var synthetic = new Option<bool>("--synthetic") { Description = "time training on 20k synthetic rows with 40 of 2048 bits set, exactly as bench/pytorch_epoch.py does" };
        var batchSizes = new Option<int[]>("--batch") { Description = "batch sizes to time (0 = full batch)", DefaultValueFactory = _ => [256, 0], AllowMultipleArgumentsPerToken = true };
        var command = new Command("bench", "benchmarks: featurization throughput, training epoch time") { dataset, root, device, libtorch, skipTraining, synthetic, batchSizes };
        command.SetAction(async (parse, cancellation) =>
        {
            var log = context.Log;
            var pipeline = new PipelineRun(new PipelineOptions(parse.GetValue(dataset)!, "default", Root: parse.GetValue(root)), log);
            var fetched = await pipeline.FetchAsync(cancellation);
            var variant = fetched.Dataset.Variant(null);
            var smiles = RawRecordReader.Read(fetched.RawPath, fetched.Source, fetched.Dataset, variant)
                .Select(r => r.Smiles?.Trim() ?? "").Where(s => s.Length > 0).ToList();
            var rate = FeaturizationBenchmark.MoleculesPerSecond(new Rdkit(), smiles);
            await context.Output.WriteLineAsync($"bench featurize: {smiles.Count:N0} molecules, SMILES -> ECFP r2/2048, {Environment.ProcessorCount} cores: {rate:N0} molecules/s (goal >= 45,000)");
            if (parse.GetValue(skipTraining)) return 0;

            // The largest Table-1 config (radius 3, 2048 bits, [1024, 512, 256]) on 20k real molecules.
            TorchRuntime.Initialize(new TorchRuntimeOptions(parse.GetValue(libtorch)));
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

            var computeDevice = Enum.Parse<ComputeDevice>(parse.GetValue(device)!, ignoreCase: true);
            foreach (var size in parse.GetValue(batchSizes)!)
            {
                var name = size == 0 ? "full batch" : $"batch {size}";
                var result = TrainingBenchmark.MeasureEpochSeconds(data, CrossValidationPlan.Paper.Architecture(config.Hidden),
                    TrainingSettings.Paper with { BatchSize = size, Device = computeDevice }, epochs: size == 0 ? 3 : 5);
                var goal = size == 256 && result.Device == "CPU" ? " (goal <= 1.0 s on 2 cores)" : "";
                await context.Output.WriteLineAsync($"bench train: {config}, {result.Rows:N0} molecules, {name} ({result.StepsPerEpoch} steps), {result.Device}, {result.Threads} threads, first layer {result.FirstLayer}: {result.SecondsPerEpoch:F3} s/epoch{goal}");
            }

            return 0;
        });
        return command;
    }
}
