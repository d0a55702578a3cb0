using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static TorchSharp.torch;

namespace OrganicScreen.Training;

/// <summary>
/// A dense layer's pre-activation, bias + x·W, in managed AVX-512 code that rounds as libtorch's <c>addmm</c> does on
/// the CPU: MKL's single-precision GEMM with the bias copied into its output first. MKL cuts the inputs into blocks of
/// <c>kc</c>, sums each block from zero by fused multiply-adds in input order and adds each block's sum to the output;
/// <see cref="Block"/> is that <c>kc</c>, which is MKL's choice (192 for 512 inputs and 150 for 300 on this machine's
/// AMD CPU, where MKL runs its AVX2 kernels), so it is never assumed: <see cref="Find"/> keeps the block size that
/// reproduces the caller's own <c>addmm</c> bit for bit on random inputs at every row count it checks, or nothing.
/// <para>Zero inputs (about half of a ReLU's outputs) are skipped, which changes no bit while the weights are finite:
/// a skipped term is a fused multiply-add of 0, which adds a signed zero, and a zero's sign never reaches a non-zero
/// sum (nor a ReLU's output).</para>
/// <para>Used for the FCNN's hidden layers (<see cref="FcnnHiddenKernel"/>) and the D-MPNN's atom update
/// (<see cref="Graph.AtomOutputProduct"/>): two layers whose GEMMs were a fifth to a quarter of a screen's CPU time.</para>
/// </summary>
internal sealed class MklOrderDense
{
    /// <summary>Columns per slab: a block of 192 kernel rows of 64 floats is 48 KB, about a core's L1 cache.</summary>
    public const int Slab = 64;

    /// <summary>
    /// Rows per pass: each slab's kernel rows are read for all of them, instead of all the weights for each row (the
    /// first FCNN version, one molecule at a time, streamed every fold's 2.5 MB per molecule and was slower than MKL).
    /// </summary>
    public const int Chunk = 64;

    /// <summary>Block sizes tried, most likely first: MKL's on AMD Zen for 512 inputs and their halves, then even splits of the inputs (150 for 300).</summary>
    private static IEnumerable<int> BlockCandidates(int inputs) =>
        new[] { 192, 128, 256, 96, 64, 384, 512, 160, 320 }.Where(b => b <= inputs)
            .Concat(Enumerable.Range(1, 8).Select(parts => (inputs + parts - 1) / parts))
            .Distinct();

    /// <param name="kernel">Slab-major (<see cref="Pack"/>), its columns padded with zeros to <see cref="Width"/>.</param>
    private MklOrderDense(int inputs, int outputs, float[] kernel, float[] bias, int block)
    {
        Inputs = inputs;
        Outputs = outputs;
        Width = Padded(outputs);
        this.kernel = kernel;
        this.bias = bias;
        Block = block;
    }

    private readonly float[] kernel;
    private readonly float[] bias;

    public int Inputs { get; }

    public int Outputs { get; }

    /// <summary><see cref="Outputs"/> rounded up to whole slabs: the row width <see cref="Apply"/> writes.</summary>
    public int Width { get; }

    /// <summary>MKL's <c>kc</c>: the inputs summed from zero before each addition to the output.</summary>
    public int Block { get; }

    private int Blocks => (Inputs + Block - 1) / Block;

    private static int Padded(int outputs) => (outputs + Slab - 1) / Slab * Slab;

    /// <summary>
    /// <paramref name="layer"/>'s row-major [inputs, outputs] kernel rearranged slab after slab of <see cref="Slab"/>
    /// columns (the last padded with zero columns), each slab's rows contiguous: the rows a pass reads are then one
    /// block of memory, not pieces a row apart (which fell on a few of the cache's sets and kept evicting each other).
    /// </summary>
    private static MklOrderDense Pack(DenseLayerWeights layer, int block)
    {
        var bias = new float[Padded(layer.Outputs)];
        layer.Bias.CopyTo(bias, 0);
        return new MklOrderDense(layer.Inputs, layer.Outputs, PackSlabs(layer.Kernel, layer.Inputs, layer.Outputs, Slab), bias, block);
    }

    /// <summary>
    /// A row-major [<paramref name="rows"/>, <paramref name="columns"/>] kernel as slabs of <paramref name="slab"/>
    /// columns, slab after slab, each slab's rows contiguous; the last slab padded with zero columns. Also the FCNN's
    /// first layer's layout (<see cref="FcnnHiddenKernel"/>, slabs of 128).
    /// </summary>
    public static float[] PackSlabs(float[] kernel, int rows, int columns, int slab)
    {
        var width = (columns + slab - 1) / slab * slab;
        var packed = new float[rows * width];
        for (var s = 0; s < width / slab; s++)
            for (var r = 0; r < rows; r++)
            {
                var take = Math.Min(slab, columns - s * slab);
                kernel.AsSpan(r * columns + s * slab, take).CopyTo(packed.AsSpan((s * rows + r) * slab, take));
            }

        return packed;
    }

