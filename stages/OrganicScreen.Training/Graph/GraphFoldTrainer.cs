using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace OrganicScreen.Training.Graph;

/// <summary>
/// One epoch of a multi-task learning curve. Losses are the masked, per-target-averaged MSE in normalised units
/// (no L2 term); MAEs are in eV per target (NaN for a target without labels on that side of the fold). Training
/// figures are accumulated over the epoch's steps with dropout active; validation uses the end-of-epoch weights.
/// <see cref="SelectionMae"/> is the figure the best epoch is chosen on (see <see cref="GraphTrainingOptions.SelectionTarget"/>).
/// </summary>
public sealed record GraphEpochMetrics(
    int Epoch,
    double LearningRate,
    double TrainLoss,
    double ValidationLoss,
    double[] TrainMae,
    double[] ValidationMae,
    double SelectionMae)
{
    /// <summary>The single-target view the FCNN's progress reporting uses (mean train MAE, selection MAE).</summary>
    public EpochMetrics Summary() =>
        new(Epoch, LearningRate, TrainLoss, ValidationLoss, TrainMae.Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average(), SelectionMae);
}

/// <summary>
/// A trained fold: the best epoch's model and its validation predictions in eV, <c>[target][i]</c> aligned with
/// <see cref="ValidationRows"/> (predicted for every validation row, also where that row's label is missing).
/// </summary>
public sealed record GraphFoldResult(
    int FoldIndex,
    GraphFoldModel Model,
    int BestEpoch,
    double BestSelectionMae,
    double[] BestValidationMae,
    int EpochsRun,
    IReadOnlyList<GraphEpochMetrics> Curve,
    int[] ValidationRows,
    double[][] ValidationPredictions,
    TimeSpan Elapsed) : IFoldOutcome
{
    public double[][] ValidationPredictionsByTarget => ValidationPredictions;
}

public static class GraphFoldTrainer
{
    /// <summary>
    /// Trains on <see cref="Fold.TrainRows"/> of <paramref name="data"/>, scores every epoch on
    /// <see cref="Fold.ValidationRows"/> and keeps the weights of the epoch with the lowest selection MAE (ties:
    /// the earliest). With <see cref="TrainingSettings.Patience"/> set, stops after that many epochs without
    /// improvement. Uses Adam, learning rate (and schedule), batch size (molecules per step; 0 = all), epochs,
    /// L2 (on weight matrices, not biases; Chemprop uses none), seed and device from <paramref name="settings"/>.
    /// </summary>
    public static GraphFoldResult Train(
        LabeledGraphs data,
        Fold fold,
        DmpnnArchitecture architecture,
        TrainingSettings settings,
        GraphTrainingOptions? options = null,
        IProgress<GraphEpochMetrics>? progress = null,
        CancellationToken cancellationToken = default)
    {
        data.Validate(minimumRows: 2);
        return TrainValidated(data, fold, architecture, settings, options ?? GraphTrainingOptions.Default, progress, cancellationToken);
    }

    /// <summary><see cref="Train"/> for data already validated (the cross-validator checks once, not once per fold).</summary>
    internal static GraphFoldResult TrainValidated(
        LabeledGraphs data, Fold fold, DmpnnArchitecture architecture, TrainingSettings settings, GraphTrainingOptions options,
        IProgress<GraphEpochMetrics>? progress, CancellationToken cancellationToken, TrainingPhaseClock? clock = null)
    {
        architecture.Validate();
        settings.Validate();
        options.Validate(data.TargetNames);
        if (fold.TrainRows.Length == 0 || fold.ValidationRows.Length == 0)
            throw new ArgumentException($"{data.Dataset}: fold {fold.Index} has {fold.TrainRows.Length} training and {fold.ValidationRows.Length} validation rows; both must be non-empty.");
        foreach (var row in fold.TrainRows.Concat(fold.ValidationRows))
            if ((uint)row >= (uint)data.Rows)
                throw new ArgumentException($"{data.Dataset}: fold {fold.Index} refers to row {row}, but the dataset has {data.Rows} rows.");
        if (options.SelectionTarget is { } selection)
        {
            var t = data.TargetNames.ToList().IndexOf(selection);
            if (fold.ValidationRows.All(r => double.IsNaN(data.Labels[r, t])))
                throw new ArgumentException($"{data.Dataset}: selection target '{selection}' has no label among the {fold.ValidationRows.Length} validation rows of fold {fold.Index}.");
        }

        var device = TorchRuntime.Resolve(settings.Device);
        var stopwatch = Stopwatch.StartNew();
        using var session = new GraphTrainingSession(data, fold, architecture, settings, options, device, clock);
        var result = session.Run(progress, cancellationToken);
        return result with { Elapsed = stopwatch.Elapsed };
    }
}

