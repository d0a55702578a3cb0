using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using OrganicScreen.Chem;
using OrganicScreen.Core;
using OrganicScreen.Data;
using OrganicScreen.Reporting;
using OrganicScreen.Screening;
using OrganicScreen.Training;

namespace OrganicScreen.Stages;

/// <summary>The self-describing model folder that <c>predict</c> reads.</summary>
/// <remarks>Every path in it is relative to the folder and stays inside it (checked on load).</remarks>
public sealed record ModelCard(string Dataset, string Profile, string Variant, IReadOnlyList<ModelCardTarget> Targets, string Rdkit)
{
    public const string FileName = "model.json";
}

/// <param name="Model">The family and its settings (also recorded per fold in fold.json).</param>
/// <param name="Folds">The fold-model folders whose mean is the shipped prediction (one for the study's best fold).</param>
/// <param name="IntervalErrors">The out-of-fold errors by training molecule that an adaptive interval (<see cref="TargetErrors"/>) reads; null in folders published before adaptive intervals.</param>
public sealed record ModelCardTarget(string Target, TrainedModel Model, string FinalModel, IReadOnlyList<string> Folds, string Calibration, string GlobalCalibration,
    string? IntervalErrors = null);

/// <summary>
/// Screen: potentials vs Li/Li+ from the predictions, the solvent-window rules with each molecule's interval as the
/// margin, molar mass/capacity/specific energy of the candidates (RDKit), the profile's filters and ranking, figures,
/// the HTML report, and the published results folder.
/// </summary>
public sealed class ScreenStage(ArtifactStore store, Rdkit rdkit, IStageLog log)
{
    public const string Name = "screen";
    public const string Cathodes = "candidates_cathode.csv";
    public const string Anodes = "candidates_anode.csv";
    public const string Potentials = "potentials.parquet";
    public const string Report = "report.html";

    /// <param name="phase">Where the dataset variant's energies were computed: explicit key material, because it decides
    /// whether the screen is physical and what the report says at its top.</param>
    /// <param name="anchors">The dataset's published results (<see cref="DatasetManifest.Anchors"/>): the report prints them.</param>
    public static StageRequest Request(ScreenSection section, DatasetPhase phase, SolventCatalog solvents, IReadOnlyList<ReportSetting> settings,
        string featurizeKey, string trainKey, string inferKey, CodeLocation code, string rdkitVersion, IReadOnlyList<string>? anchors = null)
    {
        var solvent = solvents.Solvent(section.Solvent);
        var collector = section.Collector is null ? null : solvents.Collector(section.Collector);
        anchors ??= [];
        return new StageRequest(Name, code.Identity(typeof(ScreenStage).Assembly.GetName().Name!),
            JsonSerializer.SerializeToNode(new { section, phase, solvent, collector, settings, anchors }, Json.Options),
            new Dictionary<string, string> { [InferStage.Name] = inferKey, [TrainStage.Name] = trainKey, [FeaturizeStage.Name] = featurizeKey },
            // RDKit computes the molar masses and draws the structures.
            new Dictionary<string, string> { ["dotnet"] = CodeVersion.Runtime, ["rdkit"] = rdkitVersion });
    }

