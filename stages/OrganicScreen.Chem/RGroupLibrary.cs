using System.Runtime.InteropServices;
using System.Text;

namespace OrganicScreen.Chem;

/// <summary>One entry of a cores or substituents file: its 1-based line, the SMILES and the optional name after it.</summary>
public sealed record LibraryEntry(int Line, string Smiles, string Name);

/// <summary>
/// Reads <c>.smi</c> files of cores and substituents: the SMILES is the first whitespace-separated token, the
/// rest of the line its name; blank lines and lines starting with <c>#</c> are comments.
/// </summary>
public static class LibraryEntryFile
{
    public static IReadOnlyList<LibraryEntry> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"file not found: {path}");
        var entries = new List<LibraryEntry>();
        var line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            var trimmed = text.Trim();
            if (trimmed.Length == 0 || trimmed.StartsWith('#')) continue;
            var split = trimmed.IndexOfAny([' ', '\t']);
            entries.Add(split < 0 ? new LibraryEntry(line, trimmed, "") : new LibraryEntry(line, trimmed[..split], trimmed[(split + 1)..].Trim()));
        }

        return entries;
    }
}

/// <summary>
/// Products of one <see cref="RGroupLibrary.Build"/> call, as the shim wrote them: per product a validity flag and
/// its UTF-8 text (canonical SMILES, or RDKit's error). Kept as bytes so a 10-million-molecule enumeration
/// hashes and writes them without making a string per molecule.
/// </summary>
public sealed class ProductBatch(byte[] text, int[] offsets, byte[] valid, int count)
{
    public int Count { get; } = count;

    public bool IsValid(int i) => valid[i] != 0;

    public ReadOnlySpan<byte> Utf8(int i) => text.AsSpan(offsets[i], offsets[i + 1] - offsets[i]);

    public string Text(int i) => Encoding.UTF8.GetString(Utf8(i));
}

/// <summary>
/// Redox-active cores with numbered attachment points (<c>[*:1]</c>…<c>[*:k]</c> on ring hydrogens) and
/// H-replacing substituents (<c>[*]X</c>), parsed once by RDKit in the shim. <see cref="Build"/> makes products:
/// each attachment point joined to a substituent or turned back into a hydrogen, sanitised, canonical SMILES.
/// </summary>
public sealed class RGroupLibrary : IDisposable
{
    private readonly LibraryHandle handle;

    private RGroupLibrary(LibraryHandle handle, IReadOnlyList<int> sites, IReadOnlyList<IReadOnlyList<int[]>> symmetries, int substituents)
    {
        this.handle = handle;
        Sites = sites;
        Symmetries = symmetries;
        SubstituentCount = substituents;
    }

    /// <summary>Attachment points of each core, in file order.</summary>
    public IReadOnlyList<int> Sites { get; }

    /// <summary>
    /// Per core, the permutations of its attachment points that its automorphisms induce (identity first):
    /// <c>p[j] = m</c> means point j+1 maps to point m+1. Assignments related by one make the same molecule.
    /// Only the identity for cores with stereo marks.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<int[]>> Symmetries { get; }

    public int SubstituentCount { get; }

