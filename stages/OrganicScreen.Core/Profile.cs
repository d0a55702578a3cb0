using System.Text.Json;
using System.Text.Json.Nodes;

namespace OrganicScreen.Core;

/// <summary>
/// A named run configuration (<c>data/profiles/&lt;name&gt;.json</c>): profiles are data, not
/// branches in code. Stage-specific sections stay JSON here and are read by the stage that owns them.
/// </summary>
public sealed record Profile(
    string Name,
    string Description,
    string Model,
    int Seed,
    IReadOnlyList<string> Fingerprints,
    JsonObject Sweep,
    JsonObject Train,
    JsonObject? Screen)
{
    public IReadOnlyList<FingerprintSpec> FingerprintSpecs => Fingerprints.Select(ParseSpec).ToList();

    public static FingerprintSpec ParseSpec(string name)
    {
        var parts = name.TrimStart('r').Split('_');
        return parts.Length == 2 && int.TryParse(parts[0], out var radius) && int.TryParse(parts[1], out var bits)
            ? new FingerprintSpec(radius, bits)
            : throw new FormatException($"fingerprint '{name}' is not of the form r<radius>_<bits> (e.g. r2_2048)");
    }

    public static Profile Find(string repositoryRoot, string name)
    {
        var folder = Path.Combine(repositoryRoot, "data", "profiles");
        var path = Path.Combine(folder, $"{name}.json");
        if (!File.Exists(path))
        {
            var known = Directory.Exists(folder) ? Directory.EnumerateFiles(folder, "*.json").Select(Path.GetFileNameWithoutExtension).Order().ToList() : [];
            throw new FileNotFoundException($"unknown profile '{name}' (known: {string.Join(", ", known)})");
        }

        var profile = JsonSerializer.Deserialize<Profile>(File.ReadAllText(path), Json.Options)
            ?? throw new FormatException($"{path} is empty");
        if (profile.Name != name) throw new FormatException($"{path} names itself '{profile.Name}'");
        _ = profile.FingerprintSpecs;
        return profile;
    }
}

/// <summary>Where things are: the repository (data/, the artifact store) found by walking up to OrganicScreen.sln.</summary>
public sealed record RepositoryLayout(string Root, string? ArtifactsOverride = null)
{
    public string Data => Path.Combine(Root, "data");

    /// <summary><c>artifacts/</c> in the repository unless another store was asked for (tests, scratch runs).</summary>
    public string Artifacts => ArtifactsOverride ?? Path.Combine(Root, "artifacts");

    public string Results(string dataset, string profile) => Path.Combine(Artifacts, "results", dataset, profile);

    public static RepositoryLayout Locate(string? explicitRoot = null)
    {
        if (explicitRoot is not null) return new RepositoryLayout(Path.GetFullPath(explicitRoot));
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "OrganicScreen.sln"))) return new RepositoryLayout(dir.FullName);
        }

        throw new DirectoryNotFoundException("cannot find the OrganicScreen repository (OrganicScreen.sln) above the current or program directory; pass --root");
    }
}