    public async Task<Artifact> RunAsync(StageRequest request, FeatureSet features, Artifact train, IReadOnlyList<TrainedTarget> trained, Artifact infer, IReadOnlyList<TargetMetrics> metrics,
        ScreenSection section, DatasetPhase phase, SolventCatalog solvents, string profile, IReadOnlyList<ReportSetting> settings, CancellationToken cancellation,
        IReadOnlyList<string>? anchors = null)
    {
        var solvent = solvents.Solvent(section.Solvent);
        var collector = section.Collector is null ? null : solvents.Collector(section.Collector);
        // Said before the cache lookup too, so a cached run still tells the user.
        var warning = PhaseWarning.For(phase, features.Dataset, features.Variant, solvent.Name);
        if (warning is not null) log.Warn($"{warning.Title}. {warning.Text}");
        return await store.GetOrBuildAsync(request, async (context, ct) =>
        {
            var output = context.OutputDirectory;
            var predictions = await InferStage.ReadPredictionsAsync(infer.PathOf(InferStage.Predictions));
            var ie = metrics.Single(m => m.Target == "ie");
            var ea = metrics.Single(m => m.Target == "ea");
            var rules = new ScreeningRules(solvent, collector, section.Margin, section.CathodeMinimumVolts, section.AnodeMinimumVolts,
                GlobalBandVolts: section.Margin == MarginPolicy.GlobalBand ? Math.Max(ie.GlobalBand.Q, ea.GlobalBand.Q) : 0, Reference: section.Reference);
            var usable = predictions.Where(p => p.IePred is not null && p.EaPred is not null).ToList();
            var outcome = await ScreenAsync(usable, features, rules, section);
            var (cathodes, anodes) = (outcome.Cathodes, outcome.Anodes);
            CandidateCsv.WriteFile(Path.Combine(output, Cathodes), cathodes, columns: CandidateColumns.WithTraits);
            CandidateCsv.WriteFile(Path.Combine(output, Anodes), anodes, columns: CandidateColumns.WithTraits);
            await CandidateFiles.WriteParquetAsync(Path.Combine(output, CandidateFiles.Parquet), [.. cathodes, .. anodes]);
            if (outcome.Filters is { } filtered) CandidateFiles.WriteFilteredOut(Path.Combine(output, CandidateFiles.FilteredOut), filtered.Removed);
            log.Info($"screen: {cathodes.Count:N0} cathode and {anodes.Count:N0} anode candidates of {predictions.Count:N0} molecules in {solvent.Name} " +
                     $"(cathode: E_ox + margin <= {rules.CathodeCeilingVolts:F2} V, E_ox >= {section.CathodeMinimumVolts:F2} V; anode: E_red - margin >= {rules.AnodeFloorVolts:F2} V vs Li/Li+), ranked by {RankedBy(section)}");

            await ParquetTable.WriteAsync(Path.Combine(output, Potentials), usable.Select(p => PotentialRow.From(p, section.Reference)).ToList());
            var figures = await FiguresAsync(train, trained, infer, metrics, predictions, Path.Combine(output, "figures"));
            var toLithium = -section.Reference.LithiumAbsoluteVolts;
            var window = ScreenReport.Window(rules, usable.Select(p => p.IePred!.Value + toLithium).ToList(), usable.Select(p => p.EaPred!.Value + toLithium).ToList(),
                [.. cathodes, .. anodes], $"{features.Dataset}: {phase}");
            Figures.WritePng(Path.Combine(output, "figures", ScreenReport.WindowFile), window.Png);
            File.Copy(infer.PathOf(InferStage.Predictions), Path.Combine(output, InferStage.Predictions));
            File.Copy(infer.PathOf(InferStage.Metrics), Path.Combine(output, InferStage.Metrics));
            WriteModelFolder(Path.Combine(output, "model"), features, train, trained, infer, metrics, profile, rdkit.Version);
            await ApplicabilityDomain.WriteAsync(Path.Combine(output, "model"), features, train, ct);
            ModelFileHashes.Write(Path.Combine(output, "model"));
            var content = new ReportContent(
                $"OrganicScreen — {features.Dataset} / {profile}",
                metrics.SelectMany(m => new[]
                {
                    new MetricsRow(m.Target.ToUpperInvariant(), "out-of-fold (honest)", m.OutOfFold),
                    new MetricsRow(m.Target.ToUpperInvariant(), $"best fold {m.BestFold} on the whole dataset (study style)", m.BestFoldOnDataset),
                    new MetricsRow(m.Target.ToUpperInvariant(), $"{trained.Single(t => t.Target == m.Target).Folds.Count}-fold ensemble on the whole dataset (in sample)", m.EnsembleOnDataset),
                }).ToList(),
                metrics.Select(m => new IntervalRow(m.Target.ToUpperInvariant(), m.Calibration, m.CoverageFoldHeldOut, m.Intervals)).ToList(),
                figures,
                [
                    new CandidateTable($"Cathode candidates ({cathodes.Count})", cathodes, ScreenReport.TableRows, Cathodes),
                    new CandidateTable($"Anode candidates ({anodes.Count})", anodes, ScreenReport.TableRows, Anodes),
                ],
                settings.Concat(metrics.Select(m => new ReportSetting($"{m.Target.ToUpperInvariant()} model",
                    $"{m.Model.Summary}; shipped: {(m.FinalModel == "ensemble" ? $"the {trained.Single(t => t.Target == m.Target).Folds.Count}-fold ensemble" : $"{m.FinalModel} (the study's best fold)")}; 95 % interval {m.Calibration.Method}, mean ±{m.Intervals.MeanHalfWidth.ToString("F3", CultureInfo.InvariantCulture)} eV (fixed ±{m.FixedCalibration.Q.ToString("F3", CultureInfo.InvariantCulture)} eV)"))).ToList(),
                [.. MethodNotes.Defaults, .. ScreenReport.Methods, new MethodNote("Published reference numbers (for comparison with the out-of-fold metrics above)", ReferenceText(anchors ?? []))])
            {
                Warnings = warning is null ? [] : [warning],
                Screen = new ScreenSummary(Summary(usable.Count, rules, section, phase, outcome), window, ScreenReport.Filters(outcome)),
                Structures =
                [
                    ScreenReport.Gallery(string.Create(CultureInfo.InvariantCulture, $"Top cathode candidates ({Math.Min(ScreenReport.DrawnPerRole, cathodes.Count)} of {cathodes.Count:N0})"), cathodes, rdkit, RankedBy(section)),
                    ScreenReport.Gallery(string.Create(CultureInfo.InvariantCulture, $"Top anode candidates ({Math.Min(ScreenReport.DrawnPerRole, anodes.Count)} of {anodes.Count:N0})"), anodes, rdkit, RankedBy(section)),
                ],
            };
            HtmlReport.Write(Path.Combine(output, Report), content);
            return JsonSerializer.SerializeToNode(new
            {
                cathodes = cathodes.Count, anodes = anodes.Count, phase = phase.Kind, physical = warning is null,
                filtered = outcome.Filters?.Counts.ToDictionary(c => c.Filter, c => new { c.Cathodes, c.Anodes }),
            }, Json.Options);
        }, cancellation);
    }

    /// <summary>The potential rules per molecule (cathode before anode, input order), traits, the profile's filters, then the ranking.</summary>
    private async Task<ScreenSectionOutcome> ScreenAsync(IReadOnlyList<InferStage.PredictionRow> usable, FeatureSet features, ScreeningRules rules, ScreenSection section)
    {
        var screen = new CandidateScreen(rules);
        var found = new List<(Candidate Candidate, int Index)>();
        foreach (var p in usable)
        {
            var molecule = new MoleculePrediction(p.Id, p.CanonicalSmiles, p.Interval("ie")!, p.Interval("ea")!, p.IeDft, p.EaDft);
            if (screen.AsCathode(molecule) is { } cathode) found.Add((cathode, p.Index));
            if (screen.AsAnode(molecule) is { } anode) found.Add((anode, p.Index));
        }

        var molecules = (await features.MoleculesAsync()).ToDictionary(m => m.Index);
        var traits = CandidateAnnotation.Describe(found.Select(f => f.Index), molecules, rdkit, log);
        var annotated = found.Select(f => traits.TryGetValue(f.Index, out var t) ? f.Candidate with { Traits = CandidateTraits.Of(t, f.Candidate.Potential.Predicted) } : f.Candidate).ToList();
        var (cathodesBefore, anodesBefore) = (annotated.Count(c => c.Role == ElectrodeRole.Cathode), annotated.Count(c => c.Role == ElectrodeRole.Anode));
        FilterOutcome? filtered = null;
        if (section.HasFilters)
        {
            if (section.RequireRedoxStable && molecules.Values.All(m => m.Carried?.RedoxStable is null))
                log.Warn($"screen: requireRedoxStable is set but {features.Dataset} carries no redox_stable values: every candidate is removed");
            if (section.AllowedElements is { } allowed && !allowed.Contains("H"))
                log.Warn("screen: allowedElements does not list H, so every molecule with a hydrogen is removed (hydrogen is not implied)");
            filtered = CandidateFiltering.Apply(annotated, section.Filters);
            foreach (var c in filtered.Counts)
                log.Info($"screen: filter {c.Filter} = {c.Setting} removed {c.Cathodes:N0} cathode and {c.Anodes:N0} anode candidates");
            annotated = [.. filtered.Kept];
        }

        var sorted = CandidateOrder.Sort(annotated, section.RankBy);
        return new ScreenSectionOutcome(sorted.Where(c => c.Role == ElectrodeRole.Cathode).ToList(), sorted.Where(c => c.Role == ElectrodeRole.Anode).ToList(),
            cathodesBefore, anodesBefore, filtered);
    }

    private static string MarginWords(MarginPolicy margin) => margin switch
    {
        MarginPolicy.IntervalHalfWidth => "each molecule's 95 % interval on the side facing the limit",
        MarginPolicy.GlobalBand => "one global band for every molecule (the study's z·σ)",
        _ => "none (point predictions)",
    };

    private static string RankedBy(ScreenSection section) => section.RankBy == CandidateRanking.SpecificEnergy
        ? "specific energy (Wh/kg, highest first)"
        : "potential (cathodes highest E_ox first, anodes lowest E_red first)";

    private static IReadOnlyList<string> Summary(int molecules, ScreeningRules rules, ScreenSection section, DatasetPhase phase, ScreenSectionOutcome outcome)
    {
        var s = rules.Solvent;
        var lines = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture,
                $"{molecules:N0} molecules screened against the {s.Name} window ({s.ReductionLimit.Volts:0.00}–{s.OxidationLimit.Volts:0.00} V vs Li/Li+)" +
                $"{(rules.Collector is { } c ? $" and the {c.Name} current collector ({c.OxidationLimit.Volts:0.00} V)" : "")}, margin: {MarginWords(section.Margin)}. Found " +
                $"{outcome.Cathodes.Count:N0} cathode candidates (E_ox + margin ≤ {rules.CathodeCeilingVolts:0.00} V, E_ox ≥ {rules.CathodeMinimumVolts:0.00} V) and " +
                $"{outcome.Anodes.Count:N0} anode candidates (E_red − margin ≥ {rules.AnodeFloorVolts:0.00} V{(rules.AnodeMinimumVolts is { } a ? $", E_red ≥ {a:0.00} V" : "")})."),
            $"Energies: {phase}. Tables and drawings ranked by {RankedBy(section)}.",
        };
        if (outcome.Filters is not null)
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"Filters kept {outcome.Cathodes.Count:N0} of {outcome.CathodesBeforeFilters:N0} cathode and {outcome.Anodes.Count:N0} of {outcome.AnodesBeforeFilters:N0} anode candidates; {CandidateFiles.FilteredOut} lists the others with the reason."));
        return lines;
    }

