using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization;
using OrganicScreen.Core;
using static TorchSharp.torch;

namespace OrganicScreen.Training.Graph;

/// <summary>
/// A trained D-MPNN fold model as plain data (no torch handles): architecture, input feature counts, target
/// names with their fold-fitted scalers, and the best epoch's weights.
/// </summary>
public sealed record GraphFoldModel(
    DmpnnArchitecture Architecture,
    int AtomFeatureCount,
    int BondFeatureCount,
    IReadOnlyList<string> TargetNames,
    IReadOnlyList<TargetScaler> Scalers,
    IReadOnlyList<NamedWeights> Weights) : IFoldModel
{
    public ModelFamily Family => ModelFamily.Dmpnn;

    public IReadOnlyList<string> Targets => TargetNames;

    public double[][] Predict(IMoleculeFeatures features, ComputeDevice device = ComputeDevice.Cpu) => Predict(features.Graphs(), device);

    public IFoldPredictor Predictor(ComputeDevice device = ComputeDevice.Cpu) => BuildPredictor(device, managedKernel: true);

    /// <param name="managedKernel">Whether screen-sized batches may use the managed W_o product
    /// (<see cref="AtomOutputProduct"/>): checking it pays off only over many batches, so a one-off prediction does not.</param>
    private GraphFoldPredictor BuildPredictor(ComputeDevice device, bool managedKernel)
    {
        var network = DmpnnNetwork.FromWeights(Architecture, AtomFeatureCount, BondFeatureCount, TargetNames.Count, TorchRuntime.Resolve(device), Weights);
        network.eval();
        return new GraphFoldPredictor(this, network, managedKernel);
    }

    const string MetadataFile = ModelFiles.Metadata;
    const string WeightsFile = ModelFiles.Weights;
    const string Kind = "dmpnn";
    const int FormatVersion = 1;

    sealed record ScalerMetadata(string Kind, double Shift, double Scale);

    sealed record WeightMetadata(string Name, int[] Shape);

    // Precision: absent (null) in model cards written before bfloat16 products existed, and for float32 models.
    sealed record Metadata(string Model, int FormatVersion, int Hidden, int Depth, string Aggregation, int[] HeadHidden, double Dropout,
        int AtomFeatureCount, int BondFeatureCount, string[] TargetNames, ScalerMetadata[] Scalers, WeightMetadata[] Weights,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Precision = null);

    /// <summary>
    /// Writes <c>model.json</c> (shape, targets, scalers, weight names and shapes) and <c>weights.bin</c>
    /// (little-endian float32, the tensors in <c>model.json</c>'s order) into <paramref name="directory"/>; the
    /// same two-file layout as <see cref="FoldModel"/>, told apart by <c>"Model": "dmpnn"</c>.
    /// </summary>
    public void Save(string directory)
    {
        var metadata = new Metadata(Kind, FormatVersion, Architecture.Hidden, Architecture.Depth, Architecture.Aggregation.ToLowerInvariant(),
            Architecture.Head.ToArray(), Architecture.Dropout, AtomFeatureCount, BondFeatureCount, TargetNames.ToArray(),
            Scalers.Select(s => new ScalerMetadata(s.Kind.ToString(), s.Shift, s.Scale)).ToArray(),
            Weights.Select(w => new WeightMetadata(w.Name, w.Shape)).ToArray(), Architecture.BFloat16Products ? DmpnnArchitecture.BFloat16 : null);
        ModelFiles.Save(directory, Weights.SelectMany(w => w.Values), metadata);
    }

    public static GraphFoldModel Load(string directory)
    {
        var metadataPath = Path.Combine(directory, MetadataFile);
        var metadata = JsonSerializer.Deserialize<Metadata>(File.ReadAllText(metadataPath))
                       ?? throw new InvalidDataException($"{metadataPath} is empty.");
        if (metadata.Model != Kind)
            throw new InvalidDataException($"{metadataPath}: model kind '{metadata.Model}', expected '{Kind}' (an FCNN fold is loaded with FoldModel.Load).");
        if (metadata.FormatVersion != FormatVersion)
            throw new InvalidDataException($"{metadataPath}: format version {metadata.FormatVersion}, expected {FormatVersion}.");
        var architecture = new DmpnnArchitecture(metadata.Hidden, metadata.Depth, metadata.Aggregation, metadata.HeadHidden, metadata.Dropout, metadata.Precision);
        architecture.Validate();
        var targets = metadata.TargetNames.Length;
        if (metadata.Scalers.Length != targets)
            throw new InvalidDataException($"{metadataPath}: {metadata.Scalers.Length} scalers for {targets} targets.");
        var expected = DmpnnNetwork.ParameterShapes(architecture, metadata.AtomFeatureCount, metadata.BondFeatureCount, targets);
        if (metadata.Weights.Length != expected.Count)
            throw new InvalidDataException($"{metadataPath}: {metadata.Weights.Length} weight tensors, the architecture has {expected.Count}.");
        var bytes = File.ReadAllBytes(Path.Combine(directory, WeightsFile));
        var weights = new List<NamedWeights>(expected.Count);
        var at = 0;
        for (var i = 0; i < expected.Count; i++)
        {
            var (name, shape) = expected[i];
            if (metadata.Weights[i].Name != name || !metadata.Weights[i].Shape.SequenceEqual(shape))
                throw new InvalidDataException($"{metadataPath}: weight {i} is {metadata.Weights[i].Name} [{string.Join(",", metadata.Weights[i].Shape)}], the architecture expects {name} [{string.Join(",", shape)}].");
            var count = shape.Aggregate(1, (a, b) => a * b);
            if (at + count * 4L > bytes.Length) throw new InvalidDataException($"{directory}/{WeightsFile} is truncated.");
            var values = new float[count];
            for (var j = 0; j < count; j++, at += 4) values[j] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(at));
            weights.Add(new NamedWeights(name, shape, values));
        }
        if (at != bytes.Length) throw new InvalidDataException($"{directory}/{WeightsFile} has {bytes.Length - at} trailing bytes.");
        var scalers = metadata.Scalers.Select(s => new TargetScaler(Enum.Parse<TargetScaling>(s.Kind), s.Shift, s.Scale)).ToArray();
        return new GraphFoldModel(architecture, metadata.AtomFeatureCount, metadata.BondFeatureCount, metadata.TargetNames, scalers, weights);
    }

    /// <summary>Predictions in eV, <c>[target][molecule]</c> (inference: no dropout), in batches of <paramref name="batchSize"/> molecules.</summary>
    public double[][] Predict(MolecularGraphs graphs, ComputeDevice device = ComputeDevice.Cpu, int batchSize = 1000, string dataset = "graphs")
    {
        Check(graphs, batchSize, dataset);
        using var predictor = BuildPredictor(device, managedKernel: false);
        return predictor.Predict(graphs, batchSize);
    }

    private void Check(MolecularGraphs graphs, int batchSize, string dataset)
    {
        CheckFeatureCounts(graphs, dataset);
        graphs.Validate(dataset);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "Batch size must be positive.");
    }

    private void CheckFeatureCounts(MolecularGraphs graphs, string dataset)
    {
        if (graphs.AtomFeatureCount != AtomFeatureCount || graphs.BondFeatureCount != BondFeatureCount)
            throw new ArgumentException($"{dataset}: the model expects {AtomFeatureCount} atom and {BondFeatureCount} bond features, got {graphs.AtomFeatureCount} and {graphs.BondFeatureCount}.");
    }

    /// <summary>The network on its device in eval mode, kept between predictions (see <see cref="IFoldPredictor"/>).</summary>
    internal sealed class GraphFoldPredictor(GraphFoldModel model, DmpnnNetwork network, bool managedKernel) : IFoldPredictor
    {
        /// <summary>
        /// Whether batches of <see cref="AtomOutputProduct.MinRows"/> atoms or more multiply W_o in managed code (checked
        /// to give libtorch's bits here), once a batch of <see cref="AtomOutputProduct.WorthBuildingAt"/> atoms has
        /// built it. Reading it builds and checks the kernel if no batch has.
        /// </summary>
        public bool UsesManagedKernel => managedKernel && network.UseManagedOutputProduct();

        /// <summary>The network (tests).</summary>
        internal DmpnnNetwork Network => network;

        /// <summary>Molecules per graph batch when predicting (an ensemble's members share each batch).</summary>
        public const int BatchSize = 1000;

        public Device Device => network.Device;

        public int Targets => model.TargetNames.Count;

        public double[][] Predict(IMoleculeFeatures features)
        {
            var graphs = features.Graphs();
            Check(graphs);
            return Predict(graphs, BatchSize);
        }

        /// <summary>The graphs have this model's feature counts and are well formed.</summary>
        public void Check(MolecularGraphs graphs) => model.Check(graphs, BatchSize, "graphs");

        /// <summary>The graphs have this model's feature counts (for graphs another member has checked whole).</summary>
        public void CheckFeatureCounts(MolecularGraphs graphs) => model.CheckFeatureCounts(graphs, "graphs");

        public double[][] Predict(MolecularGraphs graphs, int batchSize)
        {
            var result = Enumerable.Range(0, Targets).Select(_ => new double[graphs.Molecules]).ToArray();
            foreach (var (start, batch) in Batches(graphs, batchSize, network.Device))
                using (batch)
                    PredictInto(batch, start, result);
            return result;
        }

        /// <summary>
        /// The graphs in batches of <paramref name="batchSize"/> consecutive molecules, built one at a time (the caller
        /// disposes each), with the index of each batch's first molecule.
        /// </summary>
        public static IEnumerable<(int Start, GraphBatch Batch)> Batches(MolecularGraphs graphs, int batchSize, Device device)
        {
            var all = Enumerable.Range(0, graphs.Molecules).ToArray();
            for (var start = 0; start < all.Length; start += batchSize)
                yield return (start, GraphBatch.Create(graphs, all.AsSpan(start, Math.Min(batchSize, all.Length - start)), device));
        }

        /// <summary>Predictions in eV for the batch's molecules into <c>result[target][start + i]</c>.</summary>
        public void PredictInto(GraphBatch batch, int start, double[][] result)
        {
            var targets = Targets;
            using var _ = no_grad();
            // The managed W_o product is built at the first batch large enough to repay its check, not at load.
            if (managedKernel && batch.Atoms >= AtomOutputProduct.WorthBuildingAt) network.UseManagedOutputProduct();
            using var scope = NewDisposeScope();
            var predicted = network.call(batch).cpu().data<float>().ToArray();
            for (var i = 0; i < batch.Molecules; i++)
                for (var t = 0; t < targets; t++)
                    result[t][start + i] = model.Scalers[t].Inverse(predicted[i * targets + t]);
        }

        public void Dispose() => network.Dispose();
    }
}
