namespace OrganicScreen.Data.Tests;

/// <summary>Manifests people write by hand: every mistake is a DatasetException that names the file and the field, and no name or path leaves its folder.</summary>
public sealed class ManifestValidationTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("os-manifest").FullName;

    private string Datasets => Directory.CreateDirectory(Path.Combine(root, "data", "datasets")).FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static string Valid(string name = "mine", string sourcePath = "data/mine.csv", string ieSign = "\"sign\": 1,") => $$"""
        {
          "name": "{{name}}", "title": "t", "citation": "c", "license": "l",
          "sources": [{ "format": "csv", "path": "{{sourcePath}}", "sha256": null }],
          "columns": { "id": "id", "smiles": "smiles", "charge": null },
          "phase": { "kind": "gas" },
          "defaultVariant": "v",
          "variants": { "v": { "description": "d", "ie": { "column": "ie", {{ieSign}} "unused": 0 }, "ea": { "column": "ea", "sign": -1 }, "charges": null } }
        }
        """;

    private DatasetException Refused(string json, string name = "mine")
    {
        File.WriteAllText(Path.Combine(Datasets, $"{name}.json"), json);
        return Should.Throw<DatasetException>(() => DatasetManifest.Find(root, name));
    }

    [Fact]
    public void The_valid_template_loads()
    {
        File.WriteAllText(Path.Combine(Datasets, "mine.json"), Valid());
        DatasetManifest.Find(root, "mine").Variant(null).Ea.Sign.ShouldBe(-1);
    }

    [Fact]
    public void Empty_object_names_the_missing_field() =>
        Refused("{}").Message.ShouldBe($"{Path.Combine(Datasets, "mine.json")}: 'name' is missing or empty");

    [Fact]
    public void Broken_json_is_a_message_not_a_crash() =>
        Refused("{\"name\": \"mine\",").Message.ShouldContain("mine.json: not a valid dataset manifest");

    [Fact]
    public void Missing_columns_is_named() =>
        Refused(Valid().Replace("\"columns\": { \"id\": \"id\", \"smiles\": \"smiles\", \"charge\": null },", "")).Message.ShouldContain("'columns' is missing");

    [Fact]
    public void Missing_sign_is_named() =>
        Refused(Valid(ieSign: "")).Message.ShouldContain("variants.v.ie.sign is missing or 0");

    [Fact]
    public void Null_manifest_is_refused() => Refused("null").Message.ShouldContain("the manifest is empty");

    [Fact]
    public void A_traversing_manifest_name_is_refused() =>
        Refused(Valid(name: "../../../../tmp/x")).Message.ShouldContain("name '../../../../tmp/x' is not valid");

    [Fact]
    public void A_manifest_must_carry_its_file_name() =>
        Refused(Valid(name: "other")).Message.ShouldContain("names itself 'other' but its file is mine.json");

    [Theory]
    [InlineData("../../x")]
    [InlineData("/etc/passwd")]
    [InlineData("Ocelot")]
    [InlineData("a b")]
    public void Dataset_names_that_could_leave_the_folder_are_refused(string name) =>
        Should.Throw<DatasetException>(() => DatasetManifest.Find(root, name)).Message.ShouldContain("is not valid");

    [Fact]
    public void Ad_hoc_manifests_are_found_in_the_store_folder_with_sources_relative_to_it()
    {
        var adHoc = Directory.CreateDirectory(Path.Combine(root, "store", "datasets")).FullName;
        File.WriteAllText(Path.Combine(adHoc, "mine.json"), Valid(sourcePath: "mine.csv"));
        File.WriteAllText(Path.Combine(adHoc, "mine.csv"), "id,smiles,ie,ea\n");
        var manifest = DatasetManifest.Find(root, "mine", adHoc);
        var choice = FetchStage.Choose(manifest, root, allowUnpinned: false, allowedRoots: [root]);
        choice.LocalPath.ShouldBe(Path.Combine(adHoc, "mine.csv"));
    }

    [Fact]
    public void A_source_outside_the_allowed_folders_needs_the_flag()
    {
        var outside = Directory.CreateTempSubdirectory("os-outside").FullName;
        try
        {
            var file = Path.Combine(outside, "secret.csv");
            File.WriteAllText(file, "x");
            File.WriteAllText(Path.Combine(Datasets, "mine.json"), Valid(sourcePath: file));
            var manifest = DatasetManifest.Find(root, "mine");
            Should.Throw<DatasetException>(() => FetchStage.Choose(manifest, root, false, allowedRoots: [root])).Message.ShouldContain("--allow-outside-sources");
            FetchStage.Choose(manifest, root, false, allowedRoots: null).LocalPath.ShouldBe(file);

            // ../ in the path and a symbolic link inside the repository that points out are both seen through.
            File.WriteAllText(Path.Combine(Datasets, "mine.json"), Valid(sourcePath: Path.GetRelativePath(root, file)));
            Should.Throw<DatasetException>(() => FetchStage.Choose(DatasetManifest.Find(root, "mine"), root, false, allowedRoots: [root]));
            File.CreateSymbolicLink(Path.Combine(root, "data", "link.csv"), file);
            File.WriteAllText(Path.Combine(Datasets, "mine.json"), Valid(sourcePath: "data/link.csv"));
            Should.Throw<DatasetException>(() => FetchStage.Choose(DatasetManifest.Find(root, "mine"), root, false, allowedRoots: [root]))
                .Message.ShouldContain(file);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public void Every_committed_manifest_still_loads()
    {
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Repo.Root, "data", "datasets"), "*.json"))
            DatasetManifest.Find(Repo.Root, Path.GetFileNameWithoutExtension(file)).Name.ShouldBe(Path.GetFileNameWithoutExtension(file));
    }
}
