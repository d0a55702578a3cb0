using System.Globalization;
using System.Text;
using System.Text.Json;
using OrganicScreen.Chem;
using OrganicScreen.Core;
using OrganicScreen.Data;

namespace OrganicScreen.Stages;

/// <summary>
/// What a model folder knows about its training molecules (<c>domain.json</c>): the elements they contain, their
/// heavy-atom range, and the similarity threshold below which a new molecule is unlike them. The training
/// fingerprints (ECFP4: radius 2, 2048 bits) are in <see cref="FingerprintsFile"/>.
/// </summary>
/// <param name="SimilarityThreshold">
/// The <see cref="ThresholdPercentile"/>th percentile of the held-out nearest-neighbour similarities: for every
/// out-of-fold prediction of the cross-validation, the largest Tanimoto similarity of that molecule to the
/// molecules its fold model trained on (same target, other folds). 95 % of the molecules behind the reported
/// out-of-fold errors had a training neighbour at least this similar; a new molecule below it is less like the
/// training set than they were, so those error estimates (and the intervals calibrated on them) do not cover it.
/// </param>
/// <param name="ErrorBySimilarity">Out-of-fold MAE per target in bins of that held-out similarity: how error grows as molecules get less similar.</param>
/// <param name="ErrorAtThreshold">Per target: out-of-fold MAE of the molecules below and at/above the threshold.</param>
public sealed record DomainSummary(
    int FormatVersion,
    string Fingerprint,
    int Molecules,
    IReadOnlyList<string> Elements,
    int MinHeavyAtoms,
    int MaxHeavyAtoms,
    double SimilarityThreshold,
    double ThresholdPercentile,
    int HeldOutPredictions,
    string ThresholdMethod,
    string FingerprintsFile,
    IReadOnlyList<SimilarityBin> ErrorBySimilarity,
    IReadOnlyList<ThresholdSplit> ErrorAtThreshold)
{
    public const string FileName = "domain.json";
    public const string FingerprintsFileName = "domain_fingerprints.bin";
    public const int CurrentFormat = 1;
}

/// <summary>Out-of-fold MAE of one target's molecules whose held-out similarity lies in [From, To).</summary>
public sealed record SimilarityBin(string Target, double From, double To, int Count, double? Mae);

/// <summary>Out-of-fold MAE below the threshold (out of domain) and at or above it (in domain), per target.</summary>
public sealed record ThresholdSplit(string Target, int CountBelow, double? MaeBelow, int CountAbove, double? MaeAbove);

/// <summary>
/// The applicability-domain verdict for one molecule: inside, or the reasons it is not (elements or size the
/// training set never had, several fragments, no similar training molecule). <see cref="MaxSimilarity"/> is the
/// largest Tanimoto similarity (ECFP4) to a training molecule.
/// </summary>
public sealed record DomainVerdict(double MaxSimilarity, IReadOnlyList<string> Reasons)
{
    public bool Inside => Reasons.Count == 0;

    /// <summary>"in", or "out: " and the reasons separated by "; ".</summary>
    public string Text => Inside ? "in" : "out: " + string.Join("; ", Reasons);
}

/// <summary>
/// A model folder's applicability domain, loaded for prediction: checks elements, heavy-atom count, fragments
/// and the maximum Tanimoto similarity (ECFP4 from <see cref="Rdkit.Featurize"/>) to the training molecules.
/// </summary>
public sealed class ApplicabilityDomain
{
    /// <summary>ECFP4 (Morgan radius 2, 2048 bits): the fingerprint the similarity is measured on, whatever the model reads.</summary>
    public static readonly FingerprintSpec Spec = new(2, 2048);

    private readonly FingerprintIndex index;
    private readonly HashSet<string> elements;

    private ApplicabilityDomain(DomainSummary summary, FingerprintIndex index)
    {
        Summary = summary;
        this.index = index;
        elements = summary.Elements.ToHashSet(StringComparer.Ordinal);
    }

    public DomainSummary Summary { get; }

    /// <summary>Reads <c>domain.json</c> and its fingerprints from a model folder; a damaged file is a <see cref="FormatException"/>.</summary>
    public static ApplicabilityDomain Load(string modelFolder)
    {
        var path = Path.Combine(modelFolder, DomainSummary.FileName);
        if (!File.Exists(path)) throw new FileNotFoundException($"model folder {modelFolder} has no {DomainSummary.FileName} (published by an older version; re-run ./build.sh --target Screen)");
        DomainSummary summary;
        try
        {
            summary = JsonSerializer.Deserialize<DomainSummary>(File.ReadAllText(path), Json.Options) ?? throw new FormatException("empty");
        }
        catch (JsonException e)
        {
            throw new FormatException($"{path} is damaged: {e.Message}");
        }

        if (summary.FormatVersion != DomainSummary.CurrentFormat || summary.Elements is null || summary.FingerprintsFile != DomainSummary.FingerprintsFileName
            || !double.IsFinite(summary.SimilarityThreshold) || summary.MinHeavyAtoms > summary.MaxHeavyAtoms)
            throw new FormatException($"{path} is damaged or of another format version (expected {DomainSummary.CurrentFormat})");
        return new ApplicabilityDomain(summary, FingerprintIndex.Read(Path.Combine(modelFolder, DomainSummary.FingerprintsFileName)));
    }

