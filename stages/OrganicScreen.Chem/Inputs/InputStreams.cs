namespace OrganicScreen.Chem.Inputs;

/// <summary>Counts the bytes read through it (progress of a streamed file, compressed or not).</summary>
internal sealed class CountingStream(Stream inner, bool leaveOpen) : Stream
{
    private long read;

    public long BytesRead => Interlocked.Read(ref read);

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => BytesRead;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await inner.ReadAsync(buffer, cancellationToken));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !leaveOpen) inner.Dispose();
        base.Dispose(disposing);
    }

    private int Count(int n)
    {
        Interlocked.Add(ref read, n);
        return n;
    }
}

/// <summary>
/// Lets a reader look at the first bytes of a stream (gzip magic, format sniffing) and then read the stream
/// from its start, without seeking (standard input cannot seek).
/// </summary>
internal sealed class PeekStream(Stream inner) : Stream
{
    private byte[] head = [];
    private int at;

    /// <summary>Up to <paramref name="count"/> first bytes (fewer at end of stream); reading later starts before them.</summary>
    public ReadOnlySpan<byte> Peek(int count)
    {
        if (at != 0) throw new InvalidOperationException("Peek only before reading.");
        if (head.Length < count)
        {
            var buffer = new byte[count];
            head.CopyTo(buffer, 0);
            var filled = head.Length;
            while (filled < count)
            {
                var n = inner.Read(buffer, filled, count - filled);
                if (n == 0) break;
                filled += n;
            }

            head = buffer[..filled];
        }

        return head.AsSpan(0, Math.Min(count, head.Length));
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (at < head.Length)
        {
            var n = Math.Min(buffer.Length, head.Length - at);
            head.AsSpan(at, n).CopyTo(buffer);
            at += n;
            return n;
        }

        return inner.Read(buffer);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (at < head.Length) return Read(buffer.Span);
        return await inner.ReadAsync(buffer, cancellationToken);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>
/// Reads lines of at most <c>maxChars</c> characters from a text reader: a longer line is skipped to its end
/// without being held in memory and reported as too long, so one endless line cannot exhaust memory.
/// "\n", "\r\n" and "\r" end lines.
/// </summary>
internal sealed class BoundedLineReader(TextReader reader, int maxChars)
{
    private readonly System.Text.StringBuilder line = new();

    /// <summary>The next line (null at end of input); <paramref name="tooLong"/> when it exceeded the limit (the text is then empty).</summary>
    public string? ReadLine(out bool tooLong)
    {
        line.Clear();
        tooLong = false;
        var any = false;
        while (true)
        {
            var c = reader.Read();
            if (c < 0) return any ? Finish(tooLong) : null;
            any = true;
            if (c == '\n') return Finish(tooLong);
            if (c == '\r')
            {
                if (reader.Peek() == '\n') reader.Read();
                return Finish(tooLong);
            }

            if (tooLong) continue;
            if (line.Length >= maxChars)
            {
                tooLong = true;
                line.Clear();
                continue;
            }

            line.Append((char)c);
        }
    }

    private string Finish(bool tooLong) => tooLong ? "" : line.ToString();
}
