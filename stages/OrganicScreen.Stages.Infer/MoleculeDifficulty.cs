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

    /// <summary>
    /// Per molecule, for one target: its similarities to the molecules labelled for that target (<paramref name="foldOf"/>
    /// ≥ 0) outside its own fold. For a labelled molecule those are exactly the training molecules of the member that made
    /// its out-of-fold prediction; an unlabelled one (-1) is new to every member, so all labelled molecules count.
    /// The shipped ensemble saw the labelled molecules, so their intervals treat them as new to that member: wider than
    /// in-sample accuracy needs, never narrower.
    /// </summary>
    public static Difficulty[] ForTarget(FingerprintIndex index, IReadOnlyList<int> foldOf)
    {
        if (foldOf.Count != index.Count) throw new ArgumentException("one fold (or -1) per indexed molecule", nameof(foldOf));
        var difficulties = new Difficulty[index.Count];
        Parallel.For(0, index.Count, () => (new FingerprintIndex.Scratch(index.Count), new double[Difficulty.Neighbours]), (i, _, state) =>
        {
            var fold = foldOf[i];
            index.NearestSimilarities(index.Row(i), state.Item1, j => foldOf[j] >= 0 && j != i && (fold < 0 || foldOf[j] != fold), state.Item2);
            difficulties[i] = Difficulty.FromSimilarities(state.Item2);
            return state;
        }, _ => { });
        return difficulties;
    }
}
