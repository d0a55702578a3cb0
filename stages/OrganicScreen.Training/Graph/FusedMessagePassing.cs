using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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
/// plain row loops instead of a dozen tensor kernels, temporaries and gradient accumulations: on 2 cores those,
/// not the matrix products, were half of the epoch. The work runs in blocks of whole molecules (see
/// <see cref="Blocks"/>). Only pre-activations are stored (ReLU is applied as they are read; its mask is
/// P &gt; 0), and the W_h products stay MKL GEMMs (W_h's gradient is one GEMM over all steps and blocks).
/// With bfloat16 products (<see cref="DmpnnArchitecture.BFloat16"/>) see <see cref="BFloat16Steps"/>.
/// </summary>
internal static partial class FusedMessagePassing
{
    /// <summary>
    /// [atoms, hidden] Σ over directed bonds k→a of the final message. <paramref name="weightH"/> is W_h [hidden, hidden];
    /// it is not read at depth 1. Records an autograd node only when a gradient is wanted.
    /// </summary>
    public static Tensor IncomingSum(Tensor atomInput, Tensor bondInput, Tensor weightH, GraphBatch batch, int depth, bool bfloat16 = false)
    {
        if (atomInput.device_type != DeviceType.CPU) throw new InvalidOperationException("Fused message passing runs on the CPU only.");
        var wanted = is_grad_enabled() && (atomInput.requires_grad || bondInput.requires_grad || (depth > 1 && weightH.requires_grad));
        if (bfloat16 && depth > 1)
            return wanted
                ? BFloat16Function.apply(atomInput, bondInput, weightH, batch, depth)
                : BFloat16Steps.Inference(atomInput.contiguous(), bondInput.contiguous(), weightH, batch, depth);
        return wanted
            ? MessagePassingFunction.apply(atomInput, bondInput, depth > 1 ? weightH : null, batch, depth)
            : Inference(atomInput.contiguous(), bondInput.contiguous(), weightH, batch, depth);
    }

    /// <summary>Forward only: four [directed bonds, hidden] work tensors, nothing kept.</summary>
    static Tensor Inference(Tensor atomInput, Tensor bondInput, Tensor weightH, GraphBatch batch, int depth)
    {
        var hidden = atomInput.shape[1];
        var output = empty(batch.Atoms, hidden);
        using var input = empty(batch.DirectedBonds, hidden);
        using var excluding = empty(depth > 1 ? batch.DirectedBonds : 0, hidden);
        using var a = empty(depth > 1 ? batch.DirectedBonds : 0, hidden);
        using var b = empty(depth > 2 ? batch.DirectedBonds : 0, hidden);
        using var wT = weightH.detach().t();
        Blocks.Run(batch, block =>
        {
            Kernels.Input(batch, block, atomInput, bondInput, input);
            var previous = input;
            for (var step = 1; step < depth; step++)
            {
                var next = step % 2 == 1 ? a : b;
                Kernels.ExcludingReverse(batch, block, previous, input, excluding, next);
                Blocks.AddProduct(next, excluding, wT, block);
                previous = next;
            }
            Kernels.Incoming(batch, block, previous, output);
        });
        return output;
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
            var excluding = empty(depth - 1, batch.DirectedBonds, hidden);
            var output = empty(batch.Atoms, hidden);
            var steps = Enumerable.Range(0, depth).Select(t => pre[t]).ToArray();
            var products = Enumerable.Range(0, depth - 1).Select(t => excluding[t]).ToArray();
            using var wT = weightH?.detach().t();
            Blocks.Run(batch, block =>
            {
                Kernels.Input(batch, block, atomInput, bondInput, steps[0]);
                for (var step = 1; step < depth; step++)
                {
                    Kernels.ExcludingReverse(batch, block, steps[step - 1], steps[0], products[step - 1], steps[step]);
                    Blocks.AddProduct(steps[step], products[step - 1], wT!, block);
                }
                Kernels.Incoming(batch, block, steps[depth - 1], output);
            });
            foreach (var t in steps.Concat(products)) t.Dispose();
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
            // ∂/∂P of every step with a W_h product (W_h's gradient is one GEMM over them afterwards), and the
            // running ∂/∂P⁰ = Σ over steps.
            var gradPre = empty(depth - 1, batch.DirectedBonds, hidden);
            using var gradInput = empty(batch.DirectedBonds, hidden);
            using var gradExcluding = empty(depth > 1 ? batch.DirectedBonds : 0, hidden);
            var gradAtom = empty(batch.Atoms, hidden);
            var gradBond = empty(batch.Bonds, hidden);
            var steps = Enumerable.Range(0, depth).Select(t => pre[t]).ToArray();
            var gradSteps = Enumerable.Range(0, depth - 1).Select(t => gradPre[t]).ToArray();
            using var w = depth > 1 ? weightH.detach() : null;
            Blocks.Run(batch, block =>
            {
                Kernels.FirstBackward(batch, block, grad, steps[depth - 1], depth > 1 ? gradSteps[depth - 2] : null, gradInput);
                for (var step = depth - 1; step >= 1; step--)
                {
                    Blocks.Product(gradExcluding, gradSteps[step - 1], w!, block);
                    Kernels.StepBackward(batch, block, gradExcluding, steps[step - 1], step > 1 ? gradSteps[step - 2] : null, gradInput);
                }
                Kernels.InputBackward(batch, block, gradInput, gradAtom, gradBond);
            });
            foreach (var t in steps.Concat(gradSteps)) t.Dispose();
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

    /// <summary>Rows of bfloat16 GEMM operands are padded to a multiple of this (see <see cref="BFloat16Steps"/>).</summary>
    public const int RowQuantum = 256;

    public static long Padded(long rows) => (rows + RowQuantum - 1) / RowQuantum * RowQuantum;

    /// <summary>
    /// [<paramref name="steps"/>,] <see cref="Padded"/>(<paramref name="rows"/>) × <paramref name="hidden"/> bfloat16 rows
    /// with only the padding zeroed: the row kernels write every one of the first <paramref name="rows"/> rows (each
    /// directed bond is the reverse of exactly one bond into its source atom), so zeroing those too was a wasted pass.
    /// </summary>
    static Tensor PaddedRows(long rows, long hidden, long? steps = null)
    {
        var padded = Padded(rows);
        var result = steps is { } s ? empty([s, padded, hidden], ScalarType.BFloat16) : empty([padded, hidden], ScalarType.BFloat16);
        if (padded > rows)
        {
            using var padding = result.narrow(steps is null ? 0 : 1, rows, padded - rows);
            padding.zero_();
        }
        return result;
    }

    /// <summary>The bfloat16 counterpart of <see cref="MessagePassingFunction"/> (depth ≥ 2).</summary>
    sealed class BFloat16Function : autograd.SingleTensorFunction<BFloat16Function>
    {
        public override string Name => "DirectedMessagePassingBFloat16";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var batch = (GraphBatch)vars[3];
            var depth = (int)vars[4];
            var weightH = (Tensor)vars[2];
            var (output, pre, excluding) = BFloat16Steps.Forward(((Tensor)vars[0]).contiguous(), ((Tensor)vars[1]).contiguous(), weightH, batch, depth);
            ctx.save_for_backward([pre, excluding, weightH]);
            ctx.save_data("batch", batch);
            ctx.save_data("depth", depth);
            return output;
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            var saved = ctx.get_saved_variables();
            var (gradAtom, gradBond, gradWeight) = BFloat16Steps.Backward(gradOutput.contiguous(), saved[0], saved[1], saved[2],
                (GraphBatch)ctx.get_data("batch"), (int)ctx.get_data("depth"));
            return [gradAtom, gradBond, gradWeight, null!, null!];
        }
    }

