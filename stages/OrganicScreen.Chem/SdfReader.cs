using System.Buffers;
using System.Text;

namespace OrganicScreen.Chem;

/// <summary>
/// One record of an SD file as RDKit reads it (<see cref="Rdkit.ReadSdf(Stream, int)"/>). <see cref="Index"/> is
/// 0-based in file order, <see cref="Line"/> the 1-based line of its header (name) line. Valid: <see cref="Name"/>
/// is RDKit's <c>_Name</c>, <see cref="Canonical"/> the canonical SMILES, <see cref="Properties"/> the data items
/// in file order (multi-line values joined with "\n"). Invalid: <see cref="Name"/> is the record's first line,
/// <see cref="Error"/> RDKit's reason (its line numbers are lines of the file), no properties.
/// </summary>
public sealed record SdfRecord(
    int Index,
    int Line,
    string Name,
    string? Canonical,
    string? Error,
    IReadOnlyList<KeyValuePair<string, string>> Properties)
{
    public bool IsValid => Error is null;
}

/// <summary>
/// Splits an SD file into records in managed code, streaming, and hands each record to RDKit's
/// ForwardSDMolSupplier through the shim. Memory is bounded by one record (at most maxRecordChars).
/// </summary>
internal static class SdfReader
{
    private const int BufferChars = 1 << 16;

    internal static IEnumerable<SdfRecord> Read(Stream sdf, int maxRecordChars)
    {
        // StreamReader decodes UTF-8 (BOM honoured); invalid bytes become U+FFFD rather than failing the file.
        using var reader = new StreamReader(sdf, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, BufferChars, leaveOpen: true);
        var block = new StringBuilder();
        var buffer = new char[BufferChars];
        var index = 0;
        var linesRead = 0;   // complete lines consumed so far
        var linesBefore = 0; // lines before the current record
        var oversized = false;
        var column = 0;      // characters so far on the current line
        var dollars = 0;     // leading '$' characters on the current line
        int read;
        while ((read = reader.Read(buffer, 0, buffer.Length)) > 0)
        {
            for (var k = 0; k < read; k++)
            {
                var c = buffer[k];
                if (block.Length < maxRecordChars) block.Append(c);
                else oversized = true;
                if (c != '\n')
                {
                    if (c == '$' && dollars == column) dollars++;
                    column++;
                    continue;
                }
                linesRead++;
                // RDKit ends a record at a line that starts with "$$$$" (rest of the line ignored).
                if (dollars >= 4)
                {
                    yield return Finish(block, index++, linesBefore, oversized, maxRecordChars);
                    block.Clear();
                    oversized = false;
                    linesBefore = linesRead;
                }
                column = dollars = 0;
            }
        }
        // A last record without "$$$$" is still a record (RDKit reads it); trailing blank lines are not.
        if (oversized || !IsBlank(block))
            yield return Finish(block, index, linesBefore, oversized, maxRecordChars);
    }

    private static bool IsBlank(StringBuilder block)
    {
        foreach (var chunk in block.GetChunks())
            if (chunk.Span.IndexOfAnyExcept(" \t\r\n") >= 0) return false;
        return true;
    }

    private static SdfRecord Finish(StringBuilder block, int index, int linesBefore, bool oversized, int maxRecordChars)
    {
        var text = block.ToString();
        if (!oversized) return Parse(text, index, linesBefore);
        var name = text.AsSpan(0, Math.Max(0, text.IndexOf('\n'))).TrimEnd('\r').ToString();
        return new SdfRecord(index, linesBefore + 1, name, null,
            $"SDF record starting on line {linesBefore + 1} is longer than {maxRecordChars} characters; not passed to RDKit",
            []);
    }

    /// <summary>One record through osr_sdf_record; the reply is NUL-terminated fields (see osrdkit.h).</summary>
    private static unsafe SdfRecord Parse(string block, int index, int linesBefore)
    {
        var utf8 = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(block.Length));
        try
        {
            var length = Encoding.UTF8.GetBytes(block, utf8);
            int status, textLength, fieldCount;
            nint text;
            fixed (byte* p = utf8)
                status = NativeMethods.SdfRecord(p, length, linesBefore, out text, out textLength, out fieldCount);
            if (status < 0) throw NativeMethods.Failure(status, nameof(Rdkit.ReadSdf));
            string[] fields;
            try
            {
                fields = new string[fieldCount];
                var rest = new ReadOnlySpan<byte>((void*)text, textLength);
                for (var f = 0; f < fieldCount; f++)
                {
                    var end = rest.IndexOf((byte)0);
                    fields[f] = Encoding.UTF8.GetString(rest[..end]);
                    rest = rest[(end + 1)..];
                }
            }
            finally
            {
                NativeMethods.Free(text);
            }
            if (status != NativeMethods.ValidMolecule)
                return new SdfRecord(index, linesBefore + 1, fields[0], null, fields[1], []);
            var properties = new KeyValuePair<string, string>[(fieldCount - 2) / 2];
            for (var i = 0; i < properties.Length; i++)
                properties[i] = new(fields[2 + 2 * i], fields[3 + 2 * i]);
            return new SdfRecord(index, linesBefore + 1, fields[0], fields[1], null, Array.AsReadOnly(properties));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(utf8);
        }
    }
}
