using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace OrganicScreen.Chem.Tests;

/// <summary>
/// Rdkit.DepictSvg: well-formed SVG of the requested size, one drawn bond per RDKit bond, deterministic, and
/// byte-identical to what Python RDKit 2022.09.3 draws with the same recipe (minus the XML declaration).
/// </summary>
public sealed partial class DepictionTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";
    private readonly Rdkit _rdkit = new();

    // RDKit tags every drawn bond stroke with class "bond-<index> atom-<begin> atom-<end>".
    [GeneratedRegex(@"\bbond-(\d+)\b")]
    private static partial Regex BondClass();

    private static HashSet<int> DrawnBonds(XDocument svg) =>
        svg.Descendants(Svg + "path")
            .Select(p => (string?)p.Attribute("class") ?? "")
            .SelectMany(c => BondClass().Matches(c).Select(m => int.Parse(m.Groups[1].Value)))
            .ToHashSet();

    [Theory]
    [InlineData("c1ccccc1", 6, 250, 200)]              // benzene: 6 ring bonds
    [InlineData("CC(=O)Oc1ccccc1C(=O)O", 13, 250, 200)] // aspirin: 13 heavy atoms, 1 ring -> 13 bonds
    [InlineData("C[C@H](N)C(=O)O", 5, 400, 300)]        // alanine: 6 heavy atoms, chain -> 5 bonds
    public void Svg_is_well_formed_has_the_requested_size_and_draws_every_bond(string smiles, int bonds, int width, int height)
    {
        var text = _rdkit.DepictSvg(smiles, width, height);
        text.ShouldStartWith("<svg"); // no XML declaration: inlinable in HTML
        var svg = XDocument.Parse(text);
        svg.Root.ShouldNotBeNull().Name.ShouldBe(Svg + "svg");
        ((string?)svg.Root.Attribute("width")).ShouldBe($"{width}px");
        ((string?)svg.Root.Attribute("height")).ShouldBe($"{height}px");
        ((string?)svg.Root.Attribute("viewBox")).ShouldBe($"0 0 {width} {height}");
        DrawnBonds(svg).Order().ShouldBe(Enumerable.Range(0, bonds));
        // Aromatic/double bonds are drawn as two strokes, so at least one path per bond.
        svg.Descendants(Svg + "path").Count().ShouldBeGreaterThanOrEqualTo(bonds);
    }

    [Fact]
    public void Same_smiles_gives_the_same_bytes_every_time()
    {
        const string smiles = "O=C1C=CC(=O)C=C1";
        var first = _rdkit.DepictSvg(smiles);
        _rdkit.DepictSvg(smiles).ShouldBe(first);
        new Rdkit().DepictSvg(smiles).ShouldBe(first);
        var parallel = new string[8];
        Parallel.For(0, parallel.Length, i => parallel[i] = _rdkit.DepictSvg(smiles));
        parallel.ShouldAllBe(s => s == first);
    }

    [Fact]
    public void Svg_equals_python_rdkit_drawing()
    {
        string[] smiles = ["c1ccccc1", "O=C1C=CC(=O)C=C1", "C[C@H](N)C(=O)O", "[Na+].[Cl-]", "F/C=C/F", "c1ccc2[nH]ccc2c1"];
        const string script = """
            import sys, json
            from rdkit import Chem
            from rdkit.Chem import rdDepictor
            from rdkit.Chem.Draw import rdMolDraw2D
            out = []
            for s in sys.stdin.read().split('\n'):
                m = Chem.MolFromSmiles(s)
                rdDepictor.Compute2DCoords(m)
                m = rdMolDraw2D.PrepareMolForDrawing(m)
                d = rdMolDraw2D.MolDraw2DSVG(250, 200)
                d.drawOptions().prepareMolsBeforeDrawing = False
                d.DrawMolecule(m)
                d.FinishDrawing()
                out.append(d.GetDrawingText())
            json.dump(out, sys.stdout)
            """;
        var python = System.Text.Json.JsonSerializer.Deserialize<string[]>(PythonRdkit.Run(script, string.Join('\n', smiles)))
            .ShouldNotBeNull();
        python.Length.ShouldBe(smiles.Length);
        const string declaration = "<?xml version='1.0' encoding='iso-8859-1'?>\n";
        python.ShouldAllBe(p => p.StartsWith(declaration, StringComparison.Ordinal));
        var different = smiles.Where((s, i) => _rdkit.DepictSvg(s) != python[i][declaration.Length..]).ToList();
        different.ShouldBeEmpty();
    }

    [Fact]
    public void Background_is_white_unless_transparent()
    {
        var white = XDocument.Parse(_rdkit.DepictSvg("CCO"));
        var rect = white.Descendants(Svg + "rect").ShouldHaveSingleItem();
        ((string?)rect.Attribute("style")).ShouldNotBeNull().ShouldContain("fill:#FFFFFF");
        XDocument.Parse(_rdkit.DepictSvg("CCO", transparentBackground: true)).Descendants(Svg + "rect").ShouldBeEmpty();
    }

    [Fact]
    public void Invalid_input_throws_with_the_reason()
    {
        Should.Throw<InvalidSmilesException>(() => _rdkit.DepictSvg("c1cccc1")).Message
            .ShouldBe("Can't kekulize mol.  Unkekulized atoms: 0 1 2 3 4");
        var guarded = Should.Throw<InvalidSmilesException>(() => _rdkit.DepictSvg(new string('C', 1 << 20)));
        guarded.Message.ShouldStartWith("SMILES has 1048576 heavy atoms");
        Should.Throw<InvalidSmilesException>(() => _rdkit.DepictSvg("C\u00e9C")).Smiles.ShouldBe("C\u00e9C");
        Should.Throw<ArgumentOutOfRangeException>(() => _rdkit.DepictSvg("CCO", width: 15));
        Should.Throw<ArgumentOutOfRangeException>(() => _rdkit.DepictSvg("CCO", height: 4097));
        Should.Throw<ArgumentNullException>(() => _rdkit.DepictSvg(null!));
    }
}
