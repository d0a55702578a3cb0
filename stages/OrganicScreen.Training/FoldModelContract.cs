using System.Text.Json;
using OrganicScreen.Core;
using OrganicScreen.Training.Graph;

namespace OrganicScreen.Training;

/// <summary>Which network a fold model is: the study's FCNN on ECFP bits, or the D-MPNN on RDKit graphs.</summary>
public enum ModelFamily
{
    Fcnn,
    Dmpnn,
}

/// <summary>
/// A model's inputs for one set of molecules, computed on demand: fingerprint families read ECFP
/// bits, graph families read molecular graphs. Implementations compute each input once.
/// </summary>
public interface IMoleculeFeatures
{
    int Count { get; }

    SparseBitMatrix Fingerprints(FingerprintSpec spec);

    MolecularGraphs Graphs();
}

/// <summary>
/// The one contract every trained fold model meets, whatever its family: which targets it predicts,
/// predictions in eV <c>[target][molecule]</c> from molecule inputs, and persistence. The family is
/// recorded on disk (<c>fold.json</c>) so <see cref="FoldModels.Load"/> needs no outside hint.
/// </summary>
public interface IFoldModel
{
    ModelFamily Family { get; }

    IReadOnlyList<string> Targets { get; }

    double[][] Predict(IMoleculeFeatures features, ComputeDevice device = ComputeDevice.Cpu);

    /// <summary>The network built on <paramref name="device"/> once, for predicting many batches (a library screen).</summary>
    IFoldPredictor Predictor(ComputeDevice device = ComputeDevice.Cpu);

    void Save(string directory);
}

/// <summary>
/// A fold model's network on a device, kept between predictions: rebuilding it from the plain weights for every
/// 512-molecule batch cost more than the prediction itself. Predictions equal <see cref="IFoldModel.Predict"/>'s
/// bit for bit (same network, same operations). Not for concurrent use; dispose it to free the tensors.
/// </summary>
public interface IFoldPredictor : IDisposable
{
    /// <summary>Predictions in eV, <c>[target][molecule]</c>.</summary>
    double[][] Predict(IMoleculeFeatures features);

    /// <summary>Whether screen-sized batches skip libtorch for the hidden layers (<see cref="FoldModelPredictor.UsesManagedKernel"/>).</summary>
    bool UsesManagedKernel => false;
}

/// <summary>The study's FCNN for one target, with the fingerprint setting it reads.</summary>
public sealed record FingerprintFoldModel(FoldModel Network, FingerprintSpec Fingerprint, string Target) : IFoldModel
{
    public ModelFamily Family => ModelFamily.Fcnn;

    public IReadOnlyList<string> Targets => [Target];

    public double[][] Predict(IMoleculeFeatures features, ComputeDevice device = ComputeDevice.Cpu) => [Network.Predict(features.Fingerprints(Fingerprint), device)];

    public IFoldPredictor Predictor(ComputeDevice device = ComputeDevice.Cpu) => new FingerprintFoldPredictor(Network.Predictor(device), Fingerprint);

    public void Save(string directory) => Network.Save(directory);

    internal sealed class FingerprintFoldPredictor(FoldModelPredictor network, FingerprintSpec fingerprint) : IFoldPredictor
    {
        public FoldModelPredictor Network => network;

        public FingerprintSpec Fingerprint => fingerprint;

        public double[][] Predict(IMoleculeFeatures features) => [network.Predict(features.Fingerprints(fingerprint))];

        public bool UsesManagedKernel => network.UsesManagedKernel;

        public void Dispose() => network.Dispose();
    }
}

/// <summary>Saving and loading any fold model: the network's files plus <c>fold.json</c> naming its family and targets.</summary>
public static class FoldModels
{
    public const string CardFile = "fold.json";

    private sealed record FoldCard(ModelFamily Family, string[] Targets, string? Fingerprint);

    public static void Save(IFoldModel model, string directory)
    {
        model.Save(directory);
        var card = new FoldCard(model.Family, [.. model.Targets], (model as FingerprintFoldModel)?.Fingerprint.Name);
        File.WriteAllText(Path.Combine(directory, CardFile), JsonSerializer.Serialize(card, Json.Options));
    }

    /// <summary>Loads the fold model in <paramref name="directory"/>; damaged or foreign files give <see cref="InvalidDataException"/> naming the file.</summary>
    public static IFoldModel Load(string directory)
    {
        var cardPath = Path.Combine(directory, CardFile);
        if (!File.Exists(cardPath)) throw new InvalidDataException($"{cardPath} is missing: {directory} is not an OrganicScreen fold model");
        FoldCard card;
        try
        {
            card = JsonSerializer.Deserialize<FoldCard>(File.ReadAllText(cardPath), Json.Options) ?? throw new InvalidDataException($"{cardPath} is empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{cardPath} is not a fold card: {e.Message}");
        }

        IFoldModel model = card.Family switch
        {
            ModelFamily.Fcnn when card is { Targets: [var target], Fingerprint: { } fingerprint } =>
                new FingerprintFoldModel(FoldModel.Load(directory), FingerprintSpec.Parse(fingerprint), target),
            ModelFamily.Dmpnn => GraphFoldModel.Load(directory),
            _ => throw new InvalidDataException($"{cardPath}: family {card.Family} with targets [{string.Join(", ", card.Targets)}] is not a known fold model"),
        };
        if (!model.Targets.SequenceEqual(card.Targets))
            throw new InvalidDataException($"{cardPath} names targets [{string.Join(", ", card.Targets)}], the weights hold [{string.Join(", ", model.Targets)}]");
        return model;
    }
}

