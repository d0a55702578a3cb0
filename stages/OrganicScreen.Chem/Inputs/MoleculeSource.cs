using System.Globalization;
using System.IO.Compression;
using System.Text;
using CsvHelper;
using OrganicScreen.Core;

namespace OrganicScreen.Chem.Inputs;

/// <summary>The molecule file formats <see cref="MoleculeSource"/> reads.</summary>
public enum MoleculeFormat
{
    /// <summary>One SMILES per line, optionally followed by white space and a name (the id); an optional "SMILES ..." title line.</summary>
    Smi,

    /// <summary>Comma-separated with a header line: a SMILES column, an optional id column, any other columns carried.</summary>
    Csv,

    /// <summary>As <see cref="Csv"/>, tab-separated.</summary>
    Tsv,

    /// <summary>SD file read by RDKit: the record's name line is the id, its data items are carried.</summary>
    Sdf,
}

/// <summary>How to read an input: the format (null: from the extension, else sniffed), and the columns to use.</summary>
/// <param name="SmilesColumn">CSV/TSV: the SMILES column (default: the first of smiles, canonical_smiles, smi; any case).</param>
/// <param name="IdColumn">CSV/TSV: the id column (default: id, name, identifier, title or compound_id if present). SDF: a data item to use as id instead of the name line.</param>
/// <param name="MaxLineChars">A longer line (.smi) or field (CSV) is not read: the line is rejected, the CSV stops with an error.</param>
public sealed record MoleculeInputOptions(MoleculeFormat? Format = null, string? SmilesColumn = null, string? IdColumn = null, int MaxLineChars = MoleculeInputOptions.DefaultMaxLineChars)
{
    public const int DefaultMaxLineChars = 4 << 20;

    public static MoleculeFormat ParseFormat(string text) => text.Trim().ToLowerInvariant() switch
    {
        "smi" or "smiles" => MoleculeFormat.Smi,
        "csv" => MoleculeFormat.Csv,
        "tsv" => MoleculeFormat.Tsv,
        "sdf" or "sd" => MoleculeFormat.Sdf,
        _ => throw new InputFormatException($"unknown input format '{text}' (known: smi, csv, tsv, sdf)"),
    };
}

/// <summary>
/// One record of an input file, before RDKit has seen its SMILES.
/// </summary>
/// <param name="Row">Where it is: the 1-based line of a .smi or CSV file (a CSV's header is line 1), the 1-based record of an SD file.</param>
/// <param name="Id">The id the file gives (name after the SMILES, id column, SD name line); null when it gives none.</param>
/// <param name="Smiles">The SMILES as written (SD: RDKit's canonical SMILES of the record); null when <paramref name="Error"/> says why there is none.</param>
/// <param name="Carried">The values of <see cref="MoleculeSource.CarriedColumns"/>, in that order (null: absent in this row).</param>
/// <param name="Error">Why the record cannot be used before any chemistry (empty line, invalid UTF-8, malformed CSV row, SD record RDKit could not read).</param>
public sealed record InputMolecule(long Row, string? Id, string? Smiles, IReadOnlyList<string?> Carried, string? Error)
{
    public bool IsReadable => Error is null;
}

/// <summary>A problem with an input file as a whole (no SMILES column, unknown format, unreadable header): a user error.</summary>
public sealed class InputFormatException(string message) : Exception(message);

/// <summary>
/// Reads the molecule files people have, one reader for every command: .smi (optional names), CSV/TSV with a
/// header (SMILES and id columns by name, every other column carried), SD files (through RDKit), each optionally
/// gzip-compressed (by extension or by the gzip magic bytes), and "-" for standard input. Text is decoded as
/// UTF-8; a row with bytes that are not UTF-8 is returned with an error rather than with replacement characters.
/// Streams: memory holds one record, whatever the file size.
/// </summary>
public sealed class MoleculeSource : IDisposable
{
    /// <summary>The path that means standard input (or output).</summary>
    public const string StandardStream = "-";

    private const int SniffBytes = 64 * 1024;
    private static readonly string[] SmilesNames = ["smiles", "canonical_smiles", "smi"];
    private static readonly string[] IdNames = ["id", "name", "identifier", "title", "compound_id"];

