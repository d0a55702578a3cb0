using System.CommandLine;
using System.Runtime.InteropServices;
using OrganicScreen.Chem.Inputs;
using OrganicScreen.Core;
using OrganicScreen.Data;
using OrganicScreen.Screening;

namespace OrganicScreen.Cli;

/// <summary>
/// Builds the command tree and maps outcomes to messages and exit codes: user errors are one line
/// <c>error: ...</c> (exit 1), never a stack trace; a run in which no row could be used exits 2; Ctrl-C and SIGTERM
/// cancel between batches (native RDKit and libtorch calls are never interrupted), remove temporary files and exit
/// 130 / 143.
/// </summary>
public static class CliHost
{
    /// <summary>Exit code for bad input, a bad option value, a missing or damaged file: the message says what to fix.</summary>
    public const int UserError = 1;

    /// <summary>Exit code when the command ran but no input row could be used (every row rejected, or no rows).</summary>
    public const int AllRowsFailed = 2;

    /// <summary>Exit code for an unexpected internal failure (a bug: the message and stack trace go to standard error).</summary>
    public const int InternalError = 70;

    /// <summary>Exit codes after SIGINT (Ctrl-C) and SIGTERM: 128 + the signal number, as shells report them.</summary>
    public const int Interrupted = 130;

    public const int Terminated = 143;

    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        output ??= Console.Out;
        error ??= Console.Error;
        var root = new RootCommand("OrganicScreen: learn IE/EA from ECFP fingerprints and screen redox-flow-battery electrode candidates.");
        var context = new CommandContext(output, error);
        root.Subcommands.Add(FingerprintCommand.Create(context));
        foreach (var command in StageCommands.Create(context)) root.Subcommands.Add(command);
        root.Subcommands.Add(BenchCommand.Create(context));
        root.Subcommands.Add(PredictCommand.Create(context));
        root.Subcommands.Add(LibraryScreenCommand.Create(context));
        root.Subcommands.Add(EnumerateCommand.Create(context));
        foreach (var command in ShardCommands.Create(context)) root.Subcommands.Add(command);
        root.Subcommands.Add(TrainCommand.Create(context));
        root.Subcommands.Add(IntervalsCommand.Create(context));

        // Our own signal handling (System.CommandLine's is off): the first Ctrl-C or SIGTERM cancels the token, which
        // commands check between batches; the process then unwinds normally, so temporary files are deleted and no
        // native call is cut off (ending the process inside libtorch or RDKit is what crashed with SIGSEGV).
        // A second signal is not intercepted and ends the process at once.
        using var cancellation = new CancellationTokenSource();
        var exitOnSignal = 0;
        void OnSignal(PosixSignalContext signal, int code)
        {
            if (Interlocked.CompareExchange(ref exitOnSignal, code, 0) != 0) return;
            signal.Cancel = true;
            cancellation.Cancel();
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, s => OnSignal(s, Interrupted));
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, s => OnSignal(s, Terminated));
        try
        {
            var parse = root.Parse(args);
            var exit = await parse.InvokeAsync(new InvocationConfiguration
            {
                Output = output, Error = error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null,
            }, cancellation.Token);
            return exitOnSignal != 0 ? await CancelledAsync(error, exitOnSignal) : exit;
        }
        catch (Exception e) when (exitOnSignal != 0 && (e is OperationCanceledException || e.InnerException is OperationCanceledException))
        {
            return await CancelledAsync(error, exitOnSignal);
        }
        catch (Exception e) when (IsUserError(e))
        {
            await error.WriteLineAsync($"error: {OneLine(e.Message)}");
            return UserError;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            await error.WriteLineAsync($"error: unexpected {e.GetType().Name}: {OneLine(e.Message)} (this is a bug; please report it with the details below)");
            await error.WriteLineAsync(e.ToString());
            return InternalError;
        }
    }

    private static async Task<int> CancelledAsync(TextWriter error, int code)
    {
        await error.WriteLineAsync($"cancelled ({(code == Interrupted ? "SIGINT" : "SIGTERM")}); partial outputs removed");
        return code;
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    internal static bool IsUserError(Exception e) =>
        e is DatasetException or FileNotFoundException or DirectoryNotFoundException or FormatException or UnauthorizedAccessException
            or ArgumentException or Chem.InvalidSmilesException or InputFormatException or UsageException or SolventCatalogException
            or InvalidDataException;
}

/// <summary>The streams a command writes to (tests pass their own).</summary>
public sealed record CommandContext(TextWriter Output, TextWriter Error)
{
    /// <summary>Stage messages and progress on the command's output.</summary>
    public IStageLog Log => new ConsoleStageLog(Output, interactive: Output == Console.Out ? null : false);

    /// <summary>Progress of commands whose data may go to standard output (<c>--output -</c>): on standard error.</summary>
    public IStageLog ErrorLog => new ConsoleStageLog(Error, interactive: Error == Console.Error ? null : false, standardError: true);
}
