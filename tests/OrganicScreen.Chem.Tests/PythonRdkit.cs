using System.Diagnostics;
using System.Text;

namespace OrganicScreen.Chem.Tests;

/// <summary>
/// Python RDKit as an independent oracle: runs a script under an interpreter that imports rdkit of the same
/// version as the shim. Never skips: a missing python3-rdkit fails the test with the reason and the fix.
/// The interpreter is <c>$ORGANICSCREEN_RDKIT_PYTHON</c>, else the first of /usr/bin/python3 (Debian's,
/// where <c>apt-get install python3-rdkit</c> puts it) and python3 on PATH that can import rdkit.
/// </summary>
public static class PythonRdkit
{
    public const string EnvironmentVariable = "ORGANICSCREEN_RDKIT_PYTHON";
    private const string ExpectedVersion = "2022.09.3";

    private static readonly Lazy<(string? Python, string Reason)> Interpreter = new(Find);

    /// <summary>Runs <paramref name="script"/> (stdin is <paramref name="input"/>) and returns its stdout.</summary>
    public static string Run(string script, string input = "", params string[] arguments) =>
        RunWithStderr(script, input, arguments).Stdout;

    /// <summary>Like <see cref="Run"/> but also returns stderr (RDKit logs there).</summary>
    public static (string Stdout, string Stderr) RunWithStderr(string script, string input = "", params string[] arguments)
    {
        var (python, reason) = Interpreter.Value;
        if (python is null) throw new InvalidOperationException(reason);
        var (code, stdout, stderr) = Exec(python, ["-c", script, .. arguments], input);
        if (code != 0) throw new InvalidOperationException($"{python} failed ({code}): {stderr}");
        return (stdout, stderr);
    }

    private static (string? Python, string Reason) Find()
    {
        var tried = new List<string>();
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        string[] candidates = string.IsNullOrWhiteSpace(fromEnvironment) ? ["/usr/bin/python3", "python3"] : [fromEnvironment];
        foreach (var python in candidates)
        {
            try
            {
                var (code, stdout, stderr) = Exec(python, ["-c", "import rdkit; print(rdkit.__version__)"], "");
                var version = stdout.Trim();
                if (code == 0 && version == ExpectedVersion) return (python, "");
                tried.Add(code == 0 ? $"{python}: rdkit {version}, need {ExpectedVersion}" : $"{python}: {stderr.Trim().Split('\n')[^1]}");
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                tried.Add($"{python}: {e.Message}");
            }
        }
        return (null, $"Python RDKit {ExpectedVersion} (the oracle for this test) was not found: {string.Join("; ", tried)}. "
            + $"Install it (Debian: apt-get install python3-rdkit) or set {EnvironmentVariable} to an interpreter that has it.");
    }

    private static (int Code, string Stdout, string Stderr) Exec(string python, IEnumerable<string> arguments, string input)
    {
        var start = new ProcessStartInfo(python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["PYTHONIOENCODING"] = "utf-8";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {python}");
        // Read both pipes concurrently so a chatty stderr cannot dead-lock the child.
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(input);
        process.StandardInput.Close();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{python} did not finish in 2 minutes");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
