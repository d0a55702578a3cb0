using System.Globalization;

namespace OrganicScreen.Chem.Tests;

/// <summary>
/// Rdkit.Descriptors against Python RDKit 2022.09.3 (Descriptors.MolWt, GetNumHeavyAtoms, Chem.GetFormalCharge,
/// Chem.GetMolFrags, and the element set of Chem.AddHs(mol), an independent way to include implicit H) and
/// against values computed by hand from IUPAC atomic weights as RDKit tabulates them (C 12.011, H 1.008, O 15.999).
/// </summary>
public sealed class DescriptorTests
{
    private readonly Rdkit _rdkit = new();

    // Neutral organics, aromatic heterocycles, charges, zwitterions, salts, isotopes, explicit H, radicals, metals,
    // B/Si/Se/halogens, a dummy atom, stereo.
    private static readonly string[] Diverse =
    [
        "CCO", "O=C1C=CC(=O)C=C1", "c1ccccc1", "c1ccc2[nH]ccc2c1", "C[N+](C)(C)C", "[O-]C(=O)C", "NCC(=O)O",
        "[NH3+]CC([O-])=O", "[Na+].[Cl-]", "[2H]C([2H])([2H])O", "[13CH4]", "[H][H]", "[CH3]", "[Fe+2].[Cl-].[Cl-]",
        "OB(O)c1ccccc1", "C[Si](C)(C)C", "c1cc[se]c1", "FC(F)(F)c1ccc(Br)cc1I", "*c1ccccc1", "N[C@@H](C)C(=O)O",
        "c1ccc2c(c1)ccc1ccccc12", "O.O.O.[Cu+2].[O-]S(=O)(=O)[O-]",
    ];

    private static readonly string PythonScript = string.Join('\n',
        "import sys",
        "from rdkit import Chem",
        "from rdkit.Chem import Descriptors",
        "for s in sys.stdin.read().split('\\n'):",
        "    m = Chem.MolFromSmiles(s)",
        "    elements = sorted({a.GetSymbol() for a in Chem.AddHs(m).GetAtoms()})",
        "    print('\\t'.join([repr(Descriptors.MolWt(m)), str(m.GetNumHeavyAtoms()), ','.join(elements),",
        "                     str(Chem.GetFormalCharge(m)), str(len(Chem.GetMolFrags(m)))]))");

    [Fact]
    public void Descriptors_equal_python_rdkit_on_diverse_molecules()
    {
        var lines = PythonRdkit.Run(PythonScript, string.Join('\n', Diverse)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Length.ShouldBe(Diverse.Length);
        var actual = _rdkit.Descriptors(Diverse, threads: 2);
        actual.Count.ShouldBe(Diverse.Length);
        for (var i = 0; i < Diverse.Length; i++)
        {
            var cells = lines[i].Split('\t');
            var d = actual[i].Descriptors.ShouldNotBeNull(actual[i].Error);
            actual[i].Input.ShouldBe(Diverse[i]);
            d.MolarMass.ShouldBe(double.Parse(cells[0], CultureInfo.InvariantCulture), 1e-9, Diverse[i]);
            d.HeavyAtoms.ShouldBe(int.Parse(cells[1], CultureInfo.InvariantCulture), Diverse[i]);
            string.Join(',', d.Elements).ShouldBe(cells[2], Diverse[i]);
            d.FormalCharge.ShouldBe(int.Parse(cells[3], CultureInfo.InvariantCulture), Diverse[i]);
            d.Fragments.ShouldBe(int.Parse(cells[4], CultureInfo.InvariantCulture), Diverse[i]);
        }
    }

    [Fact]
    public void Benzoquinone_by_hand()
    {
        // C6H4O2: 6 * 12.011 + 4 * 1.008 + 2 * 15.999 = 108.096 g/mol.
        var d = _rdkit.Descriptors(["O=C1C=CC(=O)C=C1"])[0].Descriptors.ShouldNotBeNull();
        d.MolarMass.ShouldBe(108.096, 0.0005);
        d.HeavyAtoms.ShouldBe(8);
        d.Elements.ShouldBe(["C", "H", "O"]);
        d.FormalCharge.ShouldBe(0);
        d.Fragments.ShouldBe(1);
    }

    [Fact]
    public void Salt_and_ions_by_hand()
    {
        var salt = _rdkit.Descriptors(["[Na+].[Cl-]", "C[N+](C)(C)C", "[O-]C(=O)C"]);
        // NaCl: 22.990 + 35.453 = 58.443; no hydrogen anywhere, so no H in the element list.
        var nacl = salt[0].Descriptors.ShouldNotBeNull();
        nacl.MolarMass.ShouldBe(58.443, 0.0005);
        nacl.Elements.ShouldBe(["Cl", "Na"]);
        nacl.FormalCharge.ShouldBe(0);
        nacl.Fragments.ShouldBe(2);
        nacl.HeavyAtoms.ShouldBe(2);
        salt[1].Descriptors!.FormalCharge.ShouldBe(1);
        salt[1].Descriptors!.Elements.ShouldBe(["C", "H", "N"]);
        salt[2].Descriptors!.FormalCharge.ShouldBe(-1);
    }

    [Fact]
    public void Invalid_and_guarded_inputs_carry_their_error()
    {
        string[] smiles = ["CCO", "c1cccc1", "C\u00e9C", new string('C', 151), "", "O"];
        var result = _rdkit.Descriptors(smiles);
        result.Select(r => r.IsValid).ShouldBe([true, false, false, false, false, true]);
        for (var i = 0; i < smiles.Length; i++)
        {
            result[i].Input.ShouldBe(smiles[i]);
            // Same verdict and message as Parse, whether RDKit or SmilesGuard rejected it.
            result[i].Error.ShouldBe(_rdkit.Parse(smiles[i]).Error);
            (result[i].Descriptors is null).ShouldBe(!result[i].IsValid);
        }
        result[1].Error.ShouldBe("Can't kekulize mol.  Unkekulized atoms: 0 1 2 3 4");
        _rdkit.Descriptors([]).ShouldBeEmpty();
        Should.Throw<ArgumentOutOfRangeException>(() => _rdkit.Descriptors(["C"], threads: -1));
    }
}
