using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OrganicScreen.Training.Graph;

/// <summary>One named parameter as plain data: row-major values of <see cref="Shape"/> (torch layout, Linear = [out, in]).</summary>
public sealed record NamedWeights(string Name, int[] Shape, float[] Values)
{
    public bool Equals(NamedWeights? other) =>
        other is not null && Name == other.Name && Shape.SequenceEqual(other.Shape) && Values.SequenceEqual(other.Values);

    public override int GetHashCode() => HashCode.Combine(Name, Shape.Length, Values.Length);
}

/// <summary>
/// Directed message-passing neural network (Yang et al. 2019, Chemprop v1's MPNEncoder + FFN):
/// <code>
/// h⁰(a→b)   = ReLU(W_i [x_a ‖ x_ab])
/// hᵗ⁺¹(a→b) = ReLU(W_i [x_a ‖ x_ab] + W_h (Σ_{k→a} hᵗ(k→a) − hᵗ(b→a)))       (depth − 1 times, dropout after each)
/// h(a)      = ReLU(W_o [x_a ‖ Σ_{k→a} h(k→a)])                                (dropout)
/// h(mol)    = mean or sum of h(a) over the molecule's atoms
/// ŷ         = head(h(mol)): [dropout → Linear → ReLU]* → dropout → Linear(T)
/// </code>
/// "Σ incoming minus the reverse" is computed as Chemprop does: index_add every message into its target atom,
/// gather that sum at each bond's source atom and subtract the reverse bond's message, so a message never flows
/// straight back to where it came from. W_i [x_a ‖ x_ab] is evaluated as (x W_iᵃᵗᵒᵐ)[source] + (x_bond W_iᵇᵒⁿᵈ)[bond]:
/// the same function as the concatenation, but the atom part is multiplied once per atom instead of once per
/// directed bond (~2.2× fewer rows), and no [directed bonds, Fa+Fb] input is materialised.
/// On the CPU the message passing itself runs as one fused autograd node (<see cref="FusedMessagePassing"/>), the
/// same function without the per-step index tensors, temporaries and gradient accumulations.
/// Weights start Xavier-normal, biases zero (Chemprop's initialize_weights); W_i and W_h have no bias (as Chemprop).
/// Dropout masks come from <see cref="DropoutGenerator"/> so training is reproducible.
/// </summary>
public sealed class DmpnnNetwork : nn.Module<GraphBatch, Tensor>
{
    readonly Linear W_i;
    readonly Linear W_h;
    readonly Linear W_o;
    readonly ModuleList<Linear> head;
    readonly List<Tensor> _weights;
    // index_add_ takes its alpha as a native Scalar; one kept for the network's lifetime avoids a native
    // allocation per call (three or more per forward pass).
    readonly Scalar _one = 1.0;

    public DmpnnArchitecture Architecture { get; }
    public int AtomFeatureCount { get; }
    public int BondFeatureCount { get; }
    public int Targets { get; }
    public Device Device { get; }

    /// <summary>Dropout masks are drawn from this generator in training mode; null uses torch's default generator.</summary>
    public Generator? DropoutGenerator { get; set; }

    /// <summary>Every trainable tensor, in the order of <see cref="ParameterShapes"/>.</summary>
    public IReadOnlyList<Tensor> Weights => _weights;

    /// <summary>
    /// The weights the forward pass uses: all of <see cref="Weights"/> except W_h at depth 1, where no message step
    /// runs (W_h is still kept so every depth has the same persisted layout). The optimiser needs this set because
    /// an unused tensor never receives a gradient.
    /// </summary>
    public IReadOnlyList<Tensor> TrainedWeights { get; }

    /// <summary>The matrices among <see cref="TrainedWeights"/> (not biases): what an L2 penalty applies to.</summary>
    public IReadOnlyList<Tensor> Kernels { get; }

