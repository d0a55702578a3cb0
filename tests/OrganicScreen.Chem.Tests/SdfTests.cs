using System.Text;
using System.Text.Json;

namespace OrganicScreen.Chem.Tests;

/// <summary>
/// Rdkit.ReadSdf against Python RDKit 2022.09.3: an SD file written by Chem.SDWriter (names, properties, one record
/// made unreadable on purpose) must read back as Python's Chem.SDMolSupplier reads it: same canonical SMILES, names,
/// properties, and for the broken record the very messages RDKit logs, file line numbers included.
/// </summary>
public sealed class SdfTests
{
    private readonly Rdkit _rdkit = new();

    /// <summary>What Python wrote and read: the file, per record (null or [name, smiles, [[key, value]...]]), stderr.</summary>
    private sealed record PythonSdf(string Text, List<PythonRecord?> Records, string Log);

    private sealed record PythonRecord(string Name, string Smiles, List<List<string>> Properties);

    private static readonly Lazy<PythonSdf> Oracle = new(() =>
    {
        // Record 2 (trimethylamine) gets a double bond to N: valence 4 on a neutral N, which sanitisation rejects.
        const string script = """
            import io, json, sys, tempfile
            from rdkit import Chem
            from rdkit.Chem import AllChem
            out = io.StringIO()
            writer = Chem.SDWriter(out)
            for name, smiles, props in [
                ("aspirin", "CC(=O)Oc1ccccc1C(=O)O", [("source", "test set"), ("IE_eV", "7.5")]),
                ("trimethylamine", "CN(C)C", [("note", "made pentavalent below")]),
                ("L-alanine", "C[C@H](N)C(=O)O", [("multi", "line one\nline two"), ("CAS", "56-41-7")]),
            ]:
                m = Chem.MolFromSmiles(smiles)
                m.SetProp("_Name", name)
                for k, v in props:
                    m.SetProp(k, v)
                AllChem.Compute2DCoords(m)
                writer.write(m)
            writer.close()
            records = out.getvalue().split("$$$$\n")
            assert records[1].count("  2  3  1  0\n") == 1
            records[1] = records[1].replace("  2  3  1  0\n", "  2  3  2  0\n")
            text = "$$$$\n".join(records)
            with tempfile.NamedTemporaryFile("w", suffix=".sdf", delete=False) as f:
                f.write(text)
            read = []
            for m in Chem.SDMolSupplier(f.name):
                read.append(None if m is None else
                            [m.GetProp("_Name"), Chem.MolToSmiles(m), [[k, m.GetProp(k)] for k in m.GetPropNames()]])
            json.dump({"text": text, "records": read}, sys.stdout)
            """;
        var (stdout, stderr) = PythonRdkit.RunWithStderr(script);
        using var json = JsonDocument.Parse(stdout);
        var records = json.RootElement.GetProperty("records").EnumerateArray().Select(r => r.ValueKind == JsonValueKind.Null
            ? null
            : new PythonRecord(r[0].GetString()!, r[1].GetString()!,
                r[2].EnumerateArray().Select(p => new List<string> { p[0].GetString()!, p[1].GetString()! }).ToList())).ToList();
        return new PythonSdf(json.RootElement.GetProperty("text").GetString()!, records, stderr);
    });

    private List<SdfRecord> Read(string text, int maxRecordChars = Rdkit.DefaultMaxSdfRecordChars) =>
        _rdkit.ReadSdf(new MemoryStream(Encoding.UTF8.GetBytes(text)), maxRecordChars).ToList();

    /// <summary>RDKit's log as the shim reports it: timestamps stripped, warnings dropped, lines joined with "; ".</summary>
    private static string ErrorLines(string log) => string.Join("; ", log.Split('\n')
        .Select(l => l.Length > 11 && l[0] == '[' && l[9] == ']' ? l[11..] : l)
        .Select(l => l.Trim())
        .Where(l => l.Length > 0 && !l.StartsWith("WARNING", StringComparison.Ordinal)));

    [Fact]
    public void Three_records_read_as_python_reads_them()
    {
        var oracle = Oracle.Value;
        oracle.Records.Count.ShouldBe(3);
        oracle.Records[1].ShouldBeNull(); // Python could not read it either
        var records = Read(oracle.Text);
        records.Count.ShouldBe(3);
        records.Select(r => r.Index).ShouldBe([0, 1, 2]);
        records.Select(r => r.IsValid).ShouldBe([true, false, true]);
        foreach (var i in new[] { 0, 2 })
        {
            var expected = oracle.Records[i].ShouldNotBeNull();
            records[i].Name.ShouldBe(expected.Name);
            records[i].Canonical.ShouldBe(expected.Smiles);
            records[i].Error.ShouldBeNull();
            records[i].Properties.Select(p => new List<string> { p.Key, p.Value }).ShouldBe(expected.Properties);
        }
        // Hand check of what was written: names, properties in file order, a multi-line value.
        records[0].Name.ShouldBe("aspirin");
        records[0].Canonical.ShouldBe("CC(=O)Oc1ccccc1C(=O)O");
        records[0].Properties.ShouldBe([new("source", "test set"), new("IE_eV", "7.5")]);
        records[2].Canonical.ShouldBe("C[C@H](N)C(=O)O");
        records[2].Properties.ShouldBe([new("multi", "line one\nline two"), new("CAS", "56-41-7")]);

        // Header lines: 1, then the line after each "$$$$".
        var lines = oracle.Text.Split('\n');
        var headers = new List<int> { 1 };
        for (var l = 0; l < lines.Length - 2; l++)
            if (lines[l] == "$$$$") headers.Add(l + 2);
        records.Select(r => r.Line).ShouldBe(headers);
    }

