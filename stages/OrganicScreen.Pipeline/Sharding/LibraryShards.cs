using System.Security.Cryptography;
using System.Text;
using OrganicScreen.Core;

namespace OrganicScreen.Pipeline.Sharding;

/// <summary>
/// One block of consecutive lines of a library. Offsets count bytes of the decompressed text, so a gzip library
/// shards like a plain one. <see cref="Sha256"/> hashes exactly those bytes: it is the shard's content identity.
/// </summary>
/// <param name="FirstLine">Lines before the shard (its first line is line FirstLine + 1 of the file).</param>
public sealed record ShardRange(int Index, long FirstLine, long Lines, long ByteOffset, long Bytes, string Sha256);

/// <summary>
/// Splits a SMILES library (UTF-8, plain or .gz) into line blocks and reads them back. Lines end where
/// <see cref="StreamReader.ReadLine"/> ends them (\n, \r\n or a lone \r), and each block is read back with a
/// StreamReader, so lines and line numbers are exactly those of the unsharded <c>screen</c>, whose ids are line numbers.
/// </summary>
public static class LibraryShards
{
    private const int BufferSize = 1 << 16;

    /// <summary>
    /// Cuts up to <paramref name="shards"/> blocks of whole groups of <paramref name="alignLines"/> lines, as even
    /// as that allows (fewer shards when there are fewer groups), in three streaming passes: count lines, find the
    /// block starts, hash the blocks. Memory does not grow with the file.
    /// </summary>
    /// <param name="alignLines">Shards start at multiples of this many lines (the prediction batch, so that every
    /// molecule is predicted in the same batch as in an unsharded run: GEMM rounding may depend on the batch).</param>
    public static IReadOnlyList<ShardRange> Plan(string path, int shards, int alignLines = 1, CancellationToken cancellation = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(alignLines, 1);
        var (total, size, _) = Scan(path, [], cancellation);
        var groups = (total + alignLines - 1) / alignLines;
        var count = (int)Math.Max(1, Math.Min(shards, groups));
        var firstLines = Enumerable.Range(0, count + 1).Select(i => Math.Min(total, groups * i / count * alignLines)).ToArray();
        var (_, _, inner) = Scan(path, firstLines[1..^1], cancellation);
        long[] offsets = [0, .. inner, size];

        var ranges = new List<ShardRange>(count);
        using var stream = GzipFiles.OpenRead(path);
        var buffer = new byte[BufferSize];
        for (var i = 0; i < count; i++)
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            for (var left = offsets[i + 1] - offsets[i]; left > 0;)
            {
                cancellation.ThrowIfCancellationRequested();
                var read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (read == 0) throw new InvalidDataException($"{path} changed while it was being split into shards");
                hash.AppendData(buffer, 0, read);
                left -= read;
            }

            ranges.Add(new ShardRange(i, firstLines[i], firstLines[i + 1] - firstLines[i], offsets[i], offsets[i + 1] - offsets[i],
                Convert.ToHexStringLower(hash.GetHashAndReset())));
        }

