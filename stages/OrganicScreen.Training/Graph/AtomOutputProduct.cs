using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace OrganicScreen.Training.Graph;

/// <summary>
/// The first half of the D-MPNN's atom update for CPU prediction, bias + incoming · W_oʰᵀ ([atoms, hidden], the
/// hidden-message block of W_o), in managed AVX-512 code with MKL's bits (<see cref="MklOrderDense"/>).
/// <para>Why: after the W_h products went to bfloat16, this float32 GEMM (about 90,000 multiply-adds per atom for
/// each of an ensemble's members) was a fifth of a `best` screen's CPU time, in MKL's AVX2 kernels on this AMD CPU.
/// An incoming sum is a sum of ReLU messages, so many of its inputs are zero, which the managed product skips.</para>
/// <para>The network's own <c>addmm</c> is the reference: <see cref="TryCreate"/> keeps the kernel only when its
/// products equal that expression's, bit for bit, at every checked row count, from small batches to a 512-molecule
/// screen batch's atoms. Fewer than <see cref="MinRows"/> atoms go to libtorch (MKL sums the tail rows of small
/// products differently).</para>
/// </summary>
internal sealed class AtomOutputProduct
{
    /// <summary>Fewer atoms than this are multiplied by libtorch.</summary>
    public const int MinRows = 16;

    /// <summary>
    /// A predictor builds and checks the kernel at its first batch of this many atoms (about 80 molecules): the check
    /// took about 0.25 s per network, which doubled a one-molecule `predict` (1.6-2.4 s to 4.0-4.4 s with 8 networks)
    /// and which only a screen's many batches repay.
    /// </summary>
    public const int WorthBuildingAt = 2048;

    /// <summary>Atom counts the check covers: odd and even, both sides of powers of two, up to more than a 512-molecule batch has.</summary>
    private static readonly int[] CheckedRows = [16, 17, 23, 31, 33, 64, 100, 127, 255, 257, 1000, 4099, 16_411];

    private readonly MklOrderDense dense;
    private readonly MklOrderDense.Scratch?[] scratch = new MklOrderDense.Scratch?[Environment.ProcessorCount];

    private AtomOutputProduct(MklOrderDense dense) => this.dense = dense;

    /// <summary>MKL's block size found for this network (tests).</summary>
    public int Block => dense.Block;

    /// <summary>
    /// The kernel for W_o's columns after the first <paramref name="atomFeatures"/> ([hidden, atomFeatures + hidden]
    /// weight, [hidden] bias), checked against <paramref name="reference"/> (the network's own product); null where it
    /// does not reproduce it here (no AVX-512, a weight that is not finite, another blocking).
    /// </summary>
    public static AtomOutputProduct? TryCreate(Tensor weight, Tensor bias, int atomFeatures, Func<Tensor, Tensor> reference)
    {
        if (weight.device_type != TorchSharp.DeviceType.CPU || weight.dtype != ScalarType.Float32) return null;
        using var _ = no_grad();
        var hidden = (int)weight.shape[0];
        var inputs = (int)weight.shape[1] - atomFeatures;
        // Row-major [inputs, outputs], the layout x·W reads (W_o's block transposed).
        using var block = weight.detach().narrow(1, atomFeatures, inputs);
        using var transposed = block.t();
        using var kernel = transposed.contiguous();
        using var b = bias.detach().contiguous();
        var layer = new DenseLayerWeights(inputs, hidden, kernel.data<float>().ToArray(), b.data<float>().ToArray());
        var dense = MklOrderDense.Find(layer, reference, CheckedRows, new Random(20190605));
        return dense is null ? null : new AtomOutputProduct(dense);
    }

    /// <summary>Whether <see cref="Product"/> takes <paramref name="incoming"/>: a contiguous float32 CPU [≥ <see cref="MinRows"/>, inputs] tensor.</summary>
    public bool Takes(Tensor incoming) =>
        incoming.device_type == TorchSharp.DeviceType.CPU && incoming.dtype == ScalarType.Float32 && incoming.is_contiguous()
        && incoming.dim() == 2 && incoming.shape[1] == dense.Inputs && incoming.shape[0] >= MinRows;

    /// <summary>bias + incoming · W_oʰᵀ as a new [atoms, hidden] tensor, the atoms shared between the cores in chunks.</summary>
    public unsafe Tensor Product(Tensor incoming, CoreTeam? team = null)
    {
        var rows = (int)incoming.shape[0];
        var output = empty(rows, dense.Outputs);
        var x = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(incoming.bytes));
        var y = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(output.bytes));
        var chunks = (rows + MklOrderDense.Chunk - 1) / MklOrderDense.Chunk;
        var workers = Math.Min(Math.Min(scratch.Length, team?.Threads ?? get_num_threads()), chunks);
        if (workers <= 1) Share(0, 1);
        else if (team is not null) team.Run(workers, w => Share(w, workers));
        else Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, w => Share(w, workers));
        return output;

        void Share(int worker, int of)
        {
            var from = worker * chunks / of * MklOrderDense.Chunk;
            var to = Math.Min(rows, (worker + 1) * chunks / of * MklOrderDense.Chunk);
            if (to <= from) return;
            var count = to - from;
            dense.ApplyRows(new ReadOnlySpan<float>(x + (long)from * dense.Inputs, count * dense.Inputs), count,
                new Span<float>(y + (long)from * dense.Outputs, count * dense.Outputs), scratch[worker] ??= new MklOrderDense.Scratch(dense));
        }
    }
}
