using System.Buffers.Binary;
using System.Text.Json;
using OrganicScreen.Core;
using static TorchSharp.torch;

namespace OrganicScreen.Training;

/// <summary>One Dense layer's trained weights; <see cref="Kernel"/> is row-major [Inputs, Outputs] (Keras layout).</summary>
public sealed record DenseLayerWeights(int Inputs, int Outputs, float[] Kernel, float[] Bias);

/// <summary>
/// A trained fold model as plain data (no torch handles, so it can be kept, compared and serialised freely):
/// architecture, the fold's label scaler and the best epoch's weights.
/// </summary>
public sealed record FoldModel(FcnnArchitecture Architecture, int InputBits, MinMaxScaler Scaler, IReadOnlyList<DenseLayerWeights> Layers)
{
    const string MetadataFile = ModelFiles.Metadata;
    const string WeightsFile = ModelFiles.Weights;
    const int FormatVersion = 1;

    sealed record Metadata(int FormatVersion, int[] Hidden, double Dropout, double InitStd, int InputBits,
        double ScalerMin, double ScalerMax, int[][] LayerShapes);

    /// <summary>Writes <c>model.json</c> (shape, scaler) and <c>weights.bin</c> (little-endian float32, kernel then bias per layer) into <paramref name="directory"/>.</summary>
    public void Save(string directory)
    {
        var metadata = new Metadata(FormatVersion, Architecture.Hidden.ToArray(), Architecture.Dropout, Architecture.InitStd, InputBits,
            Scaler.Min, Scaler.Max, Layers.Select(l => new[] { l.Inputs, l.Outputs }).ToArray());
        ModelFiles.Save(directory, Layers.SelectMany(l => l.Kernel.Concat(l.Bias)), metadata);
    }

    public static FoldModel Load(string directory)
    {
        var metadataPath = Path.Combine(directory, MetadataFile);
        var metadata = JsonSerializer.Deserialize<Metadata>(File.ReadAllText(metadataPath))
                       ?? throw new InvalidDataException($"{metadataPath} is empty.");
        if (metadata.FormatVersion != FormatVersion)
            throw new InvalidDataException($"{metadataPath}: format version {metadata.FormatVersion}, expected {FormatVersion}.");
        var architecture = new FcnnArchitecture(metadata.Hidden, metadata.Dropout, metadata.InitStd);
        var expected = FcnnNetwork.LayerSizes(architecture, metadata.InputBits);
        var bytes = File.ReadAllBytes(Path.Combine(directory, WeightsFile));
        var layers = new List<DenseLayerWeights>();
        var at = 0;
        for (var l = 0; l < expected.Count - 1; l++)
        {
            var (inputs, outputs) = (expected[l], expected[l + 1]);
            if (metadata.LayerShapes[l] is not [var i, var o] || i != inputs || o != outputs)
                throw new InvalidDataException($"{metadataPath}: layer {l} shape does not match the architecture.");
            var kernel = ReadFloats(bytes, ref at, inputs * outputs, directory);
            var bias = ReadFloats(bytes, ref at, outputs, directory);
            layers.Add(new DenseLayerWeights(inputs, outputs, kernel, bias));
        }
        if (at != bytes.Length) throw new InvalidDataException($"{directory}/{WeightsFile} has {bytes.Length - at} trailing bytes.");
        return new FoldModel(architecture, metadata.InputBits, new MinMaxScaler(metadata.ScalerMin, metadata.ScalerMax), layers);
    }

    static float[] ReadFloats(byte[] bytes, ref int at, int count, string directory)
    {
        if (at + count * 4 > bytes.Length) throw new InvalidDataException($"{directory}/{WeightsFile} is truncated.");
        var values = new float[count];
        for (var i = 0; i < count; i++, at += 4) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(at));
        return values;
    }

    /// <summary>Predictions in eV for every row (inference: no dropout), computed in batches of <paramref name="batchSize"/>.</summary>
    public double[] Predict(SparseBitMatrix fingerprints, ComputeDevice device = ComputeDevice.Cpu, int batchSize = 8192)
    {
        // libtorch alone: building and verifying the managed kernel pays off only over many batches.
        using var predictor = Predictor(device, managedKernel: false);
        return predictor.Predict(fingerprints, batchSize);
    }

    /// <summary>
    /// The network built on <paramref name="device"/> once, for many predictions (see <see cref="FoldModelPredictor"/>),
    /// with the managed hidden layers (<see cref="FcnnHiddenKernel"/>) where they reproduce libtorch here, unless
    /// <paramref name="managedKernel"/> is false.
    /// </summary>
    public FoldModelPredictor Predictor(ComputeDevice device = ComputeDevice.Cpu, bool managedKernel = true)
    {
        var network = FcnnNetwork.FromWeights(Architecture, InputBits, TorchRuntime.Resolve(device), Layers);
        return new(network, Scaler, managedKernel ? () => FcnnHiddenKernel.TryCreate(network, Layers) : null);
    }

    internal static double[] Predict(FcnnNetwork network, SparseBitMatrix fingerprints, MinMaxScaler scaler, int batchSize)
    {
        var result = new double[fingerprints.Rows];
        var rows = FingerprintBatch.AllRows(fingerprints);
        using var _ = no_grad();
        for (var start = 0; start < rows.Length; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var span = rows.AsSpan(start, Math.Min(batchSize, rows.Length - start));
            using var batch = FingerprintBatch.Create(fingerprints, span, dense: false, network.Device);
            var predicted = network.Forward(batch, null).to_type(ScalarType.Float64).cpu().data<double>().ToArray();
            for (var i = 0; i < predicted.Length; i++) result[start + i] = scaler.Inverse(predicted[i]);
        }
        return result;
    }
}

