using OrganicScreen.Chem;
using OrganicScreen.Core;

namespace OrganicScreen.Data.Tests;

public sealed class StageTests : IDisposable
{
    private readonly string store = Path.Combine(Path.GetTempPath(), "os-data-" + Guid.NewGuid().ToString("N"));
    private readonly MemoryStageLog log = new();

    public void Dispose()
    {
        if (Directory.Exists(store)) Directory.Delete(store, recursive: true);
    }

    private static readonly FingerprintSpec R2 = new(2, 2048);

    private async Task<FeatureSet> FeaturizeBadRowsAsync()
    {
        var path = Repo.Fixture("datasets/ocelot_bad_rows.csv");
        var dataset = Repo.WithSource(Repo.Dataset("ocelot"), path, "csv", await ContentHash.OfFileAsync(path));
        var artifacts = new ArtifactStore(store, log);
        var fetched = await new FetchStage(artifacts, log).RunAsync(dataset, Repo.Root);
        return await new FeaturizeStage(artifacts, new Rdkit(), log).RunAsync(fetched, null, [R2, new FingerprintSpec(1, 1024)]);
    }

    [Fact]
    public async Task Every_row_is_a_molecule_row_or_a_reject_with_a_reason()
    {
        var features = await FeaturizeBadRowsAsync();
        var molecules = await features.MoleculesAsync();
        var rejects = await features.RejectsAsync();

        molecules.Select(m => m.CanonicalSmiles).ShouldBe(["c1ccccc1", "CCO", "c1ccc2ccccc2c1"]);
        molecules[0].Count.ShouldBe(2);                  // benzene written two ways
        molecules[0].Ie!.Value.ShouldBe(9.3, 1e-12);     // mean of aie 9.2 and 9.4
        molecules[0].Ea!.Value.ShouldBe(1.2, 1e-12);     // −mean(aea)
        molecules[1].Ie.ShouldBeNull();                  // EA alone is kept
        molecules[2].Id.ShouldBe("quoted,id");

        rejects.Select(r => r.Row).ShouldBe([4, 5, 7, 8, 9, 10, 11, 12]);
        rejects.Single(r => r.Row == 4).Reason.ShouldStartWith("invalid SMILES: ");
        rejects.Single(r => r.Row == 12).Reason.ShouldContain("valence");
        rejects.Single(r => r.Row == 5).Reason.ShouldBe("empty line");

        var summary = System.Text.Json.JsonSerializer.Deserialize<FeaturizeSummary>(features.Artifact.Manifest.Summary!, Json.Options)!;
        summary.Rows.ShouldBe(12);
        (summary.Accepted + summary.Rejected).ShouldBe(summary.Rows);
        summary.Molecules.ShouldBe(3);
        summary.MergedDuplicates.ShouldBe(1);
        File.ReadAllLines(features.Artifact.PathOf(FeatureTables.RejectsCsv)).Length.ShouldBe(9);
    }

    [Fact]
    public async Task Fingerprint_tables_follow_molecule_order_and_match_rdkit()
    {
        var features = await FeaturizeBadRowsAsync();
        var molecules = await features.MoleculesAsync();
        var matrix = await features.FingerprintsAsync(R2);
        matrix.Rows.ShouldBe(molecules.Count);
        var rdkit = new Rdkit();
        for (var i = 0; i < molecules.Count; i++)
            matrix.Row(i).ToArray().ShouldBe(rdkit.Fingerprint(molecules[i].CanonicalSmiles, R2));
        await Should.ThrowAsync<DatasetException>(() => features.FingerprintsAsync(new FingerprintSpec(3, 2048)));
    }

    [Fact]
    public async Task Second_run_is_cached_and_summary_is_reported_again()
    {
        var first = await FeaturizeBadRowsAsync();
        var second = await FeaturizeBadRowsAsync();
        first.Artifact.FromCache.ShouldBeFalse();
        second.Artifact.FromCache.ShouldBeTrue();
        second.Artifact.Directory.ShouldBe(first.Artifact.Directory);
        log.Lines.Count(l => l.StartsWith("featurize ocelot: 12 rows -> 3 molecules")).ShouldBe(2);
        second.Artifact.Manifest.ToolVersions["rdkit"].ShouldBe("2022.09.3");
    }

    [Fact]
    public async Task Checksum_mismatch_stops_and_caches_nothing()
    {
        var path = Repo.Fixture("datasets/ocelot_bad_rows.csv");
        var dataset = Repo.WithSource(Repo.Dataset("ocelot"), path, "csv", new string('0', 64));
        var error = await Should.ThrowAsync<DatasetException>(() => new FetchStage(new ArtifactStore(store, log), log).RunAsync(dataset, Repo.Root));
        error.Message.ShouldContain("checksum mismatch");
        Directory.Exists(Path.Combine(store, FetchStage.Name)).ShouldBeFalse();
    }

    [Fact]
    public async Task No_available_source_lists_what_was_tried()
    {
        var dataset = Repo.Dataset("ocelot") with
        {
            Sources = [new DatasetSource("csv", "does/not/exist.csv", null, new string('a', 64), null, null),
                       new DatasetSource("csv", null, "https://example.invalid/x.csv", null, null, null)],
        };
        var error = await Should.ThrowAsync<DatasetException>(() => new FetchStage(new ArtifactStore(store, log), log).RunAsync(dataset, Repo.Root));
        error.Message.ShouldContain("does/not/exist.csv: not found");
        error.Message.ShouldContain("no pinned sha256");
    }

    [Fact]
    public async Task Mp_sample_keeps_neutral_molecules_and_rejects_charged_with_reason()
    {
        var dataset = Repo.Dataset("mp-jcesr");
        var artifacts = new ArtifactStore(store, log);
        var fetched = await new FetchStage(artifacts, log).RunAsync(dataset, Repo.Root);
        var features = await new FeaturizeStage(artifacts, new Rdkit(), log).RunAsync(fetched, null, [R2]);
        var molecules = await features.MoleculesAsync();
        var rejects = await features.RejectsAsync();
        rejects.Count(r => r.Reason.StartsWith("charge ")).ShouldBe(18); // 7 cations + 11 anions
        molecules.ShouldAllBe(m => m.Charge == 0);
        (molecules.Sum(m => m.Count) + rejects.Count).ShouldBe(84);
    }
}
