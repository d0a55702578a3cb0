using System.Globalization;

namespace OrganicScreen.Data;

/// <summary>A row that passed the text checks: SMILES present, charge allowed, targets numeric.</summary>
/// <param name="Carried">The row's carried values (null fields where missing or unparsable).</param>
/// <param name="InvalidCarried">Carried properties whose text did not parse (the molecule is flagged, not rejected).</param>
/// <param name="Auxiliary">The row's auxiliary-target values that parsed as finite numbers (<see cref="AuxiliaryValues"/>).</param>
public sealed record CheckedRecord(RawRecord Raw, string Smiles, int Charge, double? Ie, double? Ea,
    CarriedValues? Carried = null, IReadOnlyList<string>? InvalidCarried = null, IReadOnlyDictionary<string, double>? Auxiliary = null);

/// <summary>
/// The text-level checks on a raw row, before RDKit sees it. Each failure names the row's
/// problem in words a chemist can act on; nothing is dropped without a reason.
/// </summary>
public static class RecordChecks
{
    public static (CheckedRecord? Record, Reject? Reject) Check(RawRecord raw, TargetVariant variant)
    {
        var input = raw.Smiles?.Trim() ?? "";
        Reject Fail(string reason) => new(raw.Row, raw.Id, input, reason);

        if (raw is { Smiles: null or "", Ie: null or "", Ea: null or "", Id: null or "" }) return (null, Fail("empty line"));
        if (input.Length == 0) return (null, Fail("missing SMILES"));
        // A salt or mixture has no single ionisation energy; its fingerprint would mix fragments.
        if (input.Contains('.')) return (null, Fail("multi-fragment SMILES (salt or mixture)"));

        var charge = 0;
        if (!string.IsNullOrWhiteSpace(raw.Charge) && !int.TryParse(raw.Charge.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out charge))
            return (null, Fail($"non-integer charge '{raw.Charge}'"));
        if (variant.Charges is { } allowed && !allowed.Contains(charge))
            return (null, Fail($"charge {charge:+0;-0;0} excluded (dataset variant keeps charge {string.Join(", ", allowed.Select(c => c.ToString("+0;-0;0", CultureInfo.InvariantCulture)))})"));

        var (ie, ieError) = Target(raw.Ie, variant.Ie, "IE");
        if (ieError is not null) return (null, Fail(ieError));
        var (ea, eaError) = Target(raw.Ea, variant.Ea, "EA");
        if (eaError is not null) return (null, Fail(eaError));
        // One missing target is kept (the MP data has different IE and EA populations); both missing leaves nothing to learn.
        if (ie is null && ea is null) return (null, Fail("missing IE and EA"));
        var (carried, invalid) = CarriedProperties.Parse(raw.Carried);
        var (auxiliary, invalidAuxiliary) = AuxiliaryValues.Parse(raw.Auxiliary);
        return (new CheckedRecord(raw, input, charge, ie, ea, carried, [.. invalid, .. invalidAuxiliary], auxiliary), null);
    }

    private static (double? Value, string? Error) Target(string? text, TargetColumn column, string name)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Trim() is "null" or "None") return (null, null);
        // Python/pandas write "inf" and "nan", which .NET does not parse: name them as non-finite too.
        if (text.Trim().TrimStart('+', '-').ToLowerInvariant() is "inf" or "infinity" or "nan")
            return (null, $"non-finite {name} '{text.Trim()}' in column {column.Column}");
        if (!double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            return (null, $"non-numeric {name} '{text.Trim()}' in column {column.Column}");
        if (!double.IsFinite(value)) return (null, $"non-finite {name} '{text.Trim()}' in column {column.Column}");
        return (column.Sign * value, null);
    }
}

/// <summary>
/// Merges rows that are the same molecule (same canonical SMILES and charge): targets averaged
/// over the rows that have them, spread (max − min) and counts kept so noisy duplicates stay visible.
/// Carried values merge as <see cref="CarriedProperties.Merge"/> says; each molecule gets its
/// <see cref="MoleculeFlags"/> under <paramref name="rules"/>.
/// </summary>
public sealed class Deduplicator(CurationRules? rules = null)
{
    private readonly CurationRules rules = rules ?? CurationRules.None;

    private readonly Dictionary<(string Canonical, int Charge), Group> groups = [];
    private readonly List<Group> order = [];

    public int Rows { get; private set; }

    /// <summary>Adds a row; returns true when it starts a new molecule (its fingerprint is the one kept).</summary>
    public bool Add(CheckedRecord record, string canonical)
    {
        Rows++;
        var key = (canonical, record.Charge);
        if (groups.TryGetValue(key, out var group))
        {
            group.Rows.Add(record);
            return false;
        }

        group = new Group(canonical, [record]);
        groups.Add(key, group);
        order.Add(group);
        return true;
    }

    /// <summary>Molecules in first-seen order, indexed 0..n-1 (the row order of every fingerprint table).</summary>
    public IReadOnlyList<Molecule> Molecules() => order.Select((g, index) =>
    {
        var first = g.Rows[0];
        var (ie, ieSpread) = Merge(g.Rows.Select(r => r.Ie));
        var (ea, eaSpread) = Merge(g.Rows.Select(r => r.Ea));
        var carried = CarriedProperties.Merge(g.Rows.Select(r => r.Carried ?? CarriedValues.Empty).ToList());
        return new Molecule(index, first.Raw.Id ?? $"row{first.Raw.Row}", g.Canonical, first.Smiles, first.Charge, ie, ea, ieSpread, eaSpread,
            g.Rows.Count, string.Join(';', g.Rows.Select(r => r.Raw.Row)), MoleculeFlags.Of(g.Rows, ie, ea, ieSpread, eaSpread, rules),
            carried.IsEmpty ? null : carried, AuxiliaryValues.Merge(g.Rows.Select(r => r.Auxiliary).ToList()));
    }).ToList();