    /// <summary>Verdicts for a batch: <paramref name="fingerprints"/> row i (ECFP4) and <paramref name="descriptors"/>[i] describe molecule i.</summary>
    public IReadOnlyList<DomainVerdict> Check(IReadOnlyList<MoleculeDescriptors> descriptors, SparseBitMatrix fingerprints)
    {
        if (fingerprints.Columns != Spec.Bits) throw new ArgumentException($"fingerprints must be {Spec}", nameof(fingerprints));
        var verdicts = new DomainVerdict[descriptors.Count];
        Parallel.For(0, descriptors.Count, () => new FingerprintIndex.Scratch(index.Count), (i, _, scratch) =>
        {
            verdicts[i] = Check(descriptors[i], index.Nearest(fingerprints.Row(i), scratch, null).Similarity);
            return scratch;
        }, _ => { });
        return verdicts;
    }

    private DomainVerdict Check(MoleculeDescriptors d, double similarity)
    {
        var reasons = new List<string>();
        if (d.Fragments > 1) reasons.Add($"{d.Fragments} fragments (salt or mixture)");
        var unseen = d.Elements.Where(e => !elements.Contains(e)).ToList();
        if (unseen.Count > 0) reasons.Add($"element{(unseen.Count > 1 ? "s" : "")} {string.Join(", ", unseen)} not in the training set");
        if (d.HeavyAtoms < Summary.MinHeavyAtoms || d.HeavyAtoms > Summary.MaxHeavyAtoms)
            reasons.Add($"{d.HeavyAtoms} heavy atoms, training range {Summary.MinHeavyAtoms}-{Summary.MaxHeavyAtoms}");
        if (similarity < Summary.SimilarityThreshold)
            reasons.Add(string.Create(CultureInfo.InvariantCulture, $"nearest training molecule similarity {similarity:F2} < {Summary.SimilarityThreshold:F2}"));
        return new DomainVerdict(similarity, reasons);
    }

    /// <summary>
    /// Writes <c>domain.json</c> and the training fingerprints into a model folder (called by the Screen stage):
    /// elements and heavy atoms from RDKit descriptors of the training molecules' canonical SMILES, and the
    /// similarity threshold from the held-out folds of the training run (see <see cref="DomainSummary.SimilarityThreshold"/>).
    /// </summary>
    public static async Task WriteAsync(string modelFolder, FeatureSet features, Artifact train, CancellationToken cancellation)
    {
        var molecules = await features.MoleculesAsync();
        var oof = await TrainStage.ReadOutOfFoldAsync(train);
        var rdkit = new Rdkit();
        var smiles = molecules.Select(m => m.CanonicalSmiles).ToList();
        var rows = new List<int[]>(smiles.Count);
        var described = new List<DescribedMolecule>(smiles.Count);
        for (var start = 0; start < smiles.Count; start += 8192)
        {
            cancellation.ThrowIfCancellationRequested();
            var batch = smiles.GetRange(start, Math.Min(8192, smiles.Count - start));
            var featurized = rdkit.Featurize(batch, [Spec], canonicalSmiles: false);
            for (var i = 0; i < batch.Count; i++) rows.Add(featurized.Fingerprints[Spec].Row(i).ToArray());
            described.AddRange(rdkit.Descriptors(batch));
        }

        var valid = described.Where(d => d.IsValid).Select(d => d.Descriptors!).ToList();
        if (valid.Count == 0) throw new InvalidOperationException("no training molecule could be described; cannot write the applicability domain");
        var index = FingerprintIndex.Build(SparseBitMatrix.FromRows(Spec.Bits, rows));
        var (threshold, heldOut, similarities) = Threshold(index, oof, molecules.Count);
        var summary = new DomainSummary(
            DomainSummary.CurrentFormat, Spec.Name, molecules.Count,
            valid.SelectMany(d => d.Elements).Distinct().Order(StringComparer.Ordinal).ToList(),
            valid.Min(d => d.HeavyAtoms), valid.Max(d => d.HeavyAtoms),
            Math.Round(threshold, 4), ThresholdPercent, heldOut,
            $"{ThresholdPercent}th percentile of the maximum Tanimoto similarity ({Spec.Name}) of each out-of-fold molecule to the training molecules of its fold model (same target, other folds), over {heldOut} out-of-fold predictions",
            DomainSummary.FingerprintsFileName,
            Bins(oof, similarities),
            Splits(oof, similarities, threshold));
        Directory.CreateDirectory(modelFolder);
        index.Write(Path.Combine(modelFolder, DomainSummary.FingerprintsFileName));
        await File.WriteAllTextAsync(Path.Combine(modelFolder, DomainSummary.FileName), JsonSerializer.Serialize(summary, Json.Options), cancellation);
    }