        return ranges;
    }

    /// <summary>
    /// The lines of <paramref name="shard"/>, read lazily; at the end the bytes' SHA-256 must equal the plan's,
    /// else <see cref="InvalidDataException"/> (the library changed since it was planned), so a shard's artifact is
    /// never built from other content than its key names.
    /// </summary>
    public static IEnumerable<string> ReadLines(string path, ShardRange shard)
    {
        using var file = GzipFiles.OpenRead(path);
        Skip(file, shard.ByteOffset);
        using var range = new HashingRange(file, shard.Bytes);
        // The unsharded screen's StreamReader(path, Encoding.UTF8) drops a UTF-8 byte-order mark at the start of
        // the file only; a U+FEFF at the start of a later shard is line text, so later shards decode without one.
        using (var reader = new StreamReader(range, shard.ByteOffset == 0 ? Encoding.UTF8 : new UTF8Encoding(false), shard.ByteOffset == 0, BufferSize, leaveOpen: true))
        {
            while (reader.ReadLine() is { } line) yield return line;
        }

        if (range.Remaining > 0 || range.Sha256() != shard.Sha256)
            throw new InvalidDataException($"{path} changed since it was split into shards (shard {shard.Index}, lines {shard.FirstLine + 1}-{shard.FirstLine + shard.Lines}); plan the screen again");
    }

    /// <summary>
    /// Lines (as StreamReader counts them), decompressed bytes, and for each of <paramref name="wanted"/> (ascending
    /// line counts) the byte offset where the line after that many lines starts.
    /// </summary>
    private static (long Lines, long Bytes, long[] Offsets) Scan(string path, long[] wanted, CancellationToken cancellation)
    {
        using var stream = GzipFiles.OpenRead(path);
        var buffer = new byte[BufferSize];
        var offsets = new long[wanted.Length];
        long position = 0, lines = 0, lineStart = 0;
        int next = 0, read, recordedAtCarriageReturn = -1;
        var afterCarriageReturn = false;
        while ((read = stream.Read(buffer)) > 0)
        {
            cancellation.ThrowIfCancellationRequested();
            if (position == 0) RejectUtf16(buffer.AsSpan(0, read), path);
            for (var i = 0; i < read; i++, position++)
            {
                var b = buffer[i];
                if (afterCarriageReturn)
                {
                    afterCarriageReturn = false;
                    if (b == '\n')
                    {
                        // \r\n is one terminator: the line after it starts one byte later.
                        lineStart = position + 1;
                        if (recordedAtCarriageReturn >= 0) offsets[recordedAtCarriageReturn] = lineStart;
                        continue;
                    }
                }

                if (b is not ((byte)'\n' or (byte)'\r')) continue;
                lines++;
                lineStart = position + 1;
                recordedAtCarriageReturn = -1;
                if (next < wanted.Length && lines == wanted[next])
                {
                    offsets[next] = lineStart;
                    if (b == '\r') recordedAtCarriageReturn = next;
                    next++;
                }

                afterCarriageReturn = b == '\r';
            }
        }

        // A last line without a terminator counts, unless all it holds is the byte-order mark StreamReader drops.
        var tail = position - lineStart;
        if (tail > 0 && !(lineStart == 0 && tail == 3 && StartsWithBom(path))) lines++;
        return (lines, position, offsets);
    }

    private static bool StartsWithBom(string path)
    {
        using var stream = GzipFiles.OpenRead(path);
        Span<byte> head = stackalloc byte[3];
        return stream.ReadAtLeast(head, 3, throwOnEndOfStream: false) == 3 && head.SequenceEqual(Encoding.UTF8.Preamble);
    }

    private static void RejectUtf16(ReadOnlySpan<byte> head, string path)
    {
        if (head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]) || head.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF]))
            throw new FormatException($"{path} is UTF-16 or UTF-32; a SMILES library must be UTF-8 (or ASCII) text");
    }

    private static void Skip(Stream stream, long bytes)
    {
        if (stream.CanSeek)
        {
            stream.Seek(bytes, SeekOrigin.Begin);
            return;
        }

        var buffer = new byte[BufferSize];
        while (bytes > 0)
        {
            var read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, bytes));
            if (read == 0) throw new InvalidDataException("the library is shorter than its shard plan");
            bytes -= read;
        }
    }

    /// <summary>A read-only view of the next <c>length</c> bytes of a stream that hashes what it passes on.</summary>
    private sealed class HashingRange(Stream inner, long length) : Stream
    {
        private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public long Remaining { get; private set; } = length;

        public string Sha256() => Convert.ToHexStringLower(hash.GetHashAndReset());

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (Remaining == 0) return 0;
            var read = inner.Read(buffer[..(int)Math.Min(buffer.Length, Remaining)]);
            hash.AppendData(buffer[..read]);
            Remaining -= read;
            return read;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) hash.Dispose();
            base.Dispose(disposing);
        }
    }
}
