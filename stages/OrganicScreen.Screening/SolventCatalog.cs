using System.Globalization;
using System.Text.Json;

namespace OrganicScreen.Screening;

/// <summary>
/// A literature value with where it came from. Every limit in <c>data/solvents.json</c> carries one so that a
/// reviewer can trace each screening boundary back to a source rather than to this code.
/// </summary>
/// <param name="Volts">The value, in volts vs Li/Li+.</param>
/// <param name="Citation">Where the pipeline took the value from (required).</param>
/// <param name="PrimarySource">The original measurement, when known and different from <paramref name="Citation"/>.</param>
public sealed record CitedPotential(double Volts, string Citation, string? PrimarySource)
{
    public Potential Potential => new(Volts, PotentialScale.Lithium);
}

/// <summary>
/// The electrochemical stability window of an electrolyte solvent, vs Li/Li+: below
/// <see cref="ReductionLimit"/> the solvent is reduced, above <see cref="OxidationLimit"/> it is oxidised.
/// </summary>
public sealed record SolventWindow(string Name, CitedPotential ReductionLimit, CitedPotential OxidationLimit);

/// <summary>A current collector and the potential (vs Li/Li+) above which it corrodes.</summary>
public sealed record CurrentCollector(string Name, CitedPotential OxidationLimit);

/// <summary>Raised when <c>solvents.json</c> is malformed; the message names the file and the JSON path.</summary>
public sealed class SolventCatalogException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The solvents and current collectors screening may use, loaded from <c>data/solvents.json</c>.
/// All potentials are on the Li/Li+ scale (the file states this in its <c>scale</c> field and the loader
/// refuses anything else, so a file written on the SHE scale cannot be misread silently).
/// </summary>
public sealed record SolventCatalog(IReadOnlyList<SolventWindow> Solvents, IReadOnlyList<CurrentCollector> CurrentCollectors)
{
    public const string ExpectedScale = "Li/Li+";

    public static SolventCatalog Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SolventCatalogException($"Cannot read solvent catalog '{path}': {e.Message}", e);
        }
        return Parse(text, path);
    }

    /// <param name="json">File contents.</param>
    /// <param name="sourceName">Used only in error messages (normally the file path).</param>
    public static SolventCatalog Parse(string json, string sourceName = "solvents.json")
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new SolventCatalogException($"{sourceName}: not valid JSON ({e.Message}).", e);
        }

        using (document)
        {
            var reader = new Reader(sourceName);
            var root = document.RootElement;
            reader.Expect(root, JsonValueKind.Object, "$");
            var scale = reader.RequiredString(root, "scale", "$");
            if (scale != ExpectedScale)
                throw reader.Error("$.scale", $"must be \"{ExpectedScale}\" (all limits are vs Li/Li+), found \"{scale}\"");

            var solvents = new List<SolventWindow>();
            var solventArray = reader.Required(root, "solvents", "$", JsonValueKind.Array);
            var i = 0;
            foreach (var item in solventArray.EnumerateArray())
            {
                var at = $"$.solvents[{i++}]";
                reader.Expect(item, JsonValueKind.Object, at);
                var name = reader.RequiredString(item, "name", at);
                var red = reader.Cited(item, "reductionLimit", at);
                var ox = reader.Cited(item, "oxidationLimit", at);
                if (red.Volts >= ox.Volts)
                    throw reader.Error(at, string.Create(CultureInfo.InvariantCulture,
                        $"solvent '{name}' has reductionLimit {red.Volts} V ≥ oxidationLimit {ox.Volts} V; the window would be empty"));
                solvents.Add(new SolventWindow(name, red, ox));
            }
            if (solvents.Count == 0) throw reader.Error("$.solvents", "must list at least one solvent");
            reader.Unique(solvents.Select(s => s.Name), "$.solvents");

            var collectors = new List<CurrentCollector>();
            if (root.TryGetProperty("currentCollectors", out var collectorArray))
            {
                reader.Expect(collectorArray, JsonValueKind.Array, "$.currentCollectors");
                i = 0;
                foreach (var item in collectorArray.EnumerateArray())
                {
                    var at = $"$.currentCollectors[{i++}]";
                    reader.Expect(item, JsonValueKind.Object, at);
                    collectors.Add(new CurrentCollector(reader.RequiredString(item, "name", at), reader.Cited(item, "oxidationLimit", at)));
                }
                reader.Unique(collectors.Select(c => c.Name), "$.currentCollectors");
            }
            return new SolventCatalog(solvents, collectors);
        }
    }

    /// <summary>Looks a solvent up by name (case-insensitive); the error lists the names that exist.</summary>
    public SolventWindow Solvent(string name) =>
        Solvents.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new KeyNotFoundException(
            $"Solvent '{name}' is not in the catalog. Known solvents: {string.Join(", ", Solvents.Select(s => s.Name))}.");

    /// <summary>Looks a current collector up by name (case-insensitive); the error lists the names that exist.</summary>
    public CurrentCollector Collector(string name) =>
        CurrentCollectors.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new KeyNotFoundException(
            $"Current collector '{name}' is not in the catalog. Known collectors: {string.Join(", ", CurrentCollectors.Select(c => c.Name))}.");

    /// <summary>Validation helpers that carry the source name so every message points at file and JSON path.</summary>
    private sealed class Reader(string sourceName)
    {
        public SolventCatalogException Error(string path, string message) => new($"{sourceName}: {path} {message}.");

        public void Expect(JsonElement element, JsonValueKind kind, string path)
        {
            if (element.ValueKind != kind)
                throw Error(path, $"must be a JSON {kind.ToString().ToLowerInvariant()}, found {element.ValueKind.ToString().ToLowerInvariant()}");
        }

        public JsonElement Required(JsonElement parent, string property, string path, JsonValueKind kind)
        {
            if (!parent.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null)
                throw Error($"{path}.{property}", "is missing");
            Expect(value, kind, $"{path}.{property}");
            return value;
        }

        public string RequiredString(JsonElement parent, string property, string path)
        {
            var text = Required(parent, property, path, JsonValueKind.String).GetString()!;
            if (string.IsNullOrWhiteSpace(text)) throw Error($"{path}.{property}", "must not be empty");
            return text;
        }

        public CitedPotential Cited(JsonElement parent, string property, string path)
        {
            var at = $"{path}.{property}";
            var obj = Required(parent, property, path, JsonValueKind.Object);
            var volts = Required(obj, "volts", at, JsonValueKind.Number).GetDouble();
            if (!double.IsFinite(volts)) throw Error($"{at}.volts", "must be a finite number");
            var citation = RequiredString(obj, "citation", at);
            string? primary = null;
            if (obj.TryGetProperty("primarySource", out var p) && p.ValueKind != JsonValueKind.Null)
            {
                Expect(p, JsonValueKind.String, $"{at}.primarySource");
                primary = string.IsNullOrWhiteSpace(p.GetString()) ? null : p.GetString();
            }
            return new CitedPotential(volts, citation, primary);
        }

        public void Unique(IEnumerable<string> names, string path)
        {
            var duplicate = names.GroupBy(n => n, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null) throw Error(path, $"lists '{duplicate.Key}' more than once");
        }
    }
}
