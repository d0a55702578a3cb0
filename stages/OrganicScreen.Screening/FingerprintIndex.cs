using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text;
using OrganicScreen.Core;

namespace OrganicScreen.Screening;

/// <summary>
/// Training fingerprints indexed for the largest Tanimoto similarity of a query. The 256 most frequent bits (aromatic
/// carbon and the like, set in most molecules) are a 256-bit mask per molecule, counted with four popcounts; every other
/// bit has a posting list (bit → molecules), so a query touches only the molecules that share a rare bit with it and
/// then one pass computes every molecule's exact similarity. (With 64 mask bits, a generated library's molecules still
/// walked posting lists of thousands of molecules per bit; 256 cut the search about in half.) The masks are stored
/// in blocks of <see cref="BlockMolecules"/> molecules, word by word, so that one AVX-512 register holds the same word of
/// eight molecules and <see cref="Search{TVisitor}"/> counts eight molecules' shared frequent bits at once. On disk: "OSFP", version, radius, bits, count, row offsets
/// (int32), bit indices (uint16), little-endian.
/// </summary>
public sealed class FingerprintIndex
{
    /// <summary>
    /// The fingerprint every similarity is measured on, ECFP4 (Morgan radius 2, 2048 bits), whatever the model reads:
    /// the applicability domain and the adaptive intervals' difficulty must agree on it, since the second is fitted
    /// on the first's kind of numbers.
    /// </summary>
    public const int Radius = 2;

    /// <inheritdoc cref="Radius"/>
    public const int Bits = 2048;

    private const int Version = 1;
    private static readonly byte[] Magic = "OSFP"u8.ToArray();
    private readonly SparseBitMatrix rows;
    private readonly int[] postingOffsets;
    private readonly int[] postings;
    private const int DenseWords = 4;
    private readonly int[] denseSlot; // bit → 0..255 for the frequent bits, -1 otherwise
    private const int BlockMolecules = 8;
    private readonly ulong[] denseMasks; // DenseWords per molecule, in blocks: word w of molecule m at Word(m, w)
    private readonly int[] sizes;
    private readonly bool vectorised;

    private FingerprintIndex(SparseBitMatrix rows, bool vectorised)
    {
        this.vectorised = vectorised && Avx512BW.IsSupported && Avx512DQ.IsSupported;
        this.rows = rows;
        var frequency = new int[rows.Columns];
        foreach (var bit in rows.Indices) frequency[bit]++;
        denseSlot = Enumerable.Repeat(-1, rows.Columns).ToArray();
        var slot = 0;
        foreach (var bit in Enumerable.Range(0, rows.Columns).Where(b => frequency[b] > 0).OrderByDescending(b => frequency[b]).ThenBy(b => b).Take(64 * DenseWords))
            denseSlot[bit] = slot++;
        postingOffsets = new int[rows.Columns + 1];
        for (var b = 0; b < rows.Columns; b++) postingOffsets[b + 1] = postingOffsets[b] + (denseSlot[b] < 0 ? frequency[b] : 0);
        postings = new int[postingOffsets[^1]];
        denseMasks = new ulong[(rows.Rows + BlockMolecules - 1) / BlockMolecules * BlockMolecules * DenseWords];
        sizes = new int[rows.Rows];
        var next = postingOffsets[..^1].ToArray();
        for (var m = 0; m < rows.Rows; m++)
        {
            sizes[m] = rows.Offsets[m + 1] - rows.Offsets[m];
            foreach (var bit in rows.Row(m))
            {
                if (denseSlot[bit] is var d and >= 0) denseMasks[Word(m, d >> 6)] |= 1UL << (d & 63);
                else postings[next[bit]++] = m;
            }
        }
    }

    public int Count => rows.Rows;

    /// <summary>Whether the searches count eight molecules at once (AVX-512 present and not turned off).</summary>
    public bool IsVectorised => vectorised;

    public ReadOnlySpan<int> Row(int molecule) => rows.Row(molecule);

    /// <param name="vectorised">false: the scalar search even where AVX-512 exists (tests compare both).</param>
    public static FingerprintIndex Build(SparseBitMatrix fingerprints, bool vectorised = true) => new(fingerprints, vectorised);

    private static int Word(int molecule, int word) => ((molecule / BlockMolecules * DenseWords) + word) * BlockMolecules + molecule % BlockMolecules;

    /// <summary>Per-thread counters for <see cref="Nearest"/>.</summary>
    public sealed class Scratch(int count)
    {
        internal readonly int[] Shared = new int[count];
        internal readonly double[] All = new double[count];
    }