    DmpnnNetwork(DmpnnArchitecture architecture, int atomFeatures, int bondFeatures, int targets, Device device, IReadOnlyList<NamedWeights> init)
        : base(nameof(DmpnnNetwork))
    {
        Architecture = architecture;
        AtomFeatureCount = atomFeatures;
        BondFeatureCount = bondFeatures;
        Targets = targets;
        Device = device;
        var h = architecture.Hidden;
        W_i = nn.Linear(atomFeatures + bondFeatures, h, hasBias: false, device: device);
        W_h = nn.Linear(h, h, hasBias: false, device: device);
        W_o = nn.Linear(atomFeatures + h, h, hasBias: true, device: device);
        var sizes = new List<int> { h };
        sizes.AddRange(architecture.Head);
        sizes.Add(targets);
        head = new ModuleList<Linear>();
        for (var l = 0; l < sizes.Count - 1; l++) head.Add(nn.Linear(sizes[l], sizes[l + 1], hasBias: true, device: device));
        RegisterComponents();

        _weights = [W_i.weight!, W_h.weight!, W_o.weight!, W_o.bias!];
        foreach (var layer in head) _weights.AddRange([layer.weight!, layer.bias!]);
        TrainedWeights = _weights.Where(w => architecture.Depth > 1 || !ReferenceEquals(w, W_h.weight)).ToList();
        Kernels = TrainedWeights.Where(w => w.dim() == 2).ToList();
        var shapes = ParameterShapes(architecture, atomFeatures, bondFeatures, targets);
        if (init.Count != shapes.Count) throw new ArgumentException($"Expected {shapes.Count} weight tensors, got {init.Count}.");
        using var _ = no_grad();
        for (var i = 0; i < shapes.Count; i++)
        {
            var (name, shape) = shapes[i];
            if (init[i].Name != name || !init[i].Shape.SequenceEqual(shape) || init[i].Values.Length != shape.Aggregate(1, (a, b) => a * b))
                throw new ArgumentException($"Weight {i} is {init[i].Name} [{string.Join(",", init[i].Shape)}], expected {name} [{string.Join(",", shape)}].");
            using var values = tensor(init[i].Values, shape.Select(d => (long)d).ToArray());
            _weights[i].copy_(values);
        }
    }

    /// <summary>Names and shapes of <see cref="Weights"/>: W_i, W_h, W_o (+bias), then the head layers (+biases).</summary>
    public static IReadOnlyList<(string Name, int[] Shape)> ParameterShapes(DmpnnArchitecture architecture, int atomFeatures, int bondFeatures, int targets)
    {
        var h = architecture.Hidden;
        var shapes = new List<(string, int[])>
        {
            ("W_i.weight", [h, atomFeatures + bondFeatures]),
            ("W_h.weight", [h, h]),
            ("W_o.weight", [h, atomFeatures + h]),
            ("W_o.bias", [h]),
        };
        var sizes = new List<int> { h };
        sizes.AddRange(architecture.Head);
        sizes.Add(targets);
        for (var l = 0; l < sizes.Count - 1; l++)
        {
            shapes.Add(($"head.{l}.weight", [sizes[l + 1], sizes[l]]));
            shapes.Add(($"head.{l}.bias", [sizes[l + 1]]));
        }
        return shapes;
    }

    /// <summary>Fresh network: Xavier-normal matrices drawn from a CPU generator (identical on every device), zero biases.</summary>
    public static DmpnnNetwork Create(DmpnnArchitecture architecture, int atomFeatures, int bondFeatures, int targets, Device device, ulong seed)
    {
        Check(architecture, atomFeatures, bondFeatures, targets);
        using var generator = new Generator(seed, CPU);
        var init = new List<NamedWeights>();
        foreach (var (name, shape) in ParameterShapes(architecture, atomFeatures, bondFeatures, targets))
        {
            var count = shape.Aggregate(1, (a, b) => a * b);
            if (shape.Length == 1)
            {
                init.Add(new NamedWeights(name, shape, new float[count]));
                continue;
            }
            var std = Math.Sqrt(2.0 / (shape[0] + shape[1]));
            using var w = randn([shape[0], shape[1]], ScalarType.Float32, CPU, generator: generator).mul_(std);
            init.Add(new NamedWeights(name, shape, w.data<float>().ToArray()));
        }
        return new DmpnnNetwork(architecture, atomFeatures, bondFeatures, targets, device, init);
    }

    public static DmpnnNetwork FromWeights(DmpnnArchitecture architecture, int atomFeatures, int bondFeatures, int targets, Device device, IReadOnlyList<NamedWeights> weights)
    {
        Check(architecture, atomFeatures, bondFeatures, targets);
        return new DmpnnNetwork(architecture, atomFeatures, bondFeatures, targets, device, weights);
    }

    static void Check(DmpnnArchitecture architecture, int atomFeatures, int bondFeatures, int targets)
    {
        architecture.Validate();
        if (atomFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(atomFeatures), atomFeatures, "Atom feature count must be positive.");
        if (bondFeatures < 0) throw new ArgumentOutOfRangeException(nameof(bondFeatures), bondFeatures, "Bond feature count must be ≥ 0.");
        if (targets <= 0) throw new ArgumentOutOfRangeException(nameof(targets), targets, "The network needs at least one target.");
    }

    /// <summary>Current weights as plain data (CPU copies).</summary>
    public List<NamedWeights> Snapshot() => Snapshot(_weights);

