using System.Runtime.CompilerServices;
using System.Text.Json;
using OrganicScreen.Chem;
using OrganicScreen.Chem.Inputs;
using OrganicScreen.Core;
using OrganicScreen.Screening;
using OrganicScreen.Training;

using OrganicScreen.Stages;

namespace OrganicScreen.Pipeline;

/// <summary>
/// A results folder's <c>model/</c> loaded for prediction: per target the shipped fold models (the ensemble,
/// or the study's best fold) and the calibrated interval (an adaptive one with the training molecules' out-of-fold errors),
/// plus the training set's applicability domain (whose fingerprints also give the adaptive intervals their neighbours).
/// Loading checks every file against the folder's <c>files.sha256</c>; a damaged folder is one
/// <see cref="FormatException"/> (or <see cref="FileNotFoundException"/>) that names the problem, never a crash.
/// Loading and predicting is a library call; the CLI's <c>predict</c> and <c>screen</c> only read and write files around it.
/// </summary>
public sealed class ShippedModel : IDisposable
{
    /// <summary>
    /// Molecules per batch: memory is bounded by one batch, and cancellation is checked between batches and between
    /// the native steps of a batch, so Ctrl-C waits for at most one step of 512 molecules (well under a second).
    /// Sharded screens align shards to it, so results do not depend on sharding.
    /// </summary>
    public const int BatchSize = 512;

    private static readonly string[] Required = ["ie", "ea"];
    private readonly IReadOnlyList<(ModelCardTarget Card, EnsemblePredictor Models, Calibration Calibration, TargetErrors? Errors)> targets;
    private readonly IReadOnlyList<EnsemblePredictor> ensembles;

    /// <summary>
    /// D-MPNN batches between two <see cref="TorchRuntime.ReleaseFreeMemory"/> calls. Without them the peak resident set
    /// of a `best` screen kept growing with the library (1,139-1,235 MB after 300,000 molecules: the heap keeps freed
    /// work tensors, and batches of ever other sizes leave holes); after every batch it stayed at 646 MB but ran 9 %
    /// slower (freed pages fault in again); every eighth batch spread that cost. Every 64th since the W_o products run in
    /// managed code, which left the faults a larger share: on the library's last 30,000 molecules (AMD VM) minor faults
    /// fell from 0.61-0.73 to 0.25-0.26 million, system time from 6.2-7.9 to 3.6-4.3 s, and the rate rose from 940-1,083
    /// to 1,084-1,187 molecules/s; the peak from 0.68-0.77 to 0.79-0.92 GB.
    /// </summary>
    private const int BatchesPerRelease = 64;

    /// <summary>
    /// Only a process that libtorch started for prediction (<see cref="TorchWorkload.Inference"/>: predict, screen,
    /// bench) hands pages back. Where a process also trains, a handed-back page turns TorchSharp's use of a temporary
    /// Scalar that the finalizer already freed (a read of stale but intact bytes) into a read of zeros ("Unknown scalar
    /// type" in a CI test host that trained and screened at once); prediction makes no such temporaries per batch.
    /// </summary>
    private readonly bool releasesFreeMemory;

    private int graphBatches;

    /// <summary>What one RDKit parse of each molecule must give: the verdict and canonical SMILES, the descriptors of the
    /// multi-fragment rule and the domain check, the domain's fingerprint and every fingerprint or graph the models read.</summary>
    private readonly MoleculeRequest request;

    private ShippedModel(ModelCard card, IReadOnlyList<(ModelCardTarget, EnsemblePredictor, Calibration, TargetErrors?)> targets, MoleculeRequest request,
        double globalBand, ApplicabilityDomain domain, bool releasesFreeMemory)
    {
        this.releasesFreeMemory = releasesFreeMemory;
        Card = card;
        this.targets = targets;
        ensembles = targets.Select(t => t.Item2).Distinct().ToList();
        this.request = request;
        GlobalBandVolts = globalBand;
        Domain = domain;
    }

    public ModelCard Card { get; }

    /// <summary>The study's global band, z·σ of the out-of-fold residuals, the wider of IE and EA (for --margin GlobalBand).</summary>
    public double GlobalBandVolts { get; }

    /// <summary>What the model was trained on: elements, heavy-atom range, training fingerprints and the similarity threshold.</summary>
    public ApplicabilityDomain Domain { get; }

    /// <summary>The RDKit the model reads molecules with (also what <see cref="MoleculeSource"/> needs for SD files).</summary>
    public Rdkit Rdkit { get; } = new();