    private readonly CountingStream counted;
    private readonly Stream content;
    private readonly MoleculeInputOptions options;
    private readonly Rdkit? rdkit;
    private readonly List<string> warnings = [];
    private readonly List<string> carried = [];
    private readonly string? sdfPath;
    private bool started;

    private MoleculeSource(string name, CountingStream counted, Stream content, MoleculeFormat format, bool compressed, long? length,
        MoleculeInputOptions options, Rdkit? rdkit, string? sdfPath)
    {
        Name = name;
        this.counted = counted;
        this.content = content;
        Format = format;
        Compressed = compressed;
        Length = length;
        this.options = options;
        this.rdkit = rdkit;
        this.sdfPath = sdfPath;
    }

    /// <summary>The path as given, or "standard input".</summary>
    public string Name { get; }

    public MoleculeFormat Format { get; }

    public bool Compressed { get; }

    /// <summary>Size of the file on disk (compressed size for gzip); null for standard input.</summary>
    public long? Length { get; }

    /// <summary>Bytes of the file (or standard input) consumed so far: progress against <see cref="Length"/>.</summary>
    public long BytesRead => counted.BytesRead;

    /// <summary>Columns (CSV/TSV) or SD data items carried into the output, in file order.</summary>
    public IReadOnlyList<string> CarriedColumns => carried;

    /// <summary>The header of the SMILES column (CSV/TSV), else null.</summary>
    public string? SmilesColumn { get; private set; }

    /// <summary>The header of the id column (CSV/TSV) or the SD item used as id, else null.</summary>
    public string? IdColumn { get; private set; }

    /// <summary>What a <see cref="InputMolecule.Row"/> counts: "line" or "record".</summary>
    public string RowLabel => Format == MoleculeFormat.Sdf ? "record" : "line";

    /// <summary>Things the reader noticed that did not stop it (e.g. an SD item missing from the output's columns).</summary>
    public IReadOnlyList<string> Warnings => warnings;

    /// <summary>The id a record is known by: its own, else "line&lt;n&gt;" / "record&lt;n&gt;".</summary>
    public string IdOf(InputMolecule molecule) => string.IsNullOrWhiteSpace(molecule.Id) ? $"{RowLabel}{molecule.Row}" : molecule.Id;

    /// <summary>
    /// Opens <paramref name="path"/> ("-": <paramref name="standardInput"/>, or the process's standard input) and
    /// works out its format and columns; CSV/TSV headers are read and checked here, so a wrong column name fails
    /// before any work. <paramref name="rdkit"/> is needed for SD files.
    /// </summary>
    public static MoleculeSource Open(string path, MoleculeInputOptions? options = null, Rdkit? rdkit = null, Stream? standardInput = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new MoleculeInputOptions();
        Stream raw;
        long? length = null;
        string name;
        if (path == StandardStream)
        {
            raw = standardInput ?? Console.OpenStandardInput();
            name = "standard input";
        }
        else
        {
            var full = Path.GetFullPath(path);
            if (Directory.Exists(full)) throw new InputFormatException($"input {path} is a directory, not a file");
            if (!File.Exists(full)) throw new FileNotFoundException($"input file not found: {full}", full);
            var file = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            length = file.Length;
            raw = file;
            name = path;
        }

        var counted = new CountingStream(raw, leaveOpen: false);
        var outer = new PeekStream(counted);
        Stream content = outer;
        var compressed = false;
        try
        {
            if (outer.Peek(2) is [0x1f, 0x8b])
            {
                compressed = true;
                content = new PeekStream(new GZipStream(outer, CompressionMode.Decompress));
            }

            var head = ((PeekStream)content).Peek(SniffBytes).ToArray();
            var extension = ExtensionFormat(path == StandardStream ? "" : path);
            var format = options.Format ?? Refine(extension, head, options) ?? Sniff(head, options);
            if (format == MoleculeFormat.Sdf && rdkit is null) throw new ArgumentException("reading an SD file needs an Rdkit instance", nameof(rdkit));
            var source = new MoleculeSource(name, counted, content, format, compressed, length, options, rdkit,
                format == MoleculeFormat.Sdf && path != StandardStream ? Path.GetFullPath(path) : null);
            source.Prepare();
            return source;
        }
        catch (InvalidDataException e)
        {
            content.Dispose();
            throw new InputFormatException($"{name}: not a readable gzip file ({e.Message})");
        }
        catch
        {
            content.Dispose();
            throw;
        }
    }