/// <summary>Per-molecule mean and standard deviation (population, ddof 0) of the members' predictions, in eV.</summary>
public sealed record EnsemblePrediction(double[] Mean, double[] StandardDeviation);

/// <summary>
/// The k fold models of a cross-validation averaged: what the pipeline ships for every profile but the
/// study's own (which keeps its best fold). One ensemble for every family.
/// </summary>
public sealed class Ensemble
{
    public IReadOnlyList<IFoldModel> Members { get; }

    public Ensemble(IReadOnlyList<IFoldModel> members)
    {
        if (members.Count == 0) throw new ArgumentException("An ensemble needs at least one fold model.");
        if (members.Any(m => !m.Targets.SequenceEqual(members[0].Targets)))
            throw new ArgumentException("Ensemble members must predict the same targets, in the same order.");
        Members = members;
    }

    public static Ensemble Load(IEnumerable<string> directories) => new(directories.Select(FoldModels.Load).ToList());

    public IReadOnlyList<string> Targets => Members[0].Targets;

    /// <summary>Every member's predictions, <c>[member][target][molecule]</c>.</summary>
    public double[][][] PredictMembers(IMoleculeFeatures features, ComputeDevice device = ComputeDevice.Cpu) =>
        Members.Select(m => m.Predict(features, device)).ToArray();

    /// <summary>Mean and spread per target, in the order of <see cref="Targets"/>.</summary>
    public IReadOnlyList<EnsemblePrediction> Predict(IMoleculeFeatures features, ComputeDevice device = ComputeDevice.Cpu) => Combine(PredictMembers(features, device));

    /// <summary>Every member's network built on <paramref name="device"/> once, for predicting many batches (see <see cref="IFoldPredictor"/>).</summary>
    public EnsemblePredictor Predictor(ComputeDevice device = ComputeDevice.Cpu)
    {
        var built = new List<IFoldPredictor>(Members.Count);
        try
        {
            foreach (var member in Members) built.Add(member.Predictor(device));
            return new EnsemblePredictor(Targets, built);
        }
        catch
        {
            foreach (var predictor in built) predictor.Dispose();
            throw;
        }
    }

    /// <summary>Mean and population standard deviation over members, per target and molecule.</summary>
    public static IReadOnlyList<EnsemblePrediction> Combine(double[][][] members)
    {
        var result = new List<EnsemblePrediction>();
        for (var t = 0; t < members[0].Length; t++)
        {
            var n = members[0][t].Length;
            var mean = new double[n];
            var sd = new double[n];
            for (var i = 0; i < n; i++)
            {
                var m = 0.0;
                foreach (var p in members) m += p[t][i];
                m /= members.Length;
                var s = 0.0;
                foreach (var p in members) s += (p[t][i] - m) * (p[t][i] - m);
                mean[i] = m;
                sd[i] = Math.Sqrt(s / members.Length);
            }

            result.Add(new EnsemblePrediction(mean, sd));
        }

        return result;
    }
}

/// <summary>An <see cref="Ensemble"/> with its members' networks built (<see cref="Ensemble.Predictor"/>); same predictions as <see cref="Ensemble.Predict"/>.</summary>
public sealed class EnsemblePredictor(IReadOnlyList<string> targets, IReadOnlyList<IFoldPredictor> members) : IDisposable
{
    public IReadOnlyList<string> Targets => targets;

    /// <summary>Whether a member is a D-MPNN (graph batches, whose work tensors are tens of MB).</summary>
    public bool UsesGraphs => members.Any(m => m is GraphFoldModel.GraphFoldPredictor);

    /// <summary>Members whose hidden layers run in managed code with libtorch's bits (<see cref="IFoldPredictor.UsesManagedKernel"/>), of <see cref="Members"/>.</summary>
    public int ManagedKernelMembers => members.Count(m => m.UsesManagedKernel);

    public int Members => members.Count;

    /// <summary>Mean and spread per target, in the order of <see cref="Targets"/>.</summary>
    public IReadOnlyList<EnsemblePrediction> Predict(IMoleculeFeatures features) => Ensemble.Combine(PredictMembers(features));

