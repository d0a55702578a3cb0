using System.Diagnostics;
using System.Text;

namespace OrganicScreen.Cli.Tests;

/// <summary>The built CLI as a child process: for standard input/output and signals, which an in-process call cannot show.</summary>
internal static class CliProcess
{
    /// <summary>organicscreen.dll of this build (the CLI project's output, same configuration as the tests).</summary>
    public static string Dll { get; } = Locate();

    private static string Locate()
    {
        var here = Path.Combine(AppContext.BaseDirectory, "organicscreen.dll");
        if (File.Exists(here) && File.Exists(Path.Combine(AppContext.BaseDirectory, "organicscreen.runtimeconfig.json"))) return here;
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // .../bin/<Configuration>/net10.0/
        var root = Core.RepositoryLayout.Locate().Root;
        var built = Path.Combine(root, "stages", "OrganicScreen.Cli", "bin", configuration, "net10.0", "organicscreen.dll");
        return File.Exists(built) ? built : throw new FileNotFoundException($"the built CLI is not at {here} or {built}");
    }

    public static Process Start(IEnumerable<string> args, bool redirectInput = false)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectInput,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add(Dll);
        foreach (var arg in args) info.ArgumentList.Add(arg);
        info.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        return Process.Start(info)!;
    }

    /// <summary>Runs to the end; <paramref name="stdin"/> is written to standard input and closed.</summary>
    public static async Task<(int Exit, string Output, string Error)> RunAsync(IEnumerable<string> args, byte[]? stdin = null, int timeoutSeconds = 300)
    {
        using var process = Start(args, redirectInput: stdin is not null);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.BaseStream.WriteAsync(stdin);
            process.StandardInput.Close();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    /// <summary>Sends a POSIX signal by name (INT, TERM) with kill(1).</summary>
    public static void Signal(Process process, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        kill.WaitForExit();
    }
}
