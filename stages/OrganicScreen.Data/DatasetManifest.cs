using System.Text.Json;
using System.Text.Json.Serialization;
using OrganicScreen.Core;

namespace OrganicScreen.Data;

/// <summary>
/// A dataset as data: where its file comes from (sources tried in order, each pinned by sha256),
/// how its columns map onto the pipeline's schema, and which target variants it offers.
/// Lives in <c>data/datasets/&lt;name&gt;.json</c>.
/// </summary>
/// <param name="Phase">Whether the energies are gas phase or in (implicit) solvent; a variant may override it.</param>
/// <param name="Plausible">Ranges outside which a value is flagged (kept, not rejected); a variant may override it. Null: no range check.</param>
/// <param name="DuplicateSpreadEv">Merged duplicates whose IE or EA spread (max − min) exceeds this are flagged. Null: no check.</param>
/// <param name="Carry">Extra source columns carried into molecules.parquet, keyed by the molecule column they fill (<see cref="CarriedProperties"/>).</param>
/// <param name="Auxiliary">
/// Related DFT quantities a model may learn alongside IE and EA (auxiliary targets: vertical energies, orbital
/// energies, other phases), keyed by name; written to auxiliary.parquet, never screened on (<see cref="AuxiliaryColumn"/>).
/// </param>
/// <param name="Anchors">Published results on this dataset (text), printed next to the out-of-fold metrics in the report and comparison.</param>
/// <param name="Versions">
/// Optional named versions of the data, each with its own sources and date; then the top-level
/// <paramref name="Sources"/> are omitted, <c>--dataset-version</c> picks one and the newest is the default.
/// </param>
public sealed record DatasetManifest(
    string Name,
    string Title,
    string Citation,
    string License,
    IReadOnlyList<DatasetSource> Sources,
    DatasetColumns Columns,
    string DefaultVariant,
    IReadOnlyDictionary<string, TargetVariant> Variants,
    DatasetPhase? Phase = null,
    PlausibleRanges? Plausible = null,
    double? DuplicateSpreadEv = null,
    IReadOnlyDictionary<string, CarriedColumn>? Carry = null,
    IReadOnlyList<DatasetVersion>? Versions = null,
    IReadOnlyDictionary<string, AuxiliaryColumn>? Auxiliary = null,
    IReadOnlyList<string>? Anchors = null)
{
    /// <summary>
    /// The version a run takes: the named one, or the newest by date (the later-listed on a tie) when
    /// <paramref name="name"/> is null; null for a manifest without versions (its top-level sources).
    /// </summary>
    public DatasetVersion? Version(string? name)
    {
        if (Versions is not { Count: > 0 })
            return name is null ? null : throw new DatasetException($"dataset '{Name}' lists no versions; --dataset-version applies only to a manifest with \"versions\"");
        if (name is null) return Versions.Select((v, i) => (v, i)).OrderBy(x => x.v.Day).ThenBy(x => x.i).Last().v;
        return Versions.SingleOrDefault(v => v.Name == name)
               ?? throw new DatasetException($"dataset '{Name}' has no version '{name}' (versions: {string.Join(", ", Versions.Select(v => $"{v.Name} ({v.Date})"))})");
    }

    /// <summary>The sources of a version (see <see cref="Version"/>), or the top-level sources of an unversioned manifest.</summary>
    public IReadOnlyList<DatasetSource> SourcesOf(string? version) => Version(version)?.Sources ?? Sources;

    public TargetVariant Variant(string? name)
    {
        var chosen = name ?? DefaultVariant;
        return Variants.TryGetValue(chosen, out var variant)
            ? variant
            : throw new DatasetException($"dataset '{Name}' has no variant '{chosen}' (available: {string.Join(", ", Variants.Keys.Order())})");
    }

    /// <summary>The phase of a variant's energies: the variant's own statement, else the dataset's.</summary>
    public DatasetPhase PhaseOf(string? variant) =>
        Variant(variant).Phase ?? Phase
        ?? throw new DatasetException($"dataset '{Name}' states no phase for variant '{variant ?? DefaultVariant}' (add \"phase\": {{\"kind\": \"gas\"}} or {{\"kind\": \"solution\", ...}})");

    /// <summary>The plausibility ranges of a variant: its own, else the dataset's; null when neither states one.</summary>
    public PlausibleRanges? PlausibleOf(string? variant) => Variant(variant).Plausible ?? Plausible;

    /// <summary>Everything curation needs to flag a variant's molecules.</summary>
    public CurationRules CurationOf(string? variant) => new(PlausibleOf(variant), DuplicateSpreadEv);

    /// <summary>Manifests made by <c>organicscreen train --data-path</c>: <c>&lt;artifact store&gt;/datasets/</c>.</summary>
    public const string AdHocFolder = "datasets";

    /// <summary>
    /// Where relative source paths are resolved: null for manifests in <c>data/datasets</c> (the repository root),
    /// the manifest's own folder for ad-hoc manifests in the artifact store.
    /// </summary>
    [JsonIgnore]
    public string? SourceBase { get; init; }

    /// <summary>
    /// Reads and validates a manifest; any problem is a <see cref="DatasetException"/> naming the file and the field
    /// (invalid JSON, a missing required field such as <c>columns</c> or a target's <c>sign</c>, a wrong value).
    /// </summary>
    public static DatasetManifest Load(string path)
    {
        if (!File.Exists(path)) throw new DatasetException($"dataset manifest not found: {path}");
        DatasetManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<DatasetManifest>(File.ReadAllText(path), Core.Json.Options);
        }
        catch (JsonException e)
        {
            throw new DatasetException($"{path}: not a valid dataset manifest: {e.Message}");
        }

        if (manifest is null) throw new DatasetException($"{path}: the manifest is empty (null); it must be a JSON object");
        // A versioned manifest may omit the top-level sources (JSON leaves them null).
        if (manifest.Sources is null && manifest.Versions is { Count: > 0 }) manifest = manifest with { Sources = [] };
        manifest.Validate(path);
        return manifest;
    }

    /// <summary>
    /// Finds dataset <paramref name="name"/>: <c>data/datasets/&lt;name&gt;.json</c> below the repository root, else
    /// <c>&lt;name&gt;.json</c> in <paramref name="adHocFolder"/> (the artifact store's ad-hoc manifests). Names are plain
    /// (<see cref="PlainNames"/>) and a manifest must call itself by its file name, so no name reaches outside these folders.
    /// </summary>
    public static DatasetManifest Find(string repositoryRoot, string name, string? adHocFolder = null)
    {
        if (!PlainNames.IsValid(name)) throw new DatasetException($"dataset name '{name}' is not valid: {PlainNames.Rule}");
        var folder = Path.Combine(repositoryRoot, "data", "datasets");
        foreach (var (dir, adHoc) in new[] { (folder, false), (adHocFolder, true) })
        {
            if (dir is null) continue;
            var path = Path.Combine(dir, $"{name}.json");
            if (!File.Exists(path)) continue;
            var manifest = Load(path);
            if (manifest.Name != name) throw new DatasetException($"{path}: names itself '{manifest.Name}' but its file is {name}.json; a manifest's name is its file name");
            return adHoc ? manifest with { SourceBase = Path.GetFullPath(dir) } : manifest;
        }

        var known = new[] { folder, adHocFolder }.Where(d => d is not null && Directory.Exists(d))
            .SelectMany(d => Directory.EnumerateFiles(d!, "*.json")).Select(Path.GetFileNameWithoutExtension).Distinct().Order().ToList();
        throw new DatasetException($"unknown dataset '{name}' (known: {string.Join(", ", known)})");
    }

    private void Validate(string path)
    {
        // System.Text.Json leaves absent properties null (or 0), whatever the record declares: check what is required.
        string Need(string? value, string field) => string.IsNullOrWhiteSpace(value) ? throw new DatasetException($"{path}: '{field}' is missing or empty") : value;
        Need(Name, "name");
        if (!PlainNames.IsValid(Name)) throw new DatasetException($"{path}: name '{Name}' is not valid: {PlainNames.Rule}");
        if (Sources is null) throw new DatasetException($"{path}: 'sources' is missing (a list of {{\"format\", \"path\" or \"url\", \"sha256\"}})");
        if (Columns is null) throw new DatasetException($"{path}: 'columns' is missing (an object with \"id\", \"smiles\" and \"charge\")");
        Need(Columns.Smiles, "columns.smiles");
        Need(DefaultVariant, "defaultVariant");
        if (Variants is null || Variants.Count == 0) throw new DatasetException($"{path}: 'variants' is missing or empty");
        var versions = Versions ?? [];
        if (Sources.Count == 0 && versions.Count == 0) throw new DatasetException($"{path}: no sources");
        // One place for sources, so which file a run takes is never ambiguous.
        if (Sources.Count > 0 && versions.Count > 0)
            throw new DatasetException($"{path}: list sources either at the top level or in each of \"versions\", not both");
        foreach (var (version, index) in versions.Select((v, i) => (v, i)))
        {
            var where = $"{path}: versions[{index}]";
            if (version is null) throw new DatasetException($"{where} is null");
            if (string.IsNullOrWhiteSpace(version.Name)) throw new DatasetException($"{where}: a version needs a \"name\"");
            if (versions.Take(index).Any(v => v.Name == version.Name)) throw new DatasetException($"{where}: version '{version.Name}' is listed twice");
            if (!DateOnly.TryParseExact(version.Date, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out _))
                throw new DatasetException($"{where} ('{version.Name}'): \"date\" must be yyyy-MM-dd, not '{version.Date}'");
            if (version.Sources is not { Count: > 0 }) throw new DatasetException($"{where} ('{version.Name}'): no sources");
        }

        // Every source, top-level or of a version, by the path a message should name.
        var sources = Sources.Select((x, i) => (Where: $"sources[{i}]", Source: x))
            .Concat(versions.SelectMany((v, j) => v.Sources.Select((x, i) => (Where: $"versions[{j}].sources[{i}]", Source: x)))).ToList();
        foreach (var (where, item) in sources)
        {
            var source = item ?? throw new DatasetException($"{path}: {where} is null");
            Need(source.Format, $"{where}.format");
            if ((source.Path is null) == (source.Url is null))
                throw new DatasetException($"{path}: each source needs exactly one of 'path' or 'url'");
            if (source.Sha256 is not null && (source.Sha256.Length != 64 || !source.Sha256.All(char.IsAsciiHexDigit)))
                throw new DatasetException($"{path}: sha256 of {source.Location} must be 64 hex digits");
            try
            {
                _ = source.FormatKind;
            }
            catch (DatasetException e)
            {
                throw new DatasetException($"{path}: {where}: {e.Message}");
            }
        }

        foreach (var (name, variant) in Variants)
        {
            if (!RepositoryLayout.IsPlainName(name)) throw new DatasetException($"{path}: variant name '{name}' is not a plain name (letters, digits, '-', '_', '.')");
            if (variant is null) throw new DatasetException($"{path}: variants.{name} is null");
            foreach (var (target, column) in new[] { ("ie", variant.Ie), ("ea", variant.Ea) })
            {
                if (column is null) throw new DatasetException($"{path}: variants.{name}.{target} is missing (an object with \"column\" and \"sign\")");
                Need(column.Column, $"variants.{name}.{target}.column");
                if (!double.IsFinite(column.Sign) || column.Sign == 0)
                    throw new DatasetException($"{path}: variants.{name}.{target}.sign is missing or 0; it is the factor that brings the column to eV in the Materials Project sign (usually 1 or -1)");
            }
        }

        if (!Variants.ContainsKey(DefaultVariant)) throw new DatasetException($"{path}: default variant '{DefaultVariant}' is not defined");

        Phase?.Validate($"{path}: phase");
        Plausible?.Validate($"{path}: plausible");
        foreach (var (name, variant) in Variants)
        {
            variant.Phase?.Validate($"{path}: variants.{name}.phase");
            variant.Plausible?.Validate($"{path}: variants.{name}.plausible");
            if ((variant.Phase ?? Phase) is null)
                throw new DatasetException($"{path}: variant '{name}' has no phase; state \"phase\" for the dataset or the variant (kinds: {string.Join(", ", DatasetPhase.Kinds)})");
        }

        if (DuplicateSpreadEv is { } spread && !(double.IsFinite(spread) && spread >= 0))
            throw new DatasetException($"{path}: duplicateSpreadEv must be a finite number ≥ 0 (eV)");
        foreach (var (name, column) in Carry ?? new Dictionary<string, CarriedColumn>())
            CarriedProperties.Validate(name, column, path);
        foreach (var (name, column) in Auxiliary ?? new Dictionary<string, AuxiliaryColumn>())
            column.Validate(name, path);
    }

    /// <summary>
    /// The auxiliary targets of the <paramref name="groups"/> a profile asks for (<see cref="AuxiliaryGroups"/>), in the
    /// manifest's order, and a note for each thing skipped: a group this dataset does not have, and a member that is
    /// the variant's own IE or EA column (learning a target twice buys nothing). Profiles name groups, not columns, so
    /// one profile runs on every dataset; what it actually learned is recorded with the model.
    /// </summary>
    public (IReadOnlyList<string> Targets, IReadOnlyList<string> Skipped) AuxiliaryTargets(IReadOnlyList<string> groups, string? variantName)
    {
        var known = Auxiliary ?? new Dictionary<string, AuxiliaryColumn>();
        var variant = Variant(variantName);
        var skipped = groups.Where(g => known.Values.All(c => c.Group != g)).Select(g => $"auxiliary group '{g}': dataset '{Name}' has none").ToList();
        var chosen = new List<string>();
        foreach (var (name, column) in known.Where(k => groups.Contains(k.Value.Group)))
        {
            if (column.Column == variant.Ie.Column || column.Column == variant.Ea.Column)
                skipped.Add($"auxiliary '{name}' ({column.Group}): it is this variant's IE or EA");
            else chosen.Add(name);
        }

        return (chosen, skipped);
    }
}

