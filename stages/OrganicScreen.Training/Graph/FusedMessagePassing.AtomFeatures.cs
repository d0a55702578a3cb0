using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace OrganicScreen.Training.Graph;

internal static partial class FusedMessagePassing
{
    /// <summary>
    /// [atoms, hidden] x_a · Wᵀ over the first <paramref name="columns"/> columns of <paramref name="weight"/> [hidden, ≥ columns]
    /// (W_i's or W_o's atom block), from the batch's non-zero atom features (<see cref="GraphBatch.AtomFeatureColumns"/>).
    /// A dense GEMM spends 133 multiply-adds per output where about 8 are not by zero, and the two atom products were a
    /// quarter of an ensemble's prediction time. Each output is the sum of its non-zero terms in ascending column order,
    /// one fused multiply-add each, from zero: the order MKL's GEMM accumulates in, so on this machine the products are
    /// bit for bit MKL's (checked on the published models' predictions). Forward only (no autograd node): for
    /// prediction, and validation under no_grad.
    /// </summary>
    public static Tensor AtomProduct(GraphBatch batch, Tensor weight, int columns)
    {
        var output = empty(batch.Atoms, weight.shape[0]);
        AtomProduct(batch, weight, columns, output, accumulate: false);
        return output;
    }

    /// <summary><paramref name="output"/> += <see cref="AtomProduct(GraphBatch, Tensor, int)"/> (the sum first, then one addition: as addmm_ with beta 1).</summary>
    public static void AddAtomProduct(Tensor output, GraphBatch batch, Tensor weight, int columns) =>
        AtomProduct(batch, weight, columns, output, accumulate: true);

    static void AtomProduct(GraphBatch batch, Tensor weight, int columns, Tensor output, bool accumulate)
    {
        if (output.device_type != DeviceType.CPU || !output.is_contiguous() || output.shape[0] != batch.Atoms || output.shape[1] != weight.shape[0])
            throw new ArgumentException("The atom product writes a contiguous CPU [atoms, hidden] tensor.", nameof(output));
        // Wᵀ's rows are the columns the non-zero features pick: [columns, hidden], contiguous.
        using var picked = weight.detach().narrow(1, 0, columns);
        using var pickedT = picked.t();
        using var transposed = pickedT.contiguous();
        Blocks.Run(batch, block => AtomKernels.Product(batch, block, transposed, output, accumulate));
    }

    static unsafe class AtomKernels
    {
        static float* Pointer(Tensor t) => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Product(GraphBatch batch, GraphBlock block, Tensor transposed, Tensor output, bool accumulate)
        {
            var h = (int)transposed.shape[1];
            float* w = Pointer(transposed), o = Pointer(output);
            var offsets = batch.AtomFeatureOffsets;
            var featureColumns = batch.AtomFeatureColumns;
            var values = batch.AtomFeatureValues;
            var sum = stackalloc float[h];
            for (var a = block.AtomStart; a < block.AtomEnd; a++)
            {
                var row = accumulate ? sum : o + (long)a * h;
                new Span<float>(row, h).Clear();
                for (var i = offsets[a]; i < offsets[a + 1]; i++)
                    MultiplyAdd(values[i], w + (long)featureColumns[i] * h, row, h);
                if (accumulate) Add(sum, o + (long)a * h, h);
            }
        }

        /// <summary>row = fma(v, w, row), element by element (the vector FMA rounds each lane as the scalar one does).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void MultiplyAdd(float v, float* w, float* row, int h)
        {
            var c = 0;
            var scale = Vector512.Create(v);
            for (; c <= h - Vector512<float>.Count; c += Vector512<float>.Count)
                Vector512.FusedMultiplyAdd(scale, Vector512.Load(w + c), Vector512.Load(row + c)).Store(row + c);
            for (; c < h; c++) row[c] = MathF.FusedMultiplyAdd(v, w[c], row[c]);
        }

        /// <summary>output += sum.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Add(float* sum, float* output, int h)
        {
            var c = 0;
            for (; c <= h - Vector512<float>.Count; c += Vector512<float>.Count)
                (Vector512.Load(output + c) + Vector512.Load(sum + c)).Store(output + c);
            for (; c < h; c++) output[c] += sum[c];
        }
    }
}
