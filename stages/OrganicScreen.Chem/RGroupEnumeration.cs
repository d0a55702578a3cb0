using System.Numerics;
using System.Security.Cryptography;
using OrganicScreen.Core;

namespace OrganicScreen.Chem;

/// <param name="MaxSites">Most attachment points substituted per product (0 gives the bare cores).</param>
/// <param name="MaxMolecules">Stop after this many distinct molecules.</param>
/// <param name="Threads">RDKit workers (0 = all cores).</param>
/// <param name="BatchSize">Products per native call.</param>
/// <param name="UseSymmetry">Skip products that a symmetry of their core maps onto an earlier one (same output, less work; false for tests).</param>
/// <param name="FullSanitize">RDKit's full sanitisation of every product instead of the partial one (same output; for tests).</param>
public sealed record RGroupOptions(int MaxSites, long MaxMolecules, int Threads = 0, int BatchSize = 16_384, bool UseSymmetry = true, bool FullSanitize = false);

/// <param name="Combinations">Products the files and <see cref="RGroupOptions.MaxSites"/> allow (before deduplication).</param>
/// <param name="Built">Products built and examined until the end or until <see cref="RGroupOptions.MaxMolecules"/> was reached.</param>
/// <param name="SkippedBySymmetry">Products not built because a symmetry of the core maps them onto an earlier product.</param>
/// <param name="Written">Distinct molecules written.</param>
/// <param name="Duplicates">Products whose canonical SMILES was already written (symmetric cores give many).</param>
/// <param name="Rejected">Products RDKit would not sanitise, with the first few reasons in <paramref name="Errors"/>.</param>
/// <param name="DedupBytes">Memory of the deduplication table.</param>
public sealed record RGroupResult(BigInteger Combinations, long Built, long SkippedBySymmetry, long Written, long Duplicates, long Rejected,
    IReadOnlyList<string> Errors, long DedupBytes, TimeSpan Elapsed);

/// <summary>
/// Enumerates R-group products of an <see cref="RGroupLibrary"/> in a fixed order and writes each distinct one
/// once, as canonical SMILES, one per line. Order: cores in file order; per core, products with 0, 1, … MaxSites
/// substituted points; for each count, the chosen attachment points as ascending tuples in lexicographic order;
/// for each choice, the substituents (file indices) as tuples in lexicographic order, the last point varying
/// fastest. A product is written where its canonical SMILES first appears, so the file is a pure function of
/// the inputs and options (and of the RDKit version, which defines canonical SMILES). A product that a symmetry of
/// its core (<see cref="RGroupLibrary.Symmetries"/>) maps onto an earlier product of the order is the same molecule
/// as that one, so it is skipped unbuilt: the output is the same, with 2–4× less RDKit work on symmetric cores.
/// Deduplication keeps only a 64-bit hash (the first 8 bytes of SHA-256) of each canonical SMILES: for n distinct
/// molecules the chance that any two share one is about n²/2^65 (2.7·10⁻⁶ at 10 million), and a collision would
/// drop one molecule, the same one on every run.
/// </summary>
public static class RGroupEnumeration
{
    /// <summary>Σ over cores of Σ_{j ≤ maxSites} C(k, j)·s^j: every product the order visits.</summary>
    public static BigInteger Combinations(IReadOnlyList<int> sites, int substituents, int maxSites)
    {
        var total = BigInteger.Zero;
        foreach (var k in sites)
        {
            BigInteger choose = 1;
            for (var j = 0; j <= Math.Min(k, maxSites); j++)
            {
                total += choose * BigInteger.Pow(substituents, j);
                choose = choose * (k - j) / (j + 1);
            }
        }

        return total;
    }

    public static RGroupResult Write(RGroupLibrary library, Stream output, RGroupOptions options,
        Action<long>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(library);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxSites);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxMolecules, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var order = new ProductOrder(library.Sites, library.SubstituentCount, options.MaxSites, options.UseSymmetry ? library.Symmetries : null);
        var seen = new Hash64Set(1 << 16);
        var errors = new List<string>();
        long built = 0, written = 0, duplicates = 0, rejected = 0;
        Span<byte> digest = stackalloc byte[32];

        // The next batch builds natively (all cores) while this thread hashes and writes the previous one.
        var next = Fill(order, options.BatchSize);
        var pending = Start(library, next, order.Width, options);
        while (pending is not null && written < options.MaxMolecules)
        {
            cancellation.ThrowIfCancellationRequested();
            var current = next;
            var batch = pending.GetAwaiter().GetResult();
            next = Fill(order, options.BatchSize);
            pending = Start(library, next, order.Width, options);
            for (var i = 0; i < batch.Count && written < options.MaxMolecules; i++)
            {
                built++;
                if (!batch.IsValid(i))
                {
                    rejected++;
                    if (errors.Count < 5) errors.Add($"{Describe(current.Rows.AsSpan(i * order.Width, order.Width))}: {batch.Text(i)}");
                    continue;
                }

                var smiles = batch.Utf8(i);
                SHA256.HashData(smiles, digest);
                if (!seen.Add(BitConverter.ToUInt64(digest)))
                {
                    duplicates++;
                    continue;
                }

                output.Write(smiles);
                output.WriteByte((byte)'\n');
                written++;
            }

            progress?.Invoke(written);
        }

