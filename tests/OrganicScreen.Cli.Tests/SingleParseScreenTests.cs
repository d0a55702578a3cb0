using OrganicScreen.Chem;
using OrganicScreen.Chem.Inputs;
using OrganicScreen.Core;
using OrganicScreen.Pipeline;
using OrganicScreen.Screening;

namespace OrganicScreen.Cli.Tests;

/// <summary>
/// A library screen parses every molecule once on RDKit's fingerprint-only fast path and writes canonical SMILES (a
/// second, full parse) only for the molecules that become candidates. Its files must be exactly those of the full
/// prediction (canonical SMILES for every row, what <c>predict</c> computes) written through the same tables, and every
/// candidate's canonical SMILES must be RDKit's own for its input line (<see cref="Rdkit.Parse"/>, one molecule at a time).
/// </summary>
public sealed class SingleParseScreenTests(PipelineFixture run) : IClassFixture<PipelineFixture>
{
    [Fact]
    public async Task Screen_files_equal_the_full_prediction_and_candidates_carry_rdkit_canonical_smiles()
    {
        var folder = Path.Combine(run.Store, "single-parse");
        Directory.CreateDirectory(folder);
        var fixture = File.ReadLines(Path.Combine(run.Root, "data/fixtures/ocelot_fixture_300.csv")).Skip(1).Select(l => l[(l.LastIndexOf(',') + 1)..]);
        // Non-canonical spellings, stereo (full parse either way), a salt, a mixture, invalid SMILES and an empty line.
        string[] extra = ["C1=CC=CC=C1", "OCC", "C[C@H](N)O", "F/C=C/F", "[Na+].[Cl-]", "C.C.C.C", "c1cccc1", "C1CC", "", "O=C1C=CC(=O)C=C1"];
        var lines = fixture.Concat(extra).ToList();
        var library = Path.Combine(folder, "library.smi");
        await File.WriteAllTextAsync(library, string.Join('\n', lines) + "\n");

        // Margin None, no collector and a low cathode minimum, outside molecules kept: most molecules become candidates.
        var output = new StringWriter();
        var exit = await CliHost.RunAsync(["screen", "--model", run.Results, "--input", library, "--output", Path.Combine(folder, "screen"), "--root", run.Root,
            "--margin", "None", "--collector", "none", "--cathode-min", "0", "--include-out-of-domain"], output, output);
        exit.ShouldBe(0, output.ToString());

        var catalog = SolventCatalog.Load(Path.Combine(run.Root, "data", "solvents.json"));
        var rules = new ScreeningRules(catalog.Solvent("acetonitrile"), null, MarginPolicy.None, 0);
        using var model = ShippedModel.Load(run.Results, null);
        using var source = MoleculeSource.Open(library, rdkit: model.Rdkit);
        var (cathodes, anodes, rejects) = (new StringWriter(), new StringWriter(), new StringWriter());
        using (var tables = new LibraryScreenTables(cathodes, anodes, rejects, source.RowLabel, [], new CandidateScreen(rules), keepOutside: true))
        {
            await foreach (var row in model.PredictAsync(source))
            {
                // The full prediction has canonical SMILES for every predicted row.
                if (row.Status == ShippedModel.LinePrediction.Ok) row.Canonical.ShouldNotBeNull(row.Smiles);
                tables.Add(row, source.RowLabel);
            }

            tables.Flush();
        }

        (await File.ReadAllTextAsync(Path.Combine(folder, "screen", "candidates_cathode.csv"))).ShouldBe(cathodes.ToString());
        (await File.ReadAllTextAsync(Path.Combine(folder, "screen", "candidates_anode.csv"))).ShouldBe(anodes.ToString());
        (await File.ReadAllTextAsync(Path.Combine(folder, "screen", "rejects.csv"))).ShouldBe(rejects.ToString());

        var rdkit = new Rdkit();
        var written = 0;
        foreach (var file in new[] { "candidates_cathode.csv", "candidates_anode.csv" })
        {
            using var parser = Core.Csv.Parser(new StreamReader(Path.Combine(folder, "screen", file)));
            parser.Read();
            var header = parser.Record!.ToList();
            var (id, canonical) = (header.IndexOf("id"), header.IndexOf("canonical_smiles"));
            while (parser.Read())
            {
                var line = int.Parse(parser.Record![id]["line".Length..], System.Globalization.CultureInfo.InvariantCulture);
                parser.Record[canonical].ShouldBe(rdkit.Parse(lines[line - 1]).Canonical, $"line {line}: {lines[line - 1]}");
                written++;
            }
        }

        written.ShouldBeGreaterThan(200, "most molecules are candidates with these rules");
        var rejected = await File.ReadAllTextAsync(Path.Combine(folder, "screen", "rejects.csv"));
        rejected.ShouldContain($"invalid SMILES: {rdkit.Parse("c1cccc1").Error}");
        rejected.ShouldContain("multi-fragment SMILES (salt or mixture): 4 fragments");
    }
}
