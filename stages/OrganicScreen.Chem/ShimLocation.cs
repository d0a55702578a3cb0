using OrganicScreen.Core;

namespace OrganicScreen.Chem;

/// <summary>Where the RDKit shim is loaded from, so stage keys can hash the binary that actually runs.</summary>
public static class ShimLocation
{
    /// <summary>The first existing path in the loader's probe order (application folder first), or null.</summary>
    public static string? Path =>
        new[] { System.IO.Path.Combine(AppContext.BaseDirectory, NativeLibraryLocator.FileName) }
            .Concat(NativeLibraryLocator.Candidates()).FirstOrDefault(File.Exists);

    public const string AssemblyName = "OrganicScreen.Chem";
}

/// <summary>The code of the running program, for stage keys: its assembly folder and the shim it loads.</summary>
public static class RunningCode
{
    public static CodeLocation Location => new(AppContext.BaseDirectory,
        new Dictionary<string, string> { [ShimLocation.AssemblyName] = ShimLocation.Path ?? Path.Combine(AppContext.BaseDirectory, NativeLibraryLocator.FileName) });
}
