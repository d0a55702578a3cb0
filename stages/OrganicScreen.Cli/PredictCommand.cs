using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using OrganicScreen.Chem;
using OrganicScreen.Cli.Stages;
using OrganicScreen.Core;
using OrganicScreen.Screening;
using OrganicScreen.Training;

namespace OrganicScreen.Cli;

/// <summary>
/// <c>organicscreen predict</c>: IE/EA with 95 % intervals and potentials for new molecules from a
/// results folder's model. Streams the input in batches, so any file size runs in bounded memory;
/// every input line gets an output row, with <c>status</c> saying why a row has no prediction.
/// </summary>
public static class PredictCommand
{
    private const int BatchSize = 4096;
    public const string Header = "smiles,canonical_smiles,ie_ev,ie_lo,ie_hi,ea_ev,ea_lo,ea_hi,e_ox_li,e_red_li,status";

    public static Command Create(CommandContext context)
    {
        var model = new Option<DirectoryInfo>("--model", "-m") { Description = "results folder or its model/ folder", Required = true };
        var input = new Option<FileInfo>("--input", "-i") { Description = "SMILES file, one per line", Required = true };
        var output = new Option<FileInfo>("--output", "-o") { Description = "output CSV", Required = true };
        var solvent = new Option<string>("--solvent") { Description = "solvent window for the summary (data/solvents.json)", DefaultValueFactory = _ => "acetonitrile" };
        var libtorch = new Option<string?>("--libtorch") { Description = "directory of an existing libtorch" };
        var root = new Option<string?>("--root") { Description = "repository root (for data/solvents.json)" };
        var command = new Command("predict", "predict IE, EA, intervals and potentials for new molecules") { model, input, output, solvent, libtorch, root };
        command.SetAction(async (parse, cancellation) =>
        {
            var source = parse.GetValue(input)!;
            if (!source.Exists) throw new FileNotFoundException($"input file not found: {source.FullName}");
            var predictor = LoadedModel.Load(parse.GetValue(model)!.FullName, parse.GetValue(libtorch));
            var solvents = SolventCatalog.Load(Path.Combine(RepositoryLayout.Locate(parse.GetValue(root)).Data, "solvents.json"));
            var window = solvents.Solvent(parse.GetValue(solvent)!);
            var counts = await predictor.WriteAsync(source.FullName, parse.GetValue(output)!.FullName, cancellation);
            await context.Output.WriteLineAsync($"predict: {counts.Total:N0} lines, {counts.Ok:N0} predicted, {counts.Total - counts.Ok:N0} not predicted (see status) -> {parse.GetValue(output)!.FullName}");
            await context.Output.WriteLineAsync($"predict: {counts.InsideWindow(window):N0} molecules have both potentials inside the {window.Name} window ({window.ReductionLimit.Volts} to {window.OxidationLimit.Volts} V vs Li/Li+)");
            return 0;
        });
        return command;
    }

    /// <summary>Counts of one predict run.</summary>
    public sealed record Counts(int Total, int Ok, IReadOnlyList<(double Ox, double Red)> Potentials)
    {
        public int InsideWindow(SolventWindow w) => Potentials.Count(p => p.Ox <= w.OxidationLimit.Volts && p.Red >= w.ReductionLimit.Volts);
    }

    /// <summary>A model folder loaded for prediction: per target its fingerprint, members and calibration.</summary>
    public sealed class LoadedModel
    {
        private readonly IReadOnlyList<(ModelCardTarget Card, FoldModelSet Models, Calibration Calibration)> targets;
        private readonly Rdkit rdkit = new();

        private readonly double globalBand;

        private LoadedModel(IReadOnlyList<(ModelCardTarget, FoldModelSet, Calibration)> targets, double globalBand)
        {
            this.targets = targets;
            this.globalBand = globalBand;
        }

        /// <summary>The study's global band, z·σ of the out-of-fold residuals, the wider of IE and EA (for --margin GlobalBand).</summary>
        public double GlobalBandVolts => globalBand;

