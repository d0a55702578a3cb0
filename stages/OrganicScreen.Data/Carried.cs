using System.Globalization;

namespace OrganicScreen.Data;

/// <summary>
/// Source values a dataset carries alongside IE and EA (OMEAD's capacity, redox centres, stability flag and
/// frontier orbitals). They are not learned; they travel with each molecule into molecules.parquet so
/// screening can use them. Null where the dataset does not carry the property or the source row has no value.
/// </summary>
/// <param name="CapacityMahG">Theoretical specific capacity, mAh/g (<c>capacity_mah_g</c>).</param>
/// <param name="RedoxCenters">Anticipated redox centres (<c>redox_centers</c>).</param>
/// <param name="RedoxStable">True when the molecule keeps its bonds on oxidation/reduction (<c>redox_stable</c>).</param>
/// <param name="HomoHartree">HOMO energy, Hartree (<c>homo_hartree</c>).</param>
/// <param name="LumoHartree">LUMO energy, Hartree (<c>lumo_hartree</c>).</param>
public sealed record CarriedValues(
    double? CapacityMahG = null,
    int? RedoxCenters = null,
    bool? RedoxStable = null,
    double? HomoHartree = null,
    double? LumoHartree = null)
{
    public static CarriedValues Empty { get; } = new();

    public bool IsEmpty => this == Empty;
}

/// <summary>
/// The properties a manifest's <c>carry</c> section may fill, with their types. The set is fixed because
/// Parquet.Net serialises row classes: each property is one optional column of molecules.parquet (snake_case,
/// the same name as the manifest key). Adding a property means adding it here, to <see cref="CarriedValues"/>
/// and to the molecules table.
/// </summary>
public static class CarriedProperties
{
    public const string CapacityMahG = "capacity_mah_g";
    public const string RedoxCenters = "redox_centers";
    public const string RedoxStable = "redox_stable";
    public const string HomoHartree = "homo_hartree";
    public const string LumoHartree = "lumo_hartree";

    public const string Double = "double";
    public const string Int = "int";
    public const string Bool = "bool";

    /// <summary>Property name → type (<c>double</c>, <c>int</c>, <c>bool</c>).</summary>
    public static IReadOnlyDictionary<string, string> Types { get; } = new Dictionary<string, string>
    {
        [CapacityMahG] = Double,
        [RedoxCenters] = Int,
        [RedoxStable] = Bool,
        [HomoHartree] = Double,
        [LumoHartree] = Double,
    };

    internal static void Validate(string name, CarriedColumn column, string path)
    {
        if (!Types.TryGetValue(name, out var type))
            throw new DatasetException($"{path}: carry '{name}' is not a known property (known: {string.Join(", ", Types.Keys)})");
        if (string.IsNullOrWhiteSpace(column.Column)) throw new DatasetException($"{path}: carry '{name}' names no column");
        if (column.Type != type)
            throw new DatasetException($"{path}: carry '{name}' has type '{column.Type}'; the property is a {type}");
    }

    /// <summary>
    /// Parses one row's carried text. Empty, <c>null</c>, <c>None</c> and <c>NaN</c> are missing (null, not a problem);
    /// anything else that does not parse is null and named in <c>Invalid</c> so the molecule can be flagged.
    /// Booleans accept yes/no, true/false, 1/0 (any case); integers accept an integral number such as <c>2.0</c>.
    /// </summary>
    public static (CarriedValues Values, IReadOnlyList<string> Invalid) Parse(IReadOnlyDictionary<string, string?>? texts)
    {
        if (texts is null || texts.Count == 0) return (CarriedValues.Empty, []);
        var invalid = new List<string>();
        T? Get<T>(string name, Func<string, T?> parse) where T : struct
        {
            if (!texts.TryGetValue(name, out var text) || IsMissing(text)) return null;
            var value = parse(text!.Trim());
            if (value is null) invalid.Add(name);
            return value;
        }

        var values = new CarriedValues(
            Get(CapacityMahG, ParseDouble),
            Get(RedoxCenters, ParseInt),
            Get(RedoxStable, ParseBool),
            Get(HomoHartree, ParseDouble),
            Get(LumoHartree, ParseDouble));
        return (values, invalid);
    }

    /// <summary>
    /// One molecule's values from its merged rows: the mean of the rows that have a value for doubles,
    /// the first row (in source order) that has a value for integers and booleans.
    /// </summary>
    public static CarriedValues Merge(IReadOnlyList<CarriedValues> rows) => rows.Count switch
    {
        0 => CarriedValues.Empty,
        1 => rows[0],
        _ => new CarriedValues(
            Mean(rows.Select(r => r.CapacityMahG)),
            rows.Select(r => r.RedoxCenters).FirstOrDefault(v => v is not null),
            rows.Select(r => r.RedoxStable).FirstOrDefault(v => v is not null),
            Mean(rows.Select(r => r.HomoHartree)),
            Mean(rows.Select(r => r.LumoHartree))),
    };

    private static double? Mean(IEnumerable<double?> values)
    {
        var present = values.OfType<double>().ToList();
        return present.Count == 0 ? null : present.Average();
    }

    private static bool IsMissing(string? text) =>
        string.IsNullOrWhiteSpace(text) || text.Trim().ToLowerInvariant() is "null" or "none" or "nan";

    private static double? ParseDouble(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) ? value : null;

    private static int? ParseInt(string text)
    {
        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)) return value;
        return ParseDouble(text) is { } d && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue ? (int)d : null;
    }

    private static bool? ParseBool(string text) => text.ToLowerInvariant() switch
    {
        "yes" or "true" or "1" => true,
        "no" or "false" or "0" => false,
        _ => null,
    };
}
