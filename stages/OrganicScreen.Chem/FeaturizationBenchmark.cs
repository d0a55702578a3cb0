using System.Diagnostics;
using OrganicScreen.Core;

namespace OrganicScreen.Chem;

/// <summary>
/// Throughput of SMILES → Morgan fingerprint (radius 2, 2048 bits) through <see cref="Rdkit.Featurize"/>.
/// <see cref="FingerprintMoleculesPerSecond"/> is the headline: the fingerprint-only fast path (parse +
/// the sanitisation steps the invariants need + ported Morgan loop; exact, see Rdkit.Featurize).
/// <see cref="LegacyFingerprintMoleculesPerSecond"/> is the same output the old way (full
/// <c>Chem.MolFromSmiles</c> + RDKit's Morgan code), kept to show the gain.
/// <see cref="FullMoleculesPerSecond"/> also writes canonical SMILES, as the featurize stage does.
/// All are medians over the timed repeats. The <c>PerCpuSecond</c> rates divide by process CPU time
/// instead of wall time: on a shared machine they stay meaningful when other work steals cores
/// (multiply by the core count for the uncontended estimate).
/// </summary>
public sealed record FeaturizationBenchmarkResult(
    string RdkitVersion,
    int Molecules,
    int ValidMolecules,
    int Threads,
    int Repeats,
    double FingerprintMoleculesPerSecond,
    double FullMoleculesPerSecond,
    double FingerprintMoleculesPerCpuSecond,
    double LegacyFingerprintMoleculesPerSecond,
    double LegacyFingerprintMoleculesPerCpuSecond);

public static class FeaturizationBenchmark
{
    public static readonly FingerprintSpec Spec = new(2, 2048);

    /// <summary>
    /// Molecules per second for SMILES → r2/2048 fingerprint on all cores (median of the repeats), in the
    /// fastest exact mode: the fingerprint-only fast path.
    /// </summary>
    public static double MoleculesPerSecond(Rdkit rdkit, IReadOnlyList<string> smiles, int repeats = 3)
    {
        ArgumentNullException.ThrowIfNull(rdkit);
        ArgumentNullException.ThrowIfNull(smiles);
        ArgumentOutOfRangeException.ThrowIfLessThan(repeats, 1);
        if (smiles.Count == 0) throw new ArgumentException("No molecules to benchmark.", nameof(smiles));
        FingerprintSpec[] specs = [Spec];
        rdkit.Featurize(smiles, specs, 0, canonicalSmiles: false); // warm-up
        return Measure(rdkit, smiles, specs, repeats, 0, canonical: false, FingerprintOnlyPath.Fast).Wall;
    }

    /// <summary>One warm-up pass (page-in, RDKit's lazily built tables), then <paramref name="repeats"/> timed passes per mode.</summary>
    public static FeaturizationBenchmarkResult Run(Rdkit rdkit, IReadOnlyList<string> smiles, int repeats = 3, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(rdkit);
        ArgumentNullException.ThrowIfNull(smiles);
        ArgumentOutOfRangeException.ThrowIfLessThan(repeats, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        if (smiles.Count == 0) throw new ArgumentException("No molecules to benchmark.", nameof(smiles));
        FingerprintSpec[] specs = [Spec];

        var warm = rdkit.Featurize(smiles, specs, threads, canonicalSmiles: true);
        var validCount = warm.Molecules.Count(m => m.IsValid);
        rdkit.Featurize(smiles, specs, threads, canonicalSmiles: false);

        var fingerprintOnly = Measure(rdkit, smiles, specs, repeats, threads, canonical: false, FingerprintOnlyPath.Fast);
        var legacy = Measure(rdkit, smiles, specs, repeats, threads, canonical: false, FingerprintOnlyPath.Legacy);
        var full = Measure(rdkit, smiles, specs, repeats, threads, canonical: true, FingerprintOnlyPath.Fast);
        return new FeaturizationBenchmarkResult(rdkit.Version, smiles.Count, validCount,
            threads == 0 ? Environment.ProcessorCount : threads, repeats, fingerprintOnly.Wall, full.Wall, fingerprintOnly.Cpu,
            legacy.Wall, legacy.Cpu);
    }

    /// <summary>Medians of wall-clock and process-CPU throughput over <paramref name="repeats"/> timed batches.</summary>
    private static (double Wall, double Cpu) Measure(Rdkit rdkit, IReadOnlyList<string> smiles, FingerprintSpec[] specs,
        int repeats, int threads, bool canonical, FingerprintOnlyPath path)
    {
        var wall = new double[repeats];
        var cpu = new double[repeats];
        using var process = Process.GetCurrentProcess();
        for (var r = 0; r < repeats; r++)
        {
            process.Refresh();
            var cpuStart = process.TotalProcessorTime;
            var start = Stopwatch.GetTimestamp();
            rdkit.Featurize(smiles, specs, threads, canonical, separateSpecs: false, path);
            wall[r] = smiles.Count / Stopwatch.GetElapsedTime(start).TotalSeconds;
            process.Refresh();
            cpu[r] = smiles.Count / Math.Max((process.TotalProcessorTime - cpuStart).TotalSeconds, 1e-9);
        }
        Array.Sort(wall);
        Array.Sort(cpu);
        return (wall[repeats / 2], cpu[repeats / 2]);
    }
}
