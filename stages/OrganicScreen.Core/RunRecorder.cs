using System.Text.Json;
using System.Text.Json.Nodes;

namespace OrganicScreen.Core;

/// <summary>
/// The store's memory of runs, under <c>artifacts/runs/</c>:
/// <list type="bullet">
/// <item><c>runs.jsonl</c>: one JSON line per stage outcome (time, run, stage, key, cached or built, seconds,
/// outputs), appended whole, so readers (<c>gc</c>, people, CI) see when each artifact was last used;</item>
/// <item><c>verified-&lt;run&gt;.txt</c>: keys this run already hashed, so one Cake invocation that starts a process
/// per stage verifies each upstream artifact once, not once per process.</item>
/// </list>
/// </summary>
public sealed class RunRecorder
{
    public const string Folder = "runs";
    public const string LogFile = "runs.jsonl";

    private readonly string folder;
    private readonly string? runId;
    private readonly HashSet<string> verified = new(StringComparer.Ordinal);
    private readonly Lock gate = new();

    /// <param name="runId">Shared by the processes of one invocation (Cake passes one); null for a single-process run.</param>
    public RunRecorder(string folder, string? runId)
    {
        this.folder = folder;
        this.runId = runId is null ? null : SafeRunId(runId);
        if (this.runId is not null && File.Exists(VerifiedFile))
            foreach (var line in File.ReadLines(VerifiedFile))
                verified.Add(line.Trim());
    }

    public string RunId => runId ?? $"pid{Environment.ProcessId}";

    private string VerifiedFile => Path.Combine(folder, $"verified-{runId}.txt");

    public bool WasVerified(string key)
    {
        lock (gate) return verified.Contains(key);
    }

    public void Verified(Artifact artifact)
    {
        lock (gate)
        {
            if (!verified.Add(artifact.Key) || runId is null) return;
            Directory.CreateDirectory(folder);
            File.AppendAllText(VerifiedFile, artifact.Key + "\n");
        }
    }

    /// <summary>Appends the outcome of one stage. A line is one write of a few hundred bytes in append mode, so concurrent runs do not interleave.</summary>
    public void Record(Artifact artifact, double seconds)
    {
        var line = new JsonObject
        {
            ["time"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
            ["run"] = RunId,
            ["stage"] = artifact.Manifest.Stage,
            ["key"] = artifact.Key,
            ["status"] = artifact.FromCache ? "cached" : "built",
            ["seconds"] = Math.Round(seconds, 3),
            ["outputs"] = new JsonArray(artifact.Manifest.Files.Select(f => (JsonNode?)f.Path).ToArray()),
        }.ToJsonString();
        lock (gate)
        {
            Directory.CreateDirectory(folder);
            using var stream = new FileStream(Path.Combine(folder, LogFile), FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            var bytes = System.Text.Encoding.UTF8.GetBytes(line + "\n");
            stream.Write(bytes);
        }
    }

    /// <summary>The run records in <paramref name="folder"/> (skipping lines that do not parse: a reader never fails on a torn line).</summary>
    public static IReadOnlyList<RunRecord> Read(string folder)
    {
        var path = Path.Combine(folder, LogFile);
        if (!File.Exists(path)) return [];
        var records = new List<RunRecord>();
        foreach (var line in File.ReadLines(path))
        {
            try
            {
                if (JsonSerializer.Deserialize<RunRecord>(line, Json.Options) is { } record) records.Add(record);
            }
            catch (JsonException)
            {
            }
        }

        return records;
    }

    private static string SafeRunId(string id) =>
        id.Length is > 0 and <= 64 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            ? id
            : throw new ArgumentException($"run id '{id}' must be 1–64 letters, digits, '-' or '_'");
}

/// <summary>One line of <c>runs.jsonl</c>.</summary>
public sealed record RunRecord(DateTimeOffset Time, string Run, string Stage, string Key, string Status, double Seconds, IReadOnlyList<string> Outputs);
