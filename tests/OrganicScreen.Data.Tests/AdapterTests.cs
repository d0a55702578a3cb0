using OrganicScreen.Core;

namespace OrganicScreen.Data.Tests;

public sealed class AdapterTests
{
    private static readonly Dictionary<string, string> MpCsvRename = new() { ["IE_eV"] = "ionization_energy", ["EA_eV"] = "electron_affinity" };

    [Fact]
    public void Mp_json_and_csv_sample_give_the_same_records()
    {
        var dataset = Repo.Dataset("mp-jcesr");
        var variant = dataset.Variant("all-charges");
        var csvSource = new DatasetSource("csv", "x", null, null, null, MpCsvRename);
        var jsonSource = new DatasetSource("mp-json", "x", null, null, null, null);
        var fromCsv = RawRecordReader.Read(Path.Combine(Repo.Root, "data/fixtures/mp_jcesr_sample_84.csv"), csvSource, dataset, variant).ToList();
        var fromJson = RawRecordReader.Read(Repo.Fixture("datasets/mp_jcesr_sample_84.json"), jsonSource, dataset, variant).ToList();
        fromCsv.Count.ShouldBe(84);
        fromJson.Count.ShouldBe(84);
        for (var i = 0; i < 84; i++)
        {
            fromJson[i].Id.ShouldBe(fromCsv[i].Id);
            fromJson[i].Smiles.ShouldBe(fromCsv[i].Smiles);
            fromJson[i].Charge.ShouldBe(fromCsv[i].Charge);
            Num(fromJson[i].Ie).ShouldBe(Num(fromCsv[i].Ie));
            Num(fromJson[i].Ea).ShouldBe(Num(fromCsv[i].Ea));
        }

        // SOURCE.md: IE present for 30 records, EA for 65; 66 neutral, 7 cations, 11 anions.
        fromCsv.Count(r => !string.IsNullOrEmpty(r.Ie)).ShouldBe(30);
        fromCsv.Count(r => !string.IsNullOrEmpty(r.Ea)).ShouldBe(65);
        fromCsv.GroupBy(r => r.Charge).ToDictionary(g => g.Key!, g => g.Count()).ShouldBe(new Dictionary<string, int> { ["0"] = 66, ["1"] = 7, ["-1"] = 11 }, ignoreOrder: true);
    }

