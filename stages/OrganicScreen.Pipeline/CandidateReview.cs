using OrganicScreen.Review;

namespace OrganicScreen.Pipeline;

/// <param name="Tolerance">0: exact (CPU runs are byte-reproducible). Positive (volts) only for GPU or other-thread-count runs; see <see cref="DiffOptions"/>.</param>
/// <param name="Approve">Replace the approved snapshot with this run's results (after writing the diff that says what changes).</param>
/// <param name="ApprovedRoot">Where approved snapshots live; default <c>data/approved</c> of the repository.</param>
public sealed record ReviewRequest(double Tolerance = 0, bool Approve = false, string? ApprovedRoot = null);

/// <param name="Diff">Approved snapshot → this run.</param>
/// <param name="Approved">The approved snapshot folder.</param>
/// <param name="Folder">Where review.md, review.html and review.json were written.</param>
/// <param name="Approval">What --approve did to each approved file; empty without --approve.</param>
public sealed record ReviewOutcome(ResultsDiff Diff, string Results, string Approved, string Folder, IReadOnlyList<ApprovedSnapshot.FileChange> Approval);

/// <summary>
/// <c>organicscreen review</c>: runs Screen (cached where possible), diffs its results folder against the
/// approved snapshot <c>data/approved/&lt;dataset&gt;/&lt;variant&gt;/&lt;profile&gt;/</c>, writes the diff under
/// <c>artifacts/review/&lt;dataset&gt;/&lt;variant&gt;/&lt;profile&gt;/</c>, and with <c>--approve</c> replaces the snapshot.
/// </summary>
public static class CandidateReview
{
    public const string Markdown = "review.md";
    public const string Html = "review.html";
    public const string Json = "review.json";

    public static string ApprovedFolder(PipelineRun run, string? approvedRoot = null) =>
        Path.Combine(approvedRoot is null ? Path.Combine(run.Layout.Data, "approved") : Path.GetFullPath(approvedRoot), run.Dataset.Name, run.Variant, run.Profile.RunName);

    public static string ReviewFolder(PipelineRun run) => Path.Combine(run.Layout.Artifacts, "review", run.Dataset.Name, run.Variant, run.Profile.RunName);

    public static async Task<ReviewOutcome> RunAsync(PipelineRun run, ReviewRequest request, CancellationToken cancellation)
    {
        var results = await run.ScreenAsync(cancellation);
        var approved = ApprovedFolder(run, request.ApprovedRoot);
        // The store still holds the approved run's artifacts on the machine that approved it (its predictions then
        // give row-level dataset changes); on a fresh clone the approved side is the committed files alone.
        var old = Directory.Exists(approved)
            ? await SnapshotReader.ReadAsync(approved, run.Store.Root, cancellation)
            : Snapshot.Empty(approved, $"no approved snapshot at {approved} yet: review with --approve to create it");
        var now = await SnapshotReader.ReadAsync(results, run.Store.Root, cancellation);
        var diff = await ResultsDiffer.CompareAsync(old, now, new DiffOptions(request.Tolerance, run.Store.Root, "approved", "this run"), cancellation);
        var folder = ReviewFolder(run);
        var draw = StructureDrawer.Create(new Chem.Rdkit());
        await DiffFiles.WriteAsync(diff, Path.Combine(folder, Markdown), Path.Combine(folder, Html), Path.Combine(folder, Json), draw, cancellation);
        var approval = request.Approve ? await ApprovedSnapshot.ApproveAsync(results, approved, cancellation) : [];
        return new ReviewOutcome(diff, results, approved, folder, approval);
    }
}