    private static async Task<IReadOnlyList<ReportFigure>> FiguresAsync(Artifact train, IReadOnlyList<TrainedTarget> trained, Artifact infer, IReadOnlyList<TargetMetrics> metrics,
        IReadOnlyList<InferStage.PredictionRow> predictions, string folder)
    {
        Directory.CreateDirectory(folder);
        var oof = await TrainStage.ReadOutOfFoldAsync(train);
        var curves = await TrainStage.ReadCurvesAsync(train);
        var figures = new List<ReportFigure>();
        foreach (var m in metrics)
        {
            var label = m.Target.ToUpperInvariant();
            var mine = oof.Where(r => r.Target == m.Target).ToList();
            var parity = Figures.ParityPlot(mine.Select(r => r.Label).ToList(), mine.Select(r => r.Prediction).ToList(), label, "eV");
            var residuals = Figures.ResidualHistogram(mine.Select(r => r.Label - r.Prediction).ToList(), label, "eV");
            var learning = Figures.LearningCurves(curves.Where(c => c.Target == m.Target).GroupBy(c => c.Fold).OrderBy(g => g.Key)
                .Select(g => new LearningCurve($"fold {g.Key}", g.OrderBy(c => c.Epoch).Select(c => c.TrainMae).ToList(), g.OrderBy(c => c.Epoch).Select(c => c.ValidationMae).ToList())).ToList(),
                "MAE (eV)", $"{label} learning curves");
            foreach (var (name, png, title, caption) in new[]
            {
                ($"parity_{m.Target}.png", parity, $"{label} parity (out-of-fold)", $"DFT vs out-of-fold prediction for {mine.Count:N0} molecules; colour is log count per bin."),
                ($"residuals_{m.Target}.png", residuals, $"{label} residuals (out-of-fold)", "Histogram of DFT − prediction with mean and ±σ."),
                ($"learning_{m.Target}.png", learning, $"{label} learning curves", "Train and validation MAE per epoch for each fold."),
            })
            {
                Figures.WritePng(Path.Combine(folder, name), png);
                figures.Add(new ReportFigure(title, caption, png));
            }
        }

        return figures;
    }