    private static double? Num(string? text) => string.IsNullOrEmpty(text) ? null : double.Parse(text, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void Ocelot_adiabatic_variant_flips_the_ea_sign()
    {
        var dataset = Repo.Dataset("ocelot");
        var variant = dataset.Variant(null);
        variant.Ie.Column.ShouldBe("aie");
        variant.Ea.Column.ShouldBe("aea");
        var raw = new RawRecord(2, "x", "c1ccccc1", null, "9.2", "-1.1");
        var (record, reject) = RecordChecks.Check(raw, variant);
        reject.ShouldBeNull();
        record!.Ie.ShouldBe(9.2);
        record.Ea.ShouldBe(1.1); // Materials Project sign: −aea
        dataset.Variant("vertical").Ie.Column.ShouldBe("vie");
        Should.Throw<DatasetException>(() => dataset.Variant("nope")).Message.ShouldContain("adiabatic");
    }

    [Fact]
    public void Csv_reader_reports_line_numbers_and_handles_quotes_and_empty_lines()
    {
        var dataset = Repo.Dataset("ocelot");
        var records = RawRecordReader.Read(Repo.Fixture("datasets/ocelot_bad_rows.csv"), dataset.Sources[0], dataset, dataset.Variant(null)).ToList();
        records.Count.ShouldBe(12);
        records[0].Row.ShouldBe(2);
        records[3].ShouldBe(new RawRecord(5, null, null, null, null, null, Auxiliary: records[3].Auxiliary)); // the empty line
        records[3].Auxiliary.ShouldNotBeNull().Values.ShouldAllBe(v => v == null);                     // the file has vie and vea
        records[^1].Id.ShouldBe("quoted,id");
        records[^1].Smiles.ShouldBe("c1ccc2ccccc2c1");
    }

    [Fact]
    public void Missing_column_is_a_clear_error()
    {
        var dataset = Repo.Dataset("ocelot");
        var file = Path.GetTempFileName();
        File.WriteAllText(file, "identifier,smiles\nx,CCO\n");
        var error = Should.Throw<DatasetException>(() => RawRecordReader.Read(file, dataset.Sources[0], dataset, dataset.Variant(null)).ToList());
        error.Message.ShouldContain("'aie'");
        File.Delete(file);
    }

    [Theory]
    [InlineData("", "", "", "", "empty line")]
    [InlineData("x", "", "1", "1", "missing SMILES")]
    [InlineData("x", "CCO", "abc", "1", "non-numeric IE 'abc' in column aie")]
    [InlineData("x", "CCO", "1", "inf", "non-finite EA 'inf' in column aea")]
    [InlineData("x", "CCO", "", "", "missing IE and EA")]
    [InlineData("x", "[Na+].[Cl-]", "1", "1", "multi-fragment SMILES (salt or mixture)")]
    public void Text_checks_name_the_problem(string id, string smiles, string ie, string ea, string reason)
    {
        var variant = Repo.Dataset("ocelot").Variant(null);
        var (record, reject) = RecordChecks.Check(new RawRecord(7, id, smiles, null, ie, ea), variant);
        record.ShouldBeNull();
        reject!.Reason.ShouldBe(reason);
        reject.Row.ShouldBe(7);
    }

    [Fact]
    public void Charge_filter_rejects_with_the_charge_named()
    {
        var variant = Repo.Dataset("mp-jcesr").Variant(null);
        var (_, reject) = RecordChecks.Check(new RawRecord(3, "m", "[NH4+]", "1", "5", "6"), variant);
        reject!.Reason.ShouldBe("charge +1 excluded (dataset variant keeps charge 0)");
        RecordChecks.Check(new RawRecord(3, "m", "C", "1.5", "5", "6"), variant).Reject!.Reason.ShouldBe("non-integer charge '1.5'");
    }

    [Fact]
    public void Deduplicator_averages_targets_and_records_spread()
    {
        var variant = Repo.Dataset("ocelot").Variant(null);
        var dedup = new Deduplicator();
        CheckedRecord Row(int row, string? ie, string? ea) => RecordChecks.Check(new RawRecord(row, $"id{row}", "CCO", null, ie, ea), variant).Record!;
        dedup.Add(Row(2, "9.0", "-1.0"), "CCO").ShouldBeTrue();
        dedup.Add(Row(3, "9.4", null), "CCO").ShouldBeFalse();
        dedup.Add(Row(4, "9.5", "-1.0"), "CCN").ShouldBeTrue();
        var molecules = dedup.Molecules();
        molecules.Count.ShouldBe(2);
        var first = molecules[0];
        first.Index.ShouldBe(0);
        first.Id.ShouldBe("id2");
        first.Ie!.Value.ShouldBe(9.2, 1e-12);
        first.IeSpread!.Value.ShouldBe(0.4, 1e-12);
        first.Ea.ShouldBe(1.0); // only row 2 had EA
        first.EaSpread.ShouldBe(0.0);
        first.Count.ShouldBe(2);
        first.SourceRows.ShouldBe("2;3");
        dedup.Rows.ShouldBe(3);
    }

    [Fact]
    public void Csv_escape_quotes_only_when_needed()
    {
        Csv.Escape("CCO").ShouldBe("CCO");
        Csv.Escape("a,b").ShouldBe("\"a,b\"");
        Csv.Escape("say \"hi\"").ShouldBe("\"say \"\"hi\"\"\"");
        Csv.Escape("a\tb", '\t').ShouldBe("\"a\tb\"");
        using var parser = Csv.Parser(new StringReader("\"a,b\",\"x\"\"y\",z\n"));
        parser.Read().ShouldBeTrue();
        parser.Record.ShouldBe(["a,b", "x\"y", "z"]);
    }

    [Theory]
    [InlineData("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")")]
    [InlineData("+1", "'+1")]
    [InlineData("-2+3", "'-2+3")]
    [InlineData("@SUM(A1)", "'@SUM(A1)")]
    [InlineData("CCO", "CCO")]
    [InlineData("", "")]
    public void User_text_cells_are_neutralised_against_spreadsheet_formulas(string cell, string expected) => Csv.Neutralize(cell).ShouldBe(expected);

    [Fact]
    public void Csv_rows_keep_their_line_numbers_across_blank_lines_and_quoted_line_breaks()
    {
        var dir = Directory.CreateTempSubdirectory("os-csv").FullName;
        var path = Path.Combine(dir, "d.csv");
        File.WriteAllText(path, "identifier,smiles,aie,aea\na,CCO,1,2\n\nb,\"C\nC\",1,2\nc,CC,1,2\n");
        var manifest = DatasetManifest.Find(Repo.Root, "ocelot-fixture");
        var source = manifest.Sources[0];
        var rows = RawRecordReader.Read(path, source, manifest, manifest.Variant(null)).ToList();
        rows.Select(r => r.Row).ShouldBe([2, 3, 4, 6]);
        rows[1].Smiles.ShouldBeNull(); // the blank line is an empty record (rejected as such by Featurize)
        rows[2].Smiles.ShouldBe("C\nC");
        rows[3].Id.ShouldBe("c");
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Profile_fingerprint_names_parse()
    {
        FingerprintSpec.Parse("r2_2048").ShouldBe(new FingerprintSpec(2, 2048));
        Should.Throw<FormatException>(() => FingerprintSpec.Parse("ecfp4"));
        Should.Throw<FormatException>(() => FingerprintSpec.Parse("2_2048"));
    }
}