    /// <summary>
    /// Message passing with bfloat16 W_h products (oneDNN: AVX512-BF16 or AMX), everything else float32. Each GEMM
    /// multiplies the whole batch at once, not block by block: a bfloat16 GEMM has a fixed cost per call that ~256
    /// rows do not repay. Its operands' rows are padded with zeros to a multiple of <see cref="RowQuantum"/>, because
    /// oneDNN builds (JIT-compiles) a kernel per shape and caches it: a batch's exact number of directed bonds would
    /// make nearly every batch a new shape. The row kernels write the GEMMs' left operands directly in bfloat16
    /// (rounded to nearest even, as torch rounds) and add the bfloat16 products into float32, so no conversion pass
    /// and no separate addition run over the [directed bonds, hidden] tensors. The function computed is that of
    /// <see cref="DmpnnNetwork.BondMessages"/> with bfloat16 products.
    /// </summary>
    static class BFloat16Steps
    {
        static Tensor Half(Tensor weight)
        {
            using var detached = weight.detach();
            return detached.to(ScalarType.BFloat16);
        }

        /// <summary>
        /// Forward only. No step's pre-activations are stored: the next step and the readout read them as
        /// P⁰ + the bfloat16 product (<see cref="Kernels.InputPlusProduct"/>, the same float32 sum
        /// <see cref="Kernels.AddHalf"/> writes in training), which saves writing and reading back a
        /// [directed bonds, hidden] float32 tensor per step.
        /// </summary>
        public static Tensor Inference(Tensor atomInput, Tensor bondInput, Tensor weightH, GraphBatch batch, int depth)
        {
            var hidden = atomInput.shape[1];
            var output = empty(batch.Atoms, hidden);
            using var input = empty(batch.DirectedBonds, hidden);
            using var excluding = PaddedRows(batch.DirectedBonds, hidden);
            using var w = Half(weightH);
            using var wT = w.t();
            Blocks.Run(batch, block =>
            {
                Kernels.Input(batch, block, atomInput, bondInput, input);
                Kernels.ExcludingReverseHalf(batch, block, new Kernels.Stored(input), excluding);
            });
            var product = Blocks.Product(batch, excluding, wT);
            for (var step = 2; step < depth; step++)
            {
                var previous = product;
                Blocks.Run(batch, block => Kernels.ExcludingReverseHalf(batch, block, new Kernels.InputPlusProduct(input, previous), excluding));
                product = Blocks.Product(batch, excluding, wT);
                previous.Dispose();
            }
            Blocks.Run(batch, block => Kernels.Incoming(batch, block, new Kernels.InputPlusProduct(input, product), output));
            product.Dispose();
            return output;
        }

