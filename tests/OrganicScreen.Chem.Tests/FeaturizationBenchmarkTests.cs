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
        result.FullMoleculesPerSecond.ShouldBeGreaterThan(0);
        Should.Throw<ArgumentException>(() => FeaturizationBenchmark.Run(rdkit, []));
        FeaturizationBenchmark.Spec.ShouldBe(new FingerprintSpec(2, 2048));
    }

    /// <summary>The dev split of the OCELOT chromophores, relative to the repository root.</summary>
    [BenchmarkFact]
    public void Ocelot_dev_throughput()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "OrganicScreen.sln"))) root = root.Parent;
        root.ShouldNotBeNull();
        var csv = Path.Combine(root.FullName, "..", "shared", "data", "ocelot_chromophore_v1", "ocelot_chromophore_v1.dev.csv");
        File.Exists(csv).ShouldBeTrue(csv);
        var lines = File.ReadAllLines(csv);
        lines[0].Split(',')[^1].ShouldBe("smiles");
        // SMILES contain no commas, so the last comma-separated field is the SMILES.
        var smiles = lines.Skip(1).Where(l => l.Length > 0).Select(l => l[(l.LastIndexOf(',') + 1)..]).ToList();

        var result = FeaturizationBenchmark.Run(new Rdkit(), smiles, repeats: 3);
        output.WriteLine(result.ToString());
        File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "featurization-benchmark.txt"), result + Environment.NewLine);
        result.ValidMolecules.ShouldBe(result.Molecules);
    }
}
