namespace OrganicScreen.Core;

/// <summary>
/// An exclusive lock held through an open file. On Linux .NET maps FileShare.None to an advisory
/// flock, which the kernel releases when the process dies, so a killed run never leaves a stale lock.
/// </summary>
public sealed class FileLock : IAsyncDisposable
{
    private readonly FileStream stream;

    private FileLock(FileStream stream) => this.stream = stream;

    public static async Task<FileLock> AcquireAsync(string path, IStageLog log, CancellationToken cancellation)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var warned = false;
        while (true)
        {
            try
            {
                return new FileLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException)
            {
                if (!warned) log.Info($"waiting for another run holding {Path.GetFileName(path)}");
                warned = true;
                await Task.Delay(200, cancellation);
            }
        }
    }

    /// <summary>The lock if nobody holds it now, else null (never waits).</summary>
    public static FileLock? TryAcquire(string path)
    {
        try
        {
            return new FileLock(new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException)
        {
            return null;
        }
    }

    public ValueTask DisposeAsync() => stream.DisposeAsync();
}

/// <summary>
/// Writes a file through a temporary sibling and a rename, so readers never see half a file. The temporary
/// file is removed whatever happens (an exception, cancellation by Ctrl-C or SIGTERM): the target is either the
/// old file or the complete new one, and no <c>*.tmp</c> stays behind.
/// </summary>
public static class AtomicFile
{
    public static async Task WriteAllTextAsync(string path, string text, CancellationToken cancellation = default)
    {
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            await File.WriteAllTextAsync(temp, text, cancellation);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            // Cancelled or failed: no temporary file is left beside the target.
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    public static async Task WriteAsync(string path, Func<Stream, Task> write)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
                await write(stream);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