        /// <summary>Output, every step's pre-activations (float32) and every step's "incoming minus reverse" (bfloat16, padded rows).</summary>
        public static (Tensor Output, Tensor Pre, Tensor Excluding) Forward(Tensor atomInput, Tensor bondInput, Tensor weightH, GraphBatch batch, int depth)
        {
            var hidden = atomInput.shape[1];
            var pre = empty(depth, batch.DirectedBonds, hidden);
            var excluding = PaddedRows(batch.DirectedBonds, hidden, depth - 1);
            var output = empty(batch.Atoms, hidden);
            var steps = Enumerable.Range(0, depth).Select(t => pre[t]).ToArray();
            var products = Enumerable.Range(0, depth - 1).Select(t => excluding[t]).ToArray();
            using var w = Half(weightH);
            using var wT = w.t();
            Blocks.Run(batch, block => Kernels.Input(batch, block, atomInput, bondInput, steps[0]));
            for (var step = 1; step < depth; step++)
            {
                var (from, into, left) = (steps[step - 1], steps[step], products[step - 1]);
                Blocks.Run(batch, block => Kernels.ExcludingReverseHalf(batch, block, from, left));
                using var product = left.mm(wT);
                Blocks.Run(batch, block => Kernels.AddHalf(block, steps[0], product, into));
            }
            Blocks.Run(batch, block => Kernels.Incoming(batch, block, steps[depth - 1], output));
            foreach (var t in steps.Concat(products)) t.Dispose();
            return (output, pre, excluding);
        }

        public static (Tensor Atom, Tensor Bond, Tensor Weight) Backward(Tensor grad, Tensor pre, Tensor excluding, Tensor weightH, GraphBatch batch, int depth)
        {
            var hidden = pre.shape[2];
            // ∂/∂P of the steps with a W_h product, in bfloat16 with padded rows: only the GEMMs read them.
            var gradPre = PaddedRows(batch.DirectedBonds, hidden, depth - 1);
            using var gradInput = empty(batch.DirectedBonds, hidden);
            using var gradExcluding = empty(batch.DirectedBonds, hidden);
            var gradAtom = empty(batch.Atoms, hidden);
            var gradBond = empty(batch.Bonds, hidden);
            var steps = Enumerable.Range(0, depth).Select(t => pre[t]).ToArray();
            var gradSteps = Enumerable.Range(0, depth - 1).Select(t => gradPre[t]).ToArray();
            using var w = Half(weightH);
            Blocks.Run(batch, block => Kernels.FirstBackward(batch, block, grad, steps[depth - 1], new Kernels.HalfRows(gradSteps[depth - 2]), gradInput));
            for (var step = depth - 1; step >= 1; step--)
            {
                using var product = gradSteps[step - 1].mm(w);
                Blocks.Run(batch, block => Kernels.Widen(block, product, gradExcluding));
                var (previous, previousGrad) = (steps[step - 1], step > 1 ? gradSteps[step - 2] : null);
                Blocks.Run(batch, block => Kernels.StepBackward(batch, block, gradExcluding, previous, new Kernels.HalfRows(previousGrad), gradInput));
            }
            Blocks.Run(batch, block => Kernels.InputBackward(batch, block, gradInput, gradAtom, gradBond));
            foreach (var t in steps.Concat(gradSteps)) t.Dispose();
            using var g = gradPre.view(-1, hidden);
            using var x = excluding.view(-1, hidden);
            using var gT = g.t();
            using var product16 = gT.mm(x);
            var gradWeight = product16.to(ScalarType.Float32);
            gradPre.Dispose();
            return (gradAtom, gradBond, gradWeight);
        }
    }

    /// <summary>
    /// Runs the blocks of a batch (independent groups of whole molecules) on the intra-op threads, each block on one
    /// thread from start to end, so its rows stay in that core's cache between steps. The block's W_h products run
    /// single-threaded on that thread (OpenMP's per-thread limit set to 1): two cores each running their own GEMM
    /// beat one GEMM split over two cores with a fork and join per call. Each block's arithmetic is the same
    /// whichever thread runs it, so results do not depend on the thread count or scheduling. A batch a predictor gave a
    /// <see cref="GraphBatch.Team"/> runs its blocks (and its W_h products, split by rows) on that team instead, whose
    /// helper is awake when each loop starts.
    /// </summary>
    internal static class Blocks
    {
        public static void Run(GraphBatch batch, Action<GraphBlock> body)
        {
            var blocks = batch.Blocks;
            if (batch.Team is { } team)
            {
                team.Run(blocks.Count, i => { using (no_grad()) body(blocks[i]); });
                return;
            }
            var threads = Math.Min(torch.get_num_threads(), blocks.Count);
            if (threads <= 1 || !OpenMp.Available)
            {
                foreach (var block in blocks) body(block);
                return;
            }
            Parallel.For(0, blocks.Count, new ParallelOptions { MaxDegreeOfParallelism = threads },
                () => OpenMp.LimitThisThread(1),
                (i, _, previous) =>
                {
                    using (no_grad()) body(blocks[i]);
                    return previous;
                },
                previous => OpenMp.LimitThisThread(previous));
        }

        /// <summary>
        /// left · right, a bfloat16 W_h product over the whole batch. With a team, each thread multiplies its share
        /// of the rows (cut at multiples of <see cref="RowQuantum"/>, so the shapes oneDNN compiles stay few) on one
        /// OpenMP thread, instead of OpenMP waking its own worker for every product. A row's product is the same
        /// either way: oneDNN splits the rows, never the 300-long sums, between threads (a test compares the two).
        /// </summary>
        public static Tensor Product(GraphBatch batch, Tensor left, Tensor right)
        {
            if (batch.Team is not { } team) return left.mm(right);
            var rows = left.shape[0];
            var output = empty([rows, right.shape[1]], left.dtype);
            var quanta = rows / RowQuantum;
            var parts = (int)Math.Min(team.Threads, Math.Max(1, quanta));
            team.Run(parts, p =>
            {
                var from = quanta * p / parts * RowQuantum;
                var to = p == parts - 1 ? rows : quanta * (p + 1) / parts * RowQuantum;
                using var o = output.narrow(0, from, to - from);
                using var l = left.narrow(0, from, to - from);
                o.addmm_(l, right, beta: 0);
            });
            return output;
        }

