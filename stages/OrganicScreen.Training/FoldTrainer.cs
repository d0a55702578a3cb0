using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace OrganicScreen.Training;

/// <summary>
/// One epoch of the learning curve. Losses are normalised-label MSE plus the L2 term (as Keras reports them);
/// MAEs are in eV. Training figures are averaged over the epoch's steps with dropout active (Keras' running
/// training metrics); validation figures use the weights at the end of the epoch without dropout.
/// </summary>
public sealed record EpochMetrics(int Epoch, double LearningRate, double TrainLoss, double ValidationLoss, double TrainMae, double ValidationMae);

/// <summary>A trained fold: the best epoch's model and its validation predictions (eV), aligned with <see cref="ValidationRows"/>.</summary>
public sealed record FoldResult(
    int FoldIndex,
    FoldModel Model,
    int BestEpoch,
    double BestValidationMae,
    int EpochsRun,
    IReadOnlyList<EpochMetrics> Curve,
    int[] ValidationRows,
    double[] ValidationPredictions,
    TimeSpan Elapsed) : IFoldOutcome
{
    public double[][] ValidationPredictionsByTarget => [ValidationPredictions];
}

public static class FoldTrainer
{
    /// <summary>
    /// Trains on <see cref="Fold.TrainRows"/> of <paramref name="data"/>, scores every epoch on
    /// <see cref="Fold.ValidationRows"/>, and keeps the weights of the epoch with the lowest validation MAE
    /// (ties: the earliest). With <see cref="TrainingSettings.Patience"/> set, stops after that many epochs
    /// without improvement.
    /// </summary>
    public static FoldResult Train(
        LabeledFingerprints data,
        Fold fold,
        FcnnArchitecture architecture,
        TrainingSettings settings,
        IProgress<EpochMetrics>? progress = null,
        CancellationToken cancellationToken = default)
    {
        data.Validate(minimumRows: 2);
        architecture.Validate();
        settings.Validate();
        if (fold.TrainRows.Length == 0 || fold.ValidationRows.Length == 0)
            throw new ArgumentException($"{data.Dataset}: fold {fold.Index} has {fold.TrainRows.Length} training and {fold.ValidationRows.Length} validation rows; both must be non-empty.");
        foreach (var row in fold.TrainRows.Concat(fold.ValidationRows))
            if ((uint)row >= (uint)data.Rows)
                throw new ArgumentException($"{data.Dataset}: fold {fold.Index} refers to row {row}, but the dataset has {data.Rows} rows.");

        var device = TorchRuntime.Resolve(settings.Device);
        var stopwatch = Stopwatch.StartNew();
        using var session = new TrainingSession(data, fold, architecture, settings, device);
        var result = session.Run(progress, cancellationToken);
        return result with { Elapsed = stopwatch.Elapsed };
    }

    /// <summary>Seeds per fold and purpose, so folds are independent of each other and of training order.</summary>
    internal static ulong SeedFor(TrainingSettings settings, int fold, int purpose) => SplitMix64.Derive(settings.Seed, fold, purpose);
}

/// <summary>Device tensors and state for one fold's training; disposed as a unit.</summary>
internal sealed class TrainingSession : IDisposable
{
    readonly LabeledFingerprints _data;
    readonly Fold _fold;
    readonly TrainingSettings _settings;
    readonly MinMaxScaler _scaler;
    readonly FcnnNetwork _network;
    readonly KerasAdam _optimizer;
    readonly Generator _dropout;
    readonly FingerprintBatch _trainAll;
    readonly FingerprintBatch _validation;
    readonly Tensor _trainLabels;
    readonly Tensor _validationLabels;
    readonly List<Tensor> _best;
    readonly Tensor _bestValidationPrediction;
    readonly bool _dense;
    readonly int _batchSize;
    SplitMix64 _shuffle;

    public TrainingSession(LabeledFingerprints data, Fold fold, FcnnArchitecture architecture, TrainingSettings settings, Device device)
    {
        _data = data;
        _fold = fold;
        _settings = settings;
        _scaler = MinMaxScaler.Fit(data.Labels, fold.TrainRows, data.Dataset);
        _batchSize = settings.EffectiveBatchSize(fold.TrainRows.Length);
        _dense = settings.FirstLayer switch
        {
            FirstLayerMode.Dense => true,
            FirstLayerMode.Sparse => false,
            _ => device.type == DeviceType.CUDA && _batchSize == fold.TrainRows.Length,
        };
        _network = FcnnNetwork.Create(architecture, data.Fingerprints.Columns, device, FoldTrainer.SeedFor(settings, fold.Index, 1));
        _optimizer = new KerasAdam(_network.Parameters, _network.Kernels, settings);
        _dropout = new Generator(FoldTrainer.SeedFor(settings, fold.Index, 2), device);
        _shuffle = new SplitMix64(FoldTrainer.SeedFor(settings, fold.Index, 3));
        // Minibatches of the sparse path are cut on the CPU per step; everything else stays resident on the device.
        _trainAll = FingerprintBatch.Create(data.Fingerprints, fold.TrainRows, _dense, device);
        _validation = FingerprintBatch.Create(data.Fingerprints, fold.ValidationRows, dense: false, device);
        _trainLabels = Normalised(fold.TrainRows, device);
        _validationLabels = Normalised(fold.ValidationRows, device);
        _best = _network.Parameters.Select(p => p.detach().clone()).ToList();
        _bestValidationPrediction = zeros(fold.ValidationRows.Length, device: device);
    }

