using System.Diagnostics;
using OrganicScreen.Core;
using YamlDotNet.RepresentationModel;

namespace OrganicScreen.Review.Tests;

/// <summary>The review workflow is valid YAML, runs on the right changes, and calls only scripts in the repository.</summary>
public sealed class WorkflowTests
{
    private static readonly string Root = RepositoryLayout.Locate().Root;

    private static YamlMappingNode Workflow()
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(Path.Combine(Root, ".github", "workflows", "review.yml"));
        yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents.Single().RootNode;
    }

    private static YamlNode At(YamlNode node, params string[] path) =>
        path.Aggregate(node, (n, key) => ((YamlMappingNode)n).Children[new YamlScalarNode(key)]);

    [Fact]
    public void It_runs_on_pull_requests_that_touch_datasets_profiles_or_stage_code()
    {
        var workflow = Workflow();
        var on = (YamlMappingNode)At(workflow, "on");
        on.Children.Keys.Select(k => k.ToString()).ShouldBe(["pull_request"]);
        var paths = ((YamlSequenceNode)At(on, "pull_request", "paths")).Select(p => p.ToString()).ToList();
        paths.ShouldContain("data/datasets/**");
        paths.ShouldContain("data/profiles/**");
        paths.ShouldContain("stages/**");
        paths.ShouldContain("data/approved/**");
    }

    [Fact]
    public void Every_step_calls_a_script_in_the_repository_or_a_pinned_official_action()
    {
        var steps = (YamlSequenceNode)At(Workflow(), "jobs", "review", "steps");
        var runs = new List<string>();
        foreach (YamlMappingNode step in steps)
        {
            if (step.Children.TryGetValue(new YamlScalarNode("uses"), out var uses))
            {
                uses.ToString().ShouldBeOneOf("actions/checkout@v4", "actions/setup-dotnet@v4", "actions/upload-artifact@v4");
                continue;
            }

            var run = At(step, "run").ToString().Trim();
            run.ShouldNotContain("\n"); // one command per step: no inline logic
            var words = run.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            words[0].ShouldBe("bash");
            File.Exists(Path.Combine(Root, words[1])).ShouldBeTrue($"{words[1]} is not a file in the repository");
            runs.Add(run);
        }

        runs.ShouldContain("bash ci/review.sh run --base \"origin/${{ github.base_ref }}\"");
        var upload = steps.Cast<YamlMappingNode>().Single(s => s.Children.TryGetValue(new YamlScalarNode("uses"), out var u) && u.ToString() == "actions/upload-artifact@v4");
        At(upload, "with", "path").ToString().ShouldBe("artifacts/review/");
        At(upload, "if").ToString().ShouldBe("always()");
    }

    [Fact]
    public void The_script_selects_the_snapshots_a_change_affects()
    {
        var root = FakeResults.Temp("os-ci");
        try
        {
            foreach (var snapshot in new[] { "ocelot-fixture/adiabatic/smoke", "ocelot-fixture/vertical/smoke", "ocelot/adiabatic/default", "ocelot/adiabatic/smoke+1a2b3c4d", "omead/solution/best" })
            {
                Directory.CreateDirectory(Path.Combine(root, "data", "approved", snapshot));
                File.WriteAllText(Path.Combine(root, "data", "approved", snapshot, "approved.json"), "{}");
            }

            Select(root, "data/datasets/ocelot-fixture.json").ShouldBe(["ocelot-fixture adiabatic smoke", "ocelot-fixture vertical smoke"]);
            Select(root, "data/profiles/smoke.json", "README.md").ShouldBe(["ocelot adiabatic smoke+1a2b3c4d", "ocelot-fixture adiabatic smoke", "ocelot-fixture vertical smoke"]);
            Select(root, "data/approved/omead/solution/best/candidates_anode.csv").ShouldBe(["omead solution best"]);
            Select(root, "stages/OrganicScreen.Screening/Screening.cs").Count.ShouldBe(5);
            Select(root, "README.md", "data/datasets/mp-jcesr.json", "tests/OrganicScreen.Cli.Tests/CliTests.cs").ShouldBeEmpty();
            Select(root, "data/profiles/default.json", "data/datasets/ocelot.json").ShouldBe(["ocelot adiabatic default", "ocelot adiabatic smoke+1a2b3c4d"]);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Runs <c>ci/review.sh select</c> on a fake changed-file list against the approved snapshots under <paramref name="root"/>.</summary>
    private static List<string> Select(string root, params string[] changed)
    {
        var list = Path.Combine(root, "changed.txt");
        File.WriteAllLines(list, changed);
        var start = new ProcessStartInfo("bash", [Path.Combine(Root, "ci", "review.sh"), "select", "--changed", list])
            { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        start.Environment["REVIEW_ROOT"] = root;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        process.ExitCode.ShouldBe(0, error);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }
}
