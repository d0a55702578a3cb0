// OrganicScreen DAG. Thin on purpose: each task runs one stage of the project's own CLI
// (TorchSharp cannot load inside a Cake script, and stage logic belongs to the stage libraries).
//   Fetch -> Featurize -> Sweep -> Train -> Infer -> Screen
// Every stage is content-hashed by the CLI itself, so an unchanged stage is skipped in seconds.

var target = Argument("target", "Screen");
var configuration = Argument("configuration", "Release");
var dataset = Argument("dataset", "ocelot");
var profile = Argument("profile", "default");
var variant = Argument("variant", "");
var device = Argument("device", "");
var libtorch = Argument("libtorch", "");

var root = MakeAbsolute(Directory(".."));
var publishDir = root.Combine("artifacts/bin/organicscreen");
var cli = publishDir.CombineWithFilePath("organicscreen");

void Stage(string name)
{
    var args = new ProcessArgumentBuilder()
        .Append("stage").Append(name)
        .Append("--dataset").Append(dataset)
        .Append("--profile").Append(profile);
    if (!string.IsNullOrEmpty(variant)) args.Append("--variant").Append(variant);
    if (!string.IsNullOrEmpty(device)) args.Append("--device").Append(device);
    if (!string.IsNullOrEmpty(libtorch)) args.Append("--libtorch").AppendQuoted(libtorch);
    Organicscreen(args);
}

void Organicscreen(ProcessArgumentBuilder args)
{
    var exit = StartProcess(cli, new ProcessSettings { Arguments = args, WorkingDirectory = root });
    if (exit != 0) throw new CakeException(exit, $"organicscreen {args.Render()} failed with exit code {exit}");
}

Task("Build")
    .Description("Publishes the organicscreen CLI to artifacts/bin/organicscreen (build.sh has built the solution).")
    .Does(() =>
{
    DotNetPublish(root.CombineWithFilePath("stages/OrganicScreen.Cli/OrganicScreen.Cli.csproj").FullPath, new DotNetPublishSettings
    {
        Configuration = configuration,
        NoBuild = true,
        NoRestore = true,
        OutputDirectory = publishDir,
        Verbosity = DotNetVerbosity.Quiet,
    });
    Information($"organicscreen published to {publishDir}");
});

Task("Test")
    .Description("Runs every test project; prints one 'N passed, N failed' line at the end.")
    .Does(() =>
{
    var results = root.Combine("artifacts/test-results");
    CleanDirectory(results);
    var failed = false;
    try
    {
        DotNetTest(root.CombineWithFilePath("OrganicScreen.sln").FullPath, new DotNetTestSettings
        {
            Configuration = configuration,
            NoBuild = true,
            NoRestore = true,
            Loggers = { "trx", "console;verbosity=normal" },
            ResultsDirectory = results,
        });
    }
    catch (CakeException)
    {
        failed = true;
    }

    int passed = 0, failures = 0, skipped = 0;
    foreach (var trx in GetFiles(results.FullPath + "/**/*.trx"))
    {
        var counters = System.Xml.Linq.XDocument.Load(trx.FullPath).Descendants().First(e => e.Name.LocalName == "Counters");
        passed += int.Parse(counters.Attribute("passed").Value);
        failures += int.Parse(counters.Attribute("failed").Value);
        skipped += int.Parse(counters.Attribute("notExecuted").Value);
    }
    // Plain text on its own line (no log colouring): CI reads this closing line.
    Console.WriteLine($"Tests: {passed} passed, {failures} failed, {skipped} skipped");
    if (failed || failures > 0 || passed == 0) throw new CakeException("tests failed");
});

Task("Bench")
    .Description("Featurization throughput and training epoch times on this machine.")
    .IsDependentOn("Build")
    .Does(() => Organicscreen(new ProcessArgumentBuilder().Append("bench").Append("--dataset").Append(dataset)));

Task("Fetch").Description("First available dataset source, sha256-verified, into the artifact store.")
    .IsDependentOn("Build").Does(() => Stage("fetch"));
Task("Featurize").Description("Canonical SMILES, rejects with reasons, deduplication, ECFP fingerprints (Parquet).")
    .IsDependentOn("Fetch").Does(() => Stage("featurize"));
Task("Sweep").Description("Table-1 configurations, 2-fold CV per target; picks the best per target.")
    .IsDependentOn("Featurize").Does(() => Stage("sweep"));
Task("Train").Description("k-fold cross-validation (8 folds) of the chosen configuration per target.")
    .IsDependentOn("Sweep").Does(() => Stage("train"));
Task("Infer").Description("Out-of-fold and final-model metrics (R², MAE, RMSE, σ), calibrated intervals.")
    .IsDependentOn("Train").Does(() => Stage("infer"));
Task("Screen").Description("Redox potentials, solvent-window screening, results folder and report.")
    .IsDependentOn("Infer").Does(() => Stage("screen"));

RunTarget(target);
