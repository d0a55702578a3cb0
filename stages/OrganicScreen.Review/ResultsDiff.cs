namespace OrganicScreen.Review;

/// <summary>How to compare: the tolerance, where stage manifests may be found, and what to call the two sides.</summary>
/// <param name="Tolerance">
/// 0 (the default) compares exactly: CPU runs on one machine are byte-reproducible. A positive value (V, and eV
/// for MAE and interval width; the same number bounds R² and coverage as absolute fractions) is only for runs that
/// are not (GPU, another thread count); candidates entering or leaving always count.
/// </param>
/// <param name="Store">An artifact store whose manifests explain changed stage keys, and which may hold what a side lacks.</param>
public sealed record DiffOptions(double Tolerance = 0, string? Store = null, string OldLabel = "old", string NewLabel = "new");

/// <summary>One candidate that entered, left, or stayed with a changed potential, interval or rank (V vs Li/Li+).</summary>
/// <param name="Change"><c>entered</c>, <c>left</c> or <c>changed</c>.</param>
public sealed record CandidateMove(
    string Role, string Change, string Id, string CanonicalSmiles,
    int? OldRank, int? NewRank, double? OldPotential, double? NewPotential,
    double? OldLower, double? OldUpper, double? NewLower, double? NewUpper)
{
    public double? PotentialDelta => NewPotential - OldPotential;

    public int? RankDelta => NewRank - OldRank;
}

/// <summary>Counts per electrode role; null counts mean that side had no table for the role.</summary>
public sealed record RoleSummary(string Role, int? Old, int? New, int Entered, int Left, int Changed);

/// <summary>A metric that moved, with its sign and whether that is better or worse.</summary>
/// <param name="Metric"><c>mae</c>, <c>r2</c>, <c>coverage</c>, <c>interval</c> (mean half-width, eV) or <c>count</c>.</param>
/// <param name="Verdict"><c>better</c>, <c>worse</c>, <c>neutral</c> (no direction is better), <c>added</c> or <c>removed</c>.</param>
public sealed record MetricChange(string Target, string Metric, double? Old, double? New, double? Delta, string Verdict);

/// <summary>A dataset molecule added, removed or relabelled (a DFT IE or EA changed for the same canonical SMILES).</summary>
public sealed record DatasetChange(string Change, string Id, string CanonicalSmiles, string? OldId, double? OldIe, double? NewIe, double? OldEa, double? NewEa);

public sealed record DatasetSummary(int OldRows, int NewRows, int Added, int Removed, int Relabelled);

/// <summary>A settings or code-identity change.</summary>
/// <param name="Counts">
/// True for settings (dataset content or version, profile, overrides, stage parameters): they make the two sides
/// differ. Code identity, tool versions, stage keys, commit and date are reported but do not count on their own:
/// what is approved is the numbers, and a refactor that leaves every number unchanged needs no new approval.
/// </param>
public sealed record SettingChange(string Scope, string Text, bool Counts);

/// <summary>The semantic difference between two results folders (or a results folder and an approved snapshot).</summary>
public sealed record ResultsDiff(
    string Title,
    string Old,
    string New,
    string OldLabel,
    string NewLabel,
    double Tolerance,
    IReadOnlyList<RoleSummary> Roles,
    IReadOnlyList<CandidateMove> Moves,
    IReadOnlyList<MetricChange> Metrics,
    DatasetSummary? Dataset,
    IReadOnlyList<DatasetChange> DatasetChanges,
    IReadOnlyList<SettingChange> Settings,
    IReadOnlyList<string> NotCompared)
{
    /// <summary>At most this many moves in the Markdown (a pull-request comment); HTML and JSON hold more.</summary>
    public const int MarkdownMoves = 50;

    public bool Differs => Moves.Count > 0 || Metrics.Count > 0 || DatasetChanges.Count > 0 || Settings.Any(s => s.Counts)
                           || Roles.Any(r => r.Old != r.New);

    public int Count(string change) => Moves.Count(m => m.Change == change);
}
