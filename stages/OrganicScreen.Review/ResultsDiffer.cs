using OrganicScreen.Core;

namespace OrganicScreen.Review;

/// <summary>
/// Compares two snapshots: candidates per electrode role keyed by canonical SMILES, metrics per target, dataset
/// rows keyed by canonical SMILES, and settings/code identity from provenance and the Screen manifest.
/// </summary>
public static class ResultsDiffer
{
    /// <summary>A DFT label that moved by more than this (eV) is a relabel; below it is float noise from a round trip.</summary>
    public const double RelabelEpsilon = 1e-9;

    public static async Task<ResultsDiff> CompareFoldersAsync(string oldFolder, string newFolder, DiffOptions? options = null, CancellationToken cancellation = default)
    {
        options ??= new DiffOptions();
        var old = await SnapshotReader.ReadAsync(oldFolder, options.Store, cancellation);
        var now = await SnapshotReader.ReadAsync(newFolder, options.Store, cancellation);
        return await CompareAsync(old, now, options, cancellation);
    }

    public static async Task<ResultsDiff> CompareAsync(Snapshot old, Snapshot now, DiffOptions? options = null, CancellationToken cancellation = default)
    {
        options ??= new DiffOptions();
        if (!(options.Tolerance >= 0 && double.IsFinite(options.Tolerance))) throw new ArgumentException($"tolerance must be a finite number ≥ 0 (volts), not {options.Tolerance}");
        var notCompared = old.Notes.Select(n => $"{options.OldLabel}: {n}").Concat(now.Notes.Select(n => $"{options.NewLabel}: {n}")).ToList();

        var roles = new List<RoleSummary>();
        var moves = new List<CandidateMove>();
        foreach (var role in Snapshot.Roles)
        {
            var a = old.Candidates.GetValueOrDefault(role);
            var b = now.Candidates.GetValueOrDefault(role);
            var mine = a is null || b is null ? [] : Candidates(a, b, options.Tolerance);
            roles.Add(new RoleSummary(role, a?.Count, b?.Count, mine.Count(m => m.Change == "entered"), mine.Count(m => m.Change == "left"), mine.Count(m => m.Change == "changed")));
            moves.AddRange(mine);
        }

        var metrics = old.Metrics is null || now.Metrics is null ? [] : Metrics(old.Metrics, now.Metrics, options.Tolerance);

        DatasetSummary? datasetSummary = null;
        IReadOnlyList<DatasetChange> datasetChanges = [];
        if (old.Dataset is not null && now.Dataset is not null)
        {
            datasetChanges = Dataset(old.Dataset, now.Dataset);
            datasetSummary = new DatasetSummary(old.Dataset.Count, now.Dataset.Count, datasetChanges.Count(c => c.Change == "added"),
                datasetChanges.Count(c => c.Change == "removed"), datasetChanges.Count(c => c.Change == "relabelled"));
        }

        // What a side lacks is in its notes (notCompared); the comparisons below skip it silently.
        var settings = await SettingsAsync(old, now, options, cancellation);
        var title = (now.Identity ?? old.Identity) is { } id ? $"{id.Dataset} / {id.Variant} / {RunName(id)}" : Path.GetFileName(Path.TrimEndingDirectorySeparator(now.Folder));
        return new ResultsDiff(title, old.Folder, now.Folder, options.OldLabel, options.NewLabel, options.Tolerance, roles, Order(moves), metrics,
            datasetSummary, datasetChanges, settings, notCompared);
    }

    private static string RunName(RunIdentity id) => id.Overrides.Count == 0 ? id.Profile ?? "?" : $"{id.Profile} + {string.Join(", ", id.Overrides)}";

    /// <summary>Entered, left, and stayed-but-changed candidates of one role, keyed by canonical SMILES.</summary>
    internal static List<CandidateMove> Candidates(IReadOnlyList<CandidateRow> old, IReadOnlyList<CandidateRow> now, double tolerance)
    {
        var before = Keyed(old, c => c.CanonicalSmiles);
        var after = Keyed(now, c => c.CanonicalSmiles);
        var moves = new List<CandidateMove>();
        foreach (var (key, b) in after)
        {
            if (!before.TryGetValue(key, out var a))
            {
                moves.Add(new CandidateMove(b.Role, "entered", b.Id, b.CanonicalSmiles, null, b.Rank, null, b.Potential, null, null, b.Lower, b.Upper));
                continue;
            }

            var moved = Differs(a.Potential, b.Potential, tolerance) || Differs(a.Lower, b.Lower, tolerance) || Differs(a.Upper, b.Upper, tolerance)
                        // Ranks follow potentials: with a tolerance, a swap of two near-equal potentials is noise too.
                        || (a.Rank != b.Rank && tolerance == 0) || a.Id != b.Id;
            if (moved) moves.Add(new CandidateMove(b.Role, "changed", b.Id, b.CanonicalSmiles, a.Rank, b.Rank, a.Potential, b.Potential, a.Lower, a.Upper, b.Lower, b.Upper));
        }

        foreach (var (key, a) in before)
            if (!after.ContainsKey(key))
                moves.Add(new CandidateMove(a.Role, "left", a.Id, a.CanonicalSmiles, a.Rank, null, a.Potential, null, a.Lower, a.Upper, null, null));
        return moves;
    }