        pending?.Wait(cancellation); // never leave a native call running against a disposed library
        return new RGroupResult(Combinations(library.Sites, library.SubstituentCount, options.MaxSites), built, order.Skipped, written,
            duplicates, rejected, errors, seen.Bytes, clock.Elapsed);
    }

    private static Task<ProductBatch>? Start(RGroupLibrary library, (int[] Rows, int Count) rows, int width, RGroupOptions options) =>
        rows.Count > 0 ? Task.Run(() => library.Build(rows.Rows, rows.Count, width, options.Threads, options.FullSanitize)) : null;

    private static (int[] Rows, int Count) Fill(ProductOrder order, int size)
    {
        var rows = new int[size * order.Width];
        var count = 0;
        while (count < size && order.Next(rows.AsSpan(count * order.Width, order.Width))) count++;
        return (rows, count);
    }

    private static string Describe(ReadOnlySpan<int> row)
    {
        var parts = new List<string>();
        for (var j = 1; j < row.Length; j++)
            if (row[j] >= 0) parts.Add($"[*:{j}]=substituent {row[j] + 1}");
        return $"core {row[0] + 1}" + (parts.Count > 0 ? " with " + string.Join(", ", parts) : "");
    }

    /// <summary>
    /// The product order as an odometer (core, substituted-point count, point choice, substituent tuple). With
    /// <c>symmetries</c>, a product is skipped when a permutation maps it onto a product that comes earlier.
    /// </summary>
    internal sealed class ProductOrder(IReadOnlyList<int> sites, int substituents, int maxSites, IReadOnlyList<IReadOnlyList<int[]>>? symmetries = null)
    {
        private int core;
        private int size;
        private int[] chosen = [];
        private int[] picked = [];
        private int?[] image = [];
        private bool started;
        private bool done;

        /// <summary>Row width: the core index plus the most attachment points any core has.</summary>
        public int Width { get; } = 1 + (sites.Count == 0 ? 0 : sites.Max());

        public long Skipped { get; private set; }

        public bool Next(Span<int> row)
        {
            while (true)
            {
                if (done || !(started ? Advance() : Start()))
                {
                    done = true;
                    return false;
                }

                if (!MappedOntoEarlier()) break;
                Skipped++;
            }

            row.Fill(-1);
            row[0] = core;
            for (var t = 0; t < size; t++) row[1 + chosen[t]] = picked[t];
            return true;
        }

        private bool Start()
        {
            started = true;
            return core < sites.Count;
        }

        /// <summary>True when some permutation (after the identity) turns this product into one earlier in the order.</summary>
        private bool MappedOntoEarlier()
        {
            if (symmetries is null || size == 0 || symmetries[core].Count < 2) return false;
            if (image.Length != sites[core]) image = new int?[sites[core]];
            foreach (var permutation in symmetries[core].Skip(1))
            {
                Array.Clear(image);
                for (var t = 0; t < size; t++) image[permutation[chosen[t]]] = picked[t];
                // The image's points in ascending order, then its substituents in that order, against ours.
                var comparison = 0;
                for (int site = 0, t = 0; site < image.Length && comparison == 0; site++)
                    if (image[site] is not null) comparison = site.CompareTo(chosen[t++]);
                for (int site = 0, t = 0; site < image.Length && comparison == 0; site++)
                    if (image[site] is { } substituent) comparison = substituent.CompareTo(picked[t++]);
                if (comparison < 0) return true;
            }

            return false;
        }

        private bool Advance()
        {
            // Substituents: the last point fastest.
            for (var t = size - 1; t >= 0; t--)
            {
                if (++picked[t] < substituents) return true;
                picked[t] = 0;
            }

            // Next choice of `size` points out of k, lexicographic.
            var k = sites[core];
            for (var t = size - 1; t >= 0; t--)
            {
                if (chosen[t] >= k - size + t) continue;
                chosen[t]++;
                for (var u = t + 1; u < size; u++) chosen[u] = chosen[u - 1] + 1;
                return true;
            }

            // More substituted points, or the next core.
            if (substituents > 0 && size < Math.Min(maxSites, k)) size++;
            else if (++core < sites.Count) size = 0;
            else return false;
            chosen = Enumerable.Range(0, size).ToArray();
            picked = new int[size];
            return true;
        }
    }
}
