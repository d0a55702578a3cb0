using System.CommandLine;
using OrganicScreen.Pipeline;
using OrganicScreen.Review;

namespace OrganicScreen.Cli;

/// <summary>
/// <c>diff OLD NEW</c> compares two results folders (or a results folder and an approved snapshot);
/// <c>review</c> runs Screen and compares it with the approved snapshot. Both print the Markdown diff and exit
/// <see cref="Same"/> when nothing differs and <see cref="Differs"/> when something does (1 stays "bad input").
/// </summary>
public static class ReviewCommands
{
    public const int Same = 0;
    public const int Differs = 3;

    private static Option<double> Tolerance() => new("--tolerance")
    {
        Description = "volts (and eV for MAE/interval width; absolute for R² and coverage) below which a change is ignored; only for GPU or other-thread-count runs. Default 0: exact",
        DefaultValueFactory = _ => 0,
    };

    public static Command Diff(CommandContext context)
    {
        var old = new Argument<string>("OLD") { Description = "results folder or approved snapshot (the 'before')" };
        var now = new Argument<string>("NEW") { Description = "results folder or approved snapshot (the 'after')" };
        var markdown = new Option<string?>("--markdown") { Description = "also write the Markdown here" };
        var html = new Option<string?>("--html") { Description = "write the self-contained HTML diff here" };
        var json = new Option<string?>("--json") { Description = "write the JSON diff (every move) here" };
        var artifacts = new Option<string?>("--artifacts") { Description = "artifact store whose manifests explain changed stage keys (default: none)" };
        var tolerance = Tolerance();
        var command = new Command("diff", $"what changed between two results folders: candidates, metrics, dataset rows, settings. Exit {Same}: no difference, {Differs}: they differ")
            { old, now, markdown, html, json, artifacts, tolerance };
        command.SetAction(async (parse, cancellation) =>
        {
            var options = new DiffOptions(parse.GetValue(tolerance), parse.GetValue(artifacts) is { } a ? Path.GetFullPath(a) : null);
            var diff = await ResultsDiffer.CompareFoldersAsync(parse.GetValue(old)!, parse.GetValue(now)!, options, cancellation);
            var draw = parse.GetValue(html) is null ? null : StructureDrawer.Create(new Chem.Rdkit());
            await DiffFiles.WriteAsync(diff, parse.GetValue(markdown), parse.GetValue(html), parse.GetValue(json), draw, cancellation);
            await context.Output.WriteAsync(DiffMarkdown.Render(diff));
            return diff.Differs ? Differs : Same;
        });
        return command;
    }

    internal static Command Review(CommandContext context, StageCommands.PipelineArguments arguments)
    {
        var approve = new Option<bool>("--approve") { Description = "replace the approved snapshot with this run's results and say what changed" };
        var approved = new Option<string?>("--approved") { Description = "folder of approved snapshots (default: <root>/data/approved)" };
        var tolerance = Tolerance();
        var command = new Command("review",
            $"run Screen (cached where possible) and diff it against data/approved/<dataset>/<variant>/<profile>; writes artifacts/review/…; exit {Same}: matches, {Differs}: differs (until approved)")
            { approve, approved, tolerance };
        foreach (var option in arguments.All) command.Options.Add(option);
        command.SetAction(async (parse, cancellation) =>
        {
            var run = new PipelineRun(arguments.Read(parse), context.Log);
            var outcome = await CandidateReview.RunAsync(run, new ReviewRequest(parse.GetValue(tolerance), parse.GetValue(approve), parse.GetValue(approved)), cancellation);
            await context.Output.WriteAsync(DiffMarkdown.Render(outcome.Diff));
            await context.Output.WriteLineAsync($"\nreview: {Path.GetRelativePath(run.Layout.Root, Path.Combine(outcome.Folder, CandidateReview.Markdown))} (and .html, .json)");
            if (outcome.Approval.Count > 0)
            {
                await context.Output.WriteLineAsync($"approved: {Path.GetRelativePath(run.Layout.Root, outcome.Approved)} now holds this run's results");
                foreach (var change in outcome.Approval) await context.Output.WriteLineAsync($"  {change.Change,-9} {change.File}");
                return Same;
            }

            if (outcome.Diff.Differs)
                await context.Output.WriteLineAsync($"review: differs from the approved snapshot; if the change is intended, rerun with --approve (./build.sh --target Review ... --approve=true) and commit {Path.GetRelativePath(run.Layout.Root, outcome.Approved)}");
            return outcome.Diff.Differs ? Differs : Same;
        });
        return command;
    }
}
