using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using OrganicScreen.Core;
using static TorchSharp.torch;

namespace OrganicScreen.Training;

/// <summary>
/// The hidden layers of a fingerprint FCNN (<see cref="FcnnNetwork"/>) for CPU prediction, in managed AVX-512 code
/// that rounds exactly as libtorch does, so a screen's predictions stay those of the network Infer calibrated.
/// <para>Why: in a `default` library screen the 16 folds' 512→256 products were MKL's single-precision GEMM, about a
/// quarter of the CPU time (MKL runs its AVX2 kernels on AMD processors), plus libtorch's per-operation overhead and
/// thread hand-offs for each of the 16 small networks. Here an ensemble's members run side by side, one core each, with
/// no allocation per batch, and the dense layers skip their zero inputs (<see cref="MklOrderDense"/>).</para>
/// <para>How it matches libtorch: the first layer is an EmbeddingBag sum, the kernel rows of the set bits added one
/// after the other from zero, then the bias. A dense layer is <see cref="MklOrderDense"/>: MKL's summation order, with
/// the block size that reproduces <c>torch.addmm</c> bit for bit on random inputs for every batch size it is used for.
/// <see cref="TryCreate"/> then compares whole predictions with the libtorch network; when nothing matches (another
/// CPU, another MKL, a shape it does not handle) there is no kernel and libtorch predicts as before. The output layer
/// (one unit, MKL's GEMV) stays libtorch's. Batches below <see cref="MinRows"/> rows go to libtorch too: MKL sums a
/// few tail rows of small products differently.</para>
/// </summary>
internal sealed class FcnnHiddenKernel : IDisposable
{
    /// <summary>The batch sizes the kernel is verified for and used on (a screen's batches are 512 molecules).</summary>
    public const int MinRows = 16;

    /// <inheritdoc cref="MinRows"/>
    public const int MaxRows = 512;

    /// <summary>Batch sizes the verification covers: the smallest used, odd and even sizes, both sides of powers of two, a full batch.</summary>
    private static readonly int[] CheckedRows = [16, 17, 23, 31, 33, 64, 100, 127, 255, 256, 257, 300, 383, 500, 511, 512];

    /// <summary>A bound on every activation: far below float's range, so no sum overflows and skipping zeros is exact.</summary>
    private const double ActivationBound = 1e30;

    private readonly int inputBits;
    private readonly float[] firstKernel;
    private readonly float[] firstBias;
    private readonly MklOrderDense[] layers;
    private readonly Scratch?[] scratch;
    private readonly int widest;
    private readonly Tensor activations;

    private FcnnHiddenKernel(int inputBits, float[] firstKernel, float[] firstBias, MklOrderDense[] layers, int widest)
    {
        // One per core that may share a batch, made on first use: in an ensemble each member runs on one core (only the first).
        scratch = new Scratch?[Environment.ProcessorCount];
        this.widest = widest;
        activations = empty([MaxRows, layers.Length == 0 ? firstBias.Length : layers[^1].Outputs], ScalarType.Float32).DetachFromDisposeScope();
        this.inputBits = inputBits;
        this.firstKernel = firstKernel;
        this.firstBias = firstBias;
        this.layers = layers;
    }

    /// <summary>The block size of each dense hidden layer, as found to reproduce MKL (for tests).</summary>
    internal IReadOnlyList<int> Blocks => layers.Select(l => l.Block).ToList();

    /// <summary>Width of the last hidden layer (what <see cref="Hidden"/> writes per molecule).</summary>
    public int Outputs => layers.Length == 0 ? firstBias.Length : layers[^1].Outputs;

    /// <summary>The widest hidden layer (a layer's inputs are the one before it), which sizes the scratch buffers.</summary>
    private static int Widest(IEnumerable<DenseLayerWeights> hidden) => hidden.Max(l => l.Outputs);

    /// <summary>
    /// The kernel for <paramref name="network"/> (whose weights are <paramref name="weights"/>), verified against it, or
    /// null where it would not give libtorch's bits: no AVX-512, not on the CPU, a hidden width the passes do not cover,
    /// weights so large that a sum could overflow, or no block size that reproduces MKL here.
    /// </summary>
    public static FcnnHiddenKernel? TryCreate(FcnnNetwork network, IReadOnlyList<DenseLayerWeights> weights)
    {
        if (!Avx512F.IsSupported || network.Device.type != TorchSharp.DeviceType.CPU || weights.Count < 2) return null;
        var hidden = weights.Take(weights.Count - 1).ToList();
        if (hidden[0].Outputs % FirstColumns != 0 || hidden.Skip(1).Any(l => l.Outputs % MklOrderDense.Slab != 0)) return null;
        if (!Bounded(hidden)) return null;
        var dense = new List<MklOrderDense>();
        var random = new Random(20201);
        foreach (var layer in hidden.Skip(1))
        {
            using var kernel = tensor(layer.Kernel, [layer.Inputs, layer.Outputs]);
            using var bias = tensor(layer.Bias);
            var found = MklOrderDense.Find(layer, x => addmm(bias, x, kernel, 1, 1), CheckedRows, random);
            if (found is null) return null;
            dense.Add(found);
        }

        var built = new FcnnHiddenKernel(hidden[0].Inputs, MklOrderDense.PackSlabs(hidden[0].Kernel, hidden[0].Inputs, hidden[0].Outputs, FirstColumns), hidden[0].Bias, [.. dense], Widest(hidden));
        return built.ReproducesNetwork(network, random) ? built : null;
    }