    /// <summary>The records in file order. Enumerate once.</summary>
    public IEnumerable<InputMolecule> Read(CancellationToken cancellation = default)
    {
        if (started) throw new InvalidOperationException("a MoleculeSource is read once");
        started = true;
        return Format switch
        {
            MoleculeFormat.Smi => ReadSmi(cancellation),
            MoleculeFormat.Csv or MoleculeFormat.Tsv => ReadDelimited(cancellation),
            _ => ReadSdf(cancellation),
        };
    }

    public void Dispose()
    {
        sdfRecords?.Dispose();
        sdfText?.Dispose();
        csvParser?.Dispose();
        textReader?.Dispose();
        content.Dispose();
    }

    // ---- format detection ------------------------------------------------------------------------

    /// <summary>The format an extension names (".gz" looked through), null when it names none.</summary>
    public static MoleculeFormat? ExtensionFormat(string path)
    {
        var file = Path.GetFileName(path).ToLowerInvariant();
        if (file.EndsWith(".gz", StringComparison.Ordinal)) file = file[..^3];
        return Path.GetExtension(file) switch
        {
            ".smi" or ".smiles" or ".ism" or ".can" => MoleculeFormat.Smi,
            ".csv" => MoleculeFormat.Csv,
            ".tsv" or ".tab" => MoleculeFormat.Tsv,
            ".sdf" or ".sd" or ".mol" => MoleculeFormat.Sdf,
            _ => null,
        };
    }

    /// <summary>
    /// A .smi whose first line is really a CSV/TSV header with a SMILES column ("id,smiles") is read as CSV/TSV:
    /// reading it as SMILES would reject every line.
    /// </summary>
    private static MoleculeFormat? Refine(MoleculeFormat? extension, byte[] head, MoleculeInputOptions options)
    {
        if (extension != MoleculeFormat.Smi) return extension;
        return HeaderFormat(FirstLine(head), options) ?? extension;
    }

    /// <summary>No extension to go by (standard input, .txt): SD markers, else a header with a SMILES column, else .smi.</summary>
    private static MoleculeFormat Sniff(byte[] head, MoleculeInputOptions options)
    {
        var text = Encoding.UTF8.GetString(head);
        if (text.Contains("\nM  END", StringComparison.Ordinal) || text.Contains("\n$$$$", StringComparison.Ordinal)
            || text.Contains(" V2000", StringComparison.Ordinal) || text.Contains(" V3000", StringComparison.Ordinal))
            return MoleculeFormat.Sdf;
        return HeaderFormat(FirstLine(head), options) ?? MoleculeFormat.Smi;
    }

    private static MoleculeFormat? HeaderFormat(string firstLine, MoleculeInputOptions options)
    {
        foreach (var (delimiter, format) in new[] { ('\t', MoleculeFormat.Tsv), (',', MoleculeFormat.Csv) })
        {
            if (!firstLine.Contains(delimiter)) continue;
            var names = firstLine.Split(delimiter).Select(n => n.Trim().Trim('"')).ToList();
            if (options.SmilesColumn is { } wanted ? names.Contains(wanted) : names.Any(n => SmilesNames.Contains(n, StringComparer.OrdinalIgnoreCase)))
                return format;
        }

        return null;
    }

    private static string FirstLine(byte[] head)
    {
        var text = Encoding.UTF8.GetString(head).TrimStart('\uFEFF');
        var end = text.IndexOfAny(['\r', '\n']);
        return end < 0 ? text : text[..end];
    }

    // ---- reading -----------------------------------------------------------------------------------

