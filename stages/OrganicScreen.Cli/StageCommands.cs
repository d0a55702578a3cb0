using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using OrganicScreen.Core;
using OrganicScreen.Pipeline;
using OrganicScreen.Pipeline.Sharding;
using OrganicScreen.Stages;

namespace OrganicScreen.Cli;

/// <summary>
/// The pipeline's commands: <c>stage &lt;name&gt;</c> runs one stage (upstream artifacts from the store),
/// <c>status</c> says what is cached and why the rest would run, <c>dag</c> prints the graph (Cake reads it),
/// <c>gc</c> cleans the store. Argument parsing and printing only: the pipeline library does the work.
/// </summary>
public static class StageCommands
{
    internal sealed record PipelineArguments(
        Option<string> Dataset, Option<string> Profile, Option<string?> Variant, Option<string?> Root, Option<string?> Device, Option<string?> Libtorch,
        Option<string?> Artifacts, Option<bool> AllowUnpinned, Option<string[]> Set, Option<string?> RunId, Option<bool> AllowOutsideSources, Option<string?> DatasetVersion)
    {
        public static PipelineArguments Create() => new(
            new Option<string>("--dataset", "-d") { Description = "dataset name (data/datasets/<name>.json, or <artifacts>/datasets/<name>.json made by train); default omead (solution phase, what a solvent-window screen needs)", DefaultValueFactory = _ => "omead" },
            new Option<string>("--profile", "-p") { Description = "profile name (data/profiles/<name>.json)", DefaultValueFactory = _ => "default" },
            new Option<string?>("--variant") { Description = "target variant of the dataset (e.g. adiabatic, vertical)" },
            new Option<string?>("--root") { Description = "repository root (default: found from the current directory)" },
            new Option<string?>("--device") { Description = "auto, cpu or cuda" },
            new Option<string?>("--libtorch") { Description = "directory of an existing libtorch (e.g. a PyTorch install's torch/lib); also ORGANICSCREEN_LIBTORCH" },
            new Option<string?>("--artifacts") { Description = "artifact store folder (default: <root>/artifacts)" },
            new Option<bool>("--allow-unpinned") { Description = "download a source that has no pinned sha256 (prints it for pinning)" },
            new Option<string[]>("--set") { Description = "override a profile value, e.g. --set train.settings.epochs=5 (repeatable; part of the keys)", AllowMultipleArgumentsPerToken = false, DefaultValueFactory = _ => [] },
            new Option<string?>("--run-id") { Description = "shared by the processes of one invocation (Cake passes one) so each artifact is verified once" },
            new Option<bool>("--allow-outside-sources") { Description = "let the dataset manifest read a local file outside the repository, ../shared and the store's datasets/ folder" },
            new Option<string?>("--dataset-version") { Description = "a version the dataset manifest lists (default: the newest; manifests without versions have one set of sources)" });

        public IEnumerable<Option> All => [Dataset, Profile, Variant, Root, Device, Libtorch, Artifacts, AllowUnpinned, Set, RunId, AllowOutsideSources, DatasetVersion];

        public PipelineOptions Read(ParseResult parse) => new(parse.GetValue(Dataset)!, parse.GetValue(Profile)!, parse.GetValue(Variant), parse.GetValue(Root),
            parse.GetValue(Device), parse.GetValue(Libtorch), parse.GetValue(AllowUnpinned), parse.GetValue(Artifacts), parse.GetValue(Set) ?? [], parse.GetValue(RunId),
            parse.GetValue(AllowOutsideSources), parse.GetValue(DatasetVersion));
    }