    /// <summary>The same packed weights with another block size.</summary>
    private MklOrderDense WithBlock(int block) => new(Inputs, Outputs, kernel, bias, block);

    /// <summary>
    /// The layer with the first block size whose products are <paramref name="reference"/>'s bits (the caller's own
    /// <c>addmm</c> with <paramref name="layer"/>'s weights, before any activation) for each row count of
    /// <paramref name="rows"/>; null when none is, or a weight is not finite (skipping a zero input would hide
    /// libtorch's 0 × NaN), or AVX-512 is missing.
    /// </summary>
    public static MklOrderDense? Find(DenseLayerWeights layer, Func<Tensor, Tensor> reference, IReadOnlyList<int> rows, Random random)
    {
        if (!Avx512F.IsSupported || !layer.Kernel.All(float.IsFinite) || !layer.Bias.All(float.IsFinite)) return null;
        var packed = Pack(layer, BlockCandidates(layer.Inputs).First());
        return BlockCandidates(layer.Inputs).Select(packed.WithBlock).FirstOrDefault(candidate => candidate.Reproduces(reference, rows, random));
    }

    /// <summary>Whether <paramref name="block"/> reproduces <paramref name="reference"/> (tests: other blockings must not).</summary>
    internal static bool Reproduces(DenseLayerWeights layer, int block, Func<Tensor, Tensor> reference, IReadOnlyList<int> rows, Random random) =>
        Pack(layer, block).Reproduces(reference, rows, random);

    private bool Reproduces(Func<Tensor, Tensor> reference, IReadOnlyList<int> rows, Random random)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var scratch = new Scratch(this);
        // The inputs in libtorch's memory (aligned as activations are), read there by both sides.
        using var inputs = empty([rows.Max(), Inputs], ScalarType.Float32);
        var values = MemoryMarshal.Cast<byte, float>(inputs.bytes);
        var mine = new float[rows.Max() * Outputs];
        foreach (var count in rows)
        {
            // ReLU outputs or sums of them: about half zero, the rest of a hidden layer's magnitude.
            for (var i = 0; i < count * Inputs; i++) values[i] = random.NextDouble() < 0.5 ? 0f : (float)(random.NextDouble() * 4);
            using var batch = inputs.narrow(0, 0, count);
            using var product = reference(batch);
            ApplyRows(values[..(count * Inputs)], count, mine.AsSpan(0, count * Outputs), scratch);
            if (!mine.AsSpan(0, count * Outputs).SequenceEqual(MemoryMarshal.Cast<byte, float>(product.bytes))) return false;
        }

