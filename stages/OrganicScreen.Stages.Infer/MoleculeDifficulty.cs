using OrganicScreen.Chem;
using OrganicScreen.Core;
using OrganicScreen.Screening;

namespace OrganicScreen.Stages;

/// <summary>
/// The <see cref="Difficulty"/> of the dataset's molecules, computed as a new molecule's is when predicted from a shipped
/// model folder: ECFP4 Tanimoto similarities to the training molecules the prediction did not learn it from, never a label.
/// </summary>
public static class MoleculeDifficulty
{
    /// <summary>The similarity fingerprint, shared with the applicability domain (whose training fingerprints ship with the model).</summary>
    public static readonly FingerprintSpec Spec = new(FingerprintIndex.Radius, FingerprintIndex.Bits);

    private const int Batch = 8192;

    /// <summary>ECFP4 of <paramref name="canonicalSmiles"/> (row i = molecule i), indexed for similarity search.</summary>
    public static FingerprintIndex Index(Rdkit rdkit, IReadOnlyList<string> canonicalSmiles, CancellationToken cancellation)
    {
        var rows = new List<int[]>(canonicalSmiles.Count);
        for (var start = 0; start < canonicalSmiles.Count; start += Batch)
        {
            cancellation.ThrowIfCancellationRequested();
            var batch = canonicalSmiles.Skip(start).Take(Batch).ToList();
            var fingerprints = rdkit.Featurize(batch, [Spec], canonicalSmiles: false).Fingerprints[Spec];
            for (var i = 0; i < batch.Count; i++) rows.Add(fingerprints.Row(i).ToArray());
        }

        return FingerprintIndex.Build(SparseBitMatrix.FromRows(Spec.Bits, rows));
    }

    /// <summary>Per molecule (row of <paramref name="index"/>) of the dataset, its difficulty for the target of <paramref name="errors"/>.</summary>
    public static Difficulty[] ForTarget(FingerprintIndex index, TargetErrors errors)
    {
        if (errors.FoldOf.Count != index.Count)
            throw new ArgumentException("one fold (or -1) per indexed molecule", nameof(errors));
        var difficulties = new Difficulty[index.Count];
        Parallel.For(0, index.Count, () => (new FingerprintIndex.Scratch(index.Count), new double[index.Count], new TargetErrors.Buffers()), (i, _, state) =>
        {
            index.Similarities(index.Row(i), state.Item1, state.Item2);
            difficulties[i] = errors.Of(state.Item2, i, index.Row(i), state.Item3);
            return state;
        }, _ => { });
        return difficulties;
    }
}

/// <summary>
/// One target's out-of-fold errors by molecule (rows of the training fingerprints): what a molecule's
/// <see cref="Difficulty"/> is computed from, for the dataset's molecules in Infer and for new ones from a model folder
/// (<see cref="FileName"/>), by the same <see cref="Of"/>.
/// </summary>
/// <param name="FoldOf">Per molecule its cross-validation fold, -1 when it has no label for the target.</param>
/// <param name="AbsoluteError">Per molecule its out-of-fold |label − prediction| (0 where unlabelled).</param>
/// <param name="Folds">The fold ids.</param>
public sealed record TargetErrors(string Target, IReadOnlyList<int> FoldOf, IReadOnlyList<double> AbsoluteError, IReadOnlyList<int> Folds)
{
    public static string FileName(string target) => $"interval_errors_{target}.json";

    /// <summary>From the target's out-of-fold rows, for <paramref name="molecules"/> molecules.</summary>
    public static TargetErrors From(string target, IReadOnlyList<TrainStage.OutOfFoldRow> rows, int molecules)
    {
        var foldOf = Enumerable.Repeat(-1, molecules).ToArray();
        var absoluteError = new double[molecules];
        foreach (var r in rows.Where(r => r.Target == target)) (foldOf[r.Index], absoluteError[r.Index]) = (r.Fold, Math.Abs(r.Label - r.Prediction));
        return new TargetErrors(target, foldOf, absoluteError, rows.Where(r => r.Target == target).Select(r => r.Fold).Distinct().Order().ToList());
    }

    /// <summary>Per-thread buffers of <see cref="Of"/>.</summary>
    public sealed class Buffers
    {
        public double[] Similarities { get; } = new double[Difficulty.Neighbours];
        public double[] ErrorSimilarities { get; } = new double[Difficulty.ErrorNeighbours];
        public int[] ErrorNeighbours { get; } = new int[Difficulty.ErrorNeighbours];
    }

