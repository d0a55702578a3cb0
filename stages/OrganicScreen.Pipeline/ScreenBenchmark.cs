using OrganicScreen.Chem.Inputs;
using System.Diagnostics;
using OrganicScreen.Chem;
using OrganicScreen.Core;
using OrganicScreen.Screening;
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
    public static ScreenBenchmarkResult Run(ShippedModel model, IEnumerable<string> smiles, ScreeningRules rules)
    {
        var timings = new PhaseTimings();
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        // The library screen's own tables, written to nowhere: the CSV formatting is part of what is measured.
        var screen = new CandidateScreen(rules);
        using var tables = new LibraryScreenTables(TextWriter.Null, TextWriter.Null, TextWriter.Null, "line", [], screen, keepOutside: false);
        var predict = model.Predictor(LibraryScreenTables.WritesCandidate(screen, keepOutside: false));
        var count = 0;
        model.Timings = timings;
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
            model.Timings = null;
        }

        var candidates = tables.Cathodes + tables.Anodes;
        var wall = clock.Elapsed;
        process.Refresh();
        return new ScreenBenchmarkResult(count, candidates, wall, (process.TotalProcessorTime - cpuBefore).TotalSeconds, Environment.ProcessorCount,
            timings, process.PeakWorkingSet64);
    }
}