/// <summary>
/// A <see cref="FoldModel"/>'s network on a device, kept between predictions: building it from the plain weights
/// (tensors for every layer, the first one an EmbeddingBag that first draws random values and then gets the weights
/// copied in) cost more than predicting a 512-molecule batch. The first layer reads the fingerprints sparsely (a sum of
/// the kernel rows of the set bits), as in training. Not for concurrent use; dispose it to free the tensors.
/// </summary>
public sealed class FoldModelPredictor : IDisposable
{
    private readonly FcnnNetwork network;
    private readonly MinMaxScaler scaler;
    private Func<FcnnHiddenKernel?>? buildKernel;
    private FcnnHiddenKernel? kernel;

    /// <param name="buildKernel">Builds and verifies the managed hidden layers; called once, at the first batch they could
    /// take: verifying costs about 0.1 s per network, which a `predict` of a few molecules should not pay.</param>
    internal FoldModelPredictor(FcnnNetwork network, MinMaxScaler scaler, Func<FcnnHiddenKernel?>? buildKernel)
    {
        this.network = network;
        this.scaler = scaler;
        this.buildKernel = buildKernel;
    }

    private FcnnHiddenKernel? Kernel
    {
        get
        {
            if (buildKernel is { } build)
            {
                buildKernel = null;
                kernel = build();
            }

            return kernel;
        }
    }

    /// <summary>
    /// Whether batches of <see cref="FcnnHiddenKernel.MinRows"/>–<see cref="FcnnHiddenKernel.MaxRows"/> molecules go
    /// through the managed hidden layers (verified to give libtorch's bits on this machine) rather than libtorch.
    /// </summary>
    public bool UsesManagedKernel => Kernel is not null;

    /// <inheritdoc cref="FcnnHiddenKernel.Blocks"/>
    internal IReadOnlyList<int>? KernelBlocks => Kernel?.Blocks;

    /// <summary>Predictions in eV for every row (inference: no dropout, no autograd), in batches of <paramref name="batchSize"/>.</summary>
    public double[] Predict(SparseBitMatrix fingerprints, int batchSize = 8192)
    {
        if (fingerprints.Columns != network.InputBits)
            throw new ArgumentException($"The model expects {network.InputBits}-bit fingerprints, got {fingerprints.Columns} columns.");
        if (!KernelTakes(fingerprints, batchSize)) return FoldModel.Predict(network, fingerprints, scaler, batchSize);
        kernel!.Hidden(fingerprints, parallel: true);
        return Finish(fingerprints.Rows);
    }

    /// <summary>
    /// The same network's predictions through libtorch alone (tests). Compare with this, not with another predictor of
    /// the same weights: before the kernels were copied into libtorch's memory (<see cref="FcnnNetwork"/>), two networks
    /// of the same weights differed in the last bit on the AMD VM, and the cause was not pinned down.
    /// </summary>
    internal double[] PredictWithLibtorch(SparseBitMatrix fingerprints, int batchSize = 8192) => FoldModel.Predict(network, fingerprints, scaler, batchSize);

    /// <summary>Whether the managed hidden layers take this batch (verified batch sizes, in one piece).</summary>
    internal bool KernelTakes(SparseBitMatrix fingerprints, int batchSize = FcnnHiddenKernel.MaxRows) =>
        fingerprints.Columns == network.InputBits && fingerprints.Rows >= FcnnHiddenKernel.MinRows
        && fingerprints.Rows <= Math.Min(batchSize, FcnnHiddenKernel.MaxRows) && Kernel is not null;

    /// <summary>The hidden layers on one thread (<see cref="KernelTakes"/> must hold): an ensemble runs members side by side, then <see cref="Finish"/>es each in turn.</summary>
    internal void Hidden(SparseBitMatrix fingerprints) => kernel!.Hidden(fingerprints, parallel: false);

    /// <summary>The output layer (libtorch) on the last <see cref="Hidden"/>'s activations, in eV.</summary>
    internal double[] Finish(int rows)
    {
        var predicted = kernel!.Output(network, rows);
        var result = new double[predicted.Length];
        // float → double, then the scaler: what the libtorch path does with to_type(Float64).
        for (var i = 0; i < predicted.Length; i++) result[i] = scaler.Inverse(predicted[i]);
        return result;
    }

    public void Dispose()
    {
        kernel?.Dispose();
        network.Dispose();
    }
}