    Tensor Normalised(int[] rows, Device device) =>
        tensor(rows.Select(r => (float)_scaler.Transform(_data.Labels[r])).ToArray()).to(device);

    public FoldResult Run(IProgress<EpochMetrics>? progress, CancellationToken cancellationToken)
    {
        var curve = new List<EpochMetrics>(_settings.Epochs);
        var trainCount = _fold.TrainRows.Length;
        var positions = Enumerable.Range(0, trainCount).ToArray();
        var batchRows = new int[_batchSize];
        var range = _scaler.Range;
        var l2Start = _settings.L2 * _network.KernelSquaredSum();
        var bestMae = double.PositiveInfinity;
        var bestEpoch = -1;
        var epochsRun = 0;
        using var squaredErrorSum = zeros(1, ScalarType.Float64, _network.Device);
        using var absoluteErrorSum = zeros(1, ScalarType.Float64, _network.Device);

        for (var epoch = 0; epoch < _settings.Epochs; epoch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var learningRate = _settings.LearningRateAt(epoch);
            squaredErrorSum.zero_();
            absoluteErrorSum.zero_();
            if (_batchSize < trainCount) _shuffle.Shuffle(positions);
            for (var start = 0; start < trainCount; start += _batchSize)
            {
                using var scope = NewDisposeScope();
                var count = Math.Min(_batchSize, trainCount - start);
                Tensor labels;
                FingerprintBatch? owned = null;
                FingerprintBatch batch;
                if (count == trainCount)
                {
                    batch = _trainAll;
                    labels = _trainLabels;
                }
                else
                {
                    var slice = positions.AsSpan(start, count);
                    var index = tensor(slice.ToArray().Select(p => (long)p).ToArray()).to(_network.Device);
                    labels = _trainLabels.index_select(0, index);
                    if (_dense)
                    {
                        batch = owned = FingerprintBatch.FromDense(_trainAll.Dense!.index_select(0, index));
                    }
                    else
                    {
                        for (var i = 0; i < count; i++) batchRows[i] = _fold.TrainRows[slice[i]];
                        batch = owned = FingerprintBatch.Create(_data.Fingerprints, batchRows.AsSpan(0, count), dense: false, _network.Device);
                    }
                }
                var prediction = _network.Forward(batch, _dropout);
                var error = prediction - labels;
                var loss = error.Squared().mean();
                loss.backward();
                using (no_grad())
                {
                    var detached = error.detach().to_type(ScalarType.Float64);
                    squaredErrorSum.add_(detached.Squared().sum());
                    absoluteErrorSum.add_(detached.abs().sum());
                }
                _optimizer.Step(learningRate);
                owned?.Dispose();
            }

            var l2End = _settings.L2 * _network.KernelSquaredSum();
            double validationMse, validationMae;
            Tensor validationPrediction;
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                validationPrediction = _network.Forward(_validation, null);
                var error = (validationPrediction - _validationLabels).to_type(ScalarType.Float64);
                validationMse = error.Squared().mean().item<double>();
                validationMae = error.abs().mean().item<double>() * range;
                var metrics = new EpochMetrics(epoch, learningRate,
                    squaredErrorSum.item<double>() / trainCount + l2Start,
                    validationMse + l2End,
                    absoluteErrorSum.item<double>() / trainCount * range,
                    validationMae);
                curve.Add(metrics);
                progress?.Report(metrics);
                if (validationMae < bestMae)
                {
                    bestMae = validationMae;
                    bestEpoch = epoch;
                    for (var i = 0; i < _best.Count; i++) _best[i].copy_(_network.Parameters[i]);
                    _bestValidationPrediction.copy_(validationPrediction);
                }
            }
            l2Start = l2End;
            epochsRun = epoch + 1;
            if (_settings.Patience is int patience && epoch - bestEpoch >= patience) break;
        }

        if (bestEpoch < 0)
            throw new InvalidOperationException($"{_data.Dataset}: fold {_fold.Index} never produced a finite validation MAE (training diverged).");

        var layers = new List<DenseLayerWeights>();
        var sizes = FcnnNetwork.LayerSizes(_network.Architecture, _network.InputBits);
        for (var l = 0; l < sizes.Count - 1; l++)
        {
            using var kernel = _best[2 * l].cpu();
            using var bias = _best[2 * l + 1].cpu();
            layers.Add(new DenseLayerWeights(sizes[l], sizes[l + 1], kernel.data<float>().ToArray(), bias.data<float>().ToArray()));
        }
        using var predictionCpu = _bestValidationPrediction.to_type(ScalarType.Float64).cpu();
        var predictions = predictionCpu.data<double>().ToArray().Select(_scaler.Inverse).ToArray();
        var model = new FoldModel(_network.Architecture, _network.InputBits, _scaler, layers);
        return new FoldResult(_fold.Index, model, bestEpoch, bestMae, epochsRun, curve, _fold.ValidationRows, predictions, TimeSpan.Zero);
    }

    public void Dispose()
    {
        foreach (var t in _best) t.Dispose();
        _bestValidationPrediction.Dispose();
        _trainLabels.Dispose();
        _validationLabels.Dispose();
        _trainAll.Dispose();
        _validation.Dispose();
        _dropout.Dispose();
        _optimizer.Dispose();
        _network.Dispose();
    }
}
