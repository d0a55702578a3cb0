using System.Diagnostics;
using OrganicScreen.Core;
using Xunit.Abstractions;

namespace OrganicScreen.Chem.Tests;

/// <summary>
/// SmilesGuard runs before RDKit on every entry point: oversized and non-ASCII inputs become invalid molecules
/// with a reason instead of stalling RDKit or being silently truncated.
/// </summary>
public sealed class SmilesGuardTests(ITestOutputHelper output)
{
    private static readonly FingerprintSpec R2 = new(2, 2048);
    private readonly Rdkit _rdkit = new();

    /// <summary>Every entry point that hands a SMILES to RDKit, reduced to its verdict for one input.</summary>
    private static IEnumerable<(string EntryPoint, string? Error)> AllEntryPoints(Rdkit rdkit, string smiles)
    {
        yield return ("Parse", rdkit.Parse(smiles).Error);
        yield return ("Featurize", rdkit.Featurize([smiles], [R2]).Molecules[0].Error);
        yield return ("Featurize fingerprint-only", rdkit.Featurize([smiles], [R2], canonicalSmiles: false).Molecules[0].Error);
        yield return ("Graphs", rdkit.Graphs([smiles]).Molecules[0].Error);
        string? thrown = null;
        try
        {
            rdkit.Fingerprint(smiles, R2);
        }
        catch (InvalidSmilesException e)
        {
            thrown = e.Message;
            e.Smiles.ShouldBe(smiles);
        }
        yield return ("Fingerprint", thrown);
    }

    private static void EveryEntryPointRejects(Rdkit rdkit, string smiles, string reason)
    {
        foreach (var (entryPoint, error) in AllEntryPoints(rdkit, smiles))
            error.ShouldBe(reason, entryPoint);
    }

