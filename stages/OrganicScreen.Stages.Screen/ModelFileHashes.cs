using System.Security.Cryptography;
using System.Text;

namespace OrganicScreen.Stages;

/// <summary>
/// <c>files.sha256</c> in a model folder: the sha256 of every file in it, in <c>sha256sum</c> format
/// ("&lt;hex&gt;  &lt;relative path&gt;", paths with '/', sorted), so <c>predict</c> and <c>screen</c> refuse a model whose
/// weights, calibrations or card were changed or damaged after publishing, and users can check a copy with
/// <c>sha256sum -c files.sha256</c>.
/// </summary>
public static class ModelFileHashes
{
    public const string FileName = "files.sha256";

    /// <summary>Hashes every file of <paramref name="folder"/> (except the list itself) into <see cref="FileName"/>; called last when a model folder is written.</summary>
    public static void Write(string folder)
    {
        var text = new StringBuilder();
        foreach (var relative in Files(folder)) text.Append(Hash(Path.Combine(folder, relative))).Append("  ").Append(relative).Append('\n');
        File.WriteAllText(Path.Combine(folder, FileName), text.ToString(), new UTF8Encoding(false));
    }

    /// <summary>
    /// Checks <paramref name="folder"/> against its <see cref="FileName"/>: every listed file present with its hash,
    /// every present file listed, no listed path outside the folder. Any difference is a <see cref="FormatException"/>
    /// that names the file.
    /// </summary>
    public static void Verify(string folder)
    {
        var list = Path.Combine(folder, FileName);
        if (!File.Exists(list))
            throw new FormatException($"model folder {folder} has no {FileName}, so its files cannot be checked (published by an older version; re-run ./build.sh --target Screen)");
        var expected = new Dictionary<string, string>(StringComparer.Ordinal);
        var number = 0;
        foreach (var line in File.ReadLines(list))
        {
            number++;
            if (line.Length == 0) continue;
            var parts = line.Split("  ", 2);
            if (parts.Length != 2 || parts[0].Length != 64 || !parts[0].All(char.IsAsciiHexDigit) || !IsInside(folder, parts[1]) || !expected.TryAdd(parts[1], parts[0].ToLowerInvariant()))
                throw new FormatException($"{list} is damaged at line {number}");
        }

        var present = Files(folder).ToHashSet(StringComparer.Ordinal);
        var unlisted = present.Where(f => !expected.ContainsKey(f)).Order(StringComparer.Ordinal).ToList();
        if (unlisted.Count > 0) throw new FormatException($"model folder {folder} holds files its {FileName} does not list: {string.Join(", ", unlisted.Take(5))}");
        foreach (var (relative, hash) in expected)
        {
            if (!present.Contains(relative)) throw new FormatException($"model folder {folder} is incomplete: {relative} is missing");
            if (Hash(Path.Combine(folder, relative)) != hash)
                throw new FormatException($"model folder {folder} is damaged: {relative} does not match its sha256 in {FileName} (changed or truncated after publishing)");
        }
    }

    private static IEnumerable<string> Files(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(folder, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(f => f != FileName)
            .Order(StringComparer.Ordinal);

    private static bool IsInside(string folder, string relative)
    {
        var full = Path.GetFullPath(Path.Combine(folder, relative));
        return full.StartsWith(Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal);
    }

    private static string Hash(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