    [Fact]
    public void Unreadable_record_carries_rdkits_own_messages_with_file_line_numbers()
    {
        var oracle = Oracle.Value;
        var broken = Read(oracle.Text)[1];
        broken.Name.ShouldBe("trimethylamine"); // its header line
        broken.Canonical.ShouldBeNull();
        broken.Properties.ShouldBeEmpty();
        broken.Error.ShouldBe(ErrorLines(oracle.Log));
        broken.Error.ShouldNotBeNull().ShouldContain("Explicit valence for atom # 1 N, 4, is greater than permitted");
        // "ending on line N": the M  END line of record 2 in the whole file (1-based).
        var mEnd = oracle.Text.Split('\n').Select((l, i) => (l, i)).Where(x => x.l == "M  END").Select(x => x.i + 1).ElementAt(1);
        broken.Error.ShouldContain($"Could not sanitize molecule ending on line {mEnd}");
    }

    [Fact]
    public void Crlf_line_endings_and_a_missing_final_terminator_read_the_same()
    {
        var text = Oracle.Value.Text;
        var expected = Read(text);
        var crlf = Read(text.Replace("\n", "\r\n"));
        crlf.Select(r => (r.Name, r.Canonical, r.IsValid)).ShouldBe(expected.Select(r => (r.Name, r.Canonical, r.IsValid)));
        crlf[2].Properties.ShouldBe(expected[2].Properties);
        var unterminated = Read(text[..text.LastIndexOf("$$$$", StringComparison.Ordinal)] + "\n\n\n");
        unterminated.Count.ShouldBe(3);
        unterminated[2].Canonical.ShouldBe(expected[2].Canonical);
        unterminated[2].Properties.ShouldBe(expected[2].Properties);
        Read("").ShouldBeEmpty();
        Read("\n  \n").ShouldBeEmpty();
    }

    [Fact]
    public void Nul_byte_makes_only_its_record_invalid()
    {
        var text = Oracle.Value.Text;
        var records = Read("bad\0name\nrest\n$$$$\n" + text);
        records.Count.ShouldBe(4);
        records[0].Error.ShouldBe("SDF record contains a NUL character");
        records[0].Name.ShouldBe("bad"); // cut at the NUL: the reply's fields are NUL-terminated
        records[1].Canonical.ShouldBe("CC(=O)Oc1ccccc1C(=O)O");
        records[1].Line.ShouldBe(4);
    }

    [Fact]
    public void Records_are_read_lazily_so_memory_is_bounded_by_one_record()
    {
        var one = Oracle.Value.Text.Split("$$$$\n")[0] + "$$$$\n";
        var bytes = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(one, 2000)));
        using var stream = new MemoryStream(bytes);
        var first = _rdkit.ReadSdf(stream).First();
        first.Canonical.ShouldBe("CC(=O)Oc1ccccc1C(=O)O");
        // Only a buffer's worth was consumed, not the ~4 MB file.
        stream.Position.ShouldBeLessThan(bytes.Length / 10);
        stream.Position = 0;
        _rdkit.ReadSdf(stream).Count(r => r.IsValid).ShouldBe(2000);
    }

    [Fact]
    public void Oversized_record_is_reported_and_the_next_ones_still_read()
    {
        var text = Oracle.Value.Text;
        var records = Read(text, maxRecordChars: 1200);
        records.Count.ShouldBe(3);
        text.Split("$$$$\n")[0].Length.ShouldBeGreaterThan(1200); // aspirin's record is the long one
        records[0].Error.ShouldBe("SDF record starting on line 1 is longer than 1200 characters; not passed to RDKit");
        records[0].Name.ShouldBe("aspirin");
        records[2].Canonical.ShouldBe("C[C@H](N)C(=O)O");
        Should.Throw<ArgumentOutOfRangeException>(() => _rdkit.ReadSdf(new MemoryStream(), 0));
    }

    [Fact]
    public void File_path_overload_reads_the_same_records()
    {
        var path = Path.Combine(Path.GetTempPath(), $"organicscreen-{Guid.NewGuid():N}.sdf");
        File.WriteAllText(path, Oracle.Value.Text);
        try
        {
            _rdkit.ReadSdf(path).Select(r => (r.Index, r.Name, r.Canonical, r.Error))
                .ShouldBe(Read(Oracle.Value.Text).Select(r => (r.Index, r.Name, r.Canonical, r.Error)));
        }
        finally
        {
            File.Delete(path);
        }
        Should.Throw<ArgumentException>(() => _rdkit.ReadSdf(""));
    }
}
