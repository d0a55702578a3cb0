namespace OrganicScreen.Screening.Tests;

internal static class TestPaths
{
    /// <summary>Walks up from the test binary to the repository root (the folder holding data/solvents.json).</summary>
    public static string SolventsJson()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "data", "solvents.json");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("data/solvents.json not found above " + AppContext.BaseDirectory);
    }
}
