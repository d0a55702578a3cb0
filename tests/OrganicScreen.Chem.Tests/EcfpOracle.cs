using OrganicScreen.Core;

namespace OrganicScreen.Chem.Tests;

/// <summary>One row of the RDKit 2022.09.3 oracle; <see cref="Bits"/> is aligned with <see cref="EcfpOracle.Specs"/>.</summary>
public sealed record OracleRow(int Line, string Smiles, string? Canonical, int[][] Bits)
{
    public bool IsValid => Canonical is not null;
}

/// <summary>Reads tests/fixtures/ecfp/ecfp_rdkit_2022.09.3.tsv (copied to the test output folder).</summary>
public static class EcfpOracle
{
    public static readonly string Path = System.IO.Path.Combine(AppContext.BaseDirectory, "fixtures", "ecfp", "ecfp_rdkit_2022.09.3.tsv");

    public static readonly IReadOnlyList<FingerprintSpec> Specs =
        [new(1, 1024), new(1, 2048), new(2, 1024), new(2, 2048), new(3, 1024), new(3, 2048)];

    public static IReadOnlyList<OracleRow> Load()
    {
        var lines = File.ReadAllLines(Path);
        lines[0].ShouldStartWith("#");
        var header = lines[1].Split('\t');
        header.ShouldBe(["smiles", "canonical_smiles", .. Specs.Select(s => s.Name)]);
        var rows = new List<OracleRow>();
        for (var i = 2; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            var cells = lines[i].Split('\t');
            cells.Length.ShouldBe(header.Length, $"line {i + 1}");
            var bits = cells.Skip(2)
                .Select(c => c.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray())
                .ToArray();
            rows.Add(new OracleRow(i + 1, cells[0], cells[1] == "ERROR" ? null : cells[1], bits));
        }
        return rows;
    }
}