    /// <summary>The largest Tanimoto similarity of <paramref name="query"/> (distinct on-bits) to a molecule <paramref name="include"/> accepts (all when null), and which (-1: none shares a bit).</summary>
    public (double Similarity, int Neighbour) Nearest(ReadOnlySpan<int> query, Scratch scratch, Func<int, bool>? include)
    {
        var shared = scratch.Shared;
        CountShared(query, shared);
        // The best similarity so far is bestShared / bestUnion. Candidates are compared as fractions in integers
        // (c·bestUnion > bestShared·union), which is exact and avoids a division per training molecule: this loop
        // runs over every training molecule for every screened one. Returning the same fraction as a double gives
        // the same number as dividing each time and keeping the largest quotient.
        long bestShared = 0, bestUnion = 1;
        var neighbour = -1;
        for (var m = 0; m < shared.Length; m++)
        {
            var c = shared[m];
            shared[m] = 0;
            if (c == 0) continue;
            long union = query.Length + sizes[m] - c;
            if (c * bestUnion <= bestShared * union || (include is not null && !include(m))) continue;
            bestShared = c;
            bestUnion = union;
            neighbour = m;
        }

        return (bestShared == 0 ? 0 : (double)bestShared / bestUnion, neighbour);
    }

    /// <summary>The number of on-bits <paramref name="query"/> shares with every molecule, into <paramref name="shared"/> (which must hold zeros).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void CountShared(ReadOnlySpan<int> query, int[] shared)
    {
        var mask = CountRare(query, shared);
        var m = 0;
        if (vectorised)
        {
            // Integer counts, so the same numbers as the scalar loop: eight molecules' frequent bits at once.
            var words = (Vector512.Create(mask.W0), Vector512.Create(mask.W1), Vector512.Create(mask.W2), Vector512.Create(mask.W3));
            for (; m + BlockMolecules <= shared.Length; m += BlockMolecules)
                (Vector256.LoadUnsafe(ref shared[m]) + Avx512F.ConvertToVector256Int32(DenseCounts(words, m))).StoreUnsafe(ref shared[m]);
        }

        for (; m < shared.Length; m++) shared[m] += DenseShared(mask, m);
    }

    /// <summary>Counts the shared rare bits into <paramref name="shared"/> through the posting lists; returns the query's frequent bits as a mask.</summary>
    private DenseMask CountRare(ReadOnlySpan<int> query, int[] shared)
    {
        Span<ulong> mask = stackalloc ulong[DenseWords];
        foreach (var bit in query)
        {
            if ((uint)bit >= (uint)rows.Columns) continue;
            if (denseSlot[bit] is var d and >= 0)
            {
                mask[d >> 6] |= 1UL << (d & 63);
                continue;
            }

            for (var p = postingOffsets[bit]; p < postingOffsets[bit + 1]; p++) shared[postings[p]]++;
        }

        return new DenseMask(mask[0], mask[1], mask[2], mask[3]);
    }

    private readonly record struct DenseMask(ulong W0, ulong W1, ulong W2, ulong W3);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int DenseShared(DenseMask mask, int m)
    {
        var at = Word(m, 0);
        return System.Numerics.BitOperations.PopCount(mask.W0 & denseMasks[at]) + System.Numerics.BitOperations.PopCount(mask.W1 & denseMasks[at + BlockMolecules])
               + System.Numerics.BitOperations.PopCount(mask.W2 & denseMasks[at + 2 * BlockMolecules]) + System.Numerics.BitOperations.PopCount(mask.W3 & denseMasks[at + 3 * BlockMolecules]);
    }

    /// <summary>What <see cref="Search{TVisitor}"/> reports similarities to: only those above <see cref="Threshold"/>, in molecule order.</summary>
    public interface IVisitor
    {
        /// <summary>
        /// Similarities at or below this are of no use to the visitor. It may rise after each visit, never fall: the
        /// vectorised search rules eight molecules out at once against the threshold it had before visiting any of them.
        /// </summary>
        double Threshold { get; }

        void Visit(int molecule, double similarity);
    }

    private const double Margin = 1 - 1.0 / (1L << 40);