        /// <summary>output[block rows] += left[block rows] · right.</summary>
        public static void AddProduct(Tensor output, Tensor left, Tensor right, GraphBlock block)
        {
            using var o = output.narrow(0, block.DirectedStart, block.DirectedBonds);
            using var l = left.narrow(0, block.DirectedStart, block.DirectedBonds);
            o.addmm_(l, right);
        }

        /// <summary>output[block rows] = left[block rows] · right.</summary>
        public static void Product(Tensor output, Tensor left, Tensor right, GraphBlock block)
        {
            using var o = output.narrow(0, block.DirectedStart, block.DirectedBonds);
            using var l = left.narrow(0, block.DirectedStart, block.DirectedBonds);
            o.addmm_(l, right, beta: 0);
        }
    }

    /// <summary>
    /// OpenMP's per-thread thread limit, which libtorch's kernels and MKL read on the calling thread. Resolved from
    /// the OpenMP runtime libtorch loaded (a dependency of libtorch_cpu); without one, blocks run one after another.
    /// </summary>
    internal static class OpenMp
    {
        delegate int GetMaxThreads();
        delegate void SetNumThreads(int threads);

        static readonly (GetMaxThreads Get, SetNumThreads Set)? Functions = Resolve();

        public static bool Available => Functions is not null;

        /// <summary>Sets this thread's limit and returns the previous one.</summary>
        public static int LimitThisThread(int threads)
        {
            var (get, set) = Functions!.Value;
            var previous = get();
            set(threads);
            return previous;
        }

        static (GetMaxThreads, SetNumThreads)? Resolve()
        {
            if (!NativeLibrary.TryLoad("libtorch_cpu.so", typeof(OpenMp).Assembly, null, out var library)) return null;
            // dlsym on a library handle also searches that library's dependencies, where libgomp is.
            if (!NativeLibrary.TryGetExport(library, "omp_get_max_threads", out var get) ||
                !NativeLibrary.TryGetExport(library, "omp_set_num_threads", out var set)) return null;
            return (Marshal.GetDelegateForFunctionPointer<GetMaxThreads>(get), Marshal.GetDelegateForFunctionPointer<SetNumThreads>(set));
        }
    }

    /// <summary>Row loops over raw float32 memory, over one block. Rows are <c>hidden</c> floats, all tensors contiguous.</summary>
    static unsafe class Kernels
    {
        // Compiled optimised on first call: tiered compilation otherwise runs these loops unoptimised (and
        // Vector256.Load as a call) for seconds while a short screen or a fold's first steps start up.
        const MethodImplOptions Hot = MethodImplOptions.AggressiveOptimization;

