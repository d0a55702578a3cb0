using System.CommandLine;
using OrganicScreen.Core;
using OrganicScreen.Pipeline;
using OrganicScreen.Pipeline.Sharding;
using OrganicScreen.Screening;

namespace OrganicScreen.Cli;

/// <summary>The unsharded screen's arguments, handed to the sharded path.</summary>
public sealed record LibraryScreenArguments(string Model, string Input, string Output, LibraryScreenSettings Settings, string? Libtorch, string? Root);

/// <summary>
/// <c>screen --shards N</c> (options added to the <c>screen</c> command) and the commands its executors run:
/// <c>screen-shard</c> (one shard: a Slurm array task), <c>screen-merge</c> (the merge job) and <c>screen-status</c>.
/// Only argument handling and printing live here; the work is <see cref="ShardedScreen"/> and <see cref="SlurmExecutor"/>.
/// </summary>
public sealed class ShardedScreenOptions
{
    /// <summary>Set to a comma-separated list of shard indices to make <c>screen-shard</c> fail on them (tests of resume).</summary>
    public const string FailShardsVariable = "ORGANICSCREEN_FAIL_SHARDS";

    private readonly Option<int?> shards = new("--shards") { Description = "split the library into N line blocks, each a cached artifact; reruns redo only missing shards" };
    private readonly Option<string> executor = new("--executor") { Description = "local (default: shards in parallel on this machine) or slurm (a job array)", DefaultValueFactory = _ => "local" };
    private readonly Option<int> jobs = new("--jobs") { Description = "local executor: shards at once (default: the number of cores)", DefaultValueFactory = _ => Environment.ProcessorCount };
    private readonly Option<string?> artifacts = new("--artifacts") { Description = "artifact store for shard outputs (default: the repository's artifacts/)" };
    private readonly Option<bool> resume = new("--resume") { Description = "continue the screen planned in --output: submit (slurm) or run (local) only failed or missing shards" };
    private readonly SlurmArguments slurmArguments = new("shard task", "the merge job");
    private readonly Option<DirectoryInfo?> prefilter = new("--prefilter") { Description = "fast model (results folder) run first; --model then screens only what its interval could let through" };

    public static ShardedScreenOptions AddTo(Command command)
    {
        var options = new ShardedScreenOptions();
        foreach (var option in new Option[] { options.shards, options.executor, options.jobs, options.artifacts, options.resume, options.prefilter }.Concat(options.slurmArguments.All))
            command.Options.Add(option);
        return options;
    }

    public bool Requested(ParseResult parse) => parse.GetValue(shards) is not null || parse.GetValue(resume) || parse.GetValue(prefilter) is not null;

    public async Task<int> RunAsync(CommandContext context, ParseResult parse, LibraryScreenArguments arguments, CancellationToken cancellation)
    {
        var layout = RepositoryLayout.Locate(arguments.Root);
        var output = Path.GetFullPath(arguments.Output);
        var slurm = parse.GetValue(executor) switch
        {
            "local" => false,
            "slurm" => true,
            var other => throw new ArgumentException($"--executor must be local or slurm, not '{other}'"),
        };
        ShardPlan plan;
        if (parse.GetValue(resume))
        {
            plan = ShardPlan.Load(output);
            var identity = await ModelIdentity.OfAsync(arguments.Model, cancellation);
            var fast = parse.GetValue(prefilter) is { } given ? await ModelIdentity.OfAsync(given.FullName, cancellation) : null;
            if (plan.Library != Path.GetFullPath(arguments.Input) || plan.ModelIdentity != identity || plan.Settings != arguments.Settings || plan.PrefilterIdentity != fast)
                throw new ArgumentException($"{ShardPlan.PathFor(output)} was planned for another library, model or settings; run without --resume to start a new screen");
        }
        else
        {
            var count = parse.GetValue(shards) ?? 1;
            if (count < 1) throw new ArgumentException("--shards must be at least 1");
            // A new plan starts a new history: old submissions and failure notes belong to the old plan.
            foreach (var stale in new[] { Path.Combine(output, ShardPlan.Folder, "slurm"), Path.Combine(output, ShardPlan.Folder, "state") })
                if (Directory.Exists(stale)) Directory.Delete(stale, recursive: true);
            plan = await ShardedScreen.PlanAsync(arguments.Input, arguments.Model, arguments.Settings, count, layout.Root,
                parse.GetValue(artifacts) ?? layout.Artifacts, output, arguments.Libtorch, () => ShippedModel.Load(arguments.Model, arguments.Libtorch).GlobalBandVolts, cancellation,
                parse.GetValue(prefilter)?.FullName);
        }

        var screen = new ShardedScreen(plan, context.Log);
        await context.Output.WriteLineAsync($"screen: {plan.Lines:N0} lines in {plan.Shards.Count} shard{(plan.Shards.Count == 1 ? "" : "s")} (plan {ShardPlan.PathFor(output)}, store {plan.Store})");
        return slurm ? await SubmitAsync(context, parse, screen, cancellation) : await RunLocallyAsync(context, parse, screen, cancellation);
    }

