using System.CommandLine;
using OrganicScreen.Pipeline;
using OrganicScreen.Stages;
using OrganicScreen.Core;
using OrganicScreen.Screening;

namespace OrganicScreen.Cli;

/// <summary>
/// <c>organicscreen screen</c>: screens a user's SMILES library of any size with a results folder's
/// model. Molecules stream through prediction and the rules; candidates are written as they are
/// found (input order, ids are line numbers) and rejects with their reason, so memory stays bounded.
/// </summary>
public static class LibraryScreenCommand
{
    public static Command Create(CommandContext context)
    {
        var model = new Option<DirectoryInfo>("--model", "-m") { Description = "results folder or its model/ folder", Required = true };
        var input = new Option<FileInfo>("--input", "-i") { Description = "SMILES library, one per line", Required = true };
        var output = new Option<DirectoryInfo>("--output", "-o") { Description = "folder for candidates_cathode.csv, candidates_anode.csv, rejects.csv", Required = true };
        var solvent = new Option<string>("--solvent") { Description = "solvent (data/solvents.json)", DefaultValueFactory = _ => "acetonitrile" };
        var collector = new Option<string?>("--collector") { Description = "current collector (default aluminium; 'none' for no collector limit)" };
        var margin = new Option<MarginPolicy>("--margin") { Description = "IntervalHalfWidth (default), GlobalBand or None", DefaultValueFactory = _ => MarginPolicy.IntervalHalfWidth };
        var minimum = new Option<double>("--cathode-min") { Description = "minimum E_ox for cathodes, V vs Li/Li+", DefaultValueFactory = _ => 3.0 };
        var libtorch = new Option<string?>("--libtorch") { Description = "directory of an existing libtorch" };
        var root = new Option<string?>("--root") { Description = "repository root (for data/solvents.json)" };
        var command = new Command("screen", "screen a SMILES library for electrode candidates") { model, input, output, solvent, collector, margin, minimum, libtorch, root };
        var sharding = ShardedScreenOptions.AddTo(command);
        command.SetAction(async (parse, cancellation) =>
        {
            if (sharding.Requested(parse))
                return await sharding.RunAsync(context, parse, new LibraryScreenArguments(parse.GetValue(model)!.FullName, parse.GetValue(input)!.FullName, parse.GetValue(output)!.FullName,
                    new(parse.GetValue(solvent)!, (parse.GetValue(collector) ?? "aluminium") is var c && c != "none" ? c : null, parse.GetValue(margin), parse.GetValue(minimum)),
                    parse.GetValue(libtorch), parse.GetValue(root)), cancellation);
            var source = parse.GetValue(input)!;
            if (!source.Exists) throw new FileNotFoundException($"input file not found: {source.FullName}");
            var loaded = ShippedModel.Load(parse.GetValue(model)!.FullName, parse.GetValue(libtorch));
            var catalog = SolventCatalog.Load(Path.Combine(RepositoryLayout.Locate(parse.GetValue(root)).Data, "solvents.json"));
            var collectorName = parse.GetValue(collector) ?? "aluminium";
            var rules = new ScreeningRules(catalog.Solvent(parse.GetValue(solvent)!), collectorName == "none" ? null : catalog.Collector(collectorName),
                parse.GetValue(margin), parse.GetValue(minimum), GlobalBandVolts: parse.GetValue(margin) == MarginPolicy.GlobalBand ? loaded.GlobalBandVolts : 0);
            var screen = new CandidateScreen(rules);
            var folder = parse.GetValue(output)!.FullName;
            Directory.CreateDirectory(folder);
            int lines = 0, rejected = 0, cathodes = 0, anodes = 0;
            var cathodePath = Path.Combine(folder, ScreenStage.Cathodes);
            var anodePath = Path.Combine(folder, ScreenStage.Anodes);
            await AtomicFile.WriteAsync(cathodePath, async cathodeStream =>
            await AtomicFile.WriteAsync(anodePath, async anodeStream =>
            await AtomicFile.WriteAsync(Path.Combine(folder, "rejects.csv"), async rejectStream =>
            {
                await using var cathodeWriter = new StreamWriter(cathodeStream);
                await using var anodeWriter = new StreamWriter(anodeStream);
                await using var rejectWriter = new StreamWriter(rejectStream);
                CandidateCsv.Write(cathodeWriter, []);
                CandidateCsv.Write(anodeWriter, []);
                await rejectWriter.WriteAsync("line,input,reason\n");
                await foreach (var row in loaded.PredictAsync(source.FullName, cancellation))
                {
                    lines++;
                    if (row.Prediction is null)
                    {
                        rejected++;
                        await rejectWriter.WriteAsync($"{lines},{Core.Csv.Escape(row.Input)},{Core.Csv.Escape(row.Status)}\n");
                        continue;
                    }

                    foreach (var candidate in screen.Screen([row.Prediction]))
                    {
                        var writer = candidate.Role == ElectrodeRole.Cathode ? cathodeWriter : anodeWriter;
                        if (candidate.Role == ElectrodeRole.Cathode) cathodes++;
                        else anodes++;
                        await writer.WriteAsync(CandidateCsv.ToCsv([candidate]).Split('\n', 2)[1]);
                    }
                }
            })));
            await context.Output.WriteLineAsync($"screen: {lines:N0} lines, {rejected:N0} rejected, {cathodes:N0} cathode and {anodes:N0} anode candidates in {rules.Solvent.Name} -> {folder}");
            return 0;
        });
        return command;
    }
}
