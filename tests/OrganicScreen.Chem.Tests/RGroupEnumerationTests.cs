using System.Text;
using OrganicScreen.Core;

namespace OrganicScreen.Chem.Tests;

/// <summary>
/// The R-group enumerator: products checked by hand and against Python RDKit's canonical SMILES, the documented
/// order, the symmetry skip and the partial sanitisation proven output-neutral, and the shipped files' reach.
/// </summary>
public sealed class RGroupEnumerationTests
{
    private static readonly string Libraries = Path.Combine(RepositoryLayout.Locate().Data, "libraries");

    private const string Canonicalize = "import sys\nfrom rdkit import Chem\nfor s in sys.stdin.read().split('\\n'):\n    print(Chem.MolToSmiles(Chem.MolFromSmiles(s)))";

    private static LibraryEntry[] Entries(params string[] smiles) => smiles.Select((s, i) => new LibraryEntry(i + 1, s, "")).ToArray();

    private static List<string> Enumerate(RGroupLibrary library, RGroupOptions options)
    {
        using var stream = new MemoryStream();
        RGroupEnumeration.Write(library, stream, options);
        return Encoding.UTF8.GetString(stream.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }

    private static List<string> PythonCanonical(IEnumerable<string> smiles) =>
        PythonRdkit.Run(Canonicalize, string.Join('\n', smiles)).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();

    [Fact]
    public void Benzoquinone_with_two_sites_and_three_substituents_gives_the_hand_made_set_in_order()
    {
        // 2,3-positions of 1,4-benzoquinone (mirror-equivalent) × {F, Cl, CN}, up to 2 substituted: 1 + 6 + 9 = 16
        // assignments, 10 distinct molecules. Expected in the documented order: parent; one point (F, Cl, CN at
        // point 1; point 2 gives the same molecules); both points as tuples (F,F) (F,Cl) (F,CN) (Cl,Cl) (Cl,CN) (CN,CN).
        string[] byHand =
        [
            "O=C1C=CC(=O)C=C1",
            "O=C1C=CC(=O)C(F)=C1", "O=C1C=CC(=O)C(Cl)=C1", "O=C1C=CC(=O)C(C#N)=C1",
            "O=C1C=CC(=O)C(F)=C1F", "O=C1C=CC(=O)C(Cl)=C1F", "O=C1C=CC(=O)C(C#N)=C1F",
            "O=C1C=CC(=O)C(Cl)=C1Cl", "O=C1C=CC(=O)C(C#N)=C1Cl", "O=C1C=CC(=O)C(C#N)=C1C#N",
        ];
        using var library = RGroupLibrary.Create(Entries("O=C1C([*:1])=C([*:2])C(=O)C=C1"), Entries("[*]F", "[*]Cl", "[*]C#N"));
        library.Sites.ShouldBe([2]);
        library.Symmetries[0].Count.ShouldBe(2); // identity and the mirror swapping the two points

        var products = Enumerate(library, new RGroupOptions(2, 100));

        products.ShouldBe(PythonCanonical(byHand));
        Enumerate(library, new RGroupOptions(2, 100, UseSymmetry: false, FullSanitize: true)).ShouldBe(products);
        Enumerate(library, new RGroupOptions(2, 4)).ShouldBe(products.Take(4)); // --max: a prefix
        Enumerate(library, new RGroupOptions(0, 100)).ShouldBe([products[0]]);
    }

    [Fact]
    public void Shipped_files_give_python_canonical_smiles_and_the_same_output_without_shortcuts()
    {
        var cores = LibraryEntryFile.Read(Path.Combine(Libraries, "redox_cores.smi"));
        var substituents = LibraryEntryFile.Read(Path.Combine(Libraries, "substituents.smi"));
        cores.Count.ShouldBeGreaterThanOrEqualTo(20);
        substituents.Count.ShouldBeGreaterThanOrEqualTo(20);
        // Every core and substituent at one point, plus pairs of six small groups on every core (~11k products).
        using var all = RGroupLibrary.Create(cores, substituents);
        using var pairs = RGroupLibrary.Create(cores, substituents.Take(6).ToList());
        var products = Enumerate(all, new RGroupOptions(1, long.MaxValue)).Concat(Enumerate(pairs, new RGroupOptions(2, long.MaxValue))).ToList();

        // Partial sanitisation and the symmetry skip change nothing, byte for byte.
        var plain = Enumerate(all, new RGroupOptions(1, long.MaxValue, UseSymmetry: false, FullSanitize: true))
            .Concat(Enumerate(pairs, new RGroupOptions(2, long.MaxValue, UseSymmetry: false, FullSanitize: true))).ToList();
        plain.ShouldBe(products);
        using (var stream = new MemoryStream()) RGroupEnumeration.Write(all, stream, new RGroupOptions(1, long.MaxValue)).Rejected.ShouldBe(0);
        // Each is exactly what Python RDKit writes for it: a canonical, re-parsable SMILES.
        PythonCanonical(products).ShouldBe(products);
    }

    [Fact]
    public void Shipped_files_allow_more_than_ten_million_distinct_molecules_at_four_sites()
    {
        using var library = RGroupLibrary.Create(LibraryEntryFile.Read(Path.Combine(Libraries, "redox_cores.smi")),
            LibraryEntryFile.Read(Path.Combine(Libraries, "substituents.smi")));
        // Orbit counting: a core whose symmetry group has |G| elements yields at least combinations/|G| distinct products.
        var lowerBound = library.Sites.Select((k, c) => RGroupEnumeration.Combinations([k], library.SubstituentCount, 4) / library.Symmetries[c].Count)
            .Aggregate(System.Numerics.BigInteger.Zero, (a, b) => a + b);
        lowerBound.ShouldBeGreaterThan(new System.Numerics.BigInteger(10_000_000));
    }

    [Fact]
    public void Symmetries_of_known_cores()
    {
        using var library = RGroupLibrary.Create(Entries(
                "O=C1c2c([*:1])c([*:2])c([*:3])c([*:4])c2C(=O)c2c([*:5])c([*:6])c([*:7])c([*:8])c21", // anthraquinone: D2h, 4 site maps
                "CC1(C)C([*:1])C([*:2])C([*:3])C(C)(C)N1[O]",                                     // TEMPO: the mirror through N-O and C4
                "[*:1]c1ccccc1[*:2]",                                                               // o-dihalide-like: swap
                "F[C@H]([*:1])C[*:2]"),                                                            // stereo: identity only
            Entries("[*]F"));
        library.Symmetries.Select(s => s.Count).ShouldBe([4, 2, 2, 1]);
        library.Symmetries[1][1].ShouldBe([2, 1, 0]);
        library.Symmetries.ShouldAllBe(s => s[0].SequenceEqual(Enumerable.Range(0, s[0].Length)));
    }

    [Theory]
    [InlineData("c1ccccc1[*]", "[*]F", "cores line 1: c1ccccc1[*]: every attachment point needs a map number")]
    [InlineData("c1ccc([*:2])cc1", "[*]F", "[*:1] is missing")]
    [InlineData("O=C([*:1])C", "F", "substituents line 1: F: a substituent needs exactly one attachment point")]
    [InlineData("C=[*:1]", "[*]F", "single bond")]
    [InlineData("c1cc[*:1]cc1", "[*]F", "cores line 1")]
    public void Bad_cores_and_substituents_name_their_line(string core, string substituent, string expected)
    {
        var error = Should.Throw<FormatException>(() => RGroupLibrary.Create(Entries(core), Entries(substituent)));
        error.Message.ShouldContain(expected);
    }
}
