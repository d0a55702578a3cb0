using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using OrganicScreen.Pipeline;
using OrganicScreen.Stages;
using OrganicScreen.Core;
using OrganicScreen.Screening;

namespace OrganicScreen.Cli;

/// <summary>
/// <c>organicscreen predict</c>: IE/EA with 95 % intervals and potentials for new molecules from a
/// results folder's model. Streams the input in batches, so any file size runs in bounded memory;
/// every input line gets an output row, with <c>status</c> saying why a row has no prediction.
/// </summary>
public static class PredictCommand
{
    private const int BatchSize = 4096;
    public const string Header = "smiles,canonical_smiles,ie_ev,ie_lo,ie_hi,ea_ev,ea_lo,ea_hi,e_ox_li,e_red_li,status";

    public static Command Create(CommandContext context)
    {
        var model = new Option<DirectoryInfo>("--model", "-m") { Description = "results folder or its model/ folder", Required = true };
        var input = new Option<FileInfo>("--input", "-i") { Description = "SMILES file, one per line", Required = true };
        var output = new Option<FileInfo>("--output", "-o") { Description = "output CSV", Required = true };
        var solvent = new Option<string>("--solvent") { Description = "solvent window for the summary (data/solvents.json)", DefaultValueFactory = _ => "acetonitrile" };
        var libtorch = new Option<string?>("--libtorch") { Description = "directory of an existing libtorch" };
        var root = new Option<string?>("--root") { Description = "repository root (for data/solvents.json)" };
        var command = new Command("predict", "predict IE, EA, intervals and potentials for new molecules") { model, input, output, solvent, libtorch, root };
        command.SetAction(async (parse, cancellation) =>
        {
            var source = parse.GetValue(input)!;
            if (!source.Exists) throw new FileNotFoundException($"input file not found: {source.FullName}");
            var predictor = ShippedModel.Load(parse.GetValue(model)!.FullName, parse.GetValue(libtorch));
            var solvents = SolventCatalog.Load(Path.Combine(RepositoryLayout.Locate(parse.GetValue(root)).Data, "solvents.json"));
            var window = solvents.Solvent(parse.GetValue(solvent)!);
            var counts = await Writer.WriteAsync(predictor, source.FullName, parse.GetValue(output)!.FullName, cancellation);
            await context.Output.WriteLineAsync($"predict: {counts.Total:N0} lines, {counts.Ok:N0} predicted, {counts.Total - counts.Ok:N0} not predicted (see status) -> {parse.GetValue(output)!.FullName}");
            await context.Output.WriteLineAsync($"predict: {counts.InsideWindow(window):N0} molecules have both potentials inside the {window.Name} window ({window.ReductionLimit.Volts} to {window.OxidationLimit.Volts} V vs Li/Li+)");
            return 0;
        });
        return command;
    }

    /// <summary>Counts of one predict run.</summary>
    public sealed record Counts(int Total, int Ok, IReadOnlyList<(double Ox, double Red)> Potentials)
    {
        public int InsideWindow(SolventWindow w) => Potentials.Count(p => p.Ox <= w.OxidationLimit.Volts && p.Red >= w.ReductionLimit.Volts);
    }

    /// <summary>Writes the predictions of <paramref name="model"/> for every input line as CSV (atomically).</summary>
    public static class Writer
    {
        public static async Task<Counts> WriteAsync(ShippedModel model, string inputPath, string outputPath, CancellationToken cancellation)
        {
            int total = 0, ok = 0;
            var potentials = new List<(double, double)>();
            await AtomicFile.WriteAsync(outputPath, async stream =>
            {
                await using var writer = new StreamWriter(stream, new UTF8Encoding(false));
                await writer.WriteAsync(Header + "\n");
                await foreach (var row in model.PredictAsync(inputPath, cancellation))
                {
                    total++;
                    var text = new StringBuilder(Csv(row.Input)).Append(',');
                    if (row.Prediction is not { } p)
                    {
                        text.Append(",,,,,,,,,").Append(Csv(row.Status));
                    }
                    else
                    {
                        var redox = RedoxPotentials.FromEnergies(p.IonizationEnergy.Predicted, p.ElectronAffinity.Predicted).ConvertTo(PotentialScale.Lithium, ReferenceScale.Default);
                        text.Append(Csv(row.Canonical!)).Append(',')
                            .AppendJoin(',', new[] { p.IonizationEnergy.Predicted, p.IonizationEnergy.Lower, p.IonizationEnergy.Upper, p.ElectronAffinity.Predicted,
                                p.ElectronAffinity.Lower, p.ElectronAffinity.Upper, redox.Oxidation.Volts, redox.Reduction.Volts }.Select(N))
                            .Append(",OK");
                        ok++;
                        potentials.Add((redox.Oxidation.Volts, redox.Reduction.Volts));
                    }

                    await writer.WriteAsync(text.Append('\n'), cancellation);
                }
            });
            return new Counts(total, ok, potentials);
        }

        private static string N(double v) => v.ToString("F4", CultureInfo.InvariantCulture);

        private static string Csv(string s) => Core.Csv.Escape(s.Replace('\n', ' ').Replace('\r', ' '));
    }
}