    private TextReader? textReader;
    private CsvParser? csvParser;
    private string[] header = [];
    private int smilesIndex = -1;
    private int idIndex = -1;
    private int[] carriedIndex = [];
    private long lastRawRow = 1;
    private string? badData;

    private void Prepare()
    {
        switch (Format)
        {
            case MoleculeFormat.Csv or MoleculeFormat.Tsv:
                PrepareDelimited();
                break;
            case MoleculeFormat.Sdf:
                PrepareSdf();
                break;
        }
    }

    private TextReader Text() => textReader ??= new StreamReader(content, InputText.Encoding, detectEncodingFromByteOrderMarks: false, 1 << 16, leaveOpen: true);

    private IEnumerable<InputMolecule> ReadSmi(CancellationToken cancellation)
    {
        var lines = new BoundedLineReader(new BomSkipper(Text()), options.MaxLineChars);
        long number = 0;
        while (lines.ReadLine(out var tooLong) is { } line)
        {
            cancellation.ThrowIfCancellationRequested();
            number++;
            if (tooLong)
            {
                yield return new InputMolecule(number, null, null, [], $"line is longer than {options.MaxLineChars:N0} characters; not read");
                continue;
            }

            var text = line.Trim();
            // RDKit's SmilesMolSupplier reads a title line by default; ours is recognised by its first word.
            if (number == 1 && text.Split((char[])[' ', '\t'], 2)[0].Equals("smiles", StringComparison.OrdinalIgnoreCase)) continue;
            if (text.Length == 0)
            {
                yield return new InputMolecule(number, null, "", [], "empty line");
                continue;
            }

            var cut = text.AsSpan().IndexOfAny(' ', '\t');
            var smiles = cut < 0 ? text : text[..cut];
            var id = cut < 0 ? null : text[(cut + 1)..].Trim();
            if (InputText.HasInvalidUtf8(text))
            {
                yield return new InputMolecule(number, id is null ? null : InputText.Displayable(id), InputText.Displayable(smiles), [], NotUtf8($"line {number}"));
                continue;
            }

            yield return new InputMolecule(number, string.IsNullOrEmpty(id) ? null : id, smiles, [], null);
        }
    }

    private void PrepareDelimited()
    {
        var delimiter = Format == MoleculeFormat.Tsv ? '\t' : ',';
        csvParser = Core.Csv.Parser(new BomSkipper(Text()), delimiter, args => badData = args.RawRecord, options.MaxLineChars);
        if (!ReadRecord()) throw new InputFormatException($"{Name}: empty file; a {Format.ToString().ToUpperInvariant()} file starts with a header line naming its columns");
        header = csvParser.Record!.Select(h => h.Trim()).ToArray();
        if (header.Any(InputText.HasInvalidUtf8)) throw new InputFormatException($"{Name}: the header line is not valid UTF-8 text; save the file as UTF-8");
        if (header.All(h => h.Length == 0)) throw new InputFormatException($"{Name}: the first line is empty; a {Format.ToString().ToUpperInvariant()} file starts with a header line naming its columns");
        var columns = string.Join(", ", header.Select(h => $"'{h}'"));
        smilesIndex = options.SmilesColumn is { } s
            ? Column(s) ?? throw new InputFormatException($"{Name}: no column '{s}' (--smiles-column); the header has {columns}")
            : SmilesNames.Select(Column).FirstOrDefault(i => i is not null)
              ?? throw new InputFormatException($"{Name}: no SMILES column (looked for {string.Join(", ", SmilesNames)}); the header has {columns}; name it with --smiles-column");
        idIndex = options.IdColumn is { } d
            ? Column(d) ?? throw new InputFormatException($"{Name}: no column '{d}' (--id-column); the header has {columns}")
            : IdNames.Select(Column).FirstOrDefault(i => i is not null && i != smilesIndex) ?? -1;
        SmilesColumn = header[smilesIndex];
        IdColumn = idIndex >= 0 ? header[idIndex] : null;
        carriedIndex = Enumerable.Range(0, header.Length).Where(i => i != smilesIndex && i != idIndex).ToArray();
        carried.AddRange(carriedIndex.Select(i => header[i].Length > 0 ? header[i] : $"column{i + 1}"));

        int? Column(string wanted)
        {
            var exact = Array.IndexOf(header, wanted);
            if (exact >= 0) return exact;
            var loose = Array.FindIndex(header, h => h.Equals(wanted, StringComparison.OrdinalIgnoreCase));
            return loose >= 0 ? loose : null;
        }
    }

