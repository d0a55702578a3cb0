using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace OrganicScreen.Training.Graph;

/// <summary>
/// The D-MPNN's message passing on the CPU as one autograd node, from the two input parts to the incoming sums
/// the atom update reads:
/// <code>
/// P⁰(e)    = atomInput[src e] + bondInput[e / 2]                        (= W_i [x_a ‖ x_ab])
/// Pᵗ⁺¹(e)  = P⁰(e) + W_h (Σ_{k→src e} ReLU(Pᵗ(k)) − ReLU(Pᵗ(rev e)))    (depth − 1 times)
/// out(a)   = Σ_{k→a} ReLU(Pᵈᵉᵖᵗʰ⁻¹(k))
/// </code>
/// The same function as the index_select/index_add formulation of <see cref="DmpnnNetwork"/> (which CUDA and
/// dropout still use), but each step's gathers, the reverse-bond subtraction, the ReLU and their backward are
/// one pass over the bonds in plain loops instead of a dozen tensor kernels, temporaries and gradient
/// accumulations: on 2 cores those, not the matrix products, were half of the epoch.
/// Only pre-activations are stored (ReLU is applied as they are read; its mask is P &gt; 0), and the W_h
/// products stay MKL GEMMs (W_h's gradient is one GEMM over all steps).
/// Every output row is computed by one thread in a fixed order, so results do not depend on the thread count.
/// </summary>
internal static class FusedMessagePassing
{
    /// <summary>
    /// [atoms, hidden] Σ over directed bonds k→a of the final message. <paramref name="weightH"/> is W_h [hidden, hidden];
    /// it is not read at depth 1. Records an autograd node only when a gradient is wanted.
    /// </summary>
    public static Tensor IncomingSum(Tensor atomInput, Tensor bondInput, Tensor weightH, GraphBatch batch, int depth)
    {
        if (atomInput.device_type != DeviceType.CPU) throw new InvalidOperationException("Fused message passing runs on the CPU only.");
        var wanted = is_grad_enabled() && (atomInput.requires_grad || bondInput.requires_grad || (depth > 1 && weightH.requires_grad));
        return wanted
            ? MessagePassingFunction.apply(atomInput, bondInput, depth > 1 ? weightH : null, batch, depth)
            : Inference(atomInput.contiguous(), bondInput.contiguous(), weightH, batch, depth);
    }

    /// <summary>Forward only: two pre-activation buffers and one for the step input, nothing kept.</summary>
    static Tensor Inference(Tensor atomInput, Tensor bondInput, Tensor weightH, GraphBatch batch, int depth)
    {
        var hidden = atomInput.shape[1];
        using var input = empty(batch.DirectedBonds, hidden);
        Kernels.Input(batch, atomInput, bondInput, input);
        if (depth == 1) return Kernels.Incoming(batch, input);
        using var excluding = empty(batch.DirectedBonds, hidden);
        using var a = empty(batch.DirectedBonds, hidden);
        using var b = empty(batch.DirectedBonds, hidden);
        using var wT = weightH.t();
        var previous = input;
        for (var step = 1; step < depth; step++)
        {
            var next = step % 2 == 1 ? a : b;
            Kernels.ExcludingReverse(batch, previous, input, excluding, next);
            next.addmm_(excluding, wT);
            previous = next;
        }
        return Kernels.Incoming(batch, previous);
    }

