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

    /// <summary>
    /// True when this process ignores SIGINT, as everything started with '&amp;' by a non-interactive shell does (POSIX),
    /// and children inherit that: a CLI started from here would never see a Ctrl-C.
    /// </summary>
    private static bool IgnoresInterrupt { get; } = File.Exists("/proc/self/status")
        && File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal)) is { } line
        && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & 0x2) != 0;

    public static Process Start(IEnumerable<string> args, bool redirectInput = false)
    {
        // Under an ignored SIGINT, start the CLI through exec with SIGINT back at its default, so the Ctrl-C tests
        // test the CLI and not how the test run was launched. exec keeps the pid, so signals reach the CLI itself.
        var info = new ProcessStartInfo(IgnoresInterrupt ? "python3" : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectInput,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (IgnoresInterrupt)
            foreach (var arg in new[] { "-c", "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])", "dotnet" })
                info.ArgumentList.Add(arg);
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