/// <summary>
/// Where a dataset's energies were computed: <c>gas</c> (isolated molecule) or <c>solution</c>
/// (solvated, usually by an implicit model). A solvent-window screen is only physically meaningful on
/// solution-phase values: solvation moves redox potentials by about 2 V.
/// </summary>
/// <param name="Kind"><c>gas</c> or <c>solution</c>.</param>
/// <param name="Solvent">The solvent (solution only), e.g. <c>acetonitrile</c>; null when the source does not name one (then <paramref name="Note"/> must say so).</param>
/// <param name="Model">The solvation model (solution only), e.g. <c>SMD</c>, <c>PCM</c>.</param>
/// <param name="Note">Anything a reader must know, e.g. what is uncertain.</param>
public sealed record DatasetPhase(string Kind, string? Solvent = null, string? Model = null, string? Note = null)
{
    public const string Gas = "gas";
    public const string Solution = "solution";
    public static IReadOnlyList<string> Kinds { get; } = [Gas, Solution];

    public bool IsSolution => Kind == Solution;

    public bool IsGas => Kind == Gas;

    internal void Validate(string where)
    {
        if (!Kinds.Contains(Kind)) throw new DatasetException($"{where}: unknown kind '{Kind}' (known: {string.Join(", ", Kinds)})");
        if (IsGas && (Solvent is not null || Model is not null))
            throw new DatasetException($"{where}: a gas-phase dataset has no solvent or solvation model");
        if (IsSolution && string.IsNullOrWhiteSpace(Model))
            throw new DatasetException($"{where}: a solution-phase dataset names its solvation model (\"model\", e.g. SMD or PCM)");
        if (IsSolution && string.IsNullOrWhiteSpace(Solvent) && string.IsNullOrWhiteSpace(Note))
            throw new DatasetException($"{where}: a solution-phase dataset names its solvent, or says in \"note\" why it cannot");
    }