    /// <summary>
    /// The difficulty of a molecule whose similarities to every training molecule are <paramref name="similarities"/>:
    /// <paramref name="self"/> is its own row when it is one of them (-1 for a new molecule). Its similarities count the
    /// molecules labelled for the target outside its own fold, and its neighbours' error is the mean out-of-fold |error| of
    /// its <see cref="Difficulty.ErrorNeighbours"/> most similar molecules inside one fold, its <see cref="PoolFold"/>.
    /// <para>For a labelled molecule the similarities are to exactly the training molecules of the member that made its
    /// out-of-fold prediction, and the error neighbours share its fold: their errors come from that same member, which saw
    /// neither them nor it, so no label of the molecule reaches its own difficulty. (Neighbours from other folds would not
    /// do: their members were trained on this molecule.) A new molecule is new to every member; its error neighbours come
    /// from one fold too, chosen by its canonical SMILES, so its difficulty is computed as a calibration molecule's.
    /// An unlabelled molecule of the dataset counts as new.</para>
    /// <para>The shipped ensemble saw the labelled molecules, so their intervals treat them as new to that member: wider
    /// than in-sample accuracy needs, never narrower.</para>
    /// </summary>
    public Difficulty Of(ReadOnlySpan<double> similarities, int self, ReadOnlySpan<int> fingerprint, Buffers buffers)
    {
        var fold = self >= 0 ? FoldOf[self] : -1;
        var pool = fold >= 0 ? fold : PoolFold(fingerprint);
        FingerprintIndex.Largest(similarities, j => FoldOf[j] >= 0 && j != self && (fold < 0 || FoldOf[j] != fold), buffers.Similarities);
        FingerprintIndex.Largest(similarities, j => FoldOf[j] == pool && j != self, buffers.ErrorSimilarities, buffers.ErrorNeighbours);
        var sum = 0.0;
        // A slot without a neighbour (no molecule of the fold shares a bit) counts as the fold's mean error: no information.
        foreach (var j in buffers.ErrorNeighbours) sum += j >= 0 ? AbsoluteError[j] : PoolMean(pool);
        return Difficulty.From(buffers.Similarities, sum / Difficulty.ErrorNeighbours);
    }

    /// <summary>
    /// <see cref="Of"/> for a new molecule (self −1) and several targets at once (null: no adaptive interval, left
    /// default), straight from the index in one pass instead of two per target: each target's two lists are filled by
    /// the rule of <see cref="FingerprintIndex.Largest"/> (strictly larger than the list's last, earlier first among
    /// equals), so the numbers are <see cref="Of"/>'s, and only molecules that could enter a list get their similarity
    /// computed (<see cref="FingerprintIndex.Search{TVisitor}"/>). Returns the largest similarity, the applicability
    /// domain's. This is the library screen's search, once per molecule for the domain and both targets' intervals.
    /// </summary>
    public static double OfNew(FingerprintIndex index, ReadOnlySpan<int> fingerprint, FingerprintIndex.Scratch scratch, IReadOnlyList<TargetErrors?> targets, NewBuffers buffers, Span<Difficulty> result)
    {
        var visitor = new NewMolecule(targets, fingerprint, buffers);
        var largest = index.Search(fingerprint, scratch, ref visitor);
        visitor.Finish(result);
        return largest;
    }

    /// <summary>Each target's neighbour lists of one new molecule; most molecules are below every list's last entry and cost one comparison.</summary>
    private struct NewMolecule : FingerprintIndex.IVisitor
    {
        private readonly IReadOnlyList<TargetErrors?> targets;
        private readonly NewBuffers buffers;

        public NewMolecule(IReadOnlyList<TargetErrors?> targets, ReadOnlySpan<int> fingerprint, NewBuffers buffers)
        {
            (this.targets, this.buffers) = (targets, buffers);
            buffers.Ensure(targets.Count);
            for (var t = 0; t < targets.Count; t++)
            {
                buffers.Similarities[t].AsSpan().Clear();
                buffers.ErrorSimilarities[t].AsSpan().Clear();
                buffers.ErrorNeighbours[t].AsSpan().Fill(-1);
                buffers.Pools[t] = targets[t] is { } errors ? errors.PoolFold(fingerprint) : int.MinValue;
            }

            Threshold = 0;
        }

        public double Threshold { get; private set; }

