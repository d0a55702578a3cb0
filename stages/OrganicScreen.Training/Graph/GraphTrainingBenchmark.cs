using System.Diagnostics;
using OrganicScreen.Core;

namespace OrganicScreen.Training.Graph;

/// <summary>Timing of D-MPNN training epochs (after warm-up) for one architecture, batch size and device.</summary>
public sealed record GraphBenchmarkResult(
    string Device,
    int Molecules,
    double MeanAtoms,
    double MeanBonds,
    int AtomFeatures,
    int BondFeatures,
    int Hidden,
    int Depth,
    int BatchSize,
    int StepsPerEpoch,
    Repeats EpochSeconds,
    int Threads,
    TrainingPhaseSeconds PhasesPerEpoch)
{
    /// <summary>The median timed epoch (see <see cref="Repeats"/>).</summary>
    public double SecondsPerEpoch => EpochSeconds.Median;
}

public static class GraphTrainingBenchmark
{
    /// <summary>
    /// Seconds per epoch of the real graph training loop on <paramref name="data"/>: every molecule is a training
    /// molecule (20k at batch 50 = 400 steps), plus the per-epoch validation pass over an eighth of them (only
    /// its cost matters). Each of <paramref name="epochs"/> epochs after <paramref name="warmupEpochs"/> untimed
    /// ones is timed on its own; the result's <see cref="GraphBenchmarkResult.SecondsPerEpoch"/> is their median.
    /// <see cref="GraphBenchmarkResult.PhasesPerEpoch"/> splits the timed epochs' mean wall time by <see cref="TrainingPhase"/>.
    /// Reference (2 cores shared with another training, load 18, 20k OCELOT molecules of 22.2 atoms / 24.9 bonds,
    /// hidden 300, depth 3, batch 50): 47.6 s/epoch with the fused CPU message passing, 66.3 s/epoch before it
    /// (about 20 s idle). The W_h GEMMs are about 70 % of the FLOPs; MKL does 110–130 GFLOP per CPU-second here.
    /// </summary>
    public static GraphBenchmarkResult MeasureEpochSeconds(
        LabeledGraphs data,
        DmpnnArchitecture architecture,
        TrainingSettings settings,
        int epochs = 3,
        int warmupEpochs = 1)
    {
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "Time at least one epoch.");
        if (warmupEpochs < 0) throw new ArgumentOutOfRangeException(nameof(warmupEpochs), warmupEpochs, "Warm-up epochs must be ≥ 0.");
        var info = TorchRuntime.Initialize();
        var all = Enumerable.Range(0, data.Rows).ToArray();
        var fold = new Fold(0, all, all.Where(r => r % 8 == 0).ToArray());
        var timed = settings with { Epochs = warmupEpochs + epochs, Schedule = LearningRateSchedule.Constant, Patience = null };
        var marks = new List<long>();
        var clock = new TrainingPhaseClock();
        var phases = new List<TrainingPhaseSeconds>();
        var stopwatch = Stopwatch.StartNew();
        var progress = new SynchronousProgress<GraphEpochMetrics>(_ =>
        {
            marks.Add(stopwatch.ElapsedTicks);
            phases.Add(clock.Snapshot());
        });
        data.Validate(minimumRows: 2);
        GraphFoldTrainer.TrainValidated(data, fold, architecture, timed, GraphTrainingOptions.Default, progress, CancellationToken.None, clock);
        var seconds = TrainingBenchmark.EpochSeconds(marks, warmupEpochs, epochs);
        var phaseStart = warmupEpochs == 0 ? new TrainingPhaseSeconds(new double[phases[0].Seconds.Count]) : phases[warmupEpochs - 1];
        var batch = settings.EffectiveBatchSize(fold.TrainRows.Length);
        var device = TorchRuntime.Resolve(settings.Device);
        var g = data.Graphs;
        return new GraphBenchmarkResult(device.type.ToString(), data.Rows, (double)g.AtomOffsets[^1] / g.Molecules, (double)g.BondOffsets[^1] / g.Molecules,
            g.AtomFeatureCount, g.BondFeatureCount, architecture.Hidden, architecture.Depth, batch, (fold.TrainRows.Length + batch - 1) / batch,
            seconds, info.Threads, phases[^1].Minus(phaseStart).Divide(epochs));
    }
}

/// <summary>
/// Synthetic molecule-like graphs with Chemprop-sized features, for benchmarks and tests: each molecule is a random
/// tree of 2/3·<c>meanAtoms</c>..4/3·<c>meanAtoms</c> atoms plus <c>ringBonds</c> ring closures. Atom features:
/// element one-hot (columns 0–9, mostly "carbon" = 0), degree one-hot (10–15), 4 random further bits; bond
/// features: type one-hot (0–3: single/double/triple/aromatic), ring flag (4), one random further bit.
/// Targets "IE" and "EA" are smooth functions of per-atom environments (element, degree, double bonds), so a
/// message-passing model can learn them.
/// </summary>
public static class SyntheticGraphs
{
    public const int ElementColumns = 10;
    public const int DegreeColumn = 10;
    public const int RingColumn = 4;

