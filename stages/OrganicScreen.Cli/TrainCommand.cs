using System.CommandLine;
using System.Globalization;
using OrganicScreen.Core;
using OrganicScreen.Pipeline;
using OrganicScreen.Stages;

namespace OrganicScreen.Cli;

/// <summary>
/// <c>organicscreen train --data-path x.csv ...</c>: the whole pipeline on a user's own file. The file becomes an
/// ad-hoc dataset (a pinned copy and a manifest in the artifact store, <see cref="AdHocDataset"/>), then the pipeline
/// runs up to Screen exactly as for a built-in dataset, so the results folder and its model work with
/// <c>predict</c> and <c>screen</c> unchanged.
/// </summary>
public static class TrainCommand
{
    public static Command Create(CommandContext context)
    {
        var data = new Option<FileInfo>("--data-path") { Description = "CSV (or TSV) with a header: SMILES, IE and EA columns (eV)", Required = true };
        var smiles = new Option<string>("--smiles-column") { Description = "column holding the SMILES", DefaultValueFactory = _ => "smiles" };
        var ie = new Option<string>("--ie-column") { Description = "column holding the ionization energy (eV)", Required = true };
        var ea = new Option<string>("--ea-column") { Description = "column holding the electron affinity (eV)", Required = true };
        var ieSign = new Option<double>("--ie-sign") { Description = "factor bringing the IE column to eV (default 1)", DefaultValueFactory = _ => 1 };
        var eaSign = new Option<double>("--ea-sign") { Description = "factor bringing the EA column to the Materials Project sign, positive when reduction is favourable (-1 for E(anion) - E(neutral), as OCELOT)", DefaultValueFactory = _ => 1 };
        var id = new Option<string?>("--id-column") { Description = "column holding molecule ids (default: 'id' when present, else row numbers)" };
        var name = new Option<string?>("--name") { Description = $"dataset name ({PlainNames.Rule}; default: from the file name)" };
        var phase = new Option<string>("--phase") { Description = "where the energies were computed: gas or solution", DefaultValueFactory = _ => "gas" };
        var phaseSolvent = new Option<string?>("--phase-solvent") { Description = "solvent of solution-phase energies, e.g. acetonitrile" };
        var solvation = new Option<string?>("--solvation-model") { Description = "solvation model of solution-phase energies, e.g. SMD" };
        var profile = new Option<string>("--profile", "-p") { Description = "profile name (data/profiles/<name>.json)", DefaultValueFactory = _ => "default" };
        var device = new Option<string?>("--device") { Description = "auto, cpu or cuda" };
        var libtorch = new Option<string?>("--libtorch") { Description = "directory of an existing libtorch" };
        var artifacts = new Option<string?>("--artifacts") { Description = "artifact store folder (default: <root>/artifacts)" };
        var root = new Option<string?>("--root") { Description = "repository root (default: found from the current directory)" };
        var set = new Option<string[]>("--set") { Description = "override a profile value, e.g. --set train.settings.epochs=5 (repeatable)", DefaultValueFactory = _ => [] };
        var command = new Command("train", "run the whole pipeline (Fetch → Screen) on your own CSV of SMILES, IE and EA")
        {
            data, smiles, ie, ea, ieSign, eaSign, id, name, phase, phaseSolvent, solvation, profile, device, libtorch, artifacts, root, set,
        };
        // --executor slurm: the dataset's folds as a Slurm job array, then the rest of the pipeline as a job after them.
        var cluster = TrainingExecutorArguments.AddTo(command);
        command.SetAction(async (parse, cancellation) =>
        {
            var layout = RepositoryLayout.Locate(parse.GetValue(root)) with { ArtifactsOverride = parse.GetValue(artifacts) is { } a ? Path.GetFullPath(a) : null };
            var profileName = parse.GetValue(profile)!;
            // The profile is checked before anything is copied: a typo fails in a second, not after the copy.
            _ = ProfileDefinition.Find(layout.Root, profileName, parse.GetValue(set) ?? []);
            var dataset = await AdHocDataset.CreateAsync(layout, new AdHocDatasetRequest(
                parse.GetValue(data)!.FullName, parse.GetValue(smiles)!, parse.GetValue(ie)!, parse.GetValue(ea)!, parse.GetValue(ieSign), parse.GetValue(eaSign),
                parse.GetValue(id), parse.GetValue(name), parse.GetValue(phase)!, parse.GetValue(phaseSolvent), parse.GetValue(solvation)), context.Log, cancellation);
            var options = new PipelineOptions(dataset, profileName, AdHocDataset.Variant, layout.Root, parse.GetValue(device), parse.GetValue(libtorch),
                Artifacts: layout.ArtifactsOverride, Overrides: parse.GetValue(set) ?? []);
            var run = new PipelineRun(options, context.Log);
            if (cluster.Requested(parse)) return await cluster.RunAsync(context, parse, ScreenStage.Name, run, options, cancellation);
            var results = await run.ScreenAsync(cancellation);
            await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"train: dataset '{dataset}' -> {results}\n  predict with: organicscreen predict --model {results} --input <molecules> --output <predictions.csv>"));
            return 0;
        });
        return command;
    }
}
