using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using OrganicScreen.Chem;
using OrganicScreen.Core;
using OrganicScreen.Screening;
using OrganicScreen.Training;

using OrganicScreen.Stages;

namespace OrganicScreen.Pipeline;

/// <summary>
/// A results folder's <c>model/</c> loaded for prediction: per target the shipped fold models (the ensemble,
/// or the study's best fold) and the calibrated interval. Loading and predicting is a library call; the
/// CLI's <c>predict</c> and <c>screen</c> only read and write files around it.
/// </summary>
public sealed class ShippedModel
{
    /// <summary>Lines per prediction batch; sharded screens align shards to it so results do not depend on sharding.</summary>
    public const int BatchSize = 4096;
    private static readonly string[] Required = ["ie", "ea"];
    private readonly IReadOnlyList<(ModelCardTarget Card, Ensemble Models, Calibration Calibration)> targets;
    private readonly Rdkit rdkit = new();

    private ShippedModel(ModelCard card, IReadOnlyList<(ModelCardTarget, Ensemble, Calibration)> targets, double globalBand)
    {
        Card = card;
        this.targets = targets;
        GlobalBandVolts = globalBand;
    }

    public ModelCard Card { get; }

    /// <summary>The study's global band, z·σ of the out-of-fold residuals, the wider of IE and EA (for --margin GlobalBand).</summary>
    public double GlobalBandVolts { get; }

    /// <summary>Loads <paramref name="directory"/> (a results folder or its <c>model/</c>); every path the card names must lie inside the model folder.</summary>
    public static ShippedModel Load(string directory, string? libtorch)
    {
        var folder = File.Exists(Path.Combine(directory, ModelCard.FileName)) ? directory : Path.Combine(directory, "model");
        folder = Path.GetFullPath(folder);
        var cardPath = Path.Combine(folder, ModelCard.FileName);
        if (!File.Exists(cardPath)) throw new FileNotFoundException($"no model found: {directory} has neither {ModelCard.FileName} nor model/{ModelCard.FileName} (run ./build.sh --target Screen first)");
        ModelCard card;
        try
        {
            card = JsonSerializer.Deserialize<ModelCard>(File.ReadAllText(cardPath), Json.Options) ?? throw new FormatException("empty");
        }
        catch (JsonException e)
        {
            throw new FormatException($"{cardPath} is not an OrganicScreen model card: {e.Message}");
        }

        var missing = Required.Where(t => card.Targets.All(x => x.Target != t)).ToList();
        if (missing.Count > 0) throw new FormatException($"{cardPath}: incompatible model, it has no {string.Join(" or ", missing)} target");
        TorchRuntime.Initialize(new TorchRuntimeOptions(libtorch));
        string Inside(string relative)
        {
            var path = Path.GetFullPath(Path.Combine(folder, relative));
            return path.StartsWith(folder + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                ? path
                : throw new FormatException($"{cardPath}: '{relative}' points outside the model folder; a model folder only references files inside itself");
        }

        var loaded = card.Targets.Where(t => Required.Contains(t.Target)).OrderBy(t => Array.IndexOf(Required, t.Target)).Select(t =>
        {
            var members = t.Folds.Select(Inside).ToList();
            var absent = members.FirstOrDefault(m => !Directory.Exists(m));
            if (absent is not null) throw new FileNotFoundException($"model folder {folder} is incomplete: {absent} is missing");
            Ensemble ensemble;
            try
            {
                ensemble = Ensemble.Load(members);
            }
            catch (Exception e) when (e is InvalidDataException or JsonException or IOException or ArgumentException)
            {
                throw new FormatException($"model folder {folder} is damaged: {e.Message}");
            }

            if (!ensemble.Targets.Contains(t.Target)) throw new FormatException($"{cardPath}: the fold models of target {t.Target} predict [{string.Join(", ", ensemble.Targets)}]");
            return (t, ensemble, Calibration.Load(Inside(t.Calibration)));
        }).ToList();
        var band = card.Targets.Where(t => Required.Contains(t.Target)).Max(t => Calibration.Load(Inside(t.GlobalCalibration)).Q);
        return new ShippedModel(card, loaded, band);
    }

    /// <summary>One input line's outcome: the molecule's predictions, or why there are none.</summary>
    public sealed record LinePrediction(string Input, string? Canonical, MoleculePrediction? Prediction, string Status);

    /// <summary>
    /// Predicts line by line in batches: memory holds one batch, whatever the input size. Ids are
    /// "line&lt;n&gt;" (1-based line numbers) so candidates trace back to the input file.
    /// </summary>
    public async IAsyncEnumerable<LinePrediction> PredictAsync(string inputPath, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        using var reader = new StreamReader(inputPath, Encoding.UTF8);
        var batch = new List<string>(BatchSize);
        var line = 0;
        while (true)
        {
            var text = await reader.ReadLineAsync(cancellation);
            if (text is not null) batch.Add(text.Trim());
            if (batch.Count < BatchSize && text is not null) continue;
            if (batch.Count == 0) yield break;
            foreach (var prediction in PredictBatch(batch, line)) yield return prediction;
            line += batch.Count;
            batch.Clear();
            if (text is null) yield break;
        }
    }

    /// <summary>When set, <see cref="PredictBatch"/> adds the time it spends per phase (for <c>bench</c>).</summary>
    public PhaseTimings? Timings { get; set; }

    /// <summary>Predictions for one batch of SMILES; <paramref name="firstLine"/> lines came before it.</summary>
    public IReadOnlyList<LinePrediction> PredictBatch(IReadOnlyList<string> batch, int firstLine)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // Validity and canonical SMILES first; models then see only the valid molecules.
        var parsed = rdkit.Featurize(batch, []).Molecules;
        Timings?.Add(PhaseTimings.Parse, clock.Elapsed);
        var valid = Enumerable.Range(0, batch.Count).Where(i => parsed[i].IsValid).ToList();
        IMoleculeFeatures inputs = new MoleculeInputs(rdkit, valid.Select(i => batch[i]).ToList());
        if (Timings is { } timings) inputs = new TimedFeatures(inputs, timings);
        clock.Restart();
        var groups = new Dictionary<Ensemble, IReadOnlyList<EnsemblePrediction>>();
        var means = targets.Select(t =>
        {
            if (valid.Count == 0) return Array.Empty<double>();
            if (!groups.TryGetValue(t.Models, out var predicted)) groups[t.Models] = predicted = t.Models.Predict(inputs);
            return predicted[t.Models.Targets.ToList().IndexOf(t.Card.Target)].Mean;
        }).ToList();
        Timings?.Add(PhaseTimings.Model, clock.Elapsed); // TimedFeatures moves its share to Featurize
        var result = new List<LinePrediction>(batch.Count);
        var next = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            if (!parsed[i].IsValid)
            {
                result.Add(new LinePrediction(batch[i], null, null, batch[i].Length == 0 ? "empty line" : $"invalid SMILES: {parsed[i].Error}"));
                continue;
            }

            var ie = targets[0].Calibration.Apply(means[0][next]);
            var ea = targets[1].Calibration.Apply(means[1][next]);
            next++;
            result.Add(new LinePrediction(batch[i], parsed[i].Canonical, new MoleculePrediction($"line{firstLine + i + 1}", parsed[i].Canonical!, ie, ea), "OK"));
        }

        return result;
    }
}