    public static LabeledGraphs Create(int molecules, int seed, int meanAtoms = 30, int ringBonds = 3, int atomFeatures = 133,
        int bondFeatures = 14, string dataset = "synthetic graphs")
    {
        if (molecules <= 0) throw new ArgumentOutOfRangeException(nameof(molecules), molecules, "Need at least one molecule.");
        if (meanAtoms < 2) throw new ArgumentOutOfRangeException(nameof(meanAtoms), meanAtoms, "Need at least two atoms on average.");
        if (atomFeatures < 20) throw new ArgumentOutOfRangeException(nameof(atomFeatures), atomFeatures, "Need ≥ 20 atom features (element, degree and random columns).");
        if (bondFeatures < 6) throw new ArgumentOutOfRangeException(nameof(bondFeatures), bondFeatures, "Need ≥ 6 bond features (type, ring and random columns).");
        var rng = new SplitMix64((ulong)seed);
        double[] ieWeight = [0.0, 0.4, -0.3, 0.2, -0.2, 0.5, 0.1, -0.4, 0.3, -0.1];
        double[] eaWeight = [0.0, -0.2, 0.5, 0.1, 0.3, -0.3, 0.2, 0.4, -0.1, 0.2];
        // Pass 1: topology only, so the feature arrays can be allocated at their exact size (20k molecules of
        // Chemprop-sized features are ~330 MB; growing lists would need several times that).
        var atomOffsets = new int[molecules + 1];
        var bondOffsets = new int[molecules + 1];
        var topologies = new List<(int A, int B, int Type, bool Ring)>[molecules];
        for (var m = 0; m < molecules; m++)
        {
            var lo = Math.Max(1, meanAtoms * 2 / 3);
            var n = lo + rng.NextInt(Math.Max(1, meanAtoms * 4 / 3 - lo + 1));
            var bonds = new List<(int A, int B, int Type, bool Ring)>();
            var neighbours = new HashSet<(int, int)>();
            for (var i = 1; i < n; i++)
            {
                var j = rng.NextInt(i);
                bonds.Add((j, i, BondType(ref rng), false));
                neighbours.Add((j, i));
            }
            for (var r = 0; r < ringBonds && n >= 4; r++)
            {
                int a = rng.NextInt(n), b = rng.NextInt(n);
                if (a == b || !neighbours.Add((Math.Min(a, b), Math.Max(a, b)))) continue;
                bonds.Add((Math.Min(a, b), Math.Max(a, b), 3, true));
            }
            topologies[m] = bonds;
            atomOffsets[m + 1] = atomOffsets[m] + n;
            bondOffsets[m + 1] = bondOffsets[m] + bonds.Count;
        }

        // Pass 2: features and labels.
        var atomFeatureValues = new float[(long)atomOffsets[^1] * atomFeatures];
        var bondAtoms = new int[bondOffsets[^1] * 2];
        var bondFeatureValues = new float[(long)bondOffsets[^1] * bondFeatures];
        var labels = new double[molecules, 2];
        for (var m = 0; m < molecules; m++)
        {
            var n = atomOffsets[m + 1] - atomOffsets[m];
            var bonds = topologies[m];
            var degree = new int[n];
            var doubles = new int[n];
            foreach (var (a, b, type, _) in bonds)
            {
                degree[a]++; degree[b]++;
                if (type == 1) { doubles[a]++; doubles[b]++; }
            }
            double ie = 0, ea = 0;
            for (var i = 0; i < n; i++)
            {
                var row = atomFeatureValues.AsSpan((atomOffsets[m] + i) * atomFeatures, atomFeatures);
                var element = rng.NextInt(10) < 6 ? 0 : rng.NextInt(ElementColumns);
                row[element] = 1;
                row[DegreeColumn + Math.Min(degree[i], 5)] = 1;
                for (var k = 0; k < 4; k++) row[DegreeColumn + 6 + rng.NextInt(atomFeatures - DegreeColumn - 6)] = 1;
                ie += ieWeight[element] + 0.15 * degree[i] + 0.2 * doubles[i];
                ea += eaWeight[element] - 0.1 * degree[i] + 0.3 * doubles[i];
            }
            for (var k = 0; k < bonds.Count; k++)
            {
                var (a, b, type, ring) = bonds[k];
                var j = bondOffsets[m] + k;
                bondAtoms[2 * j] = a;
                bondAtoms[2 * j + 1] = b;
                var row = bondFeatureValues.AsSpan(j * bondFeatures, bondFeatures);
                row[type] = 1;
                if (ring) row[RingColumn] = 1;
                row[RingColumn + 1 + rng.NextInt(bondFeatures - RingColumn - 1)] = 1;
            }
            labels[m, 0] = 6.5 + ie / n;
            labels[m, 1] = 1.0 + ea / n;
        }
        var graphs = new MolecularGraphs(atomFeatures, bondFeatures, atomOffsets, atomFeatureValues, bondOffsets, bondAtoms, bondFeatureValues);
        return new LabeledGraphs(dataset, graphs, labels, ["IE", "EA"]);
    }

    /// <summary>Mostly single, some double and triple bonds (aromatic = 3 is used for ring closures).</summary>
    static int BondType(ref SplitMix64 rng)
    {
        var x = rng.NextInt(20);
        return x < 15 ? 0 : x < 19 ? 1 : 2;
    }
}
