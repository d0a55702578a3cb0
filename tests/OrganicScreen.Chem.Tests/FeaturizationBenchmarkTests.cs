using OrganicScreen.Core;
using Xunit.Abstractions;

namespace OrganicScreen.Chem.Tests;

/// <summary>Runs only when ORGANICSCREEN_BENCHMARK=1: it keeps every core busy for ~15 s.</summary>
public sealed class BenchmarkFactAttribute : FactAttribute
{
    public BenchmarkFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("ORGANICSCREEN_BENCHMARK") != "1")
            Skip = "set ORGANICSCREEN_BENCHMARK=1 to run the featurisation benchmark";
    }
}

public sealed class FeaturizationBenchmarkTests(ITestOutputHelper output)
{
    [Fact]
    public void Benchmark_reports_a_rate_and_validates_arguments()
    {
        var rdkit = new Rdkit();
        var smiles = EcfpOracle.Load().Select(r => r.Smiles).ToList();
        var result = FeaturizationBenchmark.Run(rdkit, smiles, repeats: 1);
        result.Molecules.ShouldBe(smiles.Count);
        result.ValidMolecules.ShouldBe(smiles.Count - 9);
        result.FingerprintMoleculesPerSecond.ShouldBeGreaterThan(0);
        result.LegacyFingerprintMoleculesPerSecond.ShouldBeGreaterThan(0);
        result.FullMoleculesPerSecond.ShouldBeGreaterThan(0);
        FeaturizationBenchmark.MoleculesPerSecond(rdkit, smiles, repeats: 1).ShouldBeGreaterThan(0);
        Should.Throw<ArgumentException>(() => FeaturizationBenchmark.Run(rdkit, []));
        FeaturizationBenchmark.Spec.ShouldBe(new FingerprintSpec(2, 2048));
    }

    /// <summary>The dev split of the OCELOT chromophores, relative to the repository root.</summary>
    [BenchmarkFact]
    public void Ocelot_dev_throughput()
    {
        var smiles = OcelotDev.TryLoad();
        smiles.ShouldNotBeNull("../shared/data/ocelot_chromophore_v1/ocelot_chromophore_v1.dev.csv next to the repository");

        // All cores (the headline) and one thread (per-core rate; with the CPU-time rates it tells
        // how much a busy machine took away).
        var result = FeaturizationBenchmark.Run(new Rdkit(), smiles, repeats: 3);
        var single = FeaturizationBenchmark.Run(new Rdkit(), smiles, repeats: 3, threads: 1);
        output.WriteLine(result.ToString());
        output.WriteLine(single.ToString());
        File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "featurization-benchmark.txt"),
            result + Environment.NewLine + single + Environment.NewLine);
        result.ValidMolecules.ShouldBe(result.Molecules);
        // The fast path must not be slower than the path it replaces (generous margin for noise).
        result.FingerprintMoleculesPerCpuSecond.ShouldBeGreaterThan(result.LegacyFingerprintMoleculesPerCpuSecond * 1.1);
    }
}
