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
    public const string Parse = "parse";
    public const string Featurize = "featurize";
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

/// <summary>Model inputs that count the time spent computing them as featurization, not model time.</summary>
internal sealed class TimedFeatures(IMoleculeFeatures inner, PhaseTimings timings) : IMoleculeFeatures
{
    public int Count => inner.Count;

    public SparseBitMatrix Fingerprints(FingerprintSpec spec) => Timed(() => inner.Fingerprints(spec));

    public MolecularGraphs Graphs() => Timed(inner.Graphs);

    private T Timed<T>(Func<T> compute)
    {
        var clock = Stopwatch.StartNew();
        var result = compute();
        timings.Add(PhaseTimings.Featurize, clock.Elapsed);
        timings.Add(PhaseTimings.Model, -clock.Elapsed);
        return result;
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
/// split between RDKit parsing, featurization (fingerprints or graphs), the model, and screening + CSV.
/// </summary>
public static class ScreenBenchmark
{
    public static ScreenBenchmarkResult Run(ShippedModel model, IReadOnlyList<string> smiles, ScreeningRules rules)
    {
        var timings = new PhaseTimings();
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        // The library screen's own tables, written to nowhere: the CSV formatting is part of what is measured.
        using var tables = new LibraryScreenTables(TextWriter.Null, TextWriter.Null, TextWriter.Null, "line", [], new CandidateScreen(rules), keepOutside: false);
        var molecules = smiles.Select((s, i) => new InputMolecule(i + 1, null, s, [], s.Length == 0 ? "empty line" : null)).ToList();
        model.Timings = timings;
        try
        {
            for (var start = 0; start < molecules.Count; start += ShippedModel.BatchSize)
            {
                var predictions = model.PredictBatch(molecules.GetRange(start, Math.Min(ShippedModel.BatchSize, molecules.Count - start)), m => $"line{m.Row}");
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
        return new ScreenBenchmarkResult(smiles.Count, candidates, wall, (process.TotalProcessorTime - cpuBefore).TotalSeconds, Environment.ProcessorCount,
            timings, process.PeakWorkingSet64);
    }
}
