using OrganicScreen.Screening;

namespace OrganicScreen.Screening.Tests;

public class SolventCatalogTests
{
    private const string Valid = """
        {
          "scale": "Li/Li+",
          "solvents": [
            { "name": "acetonitrile",
              "reductionLimit": { "volts": 0.44, "citation": "study" },
              "oxidationLimit": { "volts": 6.54, "citation": "study", "primarySource": "paper X" } }
          ],
          "currentCollectors": [
            { "name": "aluminium", "oxidationLimit": { "volts": 4.7, "citation": "study" } }
          ]
        }
        """;

    [Fact]
    public void Repository_file_has_the_study_acetonitrile_window_and_aluminium_limit_with_citations()
    {
        var catalog = SolventCatalog.Load(TestPaths.SolventsJson());
        var acn = catalog.Solvent("Acetonitrile");
        acn.ReductionLimit.Volts.ShouldBe(0.44);
        acn.OxidationLimit.Volts.ShouldBe(6.54);
        acn.ReductionLimit.Citation.ShouldContain("Original study (2020)");
        var al = catalog.Collector("aluminium");
        al.OxidationLimit.Volts.ShouldBe(4.7);
        catalog.Solvents.Concat<object>(catalog.CurrentCollectors).ShouldNotBeEmpty();
        foreach (var s in catalog.Solvents)
        {
            s.ReductionLimit.Citation.ShouldNotBeNullOrWhiteSpace();
            s.OxidationLimit.Citation.ShouldNotBeNullOrWhiteSpace();
        }
        foreach (var c in catalog.CurrentCollectors) c.OxidationLimit.Citation.ShouldNotBeNullOrWhiteSpace();
    }

    [Fact]
    public void Parses_primary_source_when_given()
    {
        var acn = SolventCatalog.Parse(Valid).Solvent("acetonitrile");
        acn.OxidationLimit.PrimarySource.ShouldBe("paper X");
        acn.ReductionLimit.PrimarySource.ShouldBeNull();
        acn.OxidationLimit.Potential.ShouldBe(new Potential(6.54, PotentialScale.Lithium));
    }

    [Fact]
    public void Missing_citation_is_reported_with_file_and_json_path()
    {
        var json = Valid.Replace("""{ "volts": 6.54, "citation": "study", "primarySource": "paper X" }""", """{ "volts": 6.54 }""");
        var e = Should.Throw<SolventCatalogException>(() => SolventCatalog.Parse(json, "my.json"));
        e.Message.ShouldBe("my.json: $.solvents[0].oxidationLimit.citation is missing.");
    }

    [Fact]
    public void Value_of_wrong_type_is_reported()
    {
        var json = Valid.Replace("\"volts\": 0.44", "\"volts\": \"0.44\"");
        var e = Should.Throw<SolventCatalogException>(() => SolventCatalog.Parse(json, "f"));
        e.Message.ShouldBe("f: $.solvents[0].reductionLimit.volts must be a JSON number, found string.");
    }

    [Fact]
    public void Other_scale_is_refused()
    {
        var e = Should.Throw<SolventCatalogException>(() => SolventCatalog.Parse(Valid.Replace("Li/Li+", "SHE"), "f"));
        e.Message.ShouldContain("$.scale must be \"Li/Li+\"");
    }

    [Fact]
    public void Empty_window_is_refused()
    {
        var json = Valid.Replace("\"volts\": 0.44", "\"volts\": 7.0");
        var e = Should.Throw<SolventCatalogException>(() => SolventCatalog.Parse(json, "f"));
        e.Message.ShouldContain("reductionLimit 7 V ≥ oxidationLimit 6.54 V");
    }

    [Fact]
    public void Duplicate_names_are_refused()
    {
        var json = Valid.Replace("\"name\": \"aluminium\"", "\"name\": \"x\" , \"oxidationLimit\": { \"volts\": 1, \"citation\": \"c\" } }, { \"name\": \"X\"");
        var e = Should.Throw<SolventCatalogException>(() => SolventCatalog.Parse(json, "f"));
        e.Message.ShouldContain("$.currentCollectors lists 'x' more than once");
    }

    [Fact]
    public void Broken_json_and_missing_file_give_clear_errors()
    {
        Should.Throw<SolventCatalogException>(() => SolventCatalog.Parse("{ \"scale\": ", "f")).Message.ShouldStartWith("f: not valid JSON");
        Should.Throw<SolventCatalogException>(() => SolventCatalog.Load("/nonexistent/solvents.json")).Message.ShouldContain("/nonexistent/solvents.json");
    }

    [Fact]
    public void Unknown_solvent_lists_the_known_ones()
    {
        var e = Should.Throw<KeyNotFoundException>(() => SolventCatalog.Parse(Valid).Solvent("water"));
        e.Message.ShouldBe("Solvent 'water' is not in the catalog. Known solvents: acetonitrile.");
    }
}
