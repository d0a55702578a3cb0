namespace OrganicScreen.Core;

/// <summary>
/// Names that become file and folder names (datasets, profiles): lower-case ASCII letters, digits and '-',
/// 1–64 characters, so a name can never climb out of its folder or mean something to a shell.
/// </summary>
public static class PlainNames
{
    public const string Rule = "lower-case letters, digits and '-' (1 to 64 characters)";

    public static bool IsValid(string? name) =>
        name is { Length: > 0 and <= 64 } && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');

    /// <summary>
    /// A valid name made from free text (e.g. a file stem): lower-cased, every run of other characters turned
    /// into one '-', '-' trimmed at both ends, cut to 64 characters; <paramref name="fallback"/> when nothing is left.
    /// </summary>
    public static string Sanitize(string text, string fallback = "dataset")
    {
        var chars = new System.Text.StringBuilder(text.Length);
        foreach (var c in text.ToLowerInvariant())
        {
            if (char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c)) chars.Append(c);
            else if (chars.Length > 0 && chars[^1] != '-') chars.Append('-');
        }

        var name = chars.ToString().Trim('-');
        if (name.Length > 64) name = name[..64].TrimEnd('-');
        return name.Length > 0 ? name : fallback;
    }
}

/// <summary>Paths compared as the file system sees them: full, with every symbolic link on the way resolved.</summary>
public static class PathIdentity
{
    /// <summary>
    /// The full path of <paramref name="path"/> with symbolic links resolved in every existing component
    /// (like realpath, but a missing tail is kept as written): two names of one file give the same string.
    /// </summary>
    public static string Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        var root = Path.GetPathRoot(full) ?? "/";
        var current = root;
        var parts = full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < parts.Length; i++)
        {
            var next = Path.Combine(current, parts[i]);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.Exists && info.LinkTarget is not null)
            {
                try
                {
                    next = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? next;
                }
                catch (IOException)
                {
                    // A link loop: leave the name as written; the caller's open will fail with the OS's message.
                }
            }

            current = next;
        }

        return current;
    }

    /// <summary>Whether two paths name the same file (after <see cref="Resolve"/>).</summary>
    public static bool Same(string a, string b) => string.Equals(Resolve(a), Resolve(b), StringComparison.Ordinal);

    /// <summary>Whether <paramref name="path"/> (resolved) lies inside <paramref name="folder"/> (resolved), or is it.</summary>
    public static bool IsInside(string path, string folder)
    {
        var p = Resolve(path);
        var f = Resolve(folder).TrimEnd(Path.DirectorySeparatorChar);
        return p == f || p.StartsWith(f + Path.DirectorySeparatorChar, StringComparison.Ordinal);
    }
}

/// <summary>
/// Decoding of text files people give us: UTF-8 (a BOM is honoured), and every invalid byte sequence becomes
/// <see cref="InvalidMarker"/> (U+FFFF, a noncharacter that never appears in real text) instead of the usual
/// U+FFFD, so readers can tell "this line was not UTF-8" from a replacement character the file really holds,
/// and reject the row with that reason instead of passing mangled text on.
/// </summary>
public static class InputText
{
    public const char InvalidMarker = '\uFFFF';

    public static System.Text.Encoding Encoding { get; } = Create();

    public static bool HasInvalidUtf8(string? text) => text is not null && text.Contains(InvalidMarker);

    /// <summary>Text for messages: the invalid-byte markers shown as U+FFFD.</summary>
    public static string Displayable(string text) => text.Replace(InvalidMarker, '\uFFFD');

    private static System.Text.Encoding Create()
    {
        var encoding = (System.Text.Encoding)new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false).Clone();
        encoding.DecoderFallback = new System.Text.DecoderReplacementFallback(InvalidMarker.ToString());
        return encoding;
    }
}
