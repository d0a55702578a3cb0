using System.Diagnostics;
using OrganicScreen.Core;

namespace OrganicScreen.Training;

/// <summary>Timing of training epochs (after warm-up) for one architecture, batch size and device.</summary>
public sealed record BenchmarkResult(
    string Device,
    int Rows,
    int Bits,
    IReadOnlyList<int> Hidden,
    int BatchSize,
    int StepsPerEpoch,
    Repeats EpochSeconds,
    int Threads,
    FirstLayerMode FirstLayer)
{
    /// <summary>The median timed epoch (see <see cref="Repeats"/>).</summary>
    public double SecondsPerEpoch => EpochSeconds.Median;
}

public static class TrainingBenchmark
{
    /// <summary>
    /// Seconds per epoch of the real training loop on <paramref name="data"/>: every row is a training row
    /// (so 20k rows at batch 256 are 79 steps), plus the per-epoch validation pass over an eighth of the rows
    /// (overlapping the training rows; only its cost matters here). Each of <paramref name="epochs"/> epochs
    /// after <paramref name="warmupEpochs"/> untimed ones is timed on its own; the result reports their median.
    /// </summary>
    public static BenchmarkResult MeasureEpochSeconds(
        LabeledFingerprints data,
        FcnnArchitecture architecture,
        TrainingSettings settings,
        int epochs = 5,
        int warmupEpochs = 1)
    {
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "Time at least one epoch.");
        var info = TorchRuntime.Initialize();
        var all = Enumerable.Range(0, data.Rows).ToArray();
        var fold = new Fold(0, all, all.Where(r => r % 8 == 0).ToArray());
        var timed = settings with { Epochs = warmupEpochs + epochs, Schedule = LearningRateSchedule.Constant, Patience = null };
        var marks = new List<long>();
        var stopwatch = Stopwatch.StartNew();
        var progress = new SynchronousProgress<EpochMetrics>(_ => marks.Add(stopwatch.ElapsedTicks));
        FoldTrainer.Train(data, fold, architecture, timed, progress);
        var seconds = EpochSeconds(marks, warmupEpochs, epochs);
        var batch = settings.EffectiveBatchSize(fold.TrainRows.Length);
        var device = TorchRuntime.Resolve(settings.Device);
        return new BenchmarkResult(device.type.ToString(), data.Rows, data.Fingerprints.Columns, architecture.Hidden, batch,
            (fold.TrainRows.Length + batch - 1) / batch, seconds, info.Threads, settings.FirstLayer);
    }

    /// <summary>
    /// Each timed epoch's seconds from the stopwatch ticks at the end of every epoch; without warm-up the first epoch
    /// is timed from the start of the run (tick 0), setup included.
    /// </summary>
    internal static Repeats EpochSeconds(IReadOnlyList<long> marks, int warmupEpochs, int epochs) =>
        new(Enumerable.Range(warmupEpochs, epochs).Select(e => (double)(marks[e] - (e == 0 ? 0 : marks[e - 1])) / Stopwatch.Frequency));
}

/// <summary>Synthetic ECFP-like data: each row sets a fixed number of random bits; the label is a linear function of the bits.</summary>
public static class SyntheticFingerprints
{
    /// <param name="weights">Per-bit label contribution (eV); null draws them uniformly from [−0.1, 0.1].</param>
    public static LabeledFingerprints Create(int rows, int bits, int onBits, int seed, double bias = 7.0, double[]? weights = null, string dataset = "synthetic")
    {
        var rng = new SplitMix64((ulong)seed);
        weights ??= Enumerable.Range(0, bits).Select(_ => (rng.Next() >> 11) * (1.0 / (1UL << 53)) * 0.2 - 0.1).ToArray();
        var rowBits = new List<int[]>(rows);
        var labels = new double[rows];
        var pool = Enumerable.Range(0, bits).ToArray();
        for (var r = 0; r < rows; r++)
        {
            // Partial Fisher–Yates: the first onBits entries become a random subset.
            for (var i = 0; i < onBits; i++)
            {
                var j = i + rng.NextInt(bits - i);
                (pool[i], pool[j]) = (pool[j], pool[i]);
            }
            var set = pool.AsSpan(0, onBits).ToArray();
            Array.Sort(set);
            rowBits.Add(set);
            labels[r] = bias + set.Sum(b => weights[b]);
        }
        return new LabeledFingerprints(dataset, SparseBitMatrix.FromRows(bits, rowBits), labels);
    }
}