    public override string ToString() => IsGas
        ? "gas phase"
        : $"solution ({Solvent ?? "solvent not stated"}, {Model})";
}

/// <summary>
/// Inclusive [min, max] ranges (eV, pipeline sign) outside which an IE or EA value is physically
/// implausible. Values outside are flagged <c>implausible-ie</c> / <c>implausible-ea</c> and kept.
/// A null range skips that target.
/// </summary>
public sealed record PlausibleRanges(IReadOnlyList<double>? Ie, IReadOnlyList<double>? Ea, string? Note = null)
{
    public bool IeInRange(double value) => InRange(Ie, value);

    public bool EaInRange(double value) => InRange(Ea, value);

    private static bool InRange(IReadOnlyList<double>? range, double value) => range is null || (value >= range[0] && value <= range[1]);

    internal void Validate(string where)
    {
        foreach (var (name, range) in new[] { ("ie", Ie), ("ea", Ea) })
        {
            if (range is null) continue;
            if (range.Count != 2 || !double.IsFinite(range[0]) || !double.IsFinite(range[1]) || range[0] >= range[1])
                throw new DatasetException($"{where}.{name} must be [min, max] in eV with min < max");
        }
    }
}

/// <summary>The flagging rules of one dataset variant (see <see cref="MoleculeFlags"/>).</summary>
public sealed record CurationRules(PlausibleRanges? Plausible, double? DuplicateSpreadEv)
{
    public static CurationRules None { get; } = new(null, null);
}