    /// <summary>Parses the entries; a bad one throws <see cref="FormatException"/> naming its file and line.</summary>
    public static unsafe RGroupLibrary Create(IReadOnlyList<LibraryEntry> cores, IReadOnlyList<LibraryEntry> substituents,
        string coresName = "cores", string substituentsName = "substituents", SmilesLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(cores);
        ArgumentNullException.ThrowIfNull(substituents);
        _ = new Rdkit(limits ?? SmilesLimits.Default); // loads the shim and checks its ABI version
        var all = cores.Concat(substituents).ToList();
        string Where(int i) => i < cores.Count ? $"{coresName} line {cores[i].Line}" : $"{substituentsName} line {substituents[i - cores.Count].Line}";
        for (var i = 0; i < all.Count; i++)
            if (SmilesGuard.Check(all[i].Smiles, limits ?? SmilesLimits.Default) is { } reason)
                throw new FormatException($"{Where(i)}: {reason}");
        var utf8 = Encoding.UTF8.GetBytes(string.Concat(all.Select(e => e.Smiles)));
        var offsets = new int[all.Count + 1];
        for (var i = 0; i < all.Count; i++) offsets[i + 1] = offsets[i] + Encoding.UTF8.GetByteCount(all[i].Smiles);
        int status, bad, errorLength;
        nint library, error;
        fixed (byte* pUtf8 = utf8)
        fixed (int* pOffsets = offsets)
            status = NativeMethods.LibraryCreate(pUtf8, pOffsets, cores.Count, substituents.Count, out library, out bad, out error, out errorLength);
        if (status < 0) throw NativeMethods.Failure(status, nameof(Create));
        if (status == NativeMethods.InvalidMolecule)
        {
            var message = error == 0 ? "" : Marshal.PtrToStringUTF8(error, errorLength);
            NativeMethods.Free(error);
            throw new FormatException($"{Where(bad)}: {all[bad].Smiles}: {message}");
        }

        var owned = new LibraryHandle(library);
        var sites = Enumerable.Range(0, cores.Count).Select(c => NativeMethods.LibrarySites(library, c)).ToArray();
        var symmetries = new IReadOnlyList<int[]>[cores.Count];
        for (var c = 0; c < cores.Count; c++)
        {
            var count = NativeMethods.LibrarySitePermutations(library, c, null, 0);
            if (count < 0) throw NativeMethods.Failure(count, nameof(Create));
            var flat = new int[count * sites[c]];
            fixed (int* pFlat = flat)
                status = NativeMethods.LibrarySitePermutations(library, c, pFlat, flat.Length);
            if (status < 0) throw NativeMethods.Failure(status, nameof(Create));
            symmetries[c] = Enumerable.Range(0, count).Select(p => flat.AsSpan(p * sites[c], sites[c]).ToArray()).ToList().AsReadOnly();
        }

        return new RGroupLibrary(owned, Array.AsReadOnly(sites), Array.AsReadOnly(symmetries), substituents.Count);
    }

    /// <summary>
    /// Builds <paramref name="count"/> products on <paramref name="threads"/> threads (0 = all cores). Row i is
    /// <c>rows[i*width .. (i+1)*width)</c>: the core index, then per attachment point 1..width-1 a substituent
    /// index or -1 for hydrogen (points the core lacks must be -1). Results are in row order.
    /// </summary>
    /// <param name="fullSanitize">Run RDKit's full sanitizeMol on each product instead of the partial one (same SMILES; tests compare).</param>
    public unsafe ProductBatch Build(ReadOnlySpan<int> rows, int count, int width, int threads = 0, bool fullSanitize = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        if (rows.Length < (long)count * width) throw new ArgumentException("rows is shorter than count * width", nameof(rows));
        nint batch = 0;
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            int status;
            fixed (int* pRows = rows)
                status = NativeMethods.LibraryBuild(handle.DangerousGetHandle(), pRows, count, width, threads,
                    fullSanitize ? NativeMethods.FlagFullSanitize : NativeMethods.FlagNone, out batch);
            if (status < 0) throw NativeMethods.Failure(status, nameof(Build));
            var bytes = NativeMethods.BatchTextBytes(batch);
            if (bytes < 0) throw NativeMethods.Failure(bytes, nameof(Build));
            var text = new byte[bytes];
            var offsets = new int[count + 1];
            var valid = new byte[Math.Max(count, 1)];
            fixed (byte* pValid = valid)
            fixed (int* pOffsets = offsets)
            fixed (byte* pText = text)
                status = NativeMethods.BatchCopyText(batch, pValid, pOffsets, pText);
            if (status < 0) throw NativeMethods.Failure(status, nameof(Build));
            return new ProductBatch(text, offsets, valid, count);
        }
        finally
        {
            if (batch != 0) NativeMethods.BatchFree(batch);
            if (added) handle.DangerousRelease();
        }
    }

    public void Dispose() => handle.Dispose();

    private sealed class LibraryHandle : SafeHandle
    {
        public LibraryHandle(nint library) : base(0, ownsHandle: true) => SetHandle(library);

        public override bool IsInvalid => handle == 0;

        protected override bool ReleaseHandle()
        {
            NativeMethods.LibraryFree(handle);
            return true;
        }
    }
}