    private const double ThresholdPercent = 5;
    private static readonly double[] BinEdges = [0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0000001];

    /// <summary>
    /// Per out-of-fold row (same order as <paramref name="oof"/>): the largest similarity of its molecule to the
    /// molecules with the same target in other folds. The threshold is their <see cref="ThresholdPercent"/>th percentile.
    /// </summary>
    private static (double Threshold, int HeldOut, double[] Similarities) Threshold(FingerprintIndex index, IReadOnlyList<TrainStage.OutOfFoldRow> oof, int molecules)
    {
        var targets = oof.Select(r => r.Target).Distinct().Order(StringComparer.Ordinal).ToList();
        var foldOf = targets.ToDictionary(t => t, _ => Enumerable.Repeat(-1, molecules).ToArray());
        foreach (var r in oof) foldOf[r.Target][r.Index] = r.Fold;
        var similarities = new double[oof.Count];
        Parallel.For(0, oof.Count, () => new FingerprintIndex.Scratch(index.Count), (k, _, scratch) =>
        {
            var row = oof[k];
            var folds = foldOf[row.Target];
            similarities[k] = index.Nearest(index.Row(row.Index), scratch, j => folds[j] >= 0 && folds[j] != row.Fold).Similarity;
            return scratch;
        }, _ => { });
        if (similarities.Length == 0) return (0, 0, similarities);
        var sorted = similarities.Order().ToArray();
        var position = ThresholdPercent / 100 * (sorted.Length - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(low + 1, sorted.Length - 1);
        return (sorted[low] + (sorted[high] - sorted[low]) * (position - low), sorted.Length, similarities);
    }

    private static List<SimilarityBin> Bins(IReadOnlyList<TrainStage.OutOfFoldRow> oof, double[] similarities)
    {
        var bins = new List<SimilarityBin>();
        foreach (var target in oof.Select(r => r.Target).Distinct().Order(StringComparer.Ordinal))
            for (var b = 0; b < BinEdges.Length - 1; b++)
            {
                var errors = Enumerable.Range(0, oof.Count).Where(k => oof[k].Target == target && similarities[k] >= BinEdges[b] && similarities[k] < BinEdges[b + 1])
                    .Select(k => Math.Abs(oof[k].Label - oof[k].Prediction)).ToList();
                bins.Add(new SimilarityBin(target, BinEdges[b], Math.Min(1, BinEdges[b + 1]), errors.Count, errors.Count > 0 ? Math.Round(errors.Average(), 4) : null));
            }

        return bins;
    }

    private static List<ThresholdSplit> Splits(IReadOnlyList<TrainStage.OutOfFoldRow> oof, double[] similarities, double threshold) =>
        oof.Select(r => r.Target).Distinct().Order(StringComparer.Ordinal).Select(target =>
        {
            var rows = Enumerable.Range(0, oof.Count).Where(k => oof[k].Target == target).ToList();
            var below = rows.Where(k => similarities[k] < threshold).Select(k => Math.Abs(oof[k].Label - oof[k].Prediction)).ToList();
            var above = rows.Where(k => similarities[k] >= threshold).Select(k => Math.Abs(oof[k].Label - oof[k].Prediction)).ToList();
            return new ThresholdSplit(target, below.Count, below.Count > 0 ? Math.Round(below.Average(), 4) : null, above.Count, above.Count > 0 ? Math.Round(above.Average(), 4) : null);
        }).ToList();
}

/// <summary>
/// Training fingerprints indexed for the largest Tanimoto similarity of a query. The 256 most frequent bits (aromatic
/// carbon and the like, set in most molecules) are a 256-bit mask per molecule, counted with four popcounts; every other
/// bit has a posting list (bit → molecules), so a query touches only the molecules that share a rare bit with it and
/// then one pass computes every molecule's exact similarity. (With 64 mask bits, a generated library's molecules still
/// walked posting lists of thousands of molecules per bit; 256 cut the search about in half.) On disk: "OSFP", version, radius, bits, count, row offsets
/// (int32), bit indices (uint16), little-endian.
/// </summary>
public sealed class FingerprintIndex
{
    private const int Version = 1;
    private static readonly byte[] Magic = "OSFP"u8.ToArray();
    private readonly SparseBitMatrix rows;
    private readonly int[] postingOffsets;
    private readonly int[] postings;
    private const int DenseWords = 4;
    private readonly int[] denseSlot; // bit → 0..255 for the frequent bits, -1 otherwise
    private readonly ulong[] denseMasks; // DenseWords per molecule
    private readonly int[] sizes;

