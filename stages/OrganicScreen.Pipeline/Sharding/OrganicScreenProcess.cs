namespace OrganicScreen.Pipeline.Sharding;

/// <summary>The command that runs this very organicscreen in another process: on a Slurm node, or beside this one.</summary>
public static class OrganicScreenProcess
{
    /// <summary><paramref name="given"/> split on spaces; else the apphost, or dotnet with the assembly next to this program.</summary>
    public static IReadOnlyList<string> Launcher(string? given)
    {
        if (!string.IsNullOrWhiteSpace(given)) return given.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var process = Environment.ProcessPath ?? "dotnet";
        var assembly = Path.Combine(AppContext.BaseDirectory, "organicscreen.dll");
        return Path.GetFileNameWithoutExtension(process) == "organicscreen" ? [process]
            : Path.GetFileNameWithoutExtension(process) == "dotnet" ? [process, assembly]
            : ["dotnet", assembly];
    }
}