        public static LoadedModel Load(string directory, string? libtorch)
        {
            var folder = File.Exists(Path.Combine(directory, ModelCard.FileName)) ? directory : Path.Combine(directory, "model");
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

            string[] required = ["ie", "ea"];
            var missing = required.Where(t => card.Targets.All(x => x.Target != t)).ToList();
            if (missing.Count > 0) throw new FormatException($"{cardPath}: incompatible model, it has no {string.Join(" or ", missing)} target");
            TorchRuntime.Initialize(new TorchRuntimeOptions(libtorch));
            var loaded = card.Targets.Where(t => required.Contains(t.Target)).OrderBy(t => Array.IndexOf(required, t.Target)).Select(t =>
            {
                var members = t.Folds.Select(f => Path.Combine(folder, f)).ToList();
                var absent = members.FirstOrDefault(m => !Directory.Exists(m));
                if (absent is not null) throw new FileNotFoundException($"model folder {folder} is incomplete: {absent} is missing");
                return (t, FoldModelSet.Load(t.Target, t.Model, t.Fingerprint, members), Calibration.Load(Path.Combine(folder, t.Calibration)));
            }).ToList();
            // The study's band: z·σ of the out-of-fold residuals, the wider of the two targets.
            var band = card.Targets.Where(t => required.Contains(t.Target)).Max(t => Calibration.Load(Path.Combine(folder, t.GlobalCalibration)).Q);
            return new LoadedModel(loaded, band);
        }

        /// <summary>One input line's outcome: the molecule's predictions, or why there are none.</summary>
        public sealed record LinePrediction(string Input, string? Canonical, MoleculePrediction? Prediction, string Status);

        /// <summary>
        /// Predicts line by line in batches: memory holds one batch, whatever the input size. Ids are
        /// "line&lt;n&gt;" (1-based line numbers) so candidates trace back to the input file.
        /// </summary>
        public async IAsyncEnumerable<LinePrediction> PredictAsync(string inputPath, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellation = default)
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
                // Validity and canonical SMILES first; models then see only the valid molecules.
                var parsed = rdkit.Featurize(batch, []).Molecules;
                var valid = Enumerable.Range(0, batch.Count).Where(i => parsed[i].IsValid).ToList();
                var validSmiles = valid.Select(i => batch[i]).ToList();
                var inputs = new MoleculeInputs(rdkit, validSmiles);
                var means = targets.Select(t => valid.Count == 0 ? [] : FoldModelSet.Ensemble(t.Models.Predict(inputs)).Mean).ToList();
                var next = 0;
                for (var i = 0; i < batch.Count; i++)
                {
                    line++;
                    if (!parsed[i].IsValid)
                    {
                        yield return new LinePrediction(batch[i], null, null, batch[i].Length == 0 ? "empty line" : $"invalid SMILES: {parsed[i].Error}");
                        continue;
                    }

                    var ie = targets[0].Calibration.Apply(means[0][next]);
                    var ea = targets[1].Calibration.Apply(means[1][next]);
                    next++;
                    yield return new LinePrediction(batch[i], parsed[i].Canonical, new MoleculePrediction($"line{line}", parsed[i].Canonical!, ie, ea), "OK");
                }

                batch.Clear();
                if (text is null) yield break;
            }
        }

        public async Task<Counts> WriteAsync(string inputPath, string outputPath, CancellationToken cancellation)
        {
            int total = 0, ok = 0;
            var potentials = new List<(double, double)>();
            await AtomicFile.WriteAsync(outputPath, async stream =>
            {
                await using var writer = new StreamWriter(stream, new UTF8Encoding(false));
                await writer.WriteAsync(Header + "\n");
                await foreach (var row in PredictAsync(inputPath, cancellation))
                {
                    total++;
                    var text = new StringBuilder(Csv(row.Input)).Append(',');
                    if (row.Prediction is not { } p)
                    {
                        text.Append(",,,,,,,,,").Append(Csv(row.Status));
                    }
                    else
                    {
                        var redox = RedoxPotentials.FromEnergies(p.IonizationEnergy.Predicted, p.ElectronAffinity.Predicted).ConvertTo(PotentialScale.Lithium, ReferenceScale.Default);
                        text.Append(Csv(row.Canonical!)).Append(',')
                            .AppendJoin(',', new[] { p.IonizationEnergy.Predicted, p.IonizationEnergy.Lower, p.IonizationEnergy.Upper, p.ElectronAffinity.Predicted,
                                p.ElectronAffinity.Lower, p.ElectronAffinity.Upper, redox.Oxidation.Volts, redox.Reduction.Volts }.Select(N))
                            .Append(",OK");
                        ok++;
                        potentials.Add((redox.Oxidation.Volts, redox.Reduction.Volts));
                    }

                    await writer.WriteAsync(text.Append('\n'), cancellation);
                }
            });
            return new Counts(total, ok, potentials);
        }

        private static string N(double v) => v.ToString("F4", CultureInfo.InvariantCulture);

        private static string Csv(string s) => Core.Csv.Escape(s.Replace('\n', ' ').Replace('\r', ' '));
    }
}