    private static void WriteModelFolder(string folder, FeatureSet features, Artifact train, IReadOnlyList<TrainedTarget> trained, Artifact infer, IReadOnlyList<TargetMetrics> metrics, string profile, string rdkit)
    {
        Directory.CreateDirectory(folder);
        var targets = new List<ModelCardTarget>();
        foreach (var t in trained)
        {
            var m = metrics.Single(x => x.Target == t.Target);
            var folds = new List<string>();
            foreach (var f in t.Folds)
            {
                var relative = t.FoldDirectory(f.Fold);
                if (!Directory.Exists(Path.Combine(folder, relative))) CopyDirectory(Path.Combine(train.Directory, relative), Path.Combine(folder, relative));
                folds.Add(relative);
            }

            File.Copy(infer.PathOf(InferStage.CalibrationFile(t.Target)), Path.Combine(folder, InferStage.CalibrationFile(t.Target)));
            File.Copy(infer.PathOf(InferStage.GlobalCalibrationFile(t.Target)), Path.Combine(folder, InferStage.GlobalCalibrationFile(t.Target)));
            File.Copy(infer.PathOf(TargetErrors.FileName(t.Target)), Path.Combine(folder, TargetErrors.FileName(t.Target)));
            var final = m.FinalModel == "ensemble" ? folds : [t.FoldDirectory(m.BestFold)];
            targets.Add(new ModelCardTarget(t.Target, t.Model, m.FinalModel, final, InferStage.CalibrationFile(t.Target), InferStage.GlobalCalibrationFile(t.Target),
                TargetErrors.FileName(t.Target)));
        }

        File.WriteAllText(Path.Combine(folder, ModelCard.FileName), JsonSerializer.Serialize(new ModelCard(features.Dataset, profile, features.Variant, targets, rdkit), Json.Options));
    }