    sealed class MessagePassingFunction : autograd.SingleTensorFunction<MessagePassingFunction>
    {
        public override string Name => "DirectedMessagePassing";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var atomInput = ((Tensor)vars[0]).contiguous();
            var bondInput = ((Tensor)vars[1]).contiguous();
            var weightH = (Tensor?)vars[2];
            var batch = (GraphBatch)vars[3];
            var depth = (int)vars[4];
            var hidden = atomInput.shape[1];
            // Pre-activations of every step (the backward's ReLU masks and the gathered messages) and each step's
            // "incoming minus reverse" (the W_h gradient's right factor), stacked so W_h's gradient is one GEMM.
            var pre = empty(depth, batch.DirectedBonds, hidden);
            var excluding = empty(Math.Max(depth - 1, 0), batch.DirectedBonds, hidden);
            using (var first = pre[0]) Kernels.Input(batch, atomInput, bondInput, first);
            if (depth > 1)
            {
                using var wT = weightH!.t();
                for (var step = 1; step < depth; step++)
                {
                    using var current = pre[step];
                    using var x = excluding[step - 1];
                    using var previous = pre[step - 1];
                    using var input = pre[0];
                    Kernels.ExcludingReverse(batch, previous, input, x, current);
                    current.addmm_(x, wT);
                }
            }
            using var last = pre[depth - 1];
            var output = Kernels.Incoming(batch, last);
            ctx.save_for_backward([pre, excluding, weightH!]);
            ctx.save_data("batch", batch);
            ctx.save_data("depth", depth);
            return output;
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            var saved = ctx.get_saved_variables();
            var (pre, excluding, weightH) = (saved[0], saved[1], saved[2]);
            var batch = (GraphBatch)ctx.get_data("batch");
            var depth = (int)ctx.get_data("depth");
            var hidden = pre.shape[2];
            var grad = gradOutput.contiguous();
            // ∂/∂P of every step (what W_h's gradient needs) and the running ∂/∂P⁰ = Σ over steps.
            var gradPre = empty(Math.Max(depth - 1, 0), batch.DirectedBonds, hidden);
            using var gradInput = empty(batch.DirectedBonds, hidden);
            using (var last = pre[depth - 1])
            using (var lastGrad = depth > 1 ? gradPre[depth - 2] : null)
                Kernels.FirstBackward(batch, grad, last, lastGrad, gradInput);
            if (depth > 1)
            {
                for (var step = depth - 1; step >= 1; step--)
                {
                    using var g = gradPre[step - 1];
                    using var gradExcluding = g.mm(weightH);
                    using var previous = pre[step - 1];
                    using var previousGrad = step > 1 ? gradPre[step - 2] : null;
                    Kernels.StepBackward(batch, gradExcluding, previous, previousGrad, gradInput);
                }
            }
            var gradAtom = empty(batch.Atoms, hidden);
            var gradBond = empty(batch.Bonds, hidden);
            Kernels.InputBackward(batch, gradInput, gradAtom, gradBond);
            Tensor? gradWeight = null;
            if (depth > 1)
            {
                using var g = gradPre.view(-1, hidden);
                using var x = excluding.view(-1, hidden);
                using var gT = g.t();
                gradWeight = gT.mm(x);
            }
            return [gradAtom, gradBond, gradWeight!, null!, null!];
        }
    }

    /// <summary>Row loops over raw float32 memory. Rows are <c>hidden</c> floats, all tensors contiguous.</summary>
    static unsafe class Kernels
    {
        // Tensor.bytes spans the tensor's own elements (its storage offset applied); the memory is native, so no pinning.
        static float* Pointer(Tensor t) => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));

        /// <summary>Runs <paramref name="body"/> over [0, count) in ranges of at least <paramref name="grain"/> items.</summary>
        static void For(int count, int grain, Action<int, int> body)
        {
            var threads = Math.Max(1, Math.Min(torch.get_num_threads(), count / Math.Max(1, grain)));
            if (threads <= 1)
            {
                body(0, count);
                return;
            }
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads },
                t => body((int)((long)count * t / threads), (int)((long)count * (t + 1) / threads)));
        }

        // ~64 KB of rows per range: below that, waking a second thread costs more than it saves.
        static int Grain(long hidden) => (int)Math.Max(1, 16_384 / hidden);

        /// <summary>P⁰(e) = atomInput[src e] + bondInput[e / 2].</summary>
        public static void Input(GraphBatch batch, Tensor atomInput, Tensor bondInput, Tensor input)
        {
            var h = (int)atomInput.shape[1];
            float* atoms = Pointer(atomInput), bonds = Pointer(bondInput), output = Pointer(input);
            var source = batch.DirectedSource;
            For(batch.DirectedBonds, Grain(h), (from, to) =>
            {
                for (var e = from; e < to; e++)
                    Add(atoms + (long)source[e] * h, bonds + (long)(e >> 1) * h, output + (long)e * h, h);
            });
        }

        /// <summary>
        /// For every directed bond e: excluding(e) = Σ_{k→src e} ReLU(previous(k)) − ReLU(previous(rev e)), and
        /// next(e) = input(e), ready for next += excluding·W_hᵀ. Bond e = a→b is the reverse of k = b→a ∈ in(a).
        /// </summary>
        public static void ExcludingReverse(GraphBatch batch, Tensor previous, Tensor input, Tensor excluding, Tensor next)
        {
            var h = (int)previous.shape[1];
            float* p = Pointer(previous), x = Pointer(input), ex = Pointer(excluding), n = Pointer(next);
            var offsets = batch.IncomingOffsets;
            var incoming = batch.Incoming;
            For(batch.Atoms, Math.Max(1, Grain(h) / 2), (from, to) =>
            {
                var sum = stackalloc float[h];
                for (var a = from; a < to; a++)
                {
                    SumRelu(p, incoming, offsets[a], offsets[a + 1], sum, h);
                    for (var i = offsets[a]; i < offsets[a + 1]; i++)
                    {
                        var k = incoming[i];
                        long e = k ^ 1;
                        SubtractRelu(sum, p + (long)k * h, ex + e * h, h);
                        new ReadOnlySpan<float>(x + e * h, h).CopyTo(new Span<float>(n + e * h, h));
                    }
                }
            });
        }

        /// <summary>[atoms, hidden] Σ_{k→a} ReLU(pre(k)).</summary>
        public static Tensor Incoming(GraphBatch batch, Tensor pre)
        {
            var h = (int)pre.shape[1];
            var output = empty(batch.Atoms, h);
            float* p = Pointer(pre), o = Pointer(output);
            var offsets = batch.IncomingOffsets;
            var incoming = batch.Incoming;
            For(batch.Atoms, Math.Max(1, Grain(h) / 2), (from, to) =>
            {
                for (var a = from; a < to; a++) SumRelu(p, incoming, offsets[a], offsets[a + 1], o + (long)a * h, h);
            });
            return output;
        }

        /// <summary>
        /// Backward of <see cref="Incoming"/> and the last ReLU: g(e) = [pre(e) &gt; 0]·grad[tgt e], written to
        /// <paramref name="gradPre"/> (when the last step has a W_h product) and to <paramref name="gradInput"/>.
        /// </summary>
        public static void FirstBackward(GraphBatch batch, Tensor grad, Tensor pre, Tensor? gradPre, Tensor gradInput)
        {
            var h = (int)pre.shape[1];
            float* g = Pointer(grad), p = Pointer(pre), gp = gradPre is null ? null : Pointer(gradPre), gi = Pointer(gradInput);
            var target = batch.DirectedTarget;
            For(batch.DirectedBonds, Grain(h), (from, to) =>
            {
                for (var e = from; e < to; e++)
                {
                    var row = (long)e * h;
                    Mask(p + row, g + (long)target[e] * h, gi + row, h);
                    if (gp != null) new ReadOnlySpan<float>(gi + row, h).CopyTo(new Span<float>(gp + row, h));
                }
            });
        }

        /// <summary>
        /// Backward of one <see cref="ExcludingReverse"/> and the ReLU before it: with s(a) = Σ_{e: src e = a} gx(e),
        /// g(k) = [previous(k) &gt; 0]·(s(tgt k) − gx(rev k)), written to <paramref name="previousGrad"/> (when that step
        /// has a W_h product) and added to <paramref name="gradInput"/>.
        /// </summary>
        public static void StepBackward(GraphBatch batch, Tensor gradExcluding, Tensor previous, Tensor? previousGrad, Tensor gradInput)
        {
            var h = (int)previous.shape[1];
            float* gx = Pointer(gradExcluding), p = Pointer(previous), gp = previousGrad is null ? null : Pointer(previousGrad), gi = Pointer(gradInput);
            var offsets = batch.IncomingOffsets;
            var incoming = batch.Incoming;
            For(batch.Atoms, Math.Max(1, Grain(h) / 2), (from, to) =>
            {
                var sum = stackalloc float[h];
                var masked = stackalloc float[h];
                for (var a = from; a < to; a++)
                {
                    new Span<float>(sum, h).Clear();
                    for (var i = offsets[a]; i < offsets[a + 1]; i++) Accumulate(gx + (long)(incoming[i] ^ 1) * h, sum, h);
                    for (var i = offsets[a]; i < offsets[a + 1]; i++)
                    {
                        long k = incoming[i];
                        MaskDifference(p + k * h, sum, gx + (k ^ 1) * h, masked, h);
                        Accumulate(masked, gi + k * h, h);
                        if (gp != null) new ReadOnlySpan<float>(masked, h).CopyTo(new Span<float>(gp + k * h, h));
                    }
                }
            });
        }

        /// <summary>Backward of <see cref="Input"/>: gradAtom(a) = Σ_{e: src e = a} g(e), gradBond(j) = g(2j) + g(2j+1).</summary>
        public static void InputBackward(GraphBatch batch, Tensor gradInput, Tensor gradAtom, Tensor gradBond)
        {
            var h = (int)gradInput.shape[1];
            float* g = Pointer(gradInput), ga = Pointer(gradAtom), gb = Pointer(gradBond);
            var offsets = batch.IncomingOffsets;
            var incoming = batch.Incoming;
            For(batch.Atoms, Math.Max(1, Grain(h) / 2), (from, to) =>
            {
                for (var a = from; a < to; a++)
                {
                    var row = new Span<float>(ga + (long)a * h, h);
                    row.Clear();
                    for (var i = offsets[a]; i < offsets[a + 1]; i++) Accumulate(g + (long)(incoming[i] ^ 1) * h, ga + (long)a * h, h);
                }
            });
            For(batch.Bonds, Grain(h), (from, to) =>
            {
                for (var j = from; j < to; j++) Add(g + 2L * j * h, g + (2L * j + 1) * h, gb + (long)j * h, h);
            });
        }

        /// <summary>sum = Σ_{i ∈ [from, to)} ReLU(p[incoming[i]]) (zero for an empty range).</summary>
        static void SumRelu(float* p, int[] incoming, int from, int to, float* sum, int h)
        {
            new Span<float>(sum, h).Clear();
            for (var i = from; i < to; i++)
            {
                var row = p + (long)incoming[i] * h;
                var c = 0;
                for (; c <= h - Vector256<float>.Count; c += Vector256<float>.Count)
                    (Vector256.Load(sum + c) + Vector256.Max(Vector256.Load(row + c), Vector256<float>.Zero)).Store(sum + c);
                for (; c < h; c++) sum[c] += MathF.Max(row[c], 0);
            }
        }

        /// <summary>output = sum − ReLU(row).</summary>
        static void SubtractRelu(float* sum, float* row, float* output, int h)
        {
            var c = 0;
            for (; c <= h - Vector256<float>.Count; c += Vector256<float>.Count)
                (Vector256.Load(sum + c) - Vector256.Max(Vector256.Load(row + c), Vector256<float>.Zero)).Store(output + c);
            for (; c < h; c++) output[c] = sum[c] - MathF.Max(row[c], 0);
        }

        /// <summary>output = a + b.</summary>
        static void Add(float* a, float* b, float* output, int h)
        {
            var c = 0;
            for (; c <= h - Vector256<float>.Count; c += Vector256<float>.Count)
                (Vector256.Load(a + c) + Vector256.Load(b + c)).Store(output + c);
            for (; c < h; c++) output[c] = a[c] + b[c];
        }

        /// <summary>output += row.</summary>
        static void Accumulate(float* row, float* output, int h)
        {
            var c = 0;
            for (; c <= h - Vector256<float>.Count; c += Vector256<float>.Count)
                (Vector256.Load(output + c) + Vector256.Load(row + c)).Store(output + c);
            for (; c < h; c++) output[c] += row[c];
        }

        /// <summary>output = [pre &gt; 0]·grad.</summary>
        static void Mask(float* pre, float* grad, float* output, int h)
        {
            var c = 0;
            for (; c <= h - Vector256<float>.Count; c += Vector256<float>.Count)
                Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.Load(pre + c), Vector256<float>.Zero), Vector256.Load(grad + c), Vector256<float>.Zero).Store(output + c);
            for (; c < h; c++) output[c] = pre[c] > 0 ? grad[c] : 0;
        }

        /// <summary>output = [pre &gt; 0]·(sum − row).</summary>
        static void MaskDifference(float* pre, float* sum, float* row, float* output, int h)
        {
            var c = 0;
            for (; c <= h - Vector256<float>.Count; c += Vector256<float>.Count)
                Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.Load(pre + c), Vector256<float>.Zero),
                    Vector256.Load(sum + c) - Vector256.Load(row + c), Vector256<float>.Zero).Store(output + c);
            for (; c < h; c++) output[c] = pre[c] > 0 ? sum[c] - row[c] : 0;
        }
    }
}