/// <summary>Where a training epoch's wall time goes (see <see cref="TrainingPhaseClock"/>).</summary>
public enum TrainingPhase
{
    /// <summary>Building the step's graph batch and label tensors.</summary>
    Batching,
    /// <summary>Forward pass and loss.</summary>
    Forward,
    Backward,
    /// <summary>Accumulating the epoch's training loss and MAE.</summary>
    Metrics,
    Optimizer,
    /// <summary>Disposing the step's tensors.</summary>
    Release,
    /// <summary>The end-of-epoch validation pass and its metrics.</summary>
    Validation,
}

/// <summary>Seconds spent in each <see cref="TrainingPhase"/>, indexed by the phase.</summary>
public sealed record TrainingPhaseSeconds(IReadOnlyList<double> Seconds)
{
    public double this[TrainingPhase phase] => Seconds[(int)phase];

    public TrainingPhaseSeconds Minus(TrainingPhaseSeconds earlier) => new(Seconds.Zip(earlier.Seconds, (a, b) => a - b).ToArray());

    public TrainingPhaseSeconds Divide(double by) => new(Seconds.Select(s => s / by).ToArray());

    public override string ToString() =>
        string.Join(", ", Enum.GetValues<TrainingPhase>().Select(p => $"{p.ToString().ToLowerInvariant()} {this[p]:F2} s"));
}

/// <summary>
/// Wall-clock split of the graph training loop for the benchmark. CPU kernels run synchronously, so time between
/// laps is the phase's own cost there; on CUDA it measures launch time, not the kernels.
/// </summary>
public sealed class TrainingPhaseClock
{
    readonly long[] _ticks = new long[Enum.GetValues<TrainingPhase>().Length];
    long _last;

    public void Start() => _last = Stopwatch.GetTimestamp();

    /// <summary>Charges the time since the last lap (or <see cref="Start"/>) to <paramref name="phase"/>.</summary>
    public void Lap(TrainingPhase phase)
    {
        var now = Stopwatch.GetTimestamp();
        _ticks[(int)phase] += now - _last;
        _last = now;
    }

    public TrainingPhaseSeconds Snapshot() => new(_ticks.Select(t => (double)t / Stopwatch.Frequency).ToArray());
}

/// <summary>The multi-task loss: MSE (or MAE) over present labels only, averaged per target, then a weighted mean over targets.</summary>
internal static class MultiTaskLoss
{
    /// <summary>
    /// <paramref name="labels"/> must hold 0 (not NaN) where <paramref name="mask"/> is 0: a masked NaN would still
    /// poison the sum (NaN·0 = NaN). Targets without any label in the batch drop out of the mean (their weight with
    /// them), so their head gets exactly zero gradient and the others keep their relative weight.
    /// <paramref name="weights"/> ([targets]) is null for equal weights.
    /// </summary>
    public static Tensor Compute(Tensor prediction, Tensor labels, Tensor mask, Tensor? weights = null, TrainingLoss kind = TrainingLoss.Mse)
    {
        // sum(0L), not sum(0): a literal int 0 binds to TorchSharp's sum(ScalarType?) overload (0 = Byte).
        var counts = mask.sum(0L);
        var error = prediction - labels;
        var perTarget = (kind == TrainingLoss.Mae ? error.abs() : error.Squared()).mul(mask).sum(0L).div_(counts.AtLeast(1));
        var present = counts.Above(0).to_type(ScalarType.Float32);
        if (weights is null) return perTarget.sum().div(present.sum().AtLeast(1));
        var weight = present.mul(weights);
        return perTarget.mul(weights).sum().div(weight.sum().AtLeast(1e-12));
    }
}

/// <summary>Device tensors and state for one fold's graph training; disposed as a unit.</summary>
internal sealed class GraphTrainingSession : IDisposable
{
    readonly LabeledGraphs _data;
    readonly Fold _fold;
    readonly TrainingSettings _settings;
    readonly GraphTrainingOptions _options;
    readonly TargetScaler[] _scalers;
    readonly float[] _labels;
    readonly float[] _mask;
    readonly DmpnnNetwork _network;
    readonly KerasAdam _optimizer;
    readonly Generator _dropout;
    readonly List<(GraphBatch Batch, Tensor Labels, Tensor Mask)> _validation = [];
    readonly List<Tensor> _best;
    readonly int _batchSize;
    readonly int _targets;
    readonly Tensor? _lossWeights;
    readonly TrainingPhaseClock? _clock;
    SplitMix64 _shuffle;