    /// <summary>
    /// Every member's predictions, <c>[member][target][molecule]</c>. D-MPNN members on one device share each graph
    /// batch: building it (feature copies, index tensors) once instead of once per member; the same batches, so the
    /// same predictions.
    /// </summary>
    private double[][][] PredictMembers(IMoleculeFeatures features)
    {
        if (ManagedSideBySide(features) is { } managed) return managed;
        if (members.Count < 2 || !members.All(m => m is GraphFoldModel.GraphFoldPredictor)
            || members.Cast<GraphFoldModel.GraphFoldPredictor>().Select(m => m.Device.ToString()).Distinct().Count() != 1)
            return members.Select(m => m.Predict(features)).ToArray();
        var graphMembers = members.Cast<GraphFoldModel.GraphFoldPredictor>().ToList();
        var graphs = features.Graphs();
        graphMembers[0].Check(graphs);
        foreach (var member in graphMembers.Skip(1)) member.CheckFeatureCounts(graphs);
        var results = graphMembers.Select(m => Enumerable.Range(0, m.Targets).Select(_ => new double[graphs.Molecules]).ToArray()).ToArray();
        var team = graphMembers[0].Device.type == TorchSharp.DeviceType.CPU ? Team() : null;
        // With a team this thread runs on one OpenMP thread, like the helpers: its share of the team's loops (the
        // W_h products' rows) must, and the libtorch operations left outside them (W_i's bond product, the readout,
        // the head: a few percent of the time) run on it alone, since an OpenMP worker woken for each would be a
        // third thread competing with the helper for two cores (measured: 1,002-1,013 against 980-1,007 molecules/s).
        var previousLimit = team is null ? 0 : FusedMessagePassing.OpenMp.LimitThisThread(1);
        try
        {
            foreach (var (start, batch) in GraphFoldModel.GraphFoldPredictor.Batches(graphs, GraphFoldModel.GraphFoldPredictor.BatchSize, graphMembers[0].Device))
                using (batch)
                {
                    batch.Team = team;
                    for (var i = 0; i < graphMembers.Count; i++)
                        graphMembers[i].PredictInto(batch, start, results[i]);
                }
        }
        finally
        {
            if (team is not null) FusedMessagePassing.OpenMp.LimitThisThread(previousLimit);
        }
        return results;
    }

    /// <summary>
    /// The threads the D-MPNN members' loops run on (<see cref="CoreTeam"/>): libtorch's intra-op thread count, the
    /// helpers limited to one OpenMP thread each. Made at the first graph prediction, kept until disposal; null where
    /// one thread is all there is or OpenMP's limit cannot be set (then <c>Parallel.For</c> and OpenMP, as before).
    /// </summary>
    private CoreTeam? Team()
    {
        if (team is not null) return team;
        var threads = TorchSharp.torch.get_num_threads();
        if (threads < 2 || !FusedMessagePassing.OpenMp.Available) return null;
        return team = new CoreTeam(threads, () => FusedMessagePassing.OpenMp.LimitThisThread(1));
    }

    private CoreTeam? team;

    /// <summary>Threads of the team the members' last graph prediction ran on; 0: none (tests).</summary>
    internal int TeamThreads => team?.Threads ?? 0;

    /// <summary>
    /// Fingerprint members whose hidden layers run in managed code: each member's hidden layers on one core, the
    /// members side by side (a few hundred microseconds of work each, so splitting one member's molecules over the cores
    /// gained little), then each member's output layer in libtorch, one after the other as before. Null when a member
    /// is not such a network or the batch is not one the kernels take.
    /// </summary>
    private double[][][]? ManagedSideBySide(IMoleculeFeatures features)
    {
        if (members.Count < 2 || !members.All(m => m is FingerprintFoldModel.FingerprintFoldPredictor)) return null;
        var fcnn = members.Cast<FingerprintFoldModel.FingerprintFoldPredictor>().ToList();
        var inputs = fcnn.Select(m => features.Fingerprints(m.Fingerprint)).ToList();
        if (Enumerable.Range(0, fcnn.Count).Any(i => !fcnn[i].Network.KernelTakes(inputs[i]))) return null;
        Parallel.For(0, fcnn.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i => fcnn[i].Network.Hidden(inputs[i]));
        return Enumerable.Range(0, fcnn.Count).Select(i => new[] { fcnn[i].Network.Finish(inputs[i].Rows) }).ToArray();
    }

    public void Dispose()
    {
        team?.Dispose();
        foreach (var member in members) member.Dispose();
    }
}

/// <summary>Inputs already at hand (tests, benchmarks): a fingerprint matrix and/or graphs.</summary>
public sealed class GivenFeatures(int count, IReadOnlyDictionary<FingerprintSpec, SparseBitMatrix>? fingerprints = null, MolecularGraphs? graphs = null) : IMoleculeFeatures
{
    public int Count => count;

    public SparseBitMatrix Fingerprints(FingerprintSpec spec) =>
        fingerprints is not null && fingerprints.TryGetValue(spec, out var m) ? m : throw new ArgumentException($"no {spec} fingerprints given");

    public MolecularGraphs Graphs() => graphs ?? throw new ArgumentException("no molecular graphs given");
}