        public void Visit(int molecule, double similarity)
        {
            var threshold = double.MaxValue;
            for (var t = 0; t < targets.Count; t++)
            {
                if (targets[t] is not { } errors) continue;
                var fold = errors.folds.Value[molecule];
                if (fold >= 0) Insert(buffers.Similarities[t], null, similarity, molecule);
                if (fold == buffers.Pools[t]) Insert(buffers.ErrorSimilarities[t], buffers.ErrorNeighbours[t], similarity, molecule);
                threshold = Math.Min(threshold, Math.Min(buffers.Similarities[t][^1], buffers.ErrorSimilarities[t][^1]));
            }

            Threshold = threshold;
        }

        public readonly void Finish(Span<Difficulty> result)
        {
            for (var t = 0; t < targets.Count; t++)
            {
                if (targets[t] is not { } errors) continue;
                var sum = 0.0;
                foreach (var j in buffers.ErrorNeighbours[t]) sum += j >= 0 ? errors.AbsoluteError[j] : errors.PoolMean(buffers.Pools[t]);
                result[t] = Difficulty.From(buffers.Similarities[t], sum / Difficulty.ErrorNeighbours);
            }
        }

        private static void Insert(double[] top, int[]? neighbours, double similarity, int m)
        {
            if (similarity <= top[^1]) return;
            var at = top.Length - 1;
            while (at > 0 && top[at - 1] < similarity)
            {
                top[at] = top[at - 1];
                if (neighbours is not null) neighbours[at] = neighbours[at - 1];
                at--;
            }

            top[at] = similarity;
            if (neighbours is not null) neighbours[at] = m;
        }
    }

    /// <summary>Per-thread buffers of <see cref="OfNew"/>, per target.</summary>
    public sealed class NewBuffers
    {
        internal double[][] Similarities { get; private set; } = [];
        internal double[][] ErrorSimilarities { get; private set; } = [];
        internal int[][] ErrorNeighbours { get; private set; } = [];
        internal int[] Pools { get; private set; } = [];

        internal void Ensure(int targets)
        {
            if (Pools.Length == targets) return;
            Similarities = Enumerable.Range(0, targets).Select(_ => new double[Difficulty.Neighbours]).ToArray();
            ErrorSimilarities = Enumerable.Range(0, targets).Select(_ => new double[Difficulty.ErrorNeighbours]).ToArray();
            ErrorNeighbours = Enumerable.Range(0, targets).Select(_ => new int[Difficulty.ErrorNeighbours]).ToArray();
            Pools = new int[targets];
        }
    }

    /// <summary><see cref="FoldOf"/> as an array, for the per-molecule loops.</summary>
    private readonly Lazy<int[]> folds = new(() => [.. FoldOf]);

    /// <summary>
    /// The fold whose molecules give a new molecule its error neighbours: a stable hash of its ECFP4 on-bits, so a
    /// molecule gets the same interval in every run and from any SMILES spelling (the library screen never computes
    /// canonical SMILES for most rows), and new molecules spread over the folds as the calibration molecules do.
    /// </summary>
    public int PoolFold(ReadOnlySpan<int> fingerprint) =>
        Folds[(int)(BitConverter.ToUInt32(System.Security.Cryptography.SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(fingerprint)), 0) % (uint)Folds.Count)];

    private double PoolMean(int fold) => poolMeans.Value.GetValueOrDefault(fold);

    /// <summary>Mean out-of-fold error per fold, computed once, on first use.</summary>
    private readonly Lazy<Dictionary<int, double>> poolMeans = new(() =>
        Enumerable.Range(0, FoldOf.Count).Where(j => FoldOf[j] >= 0).GroupBy(j => FoldOf[j]).ToDictionary(g => g.Key, g => g.Average(j => AbsoluteError[j])));

    public void Save(string path) => File.WriteAllText(path, System.Text.Json.JsonSerializer.Serialize(this, Json.Options));

    /// <summary>Reads and checks a file written by <see cref="Save"/> for <paramref name="molecules"/> training molecules.</summary>
    public static TargetErrors Load(string path, int molecules)
    {
        TargetErrors? errors;
        try
        {
            errors = System.Text.Json.JsonSerializer.Deserialize<TargetErrors>(File.ReadAllText(path), Json.Options);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new FormatException($"{path} is damaged: {e.Message}");
        }

        if (errors?.FoldOf is null || errors.AbsoluteError is null || errors.Folds is not { Count: > 0 } || errors.FoldOf.Count != molecules || errors.AbsoluteError.Count != molecules
            || errors.FoldOf.Any(f => f >= 0 && !errors.Folds.Contains(f)) || errors.AbsoluteError.Any(e => !double.IsFinite(e) || e < 0))
            throw new FormatException($"{path} is damaged or not of this model's {molecules} training molecules");
        return errors;
    }
}