    private async Task<int> RunLocallyAsync(CommandContext context, ParseResult parse, ShardedScreen screen, CancellationToken cancellation)
    {
        var plan = screen.Plan;
        var jobCount = Math.Max(1, parse.GetValue(jobs));
        int built = 0, cached = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            await screen.RunLocalAsync(jobCount, screen.LoadPredictor, (shard, artifact) =>
            {
                if (artifact.FromCache) Interlocked.Increment(ref cached);
                else Interlocked.Increment(ref built);
                context.Log.Info($"shard {shard.Index} (lines {shard.FirstLine + 1}-{shard.FirstLine + shard.Lines}): {(artifact.FromCache ? "cached" : "built")} {artifact.Manifest.Stage}/{artifact.Key[..16]}");
            }, cancellation);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            // Finished shards are in the store; the one in progress left only a tmp folder that nothing trusts.
            await context.Error.WriteLineAsync($"screen: cancelled after {built + cached} of {plan.Shards.Count} shards; the same command with --resume continues");
            return 130;
        }

        var totals = await screen.MergeAsync(cancellation);
        var seconds = clock.Elapsed.TotalSeconds;
        await context.Output.WriteLineAsync($"screen: {totals.Lines:N0} lines, {totals.Rejected:N0} rejected, {totals.Cathodes:N0} cathode and {totals.Anodes:N0} anode candidates in {screen.Rules.Solvent.Name} -> {plan.Output}");
        if (plan.Prefilter is not null) await context.Output.WriteLineAsync($"screen: the prefilter ruled out {totals.Prefiltered:N0} of {totals.Lines - totals.Rejected:N0} valid molecules; the accurate model screened {totals.Lines - totals.Rejected - totals.Prefiltered:N0}");
        await context.Output.WriteLineAsync($"screen: {plan.Shards.Count} shards ({built} built, {cached} cached) on {Math.Min(jobCount, plan.Shards.Count)} local workers in {seconds:F1} s");
        return 0;
    }

    private async Task<int> SubmitAsync(CommandContext context, ParseResult parse, ShardedScreen screen, CancellationToken cancellation)
    {
        var plan = screen.Plan;
        var options = slurmArguments.Read(parse);
        var status = await ScreenStatusReader.ReadAsync(screen, cancellation);
        var toRun = status.ToRun;
        var submission = await new SlurmExecutor(plan, options).SubmitAsync(toRun, cancellation);
        await context.Output.WriteLineAsync(submission.ArrayJob is null
            ? $"screen: every shard is done; merge job {submission.MergeJob} submitted"
            : $"screen: submitted array job {submission.ArrayJob} (tasks {SlurmExecutor.ArraySpec(toRun)} of 0-{plan.Shards.Count - 1}; {status.Count(ShardState.Done)} done, {status.Count(ShardState.Queued)} still queued) and merge job {submission.MergeJob} (afterok:{submission.ArrayJob})");
        await context.Output.WriteLineAsync($"screen: follow with: organicscreen screen-status {plan.Output}; after a failure: the same command with --resume");
        if (!slurmArguments.Wait(parse)) return 0;

        await SlurmQueue.WaitAsync([submission.ArrayJob, submission.MergeJob], cancellation);

        var final = await ScreenStatusReader.ReadAsync(screen, cancellation);
        await PrintStatusAsync(context, plan, final);
        return final.Count(ShardState.Done) == plan.Shards.Count && File.Exists(Path.Combine(plan.Output, ShardedScreen.Cathodes)) ? 0 : 1;
    }

    internal static async Task PrintStatusAsync(CommandContext context, ShardPlan plan, ScreenStatus status)
    {
        await context.Output.WriteLineAsync($"screen-status: {plan.Shards.Count} shards of {plan.Library} ({plan.Lines:N0} lines): {status.Count(ShardState.Done)} done, {status.Count(ShardState.Queued)} queued or running, {status.Count(ShardState.Failed)} failed, {status.Count(ShardState.Missing)} not run");
        foreach (var shard in status.Shards)
            await context.Output.WriteLineAsync($"  shard {shard.Shard.Index,4}  lines {shard.Shard.FirstLine + 1}-{shard.Shard.FirstLine + shard.Shard.Lines}  {shard.State.ToString().ToLowerInvariant(),-7}  {shard.Detail}");
        if (status.Merge is not null) await context.Output.WriteLineAsync($"  merge: {status.Merge}");
        var merged = File.Exists(Path.Combine(plan.Output, ShardedScreen.Cathodes)) && status.Count(ShardState.Done) == plan.Shards.Count;
        await context.Output.WriteLineAsync(merged ? $"  candidates: {plan.Output}" : "  candidates: not merged yet");
    }
}

