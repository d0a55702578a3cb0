using System.CommandLine;
using System.Globalization;
using OrganicScreen.Chem;
using OrganicScreen.Chem.Inputs;
using OrganicScreen.Core;
using OrganicScreen.Pipeline;
using OrganicScreen.Screening;
using OrganicScreen.Stages;

namespace OrganicScreen.Cli;

/// <summary>
/// <c>organicscreen screen</c>: screens a user's molecule library of any size with a results folder's model.
/// Molecules stream through prediction and the rules; candidates are written as they are found (input order, with
/// the input's ids and other columns), rejects with their reason, so memory stays bounded. Molecules outside the
/// model's applicability domain are counted and left out of the candidate lists unless --include-out-of-domain.
/// </summary>
public static class LibraryScreenCommand
{
    public const string Rejects = "rejects.csv";

    public static Command Create(CommandContext context)
    {
        var inputs = new InputOptions();
        var model = new Option<DirectoryInfo>("--model", "-m") { Description = "results folder or its model/ folder", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "folder for candidates_cathode.csv, candidates_anode.csv, rejects.csv", Required = true };
        var solvent = new Option<string>("--solvent") { Description = "solvent (data/solvents.json)", DefaultValueFactory = _ => "acetonitrile" };
        var collector = new Option<string?>("--collector") { Description = "current collector (default aluminium; 'none' for no collector limit)" };
        var margin = new Option<MarginPolicy>("--margin") { Description = "IntervalHalfWidth (default), GlobalBand or None", DefaultValueFactory = _ => MarginPolicy.IntervalHalfWidth };
        var minimum = new Option<double>("--cathode-min") { Description = "minimum E_ox for cathodes, V vs Li/Li+", DefaultValueFactory = _ => 3.0 };
        var includeOutside = new Option<bool>("--include-out-of-domain") { Description = "also list candidates outside the model's applicability domain (marked in the domain column)" };
        var libtorch = new Option<string?>("--libtorch") { Description = "directory of an existing libtorch" };
        var root = new Option<string?>("--root") { Description = "repository root (for data/solvents.json)" };
        var command = new Command("screen", "screen a molecule library for electrode candidates") { model, output, solvent, collector, margin, minimum, includeOutside, libtorch, root };
        foreach (var option in inputs.All) command.Options.Add(option);
        var sharding = ShardedScreenOptions.AddTo(command);
        command.SetAction(async (parse, cancellation) =>
        {
            var input = inputs.Path(parse);
            if (sharding.Requested(parse))
                return await sharding.RunAsync(context, parse, new LibraryScreenArguments(parse.GetValue(model)!.FullName, Path.GetFullPath(input), Path.GetFullPath(parse.GetValue(output)!),
                    new(parse.GetValue(solvent)!, (parse.GetValue(collector) ?? "aluminium") is var c && c != "none" ? c : null, parse.GetValue(margin), parse.GetValue(minimum)),
                    parse.GetValue(libtorch), parse.GetValue(root)), cancellation);
            var folder = OutputPaths.Folder(parse.GetValue(output)!, input, [ScreenStage.Cathodes, ScreenStage.Anodes, Rejects]);
            var catalog = SolventCatalog.Load(Path.Combine(RepositoryLayout.Locate(parse.GetValue(root)).Data, "solvents.json"));
            var window = Catalog.Solvent(catalog, parse.GetValue(solvent)!);
            var current = Catalog.Collector(catalog, parse.GetValue(collector) ?? "aluminium");
            var rdkit = new Rdkit();
            using var source = inputs.Open(parse, rdkit);
            using var loaded = ShippedModel.Load(parse.GetValue(model)!.FullName, parse.GetValue(libtorch));
            var rules = new ScreeningRules(window, current, parse.GetValue(margin), parse.GetValue(minimum),
                GlobalBandVolts: parse.GetValue(margin) == MarginPolicy.GlobalBand ? loaded.GlobalBandVolts : 0);
            var screen = new CandidateScreen(rules);
            var keepOutside = parse.GetValue(includeOutside);
            Directory.CreateDirectory(folder);
            var extras = Outputs.Carried(source.CarriedColumns, [.. CandidateCsv.Header, "domain", "similarity"]);
            LibraryScreenTables? result = null;
            await AtomicFile.WriteAsync(Path.Combine(folder, ScreenStage.Cathodes), async cathodeStream =>
            await AtomicFile.WriteAsync(Path.Combine(folder, ScreenStage.Anodes), async anodeStream =>
            await AtomicFile.WriteAsync(Path.Combine(folder, Rejects), async rejectStream =>
            {
                await using var cathodeText = new StreamWriter(cathodeStream, Csv.Utf8);
                await using var anodeText = new StreamWriter(anodeStream, Csv.Utf8);
                await using var rejectText = new StreamWriter(rejectStream, Csv.Utf8);
                using var tables = new LibraryScreenTables(cathodeText, anodeText, rejectText, source.RowLabel, extras, screen, keepOutside);
                using var progress = context.ErrorLog.Progress("screen", source.Length ?? 0, ProgressUnit.Bytes);
                var predictor = loaded.Predictor(LibraryScreenTables.WritesCandidate(screen, keepOutside));
                await foreach (var row in ShippedModel.PredictAsync(predictor, source.Read(cancellation), source.IdOf, cancellation))
                {
                    tables.Add(row, source.RowLabel);
                    if (tables.Records % ShippedModel.BatchSize == 0) progress.Report(source.BytesRead, $"{tables.Records:N0} molecules");
                }

                progress.Report(source.BytesRead, $"{tables.Records:N0} molecules");
                tables.Flush();
                result = tables;
            })));
            var (records, rejected, outside, cathodes, anodes) = (result!.Records, result.Rejected, result.Outside, result.Cathodes, result.Anodes);
            var firstFailure = result.FirstFailure;
            foreach (var warning in source.Warnings) await context.Error.WriteLineAsync($"warning: {warning}");
            await context.Output.WriteLineAsync($"screen: {records:N0} {source.RowLabel}s, {rejected:N0} rejected, {outside:N0} outside the applicability domain " +
                                                $"({(keepOutside ? "kept, marked in the domain column" : "left out; --include-out-of-domain keeps them")}), " +
                                                $"{cathodes:N0} cathode and {anodes:N0} anode candidates in {rules.Solvent.Name} -> {folder}");
            if (records == rejected)
            {
                await context.Error.WriteLineAsync(records == 0
                    ? $"error: {source.Name} holds no molecules"
                    : $"error: none of the {records:N0} {source.RowLabel}s could be predicted (first reason: {firstFailure})");
                return CliHost.AllRowsFailed;
            }

            return 0;
        });
        return command;
    }
}
