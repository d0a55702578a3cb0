using OrganicScreen.Core;

namespace OrganicScreen.Chem.Tests;

/// <summary>The shim must reproduce Python RDKit 2022.09.3 exactly (oracle in tests/fixtures/ecfp).</summary>
public sealed class RdkitOracleTests
{
    private readonly Rdkit _rdkit = new();
    private readonly IReadOnlyList<OracleRow> _rows = EcfpOracle.Load();

    [Fact]
    public void Oracle_has_the_documented_shape()
    {
        _rows.Count.ShouldBe(409);
        _rows.Count(r => !r.IsValid).ShouldBe(9);
    }

    [Fact]
    public void Version_is_the_oracle_version() => _rdkit.Version.ShouldBe("2022.09.3");

    [Fact]
    public void Fingerprint_reproduces_every_row_and_setting()
    {
        var mismatches = new List<string>();
        foreach (var row in _rows.Where(r => r.IsValid))
        {
            for (var k = 0; k < EcfpOracle.Specs.Count; k++)
            {
                var actual = _rdkit.Fingerprint(row.Smiles, EcfpOracle.Specs[k]);
                if (!actual.SequenceEqual(row.Bits[k]))
                    mismatches.Add($"line {row.Line} {row.Smiles} {EcfpOracle.Specs[k]}: got [{string.Join(' ', actual)}] want [{string.Join(' ', row.Bits[k])}]");
            }
        }
        mismatches.ShouldBeEmpty();
    }

    [Fact]
    public void Featurize_reproduces_every_row_and_setting()
    {
        var batch = _rdkit.Featurize(_rows.Select(r => r.Smiles).ToList(), EcfpOracle.Specs, threads: 2);
        batch.Molecules.Count.ShouldBe(_rows.Count);
        batch.Fingerprints.Count.ShouldBe(EcfpOracle.Specs.Count);
        var mismatches = new List<string>();
        for (var k = 0; k < EcfpOracle.Specs.Count; k++)
        {
            var matrix = batch.Fingerprints[EcfpOracle.Specs[k]];
            matrix.Columns.ShouldBe(EcfpOracle.Specs[k].Bits);
            matrix.Rows.ShouldBe(_rows.Count);
            for (var i = 0; i < _rows.Count; i++)
            {
                // Invalid molecules must have an empty row, which the oracle's empty cells also say.
                if (!matrix.Row(i).SequenceEqual(_rows[i].Bits[k]))
                    mismatches.Add($"line {_rows[i].Line} {_rows[i].Smiles} {EcfpOracle.Specs[k]}");
            }
        }
        mismatches.ShouldBeEmpty();
    }

    [Fact]
    public void Canonical_smiles_match_rdkit_through_parse_and_batch()
    {
        var batch = _rdkit.Featurize(_rows.Select(r => r.Smiles).ToList(), [new FingerprintSpec(2, 2048)]);
        var mismatches = new List<string>();
        for (var i = 0; i < _rows.Count; i++)
        {
            var row = _rows[i];
            var parsed = _rdkit.Parse(row.Smiles);
            parsed.Input.ShouldBe(row.Smiles);
            batch.Molecules[i].Input.ShouldBe(row.Smiles);
            if (parsed.Canonical != row.Canonical) mismatches.Add($"Parse line {row.Line}: {parsed.Canonical} != {row.Canonical}");
            if (batch.Molecules[i].Canonical != row.Canonical) mismatches.Add($"Featurize line {row.Line}: {batch.Molecules[i].Canonical} != {row.Canonical}");
            parsed.IsValid.ShouldBe(row.IsValid, $"line {row.Line} {row.Smiles}: {parsed.Error}");
        }
        mismatches.ShouldBeEmpty();
    }

    [Fact]
    public void Invalid_rows_are_rejected_with_rdkits_message()
    {
        var invalid = _rows.Where(r => !r.IsValid).ToList();
        invalid.Count.ShouldBe(9);
        var batch = _rdkit.Featurize(invalid.Select(r => r.Smiles).ToList(), EcfpOracle.Specs);
        for (var i = 0; i < invalid.Count; i++)
        {
            var smiles = invalid[i].Smiles;
            var parsed = _rdkit.Parse(smiles);
            parsed.IsValid.ShouldBeFalse(smiles);
            parsed.Canonical.ShouldBeNull();
            parsed.Error.ShouldNotBeNullOrWhiteSpace();
            // RDKit's timestamp prefix "[hh:mm:ss] " is stripped so identical errors compare equal.
            parsed.Error.ShouldNotStartWith("[");
            batch.Molecules[i].Error.ShouldBe(parsed.Error);
            var thrown = Should.Throw<InvalidSmilesException>(() => _rdkit.Fingerprint(smiles, new FingerprintSpec(2, 2048)));
            thrown.Message.ShouldBe(parsed.Error);
            thrown.Smiles.ShouldBe(smiles);
        }
    }

