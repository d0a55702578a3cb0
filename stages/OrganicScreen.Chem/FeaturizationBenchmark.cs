using System.Diagnostics;
using OrganicScreen.Core;

namespace OrganicScreen.Chem;

/// <summary>
/// Throughput of SMILES → Morgan fingerprint (radius 2, 2048 bits) through <see cref="Rdkit.Featurize"/>.
/// <see cref="FingerprintMoleculesPerSecond"/> is the headline (parse + sanitise + fingerprint);
/// <see cref="FullMoleculesPerSecond"/> also writes canonical SMILES, as the featurize stage does.
/// Both are medians over the timed repeats. <see cref="FingerprintMoleculesPerCpuSecond"/> divides by
/// process CPU time instead of wall time: on a shared machine it stays meaningful when other work
/// steals cores (multiply by the core count for the uncontended estimate).
/// </summary>
public sealed record FeaturizationBenchmarkResult(
    string RdkitVersion,
    int Molecules,
    int ValidMolecules,
    int Threads,
    int Repeats,
    double FingerprintMoleculesPerSecond,
    double FullMoleculesPerSecond,
    double FingerprintMoleculesPerCpuSecond);

public static class FeaturizationBenchmark
{
    public static readonly FingerprintSpec Spec = new(2, 2048);

    /// <summary>Molecules per second for SMILES → r2/2048 fingerprint on all cores (median of the repeats).</summary>
    public static double MoleculesPerSecond(Rdkit rdkit, IReadOnlyList<string> smiles, int repeats = 3) =>
        Run(rdkit, smiles, repeats).FingerprintMoleculesPerSecond;

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

        (double Wall, double Cpu) Median(bool canonical)
        {
            var wall = new double[repeats];
            var cpu = new double[repeats];
            using var process = Process.GetCurrentProcess();
            for (var r = 0; r < repeats; r++)
            {
                process.Refresh();
                var cpuStart = process.TotalProcessorTime;
                var start = Stopwatch.GetTimestamp();
                rdkit.Featurize(smiles, specs, threads, canonical);
                wall[r] = smiles.Count / Stopwatch.GetElapsedTime(start).TotalSeconds;
                process.Refresh();
                cpu[r] = smiles.Count / Math.Max((process.TotalProcessorTime - cpuStart).TotalSeconds, 1e-9);
            }
            Array.Sort(wall);
            Array.Sort(cpu);
            return (wall[repeats / 2], cpu[repeats / 2]);
        }

        var fingerprintOnly = Median(canonical: false);
        var full = Median(canonical: true);
        return new FeaturizationBenchmarkResult(rdkit.Version, smiles.Count, validCount,
            threads == 0 ? Environment.ProcessorCount : threads, repeats, fingerprintOnly.Wall, full.Wall, fingerprintOnly.Cpu);
    }
}