        return true;
    }

    /// <summary>
    /// bias + x·W for <paramref name="rows"/> rows of <see cref="Inputs"/> floats into rows of <see cref="Outputs"/>
    /// floats (no activation), <see cref="Chunk"/> rows at a time, on the calling thread.
    /// </summary>
    public void ApplyRows(ReadOnlySpan<float> input, int rows, Span<float> output, Scratch scratch)
    {
        for (var from = 0; from < rows; from += Chunk)
        {
            var count = Math.Min(Chunk, rows - from);
            var x = input.Slice(from * Inputs, count * Inputs);
            var y = output.Slice(from * Outputs, count * Outputs);
            if (Width == Outputs)
            {
                Apply(x, count, y, scratch, relu: false);
                continue;
            }

            var padded = scratch.Output.AsSpan(0, count * Width);
            Apply(x, count, padded, scratch, relu: false);
            for (var m = 0; m < count; m++) padded.Slice(m * Width, Outputs).CopyTo(y.Slice(m * Outputs, Outputs));
        }
    }

    /// <summary>Per-thread buffers: the non-zero inputs of a chunk with where each row's block starts, and a chunk of padded output rows.</summary>
    internal sealed class Scratch(int inputs, int width)
    {
        public Scratch(MklOrderDense layer) : this(layer.Inputs, layer.Width)
        {
        }

        public readonly int[] Offset = new int[Chunk * inputs + 1];
        public readonly float[] Value = new float[Chunk * inputs + 1];
        public readonly int[] Starts = new int[Chunk * (inputs + 1)];
        public readonly float[] Output = new float[Chunk * width];
    }

    /// <summary>
    /// The layer for <paramref name="count"/> ≤ <see cref="Chunk"/> rows into rows of <see cref="Width"/> floats, MKL's
    /// order: the bias, plus for each block of <see cref="Block"/> inputs its sum from zero (fused multiply-adds in input
    /// order, zero inputs skipped), then the ReLU when asked. Block by block and slab by slab of <see cref="Slab"/>
    /// columns, so the kernel rows a slab needs stay in the core's first-level cache for all the rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public unsafe void Apply(ReadOnlySpan<float> input, int count, Span<float> output, Scratch scratch, bool relu)
    {
        var (inputs, n) = (Inputs, Width);
        var blocks = Blocks;
        var offset = scratch.Offset;
        var value = scratch.Value;
        var starts = scratch.Starts;
        var nonZero = 0;
        var tail = stackalloc float[Vector512<float>.Count];
        // Sixteen inputs at a time, without a branch (about half are zero, in no order a predictor could learn): the
        // non-zero ones and their kernel-row offsets are compressed into the lists. A block's last group of fewer than
        // sixteen is read through a zeroed buffer (its zeros are dropped like any other).
        var lane = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) * Slab;
        fixed (int* offsetList = offset)
        fixed (float* valueList = value)
        {
            for (var m = 0; m < count; m++)
            {
                var x = input.Slice(m * inputs, inputs);
                for (var b = 0; b < blocks; b++)
                {
                    starts[m * (blocks + 1) + b] = nonZero;
                    var end = Math.Min(inputs, (b + 1) * Block);
                    for (var k = b * Block; k < end; k += Vector512<float>.Count)
                    {
                        Vector512<float> v;
                        if (end - k >= Vector512<float>.Count) v = Vector512.Create(x.Slice(k, Vector512<float>.Count));
                        else
                        {
                            var group = new Span<float>(tail, Vector512<float>.Count);
                            group.Clear();
                            x[k..end].CopyTo(group);
                            v = Vector512.Load(tail);
                        }

                        var keep = ~Vector512.Equals(v, Vector512<float>.Zero);
                        Avx512F.CompressStore(valueList + nonZero, keep, v);
                        Avx512F.CompressStore(offsetList + nonZero, keep.AsInt32(), lane + Vector512.Create(k * Slab));
                        nonZero += System.Numerics.BitOperations.PopCount(keep.ExtractMostSignificantBits());
                    }
                }

                starts[m * (blocks + 1) + blocks] = nonZero;
                bias.CopyTo(output.Slice(m * n, n));
            }
        }

        ref var weights = ref kernel[0];
        ref var result = ref MemoryMarshal.GetReference(output);
        ref var values = ref value[0];
        ref var offsets = ref offset[0];
        for (var b = 0; b < blocks; b++)
        {
            for (var column = 0; column < n; column += Slab)
            {
                ref var slab = ref Unsafe.Add(ref weights, (nint)column * inputs);
                for (var m = 0; m < count; m++)
                {
                    Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
                    var end = starts[m * (blocks + 1) + b + 1];
                    for (var q = starts[m * (blocks + 1) + b]; q < end; q++)
                    {
                        var a = Vector512.Create(Unsafe.Add(ref values, q));
                        ref var row = ref Unsafe.Add(ref slab, Unsafe.Add(ref offsets, q));
                        s0 = Avx512F.FusedMultiplyAdd(a, Vector512.LoadUnsafe(ref row), s0);
                        s1 = Avx512F.FusedMultiplyAdd(a, Vector512.LoadUnsafe(ref row, 16), s1);
                        s2 = Avx512F.FusedMultiplyAdd(a, Vector512.LoadUnsafe(ref row, 32), s2);
                        s3 = Avx512F.FusedMultiplyAdd(a, Vector512.LoadUnsafe(ref row, 48), s3);
                    }

                    ref var o = ref Unsafe.Add(ref result, (nint)m * n + column);
                    (Vector512.LoadUnsafe(ref o) + s0).StoreUnsafe(ref o);
                    (Vector512.LoadUnsafe(ref o, 16) + s1).StoreUnsafe(ref o, 16);
                    (Vector512.LoadUnsafe(ref o, 32) + s2).StoreUnsafe(ref o, 32);
                    (Vector512.LoadUnsafe(ref o, 48) + s3).StoreUnsafe(ref o, 48);
                }
            }
        }

        if (!relu) return;
        for (var i = 0; i < count * n; i += Vector512<float>.Count)
            Relu(Vector512.LoadUnsafe(ref result, (nuint)i)).StoreUnsafe(ref result, (nuint)i);
    }

    /// <summary>max(x, 0) keeping NaN (vmaxps returns its second operand when either is NaN), as torch's ReLU does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Relu(Vector512<float> x) => Avx512F.Max(Vector512<float>.Zero, x);
}