    internal static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }

    /// <summary>
    /// Copies the Screen artifact to the stable results folder. The new copy is assembled beside it and
    /// swapped in by renames, so readers see the old folder or the new one, never half of each.
    /// </summary>
    public static void Publish(Artifact screen, string results, IStageLog log, IReadOnlyList<string>? anchors = null)
    {
        var parent = Path.GetDirectoryName(results)!;
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".staging-{Guid.NewGuid():N}");
        CopyDirectory(screen.Directory, staging);
        var old = Path.Combine(parent, $".old-{Guid.NewGuid():N}");
        if (Directory.Exists(results)) Directory.Move(results, old);
        Directory.Move(staging, results);
        if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
        log.Info($"results: {results}");
        WriteComparison(parent, log, anchors ?? []);
    }

    /// <summary>
    /// <c>results/&lt;dataset&gt;/comparison.md</c>: every published profile's out-of-fold metrics side by side
    /// with the published numbers. Rebuilt from the results folders at each publish (it spans profiles, so it
    /// belongs to no single content-hashed stage).
    /// </summary>
    public static void WriteComparison(string datasetResults, IStageLog log, IReadOnlyList<string> anchors)
    {
        var text = new System.Text.StringBuilder("| profile | model | IE MAE (eV) | IE R² | EA MAE (eV) | EA R² | 95 % coverage IE / EA |\n|---|---|---:|---:|---:|---:|---|\n");
        foreach (var folder in Directory.EnumerateDirectories(datasetResults).Where(d => !Path.GetFileName(d).StartsWith('.')).Order(StringComparer.Ordinal))
        {
            var metricsPath = Path.Combine(folder, InferStage.Metrics);
            if (!File.Exists(metricsPath)) continue;
            List<TargetMetrics> metrics;
            try
            {
                metrics = JsonSerializer.Deserialize<List<TargetMetrics>>(File.ReadAllText(metricsPath), Json.Options) ?? [];
            }
            catch (JsonException)
            {
                continue; // results of an older layout: not comparable
            }

            TargetMetrics? Of(string target) => metrics.FirstOrDefault(m => m.Target == target);
            string Cell(TargetMetrics? m, Func<RegressionMetrics, double> value) => m is null ? "" : value(m.OutOfFold).ToString("F3", CultureInfo.InvariantCulture);
            var (ie, ea) = (Of("ie"), Of("ea"));
            var model = (ie ?? ea)?.Model.Family == ModelFamily.Fcnn ? "FCNN (ECFP)" : "D-MPNN (graph)";
            text.Append(CultureInfo.InvariantCulture,
                $"| {Path.GetFileName(folder)} | {model} | {Cell(ie, r => r.Mae)} | {Cell(ie, r => r.R2)} | {Cell(ea, r => r.Mae)} | {Cell(ea, r => r.R2)} | {ie?.CoverageFoldHeldOut.Coverage:P1} / {ea?.CoverageFoldHeldOut.Coverage:P1} |\n");
        }

        text.Append("\nOut-of-fold metrics (each molecule predicted by the fold model that did not see it).\n\n").Append(ReferenceText(anchors)).Append('\n');
        File.WriteAllText(Path.Combine(datasetResults, "comparison.md"), text.ToString());
        log.Info($"comparison: {Path.Combine(datasetResults, "comparison.md")}");
    }

    /// <summary>The study every dataset is measured against (MAE in eV); each dataset adds its own published results.</summary>
    public const string StudyNumbers =
        "Original study (2020, Materials Project data, Keras FCNN on ECFP): IE R² 0.723, MAE 0.51; EA R² 0.445, MAE 0.528; 2758 cathode and 33 anode candidates.";

    /// <summary>The study's numbers, then this dataset's published results (<see cref="DatasetManifest.Anchors"/>).</summary>
    public static string ReferenceText(IReadOnlyList<string> anchors) => string.Join(' ', [StudyNumbers, .. anchors]);

    /// <summary>A molecule's predicted potentials on the three scales (V), with the 95 % interval vs Li/Li+.</summary>
    public sealed class PotentialRow
    {
        [JsonPropertyName("index")] public int Index { get; set; }
        [JsonPropertyName("id")] public string Id { get; set; } = "";
        [JsonPropertyName("canonical_smiles")] public string CanonicalSmiles { get; set; } = "";
        [JsonPropertyName("e_ox_abs_v")] public double OxidationAbsolute { get; set; }
        [JsonPropertyName("e_ox_she_v")] public double OxidationShe { get; set; }
        [JsonPropertyName("e_ox_li_v")] public double OxidationLithium { get; set; }
        [JsonPropertyName("e_ox_li_lo_v")] public double OxidationLithiumLower { get; set; }
        [JsonPropertyName("e_ox_li_hi_v")] public double OxidationLithiumUpper { get; set; }
        [JsonPropertyName("e_red_abs_v")] public double ReductionAbsolute { get; set; }
        [JsonPropertyName("e_red_she_v")] public double ReductionShe { get; set; }
        [JsonPropertyName("e_red_li_v")] public double ReductionLithium { get; set; }
        [JsonPropertyName("e_red_li_lo_v")] public double ReductionLithiumLower { get; set; }
        [JsonPropertyName("e_red_li_hi_v")] public double ReductionLithiumUpper { get; set; }

        public static PotentialRow From(InferStage.PredictionRow p, ReferenceScale scale)
        {
            var redox = RedoxPotentials.FromEnergies(p.IePred!.Value, p.EaPred!.Value);
            var she = redox.ConvertTo(PotentialScale.StandardHydrogen, scale);
            var li = redox.ConvertTo(PotentialScale.Lithium, scale);
            var toLithium = -scale.LithiumAbsoluteVolts;
            return new PotentialRow
            {
                Index = p.Index, Id = p.Id, CanonicalSmiles = p.CanonicalSmiles,
                OxidationAbsolute = redox.Oxidation.Volts, OxidationShe = she.Oxidation.Volts, OxidationLithium = li.Oxidation.Volts,
                OxidationLithiumLower = p.IeLo!.Value + toLithium, OxidationLithiumUpper = p.IeHi!.Value + toLithium,
                ReductionAbsolute = redox.Reduction.Volts, ReductionShe = she.Reduction.Volts, ReductionLithium = li.Reduction.Volts,
                ReductionLithiumLower = p.EaLo!.Value + toLithium, ReductionLithiumUpper = p.EaHi!.Value + toLithium,
            };
        }
    }
}
