using System.Text.Json;

namespace OrganicScreen.Data;

/// <summary>
/// A dataset as data: where its file comes from (sources tried in order, each pinned by sha256),
/// how its columns map onto the pipeline's schema, and which target variants it offers.
/// Lives in <c>data/datasets/&lt;name&gt;.json</c>.
/// </summary>
public sealed record DatasetManifest(
    string Name,
    string Title,
    string Citation,
    string License,
    IReadOnlyList<DatasetSource> Sources,
    DatasetColumns Columns,
    string DefaultVariant,
    IReadOnlyDictionary<string, TargetVariant> Variants)
{
    public TargetVariant Variant(string? name)
    {
        var chosen = name ?? DefaultVariant;
        return Variants.TryGetValue(chosen, out var variant)
            ? variant
            : throw new DatasetException($"dataset '{Name}' has no variant '{chosen}' (available: {string.Join(", ", Variants.Keys.Order())})");
    }

    public static DatasetManifest Load(string path)
    {
        if (!File.Exists(path)) throw new DatasetException($"dataset manifest not found: {path}");
        var manifest = JsonSerializer.Deserialize<DatasetManifest>(File.ReadAllText(path), Core.Json.Options)
            ?? throw new DatasetException($"dataset manifest is empty: {path}");
        manifest.Validate(path);
        return manifest;
    }

    /// <summary>Finds <c>data/datasets/&lt;name&gt;.json</c> below the repository root.</summary>
    public static DatasetManifest Find(string repositoryRoot, string name)
    {
        var folder = Path.Combine(repositoryRoot, "data", "datasets");
        var path = Path.Combine(folder, $"{name}.json");
        if (File.Exists(path)) return Load(path);
        var known = Directory.Exists(folder) ? Directory.EnumerateFiles(folder, "*.json").Select(Path.GetFileNameWithoutExtension).Order().ToList() : [];
        throw new DatasetException($"unknown dataset '{name}' (known: {string.Join(", ", known)})");
    }

    private void Validate(string path)
    {
        if (Sources.Count == 0) throw new DatasetException($"{path}: no sources");
        foreach (var source in Sources)
        {
            if ((source.Path is null) == (source.Url is null))
                throw new DatasetException($"{path}: each source needs exactly one of 'path' or 'url'");
            if (source.Sha256 is { Length: not 64 })
                throw new DatasetException($"{path}: sha256 of {source.Location} must be 64 hex digits");
            _ = source.FormatKind;
        }

        if (!Variants.ContainsKey(DefaultVariant)) throw new DatasetException($"{path}: default variant '{DefaultVariant}' is not defined");
    }
}

public enum SourceFormat
{
    /// <summary>Comma-separated text with a header row.</summary>
    Csv,

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
        "mp-json" => SourceFormat.MpJson,
        _ => throw new DatasetException($"unknown source format '{Format}' (csv, mp-json)"),
    };

    public string FileName => FormatKind == SourceFormat.Csv ? "raw.csv" : "raw.json";
}

/// <summary>Names of the identifier, SMILES and (optional) charge columns.</summary>
public sealed record DatasetColumns(string Id, string Smiles, string? Charge);

/// <summary>
/// Which columns give IE and EA, and the signs that bring them to the pipeline's convention:
/// eV, EA positive when reduction is favourable (Materials Project sign). <see cref="Charges"/>
/// keeps only molecules of those total charges (null keeps all).
/// </summary>
public sealed record TargetVariant(TargetColumn Ie, TargetColumn Ea, IReadOnlyList<int>? Charges, string Description);

public sealed record TargetColumn(string Column, double Sign);

public sealed class DatasetException(string message) : Exception(message);