    private FingerprintIndex(SparseBitMatrix rows)
    {
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
        denseMasks = new ulong[rows.Rows * DenseWords];
        sizes = new int[rows.Rows];
        var next = postingOffsets[..^1].ToArray();
        for (var m = 0; m < rows.Rows; m++)
        {
            sizes[m] = rows.Offsets[m + 1] - rows.Offsets[m];
            foreach (var bit in rows.Row(m))
            {
                if (denseSlot[bit] is var d and >= 0) denseMasks[m * DenseWords + (d >> 6)] |= 1UL << (d & 63);
                else postings[next[bit]++] = m;
            }
        }
    }

    public int Count => rows.Rows;

    public ReadOnlySpan<int> Row(int molecule) => rows.Row(molecule);

    public static FingerprintIndex Build(SparseBitMatrix fingerprints) => new(fingerprints);

    /// <summary>Per-thread counters for <see cref="Nearest"/>.</summary>
    public sealed class Scratch(int count)
    {
        internal readonly int[] Shared = new int[count];
    }

    /// <summary>The largest Tanimoto similarity of <paramref name="query"/> (distinct on-bits) to a molecule <paramref name="include"/> accepts (all when null), and which (-1: none shares a bit).</summary>
    public (double Similarity, int Neighbour) Nearest(ReadOnlySpan<int> query, Scratch scratch, Func<int, bool>? include)
    {
        var shared = scratch.Shared;
        ulong mask0 = 0, mask1 = 0, mask2 = 0, mask3 = 0;
        foreach (var bit in query)
        {
            if ((uint)bit >= (uint)rows.Columns) continue;
            if (denseSlot[bit] is var d and >= 0)
            {
                var one = 1UL << (d & 63);
                switch (d >> 6)
                {
                    case 0: mask0 |= one; break;
                    case 1: mask1 |= one; break;
                    case 2: mask2 |= one; break;
                    default: mask3 |= one; break;
                }

                continue;
            }

            for (var p = postingOffsets[bit]; p < postingOffsets[bit + 1]; p++) shared[postings[p]]++;
        }

        // The best similarity so far is bestShared / bestUnion. Candidates are compared as fractions in integers
        // (c·bestUnion > bestShared·union), which is exact and avoids a division per training molecule: this loop
        // runs over every training molecule for every screened one. Returning the same fraction as a double gives
        // the same number as dividing each time and keeping the largest quotient.
        long bestShared = 0, bestUnion = 1;
        var neighbour = -1;
        for (var m = 0; m < shared.Length; m++)
        {
            var at = m * DenseWords;
            var c = shared[m] + System.Numerics.BitOperations.PopCount(mask0 & denseMasks[at]) + System.Numerics.BitOperations.PopCount(mask1 & denseMasks[at + 1])
                    + System.Numerics.BitOperations.PopCount(mask2 & denseMasks[at + 2]) + System.Numerics.BitOperations.PopCount(mask3 & denseMasks[at + 3]);
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

    public void Write(string path)
    {
        using var stream = File.Create(path);
        using var writer = new BinaryWriter(stream, Encoding.UTF8);
        writer.Write(Magic);
        writer.Write(Version);
        writer.Write(ApplicabilityDomain.Spec.Radius);
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
            if (radius != ApplicabilityDomain.Spec.Radius || bits != ApplicabilityDomain.Spec.Bits || count < 0 || (long)(count + 1) * 4 > stream.Length)
                throw new FormatException($"{path} is damaged (header)");
            var offsets = new int[count + 1];
            for (var i = 0; i <= count; i++) offsets[i] = reader.ReadInt32();
            var total = offsets[^1];
            if (offsets[0] != 0 || offsets.Zip(offsets.Skip(1)).Any(p => p.Second < p.First) || stream.Length - stream.Position != 2L * total)
                throw new FormatException($"{path} is damaged (offsets or length)");
            var indices = new int[total];
            for (var i = 0; i < total; i++) indices[i] = reader.ReadUInt16();
            if (indices.Any(b => b >= bits)) throw new FormatException($"{path} is damaged (bit index out of range)");
            return new FingerprintIndex(new SparseBitMatrix(bits, offsets, indices));
        }
        catch (EndOfStreamException)
        {
            throw new FormatException($"{path} is damaged (truncated)");
        }
    }
}
