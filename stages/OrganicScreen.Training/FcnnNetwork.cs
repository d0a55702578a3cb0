using OrganicScreen.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OrganicScreen.Training;

/// <summary>
/// A batch of fingerprints on the device in the form the first layer consumes: CSR indices/offsets for the
/// sparse path, a 0/1 float matrix for the dense path.
/// </summary>
internal sealed class FingerprintBatch : IDisposable
{
    public int Rows { get; }
    public Tensor? Indices { get; }
    public Tensor? Offsets { get; }
    public Tensor? Dense { get; }

    FingerprintBatch(int rows, Tensor? indices, Tensor? offsets, Tensor? dense)
    {
        Rows = rows; Indices = indices; Offsets = offsets; Dense = dense;
    }

    /// <summary>Rows <paramref name="rows"/> of <paramref name="x"/> (all rows when null), in that order.</summary>
    public static FingerprintBatch Create(SparseBitMatrix x, ReadOnlySpan<int> rows, bool dense, Device device)
    {
        var count = rows.Length;
        var nnz = 0;
        foreach (var r in rows) nnz += x.Offsets[r + 1] - x.Offsets[r];
        if (dense)
        {
            var values = new float[(long)count * x.Columns];
            for (var i = 0; i < count; i++)
                foreach (var bit in x.Row(rows[i])) values[(long)i * x.Columns + bit] = 1f;
            return new FingerprintBatch(count, null, null, tensor(values, [count, x.Columns]).to(device));
        }
        var indices = new long[nnz];
        var offsets = new long[count];
        var at = 0;
        for (var i = 0; i < count; i++)
        {
            offsets[i] = at;
            foreach (var bit in x.Row(rows[i])) indices[at++] = bit;
        }
        return new FingerprintBatch(count, tensor(indices).to(device), tensor(offsets).to(device), null);
    }

    public static FingerprintBatch FromDense(Tensor dense) => new((int)dense.shape[0], null, null, dense);

    public static int[] AllRows(SparseBitMatrix x) => Enumerable.Range(0, x.Rows).ToArray();

    public void Dispose()
    {
        Indices?.Dispose();
        Offsets?.Dispose();
        Dense?.Dispose();
    }
}

/// <summary>
/// The study's network as plain parameter tensors (no nn.Module), because the optimiser, the L2 term and
/// weight snapshots all need direct, ordered access to kernels vs biases. Kernels are stored Keras-style
/// [inputs, outputs]; the first kernel doubles as the EmbeddingBag table, so the sparse and dense paths share
/// one parameter and one L2 term.
/// </summary>
internal sealed class FcnnNetwork : IDisposable
{
    readonly EmbeddingBag _firstLayer;
    readonly List<Tensor> _kernels = [];
    readonly List<Tensor> _biases = [];

    public FcnnArchitecture Architecture { get; }
    public int InputBits { get; }
    public Device Device { get; }

    /// <summary>Kernels then biases, layer by layer: [K0, b0, K1, b1, …, Kout, bout].</summary>
    public IReadOnlyList<Tensor> Parameters { get; }
    public IReadOnlyList<Tensor> Kernels => _kernels;

    FcnnNetwork(FcnnArchitecture architecture, int inputBits, Device device, IReadOnlyList<(float[] Kernel, float[] Bias)> init)
    {
        Architecture = architecture;
        InputBits = inputBits;
        Device = device;
        var sizes = LayerSizes(architecture, inputBits);
        _firstLayer = nn.EmbeddingBag(inputBits, sizes[1], mode: EmbeddingBagMode.Sum, device: device);
        var parameters = new List<Tensor>();
        for (var l = 0; l < sizes.Count - 1; l++)
        {
            var kernelValues = tensor(init[l].Kernel, [sizes[l], sizes[l + 1]]);
            Tensor kernel;
            if (l == 0)
            {
                kernel = _firstLayer.weight!;
                using (no_grad()) kernel.copy_(kernelValues);
                kernelValues.Dispose();
            }
            else
            {
                // A copy in libtorch's own (aligned) memory, as for the biases: on the CPU the tensor of a managed array
                // wraps the array where the GC put it, and with such kernels the same fold trained in another process
                // came out different in the last bits on an AMD VM (curves, weights, then candidate lists); with copies
                // it is byte-identical.
                kernel = kernelValues.to(device).clone().requires_grad_(true);
                kernelValues.Dispose();
            }
            using var biasValues = tensor(init[l].Bias);
            var bias = biasValues.to(device).clone().requires_grad_(true);
            _kernels.Add(kernel);
            _biases.Add(bias);
            parameters.Add(kernel);
            parameters.Add(bias);
        }
        Parameters = parameters;
    }