/// <summary>
/// A source column learned as an auxiliary target: its column in the file, the group it belongs to (profiles ask for
/// whole groups, e.g. <c>vertical</c> or <c>orbital</c>), its unit and what it is. Values are used as given: each
/// target is standard-scaled on the training folds, so units only matter to readers.
/// </summary>
public sealed record AuxiliaryColumn(string Column, string Group, string Unit, string Description)
{
    internal void Validate(string name, string path)
    {
        if (!IsSnakeCase(name)) throw new DatasetException($"{path}: auxiliary '{name}' must be lower-case letters, digits and '_'");
        if (name is "ie" or "ea") throw new DatasetException($"{path}: auxiliary '{name}' clashes with a target name");
        if (string.IsNullOrWhiteSpace(Column)) throw new DatasetException($"{path}: auxiliary '{name}' names no column");
        if (!AuxiliaryGroups.Known.ContainsKey(Group))
            throw new DatasetException($"{path}: auxiliary '{name}' has group '{Group}'; groups are {string.Join(", ", AuxiliaryGroups.Known.Keys)}");
        if (string.IsNullOrWhiteSpace(Unit) || string.IsNullOrWhiteSpace(Description))
            throw new DatasetException($"{path}: auxiliary '{name}' needs a unit and a description");
    }

