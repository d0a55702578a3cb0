using OrganicScreen.Core;
using OrganicScreen.Review;

using OrganicScreen.Stages;

namespace OrganicScreen.Pipeline;

/// <summary>A stage's state before a run: cached (a verified artifact has its key) or to-run, and why.</summary>
public sealed record StageStatus(string Stage, string Key, bool Cached, IReadOnlyList<string> Reasons);

/// <summary>
/// <c>organicscreen status</c>, as <c>dvc status</c>: every stage of the DAG is cached or to-run, and a
/// to-run stage is explained by the parts of its key that differ from the closest artifact of that stage
/// in the store (parameters by key path, inputs by upstream stage, code by assembly, tool versions).
/// </summary>
public static class PipelineStatus
{
    public static async Task<IReadOnlyList<StageStatus>> OfAsync(PipelineRun run, CancellationToken cancellation = default)
    {
        var statuses = new List<StageStatus>();
        foreach (var node in run.Graph)
        {
            var request = await run.RequestAsync(node.Name);
            if (await run.Store.TryOpenAsync(request, cancellation) is not null)
            {
                statuses.Add(new StageStatus(node.Name, request.Key, true, []));
                continue;
            }

            var candidates = await run.Store.ListAsync(node.Name, cancellation);
            statuses.Add(new StageStatus(node.Name, request.Key, false, Explain(request, candidates.Select(c => c.Manifest).ToList())));
        }

        return statuses;
    }

    /// <summary>Why <paramref name="request"/> has no verified artifact: the differences to the closest existing one.</summary>
    public static IReadOnlyList<string> Explain(StageRequest request, IReadOnlyList<ArtifactManifest> existing)
    {
        if (existing.Any(m => m.Key == request.Key))
            return [$"artifact {request.ShortKey} exists but is damaged or incomplete (a file is missing or its sha256 differs); it will be rebuilt"];
        if (existing.Count == 0) return ["never built"];
        return existing.Select(m => Differences(request, m)).Where(d => d.Count > 0).OrderBy(d => d.Count).First();
    }

    /// <summary>The parts of the key that differ, in the words the results diff uses too (<see cref="KeyDiff"/>).</summary>
    public static IReadOnlyList<string> Differences(StageRequest request, ArtifactManifest cached) =>
        KeyDiff.Differences(KeyDiff.Parts.Of(cached), new KeyDiff.Parts(request.Parameters, request.Inputs, request.Code, request.ToolVersions));
}