    /// <summary>
    /// Biggest moves first: candidates entering or leaving (by their best rank), then stayed candidates by how far
    /// their potential moved, then by how far their rank moved.
    /// </summary>
    private static List<CandidateMove> Order(List<CandidateMove> moves) =>
        moves.OrderBy(m => m.Change == "changed" ? 1 : 0)
            .ThenBy(m => m.Change == "changed" ? 0 : Math.Min(m.OldRank ?? int.MaxValue, m.NewRank ?? int.MaxValue))
            .ThenByDescending(m => Math.Abs(m.PotentialDelta ?? 0))
            .ThenByDescending(m => Math.Abs(m.RankDelta ?? 0))
            .ThenBy(m => Array.IndexOf(Snapshot.Roles.ToArray(), m.Role))
            .ThenBy(m => m.CanonicalSmiles, StringComparer.Ordinal)
            .ToList();

    private static bool Differs(double a, double b, double tolerance) => tolerance == 0 ? a != b : Math.Abs(a - b) > tolerance;

    private static readonly (string Metric, Func<TargetSummary, double> Value, Func<TargetSummary, double, double, string> Verdict)[] MetricRules =
    [
        ("mae", s => s.Mae, (_, a, b) => b < a ? "better" : "worse"),
        ("r2", s => s.R2, (_, a, b) => b > a ? "better" : "worse"),
        // Coverage is better the closer it is to the nominal 95 %, from either side.
        ("coverage", s => s.Coverage, (s, a, b) => Math.Abs(b - s.NominalCoverage) is var d && Math.Abs(a - s.NominalCoverage) is var e && d == e ? "neutral" : d < e ? "better" : "worse"),
        // Narrower intervals screen more molecules with confidence.
        ("interval", s => s.IntervalHalfWidth, (_, a, b) => b < a ? "better" : "worse"),
        ("count", s => s.Count, (_, _, _) => "neutral"),
    ];

    internal static List<MetricChange> Metrics(IReadOnlyList<TargetSummary> old, IReadOnlyList<TargetSummary> now, double tolerance)
    {
        var changes = new List<MetricChange>();
        var targets = old.Select(t => t.Target).Union(now.Select(t => t.Target)).ToList();
        foreach (var target in targets)
        {
            var a = old.FirstOrDefault(t => t.Target == target);
            var b = now.FirstOrDefault(t => t.Target == target);
            foreach (var (metric, value, verdict) in MetricRules)
            {
                if (a is null) changes.Add(new MetricChange(target, metric, null, value(b!), null, "added"));
                else if (b is null) changes.Add(new MetricChange(target, metric, value(a), null, null, "removed"));
                else if (metric == "count" ? value(a) != value(b) : Differs(value(a), value(b), tolerance))
                    changes.Add(new MetricChange(target, metric, value(a), value(b), value(b) - value(a), verdict(b, value(a), value(b))));
            }
        }

        return changes;
    }

    internal static List<DatasetChange> Dataset(IReadOnlyList<DatasetRow> old, IReadOnlyList<DatasetRow> now)
    {
        var before = Keyed(old, r => r.CanonicalSmiles);
        var after = Keyed(now, r => r.CanonicalSmiles);
        var changes = new List<DatasetChange>();
        foreach (var (key, a) in before)
        {
            if (!after.TryGetValue(key, out var b)) changes.Add(new DatasetChange("removed", a.Id, a.CanonicalSmiles, null, a.Ie, null, a.Ea, null));
            else if (Relabelled(a.Ie, b.Ie) || Relabelled(a.Ea, b.Ea))
                changes.Add(new DatasetChange("relabelled", b.Id, b.CanonicalSmiles, a.Id == b.Id ? null : a.Id, a.Ie, b.Ie, a.Ea, b.Ea));
        }

        foreach (var (key, b) in after)
            if (!before.ContainsKey(key)) changes.Add(new DatasetChange("added", b.Id, b.CanonicalSmiles, null, null, b.Ie, null, b.Ea));
        string[] order = ["relabelled", "removed", "added"];
        return changes.OrderBy(c => Array.IndexOf(order, c.Change)).ThenBy(c => c.Id, StringComparer.Ordinal).ThenBy(c => c.CanonicalSmiles, StringComparer.Ordinal).ToList();
    }

