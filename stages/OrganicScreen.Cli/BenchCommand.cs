using System.CommandLine;
using OrganicScreen.Chem;
using OrganicScreen.Core;
using OrganicScreen.Data;

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
        var command = new Command("bench", "benchmarks: featurization throughput, training epoch time") { dataset, root };
        command.SetAction(async (parse, cancellation) =>
        {
            var log = context.Log;
            var pipeline = new Pipeline(new PipelineOptions(parse.GetValue(dataset)!, "default", null, parse.GetValue(root), null, null, false), log);
            var fetched = await pipeline.FetchAsync(cancellation);
            var variant = fetched.Dataset.Variant(null);
            var smiles = RawRecordReader.Read(fetched.RawPath, fetched.Source, fetched.Dataset, variant)
                .Select(r => r.Smiles?.Trim() ?? "").Where(s => s.Length > 0).ToList();
            var rate = FeaturizationBenchmark.MoleculesPerSecond(new Rdkit(), smiles);
            await context.Output.WriteLineAsync($"bench featurize: {smiles.Count:N0} molecules, SMILES -> ECFP r2/2048, {Environment.ProcessorCount} cores: {rate:N0} molecules/s (goal >= 45,000)");
            return 0;
        });
        return command;
    }
}
