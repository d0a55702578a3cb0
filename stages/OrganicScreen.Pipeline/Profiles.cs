using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using OrganicScreen.Core;
using OrganicScreen.Data;
using OrganicScreen.Screening;
using OrganicScreen.Training;
using OrganicScreen.Training.Graph;

using OrganicScreen.Stages;

namespace OrganicScreen.Pipeline;

/// <summary>
/// A run configuration, <c>data/profiles/&lt;name&gt;.json</c>: one schema for every stage, validated when
/// loaded. An unknown or misspelled key, a wrong type or a value out of range is an error that names the
/// key and the file. <c>--set key=value</c> overrides change the JSON before validation, so they are
/// checked the same way and, because sections are key material, change the keys of the stages they touch.
/// A profile may hold <c>"byDataset": { "&lt;dataset&gt;": { …part of the profile… } }</c>: what differs for one
/// dataset (what helps differs: measured, deeper message passing helps OCELOT's gas-phase IE). A run on that dataset
/// merges its part into the profile before the overrides (objects key by key, anything else replaced); every
/// dataset's part is validated whichever dataset runs.
/// </summary>
/// <param name="Fingerprints">ECFP settings Featurize computes (the FCNN's sweep configs need theirs; the D-MPNN reads none).</param>
/// <param name="Sweep">The FCNN's Table-1 sweep; absent for the D-MPNN.</param>
/// <param name="Intervals">Which 95 % interval Infer ships: <c>Adaptive</c> (each molecule's own width, the default) or <c>Fixed</c>.</param>
public sealed record ProfileDefinition(
    string Name,
    string Description,
    ModelFamily Model,
    IReadOnlyList<string> Fingerprints,
    TrainSection Train,
    SweepSection? Sweep = null,
    ScreenSection? Screen = null,
    FinalModelPolicy FinalModel = FinalModelPolicy.Ensemble,
    IntervalPolicy Intervals = IntervalPolicy.Adaptive)
{
    /// <summary>Overrides applied on load (<c>--set</c>), in order; empty for the profile as written.</summary>
    [JsonIgnore]
    public IReadOnlyList<string> Overrides { get; init; } = [];

    [JsonIgnore]
    public IReadOnlyList<FingerprintSpec> FingerprintSpecs => Fingerprints.Select(FingerprintSpec.Parse).ToList();

    [JsonIgnore]
    public ScreenSection ScreenSettings => Screen ?? new ScreenSection();

    /// <summary>
    /// Name of this run's results folder: the profile's name, plus a short hash of the overrides when there are
    /// any, so an overridden run never overwrites the profile's own results.
    /// </summary>
    [JsonIgnore]
    public string RunName => Overrides.Count == 0 ? Name : $"{Name}+{ContentHash.Of(string.Join('\n', Overrides))[..8]}";

    /// <summary>Profile names are plain lower-case names that match their file names.</summary>
    public static bool IsValidName(string name) => PlainNames.IsValid(name);

    private static readonly JsonSerializerOptions Strict = new(Json.Options) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };

    /// <param name="dataset">The dataset the run trains on, whose <c>byDataset</c> part applies; null for none.</param>
    public static ProfileDefinition Find(string repositoryRoot, string name, IReadOnlyList<string>? overrides = null, string? dataset = null)
    {
        if (!IsValidName(name)) throw new FormatException($"profile name '{name}' is not valid: {PlainNames.Rule}");
        var folder = Path.Combine(repositoryRoot, "data", "profiles");
        var path = Path.Combine(folder, $"{name}.json");
        if (!File.Exists(path))
        {
            var known = Directory.Exists(folder) ? Directory.EnumerateFiles(folder, "*.json").Select(Path.GetFileNameWithoutExtension).Order().ToList() : [];
            throw new FileNotFoundException($"unknown profile '{name}' (known: {string.Join(", ", known)})");
        }

        var profile = Parse(File.ReadAllText(path), Path.GetRelativePath(repositoryRoot, path), overrides ?? [], dataset);
        if (profile.Name != name) throw new FormatException($"{path}: names itself '{profile.Name}' but its file is {name}.json");
        return profile;
    }

    /// <summary>
    /// Parses and validates profile JSON; <paramref name="file"/> names the source in messages. <paramref name="dataset"/>'s
    /// <c>byDataset</c> part, if any, is merged in before <paramref name="overrides"/>.
    /// </summary>
    public static ProfileDefinition Parse(string json, string file, IReadOnlyList<string> overrides, string? dataset = null)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new FormatException($"{file}: not valid JSON ({e.Message})");
        }

        if (node is not JsonObject root) throw new FormatException($"{file}: a profile is a JSON object");
        var parts = DatasetParts(root, file);
        foreach (var (name, part) in parts)
        {
            // Each dataset's part must make a valid profile, so a typo in another dataset's part fails now.
            var merged = (JsonObject)root.DeepClone();
            Merge(merged, part);
            Deserialized(merged, $"{file} (byDataset.{name})").Validate($"{file} (byDataset.{name})");
        }

        if (dataset is not null && parts.TryGetValue(dataset, out var own)) Merge(root, own);
        foreach (var assignment in overrides) Apply(root, assignment, file);
        var profile = Deserialized(root, file) with { Overrides = overrides };
        profile.Validate(file);
        return profile;
    }

    private static ProfileDefinition Deserialized(JsonObject root, string file)
    {
        try
        {
            return root.Deserialize<ProfileDefinition>(Strict) ?? throw new FormatException($"{file}: empty profile");
        }
        catch (JsonException e)
        {
            throw new FormatException($"{file}: {Describe(e)}");
        }
    }

    /// <summary>Removes <c>byDataset</c> from <paramref name="root"/> and returns its parts by dataset name.</summary>
    private static Dictionary<string, JsonObject> DatasetParts(JsonObject root, string file)
    {
        var parts = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        if (!root.ContainsKey(ByDataset)) return parts;
        var node = root[ByDataset];
        root.Remove(ByDataset);
        if (node is not JsonObject byDataset) throw new FormatException($"{file}: key '{ByDataset}' must be an object of dataset names, each with part of a profile");
        foreach (var (name, part) in byDataset)
        {
            if (part is not JsonObject obj) throw new FormatException($"{file}: key '{ByDataset}.{name}' must be an object (part of a profile)");
            if (obj.ContainsKey("name") || obj.ContainsKey(ByDataset)) throw new FormatException($"{file}: key '{ByDataset}.{name}' may not set '{(obj.ContainsKey("name") ? "name" : ByDataset)}'");
            parts[name] = obj; // Merge copies what it takes, so the parts are read, never moved
        }

        return parts;
    }

    private const string ByDataset = "byDataset";

    /// <summary>Merges <paramref name="part"/> into <paramref name="target"/>: objects key by key, anything else (numbers, strings, lists) replaced.</summary>
    private static void Merge(JsonObject target, JsonObject part)
    {
        foreach (var (key, value) in part)
        {
            if (value is JsonObject child && target[key] is JsonObject existing) Merge(existing, child);
            else target[key] = value?.DeepClone();
        }
    }

    /// <summary>
    /// <c>key=value</c> with a dotted key (<c>train.settings.epochs=5</c>); the value is JSON when it parses
    /// as JSON (numbers, true/false, lists), else a string.
    /// </summary>
    private static void Apply(JsonObject root, string assignment, string file)
    {
        var equals = assignment.IndexOf('=');
        if (equals <= 0) throw new FormatException($"--set '{assignment}': expected key=value (e.g. train.settings.epochs=5)");
        var path = assignment[..equals].Trim().Split('.');
        var text = assignment[(equals + 1)..].Trim();
        JsonNode? value;
        try
        {
            value = JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            value = JsonValue.Create(text);
        }

        var node = root;
        for (var i = 0; i < path.Length - 1; i++)
        {
            var child = node[path[i]];
            if (child is null) node[path[i]] = child = new JsonObject();
            node = child as JsonObject ?? throw new FormatException($"--set {assignment}: {string.Join('.', path[..(i + 1)])} in {file} is not an object");
        }

        node[path[^1]] = value;
    }

    /// <summary>Turns System.Text.Json's messages into "key 'train.settings.epoch' …".</summary>
    private static string Describe(JsonException e)
    {
        var key = (e.Path ?? "$").TrimStart('$').TrimStart('.');
        if (e.Message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            var start = e.Message.IndexOf('\'');
            var end = start < 0 ? -1 : e.Message.IndexOf('\'', start + 1);
            var name = end > start ? e.Message[(start + 1)..end] : "?";
            var full = key.EndsWith(name, StringComparison.Ordinal) ? key : key.Length == 0 ? name : $"{key}.{name}";
            return $"unknown key '{full}' (misspelled, or not a setting of this section)";
        }

        if (e.Message.Contains("missing required properties", StringComparison.OrdinalIgnoreCase))
            return $"missing required key in '{(key.Length == 0 ? "(top level)" : key)}': {e.Message}";
        return $"key '{key}' has a value of the wrong type or form ({e.Message.Split(". Path:")[0]})";
    }

    private void Validate(string file)
    {
        void Check(bool ok, string key, string problem)
        {
            if (!ok) throw new FormatException($"{file}: key '{key}' {problem}");
        }

        Check(IsValidName(Name), "name", $"'{Name}' must be lower-case letters, digits and '-'");
        Check(Fingerprints.Count > 0 || Model == ModelFamily.Dmpnn, "fingerprints", "must list at least one ECFP setting for the FCNN");
        foreach (var f in Fingerprints)
        {
            try
            {
                var spec = FingerprintSpec.Parse(f);
                Check(spec.Radius is >= 1 and <= 10 && spec.Bits is >= 64 and <= 1 << 20, "fingerprints", $"'{f}' is out of range (radius 1–10, 64–1,048,576 bits)");
            }
            catch (FormatException e)
            {
                throw new FormatException($"{file}: key 'fingerprints' {e.Message}");
            }
        }

        Train.Validate(file, "train", Model);
        if (Model == ModelFamily.Fcnn)
        {
            Check(Sweep is not null, "sweep", "is required for model 'fcnn' (Table-1 configs to compare)");
            Sweep!.Validate(file, "sweep");
            var configs = Sweep.SweepConfigs();
            var missing = configs.Select(c => c.Fingerprint.Name).Distinct().Where(n => !Fingerprints.Contains(n)).ToList();
            Check(missing.Count == 0, "fingerprints", $"lacks {string.Join(", ", missing)}, needed by the sweep's configs");
        }
        else
        {
            Check(Sweep is null, "sweep", "is an FCNN setting; model 'dmpnn' trains the architecture in train.dmpnn (remove it)");
        }

        // The enum converter also reads integers; only the named policies mean something.
        Check(Enum.IsDefined(Intervals), "intervals", $"must be {string.Join(" or ", Enum.GetNames<IntervalPolicy>())}");
        Check(ScreenSettings.LithiumAbsoluteVolts is > 0 and < 10, "screen.lithiumAbsoluteVolts", "must be between 0 and 10 V");
        Check(double.IsFinite(ScreenSettings.CathodeMinimumVolts), "screen.cathodeMinimumVolts", "must be a number");
        if (ScreenSettings.ValidateScreening() is { } problem) Check(false, problem.Key, problem.Problem);
    }

    /// <summary>The canonical JSON of what this profile sets (after overrides), for reports and keys.</summary>
    public string CanonicalJson() => ContentHash.CanonicalJson(JsonSerializer.SerializeToNode(this, Json.Options));

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{RunName} ({Model})");
}