    private static bool Relabelled(double? a, double? b) => a.HasValue != b.HasValue || (a is { } x && b is { } y && Math.Abs(x - y) > RelabelEpsilon);

    /// <summary>
    /// Rows by key in their order; a key seen again (one canonical SMILES at two charges) gets "#2", "#3", …
    /// so each occurrence pairs with the same occurrence on the other side.
    /// </summary>
    private static Dictionary<string, T> Keyed<T>(IReadOnlyList<T> rows, Func<T, string> key)
    {
        var keyed = new Dictionary<string, T>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            var k = key(row);
            var n = seen[k] = seen.GetValueOrDefault(k) + 1;
            keyed[n == 1 ? k : $"{k}#{n}"] = row;
        }

        return keyed;
    }

    private static async Task<List<SettingChange>> SettingsAsync(Snapshot old, Snapshot now, DiffOptions options, CancellationToken cancellation)
    {
        var changes = new List<SettingChange>();
        if (old.Identity is { } a && now.Identity is { } b)
        {
            void Compare(string scope, string? x, string? y, bool counts)
            {
                if (x != y) changes.Add(new SettingChange(scope, $"{x ?? "(none)"} → {y ?? "(none)"}", counts));
            }

            Compare("dataset", a.Dataset, b.Dataset, true);
            Compare("variant", a.Variant, b.Variant, true);
            Compare("profile", a.Profile, b.Profile, true);
            Compare("overrides", string.Join(", ", a.Overrides), string.Join(", ", b.Overrides), true);
            Compare("dataset version", a.DatasetVersion, b.DatasetVersion, true);
            Compare("dataset sha256", a.DatasetSha256, b.DatasetSha256, true);
            foreach (var stage in a.Keys.Keys.Union(b.Keys.Keys))
            {
                var (x, y) = (a.Keys.GetValueOrDefault(stage), b.Keys.GetValueOrDefault(stage));
                if (x == y) continue;
                changes.Add(new SettingChange($"stage {stage}", $"key {KeyDiff.Short(x)} → {KeyDiff.Short(y)}", false));
                // Screen's own settings come from the snapshots below; other stages are explained when the store holds both manifests.
                if (stage == "screen" || x is null || y is null) continue;
                var was = await Manifest(options.Store, stage, x, cancellation);
                var isNow = await Manifest(options.Store, stage, y, cancellation);
                if (was is null || isNow is null) continue;
                changes.AddRange(KeyDiff.Differences(KeyDiff.Parts.Of(was), KeyDiff.Parts.Of(isNow) with { Inputs = was.Inputs })
                    .Select(r => new SettingChange($"stage {stage}", r, r.StartsWith("parameter ", StringComparison.Ordinal))));
            }

            Compare("commit", a.Commit, b.Commit, false);
        }

        if (old.Screen is { } s && now.Screen is { } t)
            changes.AddRange(KeyDiff.Differences(new KeyDiff.Parts(s.Parameters, null, s.Code, s.Tools), new KeyDiff.Parts(t.Parameters, null, t.Code, t.Tools))
                .Select(r => new SettingChange("stage screen", r, r.StartsWith("parameter ", StringComparison.Ordinal))));
        return Collapse(changes);
    }

    /// <summary>
    /// One line per fact: every commit changes the MVID of an assembly that half the stages run, and a pull-request
    /// comment should say "code X changed (fetch, featurize, …)" once, and the changed keys on one line.
    /// </summary>
    private static List<SettingChange> Collapse(List<SettingChange> changes)
    {
        var keys = changes.Where(c => !c.Counts && c.Text.StartsWith("key ", StringComparison.Ordinal)).ToList();
        var collapsed = changes.Except(keys)
            .GroupBy(c => (c.Text, c.Counts))
            .Select(g => g.Count() == 1 ? g.First() : new SettingChange($"stages {string.Join(", ", g.Select(c => c.Scope.Replace("stage ", "", StringComparison.Ordinal)))}", g.Key.Text, g.Key.Counts))
            .ToList();
        if (keys.Count > 0)
            collapsed.Insert(0, new SettingChange("stage keys", string.Join("; ", keys.Select(k => $"{k.Scope.Replace("stage ", "", StringComparison.Ordinal)} {k.Text["key ".Length..]}")), false));
        return collapsed;
    }

    private static async Task<ArtifactManifest?> Manifest(string? store, string stage, string key, CancellationToken cancellation)
    {
        if (store is null || key.Length < 16) return null;
        var manifest = await ArtifactStore.ReadManifestAsync(Path.Combine(store, stage, key[..16]), cancellation);
        return manifest?.Key == key ? manifest : null;
    }
}