    /// <summary>Whether every activation stays below <see cref="ActivationBound"/> whatever the fingerprint (and all weights are finite).</summary>
    private static bool Bounded(IReadOnlyList<DenseLayerWeights> hidden)
    {
        var bound = 1.0; // the inputs are 0 or 1
        foreach (var layer in hidden)
        {
            var largest = 0.0;
            foreach (var w in layer.Kernel.Concat(layer.Bias))
            {
                if (!float.IsFinite(w)) return false;
                largest = Math.Max(largest, Math.Abs(w));
            }

            bound = largest * (bound * layer.Inputs + 1);
            if (!(bound < ActivationBound)) return false;
        }

        return true;
    }

    /// <summary>Whether <paramref name="block"/> gives <c>torch.addmm</c>'s bits (before the ReLU) for every checked batch size (tests).</summary>
    internal static bool ReproducesAddmm(DenseLayerWeights layer, int block, Random random)
    {
        using var kernel = tensor(layer.Kernel, [layer.Inputs, layer.Outputs]);
        using var bias = tensor(layer.Bias);
        return MklOrderDense.Reproduces(layer, block, x => addmm(bias, x, kernel, 1, 1), CheckedRows, random);
    }

    /// <summary>Whether the kernel and libtorch's output layer give the network's own predictions, bit for bit, on random fingerprints of every checked batch size.</summary>
    private bool ReproducesNetwork(FcnnNetwork network, Random random)
    {
        foreach (var rows in CheckedRows)
        {
            var offsets = new int[rows + 1];
            var bits = new List<int>();
            for (var r = 0; r < rows; r++)
            {
                // Between none and about 60 distinct bits, as the study's fingerprints have.
                var count = random.Next(0, Math.Min(60, inputBits) + 1);
                bits.AddRange(Enumerable.Range(0, count).Select(_ => random.Next(inputBits)).Distinct().Order());
                offsets[r + 1] = bits.Count;
            }

            var fingerprints = new SparseBitMatrix(inputBits, offsets, [.. bits]);
            var all = FingerprintBatch.AllRows(fingerprints);
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            using var batch = FingerprintBatch.Create(fingerprints, all, dense: false, network.Device);
            var expected = network.Forward(batch, null).data<float>().ToArray();
            var mine = Predict(network, fingerprints);
            if (!mine.AsSpan().SequenceEqual(expected)) return false;
        }

        return true;
    }

    /// <summary>The network's normalised outputs for every row of <paramref name="fingerprints"/>: <see cref="Hidden"/> on both cores, then <see cref="Output"/>.</summary>
    public float[] Predict(FcnnNetwork network, SparseBitMatrix fingerprints)
    {
        Hidden(fingerprints, parallel: true);
        return Output(network, fingerprints.Rows);
    }