    /// <summary>[inputs, hidden…, 1].</summary>
    public static List<int> LayerSizes(FcnnArchitecture architecture, int inputBits) => [inputBits, .. architecture.Hidden, 1];

    /// <summary>Fresh network: kernels N(0, std) from a CPU generator (identical on every device), biases 0.</summary>
    public static FcnnNetwork Create(FcnnArchitecture architecture, int inputBits, Device device, ulong seed)
    {
        var sizes = LayerSizes(architecture, inputBits);
        var init = new List<(float[], float[])>();
        using var generator = new Generator(seed, CPU);
        for (var l = 0; l < sizes.Count - 1; l++)
        {
            using var k = randn([sizes[l], sizes[l + 1]], ScalarType.Float32, CPU, generator: generator).mul_(architecture.InitStd);
            init.Add((k.data<float>().ToArray(), new float[sizes[l + 1]]));
        }
        return new FcnnNetwork(architecture, inputBits, device, init);
    }

    public static FcnnNetwork FromWeights(FcnnArchitecture architecture, int inputBits, Device device, IReadOnlyList<DenseLayerWeights> layers) =>
        new(architecture, inputBits, device, layers.Select(l => (l.Kernel, l.Bias)).ToList());

    /// <summary>
    /// Forward pass → [rows] normalised predictions. <paramref name="dropout"/> null = inference; otherwise masks
    /// are drawn from that generator (inverted dropout, as Keras: kept units scaled by 1/(1 − p)).
    /// </summary>
    public Tensor Forward(FingerprintBatch batch, Generator? dropout) => Output(Hidden(batch, dropout));

    /// <summary>The last hidden layer's activations, [rows, width] (what <see cref="Output"/> reads).</summary>
    public Tensor Hidden(FingerprintBatch batch, Generator? dropout)
    {
        var p = Architecture.Dropout;
        Tensor h = batch.Dense is { } dense
            ? addmm(_biases[0], dense, _kernels[0], 1, 1)
            : _firstLayer.call(batch.Indices!, batch.Offsets!).add_(_biases[0]);
        for (var l = 0; ; l++)
        {
            h = nn.functional.relu(h);
            if (dropout is not null && p > 0)
            {
                // uniform ≥ rate, as Keras draws it; uniform_ is ~2× faster than bernoulli_ on CPU.
                using var keep = empty_like(h).uniform_(0, 1, dropout).ge_(p).mul_(1 / (1 - p));
                h = h.mul(keep);
            }
            if (l + 1 == _kernels.Count - 1) break;
            h = addmm(_biases[l + 1], h, _kernels[l + 1], 1, 1);
        }
        return h;
    }

    /// <summary>The output layer on the last hidden layer's activations <paramref name="hidden"/> ([rows, width]) → [rows].</summary>
    public Tensor Output(Tensor hidden) => addmm(_biases[^1], hidden, _kernels[^1], 1, 1).squeeze(1);

    /// <summary>Σ over kernels of Σw² (biases excluded), as the Keras l2 regulariser sums.</summary>
    public double KernelSquaredSum()
    {
        using var _ = NewDisposeScope();
        using (no_grad())
        {
            var total = 0.0;
            foreach (var k in _kernels) total += k.Squared().sum().to_type(ScalarType.Float64).item<double>();
            return total;
        }
    }

    public List<DenseLayerWeights> Snapshot()
    {
        var sizes = LayerSizes(Architecture, InputBits);
        var layers = new List<DenseLayerWeights>();
        using (no_grad())
        {
            for (var l = 0; l < _kernels.Count; l++)
            {
                using var k = _kernels[l].detach().cpu();
                using var b = _biases[l].detach().cpu();
                layers.Add(new DenseLayerWeights(sizes[l], sizes[l + 1], k.data<float>().ToArray(), b.data<float>().ToArray()));
            }
        }
        return layers;
    }

    public void Dispose()
    {
        foreach (var k in _kernels.Skip(1)) k.Dispose();
        foreach (var b in _biases) b.Dispose();
        _firstLayer.Dispose();
    }
}
