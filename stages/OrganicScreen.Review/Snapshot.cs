using System.Text.Json.Nodes;

namespace OrganicScreen.Review;

/// <summary>One candidate as its table lists it; <paramref name="Rank"/> is its 1-based row in the (sorted) table.</summary>
public sealed record CandidateRow(string Role, int Rank, string Id, string CanonicalSmiles, double Potential, double Lower, double Upper);

/// <summary>
/// The numbers a reviewer weighs per target: out-of-fold MAE and R², held-out coverage of the 95 % interval
/// (against its nominal level) and the interval's mean half-width (eV).
/// </summary>
public sealed record TargetSummary(string Target, int Count, double Mae, double R2, double Coverage, double NominalCoverage, double IntervalHalfWidth);

/// <summary>A dataset molecule as the results know it: id, canonical SMILES and DFT labels (eV; null when absent).</summary>
public sealed record DatasetRow(string Id, string CanonicalSmiles, double? Ie, double? Ea);

/// <summary>Where a results folder (or an approved snapshot) came from: provenance.json or approved.json.</summary>
public sealed record RunIdentity(
    string? Dataset, string? Variant, string? Profile, IReadOnlyList<string> Overrides, string? DatasetVersion, string? DatasetSha256,
    string? Commit, string? Date, IReadOnlyDictionary<string, string> Keys);

/// <summary>The Screen artifact's key description (its manifest): what settings and code the candidate lists came from.</summary>
public sealed record ScreenDescription(JsonNode? Parameters, IReadOnlyDictionary<string, string> Code, IReadOnlyDictionary<string, string> Tools);

/// <summary>
/// What could be read from one side of a diff. A results folder has everything; an approved snapshot has
/// candidate lists, a metrics summary and approved.json but no predictions.parquet or manifest, so those parts
/// are null and <see cref="Notes"/> says why.
/// </summary>
public sealed record Snapshot(
    string Folder,
    IReadOnlyDictionary<string, IReadOnlyList<CandidateRow>> Candidates,
    IReadOnlyList<TargetSummary>? Metrics,
    IReadOnlyList<DatasetRow>? Dataset,
    RunIdentity? Identity,
    ScreenDescription? Screen,
    IReadOnlyList<string> Notes)
{
    /// <summary>The electrode roles, in the order every rendering lists them.</summary>
    public static IReadOnlyList<string> Roles { get; } = ["cathode", "anode"];

    /// <summary>A side with nothing in it (no approved snapshot yet): everything on the other side is new.</summary>
    public static Snapshot Empty(string folder, string why) =>
        new(folder, Roles.ToDictionary(r => r, _ => (IReadOnlyList<CandidateRow>)[]), [], null, null, null, [why]);
}