    [Theory]
    [InlineData("C1CC", "SMILES Parse Error")]
    [InlineData("C[N+](C)(C)(C)C", "Explicit valence for atom # 1 N, 4, is greater than permitted")]
    [InlineData("c1cccc1", "Can't kekulize mol")]
    public void Error_messages_are_rdkits_own(string smiles, string expected)
    {
        _rdkit.Parse(smiles).Error.ShouldNotBeNull().ShouldContain(expected);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("\t\n")]
    public void Empty_smiles_is_an_error_not_an_empty_molecule(string smiles)
    {
        _rdkit.Parse(smiles).ShouldBe(new ParsedSmiles(smiles, null, "empty SMILES"));
        Should.Throw<InvalidSmilesException>(() => _rdkit.Fingerprint(smiles, new FingerprintSpec(2, 2048))).Message.ShouldBe("empty SMILES");
        var batch = _rdkit.Featurize(["CCO", smiles, "c1ccccc1"], [new FingerprintSpec(2, 2048)]);
        batch.Molecules.Select(m => m.IsValid).ShouldBe([true, false, true]);
        batch.Molecules[1].Error.ShouldBe("empty SMILES");
        var matrix = batch.Fingerprints[new FingerprintSpec(2, 2048)];
        matrix.Row(1).Length.ShouldBe(0);
        matrix.Row(0).Length.ShouldBeGreaterThan(0);
        matrix.Row(2).ToArray().ShouldBe(_rdkit.Fingerprint("c1ccccc1", new FingerprintSpec(2, 2048)));
    }

    [Theory]
    [InlineData(-1, 2048)]
    [InlineData(11, 2048)]
    [InlineData(2, 0)]
    [InlineData(2, (1 << 20) + 1)]
    public void Out_of_range_specs_are_rejected(int radius, int bits)
    {
        var spec = new FingerprintSpec(radius, bits);
        Should.Throw<ArgumentOutOfRangeException>(() => _rdkit.Fingerprint("CCO", spec));
        Should.Throw<ArgumentOutOfRangeException>(() => _rdkit.Featurize(["CCO"], [spec]));
    }

    [Fact]
    public void Extreme_but_valid_specs_work()
    {
        _rdkit.Fingerprint("CCO", new FingerprintSpec(0, 1)).ShouldBe([0]);
        var wide = _rdkit.Fingerprint("c1ccccc1O", new FingerprintSpec(10, 1 << 20));
        wide.ShouldNotBeEmpty();
        wide.ShouldBe(wide.Order().ToArray());
        wide.ShouldAllBe(b => b >= 0 && b < (1 << 20));
    }

    [Fact]
    public void Empty_batch_and_duplicate_specs_are_handled()
    {
        var empty = _rdkit.Featurize([], [new FingerprintSpec(2, 2048)]);
        empty.Molecules.ShouldBeEmpty();
        empty.Fingerprints[new FingerprintSpec(2, 2048)].Rows.ShouldBe(0);
        var dup = _rdkit.Featurize(["CCO"], [new FingerprintSpec(2, 2048), new FingerprintSpec(2, 2048)]);
        dup.Fingerprints.Count.ShouldBe(1);
    }

    [Fact]
    public void Odd_input_follows_rdkit_or_is_rejected_never_crashes()
    {
        // RDKit itself stops at whitespace (the rest is the molecule's name); results equal Python's.
        _rdkit.Parse("CC ethane").Canonical.ShouldBe("CC");
        // RDKit would also stop at the first byte its lexer does not know ("CCé" parsed as ethane) and the C
        // boundary would truncate at a NUL, so SmilesGuard rejects anything outside printable ASCII first.
        _rdkit.Parse("CCé").Error.ShouldNotBeNull().ShouldContain("U+00E9) at position 3");
        _rdkit.Parse("C\0C").Error.ShouldNotBeNull().ShouldContain("NUL (U+0000) at position 2");
        _rdkit.Featurize(["C\0C"], [new FingerprintSpec(2, 2048)]).Molecules[0].IsValid.ShouldBeFalse();
    }
}
