using System.Text;
using System.Text.Json;
using OrganicScreen.Core;

namespace OrganicScreen.Data;

/// <summary>One input row as text, before any validation: nothing is parsed or dropped here.</summary>
/// <param name="Row">1-based row of the source: the line number in a CSV (header is line 1), the record number in JSON.</param>
/// <param name="Carried">Text of the manifest's carried columns, keyed by property name; null when the dataset carries none.</param>
/// <param name="Auxiliary">Text of the manifest's auxiliary-target columns, keyed by auxiliary name; null when the dataset has none.</param>
public sealed record RawRecord(int Row, string? Id, string? Smiles, string? Charge, string? Ie, string? Ea,
    IReadOnlyDictionary<string, string?>? Carried = null, IReadOnlyDictionary<string, string?>? Auxiliary = null);

/// <summary>Reads a dataset file in its source format into <see cref="RawRecord"/>s.</summary>
public static class RawRecordReader
{
    public static IEnumerable<RawRecord> Read(string path, DatasetSource source, DatasetManifest dataset, TargetVariant variant) =>
        source.FormatKind switch
        {
            SourceFormat.Csv or SourceFormat.Tsv => ReadCsv(path, source, dataset, variant),
            SourceFormat.MpJson => ReadMpJson(path, source, dataset, variant),
            _ => throw new DatasetException($"unsupported format {source.Format}"),
        };

    private static IEnumerable<RawRecord> ReadCsv(string path, DatasetSource source, DatasetManifest dataset, TargetVariant variant)
    {
        using var reader = new StreamReader(path, Encoding.UTF8);
        // Lenient like the old splitter: a stray quote keeps the field's text (the row's checks reject what is wrong).
        using var parser = Csv.Parser(reader, source.FormatKind == SourceFormat.Tsv ? '\t' : ',');
        if (!parser.Read()) throw new DatasetException($"{path}: empty file");
        var names = parser.Record!.Select(n => Rename(source, n.Trim())).ToList();
        int Column(string? name, bool required)
        {
            if (name is null) return -1;
            var index = names.IndexOf(name);
            if (index < 0 && required)
                throw new DatasetException($"{dataset.Name}: column '{name}' not found in {Path.GetFileName(path)} (columns: {string.Join(", ", names)})");
            return index;
        }

        var id = Column(dataset.Columns.Id, false);
        var smiles = Column(dataset.Columns.Smiles, true);
        var charge = Column(dataset.Columns.Charge, false);
        var ie = Column(variant.Ie.Column, true);
        var ea = Column(variant.Ea.Column, true);
        var carried = (dataset.Carry ?? new Dictionary<string, CarriedColumn>()).Select(c => (c.Key, Index: Column(c.Value.Column, true))).ToList();
        // Auxiliary columns are optional: a subset of a dataset without them still trains on IE and EA (Train says what it lacked).
        var auxiliary = (dataset.Auxiliary ?? new Dictionary<string, AuxiliaryColumn>()).Select(c => (c.Key, Index: Column(c.Value.Column, false))).Where(c => c.Index >= 0).ToList();
        var line = parser.RawRow;
        while (parser.Read())
        {
            // Row = the line the record starts on (a quoted field may span lines); a blank line is an empty record.
            var row = line + 1;
            line = parser.RawRow;
            var fields = parser.Record!;
            if (fields is [""]) fields = [];
            string? At(int i) => i >= 0 && i < fields.Length ? fields[i] : null;
            yield return new RawRecord(checked((int)row), At(id), At(smiles), At(charge), At(ie), At(ea),
                carried.Count == 0 ? null : carried.ToDictionary(c => c.Key, c => At(c.Index)),
                auxiliary.Count == 0 ? null : auxiliary.ToDictionary(c => c.Key, c => At(c.Index)));
        }
    }

    private static IEnumerable<RawRecord> ReadMpJson(string path, DatasetSource source, DatasetManifest dataset, TargetVariant variant)
    {
        using var stream = File.OpenRead(path);
        using var document = JsonDocument.Parse(stream, new JsonDocumentOptions { AllowTrailingCommas = true });
        var records = document.RootElement.ValueKind switch
        {
            JsonValueKind.Array => document.RootElement,
            // Some exports wrap the list: {"data": [...]} or {"molecules": [...]}.
            JsonValueKind.Object when document.RootElement.EnumerateObject().FirstOrDefault(p => p.Value.ValueKind == JsonValueKind.Array) is { Value.ValueKind: JsonValueKind.Array } p => p.Value,
            _ => throw new DatasetException($"{dataset.Name}: {Path.GetFileName(path)} is not a JSON array of records"),
        };
        var row = 0;
        foreach (var record in records.EnumerateArray())
        {
            row++;
            if (record.ValueKind != JsonValueKind.Object)
            {
                yield return new RawRecord(row, null, null, null, null, null);
                continue;
            }

            var fields = record.EnumerateObject().ToDictionary(p => Rename(source, p.Name), p => p.Value);
            string? Field(string? name) => name is not null && fields.TryGetValue(name, out var value) ? Text(value) : null;
            yield return new RawRecord(row, Field(dataset.Columns.Id), Field(dataset.Columns.Smiles), Field(dataset.Columns.Charge),
                Field(variant.Ie.Column), Field(variant.Ea.Column),
                dataset.Carry is { Count: > 0 } carry ? carry.ToDictionary(c => c.Key, c => Field(c.Value.Column)) : null,
                dataset.Auxiliary is { Count: > 0 } auxiliary ? auxiliary.ToDictionary(c => c.Key, c => Field(c.Value.Column)) : null);
        }
    }

    private static string? Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.String => value.GetString(),
        _ => value.GetRawText(),
    };

    private static string Rename(DatasetSource source, string name) =>
        source.Rename is not null && source.Rename.TryGetValue(name, out var renamed) ? renamed : name;
}
