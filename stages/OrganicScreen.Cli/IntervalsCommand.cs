using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using OrganicScreen.Chem;
using OrganicScreen.Core;
using OrganicScreen.Data;
using OrganicScreen.Stages;

namespace OrganicScreen.Cli;

/// <summary>
/// <c>organicscreen intervals --featurize DIR --train DIR</c>: the fold-held-out comparison of adaptive and fixed-width
/// intervals (overall and per-decile coverage, widths, share narrower) for a finished training run, read-only, so the
/// artifacts of another checkout or store can be measured without retraining.
/// </summary>
public static class IntervalsCommand
{
    public static Command Create(CommandContext context)
    {
        var featurize = new Option<string>("--featurize") { Description = "a Featurize artifact folder (holds molecules.parquet)", Required = true };
        var train = new Option<string>("--train") { Description = "the Train artifact folder of the same run (holds oof.parquet)", Required = true };
        var json = new Option<bool>("--json") { Description = "machine-readable output" };
        var command = new Command("intervals", "adaptive against fixed-width 95 % intervals on a training run's out-of-fold predictions (fold-held-out; reads only)") { featurize, train, json };
        command.SetAction(async (parse, cancellation) =>
        {
            var molecules = Path.Combine(parse.GetValue(featurize)!, FeatureTables.Molecules);
            var oof = Path.Combine(parse.GetValue(train)!, TrainStage.OutOfFold);
            foreach (var file in new[] { molecules, oof })
                if (!File.Exists(file)) throw new UsageException($"{file} does not exist");
            var results = await InferStage.EvaluateIntervalsAsync(molecules, oof, new Rdkit(), cancellation);
            if (parse.GetValue(json))
            {
                await context.Output.WriteLineAsync(JsonSerializer.Serialize(results, Json.Options));
                return 0;
            }

            foreach (var r in results)
            {
                var (c, e, sigma) = (r.Comparison, r.Comparison.HeldOut, r.Adaptive.ErrorScale!);
                await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{r.Target}: q {r.Adaptive.Q:F3} × σ, σ = max({sigma.Floor:F3}, {sigma.Intercept:F3} + {sigma.Nearest:F3}·(1 − s1) + {sigma.Neighbours:F3}·(1 − s5) + {sigma.Errors:F3}·neighbour error); " +
                    $"all molecules, member level: mean half-width {c.MeanHalfWidth:F3} eV against fixed {c.FixedHalfWidth:F3} eV, {c.ShareNarrower:P1} narrower"));
                await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"  fold-held-out, n {e.Adaptive.Count:N0}: coverage adaptive {e.Adaptive.Coverage:P1}, fixed {e.Fixed.Coverage:P1}; mean half-width adaptive {e.Adaptive.MeanHalfWidth:F3} eV, fixed {e.Fixed.MeanHalfWidth:F3} eV ({e.Adaptive.MeanHalfWidth / e.Fixed.MeanHalfWidth - 1:+0.0%;-0.0%}); narrower than fixed {e.ShareNarrower:P1}"));
                await context.Output.WriteLineAsync("  decile  n  half-width adaptive / fixed  coverage adaptive / fixed");
                foreach (var d in e.Deciles)
                    await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"  {d.Decile,2}  {d.Count,6}  {d.MeanHalfWidth:F3} / {d.FixedMeanHalfWidth:F3}  {d.Coverage:P1} / {d.FixedCoverage:P1}"));
            }

            return 0;
        });
        return command;
    }
}