    /// <summary>The model folder of <paramref name="directory"/> (a results folder or the model folder itself).</summary>
    public static string ModelFolder(string directory)
    {
        var folder = File.Exists(Path.Combine(directory, ModelCard.FileName)) ? directory : Path.Combine(directory, "model");
        return Path.GetFullPath(folder);
    }

    /// <summary>Loads <paramref name="directory"/> (a results folder or its <c>model/</c>); every path the card names must lie inside the model folder.</summary>
    public static ShippedModel Load(string directory, string? libtorch)
    {
        if (File.Exists(directory)) throw new FileNotFoundException($"--model {directory} is a file; give the results folder (or its model/ folder)");
        var folder = ModelFolder(directory);
        var cardPath = Path.Combine(folder, ModelCard.FileName);
        if (!File.Exists(cardPath)) throw new FileNotFoundException($"no model found: {directory} has neither {ModelCard.FileName} nor model/{ModelCard.FileName} (run ./build.sh --target Screen first)");
        // Integrity first: nothing below reads a byte that was not published with this folder.
        ModelFileHashes.Verify(folder);
        ModelCard card;
        try
        {
            card = JsonSerializer.Deserialize<ModelCard>(File.ReadAllText(cardPath), Json.Options) ?? throw new FormatException("empty");
        }
        catch (JsonException e)
        {
            throw new FormatException($"{cardPath} is not an OrganicScreen model card: {e.Message}");
        }

        if (card.Targets is null || card.Targets.Any(t => t?.Target is null || t.Folds is null || t.Calibration is null || t.GlobalCalibration is null))
            throw new FormatException($"{cardPath} is not an OrganicScreen model card: a target, its folds or its calibrations are missing");
        var missing = Required.Where(t => card.Targets.All(x => x.Target != t)).ToList();
        if (missing.Count > 0) throw new FormatException($"{cardPath}: incompatible model, it has no {string.Join(" or ", missing)} target");
        var runtime = TorchRuntime.Initialize(new TorchRuntimeOptions(libtorch, Workload: TorchWorkload.Inference));
        string Inside(string relative)
        {
            var path = Path.GetFullPath(Path.Combine(folder, relative));
            return path.StartsWith(folder + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                ? path
                : throw new FormatException($"{cardPath}: '{relative}' points outside the model folder; a model folder only references files inside itself");
        }

        T Damaged<T>(Func<T> load)
        {
            try
            {
                return load();
            }
            catch (Exception e) when (e is not (FormatException or FileNotFoundException or OperationCanceledException or OutOfMemoryException))
            {
                // Truncated weights, broken JSON, a shape that does not fit: whatever the loader threw, the folder is at fault.
                throw new FormatException($"model folder {folder} is damaged: {e.Message}", e);
            }
        }

        // Targets that name the same fold folders (a multi-task D-MPNN predicts IE and EA at once) share one ensemble,
        // so each batch runs it once.
        var byFolds = new Dictionary<string, Ensemble>(StringComparer.Ordinal);
        var loaded = card.Targets.Where(t => Required.Contains(t.Target)).OrderBy(t => Array.IndexOf(Required, t.Target)).Select(t =>
        {
            var members = t.Folds.Select(Inside).ToList();
            var absent = members.FirstOrDefault(m => !Directory.Exists(m));
            if (absent is not null) throw new FileNotFoundException($"model folder {folder} is incomplete: {absent} is missing");
            var key = string.Join('\n', members);
            if (!byFolds.TryGetValue(key, out var ensemble)) byFolds[key] = ensemble = Damaged(() => Ensemble.Load(members));
            if (!ensemble.Targets.Contains(t.Target)) throw new FormatException($"{cardPath}: the fold models of target {t.Target} predict [{string.Join(", ", ensemble.Targets)}]");
            return (Card: t, Models: ensemble, Calibration: Damaged(() => Calibration.Load(Inside(t.Calibration))));
        }).ToList();
        var band = card.Targets.Where(t => Required.Contains(t.Target)).Max(t => Damaged(() => Calibration.Load(Inside(t.GlobalCalibration))).Q);
        var domain = ApplicabilityDomain.Load(folder);
        var members = byFolds.Values.SelectMany(e => e.Members).ToList();
        var request = new MoleculeRequest([ApplicabilityDomain.Spec, .. members.OfType<FingerprintFoldModel>().Select(m => m.Fingerprint)],
            CanonicalSmiles: true, Descriptors: true, Graphs: members.Any(m => m.Family == ModelFamily.Dmpnn));
        // Networks are built once here, not per batch (see IFoldPredictor).
        var predictors = new Dictionary<Ensemble, EnsemblePredictor>();
        try
        {
            foreach (var ensemble in byFolds.Values) predictors[ensemble] = Damaged(() => ensemble.Predictor());
        }
        catch
        {
            foreach (var predictor in predictors.Values) predictor.Dispose();
            throw;
        }

        // An adaptive interval needs the training molecules' out-of-fold errors, row for row with the domain's fingerprints.
        TargetErrors? ErrorsOf(ModelCardTarget t, Calibration calibration) => calibration.Method == IntervalMethod.AdaptiveConformal
            ? Damaged(() => TargetErrors.Load(Inside(t.IntervalErrors ?? throw new FormatException($"{cardPath}: target {t.Target} has an adaptive interval but no intervalErrors file")), domain.Index.Count))
            : null;
        return new ShippedModel(card, loaded.Select(t => (t.Card, predictors[t.Models], t.Calibration, ErrorsOf(t.Card, t.Calibration))).ToList(), request, band, domain,
            releasesFreeMemory: runtime.Workload == TorchWorkload.Inference);
    }

    /// <summary>
    /// One input record's outcome: the molecule's predictions and domain verdict, or why there are none
    /// (<see cref="Status"/> is "OK" exactly when <see cref="Prediction"/> is set).
    /// </summary>
    public sealed record LinePrediction(InputMolecule Input, string Id, string? Canonical, MoleculePrediction? Prediction, DomainVerdict? Domain, string Status)
    {
        public const string Ok = "OK";

        /// <summary>The input SMILES as given (empty when the record had none).</summary>
        public string Smiles => Input.Smiles ?? "";
    }

    /// <summary>
    /// How the members predict a screen's batches: "libtorch", or where part of each network runs in managed code
    /// (checked to give libtorch's bits) which part and in how many members: "managed hidden layers in 16 of 16
    /// members" (fingerprint networks), "managed W_o products in 8 of 8 members" (D-MPNNs). Reading it builds and
    /// checks those kernels if no batch has yet (0.1-0.25 s per network), so read it after predicting.
    /// </summary>
    public string Engine
    {
        get
        {
            var managed = ensembles.Sum(e => e.ManagedKernelMembers);
            var part = ensembles.Any(e => e.UsesGraphs) ? "W_o products" : "hidden layers";
            return managed == 0 ? "libtorch" : $"managed {part} in {managed} of {ensembles.Sum(e => e.Members)} members";
        }
    }

    /// <summary>When set, <see cref="PredictBatch"/> adds the time it spends per phase (for <c>bench</c>).</summary>
    public PhaseTimings? Timings { get; set; }

    /// <summary>Predicts every record of <paramref name="source"/> in batches; memory holds one batch, whatever the input size.</summary>
    public IAsyncEnumerable<LinePrediction> PredictAsync(MoleculeSource source, CancellationToken cancellation = default) =>
        PredictAsync(source.Read(cancellation), source.IdOf, cancellation);

    /// <summary>Predicts records (a whole source, or one shard's rows of it) in batches of <see cref="BatchSize"/>.</summary>
    public IAsyncEnumerable<LinePrediction> PredictAsync(IEnumerable<InputMolecule> molecules, Func<InputMolecule, string> idOf,
        CancellationToken cancellation = default) => PredictAsync(PredictBatch, molecules, idOf, cancellation);

    /// <summary>Streams records through <paramref name="predict"/> (one model, or a <see cref="Sharding.Funnel"/>) in batches of <see cref="BatchSize"/>.</summary>
    public static async IAsyncEnumerable<LinePrediction> PredictAsync(Sharding.LinePredictor predict, IEnumerable<InputMolecule> molecules,
        Func<InputMolecule, string> idOf, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        var batch = new List<InputMolecule>(BatchSize);
        foreach (var molecule in molecules)
        {
            batch.Add(molecule);
            if (batch.Count < BatchSize) continue;
            foreach (var prediction in predict(batch, idOf, cancellation)) yield return prediction;
            batch.Clear();
            await Task.Yield();
        }

        if (batch.Count > 0)
            foreach (var prediction in predict(batch, idOf, cancellation)) yield return prediction;
    }

    /// <summary>Predicts a file (format from its extension or content; see <see cref="MoleculeSource"/>); ids are the file's or "line&lt;n&gt;".</summary>
    public async IAsyncEnumerable<LinePrediction> PredictAsync(string inputPath, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        using var source = MoleculeSource.Open(inputPath, rdkit: Rdkit);
        await foreach (var prediction in PredictAsync(source, cancellation)) yield return prediction;
    }

    /// <summary>Predictions for SMILES strings (ids "line1", "line2", ...).</summary>
    public IReadOnlyList<LinePrediction> PredictSmiles(IReadOnlyList<string> smiles, CancellationToken cancellation = default) =>
        PredictBatch(smiles.Select((s, i) => new InputMolecule(i + 1, null, s.Trim(), [], s.Trim().Length == 0 ? "empty line" : null)).ToList(),
            m => m.Id ?? $"line{m.Row}", cancellation);

    /// <summary>
    /// Predictions for one batch. Each record gets, in order: its reader error; RDKit's verdict; the multi-fragment
    /// rule (salts and mixtures are rejected, as Featurize rejects them from training, so the model never saw one);
    /// the models' predictions, refused when not finite; and the applicability-domain verdict. Cancellation is
    /// checked between the native steps, never inside one.
    /// </summary>
    public IReadOnlyList<LinePrediction> PredictBatch(IReadOnlyList<InputMolecule> batch, Func<InputMolecule, string> idOf, CancellationToken cancellation = default) =>
        PredictBatch(batch, idOf, null, cancellation);

    /// <summary>
    /// <see cref="PredictBatch(IReadOnlyList{InputMolecule}, Func{InputMolecule, string}, CancellationToken)"/> for a
    /// library screen, which writes canonical SMILES only into candidate rows: only predicted molecules
    /// <paramref name="canonicalFor"/> accepts get one (the others have a null <see cref="LinePrediction.Canonical"/> and
    /// an empty <see cref="MoleculePrediction.CanonicalSmiles"/>, which <paramref name="canonicalFor"/> must not read).
    /// Canonical SMILES need RDKit's full perception (stereo, conjugation), and parsing with it and writing them cost
    /// 2.6 times the fingerprint-only parse (150 vs 58 µs per generated molecule), so every molecule is parsed once on the
    /// fast path (same verdicts, error texts, fingerprints and descriptors: Chem tests) and the few wanted ones once more,
    /// fully, as before. Every other output is the same as the full prediction's.
    /// </summary>
    public Sharding.LinePredictor Predictor(Func<MoleculePrediction, DomainVerdict, bool> canonicalFor) =>
        (batch, idOf, cancellation) => PredictBatch(batch, idOf, canonicalFor, cancellation);

    private IReadOnlyList<LinePrediction> PredictBatch(IReadOnlyList<InputMolecule> batch, Func<InputMolecule, string> idOf,
        Func<MoleculePrediction, DomainVerdict, bool>? canonicalFor, CancellationToken cancellation)
    {
        cancellation.ThrowIfCancellationRequested();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var readable = Enumerable.Range(0, batch.Count).Where(i => batch[i].IsReadable).ToList();
        // One RDKit parse per molecule gives everything below (RDKit's parse and sanitisation is most of the cost).
        var parsed = Rdkit.Molecules(readable.Select(i => batch[i].Smiles ?? "").ToList(), request with { CanonicalSmiles = canonicalFor is null });
        var descriptors = parsed.Descriptors!;
        Timings?.Add(PhaseTimings.Parse, clock.Elapsed);
        cancellation.ThrowIfCancellationRequested();
        clock.Restart();
        // k: position among readable records; only valid single-fragment molecules go on to the models.
        var single = Enumerable.Range(0, readable.Count).Where(k => descriptors[k] is { Fragments: 1 }).ToList();
        var ecfp4 = parsed.Fingerprints[ApplicabilityDomain.Spec].Select(single);
        var singleDescriptors = single.Select(k => descriptors[k]!).ToList();
        // Adaptive intervals need each molecule's similarity to every training molecule: one pass gives those and the
        // nearest similarity the domain needs, so the index is searched once per molecule, not twice.
        var difficulties = new Difficulty[single.Count][];
        IReadOnlyList<DomainVerdict> verdicts;
        if (single.Count == 0) verdicts = [];
        else if (targets.All(t => t.Errors is null)) verdicts = Domain.Check(singleDescriptors, ecfp4);
        else
        {
            var index = Domain.Index;
            var errors = targets.Select(t => t.Errors).ToList();
            var nearest = new double[single.Count];
            Parallel.For(0, single.Count, () => (new FingerprintIndex.Scratch(index.Count), new TargetErrors.NewBuffers()), (n, _, state) =>
            {
                difficulties[n] = new Difficulty[targets.Count];
                nearest[n] = TargetErrors.OfNew(index, ecfp4.Row(n), state.Item1, errors, state.Item2, difficulties[n]);
                return state;
            }, _ => { });
            verdicts = Domain.Check(singleDescriptors, nearest);
        }

        Timings?.Add(PhaseTimings.Domain, clock.Elapsed);
        cancellation.ThrowIfCancellationRequested();
        clock.Restart();
        IMoleculeFeatures inputs = new GivenFeatures(single.Count, parsed.Fingerprints.ToDictionary(p => p.Key, p => p.Value.Select(single)), parsed.Graphs?.Select(single));
        var groups = new Dictionary<EnsemblePredictor, IReadOnlyList<EnsemblePrediction>>();
        var means = targets.Select(t =>
        {
            if (single.Count == 0) return Array.Empty<double>();
            cancellation.ThrowIfCancellationRequested();
            if (!groups.TryGetValue(t.Models, out var predicted)) groups[t.Models] = predicted = t.Models.Predict(inputs);
            return predicted[t.Models.Targets.ToList().IndexOf(t.Card.Target)].Mean;
        }).ToList();
        if (releasesFreeMemory && groups.Keys.Any(e => e.UsesGraphs) && Interlocked.Increment(ref graphBatches) % BatchesPerRelease == 0)
            TorchRuntime.ReleaseFreeMemory();
        Timings?.Add(PhaseTimings.Model, clock.Elapsed);

        cancellation.ThrowIfCancellationRequested();
        var result = new LinePrediction[batch.Count];
        var readableAt = readable.Select((i, k) => (i, k)).ToDictionary(p => p.i, p => p.k);
        var singleAt = single.Select((k, n) => (k, n)).ToDictionary(p => p.k, p => p.n);
        for (var i = 0; i < batch.Count; i++)
        {
            var input = batch[i];
            var id = idOf(input);
            if (input.Error is { } error)
            {
                result[i] = new LinePrediction(input, id, null, null, null, error);
                continue;
            }

            var k = readableAt[i];
            var molecule = parsed.Molecules[k];
            if (!molecule.IsValid)
            {
                result[i] = new LinePrediction(input, id, null, null, null, $"invalid SMILES: {molecule.Error}");
                continue;
            }

            if (!singleAt.TryGetValue(k, out var n))
            {
                result[i] = new LinePrediction(input, id, molecule.Canonical, null, null,
                    $"multi-fragment SMILES (salt or mixture): {descriptors[k]!.Fragments} fragments; the model was trained on single molecules (Featurize rejects these too)");
                continue;
            }

            var ie = targets[0].Calibration.Apply(means[0][n], difficulty: difficulties[n]?[0]);
            var ea = targets[1].Calibration.Apply(means[1][n], difficulty: difficulties[n]?[1]);
            if (!Finite(ie) || !Finite(ea))
            {
                result[i] = new LinePrediction(input, id, molecule.Canonical, null, verdicts[n],
                    $"non-finite prediction ({(Finite(ie) ? "" : "IE ")}{(Finite(ea) ? "" : "EA ")}is NaN or infinite): the model folder's weights are damaged");
                continue;
            }

            result[i] = new LinePrediction(input, id, molecule.Canonical, new MoleculePrediction(id, molecule.Canonical ?? "", ie, ea), verdicts[n], LinePrediction.Ok);
        }

        return canonicalFor is null ? result : WithCanonical(result, canonicalFor);
    }

    /// <summary>Canonical SMILES (full parse, <c>Chem.MolToSmiles</c>) for the predicted rows <paramref name="canonicalFor"/> accepts.</summary>
    private LinePrediction[] WithCanonical(LinePrediction[] rows, Func<MoleculePrediction, DomainVerdict, bool> canonicalFor)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var wanted = Enumerable.Range(0, rows.Length).Where(i => rows[i] is { Prediction: { } p, Domain: { } d } && canonicalFor(p, d)).ToList();
        if (wanted.Count == 0) return rows;
        var parsed = Rdkit.Molecules(wanted.Select(i => rows[i].Smiles).ToList(), new MoleculeRequest([]));
        for (var w = 0; w < wanted.Count; w++)
        {
            var row = rows[wanted[w]];
            // Only if RDKit could not write the SMILES: then it is invalid, as the full prediction would say.
            rows[wanted[w]] = parsed.Molecules[w] is { Canonical: { } canonical }
                ? row with { Canonical = canonical, Prediction = row.Prediction! with { CanonicalSmiles = canonical } }
                : row with { Prediction = null, Domain = null, Status = $"invalid SMILES: {parsed.Molecules[w].Error}" };
        }

        Timings?.Add(PhaseTimings.Parse, clock.Elapsed);
        return rows;
    }

    /// <summary>Frees the models' networks.</summary>
    public void Dispose()
    {
        foreach (var ensemble in ensembles) ensemble.Dispose();
    }

    private static bool Finite(PredictionInterval p) => double.IsFinite(p.Predicted) && double.IsFinite(p.Lower) && double.IsFinite(p.Upper);
}