    internal List<NamedWeights> Snapshot(IReadOnlyList<Tensor> weights)
    {
        var shapes = ParameterShapes(Architecture, AtomFeatureCount, BondFeatureCount, Targets);
        var result = new List<NamedWeights>(shapes.Count);
        using var _ = no_grad();
        for (var i = 0; i < shapes.Count; i++)
        {
            using var cpu = weights[i].detach().cpu();
            result.Add(new NamedWeights(shapes[i].Name, shapes[i].Shape, cpu.data<float>().ToArray()));
        }
        return result;
    }

    /// <summary>[molecules, targets] predictions in normalised label units.</summary>
    public override Tensor forward(GraphBatch batch)
    {
        var x = MoleculeVectors(batch);
        for (var l = 0; l < head.Count; l++)
        {
            if (l > 0) x = nn.functional.relu(x);
            x = head[l].call(Dropout(x));
        }
        return x;
    }

    /// <summary>[molecules, hidden] readout: mean or sum of the atom states per molecule.</summary>
    public Tensor MoleculeVectors(GraphBatch batch)
    {
        var atoms = AtomHiddens(batch);
        var sum = zeros([batch.Molecules, Architecture.Hidden], atoms.dtype, atoms.device).index_add_(0, batch.AtomMolecule, atoms, _one);
        return Architecture.MeanReadout ? sum.div(batch.AtomCounts) : sum;
    }

    /// <summary>[atoms, hidden] h(a) = ReLU(W_o [x_a ‖ Σ incoming messages]) (dropout in training).</summary>
    public Tensor AtomHiddens(GraphBatch batch) => AtomHiddens(batch, UsesFusedMessagePassing(batch));

    /// <summary><see cref="AtomHiddens(GraphBatch)"/> with the message-passing formulation chosen (tests compare the two).</summary>
    internal Tensor AtomHiddens(GraphBatch batch, bool fused)
    {
        var incoming = fused
            ? FusedMessagePassing.IncomingSum(AtomInput(batch), BondInput(batch), W_h.weight!, batch, Architecture.Depth, Architecture.BFloat16Products)
            : IncomingSum(batch, BondMessages(batch));
        // W_o [x_a ‖ incoming] as two products, like W_i: no [atoms, Fa+hidden] concatenation, and the backward
        // computes no gradient for the atom-feature columns of the input (x_a is data).
        var fa = AtomFeatureCount;
        var wo = W_o.weight!;
        // The second product is added in place: an out-of-place addmm first copies its input (here [atoms, hidden])
        // into a new tensor; autograd does not need the first sum, so the same GEMM (beta 1) may overwrite it.
        var hidden = ManagedOutputProduct is { } managed && !is_grad_enabled() && managed.Takes(incoming)
            ? managed.Product(incoming, batch.Team)
            : IncomingProduct(incoming);
        if (UsesSparseAtomProducts(batch)) FusedMessagePassing.AddAtomProduct(hidden, batch, wo, fa);
        else hidden.addmm_(batch.AtomFeatures, wo.narrow(1, 0, fa).t(), 1, 1);
        // In place as well: ReLU's backward reads its output, which relu_ leaves where autograd expects it.
        return Dropout(hidden.relu_());
    }

    /// <summary>W_o's bias + incoming · W_oʰᵀ (the hidden-message columns of W_o), as libtorch computes it.</summary>
    Tensor IncomingProduct(Tensor incoming) => addmm(W_o.bias!, incoming, W_o.weight!.narrow(1, AtomFeatureCount, Architecture.Hidden).t(), 1, 1);

    /// <summary>
    /// <see cref="IncomingProduct"/> in managed code for prediction on the CPU (<see cref="AtomOutputProduct"/>), once
    /// <see cref="UseManagedOutputProduct"/> has built it and found it to give libtorch's bits here; null: libtorch.
    /// </summary>
    internal AtomOutputProduct? ManagedOutputProduct { get; private set; }

    /// <summary>
    /// Builds and checks <see cref="ManagedOutputProduct"/> against this network's own <see cref="IncomingProduct"/>
    /// (about 0.25 s, so a predictor does it at its first large batch, not at load); whether it is used.
    /// </summary>
    internal bool UseManagedOutputProduct()
    {
        if (!_outputProductTried)
        {
            _outputProductTried = true;
            ManagedOutputProduct = AtomOutputProduct.TryCreate(W_o.weight!, W_o.bias!, AtomFeatureCount, IncomingProduct);
        }

        return ManagedOutputProduct is not null;
    }

    bool _outputProductTried;

