using System.IO.Compression;
using System.Text;
using OrganicScreen.Chem.Inputs;

namespace OrganicScreen.Chem.Tests;

/// <summary>The one reader behind predict, screen and fingerprint, on the files people have.</summary>
public sealed class MoleculeSourceTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("os-inputs").FullName;
    private readonly Rdkit rdkit = new();

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string Write(string name, string text) => WriteBytes(name, Encoding.UTF8.GetBytes(text));

    private string WriteBytes(string name, byte[] bytes)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private List<InputMolecule> ReadAll(string path, MoleculeInputOptions? options = null)
    {
        using var source = MoleculeSource.Open(path, options, rdkit);
        return source.Read().ToList();
    }

    /// <summary>Two molecules with data items, by hand: ethanol (item "=cmd|x" a spreadsheet would run) and benzene; then a record RDKit refuses.</summary>
    public const string Sdf = """
        ethanol
          handmade

          3  2  0  0  0  0  0  0  0  0999 V2000
            0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
            1.5000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
            2.0000    1.4000    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0
          1  2  1  0
          2  3  1  0
        M  END
        >  <IE>
        10.5

        >  <note>
        =cmd|x

        $$$$
        benzene
          handmade

          6  6  0  0  0  0  0  0  0  0999 V2000
            1.4000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
            0.7000    1.2124    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
           -0.7000    1.2124    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
           -1.4000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
           -0.7000   -1.2124    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
            0.7000   -1.2124    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
          1  2  2  0
          2  3  1  0
          3  4  2  0
          4  5  1  0
          5  6  2  0
          6  1  1  0
        M  END
        >  <IE>
        9.2

        >  <CAS>
        71-43-2

        $$$$
        broken
          handmade

          1  0  0  0  0  0  0  0  0  0999 V2000
            0.0000    0.0000    0.0000 Xx  0  0  0  0  0  0  0  0  0  0  0  0
        M  END
        $$$$

        """;

    [Fact]
    public void Csv_with_a_header_keeps_ids_and_carries_the_other_columns()
    {
        var path = Write("in.csv", "id,smiles,anything\nbenz,c1ccccc1,x1\neth,\"CCO\",\"a, b\"\n\nnone,,z\n");
        using var source = MoleculeSource.Open(path, rdkit: rdkit);
        source.Format.ShouldBe(MoleculeFormat.Csv);
        source.CarriedColumns.ShouldBe(["anything"]);
        var rows = source.Read().ToList();
        rows.Select(r => (r.Row, r.Id, r.Smiles)).ShouldBe([(2L, "benz", "c1ccccc1"), (3L, "eth", "CCO"), (4L, null, null), (5L, "none", "")]);
        rows[1].Carried.ShouldBe(["a, b"]);
        rows[0].Error.ShouldBeNull();
        rows[2].Error.ShouldBe("empty line");
        rows[3].Error!.ShouldStartWith("missing SMILES");
    }

    [Fact]
    public void Csv_columns_are_chosen_by_name_and_a_wrong_name_lists_the_header()
    {
        var path = Write("named.csv", "Compound,SMI,IE\nq,O=C1C=CC(=O)C=C1,9.9\n");
        var rows = ReadAll(path, new MoleculeInputOptions(SmilesColumn: "SMI", IdColumn: "Compound"));
        rows.Single().ShouldBe(rows.Single() with { Id = "q", Smiles = "O=C1C=CC(=O)C=C1", Error = null });
        Should.Throw<InputFormatException>(() => MoleculeSource.Open(path, new MoleculeInputOptions(SmilesColumn: "structure"), rdkit))
            .Message.ShouldContain("no column 'structure' (--smiles-column); the header has 'Compound', 'SMI', 'IE'");
        Should.Throw<InputFormatException>(() => MoleculeSource.Open(Write("nosmiles.csv", "a,b\n1,2\n"), null, rdkit))
            .Message.ShouldContain("no SMILES column");
    }

    [Fact]
    public void Csv_rows_with_too_many_fields_or_broken_quotes_are_rejected_not_guessed()
    {
        var rows = ReadAll(Write("bad.csv", "id,smiles\na,CCO,extra\nb,C\"C\n"));
        rows[0].Error!.ShouldContain("the row has 3 fields but the header has 2");
        rows[1].Error!.ShouldContain("malformed CSV quoting");
    }

    [Fact]
    public void Tsv_is_read_by_extension()
    {
        var rows = ReadAll(Write("in.tsv", "smiles\tname\tnote\nCCO\tethanol\tx, y\n"));
        rows.Single().Id.ShouldBe("ethanol");
        rows.Single().Carried.ShouldBe(["x, y"]);
    }

    [Fact]
    public void Smi_names_after_the_smiles_become_ids_and_a_title_line_is_skipped()
    {
        var rows = ReadAll(Write("in.smi", "SMILES Name\nc1ccccc1 benzene\nCCO\tethyl alcohol\n\nC1CC\n"));
        rows.Select(r => (r.Row, r.Id, r.Smiles, r.Error)).ShouldBe(
            [(2L, "benzene", "c1ccccc1", null), (3L, "ethyl alcohol", "CCO", null), (4L, null, "", "empty line"), (5L, null, "C1CC", null)]);
    }

    [Fact]
    public void A_csv_named_smi_is_read_as_csv()
    {
        using var source = MoleculeSource.Open(Write("actually.smi", "id,smiles\nm1,CCO\n"), rdkit: rdkit);
        source.Format.ShouldBe(MoleculeFormat.Csv);
        var row = source.Read().Single();
        (row.Row, row.Id, row.Smiles, row.Error).ShouldBe((2L, "m1", "CCO", null));
    }

    [Fact]
    public void Gzip_is_read_by_extension_and_by_magic_bytes()
    {
        static byte[] Gzip(string text)
        {
            using var memory = new MemoryStream();
            using (var gz = new GZipStream(memory, CompressionLevel.Fastest)) gz.Write(Encoding.UTF8.GetBytes(text));
            return memory.ToArray();
        }

        var compressed = Gzip("c1ccccc1 benzene\nCCO ethanol\n");
        foreach (var name in new[] { "in.smi.gz", "in.smi" }) // the second has no .gz: the magic bytes tell
        {
            using var source = MoleculeSource.Open(WriteBytes(name, compressed), rdkit: rdkit);
            source.Compressed.ShouldBeTrue();
            source.Read().Select(r => r.Id).ShouldBe(["benzene", "ethanol"]);
        }

        ReadAll(WriteBytes("in.csv.gz", Gzip("smiles,id\nCCO,e\n"))).Single().Id.ShouldBe("e");
    }

    [Fact]
    public void Sdf_records_give_name_as_id_canonical_smiles_and_carried_items()
    {
        using var source = MoleculeSource.Open(Write("in.sdf", Sdf), rdkit: rdkit);
        source.Format.ShouldBe(MoleculeFormat.Sdf);
        source.CarriedColumns.ShouldBe(["IE", "note", "CAS"]); // every item of the file, in order of first appearance
        var rows = source.Read().ToList();
        rows.Select(r => (r.Row, r.Id, r.Smiles)).ShouldBe([(1L, "ethanol", "CCO"), (2L, "benzene", "c1ccccc1"), (3L, "broken", null)]);
        rows[0].Carried.ShouldBe(["10.5", "=cmd|x", null]);
        rows[1].Carried.ShouldBe(["9.2", null, "71-43-2"]);
        rows[2].Error!.ShouldContain("Element 'Xx' not found");
        source.IdOf(rows[2]).ShouldBe("broken");
    }

    [Fact]
    public void Standard_input_is_sniffed_sdf_csv_or_smi()
    {
        foreach (var (text, format, first) in new[]
                 {
                     (Sdf, MoleculeFormat.Sdf, "ethanol"),
                     ("name,smiles\nm,CCO\n", MoleculeFormat.Csv, "m"),
                     ("CCO e\n", MoleculeFormat.Smi, "e"),
                 })
        {
            using var source = MoleculeSource.Open(MoleculeSource.StandardStream, null, rdkit, new MemoryStream(Encoding.UTF8.GetBytes(text)));
            source.Format.ShouldBe(format);
            source.Name.ShouldBe("standard input");
            source.Read().First().Id.ShouldBe(first);
        }

        // A piped SD file is read once: the first record's items are the columns, later ones are reported.
        using var piped = MoleculeSource.Open(MoleculeSource.StandardStream, null, rdkit, new MemoryStream(Encoding.UTF8.GetBytes(Sdf)));
        piped.CarriedColumns.ShouldBe(["IE", "note"]);
        piped.Read().Count().ShouldBe(3);
        piped.Warnings.ShouldHaveSingleItem().ShouldContain("'CAS'");
    }

    [Fact]
    public void Invalid_utf8_is_a_reject_with_a_reason_and_accented_text_reaches_the_guard()
    {
        // "C\xc3\xa9C" is valid UTF-8 (CéC): it must reach SmilesGuard intact, which rejects the é.
        // "C\xe9C" is Latin-1, not UTF-8: the reader rejects the line instead of passing a replacement character on.
        var path = WriteBytes("bytes.smi", [(byte)'C', 0xC3, 0xA9, (byte)'C', (byte)' ', (byte)'a', (byte)'\n', (byte)'C', 0xE9, (byte)'C', (byte)' ', (byte)'b', (byte)'\n']);
        var rows = ReadAll(path);
        (rows[0].Id, rows[0].Smiles, rows[0].Error).ShouldBe(("a", "CéC", null));
        rdkit.Parse(rows[0].Smiles!).Error!.ShouldContain("'é' (U+00E9)");
        rows[1].Error!.ShouldStartWith("not valid UTF-8 text at line 2");
        rows[1].Smiles.ShouldBe("C\uFFFDC");

        var csv = ReadAll(WriteBytes("bytes.csv", [.. "id,smiles\nx"u8, 0xFF, .. ",CC\n"u8]));
        csv.Single().Error!.ShouldContain("column 'id'");

        var sdf = Encoding.UTF8.GetBytes(Sdf.Replace("benzene\n", "benz\u00e9ne\n", StringComparison.Ordinal)).ToList();
        var at = sdf.IndexOf(0xC3);
        sdf.RemoveAt(at + 1);
        sdf[at] = 0xE9; // the name "benzéne" in Latin-1
        ReadAll(WriteBytes("bytes.sdf", [.. sdf]))[1].Error!.ShouldContain("not valid UTF-8 text at record 2");
    }

    [Fact]
    public void A_line_beyond_the_limit_is_rejected_unread()
    {
        var rows = ReadAll(Write("long.smi", new string('C', 5000) + "\nCCO\n"), new MoleculeInputOptions(MaxLineChars: 1000));
        rows[0].Error!.ShouldContain("longer than 1,000 characters");
        rows[1].Smiles.ShouldBe("CCO");
    }

    [Fact]
    public void Missing_files_and_directories_are_clear_errors()
    {
        Should.Throw<FileNotFoundException>(() => MoleculeSource.Open(Path.Combine(dir, "nope.smi"))).Message.ShouldContain("input file not found");
        Should.Throw<InputFormatException>(() => MoleculeSource.Open(dir)).Message.ShouldContain("is a directory");
        Should.Throw<InputFormatException>(() => MoleculeSource.Open(Write("x.smi", "CC"), new MoleculeInputOptions(MoleculeInputOptions.ParseFormat("xls"))));
    }
}
