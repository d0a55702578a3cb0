using OrganicScreen.Core;

namespace OrganicScreen.Chem.Tests;

/// <summary>Multithreaded featurisation must give exactly the single-threaded answer, including error texts.</summary>
public sealed class ThreadSafetyTests
{
    private readonly Rdkit _rdkit = new();

    private static List<string> Workload()
    {
        // Oracle rows (valid and invalid, so per-thread error capture is exercised) repeated in a
        // shuffled order, so a message or bit landing on the wrong molecule cannot go unnoticed.
        var rows = EcfpOracle.Load().Select(r => r.Smiles).ToList();
        var random = new Random(1234);
        return Enumerable.Range(0, 6).SelectMany(_ => rows.OrderBy(_ => random.Next())).ToList();
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(0)]
    public void Batch_with_many_threads_equals_single_thread(int threads)
    {
        var smiles = Workload();
        var single = _rdkit.Featurize(smiles, EcfpOracle.Specs, threads: 1);
        var multi = _rdkit.Featurize(smiles, EcfpOracle.Specs, threads: threads);
        multi.Molecules.ShouldBe(single.Molecules);
        foreach (var spec in EcfpOracle.Specs)
        {
            multi.Fingerprints[spec].Offsets.ShouldBe(single.Fingerprints[spec].Offsets);
            multi.Fingerprints[spec].Indices.ShouldBe(single.Fingerprints[spec].Indices);
        }
        single.Molecules.Count(m => !m.IsValid).ShouldBe(9 * 6);
    }

    [Fact]
    public void Concurrent_single_calls_agree_with_the_batch()
    {
        var smiles = Workload();
        var spec = new FingerprintSpec(2, 1024);
        var batch = _rdkit.Featurize(smiles, [spec], threads: 1);
        var parsed = new ParsedSmiles[smiles.Count];
        var bits = new int[smiles.Count][];
        Parallel.For(0, smiles.Count, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            parsed[i] = _rdkit.Parse(smiles[i]);
            bits[i] = parsed[i].IsValid ? _rdkit.Fingerprint(smiles[i], spec) : [];
        });
        parsed.ShouldBe(batch.Molecules);
        for (var i = 0; i < smiles.Count; i++)
            bits[i].ShouldBe(batch.Fingerprints[spec].Row(i).ToArray());
    }
}