    /// <summary>
    /// left · right with bfloat16 operands, the product rounded to bfloat16 and returned as float32 (its backward
    /// multiplies in bfloat16 too; the casts, padding and narrowing are differentiable). left's rows are padded with
    /// zeros to a multiple of <see cref="FusedMessagePassing.RowQuantum"/> so that oneDNN meets few shapes (see there).
    /// </summary>
    static Tensor HalfProduct(Tensor left, Tensor right)
    {
        var rows = left.shape[0];
        var padded = FusedMessagePassing.Padded(rows);
        using var l = left.to(ScalarType.BFloat16);
        using var lp = padded > rows ? nn.functional.pad(l, [0, 0, 0, padded - rows]) : l.alias();
        using var r = right.to(ScalarType.BFloat16);
        using var product = lp.matmul(r);
        using var kept = product.narrow(0, 0, rows);
        return kept.to(ScalarType.Float32);
    }

    /// <summary>
    /// The CPU runs message passing as one fused autograd node (<see cref="FusedMessagePassing"/>); other devices,
    /// and training with dropout (whose masks sit between the steps), use the tensor formulation of <see cref="BondMessages"/>.
    /// </summary>
    internal bool UsesFusedMessagePassing(GraphBatch batch) =>
        batch.AtomFeatures.device_type == DeviceType.CPU && (!training || Architecture.Dropout <= 0);

    /// <summary>[atoms, hidden] x_a W_iᵃᵗᵒᵐᵀ: the atom block of W_i [x_a ‖ x_ab] (see the class summary).</summary>
    Tensor AtomInput(GraphBatch batch) => UsesSparseAtomProducts(batch)
        ? FusedMessagePassing.AtomProduct(batch, W_i.weight!, AtomFeatureCount)
        : batch.AtomFeatures.matmul(W_i.weight!.narrow(1, 0, AtomFeatureCount).t());

    /// <summary>
    /// Without autograd on the CPU (prediction, validation) the atom-feature products skip the zeros of x_a
    /// (<see cref="FusedMessagePassing.AtomProduct"/>); training keeps the GEMMs, whose backward it needs. The kernel is
    /// written for 512-bit vectors: without them (emulated) MKL's GEMM is the faster choice.
    /// </summary>
    internal bool UsesSparseAtomProducts(GraphBatch batch) =>
        SparseAtomProducts && System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated
        && batch.AtomFeatures.device_type == DeviceType.CPU && !is_grad_enabled();

    /// <summary>false: the dense GEMMs even where the sparse atom products apply (tests compare the two).</summary>
    internal bool SparseAtomProducts { get; set; } = true;

    /// <summary>[bonds, hidden] x_ab W_iᵇᵒⁿᵈᵀ, zeros without bond features.</summary>
    Tensor BondInput(GraphBatch batch) => batch.BondFeatures.matmul(W_i.weight!.narrow(1, AtomFeatureCount, BondFeatureCount).t());

    /// <summary>[directed bonds, hidden] messages after depth − 1 message-passing steps.</summary>
    public Tensor BondMessages(GraphBatch batch)
    {
        // W_i [x_a ‖ x_ab] split into its atom and bond column blocks (see the class summary).
        var atomPart = AtomInput(batch).index_select(0, batch.Source);
        var input = BondFeatureCount == 0 ? atomPart : atomPart.add_(BondInput(batch).index_select(0, batch.BondOfDirected));
        var message = nn.functional.relu(input);
        for (var step = 1; step < Architecture.Depth; step++)
        {
            var incoming = IncomingSum(batch, message);
            var excludingReverse = incoming.index_select(0, batch.Source).sub_(message.index_select(0, batch.Reverse));
            var product = Architecture.BFloat16Products ? HalfProduct(excludingReverse, W_h.weight!.t()) : W_h.call(excludingReverse);
            message = Dropout(nn.functional.relu(input + product));
        }
        return message;
    }

    /// <summary>[atoms, hidden] Σ over directed bonds k→a of their message, per target atom a (zero for atoms without bonds).</summary>
    Tensor IncomingSum(GraphBatch batch, Tensor messages) =>
        zeros([batch.Atoms, messages.shape[1]], messages.dtype, messages.device).index_add_(0, batch.Target, messages, _one);

    /// <summary>Inverted dropout (kept units scaled by 1/(1 − p)); identity in eval mode.</summary>
    Tensor Dropout(Tensor h)
    {
        var p = Architecture.Dropout;
        if (!training || p <= 0) return h;
        using var keep = empty_like(h).uniform_(0, 1, DropoutGenerator).ge_(p).mul_(1 / (1 - p));
        return h.mul(keep);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _one.Dispose();
        base.Dispose(disposing);
    }
}