    /// <summary>
    /// The output layer in libtorch, as <see cref="FcnnNetwork.Forward"/> computes it, on the activations the last
    /// <see cref="Hidden"/> left for its <paramref name="rows"/> molecules.
    /// </summary>
    public float[] Output(FcnnNetwork network, int rows)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var h = activations.narrow(0, 0, rows);
        return network.Output(h).data<float>().ToArray();
    }

    /// <summary>
    /// The last hidden layer's activations (after its ReLU) for every row of <paramref name="fingerprints"/> (at most
    /// <see cref="MaxRows"/>), into the kernel's libtorch buffer for <see cref="Output"/>. With <paramref name="parallel"/>
    /// each core takes an equal share of the molecules, in chunks, with scratch buffers allocated once (hundreds of
    /// KB per call went to the large-object heap and cost more than the products); without, one thread does all (an
    /// ensemble runs its members side by side instead).
    /// </summary>
    public unsafe void Hidden(SparseBitMatrix fingerprints, bool parallel)
    {
        var rows = fingerprints.Rows;
        if (rows > MaxRows) throw new ArgumentOutOfRangeException(nameof(fingerprints), rows, $"at most {MaxRows} molecules per call");
        if (fingerprints.Columns != inputBits) throw new ArgumentException($"The model expects {inputBits}-bit fingerprints, got {fingerprints.Columns} columns.", nameof(fingerprints));
        var width = Outputs;
        // libtorch's own memory, 64-byte aligned: MKL's GEMV sums in another order when its input is not aligned (the
        // output layer's rounding changed when it read a managed array), so the kernel writes there directly.
        var target = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(activations.bytes));
        var chunks = (rows + Chunk - 1) / Chunk;
        var workers = parallel ? Math.Min(scratch.Length, chunks) : 1;
        if (workers <= 1)
        {
            Share(0, 1);
            return;
        }

        Parallel.For(0, workers, w => Share(w, workers));

        void Share(int worker, int of)
        {
            for (var c = worker * chunks / of; c < (worker + 1) * chunks / of; c++)
            {
                var from = c * Chunk;
                var count = Math.Min(Chunk, rows - from);
                Molecules(fingerprints, from, count, new Span<float>(target + (long)from * width, count * width), scratch[worker] ??= new Scratch(widest));
            }
        }
    }

    public void Dispose() => activations.Dispose();

    /// <summary>Molecules per pass through the layers (<see cref="MklOrderDense.Chunk"/>).</summary>
    private const int Chunk = MklOrderDense.Chunk;

    /// <summary>Columns of the first layer summed at once (eight registers).</summary>
    private const int FirstColumns = 128;

    private void Molecules(SparseBitMatrix fingerprints, int from, int count, Span<float> output, Scratch scratch)
    {
        var current = layers.Length == 0 ? output : scratch.A.AsSpan(0, count * firstBias.Length);
        First(fingerprints, from, count, current);
        for (var l = 0; l < layers.Length; l++)
        {
            var next = l == layers.Length - 1 ? output : (l % 2 == 0 ? scratch.B : scratch.A).AsSpan(0, count * layers[l].Outputs);
            layers[l].Apply(current, count, next, scratch.Dense, relu: true);
            current = next;
        }
    }

    /// <summary>
    /// The EmbeddingBag sum for each molecule: the set bits' kernel rows added in bit order from zero, then the bias,
    /// then the ReLU; <see cref="FirstColumns"/> columns at a time, in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void First(SparseBitMatrix fingerprints, int from, int count, Span<float> output)
    {
        var width = firstBias.Length;
        ref var kernel = ref firstKernel[0];
        ref var bias = ref firstBias[0];
        ref var result = ref MemoryMarshal.GetReference(output);
        for (var column = 0; column < width; column += FirstColumns)
        {
            for (var m = 0; m < count; m++)
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                foreach (var bit in fingerprints.Row(from + m))
                {
                    if ((uint)bit >= (uint)inputBits) throw new ArgumentOutOfRangeException(nameof(fingerprints), bit, $"bit index outside the model's {inputBits} input bits");
                    ref var row = ref Unsafe.Add(ref kernel, ((nint)column * inputBits) + ((nint)bit * FirstColumns));
                    a0 += Vector512.LoadUnsafe(ref row);
                    a1 += Vector512.LoadUnsafe(ref row, 16);
                    a2 += Vector512.LoadUnsafe(ref row, 32);
                    a3 += Vector512.LoadUnsafe(ref row, 48);
                    a4 += Vector512.LoadUnsafe(ref row, 64);
                    a5 += Vector512.LoadUnsafe(ref row, 80);
                    a6 += Vector512.LoadUnsafe(ref row, 96);
                    a7 += Vector512.LoadUnsafe(ref row, 112);
                }

                ref var b = ref Unsafe.Add(ref bias, column);
                ref var o = ref Unsafe.Add(ref result, (nint)m * width + column);
                Relu(a0 + Vector512.LoadUnsafe(ref b)).StoreUnsafe(ref o);
                Relu(a1 + Vector512.LoadUnsafe(ref b, 16)).StoreUnsafe(ref o, 16);
                Relu(a2 + Vector512.LoadUnsafe(ref b, 32)).StoreUnsafe(ref o, 32);
                Relu(a3 + Vector512.LoadUnsafe(ref b, 48)).StoreUnsafe(ref o, 48);
                Relu(a4 + Vector512.LoadUnsafe(ref b, 64)).StoreUnsafe(ref o, 64);
                Relu(a5 + Vector512.LoadUnsafe(ref b, 80)).StoreUnsafe(ref o, 80);
                Relu(a6 + Vector512.LoadUnsafe(ref b, 96)).StoreUnsafe(ref o, 96);
                Relu(a7 + Vector512.LoadUnsafe(ref b, 112)).StoreUnsafe(ref o, 112);
            }
        }
    }

    /// <summary>Per-thread buffers: two activation matrices of a chunk, and the dense layers' own.</summary>
    private sealed class Scratch(int widest)
    {
        public readonly float[] A = new float[Chunk * widest];
        public readonly float[] B = new float[Chunk * widest];
        public readonly MklOrderDense.Scratch Dense = new(widest, widest);
    }

    private static Vector512<float> Relu(Vector512<float> x) => MklOrderDense.Relu(x);
}
