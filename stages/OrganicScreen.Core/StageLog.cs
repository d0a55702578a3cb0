using System.Diagnostics;
using System.Globalization;
using System.Text;
using Spectre.Console;

namespace OrganicScreen.Core;

/// <summary>Where stages report. Kept tiny so library code never decides how output looks.</summary>
public interface IStageLog
{
    void Info(string message);

    void Warn(string message);

    /// <summary>A counter for a long step; dispose it when the step ends. <paramref name="total"/> ≤ 0: unknown (no ETA).</summary>
    IProgressCounter Progress(string task, long total, ProgressUnit unit = ProgressUnit.Items);
}

/// <summary>What a progress counter counts: items (molecules, rows) or bytes of an input (a streamed file).</summary>
public enum ProgressUnit
{
    Items,
    Bytes,
}

public interface IProgressCounter : IDisposable
{
    void Report(long done);

    /// <summary><paramref name="done"/> in the counter's unit, plus a short note shown beside it (e.g. "12,000 molecules").</summary>
    void Report(long done, string? note) => Report(done);
}

/// <summary>
/// Console log: on a terminal a Spectre.Console progress bar with percentage and remaining time, and plain
/// throttled lines (with rate and ETA) when output is redirected, because CI logs and files must not fill with
/// control characters.
/// </summary>
/// <param name="writer">Where plain lines go (default: standard output, or standard error with <paramref name="standardError"/>).</param>
/// <param name="interactive">Force live (true) or plain (false) output; null: live when the stream is a terminal that understands ANSI.</param>
/// <param name="standardError">Report on standard error, e.g. when standard output carries the command's data (<c>--output -</c>).</param>
public sealed class ConsoleStageLog(TextWriter? writer = null, bool? interactive = null, bool standardError = false) : IStageLog
{
    private readonly TextWriter output = writer ?? (standardError ? Console.Error : Console.Out);
    private readonly IAnsiConsole console = standardError ? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) }) : AnsiConsole.Console;
    private readonly bool live = interactive ?? (!(standardError ? Console.IsErrorRedirected : Console.IsOutputRedirected) && AnsiConsole.Profile.Capabilities.Ansi);
    private readonly Lock gate = new();

    public void Info(string message) => Write(message, "grey");

    public void Warn(string message) => Write($"warning: {message}", "yellow");

    public IProgressCounter Progress(string task, long total, ProgressUnit unit = ProgressUnit.Items) =>
        live ? new LiveCounter(console, task, total, unit) : new PlainCounter(this, task, total, unit);

    private void Write(string message, string colour)
    {
        lock (gate)
        {
            if (live) console.MarkupLine($"[{colour}]{Markup.Escape(message)}[/]");
            else output.WriteLine(message);
        }
    }

    /// <summary>"1.5/27.0 MB" or "1,500/27,000"; the total left out when unknown.</summary>
    public static string Amount(long done, long total, ProgressUnit unit) => unit == ProgressUnit.Bytes
        ? total > 0 ? string.Create(CultureInfo.InvariantCulture, $"{done / 1e6:F1}/{total / 1e6:F1} MB") : string.Create(CultureInfo.InvariantCulture, $"{done / 1e6:F1} MB")
        : total > 0 ? string.Create(CultureInfo.InvariantCulture, $"{done:N0}/{total:N0}") : string.Create(CultureInfo.InvariantCulture, $"{done:N0}");

    /// <summary>Remaining time from the rate so far, e.g. "0:42" or "1:02:03"; null while it cannot be estimated.</summary>
    public static string? Eta(long done, long total, TimeSpan elapsed)
    {
        if (total <= 0 || done <= 0 || done >= total || elapsed < TimeSpan.FromMilliseconds(200)) return null;
        var remaining = TimeSpan.FromSeconds(elapsed.TotalSeconds * (total - done) / done);
        return remaining.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)remaining.TotalHours}:{remaining.Minutes:D2}:{remaining.Seconds:D2}")
            : string.Create(CultureInfo.InvariantCulture, $"{remaining.Minutes}:{remaining.Seconds:D2}");
    }

    /// <summary>Redirected output: a plain line at most every 5 s, and the final count.</summary>
    private sealed class PlainCounter(ConsoleStageLog log, string task, long total, ProgressUnit unit) : IProgressCounter
    {
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private TimeSpan? lastPrinted;
        private long last;
        private string? lastNote;
        private long printed = -1;

        public void Report(long done) => Report(done, null);

        public void Report(long done, string? note)
        {
            last = done;
            lastNote = note;
            if (lastPrinted is { } previous && clock.Elapsed - previous < TimeSpan.FromSeconds(5) && (total <= 0 || done < total)) return;
            lastPrinted = clock.Elapsed;
            Print(done);
        }

        public void Dispose()
        {
            if (printed != last) Print(last);
        }

        private void Print(long done)
        {
            printed = done;
            var seconds = clock.Elapsed.TotalSeconds;
            var text = new StringBuilder(task).Append(": ");
            if (total > 0) text.Append(CultureInfo.InvariantCulture, $"{100.0 * Math.Min(done, total) / total:F0} % (").Append(Amount(done, total, unit)).Append(')');
            else text.Append(Amount(done, total, unit));
            if (lastNote is not null) text.Append(", ").Append(lastNote);
            if (unit == ProgressUnit.Items && seconds > 0) text.Append(CultureInfo.InvariantCulture, $", {done / seconds:N0}/s");
            if (Eta(done, total, clock.Elapsed) is { } eta) text.Append(", eta ").Append(eta);
            lock (log.gate) log.output.WriteLine(text.ToString());
        }
    }

    /// <summary>
    /// A terminal: a Spectre.Console progress display (bar, percentage, remaining time) that renders on its own
    /// thread until the counter is disposed.
    /// </summary>
    private sealed class LiveCounter : IProgressCounter
    {
        private readonly TaskCompletionSource<ProgressTask> started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Task display;
        private readonly string task;
        private readonly long total;
        private readonly ProgressUnit unit;

        public LiveCounter(IAnsiConsole console, string task, long total, ProgressUnit unit)
        {
            (this.task, this.total, this.unit) = (task, total, unit);
            display = Task.Run(() => console.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async context =>
                {
                    var bar = context.AddTask(Markup.Escape(task), maxValue: Math.Max(total, 1));
                    bar.IsIndeterminate = total <= 0;
                    started.TrySetResult(bar);
                    await finished.Task;
                    if (total > 0) bar.Value = bar.MaxValue;
                    bar.StopTask();
                }));
        }

        public void Report(long done) => Report(done, null);

        public void Report(long done, string? note)
        {
            if (!started.Task.IsCompleted) return; // the display is still starting; the next report will show
            var bar = started.Task.Result;
            bar.Value = Math.Min(done, Math.Max(total, 1));
            bar.Description = Markup.Escape(note is null ? $"{task} {Amount(done, total, unit)}" : $"{task} {Amount(done, total, unit)}, {note}");
        }

        public void Dispose()
        {
            finished.TrySetResult();
            try
            {
                display.Wait(TimeSpan.FromSeconds(2));
            }
            catch (AggregateException)
            {
                // A display that failed (e.g. the terminal went away) must not fail the step it reported on.
            }
        }
    }
}

/// <summary>Collects messages in memory: for tests and for callers that report elsewhere.</summary>
public sealed class MemoryStageLog : IStageLog
{
    private readonly Lock gate = new();
    private readonly List<string> lines = [];

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (gate) return [.. lines];
        }
    }

    public void Info(string message)
    {
        lock (gate) lines.Add(message);
    }

    public void Warn(string message) => Info($"warning: {message}");

    public IProgressCounter Progress(string task, long total, ProgressUnit unit = ProgressUnit.Items) => new NoCounter();

    private sealed class NoCounter : IProgressCounter
    {
        public void Report(long done)
        {
        }

        public void Dispose()
        {
        }
    }
}
