using System.IO.Compression;

namespace OrganicScreen.Core;

/// <summary>
/// Plain or gzip-compressed text by file name (<c>.gz</c>). Written gzip is deterministic: .NET's GZipStream
/// writes a header with modification time 0 and no file name, so the same bytes in give the same file out.
/// </summary>
public static class GzipFiles
{
    public static bool IsGzip(string path) => path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);

    /// <summary>Reads <paramref name="path"/>, decompressing when its name ends in .gz.</summary>
    public static Stream OpenRead(string path)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return IsGzip(path) ? new GZipStream(file, CompressionMode.Decompress) : file;
    }

    /// <summary>Wraps <paramref name="stream"/> (left open) in a compressor when <paramref name="path"/> ends in .gz, else a buffer.</summary>
    public static Stream Wrap(Stream stream, string path) =>
        IsGzip(path)
            ? new BufferedStream(new GZipStream(stream, CompressionLevel.Optimal, leaveOpen: true), 1 << 16)
            : new BufferedStream(stream, 1 << 16);
}