    /// <summary>
    /// Every molecule whose Tanimoto similarity to <paramref name="query"/> is above the visitor's threshold, to the
    /// visitor, in molecule order; returns the largest similarity, the number <see cref="Nearest"/> gives without a filter
    /// (division rounds monotonically, so the largest quotient is the rounded largest fraction). The similarity
    /// <c>c / (|q| + |m| − c)</c> is divided out only for molecules that could pass: the others are ruled out by one
    /// multiplication with a relative margin of 2⁻⁴⁰, far above the rounding of either side, so a visited molecule gets the
    /// very double <see cref="Similarities"/> computes and no molecule that would pass is skipped.
    /// <para>With AVX-512 the frequent bits of eight molecules are counted at once (nibble look-up popcounts, then one
    /// sum of bytes per molecule: .NET has no vector popcount instruction) and the eight are tested against the bound
    /// in doubles by the very expression of the scalar test. The bound only rises, so a molecule ruled out with the
    /// block's starting bound would be ruled out later too, and the few that pass go through the scalar test in order:
    /// the visits, and so the lists and similarities, are the scalar search's.</para>
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double Search<TVisitor>(ReadOnlySpan<int> query, Scratch scratch, ref TVisitor visitor) where TVisitor : struct, IVisitor
    {
        var shared = scratch.Shared;
        var mask = CountRare(query, shared);
        var state = new SearchState(query.Length, Math.Min(visitor.Threshold, 0.0));
        var m = 0;
        if (vectorised)
        {
            var words = (Vector512.Create(mask.W0), Vector512.Create(mask.W1), Vector512.Create(mask.W2), Vector512.Create(mask.W3));
            var queryLength = Vector512.Create((double)query.Length);
            for (; m + BlockMolecules <= shared.Length; m += BlockMolecules)
            {
                var rare = Vector256.LoadUnsafe(ref shared[m]);
                var c = Avx512DQ.ConvertToVector512Double(Avx512F.ConvertToVector512Int64(rare) + DenseCounts(words, m));
                var union = queryLength + Avx512F.ConvertToVector512Double(Vector256.LoadUnsafe(ref sizes[m])) - c;
                var pass = Vector512.GreaterThan(c, Vector512<double>.Zero) & Vector512.GreaterThanOrEqual(c, Vector512.Create(state.Bound) * union * Vector512.Create(Margin));
                var lanes = pass.ExtractMostSignificantBits();
                Vector256<int>.Zero.StoreUnsafe(ref shared[m]);
                for (; lanes != 0; lanes &= lanes - 1)
                {
                    var lane = System.Numerics.BitOperations.TrailingZeroCount(lanes);
                    state.Consider(m + lane, rare.GetElement(lane) + DenseShared(mask, m + lane), sizes[m + lane], ref visitor);
                }
            }
        }

        for (; m < shared.Length; m++)
        {
            var c = shared[m] + DenseShared(mask, m);
            shared[m] = 0;
            state.Consider(m, c, sizes[m], ref visitor);
        }

        return state.Largest;
    }

    /// <summary>The shared frequent bits of molecules <paramref name="m"/>..m+7 with the query's (its four mask words broadcast).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Vector512<long> DenseCounts((Vector512<ulong> W0, Vector512<ulong> W1, Vector512<ulong> W2, Vector512<ulong> W3) query, int m)
    {
        ref var block = ref denseMasks[Word(m, 0)];
        // Per byte at most 4 × 8 = 32: the sum of the four words' byte counts cannot overflow before the byte sum.
        var bytes = ByteCounts(Vector512.LoadUnsafe(ref block) & query.W0)
                    + ByteCounts(Vector512.LoadUnsafe(ref block, BlockMolecules) & query.W1)
                    + ByteCounts(Vector512.LoadUnsafe(ref block, 2 * BlockMolecules) & query.W2)
                    + ByteCounts(Vector512.LoadUnsafe(ref block, 3 * BlockMolecules) & query.W3);
        return Avx512BW.SumAbsoluteDifferences(bytes, Vector512<byte>.Zero).AsInt64();
    }

    /// <summary>The number of set bits of each byte: a 16-entry table looked up for either nibble (in every 128-bit lane).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> ByteCounts(Vector512<ulong> words)
    {
        var table = Vector512.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
        var nibble = Vector512.Create((byte)0x0F);
        var bytes = words.AsByte();
        return Avx512BW.Shuffle(table, bytes & nibble) + Avx512BW.Shuffle(table, Vector512.ShiftRightLogical(words, 4).AsByte() & nibble);
    }

    /// <summary>The running largest similarity and the bound below which a molecule can be of no use, through one query's search.</summary>
    private struct SearchState(int queryLength, double bound)
    {
        public double Largest;
        public double Bound = bound;

        /// <summary>Molecule <paramref name="m"/> sharing <paramref name="c"/> bits: the scalar test, and its visit when it passes.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Consider<TVisitor>(int m, int c, int size, ref TVisitor visitor) where TVisitor : struct, IVisitor
        {
            if (c == 0) return;
            double union = queryLength + size - c;
            if (c < Bound * union * Margin) return;
            var similarity = c / union;
            if (similarity > Largest) Largest = similarity;
            if (similarity > visitor.Threshold) visitor.Visit(m, similarity);
            Bound = Math.Min(visitor.Threshold, Largest);
        }
    }

