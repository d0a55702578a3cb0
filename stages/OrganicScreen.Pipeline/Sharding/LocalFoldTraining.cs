using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using OrganicScreen.Core;
using OrganicScreen.Stages;

namespace OrganicScreen.Pipeline.Sharding;

/// <summary>
/// Train's missing folds as processes side by side on this machine: what <c>train.foldThreads</c> asks for. Each fold
/// runs as <c>organicscreen stage train --fold i</c> (what a Slurm array task runs), whose libtorch uses the profile's
/// thread count, and as many run at once as the cores allow (cores / foldThreads); Train then assembles them from the
/// store. Processes, not threads: libtorch's thread count belongs to the process, and a fold's numbers depend on it.
/// Measured on 2 cores (OCELOT `best`, 25 epochs): a one-thread fold with another beside it ran 16–18 s per epoch, a
/// two-thread fold alone 13–16 s, and the whole Screen took 29.5 instead of about 48 minutes. A failed fold does not stop
/// the others (their work lands in the store); the failures are reported together afterwards, and the same command
/// trains only what is missing.
/// </summary>
/// <param name="launcher">The command that runs organicscreen (<see cref="OrganicScreenProcess.Launcher"/>); tests wrap it.</param>
public sealed class LocalFoldTraining(PipelineRun run, PipelineOptions options, IStageLog log, IReadOnlyList<string> launcher)
{
    /// <summary>Folds at once, instead of cores / foldThreads (e.g. on a machine shared with other work).</summary>
    public const string JobsVariable = "ORGANICSCREEN_FOLD_JOBS";

    /// <summary>Lines of a failed fold's output repeated in the error.</summary>
    private const int TailLines = 12;

    /// <summary>Trains the folds not yet in the store, <paramref name="foldThreads"/> threads each.</summary>
    public async Task RunAsync(int foldThreads, CancellationToken cancellation)
    {
        var done = await run.TrainFoldsDoneAsync(cancellation);
        var missing = Enumerable.Range(0, done.Count).Where(f => !done[f]).ToList();
        if (missing.Count == 0) return;
        if (launcher.Count == 2 && launcher[0].EndsWith("dotnet", StringComparison.Ordinal) && !File.Exists(launcher[1]))
            throw new InvalidOperationException($"train.foldThreads trains folds as organicscreen processes, and there is no {launcher[1]} to start; " +
                                                "run the pipeline through organicscreen, or leave train.foldThreads out");
        var jobs = Jobs(foldThreads, missing.Count);
        var arguments = new List<string> { "stage", TrainStage.Name };
        arguments.AddRange(PipelineCommandLine.Of(options, run.Layout));
        log.Info($"train: {missing.Count} fold{(missing.Count == 1 ? "" : "s")} ({SlurmBatch.ArraySpec(missing)}) as processes of their own, {jobs} at once, {foldThreads} thread{(foldThreads == 1 ? "" : "s")} each");

        var failures = new ConcurrentDictionary<int, string>();
        var running = 0;
        var mostAtOnce = 0;
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(missing, new ParallelOptions { MaxDegreeOfParallelism = jobs, CancellationToken = cancellation }, async (fold, token) =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref mostAtOnce, now);
            try
            {
                if (await RunFoldAsync(arguments, fold, token) is { } failure) failures[fold] = failure;
            }
            finally
            {
                Interlocked.Decrement(ref running);
            }
        });

        var seconds = clock.Elapsed.TotalSeconds;
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"train: fold processes {SlurmBatch.ArraySpec(missing)}: {missing.Count - failures.Count} trained, {failures.Count} failed, in {seconds:F0} s, up to {mostAtOnce} at once"));
        if (!failures.IsEmpty)
            throw new InvalidOperationException($"train: {failures.Count} of {missing.Count} fold processes failed; the others are in the store, and the same command trains only what is missing:\n" +
                                                string.Join('\n', failures.OrderBy(f => f.Key).Select(f => $"  fold {f.Key}: {f.Value}")));
    }

    /// <summary>Folds at once: <see cref="JobsVariable"/> if set, else the cores over the threads per fold; never more than there are folds.</summary>
    public static int Jobs(int foldThreads, int folds)
    {
        var given = Environment.GetEnvironmentVariable(JobsVariable);
        var jobs = string.IsNullOrWhiteSpace(given) ? Environment.ProcessorCount / foldThreads
            : int.TryParse(given, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1 ? n
            : throw new ArgumentException($"{JobsVariable} must be a whole number ≥ 1, not '{given}'");
        return Math.Clamp(jobs, 1, Math.Max(1, folds));
    }

    /// <summary>Runs one fold's process, its output passed on line by line; null on success, else why it failed.</summary>
    private async Task<string?> RunFoldAsync(IReadOnlyList<string> arguments, int fold, CancellationToken cancellation)
    {
        var start = new ProcessStartInfo(launcher[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var word in launcher.Skip(1).Concat(arguments).Append("--fold").Append(fold.ToString(CultureInfo.InvariantCulture))) start.ArgumentList.Add(word);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {launcher[0]}");
        }
        catch (Win32Exception e)
        {
            return $"could not start {string.Join(' ', launcher)} ({e.Message})";
        }

        using (process)
        {
            var tail = new Queue<string>();
            var output = Forward(process.StandardOutput, fold, tail);
            var error = Forward(process.StandardError, fold, tail);
            try
            {
                await process.WaitForExitAsync(cancellation);
            }
            catch (OperationCanceledException)
            {
                await StopAsync(process);
                throw;
            }

            await Task.WhenAll(output, error);
            if (process.ExitCode == 0) return null;
            lock (tail) return $"exit code {process.ExitCode}; its last lines:\n" + string.Join('\n', tail.Select(l => "    " + l));
        }
    }

    /// <summary>
    /// Ctrl-C: asks the fold process to stop as Ctrl-C stops it (SIGTERM: it cancels and removes its partial output), and
    /// kills it if it has not stopped within <see cref="StopGrace"/>; a killed fold leaves a tmp folder in the store, which
    /// nothing trusts and <c>gc</c> removes.
    /// </summary>
    private static async Task StopAsync(Process process)
    {
        try
        {
            if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()) _ = SendSignal(process.Id, SigTerm);
            using var grace = new CancellationTokenSource(StopGrace);
            try
            {
                await process.WaitForExitAsync(grace.Token);
                return;
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // It had exited.
        }

        await process.WaitForExitAsync(CancellationToken.None);
    }

    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);

    private const int SigTerm = 15;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int SendSignal(int pid, int signal);

    private Task Forward(StreamReader reader, int fold, Queue<string> tail) => Task.Run(async () =>
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (tail)
            {
                tail.Enqueue(line);
                if (tail.Count > TailLines) tail.Dequeue();
            }

            log.Info($"  [fold {fold}] {line}");
        }
    });

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current) return;
            current = seen;
        }
    }
}
