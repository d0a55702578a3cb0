using System.CommandLine;
using System.Globalization;
using OrganicScreen.Chem;
using OrganicScreen.Chem.Inputs;
using OrganicScreen.Core;
using OrganicScreen.Pipeline;
using OrganicScreen.Screening;

namespace OrganicScreen.Cli;

/// <summary>
/// <c>organicscreen predict</c>: IE/EA with 95 % intervals, potentials and the applicability-domain verdict for new
/// molecules from a results folder's model. Streams the input in batches, so any file size runs in bounded memory;
/// every input record gets an output row (with its id and the input's other columns), and <c>status</c> says why a
/// row has no prediction.
/// </summary>
public static class PredictCommand
{
    /// <summary>The columns every output has; the input's carried columns follow.</summary>
    public static readonly IReadOnlyList<string> Columns =
        ["id", "smiles", "canonical_smiles", "ie_ev", "ie_lo", "ie_hi", "ea_ev", "ea_lo", "ea_hi", "e_ox_li", "e_red_li", "domain", "similarity", "status"];

    public static Command Create(CommandContext context)
    {
        var inputs = new InputOptions();
        var model = new Option<DirectoryInfo>("--model", "-m") { Description = "results folder or its model/ folder", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "output CSV (- for standard output)", Required = true };
        var solvent = new Option<string>("--solvent") { Description = "solvent window for the summary (data/solvents.json)", DefaultValueFactory = _ => "acetonitrile" };
        var libtorch = new Option<string?>("--libtorch") { Description = "directory of an existing libtorch" };
        var root = new Option<string?>("--root") { Description = "repository root (for data/solvents.json)" };
        var command = new Command("predict", "predict IE, EA, intervals, potentials and the applicability domain for new molecules") { model, output, solvent, libtorch, root };
        foreach (var option in inputs.All) command.Options.Add(option);
        command.SetAction(async (parse, cancellation) =>
        {
            var input = inputs.Path(parse);
            var target = OutputPaths.File(parse.GetValue(output)!, input);
            var solvents = SolventCatalog.Load(Path.Combine(RepositoryLayout.Locate(parse.GetValue(root)).Data, "solvents.json"));
            var window = Catalog.Solvent(solvents, parse.GetValue(solvent)!);
            var rdkit = new Rdkit();
            using var source = inputs.Open(parse, rdkit);
            using var predictor = ShippedModel.Load(parse.GetValue(model)!.FullName, parse.GetValue(libtorch));
            // With the data on standard output, everything else goes to standard error.
            var messages = OutputPaths.IsStandardOutput(target) ? context.Error : context.Output;
            var counts = await Writer.WriteAsync(predictor, source, target, context.Output, context.ErrorLog, cancellation);
            foreach (var warning in source.Warnings) await context.Error.WriteLineAsync($"warning: {warning}");
            var where = OutputPaths.IsStandardOutput(target) ? "standard output" : target;
            await messages.WriteLineAsync($"predict: {counts.Total:N0} {source.RowLabel}s, {counts.Ok:N0} predicted ({counts.OutOfDomain:N0} outside the applicability domain, see domain), " +
                                          $"{counts.Total - counts.Ok:N0} not predicted (see status) -> {where}");
            if (counts.Ok == 0)
            {
                await context.Error.WriteLineAsync(counts.Total == 0
                    ? $"error: {source.Name} holds no molecules"
                    : $"error: none of the {counts.Total:N0} {source.RowLabel}s could be predicted (first reason: {counts.FirstFailure})");
                return CliHost.AllRowsFailed;
            }

            await messages.WriteLineAsync($"predict: {counts.InsideWindow(window):N0} molecules have both potentials inside the {window.Name} window ({window.ReductionLimit.Volts} to {window.OxidationLimit.Volts} V vs Li/Li+)");
            return 0;
        });
        return command;
    }

    /// <summary>Counts of one predict run.</summary>
    public sealed record Counts(int Total, int Ok, int OutOfDomain, string? FirstFailure, IReadOnlyList<(double Ox, double Red)> Potentials)
    {
        public int InsideWindow(SolventWindow w) => Potentials.Count(p => p.Ox <= w.OxidationLimit.Volts && p.Red >= w.ReductionLimit.Volts);
    }

    /// <summary>Writes the predictions of <paramref name="model"/> for every input record as CSV (a file atomically, or standard output).</summary>
    public static class Writer
    {
        public static async Task<Counts> WriteAsync(ShippedModel model, MoleculeSource source, string outputPath, TextWriter standardOutput, IStageLog log, CancellationToken cancellation)
        {
            int total = 0, ok = 0, outside = 0;
            string? firstFailure = null;
            var potentials = new List<(double, double)>();
            var carried = Outputs.Carried(source.CarriedColumns, Columns.ToList());
            await Outputs.WriteAsync(outputPath, standardOutput, async writer =>
            {
                using var csv = Csv.Writer(writer);
                foreach (var name in Columns.Concat(carried)) csv.WriteField(name);
                csv.NextRecord();
                using var progress = log.Progress("predict", source.Length ?? 0, ProgressUnit.Bytes);
                await foreach (var row in model.PredictAsync(source, cancellation))
                {
                    total++;
                    csv.WriteField(Csv.Neutralize(row.Id));
                    csv.WriteField(Csv.Neutralize(InputEcho.Of(row.Smiles)));
                    csv.WriteField(Csv.Neutralize(row.Canonical));
                    if (row.Prediction is not { } p)
                    {
                        for (var i = 0; i < 8; i++) csv.WriteField("");
                        firstFailure ??= $"{source.RowLabel} {row.Input.Row}: {row.Status}";
                    }
                    else
                    {
                        var redox = RedoxPotentials.FromEnergies(p.IonizationEnergy.Predicted, p.ElectronAffinity.Predicted).ConvertTo(PotentialScale.Lithium, ReferenceScale.Default);
                        foreach (var v in new[] { p.IonizationEnergy.Predicted, p.IonizationEnergy.Lower, p.IonizationEnergy.Upper, p.ElectronAffinity.Predicted,
                                     p.ElectronAffinity.Lower, p.ElectronAffinity.Upper, redox.Oxidation.Volts, redox.Reduction.Volts })
                            csv.WriteField(N(v));
                        ok++;
                        if (row.Domain is { Inside: false }) outside++;
                        potentials.Add((redox.Oxidation.Volts, redox.Reduction.Volts));
                    }

                    csv.WriteField(row.Domain?.Text ?? "");
                    csv.WriteField(row.Domain is { } d ? d.MaxSimilarity.ToString("F3", CultureInfo.InvariantCulture) : "");
                    csv.WriteField(row.Status);
                    foreach (var value in row.Input.Carried) csv.WriteField(Csv.Neutralize(value));
                    for (var i = row.Input.Carried.Count; i < carried.Count; i++) csv.WriteField("");
                    csv.NextRecord();
                    if (total % ShippedModel.BatchSize == 0)
                    {
                        await csv.FlushAsync();
                        progress.Report(source.BytesRead, $"{total:N0} molecules");
                    }
                }

                progress.Report(source.BytesRead, $"{total:N0} molecules");
                await csv.FlushAsync();
            });
            return new Counts(total, ok, outside, firstFailure, potentials);
        }

        private static string N(double v) => v.ToString("F4", CultureInfo.InvariantCulture);
    }
}