    /// <summary>
    /// The <paramref name="top"/>.Length largest Tanimoto similarities of <paramref name="query"/> to molecules
    /// <paramref name="include"/> accepts (all when null), largest first, and in <paramref name="neighbours"/> (same
    /// length, or empty when not needed) which molecules: <see cref="Similarities"/> then <see cref="Largest"/>.
    /// </summary>
    public void NearestSimilarities(ReadOnlySpan<int> query, Scratch scratch, Func<int, bool>? include, Span<double> top, Span<int> neighbours = default)
    {
        Similarities(query, scratch, scratch.All);
        Largest(scratch.All, include, top, neighbours);
    }

    /// <summary>The Tanimoto similarity of <paramref name="query"/> to every molecule (0 where no bit is shared), into <paramref name="all"/>.</summary>
    public void Similarities(ReadOnlySpan<int> query, Scratch scratch, Span<double> all)
    {
        if (all.Length != Count) throw new ArgumentException("one similarity per molecule", nameof(all));
        var shared = scratch.Shared;
        CountShared(query, shared);
        for (var m = 0; m < shared.Length; m++)
        {
            var c = shared[m];
            shared[m] = 0;
            all[m] = c == 0 ? 0 : (double)c / (query.Length + sizes[m] - c);
        }
    }

    /// <summary>
    /// The <paramref name="top"/>.Length largest of <paramref name="all"/> among molecules <paramref name="include"/>
    /// accepts (all when null) and above 0, largest first, the earlier molecule first among equals; unfilled slots are 0 and -1.
    /// </summary>
    public static void Largest(ReadOnlySpan<double> all, Func<int, bool>? include, Span<double> top, Span<int> neighbours = default)
    {
        if (neighbours.Length != 0 && neighbours.Length != top.Length) throw new ArgumentException("one neighbour slot per similarity, or none", nameof(neighbours));
        top.Clear();
        neighbours.Fill(-1);
        if (top.Length == 0) return;
        for (var m = 0; m < all.Length; m++)
        {
            var similarity = all[m];
            if (similarity <= top[^1] || (include is not null && !include(m))) continue;
            // Insertion into the short descending list: k is 5 or 10, so this beats any heap.
            var at = top.Length - 1;
            while (at > 0 && top[at - 1] < similarity)
            {
                top[at] = top[at - 1];
                if (neighbours.Length != 0) neighbours[at] = neighbours[at - 1];
                at--;
            }

            top[at] = similarity;
            if (neighbours.Length != 0) neighbours[at] = m;
        }
    }

    public void Write(string path)
    {
        using var stream = File.Create(path);
        using var writer = new BinaryWriter(stream, Encoding.UTF8);
        writer.Write(Magic);
        writer.Write(Version);
        writer.Write(Radius);
        writer.Write(rows.Columns);
        writer.Write(rows.Rows);
        foreach (var offset in rows.Offsets) writer.Write(offset);
        foreach (var bit in rows.Indices) writer.Write(checked((ushort)bit));
    }

    /// <summary>Reads and checks a fingerprints file; anything inconsistent is a <see cref="FormatException"/>.</summary>
    public static FingerprintIndex Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} is missing (the model folder's training fingerprints)");
        try
        {
            using var stream = File.OpenRead(path);
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            if (!reader.ReadBytes(4).AsSpan().SequenceEqual(Magic) || reader.ReadInt32() != Version)
                throw new FormatException($"{path} is not an OrganicScreen fingerprints file (version {Version})");
            var radius = reader.ReadInt32();
            var bits = reader.ReadInt32();
            var count = reader.ReadInt32();
            if (radius != Radius || bits != Bits || count < 0 || (long)(count + 1) * 4 > stream.Length)
                throw new FormatException($"{path} is damaged (header)");
            var offsets = new int[count + 1];
            for (var i = 0; i <= count; i++) offsets[i] = reader.ReadInt32();
            var total = offsets[^1];
            if (offsets[0] != 0 || offsets.Zip(offsets.Skip(1)).Any(p => p.Second < p.First) || stream.Length - stream.Position != 2L * total)
                throw new FormatException($"{path} is damaged (offsets or length)");
            var indices = new int[total];
            for (var i = 0; i < total; i++) indices[i] = reader.ReadUInt16();
            if (indices.Any(b => b >= bits)) throw new FormatException($"{path} is damaged (bit index out of range)");
            return Build(new SparseBitMatrix(bits, offsets, indices));
        }
        catch (EndOfStreamException)
        {
            throw new FormatException($"{path} is damaged (truncated)");
        }
    }
}
