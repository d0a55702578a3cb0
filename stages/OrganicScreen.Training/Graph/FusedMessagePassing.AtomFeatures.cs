using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace OrganicScreen.Training.Graph;

internal static partial class FusedMessagePassing
{
    /// <summary>
    /// [atoms, hidden] x_a · Wᵀ over the first <paramref name="columns"/> columns of <paramref name="weight"/> [hidden, ≥ columns]
    /// (W_i's or W_o's atom block), from the batch's non-zero atom features (<see cref="GraphBatch.AtomFeatureRows"/>).
    /// A dense GEMM spends 133 multiply-adds per output where about 8 are not by zero (MKL's two atom GEMMs were about
    /// 5 % of a `best` screen's samples, this kernel 0.5 %). Each output is the sum of its non-zero terms in ascending
    /// column order, one fused multiply-add each, from zero: the order MKL's GEMM accumulates in, so on this machine the
    /// products are bit for bit MKL's (FusedMessagePassingTests compares the two). Forward only (no autograd node): for
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
        var rows = batch.AtomFeatureRows;
        Blocks.Run(batch, block => AtomKernels.Product(rows, block, transposed, output, accumulate));
    }

    static unsafe class AtomKernels
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Product(GraphBatch.SparseRows rows, GraphBlock block, Tensor transposed, Tensor output, bool accumulate)
        {
            var h = (int)transposed.shape[1];
            float* w = Kernels.Pointer(transposed), o = Kernels.Pointer(output);
            var offsets = rows.Offsets;
            fixed (int* columns = rows.Columns)
            fixed (float* values = rows.Values)
            {
                for (var a = block.AtomStart; a < block.AtomEnd; a++)
                {
                    int first = offsets[a], end = offsets[a + 1];
                    var row = o + (long)a * h;
                    // Four vectors of outputs stay in registers across the atom's non-zero features (the row is written
                    // once, not once per feature); each output still gets its terms in ascending column order.
                    const int Lanes = 16, Wide = 4 * Lanes;
                    var c = 0;
                    for (; c + Wide <= h; c += Wide)
                    {
                        Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
                        for (var i = first; i < end; i++)
                        {
                            var v = Vector512.Create(values[i]);
                            var wr = w + (long)columns[i] * h + c;
                            s0 = Vector512.FusedMultiplyAdd(v, Vector512.Load(wr), s0);
                            s1 = Vector512.FusedMultiplyAdd(v, Vector512.Load(wr + Lanes), s1);
                            s2 = Vector512.FusedMultiplyAdd(v, Vector512.Load(wr + 2 * Lanes), s2);
                            s3 = Vector512.FusedMultiplyAdd(v, Vector512.Load(wr + 3 * Lanes), s3);
                        }
                        Store(s0, row + c, accumulate);
                        Store(s1, row + c + Lanes, accumulate);
                        Store(s2, row + c + 2 * Lanes, accumulate);
                        Store(s3, row + c + 3 * Lanes, accumulate);
                    }
                    for (; c + Lanes <= h; c += Lanes)
                    {
                        Vector512<float> sum = default;
                        for (var i = first; i < end; i++)
                            sum = Vector512.FusedMultiplyAdd(Vector512.Create(values[i]), Vector512.Load(w + (long)columns[i] * h + c), sum);
                        Store(sum, row + c, accumulate);
                    }
                    for (; c < h; c++)
                    {
                        var sum = 0f;
                        for (var i = first; i < end; i++) sum = MathF.FusedMultiplyAdd(values[i], w[(long)columns[i] * h + c], sum);
                        row[c] = accumulate ? row[c] + sum : sum;
                    }
                }
            }
        }

        /// <summary>output = sum, or output + sum (the GEMM's C + AB with beta 1).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Store(Vector512<float> sum, float* output, bool accumulate) =>
            (accumulate ? Vector512.Load(output) + sum : sum).Store(output);
    }
}