/// <summary>The options of a submission to Slurm, shared by <c>screen --executor slurm</c> and <c>stage … --executor slurm</c>.</summary>
public sealed class SlurmArguments
{
    private readonly Option<string?> partition = new("--partition") { Description = "slurm: partition" };
    private readonly Option<string?> time;
    private readonly Option<string?> memory;
    private readonly Option<int?> cpus;
    private readonly Option<string[]> sbatch = new("--sbatch-option") { Description = "slurm: extra sbatch option (repeatable), e.g. --sbatch-option=--account=chem", AllowMultipleArgumentsPerToken = false };
    private readonly Option<string?> launcher = new("--launcher") { Description = "slurm: command that runs organicscreen on the nodes (default: this program)" };
    private readonly Option<bool> wait;

    /// <param name="task">What one array task is ("shard task", "fold task").</param>
    /// <param name="last">The job that depends on the array ("the merge job").</param>
    public SlurmArguments(string task, string last)
    {
        time = new("--time") { Description = $"slurm: time limit per {task}, e.g. 01:00:00" };
        memory = new("--mem") { Description = $"slurm: memory per {task}, e.g. 4G" };
        cpus = new("--cpus-per-task") { Description = $"slurm: CPUs per {task}" };
        wait = new("--wait") { Description = $"slurm: wait until {last} has finished" };
    }

    public IEnumerable<Option> All => [partition, time, memory, cpus, sbatch, launcher, wait];

    public SlurmOptions Read(ParseResult parse) => new(parse.GetValue(partition), parse.GetValue(time), parse.GetValue(memory), parse.GetValue(cpus),
        parse.GetValue(sbatch) ?? [], OrganicScreenProcess.Launcher(parse.GetValue(launcher)));

    public bool Wait(ParseResult parse) => parse.GetValue(wait);
}

/// <summary><c>screen-shard</c>, <c>screen-merge</c>, <c>screen-status</c>.</summary>
public static class ShardCommands
{
    public static IEnumerable<Command> Create(CommandContext context)
    {
        var plan = new Option<FileInfo>("--plan") { Description = "shards/plan.json of a sharded screen", Required = true };
        var index = new Option<int>("--index") { Description = "shard index (a Slurm array task id)", Required = true };
        var shard = new Command("screen-shard", "screen one shard of a planned screen (what a Slurm array task runs)") { plan, index };
        shard.SetAction(async (parse, cancellation) =>
        {
            var loaded = ShardPlan.Load(parse.GetValue(plan)!.FullName);
            var screen = new ShardedScreen(loaded, context.Log);
            var range = screen.Shard(parse.GetValue(index));
            var failOn = (Environment.GetEnvironmentVariable(ShardedScreenOptions.FailShardsVariable) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (failOn.Contains(range.Index.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            {
                var message = $"shard {range.Index} failed on purpose ({ShardedScreenOptions.FailShardsVariable}={string.Join(',', failOn)})";
                ShardMarkers.Failed(loaded, range.Index, message);
                await context.Error.WriteLineAsync($"error: {message}");
                return 2;
            }

            var artifact = await screen.RunShardAsync(range, screen.LoadPredictor, cancellation);
            var totals = ScreenTotals.FromJson(artifact.Manifest.Summary);
            await context.Output.WriteLineAsync($"screen-shard {range.Index}: {(artifact.FromCache ? "cached" : "built")} {artifact.Directory}: {totals.Lines:N0} lines, {totals.Cathodes:N0} cathode and {totals.Anodes:N0} anode candidates");
            return 0;
        });

        var mergePlan = new Option<FileInfo>("--plan") { Description = "shards/plan.json of a sharded screen", Required = true };
        var merge = new Command("screen-merge", "merge the shards of a sharded screen into its output folder (what the Slurm merge job runs)") { mergePlan };
        merge.SetAction(async (parse, cancellation) =>
        {
            var screen = new ShardedScreen(ShardPlan.Load(parse.GetValue(mergePlan)!.FullName), context.Log);
            var totals = await screen.MergeAsync(cancellation);
            await context.Output.WriteLineAsync($"screen: {totals.Lines:N0} lines, {totals.Rejected:N0} rejected, {totals.Cathodes:N0} cathode and {totals.Anodes:N0} anode candidates in {screen.Rules.Solvent.Name} -> {screen.Plan.Output}");
            return 0;
        });

        var folder = new Argument<DirectoryInfo>("output") { Description = "the --output folder of a sharded screen" };
        var status = new Command("screen-status", "shards of a sharded screen: done, queued or running, failed, not run") { folder };
        status.SetAction(async (parse, cancellation) =>
        {
            var loaded = ShardPlan.Load(parse.GetValue(folder)!.FullName);
            var screen = new ShardedScreen(loaded, new MemoryStageLog());
            await ShardedScreenOptions.PrintStatusAsync(context, loaded, await ScreenStatusReader.ReadAsync(screen, cancellation));
            return 0;
        });
        return [shard, merge, status];
    }
}
