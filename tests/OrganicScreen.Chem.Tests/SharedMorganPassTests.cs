using OrganicScreen.Core;

namespace OrganicScreen.Chem.Tests;

/// <summary>
/// With several specs the batch computes one Morgan pass at the largest radius and derives every
/// (radius, bits) from it; it must equal one RDKit getFingerprintAsBitVect call per spec.
/// </summary>
public sealed class SharedMorganPassTests
{
    private readonly Rdkit _rdkit = new();

    private static readonly IReadOnlyList<FingerprintSpec> Mixed =
        [.. EcfpOracle.Specs, new(0, 2048), new(2, 4096), new(4, 1024), new(6, 1 << 20), new(2, 1), new(2, 7)];

    private void ShouldMatchSeparateCalls(IReadOnlyList<string> smiles)
    {
        var shared = _rdkit.Featurize(smiles, Mixed, threads: 0, canonicalSmiles: false, separateSpecs: false);
        var separate = _rdkit.Featurize(smiles, Mixed, threads: 0, canonicalSmiles: false, separateSpecs: true);
        shared.Molecules.ShouldBe(separate.Molecules);
        foreach (var spec in Mixed)
        {
            var mismatches = Enumerable.Range(0, smiles.Count)
                .Where(i => !shared.Fingerprints[spec].Row(i).SequenceEqual(separate.Fingerprints[spec].Row(i)))
                .Select(i => smiles[i]).Take(5).ToList();
            mismatches.ShouldBeEmpty($"{spec}");
            shared.Fingerprints[spec].Offsets.ShouldBe(separate.Fingerprints[spec].Offsets);
        }
    }

    [Fact]
    public void Shared_pass_equals_separate_calls_on_the_oracle() =>
        ShouldMatchSeparateCalls(EcfpOracle.Load().Select(r => r.Smiles).ToList());

    /// <summary>The OCELOT dev split next to the repository, when present (all of it with ORGANICSCREEN_BENCHMARK=1).</summary>
    [Fact]
    public void Shared_pass_equals_separate_calls_on_ocelot_dev()
    {
        var smiles = OcelotDev.TryLoad();
        if (smiles is null) return; // data not checked out here; the oracle test still covers the path
        var limit = Environment.GetEnvironmentVariable("ORGANICSCREEN_BENCHMARK") == "1" ? smiles.Count : 3000;
        ShouldMatchSeparateCalls(smiles.Take(limit).ToList());
    }
}

/// <summary>SMILES of ../shared/data/ocelot_chromophore_v1/ocelot_chromophore_v1.dev.csv relative to the repository root.</summary>
public static class OcelotDev
{
    /// <summary>The CSV's path when it exists, else null (no reading, so attributes can call it cheaply).</summary>
    public static string? Find()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "OrganicScreen.sln"))) root = root.Parent;
        if (root is null) return null;
        var csv = Path.Combine(root.FullName, "..", "shared", "data", "ocelot_chromophore_v1", "ocelot_chromophore_v1.dev.csv");
        return File.Exists(csv) ? csv : null;
    }

    public static IReadOnlyList<string>? TryLoad()
    {
        var csv = Find();
        if (csv is null) return null;
        var lines = File.ReadAllLines(csv);
        lines[0].Split(',')[^1].ShouldBe("smiles");
        // SMILES contain no commas, so the last comma-separated field is the SMILES.
        return lines.Skip(1).Where(l => l.Length > 0).Select(l => l[(l.LastIndexOf(',') + 1)..]).ToList();
    }
}
