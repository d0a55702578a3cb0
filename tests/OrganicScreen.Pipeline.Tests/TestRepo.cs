using OrganicScreen.Core;
using OrganicScreen.Pipeline;

namespace OrganicScreen.Pipeline.Tests;

/// <summary>The repository the tests run in, and pipeline runs over its committed fixtures in private stores.</summary>
internal static class TestRepo
{
    public static string Root { get; } = RepositoryLayout.Locate().Root;

    public static PipelineOptions Options(string store, string profile = "smoke", params string[] overrides) =>
        new("ocelot-fixture", profile, Root: Root, Device: "cpu", Artifacts: store, Overrides: overrides);

    public static string TempFolder(string prefix)
    {
        var path = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    public static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }
}

/// <summary>A log that keeps what it is told, for assertions.</summary>
internal sealed class RecordingLog : IStageLog
{
    private readonly List<string> lines = [];

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (lines) return [.. lines];
        }
    }

    public string Text => string.Join('\n', Lines);

    public void Info(string message)
    {
        lock (lines) lines.Add(message);
    }

    public void Warn(string message)
    {
        lock (lines) lines.Add("warning: " + message);
    }

    public IProgressCounter Progress(string label, long total, ProgressUnit unit = ProgressUnit.Items) => new NoProgress();

    private sealed class NoProgress : IProgressCounter
    {
        public void Report(long done)
        {
        }

        public void Dispose()
        {
        }
    }
}