    private static (double? Mean, double? Spread) Merge(IEnumerable<double?> values)
    {
        var present = values.OfType<double>().ToList();
        return present.Count == 0 ? (null, null) : (present.Average(), present.Max() - present.Min());
    }

    private sealed record Group(string Canonical, List<CheckedRecord> Rows);
}

/// <summary>
/// Curation flags: a molecule that looks physically suspicious is KEPT and marked, never dropped silently.
/// <see cref="Molecule.Flags"/> is empty when clean, otherwise these kinds joined by ';' in this order:
/// <list type="bullet">
/// <item><c>reduction-above-oxidation</c>: EA &gt; IE (pipeline sign, merged values), i.e. the molecule would be reduced
/// more easily than it is oxidised (2 M → M⁺ + M⁻ downhill); suspicious for a closed-shell molecule.</item>
/// <item><c>implausible-ie</c> / <c>implausible-ea</c>: any merged source row's value lies outside the variant's
/// <see cref="PlausibleRanges"/> (any row, not the mean, so a mean cannot hide an absurd row).</item>
/// <item><c>duplicate-spread</c>: merged duplicate rows disagree on IE or EA by more than
/// <see cref="CurationRules.DuplicateSpreadEv"/> (max − min).</item>
/// <item><c>invalid-&lt;property&gt;</c>: a carried value (e.g. <c>invalid-capacity_mah_g</c>) did not parse in some row;
/// the value is null (or taken from the rows that parsed).</item>
/// </list>
/// </summary>
public static class MoleculeFlags
{
    public const string ReductionAboveOxidation = "reduction-above-oxidation";
    public const string ImplausibleIe = "implausible-ie";
    public const string ImplausibleEa = "implausible-ea";
    public const string DuplicateSpread = "duplicate-spread";

    public static string InvalidCarried(string property) => $"invalid-{property}";

    /// <summary>The flags of one merged molecule, joined by ';' (empty when clean).</summary>
    public static string Of(IReadOnlyList<CheckedRecord> rows, double? ie, double? ea, double? ieSpread, double? eaSpread, CurationRules rules)
    {
        var flags = new List<string>();
        if (ie is { } i && ea is { } a && a > i) flags.Add(ReductionAboveOxidation);
        if (rules.Plausible is { } plausible)
        {
            if (rows.Any(r => r.Ie is { } v && !plausible.IeInRange(v))) flags.Add(ImplausibleIe);
            if (rows.Any(r => r.Ea is { } v && !plausible.EaInRange(v))) flags.Add(ImplausibleEa);
        }

        if (rules.DuplicateSpreadEv is { } limit && (ieSpread > limit || eaSpread > limit)) flags.Add(DuplicateSpread);
        foreach (var property in rows.SelectMany(r => r.InvalidCarried ?? []).Distinct().Order(StringComparer.Ordinal))
            flags.Add(InvalidCarried(property));
        return string.Join(';', flags);
    }

    /// <summary>The kinds in a <see cref="Molecule.Flags"/> value.</summary>
    public static IReadOnlyList<string> Split(string? flags) =>
        string.IsNullOrEmpty(flags) ? [] : flags.Split(';', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Molecules per flag kind (a molecule with two flags counts once under each).</summary>
    public static SortedDictionary<string, int> Count(IEnumerable<Molecule> molecules) =>
        new(molecules.SelectMany(m => Split(m.Flags)).GroupBy(f => f).ToDictionary(g => g.Key, g => g.Count()), StringComparer.Ordinal);
}

/// <summary>
/// Auxiliary-target values of a row (<see cref="DatasetManifest.Auxiliary"/>): learned alongside IE and EA, never
/// screened on. Missing text (empty, null, None, NaN) is simply absent, masked in the loss; text that does not
/// parse as a finite number is absent too and flags the molecule <c>invalid-&lt;name&gt;</c>.
/// </summary>
public static class AuxiliaryValues
{
    public static (IReadOnlyDictionary<string, double>? Values, IReadOnlyList<string> Invalid) Parse(IReadOnlyDictionary<string, string?>? texts)
    {
        if (texts is null || texts.Count == 0) return (null, []);
        var values = new SortedDictionary<string, double>(StringComparer.Ordinal);
        var invalid = new List<string>();
        foreach (var (name, text) in texts)
        {
            if (string.IsNullOrWhiteSpace(text) || text.Trim().ToLowerInvariant() is "null" or "none" or "nan") continue;
            if (double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)) values[name] = value;
            else invalid.Add(name);
        }

        return (values, invalid);
    }

    /// <summary>A merged molecule's values: per name, the mean over the rows that have it (like IE and EA); null when none has any.</summary>
    public static IReadOnlyDictionary<string, double>? Merge(IReadOnlyList<IReadOnlyDictionary<string, double>?> rows)
    {
        var merged = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var group in rows.OfType<IReadOnlyDictionary<string, double>>().SelectMany(r => r).GroupBy(p => p.Key))
            merged[group.Key] = group.Average(p => p.Value);
        return merged.Count == 0 ? null : merged;
    }
}