    public GraphTrainingSession(LabeledGraphs data, Fold fold, DmpnnArchitecture architecture, TrainingSettings settings, GraphTrainingOptions options, Device device,
        TrainingPhaseClock? clock = null)
    {
        _clock = clock;
        _data = data;
        _fold = fold;
        _settings = settings;
        _options = options;
        _targets = data.Targets;
        _scalers = Enumerable.Range(0, _targets)
            .Select(t => TargetScaler.Fit(options.Scaling, data.Labels, t, fold.TrainRows, $"{data.Dataset} fold {fold.Index}", data.TargetNames[t]))
            .ToArray();
        // Normalised labels of every row with this fold's scalers, 0 where missing, and the matching 0/1 mask.
        _labels = new float[data.Rows * _targets];
        _mask = new float[data.Rows * _targets];
        for (var r = 0; r < data.Rows; r++)
            for (var t = 0; t < _targets; t++)
            {
                var y = data.Labels[r, t];
                if (double.IsNaN(y)) continue;
                _labels[r * _targets + t] = (float)_scalers[t].Transform(y);
                _mask[r * _targets + t] = 1;
            }
        _batchSize = settings.EffectiveBatchSize(fold.TrainRows.Length);
        // Without auxiliary targets the weights are all 1 and the plain mean is used (bit-identical to before).
        _lossWeights = options.Auxiliary is { Count: > 0 } ? tensor(options.LossWeights(data.TargetNames), device: device) : null;
        var g = data.Graphs;
        _network = DmpnnNetwork.Create(architecture, g.AtomFeatureCount, g.BondFeatureCount, _targets, device, FoldTrainer.SeedFor(settings, fold.Index, 1));
        _optimizer = new KerasAdam(_network.TrainedWeights, _network.Kernels, settings);
        _dropout = new Generator(FoldTrainer.SeedFor(settings, fold.Index, 2), device);
        _network.DropoutGenerator = _dropout;
        _shuffle = new SplitMix64(FoldTrainer.SeedFor(settings, fold.Index, 3));
        // Validation batches are fixed for the whole fold, so they are built once.
        for (var start = 0; start < fold.ValidationRows.Length; start += options.InferenceBatchSize)
        {
            var rows = fold.ValidationRows.AsSpan(start, Math.Min(options.InferenceBatchSize, fold.ValidationRows.Length - start));
            var (labels, mask) = LabelTensors(rows, device);
            _validation.Add((GraphBatch.Create(g, rows, device), labels, mask));
        }
        _best = _network.Weights.Select(p => p.detach().clone()).ToList();
    }

    (Tensor Labels, Tensor Mask) LabelTensors(ReadOnlySpan<int> rows, Device device)
    {
        var labels = new float[rows.Length * _targets];
        var mask = new float[rows.Length * _targets];
        for (var i = 0; i < rows.Length; i++)
        {
            _labels.AsSpan(rows[i] * _targets, _targets).CopyTo(labels.AsSpan(i * _targets));
            _mask.AsSpan(rows[i] * _targets, _targets).CopyTo(mask.AsSpan(i * _targets));
        }
        return (tensor(labels, [rows.Length, _targets], device: device), tensor(mask, [rows.Length, _targets], device: device));
    }