    [Fact]
    public void Megabyte_carbon_chain_is_rejected_in_well_under_a_second_by_every_entry_point()
    {
        var chain = new string('C', 1 << 20);
        var reason = SmilesGuard.Check(chain, SmilesLimits.Default).ShouldNotBeNull();
        reason.ShouldStartWith("SMILES has 1048576 heavy atoms (counted from the text), more than the limit of 150");
        foreach (var (name, entryPoint) in new (string, Action)[]
                 {
                     ("Parse", () => _rdkit.Parse(chain).Error.ShouldBe(reason)),
                     ("Featurize", () => _rdkit.Featurize(["CCO", chain], [R2]).Molecules[1].Error.ShouldBe(reason)),
                     ("Graphs", () => _rdkit.Graphs([chain]).Molecules[0].Error.ShouldBe(reason)),
                     ("Fingerprint", () => Should.Throw<InvalidSmilesException>(() => _rdkit.Fingerprint(chain, R2)).Message.ShouldBe(reason)),
                     ("Descriptors", () => _rdkit.Descriptors([chain])[0].Error.ShouldBe(reason)),
                     ("DepictSvg", () => Should.Throw<InvalidSmilesException>(() => _rdkit.DepictSvg(chain)).Message.ShouldBe(reason)),
                 })
        {
            var clock = Stopwatch.StartNew();
            entryPoint();
            clock.Stop();
            output.WriteLine($"{name}: 1 MB chain rejected in {clock.Elapsed.TotalMilliseconds:F2} ms");
            clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(1), name);
        }
    }

    [Fact]
    public void Guard_is_linear_even_when_every_character_is_a_bracket_atom()
    {
        var brackets = string.Concat(Enumerable.Repeat("[13CH2+]", (1 << 20) / 8));
        var clock = Stopwatch.StartNew();
        SmilesGuard.CountHeavyAtoms(brackets).ShouldBe((1 << 20) / 8);
        _rdkit.Parse(brackets).IsValid.ShouldBeFalse();
        clock.Stop();
        output.WriteLine($"1 MB of bracket atoms counted and rejected in {clock.Elapsed.TotalMilliseconds:F2} ms");
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void Accented_character_is_rejected_with_the_character_and_its_position()
    {
        // Without the guard RDKit stops at the first byte it does not know and returns methane.
        const string smiles = "C\u00e9C";
        var reason = SmilesGuard.Check(smiles, SmilesLimits.Default).ShouldNotBeNull();
        reason.ShouldStartWith("SMILES contains 'é' (U+00E9) at position 2; only printable ASCII is allowed");
        EveryEntryPointRejects(_rdkit, smiles, reason);
    }

    [Fact]
    public void Embedded_nul_is_rejected_with_its_position()
    {
        const string smiles = "CC\0O";
        var reason = SmilesGuard.Check(smiles, SmilesLimits.Default).ShouldNotBeNull();
        reason.ShouldStartWith("SMILES contains NUL (U+0000) at position 3;");
        EveryEntryPointRejects(_rdkit, smiles, reason);
    }

    [Theory]
    [InlineData("CC\tO", "tab (U+0009) at position 3")]
    [InlineData("C\u00a0C", "no-break space (U+00A0) at position 2")]
    [InlineData("\ufeffCCO", "byte order mark (U+FEFF) at position 1")]
    [InlineData("CC\U0001F600", "'\U0001F600' (U+1F600) at position 3")]
    [InlineData("C\u2013C", "'\u2013' (U+2013) at position 2")]
    [InlineData("C\u007fC", "control character (U+007F) at position 2")]
    public void Other_non_printable_ascii_is_named(string smiles, string expected) =>
        SmilesGuard.Check(smiles, SmilesLimits.Default).ShouldNotBeNull().ShouldContain(expected);

    /// <summary>
    /// <paramref name="heavyAtoms"/> heavy atoms, counted by hand: Cl (1), a benzene ring (6), C (1) carrying an
    /// isotopic H (0: hydrogen) and Br (1), a chain of n - 10 carbons, [NH3+] (1).
    /// </summary>
    private static string Molecule(int heavyAtoms) => $"Clc1ccc(cc1)C([2H])(Br){new string('C', heavyAtoms - 10)}[NH3+]";

    [Theory]
    [InlineData(149, true)]
    [InlineData(150, true)]
    [InlineData(151, false)]
    public void Limit_is_inclusive_at_150_heavy_atoms(int heavyAtoms, bool accepted)
    {
        var smiles = Molecule(heavyAtoms);
        SmilesGuard.CountHeavyAtoms(smiles).ShouldBe(heavyAtoms);
        foreach (var (entryPoint, error) in AllEntryPoints(_rdkit, smiles))
        {
            if (accepted)
                error.ShouldBeNull(entryPoint);
            else
                error.ShouldBe($"SMILES has {heavyAtoms} heavy atoms (counted from the text), more than the limit of 150; "
                    + "RDKit is too slow on molecules that large. Raise SmilesLimits.MaxHeavyAtoms if the molecule is intended.", entryPoint);
        }
    }

    [Fact]
    public void Heavy_atom_count_from_text_equals_python_rdkit()
    {
        // Independent truth: Chem.MolFromSmiles(s).GetNumHeavyAtoms() for every valid oracle row and the tricky inputs.
        var smiles = EcfpOracle.Load().Where(r => r.IsValid).Select(r => r.Smiles)
            .Concat(FingerprintFastPathTests.Tricky.Where(s => _rdkit.Parse(s).IsValid))
            .Concat([Molecule(149), Molecule(151), "[He]", "[Hg+2].[Cl-].[Cl-]", "[#6][#1]", "[*]C", "C[13C@H](O)Br"])
            .Distinct().ToList();
        var python = PythonRdkit.Run(
            "import sys\nfrom rdkit import Chem\nfor s in sys.stdin.read().split('\\n'):\n    print(Chem.MolFromSmiles(s).GetNumHeavyAtoms())\n",
            string.Join('\n', smiles));
        var expected = python.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
        expected.Count.ShouldBe(smiles.Count);
        var mismatches = smiles.Select((s, i) => (s, Estimate: SmilesGuard.CountHeavyAtoms(s), Rdkit: expected[i]))
            .Where(x => x.Estimate != x.Rdkit).Select(x => $"{x.s}: text {x.Estimate}, RDKit {x.Rdkit}").ToList();
        mismatches.ShouldBeEmpty();
    }

    [Fact]
    public void No_oracle_row_is_rejected_by_the_guard()
    {
        var rejected = EcfpOracle.Load()
            .Select(r => (r.Smiles, Reason: SmilesGuard.Check(r.Smiles, SmilesLimits.Default)))
            .Where(x => x.Reason is not null).Select(x => $"{x.Smiles}: {x.Reason}").ToList();
        rejected.ShouldBeEmpty();
    }

    [Fact]
    public void Limit_is_configurable_and_validated()
    {
        var strict = new Rdkit(new SmilesLimits(maxHeavyAtoms: 3));
        strict.Limits.MaxHeavyAtoms.ShouldBe(3);
        new Rdkit().Limits.ShouldBe(SmilesLimits.Default);
        SmilesLimits.Default.MaxHeavyAtoms.ShouldBe(150);
        strict.Parse("CCO").IsValid.ShouldBeTrue();
        EveryEntryPointRejects(strict, "CCCO", SmilesGuard.Check("CCCO", strict.Limits).ShouldNotBeNull());
        Should.Throw<ArgumentOutOfRangeException>(() => new SmilesLimits(0));
        Should.Throw<ArgumentOutOfRangeException>(() => SmilesLimits.Default with { MaxHeavyAtoms = -1 });
        Should.Throw<ArgumentNullException>(() => new Rdkit(null!));
    }

    [Fact]
    public void Rejected_molecules_in_a_batch_leave_the_others_untouched()
    {
        string[] smiles = ["CCO", new string('C', 500), "c1ccccc1", "C\u00e9C", "O"];
        var batch = _rdkit.Featurize(smiles, [R2]);
        batch.Molecules.Select(m => m.IsValid).ShouldBe([true, false, true, false, true]);
        batch.Molecules.Select(m => m.Canonical).ShouldBe(["CCO", null, "c1ccccc1", null, "O"]);
        var matrix = batch.Fingerprints[R2];
        matrix.Row(1).Length.ShouldBe(0);
        matrix.Row(3).Length.ShouldBe(0);
        matrix.Row(2).ToArray().ShouldBe(_rdkit.Fingerprint("c1ccccc1", R2));
        matrix.Row(4).ToArray().ShouldBe(_rdkit.Fingerprint("O", R2));

        var graphs = _rdkit.Graphs(smiles);
        graphs.Graphs.AtomOffsets.ShouldBe([0, 3, 3, 9, 9, 10]);
        graphs.Molecules.Select(m => m.Error).ShouldBe(batch.Molecules.Select(m => m.Error));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" \t\n")]
    public void Blank_input_keeps_the_empty_smiles_error(string smiles) =>
        EveryEntryPointRejects(_rdkit, smiles, "empty SMILES");
}
