namespace OrganicScreen.Data.Tests;

/// <summary>Paths of the repository the tests run in (found by walking up to OrganicScreen.sln).</summary>
internal static class Repo
{
    public static string Root { get; } = Core.RepositoryLayout.Locate().Root;

    public static string Fixture(string relative) => Path.Combine(Root, "tests", "fixtures", relative);

    public static DatasetManifest Dataset(string name) => DatasetManifest.Find(Root, name);

    /// <summary>A throwaway dataset manifest pointing at one local file.</summary>
    public static DatasetManifest WithSource(DatasetManifest dataset, string path, string format, string? sha256, IReadOnlyDictionary<string, string>? rename = null) =>
        dataset with { Sources = [new DatasetSource(format, path, null, sha256, "test", rename)] };
}