    public static IEnumerable<Command> Create(CommandContext context)
    {
        var arguments = PipelineArguments.Create();
        var stage = new Command("stage", "run one pipeline stage (upstream stages come from the store, built when missing)");
        foreach (var name in new[] { "fetch", "featurize", "sweep", "train", "infer", "screen" })
        {
            var command = new Command(name, $"the {name} stage");
            foreach (var option in arguments.All) command.Options.Add(option);
            var cluster = name is "train" or "infer" or "screen" ? TrainingExecutorArguments.AddTo(command) : null;
            command.SetAction(async (parse, cancellation) =>
            {
                var options = arguments.Read(parse);
                var run = new PipelineRun(options, context.Log);
                if (cluster is not null && cluster.Requested(parse)) return await cluster.RunAsync(context, parse, name, run, options, cancellation);
                await run.RunAsync(name, cancellation);
                return 0;
            });
            stage.Subcommands.Add(command);
        }

        yield return stage;
        yield return Status(context, arguments);
        yield return Dag(context, arguments);
        yield return Gc(context);
        yield return ReviewCommands.Review(context, PipelineArguments.Create());
        yield return ReviewCommands.Diff(context);
    }

    private static Command Status(CommandContext context, PipelineArguments arguments)
    {
        var json = new Option<bool>("--json") { Description = "machine-readable output" };
        var command = new Command("status", "each stage cached or to-run, and why (the part of its key that differs from the closest cached artifact)") { json };
        foreach (var option in arguments.All) command.Options.Add(option);
        command.SetAction(async (parse, cancellation) =>
        {
            var run = new PipelineRun(arguments.Read(parse), context.Log);
            var statuses = await PipelineStatus.OfAsync(run, cancellation);
            if (parse.GetValue(json))
            {
                await context.Output.WriteLineAsync(JsonSerializer.Serialize(statuses, Json.Options));
                return 0;
            }

            await context.Output.WriteLineAsync($"{run.Dataset.Name} / {run.Variant} / {run.Profile.RunName} ({run.Profile.Model}) -> {Path.GetRelativePath(run.Layout.Root, run.ResultsFolder)}");
            foreach (var s in statuses)
            {
                await context.Output.WriteLineAsync($"  {s.Stage,-10} {(s.Cached ? "cached" : "to-run"),-7} {s.Key[..16]}");
                foreach (var reason in s.Reasons) await context.Output.WriteLineAsync($"             - {reason}");
            }

            return 0;
        });
        return command;
    }

    private static Command Dag(CommandContext context, PipelineArguments arguments)
    {
        var format = new Option<string>("--format") { Description = "text (default) or tsv (name, upstream, description: what the Cake build reads)", DefaultValueFactory = _ => "text" };
        var command = new Command("dag", "the stage graph of a profile") { format };
        foreach (var option in arguments.All) command.Options.Add(option);
        command.SetAction(async (parse, cancellation) =>
        {
            var run = new PipelineRun(arguments.Read(parse), context.Log);
            foreach (var node in run.Graph)
            {
                var line = parse.GetValue(format) == "tsv"
                    ? $"{node.Name}\t{string.Join(',', node.Upstream)}\t{node.Description}"
                    : $"{node.Name,-10} <- {(node.Upstream.Count == 0 ? "(dataset manifest)" : string.Join(", ", node.Upstream)),-28} {node.Description}";
                await context.Output.WriteLineAsync(line);
            }

            return 0;
        });
        return command;
    }

    private static Command Gc(CommandContext context)
    {
        var root = new Option<string?>("--root") { Description = "repository root (default: found from the current directory)" };
        var artifacts = new Option<string?>("--artifacts") { Description = "artifact store folder (default: <root>/artifacts)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "list what would be removed; remove nothing" };
        var keepDays = new Option<double>("--keep-days") { Description = "also keep unreferenced artifacts used within this many days", DefaultValueFactory = _ => 0 };
        var command = new Command("gc", "list artifacts (size, last use) and remove those no results folder references, stale tmp/ folders and free lock files") { root, artifacts, dryRun, keepDays };
        command.SetAction(async (parse, cancellation) =>
        {
            var store = parse.GetValue(artifacts) is { } a ? Path.GetFullPath(a) : RepositoryLayout.Locate(parse.GetValue(root)).Artifacts;
            var report = await GarbageCollector.RunAsync(store, parse.GetValue(dryRun), parse.GetValue(keepDays), context.Log, cancellation);
            foreach (var x in report.Artifacts)
                await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"  {x.Stage,-10} {x.Key[..Math.Min(16, x.Key.Length)],-16} {x.Bytes / 1048576.0,9:F1} MiB  last used {x.LastUsed?.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) ?? "never",-16}  {(x.Referenced ? "referenced" : "unreferenced")}"));
            var verb = parse.GetValue(dryRun) ? "would remove" : "removed";
            foreach (var path in report.Removed) await context.Output.WriteLineAsync($"  {verb} {Path.GetRelativePath(store, path)}");
            await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"gc: {report.Artifacts.Count} artifacts, {verb} {report.Removed.Count} entries ({report.BytesFreed / 1048576.0:F1} MiB)"));
            return 0;
        });
        return command;
    }
}

