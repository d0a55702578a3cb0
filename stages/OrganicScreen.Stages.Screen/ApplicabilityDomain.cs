using System.Globalization;
using System.Text.Json;
using OrganicScreen.Chem;
using OrganicScreen.Core;
using OrganicScreen.Data;
using OrganicScreen.Screening;

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
    public static readonly FingerprintSpec Spec = MoleculeDifficulty.Spec;

    private readonly FingerprintIndex index;
    private readonly HashSet<string> elements;

    private ApplicabilityDomain(DomainSummary summary, FingerprintIndex index)
    {
        Summary = summary;
        this.index = index;
        elements = summary.Elements.ToHashSet(StringComparer.Ordinal);
    }

    public DomainSummary Summary { get; }

    /// <summary>The training fingerprints, molecule i = row i of the dataset (what the adaptive intervals' neighbours are found in).</summary>
    public FingerprintIndex Index => index;

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

    /// <summary>Verdicts for a batch whose nearest similarities to the training molecules are known already (<see cref="FingerprintIndex.Similarities"/>).</summary>
    public IReadOnlyList<DomainVerdict> Check(IReadOnlyList<MoleculeDescriptors> descriptors, IReadOnlyList<double> nearestSimilarity)
    {
        if (nearestSimilarity.Count != descriptors.Count) throw new ArgumentException("one similarity per molecule", nameof(nearestSimilarity));
        return descriptors.Select((d, i) => Check(d, nearestSimilarity[i])).ToList();
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

