using OrganicScreen.Chem.Inputs;
using System.Diagnostics;
using OrganicScreen.Chem;
using OrganicScreen.Core;
using OrganicScreen.Screening;
using OrganicScreen.Stages;
using OrganicScreen.Training;

namespace OrganicScreen.Pipeline;

/// <summary>Wall time per phase of a screen, summed over batches (thread-safe).</summary>
public sealed class PhaseTimings
{
    /// <summary>The one RDKit call per batch: verdicts, canonical SMILES, descriptors, fingerprints, graphs.</summary>
    public const string Parse = "parse";
    /// <summary>The similarity search in the training molecules: the applicability domain's nearest neighbour and the adaptive intervals' neighbours.</summary>
    public const string Domain = "domain";
    public const string Model = "model";
    public const string Screen = "screen+csv";

    private readonly Dictionary<string, TimeSpan> phases = [];
    private readonly Lock gate = new();

    public void Add(string phase, TimeSpan elapsed)
    {
        lock (gate) phases[phase] = phases.GetValueOrDefault(phase) + elapsed;
    }

    public TimeSpan this[string phase]
    {
        get
        {
            lock (gate) return phases.GetValueOrDefault(phase);
        }
    }
}

/// <param name="CpuSeconds">Process CPU time (user + system) the screen used: on a shared machine, rate per CPU-second is the steadier number.</param>
/// <param name="PeakWorkingSetBytes">Process.PeakWorkingSet64 after the run (the whole process, model included).</param>
public sealed record ScreenBenchmarkResult(int Molecules, int Candidates, TimeSpan Wall, double CpuSeconds, int Cores, PhaseTimings Phases, long PeakWorkingSetBytes)
{
    public double MoleculesPerSecond => Molecules / Wall.TotalSeconds;

    public double PerCore => MoleculesPerSecond / Cores;

    public double PerCpuSecond => Molecules / CpuSeconds;

    public double Share(string phase) => Phases[phase] / Wall;

    /// <summary>The candidate CSV rows ("cathode,…" and "anode,…"), when the run kept them.</summary>
    public IReadOnlyList<string>? CandidateRows { get; init; }
}

/// <summary>
/// <c>bench</c>'s screen throughput: SMILES in, candidates out, exactly the library screen's work (predict in
/// batches of <see cref="ShippedModel.BatchSize"/>, apply the rules, format candidate CSV rows), with the wall time
/// split between RDKit (one parse per molecule: verdict, canonical SMILES, descriptors, fingerprints or graphs),
/// the applicability domain, the model, and screening + CSV. The SMILES are streamed, one batch in memory at a time,
/// so the peak working set is the screen's own, whatever the library size.
/// </summary>
public static class ScreenBenchmark
{
    public static ScreenBenchmarkResult Run(ShippedModel model, IEnumerable<string> smiles, ScreeningRules rules, bool keepCandidates = false) =>
        Run([model], model.Predictor, smiles, rules, keepCandidates);

    /// <summary>
    /// The two-stage funnel (<see cref="Sharding.Funnel"/>): <paramref name="fast"/> first, <paramref name="accurate"/> on
    /// the molecules it lets through; the phases add up both models' work.
    /// </summary>
    public static ScreenBenchmarkResult RunFunnel(ShippedModel fast, ShippedModel accurate, IEnumerable<string> smiles, ScreeningRules rules, bool keepCandidates = false) =>
        Run([fast, accurate], writes => Sharding.Funnel.Of(fast, accurate, rules, writes), smiles, rules, keepCandidates);

    /// <param name="models">The models whose phases are timed.</param>
    /// <param name="predictor">The line predictor to time, given which rows need canonical SMILES (the candidate rows).</param>
    /// <param name="keepCandidates">Keep the candidate CSV rows (<see cref="ScreenBenchmarkResult.CandidateRows"/>), e.g. to compare a funnel's with the accurate model's.</param>
    private static ScreenBenchmarkResult Run(IReadOnlyList<ShippedModel> models, Func<Func<MoleculePrediction, DomainVerdict, bool>, Sharding.LinePredictor> predictor,
        IEnumerable<string> smiles, ScreeningRules rules, bool keepCandidates)
    {
        var timings = new PhaseTimings();
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        // The library screen's own tables, written to nowhere (or kept): the CSV formatting is part of what is measured.
        var screen = new CandidateScreen(rules);
        using var cathodes = keepCandidates ? new StringWriter() : TextWriter.Null;
        using var anodes = keepCandidates ? new StringWriter() : TextWriter.Null;
        using var tables = new LibraryScreenTables(cathodes, anodes, TextWriter.Null, "line", [], screen, keepOutside: false);
        var predict = predictor(LibraryScreenTables.WritesCandidate(screen, keepOutside: false));
        var count = 0;
        foreach (var model in models) model.Timings = timings;
        try
        {
            foreach (var batch in smiles.Select((s, i) => new InputMolecule(i + 1, null, s, [], s.Length == 0 ? "empty line" : null)).Chunk(ShippedModel.BatchSize))
            {
                count += batch.Length;
                var predictions = predict(batch, m => $"line{m.Row}", CancellationToken.None);
                var screening = Stopwatch.StartNew();
                foreach (var row in predictions) tables.Add(row, "line");
                timings.Add(PhaseTimings.Screen, screening.Elapsed);
            }

            tables.Flush();
        }
        finally
        {
            foreach (var model in models) model.Timings = null;
        }

        var candidates = tables.Cathodes + tables.Anodes;
        var wall = clock.Elapsed;
        process.Refresh();
        IReadOnlyList<string>? rows = keepCandidates
            ? [.. Rows(cathodes).Select(r => "cathode," + r), .. Rows(anodes).Select(r => "anode," + r)]
            : null;
        return new ScreenBenchmarkResult(count, candidates, wall, (process.TotalProcessorTime - cpuBefore).TotalSeconds, Environment.ProcessorCount,
            timings, process.PeakWorkingSet64) { CandidateRows = rows };

        // The header line first, then one line per candidate.
        static IEnumerable<string> Rows(TextWriter text) => text.ToString()!.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1);
    }
}