/// <summary>
/// <c>stage train|infer|screen --executor slurm</c>: Train's folds as a Slurm job array, then the stage
/// (<see cref="SlurmTraining"/>); <c>stage train --fold N</c> is what one array task runs.
/// </summary>
internal sealed class TrainingExecutorArguments
{
    private readonly Option<string> executor = new("--executor") { Description = "local (default: folds here, one after another, or side by side as processes when the profile sets train.foldThreads) or slurm (one array task per training fold, then this stage as a job that depends on them)", DefaultValueFactory = _ => "local" };
    private readonly Option<int?> fold = new("--fold") { Description = "train this cross-validation fold only, into the store (what a Slurm array task runs)" };
    private readonly SlurmArguments slurm = new("fold task", "the stage's job");

    public static TrainingExecutorArguments AddTo(Command command)
    {
        var arguments = new TrainingExecutorArguments();
        foreach (var option in new Option[] { arguments.executor, arguments.fold }.Concat(arguments.slurm.All)) command.Options.Add(option);
        return arguments;
    }

    public bool Requested(ParseResult parse) => parse.GetValue(fold) is not null || parse.GetValue(executor) != "local";

    public async Task<int> RunAsync(CommandContext context, ParseResult parse, string stage, PipelineRun run, PipelineOptions options, CancellationToken cancellation)
    {
        var training = new SlurmTraining(run, options);
        if (parse.GetValue(fold) is { } only)
        {
            if (stage != TrainStage.Name) throw new ArgumentException($"--fold trains one fold of Train: use it with stage train, not {stage}");
            await training.TrainFoldAsync(only, cancellation);
            await context.Output.WriteLineAsync($"train: fold {only} is in the store");
            return 0;
        }

        if (parse.GetValue(executor) != "slurm") throw new ArgumentException($"--executor must be local or slurm, not '{parse.GetValue(executor)}'");
        var (submission, before) = await training.SubmitAsync(stage, slurm.Read(parse), cancellation);
        var folds = before.Count;
        await context.Output.WriteLineAsync(submission.ArrayJob is null
            ? $"train: every fold is in the store or queued; {stage} job {submission.MergeJob} submitted"
            : $"train: submitted array job {submission.ArrayJob} (folds {SlurmBatch.ArraySpec(submission.Shards)} of 0-{folds - 1}; {before.Count(f => f.State == ShardState.Done)} in the store, {before.Count(f => f.State == ShardState.Queued)} still queued) and {stage} job {submission.MergeJob} (afterok:{submission.ArrayJob})");
        await context.Output.WriteLineAsync($"train: scripts and logs in {await training.FolderAsync()}; after a failure: the same command again");
        if (!slurm.Wait(parse)) return 0;

        await SlurmQueue.WaitAsync([submission.ArrayJob, submission.MergeJob], cancellation);
        var after = await training.StatusAsync(cancellation);
        await context.Output.WriteLineAsync($"train: {folds} folds: {after.Count(f => f.State == ShardState.Done)} done, {after.Count(f => f.State == ShardState.Queued)} queued or running, {after.Count(f => f.State == ShardState.Failed)} failed, {after.Count(f => f.State == ShardState.Missing)} not run");
        foreach (var f in after) await context.Output.WriteLineAsync($"  fold {f.Fold}  {f.State.ToString().ToLowerInvariant(),-7}  {f.Detail}");
        var final = await training.FinalJobAsync(cancellation);
        await context.Output.WriteLineAsync($"  {stage}: slurm {final?.Job} {final?.State}");
        return final?.State == "COMPLETED" ? 0 : 1;
    }
}
