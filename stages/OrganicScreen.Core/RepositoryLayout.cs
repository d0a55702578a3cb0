namespace OrganicScreen.Core;

/// <summary>Where things are: the repository (data/, the artifact store) found by walking up to OrganicScreen.sln.</summary>
public sealed record RepositoryLayout(string Root, string? ArtifactsOverride = null)
{
    public string Data => Path.Combine(Root, "data");

    /// <summary><c>artifacts/</c> in the repository unless another store was asked for (tests, scratch runs).</summary>
    public string Artifacts => ArtifactsOverride ?? Path.Combine(Root, "artifacts");

    /// <summary>
    /// The published results of one dataset, variant and profile run: <c>artifacts/results/&lt;dataset&gt;/&lt;variant&gt;/&lt;run&gt;/</c>,
    /// so a variant or an overridden profile never overwrites another's results. Names are checked to be plain
    /// names, so the folder always lies under the artifact store.
    /// </summary>
    public string Results(string dataset, string variant, string run)
    {
        foreach (var part in new[] { dataset, variant, run })
            if (!IsPlainName(part)) throw new ArgumentException($"'{part}' is not a plain name (letters, digits, '-', '_', '+', '.' but not '..')");
        return Path.Combine(Artifacts, "results", dataset, variant, run);
    }

    /// <summary>A name that is safe as one path segment.</summary>
    public static bool IsPlainName(string name) =>
        name.Length is > 0 and <= 128 && name != "." && name != ".." && !name.StartsWith('.')
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '+' or '.');

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