        // Tensor.bytes spans the tensor's own elements (its storage offset applied); the memory is native, so no pinning.
        internal static float* Pointer(Tensor t) => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));

        /// <summary>P⁰(e) = atomInput[src e] + bondInput[e / 2].</summary>
        [MethodImpl(Hot)]
        public static void Input(GraphBatch batch, GraphBlock block, Tensor atomInput, Tensor bondInput, Tensor input)
        {
            var h = (int)atomInput.shape[1];
            float* atoms = Pointer(atomInput), bonds = Pointer(bondInput), output = Pointer(input);
            var source = batch.DirectedSource;
            for (var e = block.DirectedStart; e < block.DirectedEnd; e++)
                Add(atoms + (long)source[e] * h, bonds + (long)(e >> 1) * h, output + (long)e * h, h);
        }

        /// <summary>
        /// For every directed bond e: excluding(e) = Σ_{k→src e} ReLU(previous(k)) − ReLU(previous(rev e)), and
        /// next(e) = input(e), ready for next += excluding·W_hᵀ. Bond e = a→b is the reverse of k = b→a ∈ in(a).
        /// </summary>
        [MethodImpl(Hot)]
        public static void ExcludingReverse(GraphBatch batch, GraphBlock block, Tensor previous, Tensor input, Tensor excluding, Tensor next)
        {
            var h = (int)previous.shape[1];
            var p = new Stored(previous);
            float* x = Pointer(input), ex = Pointer(excluding), n = Pointer(next);
            var offsets = batch.IncomingOffsets;
            var incoming = batch.Incoming;
            var sum = stackalloc float[h];
            for (var a = block.AtomStart; a < block.AtomEnd; a++)
            {
                SumRelu(p, incoming, offsets[a], offsets[a + 1], sum, h);
                for (var i = offsets[a]; i < offsets[a + 1]; i++)
                {
                    var k = incoming[i];
                    long e = k ^ 1;
                    p.SubtractRelu(sum, k, ex + e * h, h);
                    new ReadOnlySpan<float>(x + e * h, h).CopyTo(new Span<float>(n + e * h, h));
                }
            }
        }

        /// <summary>output(a) = Σ_{k→a} ReLU(pre(k)).</summary>
        public static void Incoming(GraphBatch batch, GraphBlock block, Tensor pre, Tensor output) => Incoming(batch, block, new Stored(pre), output);

        /// <summary><see cref="Incoming(GraphBatch, GraphBlock, Tensor, Tensor)"/> reading the pre-activations through <paramref name="pre"/>.</summary>
        [MethodImpl(Hot)]
        public static void Incoming<TPre>(GraphBatch batch, GraphBlock block, TPre pre, Tensor output) where TPre : struct, IPreActivations
        {
            var h = (int)output.shape[1];
            var o = Pointer(output);
            var offsets = batch.IncomingOffsets;
            var incoming = batch.Incoming;
            for (var a = block.AtomStart; a < block.AtomEnd; a++) SumRelu(pre, incoming, offsets[a], offsets[a + 1], o + (long)a * h, h);
        }

        /// <summary>
        /// Backward of <see cref="Incoming"/> and the last ReLU: g(e) = [pre(e) &gt; 0]·grad[tgt e], written to
        /// <paramref name="gradPre"/> (when the last step has a W_h product) and to <paramref name="gradInput"/>.
        /// </summary>
        public static void FirstBackward(GraphBatch batch, GraphBlock block, Tensor grad, Tensor pre, Tensor? gradPre, Tensor gradInput) =>
            FirstBackward(batch, block, grad, pre, new FloatRows(gradPre), gradInput);

        /// <summary><see cref="FirstBackward(GraphBatch, GraphBlock, Tensor, Tensor, Tensor?, Tensor)"/> storing the step's gradient through <paramref name="gradPre"/>.</summary>
        [MethodImpl(Hot)]
        public static void FirstBackward<TRows>(GraphBatch batch, GraphBlock block, Tensor grad, Tensor pre, TRows gradPre, Tensor gradInput) where TRows : struct, IRows
        {
            var h = (int)pre.shape[1];
            float* g = Pointer(grad), p = Pointer(pre), gi = Pointer(gradInput);
            var target = batch.DirectedTarget;
            for (var e = block.DirectedStart; e < block.DirectedEnd; e++)
            {
                var row = (long)e * h;
                Mask(p + row, g + (long)target[e] * h, gi + row, h);
                gradPre.Store(gi + row, e, h);
            }
        }

        /// <summary>
        /// Backward of one <see cref="ExcludingReverse"/> and the ReLU before it: with s(a) = Σ_{e: src e = a} gx(e),
        /// g(k) = [previous(k) &gt; 0]·(s(tgt k) − gx(rev k)), written to <paramref name="previousGrad"/> (when that step
        /// has a W_h product) and added to <paramref name="gradInput"/>.
        /// </summary>
        public static void StepBackward(GraphBatch batch, GraphBlock block, Tensor gradExcluding, Tensor previous, Tensor? previousGrad, Tensor gradInput) =>
            StepBackward(batch, block, gradExcluding, previous, new FloatRows(previousGrad), gradInput);

        /// <summary><see cref="StepBackward(GraphBatch, GraphBlock, Tensor, Tensor, Tensor?, Tensor)"/> storing the previous step's gradient through <paramref name="previousGrad"/>.</summary>
        [MethodImpl(Hot)]
        public static void StepBackward<TRows>(GraphBatch batch, GraphBlock block, Tensor gradExcluding, Tensor previous, TRows previousGrad, Tensor gradInput) where TRows : struct, IRows
        {
            var h = (int)previous.shape[1];
            float* gx = Pointer(gradExcluding), p = Pointer(previous), gi = Pointer(gradInput);
            var offsets = batch.IncomingOffsets;
            var incoming = batch.Incoming;
            var sum = stackalloc float[h];
            var masked = stackalloc float[h];
            for (var a = block.AtomStart; a < block.AtomEnd; a++)
            {
                new Span<float>(sum, h).Clear();
                for (var i = offsets[a]; i < offsets[a + 1]; i++) Accumulate(gx + (long)(incoming[i] ^ 1) * h, sum, h);
                for (var i = offsets[a]; i < offsets[a + 1]; i++)
                {
                    long k = incoming[i];
                    MaskDifference(p + k * h, sum, gx + (k ^ 1) * h, masked, h);
                    Accumulate(masked, gi + k * h, h);
                    previousGrad.Store(masked, k, h);
                }
            }
        }

        /// <summary>Backward of <see cref="Input"/>: gradAtom(a) = Σ_{e: src e = a} g(e), gradBond(j) = g(2j) + g(2j+1).</summary>
        [MethodImpl(Hot)]
        public static void InputBackward(GraphBatch batch, GraphBlock block, Tensor gradInput, Tensor gradAtom, Tensor gradBond)
        {
            var h = (int)gradInput.shape[1];
            float* g = Pointer(gradInput), ga = Pointer(gradAtom), gb = Pointer(gradBond);
            var offsets = batch.IncomingOffsets;
            var incoming = batch.Incoming;
            for (var a = block.AtomStart; a < block.AtomEnd; a++)
            {
                new Span<float>(ga + (long)a * h, h).Clear();
                for (var i = offsets[a]; i < offsets[a + 1]; i++) Accumulate(g + (long)(incoming[i] ^ 1) * h, ga + (long)a * h, h);
            }
            for (var j = block.BondStart; j < block.BondEnd; j++) Add(g + 2L * j * h, g + (2L * j + 1) * h, gb + (long)j * h, h);
        }

        static ushort* HalfPointer(Tensor t) => (ushort*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));

        /// <summary>Where a backward kernel keeps a step's gradient rows for the GEMMs (a struct: calls are inlined, not virtual).</summary>
        public interface IRows
        {
            void Store(float* row, long index, int h);
        }

        /// <summary>Float32 rows of a tensor, or nowhere when it is null.</summary>
        public readonly struct FloatRows(Tensor? rows) : IRows
        {
            readonly float* _rows = rows is null ? null : Pointer(rows);

            [MethodImpl(Hot)]
            public void Store(float* row, long index, int h)
            {
                if (_rows != null) new ReadOnlySpan<float>(row, h).CopyTo(new Span<float>(_rows + index * h, h));
            }
        }

        /// <summary>Bfloat16 rows of a tensor (rounded to nearest even), or nowhere when it is null.</summary>
        public readonly struct HalfRows(Tensor? rows) : IRows
        {
            readonly ushort* _rows = rows is null ? null : HalfPointer(rows);

            [MethodImpl(Hot)]
            public void Store(float* row, long index, int h)
            {
                if (_rows != null) Round(row, _rows + index * h, h);
            }
        }

        /// <summary><see cref="ExcludingReverse"/> writing only excluding, in bfloat16.</summary>
        public static void ExcludingReverseHalf(GraphBatch batch, GraphBlock block, Tensor previous, Tensor excluding) =>
            ExcludingReverseHalf(batch, block, new Stored(previous), excluding);

        /// <summary><see cref="ExcludingReverseHalf(GraphBatch, GraphBlock, Tensor, Tensor)"/> reading the previous step through <paramref name="previous"/>.</summary>
        [MethodImpl(Hot)]
        public static void ExcludingReverseHalf<TPre>(GraphBatch batch, GraphBlock block, TPre previous, Tensor excluding) where TPre : struct, IPreActivations
        {
            var h = (int)excluding.shape[1];
            var ex = HalfPointer(excluding);
            var offsets = batch.IncomingOffsets;
            var incoming = batch.Incoming;
            var sum = stackalloc float[h];
            var row = stackalloc float[h];
            for (var a = block.AtomStart; a < block.AtomEnd; a++)
            {
                SumRelu(previous, incoming, offsets[a], offsets[a + 1], sum, h);
                for (var i = offsets[a]; i < offsets[a + 1]; i++)
                {
                    var k = incoming[i];
                    previous.SubtractRelu(sum, k, row, h);
                    Round(row, ex + (long)(k ^ 1) * h, h);
                }
            }
        }

        /// <summary>
        /// A step's messages before their ReLU, read row by row (a struct: calls are inlined, not virtual). Adding
        /// and subtracting ReLU rows is all the message-passing kernels do with them.
        /// </summary>
        public interface IPreActivations
        {
            /// <summary>sum += ReLU(P(k)).</summary>
            void AddRelu(long k, float* sum, int h);

            /// <summary>output = sum − ReLU(P(k)).</summary>
            void SubtractRelu(float* sum, long k, float* output, int h);
        }

        /// <summary>Pre-activations stored as a float32 tensor.</summary>
        public readonly struct Stored(Tensor pre) : IPreActivations
        {
            readonly float* _pre = Pointer(pre);
            readonly int _h = (int)pre.shape[1];

            public void AddRelu(long k, float* sum, int h) => AccumulateRelu(_pre + k * _h, sum, h);

            public void SubtractRelu(float* sum, long k, float* output, int h) => Kernels.SubtractRelu(sum, _pre + k * _h, output, h);
        }

        /// <summary>P(k) = input(k) + float32(product(k)): a step's pre-activations never written out (inference).</summary>
        public readonly struct InputPlusProduct(Tensor input, Tensor product) : IPreActivations
        {
            readonly float* _input = Pointer(input);
            readonly ushort* _product = HalfPointer(product);
            readonly int _h = (int)input.shape[1];

            [MethodImpl(Hot)]
            public void AddRelu(long k, float* sum, int h) => Combine(k, sum, sum, h, subtract: false);

            [MethodImpl(Hot)]
            public void SubtractRelu(float* sum, long k, float* output, int h) => Combine(k, sum, output, h, subtract: true);

            /// <summary>output = sum ± ReLU(input(k) + float32(product(k))); inlined, so <paramref name="subtract"/> is a constant there.</summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            void Combine(long k, float* sum, float* output, int h, bool subtract)
            {
                float* x = _input + k * _h;
                var q = _product + k * _h;
                var c = 0;
                if (Avx512F.IsSupported)
                    for (; c <= h - Vector512<float>.Count; c += Vector512<float>.Count)
                    {
                        var relu = Vector512.Max(Vector512.Load(x + c) + Widened(q + c), Vector512<float>.Zero);
                        var s = Vector512.Load(sum + c);
                        (subtract ? s - relu : s + relu).Store(output + c);
                    }
                for (; c <= h - Vector256<ushort>.Count; c += Vector256<ushort>.Count)
                {
                    var (lo, hi) = Vector256.Widen(Vector256.Load(q + c));
                    var reluLo = Vector256.Max(Vector256.Load(x + c) + (lo << 16).AsSingle(), Vector256<float>.Zero);
                    var reluHi = Vector256.Max(Vector256.Load(x + c + Vector256<float>.Count) + (hi << 16).AsSingle(), Vector256<float>.Zero);
                    var sumLo = Vector256.Load(sum + c);
                    var sumHi = Vector256.Load(sum + c + Vector256<float>.Count);
                    (subtract ? sumLo - reluLo : sumLo + reluLo).Store(output + c);
                    (subtract ? sumHi - reluHi : sumHi + reluHi).Store(output + c + Vector256<float>.Count);
                }
                // The rest of a row (12 of 300) eight at a time, not one by one: it was a tenth of the loop's time.
                for (; c <= h - Vector128<ushort>.Count; c += Vector128<ushort>.Count)
                {
                    var (lo, hi) = Vector128.Widen(Vector128.Load(q + c));
                    var reluLo = Vector128.Max(Vector128.Load(x + c) + (lo << 16).AsSingle(), Vector128<float>.Zero);
                    var reluHi = Vector128.Max(Vector128.Load(x + c + Vector128<float>.Count) + (hi << 16).AsSingle(), Vector128<float>.Zero);
                    var sumLo = Vector128.Load(sum + c);
                    var sumHi = Vector128.Load(sum + c + Vector128<float>.Count);
                    (subtract ? sumLo - reluLo : sumLo + reluLo).Store(output + c);
                    (subtract ? sumHi - reluHi : sumHi + reluHi).Store(output + c + Vector128<float>.Count);
                }
                for (; c < h; c++)
                {
                    var relu = MathF.Max(x[c] + BitConverter.UInt32BitsToSingle((uint)q[c] << 16), 0);
                    output[c] = subtract ? sum[c] - relu : sum[c] + relu;
                }
            }
        }

        /// <summary>Sixteen bfloat16 values as float32 (exact: bfloat16 is a float32's upper half); AVX-512 only.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector512<float> Widened(ushort* half) => (Avx512F.ConvertToVector512UInt32(Vector256.Load(half)) << 16).AsSingle();

        /// <summary>next(e) = input(e) + product(e) for the block's directed bonds (product in bfloat16).</summary>
        [MethodImpl(Hot)]
        public static void AddHalf(GraphBlock block, Tensor input, Tensor product, Tensor next)
        {
            var h = (int)input.shape[1];
            float* x = Pointer(input), n = Pointer(next);
            var q = HalfPointer(product);
            for (long e = block.DirectedStart; e < block.DirectedEnd; e++) AddWidened(x + e * h, q + e * h, n + e * h, h);
        }

        /// <summary>output(e) = product(e) as float32, for the block's directed bonds.</summary>
        [MethodImpl(Hot)]
        public static void Widen(GraphBlock block, Tensor product, Tensor output)
        {
            var h = (int)output.shape[1];
            var q = HalfPointer(product);
            var o = Pointer(output);
            for (long e = block.DirectedStart; e < block.DirectedEnd; e++) Widened(q + e * h, o + e * h, h);
        }

        /// <summary>output = float32(half): bfloat16 is the upper half of a float32, so widening is exact.</summary>
        [MethodImpl(Hot)]
        static void Widened(ushort* half, float* output, int h)
        {
            var c = 0;
            for (; c <= h - Vector256<ushort>.Count; c += Vector256<ushort>.Count)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Load(half + c));
                (lo << 16).AsSingle().Store(output + c);
                (hi << 16).AsSingle().Store(output + c + Vector256<float>.Count);
            }
            for (; c < h; c++) output[c] = BitConverter.UInt32BitsToSingle((uint)half[c] << 16);
        }

        /// <summary>
        /// output = bfloat16(row), rounded to nearest even as torch rounds (NaN stays NaN): the upper 16 bits of
        /// bits + 0x7FFF + (bit 16 of bits).
        /// </summary>
        [MethodImpl(Hot)]
        static void Round(float* row, ushort* output, int h)
        {
            var c = 0;
            if (Avx512F.IsSupported)
                for (; c <= h - Vector512<float>.Count; c += Vector512<float>.Count)
                {
                    var v = Vector512.Load(row + c);
                    var bits = v.AsUInt32();
                    bits = (bits + Vector512.Create(0x7FFFu) + ((bits >> 16) & Vector512<uint>.One)) >> 16;
                    bits = Vector512.ConditionalSelect(Vector512.Equals(v, v).AsUInt32(), bits, Vector512.Create(0x7FC0u));
                    // Each lane is below 2¹⁶ after the shift, so truncating to 16 bits (vpmovdw) is exact.
                    Avx512F.ConvertToVector256UInt16(bits).Store(output + c);
                }
            var bias = Vector256.Create(0x7FFFu);
            var one = Vector256.Create(1u);
            for (; c <= h - 2 * Vector256<float>.Count; c += 2 * Vector256<float>.Count)
            {
                var lo = Vector256.Load((uint*)row + c);
                var hi = Vector256.Load((uint*)row + c + Vector256<float>.Count);
                lo = (lo + bias + ((lo >> 16) & one)) >> 16;
                hi = (hi + bias + ((hi >> 16) & one)) >> 16;
                var loNaN = ~Vector256.Equals(Vector256.Load(row + c), Vector256.Load(row + c)).AsUInt32();
                var hiNaN = ~Vector256.Equals(Vector256.Load(row + c + Vector256<float>.Count), Vector256.Load(row + c + Vector256<float>.Count)).AsUInt32();
                lo = Vector256.ConditionalSelect(loNaN, Vector256.Create(0x7FC0u), lo);
                hi = Vector256.ConditionalSelect(hiNaN, Vector256.Create(0x7FC0u), hi);
                Vector256.Narrow(lo, hi).Store(output + c);
            }
            for (; c <= h - Vector128<float>.Count; c += Vector128<float>.Count)
            {
                var v = Vector128.Load(row + c);
                var bits = v.AsUInt32();
                bits = (bits + Vector128.Create(0x7FFFu) + ((bits >> 16) & Vector128<uint>.One)) >> 16;
                bits = Vector128.ConditionalSelect(Vector128.Equals(v, v).AsUInt32(), bits, Vector128.Create(0x7FC0u));
                *(ulong*)(output + c) = Vector128.Narrow(bits, bits).AsUInt64().ToScalar();
            }
            for (; c < h; c++) output[c] = RoundOne(row[c]);
        }

        [MethodImpl(Hot)]
        static ushort RoundOne(float value)
        {
            if (float.IsNaN(value)) return 0x7FC0;
            var bits = BitConverter.SingleToUInt32Bits(value);
            return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
        }

        /// <summary>output = a + float32(half).</summary>
        [MethodImpl(Hot)]
        static void AddWidened(float* a, ushort* half, float* output, int h)
        {
            var c = 0;
            for (; c <= h - Vector256<ushort>.Count; c += Vector256<ushort>.Count)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Load(half + c));
                (Vector256.Load(a + c) + (lo << 16).AsSingle()).Store(output + c);
                (Vector256.Load(a + c + Vector256<float>.Count) + (hi << 16).AsSingle()).Store(output + c + Vector256<float>.Count);
            }
            for (; c < h; c++) output[c] = a[c] + BitConverter.UInt32BitsToSingle((uint)half[c] << 16);
        }

        /// <summary>sum = Σ_{i ∈ [from, to)} ReLU(P(incoming[i])) (zero for an empty range).</summary>
        [MethodImpl(Hot)]
        static void SumRelu<TPre>(TPre pre, int[] incoming, int from, int to, float* sum, int h) where TPre : struct, IPreActivations
        {
            new Span<float>(sum, h).Clear();
            for (var i = from; i < to; i++) pre.AddRelu(incoming[i], sum, h);
        }

        /// <summary>sum += ReLU(row).</summary>
        [MethodImpl(Hot)]
        static void AccumulateRelu(float* row, float* sum, int h)
        {
            var c = 0;
            if (Avx512F.IsSupported)
                for (; c <= h - Vector512<float>.Count; c += Vector512<float>.Count)
                    (Vector512.Load(sum + c) + Vector512.Max(Vector512.Load(row + c), Vector512<float>.Zero)).Store(sum + c);
            for (; c <= h - Vector256<float>.Count; c += Vector256<float>.Count)
                (Vector256.Load(sum + c) + Vector256.Max(Vector256.Load(row + c), Vector256<float>.Zero)).Store(sum + c);
            for (; c < h; c++) sum[c] += MathF.Max(row[c], 0);
        }

        /// <summary>output = sum − ReLU(row).</summary>
        [MethodImpl(Hot)]
        static void SubtractRelu(float* sum, float* row, float* output, int h)
        {
            var c = 0;
            if (Avx512F.IsSupported)
                for (; c <= h - Vector512<float>.Count; c += Vector512<float>.Count)
                    (Vector512.Load(sum + c) - Vector512.Max(Vector512.Load(row + c), Vector512<float>.Zero)).Store(output + c);
            for (; c <= h - Vector256<float>.Count; c += Vector256<float>.Count)
                (Vector256.Load(sum + c) - Vector256.Max(Vector256.Load(row + c), Vector256<float>.Zero)).Store(output + c);
            for (; c < h; c++) output[c] = sum[c] - MathF.Max(row[c], 0);
        }

        /// <summary>output = a + b.</summary>
        [MethodImpl(Hot)]
        static void Add(float* a, float* b, float* output, int h)
        {
            var c = 0;
            if (Avx512F.IsSupported)
                for (; c <= h - Vector512<float>.Count; c += Vector512<float>.Count)
                    (Vector512.Load(a + c) + Vector512.Load(b + c)).Store(output + c);
            for (; c <= h - Vector256<float>.Count; c += Vector256<float>.Count)
                (Vector256.Load(a + c) + Vector256.Load(b + c)).Store(output + c);
            for (; c < h; c++) output[c] = a[c] + b[c];
        }

        /// <summary>output += row.</summary>
        [MethodImpl(Hot)]
        static void Accumulate(float* row, float* output, int h)
        {
            var c = 0;
            for (; c <= h - Vector256<float>.Count; c += Vector256<float>.Count)
                (Vector256.Load(output + c) + Vector256.Load(row + c)).Store(output + c);
            for (; c < h; c++) output[c] += row[c];
        }

        /// <summary>output = [pre &gt; 0]·grad.</summary>
        [MethodImpl(Hot)]
        static void Mask(float* pre, float* grad, float* output, int h)
        {
            var c = 0;
            for (; c <= h - Vector256<float>.Count; c += Vector256<float>.Count)
                Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.Load(pre + c), Vector256<float>.Zero), Vector256.Load(grad + c), Vector256<float>.Zero).Store(output + c);
            for (; c < h; c++) output[c] = pre[c] > 0 ? grad[c] : 0;
        }

        /// <summary>output = [pre &gt; 0]·(sum − row).</summary>
        [MethodImpl(Hot)]
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
