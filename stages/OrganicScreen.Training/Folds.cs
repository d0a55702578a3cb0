namespace OrganicScreen.Training;

/// <summary>One cross-validation split: the model trains on <see cref="TrainRows"/> and is scored on <see cref="ValidationRows"/>.</summary>
public sealed record Fold(int Index, int[] TrainRows, int[] ValidationRows);

public static class Folds
{
    /// <summary>
    /// Validation fold of every row: a seeded shuffle dealt round-robin, so fold sizes differ by at most one and the
    /// result depends only on (count, k, seed) — not on .NET's Random implementation, which is not a stable contract.
    /// </summary>
    public static int[] Assign(int count, int k, int seed)
    {
        if (k < 2) throw new ArgumentOutOfRangeException(nameof(k), k, "Cross-validation needs at least 2 folds.");
        if (count < k) throw new ArgumentException($"Cannot split {count} rows into {k} folds: need at least one row per fold.");
        var order = SplitMix64.Permutation(count, (ulong)(uint)seed ^ 0x5F0D_5EED_0000_0000UL);
        var assignment = new int[count];
        for (var i = 0; i < count; i++) assignment[order[i]] = i % k;
        return assignment;
    }

    /// <summary>The k splits for an assignment from <see cref="Assign"/>; rows stay in ascending order within each part.</summary>
    public static IReadOnlyList<Fold> Create(int[] assignment, int k)
    {
        var folds = new List<Fold>(k);
        for (var f = 0; f < k; f++)
        {
            var train = new List<int>(assignment.Length);
            var validation = new List<int>(assignment.Length / k + 1);
            for (var row = 0; row < assignment.Length; row++)
            {
                var fold = assignment[row];
                if (fold < 0 || fold >= k) throw new ArgumentException($"Row {row} has fold {fold}, outside 0..{k - 1}.");
                (fold == f ? validation : train).Add(row);
            }
            if (validation.Count == 0) throw new ArgumentException($"Fold {f} has no validation rows.");
            folds.Add(new Fold(f, train.ToArray(), validation.ToArray()));
        }
        return folds;
    }

    public static IReadOnlyList<Fold> Create(int count, int k, int seed) => Create(Assign(count, k, seed), k);
}

/// <summary>
/// Small, fully specified PRNG (SplitMix64) for shuffles whose results must be reproducible across runtimes and
/// platforms; torch's generator is used only for tensors (init, dropout).
/// </summary>
internal struct SplitMix64(ulong seed)
{
    ulong _state = seed;

    public ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, bound) by rejection, so there is no modulo bias.</summary>
    public int NextInt(int bound)
    {
        var limit = ulong.MaxValue - ulong.MaxValue % (ulong)bound;
        ulong x;
        do x = Next(); while (x >= limit);
        return (int)(x % (ulong)bound);
    }

    /// <summary>Fisher–Yates in place.</summary>
    public void Shuffle(Span<int> items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    public static int[] Permutation(int count, ulong seed)
    {
        var order = new int[count];
        for (var i = 0; i < count; i++) order[i] = i;
        new SplitMix64(seed).Shuffle(order);
        return order;
    }

    /// <summary>Independent stream for a sub-task (fold, epoch) derived from a parent seed.</summary>
    public static ulong Derive(long seed, params long[] path)
    {
        var rng = new SplitMix64((ulong)seed);
        var x = rng.Next();
        foreach (var p in path)
        {
            rng = new SplitMix64(x ^ (ulong)p * 0xD1B54A32D192ED03UL);
            x = rng.Next();
        }
        return x;
    }
}
