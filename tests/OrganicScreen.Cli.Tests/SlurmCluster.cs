using System.Diagnostics;

namespace OrganicScreen.Cli.Tests;

/// <summary>
/// The one-node Slurm cluster the Slurm tests submit to: started with ci/slurm/start.sh when sinfo does not show
/// the node up. A test that needs it and cannot get it fails with the reason; it never skips.
/// </summary>
internal static class SlurmCluster
{
    private static readonly Lazy<string?> Problem = new(Start);

    public static void Ensure()
    {
        if (Problem.Value is { } problem) throw new InvalidOperationException($"this test needs the one-node Slurm cluster: {problem}");
    }

    private static string? Start()
    {
        if (Up()) return null;
        var script = Path.Combine(Core.RepositoryLayout.Locate().Root, "ci", "slurm", "start.sh");
        var (code, output) = Run("bash", script);
        if (code != 0) return $"sinfo shows no idle node and {script} failed ({code}): {output.Trim()}";
        return Up() ? null : $"{script} finished but sinfo still shows no idle node: {Run("sinfo", "--noheader").Output.Trim()}";
    }

    private static bool Up() => Run("sinfo", "--noheader", "--format=%T").Output.Split('\n').Any(s => s.Trim() is "idle" or "mixed" or "allocated" or "completing");

    private static (int Code, string Output) Run(string command, params string[] arguments)
    {
        try
        {
            var start = new ProcessStartInfo(command) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in arguments) start.ArgumentList.Add(argument);
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(5))) process.Kill(entireProcessTree: true);
            return (process.ExitCode, output.Result + error.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (127, $"{command}: {e.Message}");
        }
    }
}
