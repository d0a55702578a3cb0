using System.CommandLine;
using OrganicScreen.Core;
using OrganicScreen.Data;

namespace OrganicScreen.Cli;

/// <summary>Builds the command tree and maps failures to messages and exit codes.</summary>
public static class CliHost
{
    /// <summary>Exit code for bad input or a missing file: the message says what to fix.</summary>
    public const int UserError = 1;

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
        try
        {
            var parse = root.Parse(args);
            return await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (IsUserError(e))
        {
            await error.WriteLineAsync($"error: {e.Message}");
            return UserError;
        }
    }

    internal static bool IsUserError(Exception e) =>
        e is DatasetException or FileNotFoundException or DirectoryNotFoundException or FormatException or UnauthorizedAccessException
            or ArgumentException or Chem.InvalidSmilesException;
}

/// <summary>The streams a command writes to (tests pass their own).</summary>
public sealed record CommandContext(TextWriter Output, TextWriter Error)
{
    public IStageLog Log => new ConsoleStageLog(Output, interactive: Output == Console.Out ? null : false);
}