    // Auxiliary names become fold-model target names and Parquet values: keep them plain.
    private static bool IsSnakeCase(string name) =>
        name is { Length: > 0 and <= 64 } && char.IsAsciiLetterLower(name[0]) && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_');
}

/// <summary>
/// The shared vocabulary of auxiliary groups: a profile asks for groups by these names (so a typo is refused when the
/// profile loads), and each dataset says which of its columns belong to which group.
/// </summary>
public static class AuxiliaryGroups
{
    public static IReadOnlyDictionary<string, string> Known { get; } = new SortedDictionary<string, string>(StringComparer.Ordinal)
    {
        ["vertical"] = "vertical ionization energy and electron affinity (no geometry relaxation)",
        ["orbital"] = "frontier orbital energies (HOMO, LUMO) and their gap",
        ["excited"] = "lowest singlet and triplet excitation energies",
        ["reorganization"] = "hole and electron reorganization energies and their relaxation components",
        ["gas"] = "gas-phase redox free energies (for a solution-phase variant)",
        ["electronic"] = "electronic ionization potential and electron affinity in solvent (not free energies)",
    };
}

/// <summary>A source column carried into molecules.parquet: its name in the file and its type (<c>double</c>, <c>int</c>, <c>bool</c>).</summary>
public sealed record CarriedColumn(string Column, string Type);

public enum SourceFormat
{
    /// <summary>Comma-separated text with a header row.</summary>
    Csv,

    /// <summary>Tab-separated text with a header row.</summary>
    Tsv,

    /// <summary>Materials Project molecules/jcesr JSON export: an array of records.</summary>
    MpJson,
}

/// <summary>
/// One place the dataset file can come from. <see cref="Rename"/> maps this source's column
/// names onto the dataset's (the MP CSV sample names its columns differently from the JSON).
/// </summary>
public sealed record DatasetSource(
    string Format,
    string? Path,
    string? Url,
    string? Sha256,
    string? Note,
    IReadOnlyDictionary<string, string>? Rename)
{
    public string Location => Path ?? Url!;

    public SourceFormat FormatKind => Format switch
    {
        "csv" => SourceFormat.Csv,
        "tsv" => SourceFormat.Tsv,
        "mp-json" => SourceFormat.MpJson,
        _ => throw new DatasetException($"unknown source format '{Format}' (csv, tsv, mp-json)"),
    };

    public string FileName => FormatKind switch
    {
        SourceFormat.Csv => "raw.csv",
        SourceFormat.Tsv => "raw.tsv",
        _ => "raw.json",
    };
}

/// <summary>
/// One version of a dataset: its sources (tried in order, each pinned by sha256, as top-level sources are), the
/// date it was published or taken (yyyy-MM-dd; the newest is the default), and a note on what changed.
/// Only the content (sha256) is key material: two versions with the same file share every artifact.
/// </summary>
public sealed record DatasetVersion(string Name, string Date, IReadOnlyList<DatasetSource> Sources, string? Note = null)
{
    internal DateOnly Day => DateOnly.ParseExact(Date, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Names of the identifier, SMILES and (optional) charge columns.</summary>
public sealed record DatasetColumns(string Id, string Smiles, string? Charge);

/// <summary>
/// Which columns give IE and EA, and the signs that bring them to the pipeline's convention:
/// eV, EA positive when reduction is favourable (Materials Project sign). <see cref="Charges"/>
/// keeps only molecules of those total charges (null keeps all).
/// </summary>
/// <param name="Phase">Overrides the dataset's phase for this variant (e.g. OMEAD's gas-phase columns).</param>
/// <param name="Plausible">Overrides the dataset's plausibility ranges for this variant.</param>
public sealed record TargetVariant(TargetColumn Ie, TargetColumn Ea, IReadOnlyList<int>? Charges, string Description,
    DatasetPhase? Phase = null, PlausibleRanges? Plausible = null);

public sealed record TargetColumn(string Column, double Sign);

public sealed class DatasetException(string message) : Exception(message);
