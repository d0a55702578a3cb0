using System.Globalization;
using System.Text;
using CsvHelper;
using CsvHelper.Configuration;

namespace OrganicScreen.Core;

/// <summary>
/// CSV/TSV through CsvHelper, configured once for the whole project. Writing: RFC 4180 with "\n" line ends,
/// invariant culture, and quotes exactly when a field holds the delimiter, a quote, CR or LF, or leading/trailing
/// white space (which spreadsheet readers would otherwise trim); inner quotes are doubled. Reading: RFC 4180,
/// blank lines kept (as one empty field) so row numbers match the file's lines, no trimming.
/// </summary>
public static class Csv
{
    /// <summary>Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection"): = + - @, tab and CR.</summary>
    private const string FormulaStarts = "=+-@\t\r";

    /// <summary>The writer configuration for <paramref name="delimiter"/> (',' for CSV, '\t' for TSV).</summary>
    public static CsvConfiguration WriterConfiguration(char delimiter = ',') => new(CultureInfo.InvariantCulture)
    {
        Delimiter = delimiter.ToString(),
        NewLine = "\n",
        ShouldQuote = args => NeedsQuotes(args.Field, delimiter),
        // Neutralising is a per-column decision (user text yes, our numbers no): see Neutralize.
        InjectionOptions = InjectionOptions.None,
    };

    /// <summary>The reader configuration: no header handling (callers read the first record as the header).</summary>
    public static CsvConfiguration ReaderConfiguration(char delimiter = ',', BadDataFound? badData = null, int maxFieldSize = 0) => new(CultureInfo.InvariantCulture)
    {
        Delimiter = delimiter.ToString(),
        HasHeaderRecord = false,
        IgnoreBlankLines = false,
        DetectColumnCountChanges = false,
        MissingFieldFound = null,
        BadDataFound = badData,
        TrimOptions = TrimOptions.None,
        MaxFieldSize = maxFieldSize,
    };

    /// <summary>A CSV writer over <paramref name="writer"/> (left open) with the project's quoting rule.</summary>
    public static CsvWriter Writer(TextWriter writer, char delimiter = ',') => new(writer, WriterConfiguration(delimiter), leaveOpen: true);

    /// <summary>A parser over <paramref name="reader"/> (left open); every record, the header included, comes from <see cref="CsvParser.Read"/>.</summary>
    public static CsvParser Parser(TextReader reader, char delimiter = ',', BadDataFound? badData = null, int maxFieldSize = 0) =>
        new(reader, ReaderConfiguration(delimiter, badData, maxFieldSize), leaveOpen: true);

    /// <summary>One field as the writer writes it (quoted when needed). Null is an empty field.</summary>
    public static string Escape(string? value, char delimiter = ',')
    {
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        using (var csv = Writer(text, delimiter))
        {
            csv.WriteField(value ?? "");
            csv.Flush();
        }

        return text.ToString();
    }

    /// <summary>Whether a field needs quotes: the delimiter, a quote, CR or LF inside, or white space at either end.</summary>
    public static bool NeedsQuotes(string? field, char delimiter = ',')
    {
        if (string.IsNullOrEmpty(field)) return false;
        var span = field.AsSpan();
        return span.IndexOfAny('"', '\r', '\n') >= 0 || span.IndexOf(delimiter) >= 0 || char.IsWhiteSpace(field[0]) || char.IsWhiteSpace(field[^1]);
    }

    /// <summary>
    /// Neutralises a text cell that came from a user (an id, a SMILES as typed, a name, a carried column) so that
    /// a spreadsheet shows it as text instead of evaluating it: a cell starting with = + - @ (or tab/CR) gets a
    /// leading apostrophe (OWASP CSV injection). Numbers the program writes are never passed here.
    /// </summary>
    public static string Neutralize(string? text) =>
        string.IsNullOrEmpty(text) || FormulaStarts.IndexOf(text[0]) < 0 ? text ?? "" : "'" + text;

    /// <summary>UTF-8 without a byte order mark, for every file we write.</summary>
    public static Encoding Utf8 { get; } = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
}
