using System.Diagnostics;
using Spectre.Console;

namespace OrganicScreen.Core;

/// <summary>Where stages report. Kept tiny so library code never decides how output looks.</summary>
public interface IStageLog
{
    void Info(string message);

    void Warn(string message);

    /// <summary>A counter for a long step; dispose it when the step ends.</summary>
    IProgressCounter Progress(string task, long total);
}

public interface IProgressCounter : IDisposable
{
    void Report(long done);
}

/// <summary>
/// Console log: a live, overwritten progress line on a terminal, and plain throttled lines when
/// output is redirected (CI logs and files must not fill with control characters).
/// </summary>
public sealed class ConsoleStageLog(TextWriter? writer = null, bool? interactive = null) : IStageLog
{
    private readonly TextWriter output = writer ?? Console.Out;
    private readonly bool live = interactive ?? (!Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Ansi);
    private readonly Lock gate = new();

    public void Info(string message) => Write(message, "grey");

    public void Warn(string message) => Write($"warning: {message}", "yellow");

    public IProgressCounter Progress(string task, long total) => new Counter(this, task, total);

    private void Write(string message, string colour)
    {
        lock (gate)
        {
            if (live) AnsiConsole.MarkupLine($"[{colour}]{Markup.Escape(message)}[/]");
            else output.WriteLine(message);
        }
    }

    private sealed class Counter(ConsoleStageLog log, string task, long total) : IProgressCounter
    {
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private TimeSpan? lastPrinted;
        private long last;
        private long printed = -1;

        public void Report(long done)
        {
            last = done;
            // Plain lines every 5 s keep CI logs short; a terminal line can refresh 10x a second.
            var interval = log.live ? TimeSpan.FromMilliseconds(100) : TimeSpan.FromSeconds(5);
            if (lastPrinted is { } previous && clock.Elapsed - previous < interval && done < total) return;
            lastPrinted = clock.Elapsed;
            Print(done, final: false);
        }

        public void Dispose()
        {
            // A redirected log already has the last count as a plain line; a live one needs its newline.
            if (log.live || printed != last) Print(last, final: true);
        }

        private void Print(long done, bool final)
        {
            var percent = total > 0 ? 100.0 * done / total : 100;
            var rate = clock.Elapsed.TotalSeconds > 0 ? done / clock.Elapsed.TotalSeconds : 0;
            printed = done;
            var text = $"{task}: {done:N0}/{total:N0} ({percent:F0} %, {rate:N0}/s)";
            lock (log.gate)
            {
                if (!log.live) log.output.WriteLine(text);
                else if (final) AnsiConsole.MarkupLine($"\r[grey]{Markup.Escape(text)}[/]\u001b[K");
                else AnsiConsole.Markup($"\r[blue]{Markup.Escape(text)}[/]\u001b[K");
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

    public IProgressCounter Progress(string task, long total) => new NoCounter();

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