    public GraphFoldResult Run(IProgress<GraphEpochMetrics>? progress, CancellationToken cancellationToken)
    {
        var curve = new List<GraphEpochMetrics>(Math.Min(_settings.Epochs, 10_000));
        var trainCount = _fold.TrainRows.Length;
        var order = (int[])_fold.TrainRows.Clone();
        var trainLabelCounts = LabelCounts(_fold.TrainRows);
        var validationLabelCounts = LabelCounts(_fold.ValidationRows);
        var selection = _options.SelectionTarget is { } name ? _data.TargetNames.ToList().IndexOf(name) : -1;
        var device = _network.Device;
        var bestSelection = double.PositiveInfinity;
        var bestEpoch = -1;
        double[] bestValidationMae = [];
        var epochsRun = 0;
        var bestPrediction = new float[_fold.ValidationRows.Length * _targets];
        using var lossSum = zeros(1, ScalarType.Float64, device);
        using var absoluteErrorSum = zeros(_targets, ScalarType.Float64, device);

        for (var epoch = 0; epoch < _settings.Epochs; epoch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var learningRate = _settings.LearningRateAt(epoch);
            lossSum.zero_();
            absoluteErrorSum.zero_();
            _network.train();
            if (_batchSize < trainCount) _shuffle.Shuffle(order);
            _clock?.Start();
            for (var start = 0; start < trainCount; start += _batchSize)
            {
                using (NewDisposeScope())
                {
                    var rows = order.AsSpan(start, Math.Min(_batchSize, trainCount - start));
                    // Built per step: the batch's molecules change with every shuffle. Its tensors belong to the scope.
                    var batch = GraphBatch.Create(_data.Graphs, rows, device);
                    var (labels, mask) = LabelTensors(rows, device);
                    _clock?.Lap(TrainingPhase.Batching);
                    var prediction = _network.call(batch);
                    var loss = MultiTaskLoss.Compute(prediction, labels, mask, _lossWeights, _options.Loss);
                    _clock?.Lap(TrainingPhase.Forward);
                    loss.backward();
                    _clock?.Lap(TrainingPhase.Backward);
                    using (no_grad())
                    {
                        lossSum.add_(loss.detach().to_type(ScalarType.Float64).mul(rows.Length));
                        absoluteErrorSum.add_((prediction.detach() - labels).abs_().mul_(mask).sum(0L).to_type(ScalarType.Float64));
                    }
                    _clock?.Lap(TrainingPhase.Metrics);
                    _optimizer.Step(learningRate);
                    _clock?.Lap(TrainingPhase.Optimizer);
                }
                _clock?.Lap(TrainingPhase.Release);
            }

            _network.eval();
            double validationLoss;
            Tensor validationPrediction;
            var validationMae = new double[_targets];
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                validationPrediction = cat(_validation.Select(v => _network.call(v.Batch)).ToArray(), 0);
                var labels = cat(_validation.Select(v => v.Labels).ToArray(), 0);
                var mask = cat(_validation.Select(v => v.Mask).ToArray(), 0);
                validationLoss = MultiTaskLoss.Compute(validationPrediction, labels, mask, _lossWeights, _options.Loss).item<float>();
                var absolute = (validationPrediction - labels).abs_().mul_(mask).to_type(ScalarType.Float64).sum(0L).data<double>().ToArray();
                var trainAbsolute = absoluteErrorSum.cpu().data<double>().ToArray();
                var trainMae = new double[_targets];
                for (var t = 0; t < _targets; t++)
                {
                    // Affine scaling: an error of e normalised units is e·Scale eV.
                    validationMae[t] = validationLabelCounts[t] > 0 ? absolute[t] / validationLabelCounts[t] * _scalers[t].Scale : double.NaN;
                    trainMae[t] = trainLabelCounts[t] > 0 ? trainAbsolute[t] / trainLabelCounts[t] * _scalers[t].Scale : double.NaN;
                }
                // Auxiliary targets shape the representation; the epoch is chosen on the primary targets only.
                var selected = selection >= 0
                    ? validationMae[selection]
                    : validationMae.Where((mae, t) => double.IsFinite(mae) && !_options.IsAuxiliary(_data.TargetNames[t])).DefaultIfEmpty(double.NaN).Average();
                var metrics = new GraphEpochMetrics(epoch, learningRate, lossSum.item<double>() / trainCount, validationLoss, trainMae, validationMae, selected);
                curve.Add(metrics);
                _clock?.Lap(TrainingPhase.Validation);
                progress?.Report(metrics);
                if (selected < bestSelection)
                {
                    bestSelection = selected;
                    bestEpoch = epoch;
                    bestValidationMae = validationMae;
                    for (var i = 0; i < _best.Count; i++) _best[i].copy_(_network.Weights[i]);
                    bestPrediction = validationPrediction.cpu().data<float>().ToArray();
                }
            }
            epochsRun = epoch + 1;
            if (_settings.Patience is int patience && epoch - bestEpoch >= patience) break;
        }

        if (bestEpoch < 0)
            throw new InvalidOperationException($"{_data.Dataset}: fold {_fold.Index} never produced a finite validation MAE (training diverged).");

        var predictions = new double[_targets][];
        for (var t = 0; t < _targets; t++)
        {
            predictions[t] = new double[_fold.ValidationRows.Length];
            for (var i = 0; i < predictions[t].Length; i++) predictions[t][i] = _scalers[t].Inverse(bestPrediction[i * _targets + t]);
        }
        var g = _data.Graphs;
        var model = new GraphFoldModel(_network.Architecture, g.AtomFeatureCount, g.BondFeatureCount, _data.TargetNames.ToArray(), _scalers,
            _network.Snapshot(_best));
        return new GraphFoldResult(_fold.Index, model, bestEpoch, bestSelection, bestValidationMae, epochsRun, curve, _fold.ValidationRows,
            predictions, TimeSpan.Zero);
    }

    int[] LabelCounts(int[] rows)
    {
        var counts = new int[_targets];
        foreach (var r in rows)
            for (var t = 0; t < _targets; t++)
                if (_mask[r * _targets + t] > 0) counts[t]++;
        return counts;
    }

    public void Dispose()
    {
        foreach (var t in _best) t.Dispose();
        foreach (var (batch, labels, mask) in _validation)
        {
            batch.Dispose();
            labels.Dispose();
            mask.Dispose();
        }
        _dropout.Dispose();
        _lossWeights?.Dispose();
        _optimizer.Dispose();
        _network.Dispose();
    }
}