    /// <summary>Reads the next CSV record; false at the end. A field over the size limit stops the file with a clear message.</summary>
    private bool ReadRecord()
    {
        try
        {
            badData = null;
            return csvParser!.Read();
        }
        catch (MaxFieldSizeException)
        {
            throw new InputFormatException($"{Name}: line {csvParser!.RawRow}: a field is longer than {options.MaxLineChars:N0} characters (an unclosed quote?); not read");
        }
    }

    private IEnumerable<InputMolecule> ReadDelimited(CancellationToken cancellation)
    {
        var parser = csvParser!;
        lastRawRow = parser.RawRow;
        while (ReadRecord())
        {
            cancellation.ThrowIfCancellationRequested();
            var row = lastRawRow + 1;
            lastRawRow = parser.RawRow;
            var fields = parser.Record!;
            string? At(int i) => i >= 0 && i < fields.Length ? fields[i] : null;
            var carriedValues = carriedIndex.Select(i => At(i) is { } v ? InputText.Displayable(v) : null).ToArray();
            var id = At(idIndex)?.Trim() is { Length: > 0 } x ? x : null;
            var smiles = At(smilesIndex)?.Trim();
            string? error = null;
            if (fields.Length == 1 && fields[0].Length == 0) error = "empty line";
            else if (badData is not null) error = "malformed CSV quoting (a quote inside an unquoted field, or text after a closing quote)";
            else if (fields.Length > header.Length) error = $"the row has {fields.Length} fields but the header has {header.Length} (a delimiter inside an unquoted field?)";
            else if (string.IsNullOrEmpty(smiles)) error = $"missing SMILES (column '{SmilesColumn}' is empty)";
            else if (Array.FindIndex(fields, InputText.HasInvalidUtf8) is var bad and >= 0)
                error = NotUtf8($"line {row}, column '{(bad < header.Length ? header[bad] : $"#{bad + 1}")}'");
            yield return new InputMolecule(row, id is null ? null : InputText.Displayable(id), smiles is null ? null : InputText.Displayable(smiles), carriedValues, error);
        }
    }

    private Stream? sdfText;
    private IEnumerator<SdfRecord>? sdfRecords;
    private SdfRecord? firstRecord;

    private void PrepareSdf()
    {
        IdColumn = options.IdColumn;
        // Invalid UTF-8 bytes reach RDKit as U+FFFF (re-encoded), so names and items that were not UTF-8 are caught when read.
        sdfText = Encoding.CreateTranscodingStream(content, InputText.Encoding, Encoding.UTF8, leaveOpen: true);
        sdfRecords = rdkit!.ReadSdf(sdfText).GetEnumerator();
        if (sdfPath is null)
        {
            // Standard input is read once: the first record's items make the columns (later new ones are reported).
            if (sdfRecords.MoveNext())
            {
                firstRecord = sdfRecords.Current;
                carried.AddRange(firstRecord.Properties.Select(p => p.Key).Distinct().Where(k => k != IdColumn));
            }

            return;
        }

        // A text-only pass over the data headers ("> <name>") so every item any record has gets a column.
        using var file = new FileStream(sdfPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        using var stream = Compressed ? (Stream)new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(stream, InputText.Encoding);
        // 0: molblock, 1: after "M  END" or a value's blank line (a "> <name>" header may come), 2: inside a value.
        var state = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
        {
            if (line.StartsWith("$$$$", StringComparison.Ordinal)) state = 0;
            else if (state == 0) state = line.StartsWith("M  END", StringComparison.Ordinal) ? 1 : 0;
            else if (state == 1 && line.StartsWith('>'))
            {
                state = 2;
                if (ItemName(line) is { } item && seen.Add(item)) carried.Add(InputText.Displayable(item));
            }
            else if (state == 2 && line.Trim().Length == 0) state = 1;
        }

        if (IdColumn is { } wanted && !seen.Contains(wanted))
            throw new InputFormatException($"{Name}: no SD data item '{wanted}' (--id-column); the file has {string.Join(", ", carried.Select(c => $"'{c}'"))}");
        if (IdColumn is not null) carried.Remove(IdColumn);
    }

    /// <summary>The name between '&lt;' and '&gt;' of an SD data header line, e.g. "&gt;  &lt;IE&gt;  (1)".</summary>
    private static string? ItemName(string line)
    {
        var open = line.IndexOf('<');
        var close = open < 0 ? -1 : line.IndexOf('>', open + 1);
        return close > open + 1 ? line[(open + 1)..close] : null;
    }

    private IEnumerable<InputMolecule> ReadSdf(CancellationToken cancellation)
    {
        var warned = new HashSet<string>(StringComparer.Ordinal);
        while (firstRecord is not null || sdfRecords!.MoveNext())
        {
            var record = firstRecord ?? sdfRecords!.Current;
            firstRecord = null;
            cancellation.ThrowIfCancellationRequested();
            var number = record.Index + 1L;
            var items = record.Properties.GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.First().Value, StringComparer.Ordinal);
            foreach (var key in items.Keys.Where(k => k != IdColumn && !carried.Contains(k) && warned.Add(k)))
                warnings.Add($"SD data item '{key}' (first in record {number}) is not in the first record; it is not carried");
            var name = IdColumn is { } item ? items.GetValueOrDefault(item) : record.Name;
            var id = string.IsNullOrWhiteSpace(name) ? null : name.Trim();
            var values = carried.Select(c => items.GetValueOrDefault(c)).ToArray();
            string? error = record.IsValid ? null : $"SD record RDKit cannot read (starts on line {record.Line}): {record.Error}";
            if (error is null && (InputText.HasInvalidUtf8(record.Name) || record.Properties.Any(p => InputText.HasInvalidUtf8(p.Key) || InputText.HasInvalidUtf8(p.Value))))
                error = NotUtf8($"record {number} (starts on line {record.Line})");
            yield return new InputMolecule(number, id is null ? null : InputText.Displayable(id), record.Canonical,
                values.Select(v => v is null ? null : InputText.Displayable(v)).ToArray(), error);
        }
    }

    private static string NotUtf8(string where) => $"not valid UTF-8 text at {where}; save the file as UTF-8 (the invalid bytes are shown as U+FFFD)";

    /// <summary>Drops a UTF-8 byte order mark at the very start (the decoder leaves it as U+FEFF).</summary>
    private sealed class BomSkipper(TextReader inner) : TextReader
    {
        private bool first = true;

        public override int Peek()
        {
            Skip();
            return inner.Peek();
        }

        public override int Read()
        {
            Skip();
            return inner.Read();
        }

        public override int Read(Span<char> buffer)
        {
            Skip();
            return inner.Read(buffer);
        }

        public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

        public override Task<int> ReadAsync(char[] buffer, int index, int count)
        {
            Skip();
            return inner.ReadAsync(buffer, index, count);
        }

        public override ValueTask<int> ReadAsync(Memory<char> buffer, CancellationToken cancellationToken = default)
        {
            Skip();
            return inner.ReadAsync(buffer, cancellationToken);
        }

        private void Skip()
        {
            if (!first) return;
            first = false;
            if (inner.Peek() == '\uFEFF') inner.Read();
        }
    }
}

/// <summary>Formatting of input-derived text for output files and messages.</summary>
public static class InputEcho
{
    /// <summary>Rejected input longer than this is shortened in outputs (the reason says why it was rejected).</summary>
    public const int MaxEchoChars = 200;

    /// <summary>The input as it goes back into an output cell: on one line, and shortened with its length when very long.</summary>
    public static string Of(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var one = text.Replace('\r', ' ').Replace('\n', ' ');
        return one.Length <= MaxEchoChars ? one : string.Create(CultureInfo.InvariantCulture, $"{one[..MaxEchoChars]}… ({one.Length:N0} characters)");
    }
}
