using System.Diagnostics;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using OrganicScreen.Core;
using OrganicScreen.Pipeline;

namespace OrganicScreen.Pipeline.Tests;

/// <summary>
/// Builds OrganicScreen.Screening twice from a copy of its source, once as it is and once with one literal
/// changed inside the ensemble calibration, so the tests can swap either build into a copy of the program's
/// folder and compare stage keys. Building takes ~30 s, so it happens once for the class.
/// </summary>
public sealed class RebuiltScreening : IDisposable
{
    public string Folder { get; } = TestRepo.TempFolder("os-rebuild");

    public string Original { get; }

    public string Modified { get; }

    public RebuiltScreening()
    {
        var source = Path.Combine(Folder, "src");
        foreach (var file in new[] { "Directory.Build.props", "Directory.Packages.props" })
            File.Copy(Path.Combine(TestRepo.Root, file), Path.Combine(source, file).EnsureParent());
        foreach (var project in new[] { "OrganicScreen.Core", "OrganicScreen.Screening" })
            foreach (var file in Directory.EnumerateFiles(Path.Combine(TestRepo.Root, "stages", project), "*", SearchOption.AllDirectories)
                         .Where(f => !f.Contains("/bin/") && !f.Contains("/obj/")))
                File.Copy(file, Path.Combine(source, "stages", project, Path.GetRelativePath(Path.Combine(TestRepo.Root, "stages", project), file)).EnsureParent());
        Original = Build(source, "a");
        var calibration = Path.Combine(source, "stages", "OrganicScreen.Screening", "Calibration.cs");
        var text = File.ReadAllText(calibration);
        const string literal = "Math.Max(1.0 - memberDisagreement / mse, 0.25)";
        text.ShouldContain(literal); // the literal this test edits must exist, or the test proves nothing
        File.WriteAllText(calibration, text.Replace(literal, "Math.Max(1.0 - memberDisagreement / mse, 0.26)"));
        Modified = Build(source, "b");
    }

    private string Build(string source, string name)
    {
        var output = Path.Combine(Folder, "out-" + name);
        var start = new ProcessStartInfo("dotnet", ["build", Path.Combine(source, "stages", "OrganicScreen.Screening", "OrganicScreen.Screening.csproj"),
            "-c", "Release", "-o", output, "-nologo", "-v:q", "-p:UseSharedCompilation=false"])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var log = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        process.ExitCode.ShouldBe(0, log.Result + errors);
        return Path.Combine(output, "OrganicScreen.Screening.dll");
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}

public sealed class CodeIdentityTests(RebuiltScreening rebuilt) : IClassFixture<RebuiltScreening>, IDisposable
{
    private readonly string scratch = TestRepo.TempFolder("os-code");

    public void Dispose() => Directory.Delete(scratch, recursive: true);

    private static readonly string[] Stages = ["fetch", "featurize", "sweep", "train", "infer", "screen"];

    /// <summary>A copy of the program's folder (assemblies and the RDKit shim), changed by <paramref name="change"/>.</summary>
    private CodeLocation ProgramCopy(string name, Action<string>? change = null)
    {
        var folder = Path.Combine(scratch, name);
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.EnumerateFiles(AppContext.BaseDirectory).Where(f => f.EndsWith(".dll") || f.EndsWith(".so")))
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        change?.Invoke(folder);
        return new CodeLocation(folder, new Dictionary<string, string> { ["OrganicScreen.Chem"] = Path.Combine(folder, "libosrdkit.so") });
    }

    private static async Task<Dictionary<string, string>> KeysAsync(CodeLocation code, string profile = "smoke")
    {
        var run = new PipelineRun(TestRepo.Options(Path.Combine(code.Directory, "store"), profile), new RecordingLog(), code);
        var keys = new Dictionary<string, string>();
        foreach (var node in run.Graph) keys[node.Name] = (await run.RequestAsync(node.Name)).Key;
        return keys;
    }

    private static string[] Changed(Dictionary<string, string> a, Dictionary<string, string> b) => a.Keys.Where(k => a[k] != b[k]).ToArray();

    [Fact]
    public async Task A_changed_literal_in_the_calibration_changes_infer_and_screen_and_nothing_upstream()
    {
        var original = await KeysAsync(ProgramCopy("original", f => File.Copy(rebuilt.Original, Path.Combine(f, "OrganicScreen.Screening.dll"), true)));
        var modified = await KeysAsync(ProgramCopy("modified", f => File.Copy(rebuilt.Modified, Path.Combine(f, "OrganicScreen.Screening.dll"), true)));
        Mvid(rebuilt.Original).ShouldNotBe(Mvid(rebuilt.Modified));
        Changed(original, modified).ShouldBe(["infer", "screen"]);
    }

    [Fact]
    public async Task The_same_source_built_in_another_folder_gives_the_same_assembly_and_keys()
    {
        // The fixture built the unmodified source from a copy in a temporary folder outside any git work tree. A
        // deterministic build still hashes absolute paths into the MVID unless the checkout is path-mapped, and Source
        // Link changes the PDB inside a work tree: either made a second clone of the same commit rerun everything.
        var shipped = Path.Combine(AppContext.BaseDirectory, "OrganicScreen.Screening.dll");
        Path.GetDirectoryName(rebuilt.Original).ShouldNotBe(Path.GetDirectoryName(shipped));
        File.ReadAllBytes(rebuilt.Original).ShouldBe(File.ReadAllBytes(shipped));
        var again = await KeysAsync(ProgramCopy("again", f => File.Copy(rebuilt.Original, Path.Combine(f, "OrganicScreen.Screening.dll"), true)));
        var original = await KeysAsync(ProgramCopy("original2"));
        Changed(original, again).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_rebuilt_native_shim_changes_featurize_and_everything_after_it_but_not_fetch()
    {
        var original = await KeysAsync(ProgramCopy("shim-a"));
        var modified = await KeysAsync(ProgramCopy("shim-b", f => File.AppendAllText(Path.Combine(f, "libosrdkit.so"), "\0")));
        Changed(original, modified).ShouldBe(["featurize", "sweep", "train", "infer", "screen"]);
    }

    [Fact]
    public async Task Rebuilt_training_code_reruns_sweep_and_train_and_what_follows()
    {
        var original = await KeysAsync(ProgramCopy("training-a"));
        var modified = await KeysAsync(ProgramCopy("training-b", f => NewMvid(Path.Combine(f, "OrganicScreen.Training.dll"))));
        Changed(original, modified).ShouldBe(["sweep", "train", "infer", "screen"]);
    }

    [Fact]
    public async Task Rebuilt_engine_or_report_code_changes_only_what_runs_it()
    {
        var original = await KeysAsync(ProgramCopy("engine-a"));
        // The engine (profiles, DAG, status, gc, predict's model loading) is code no stage runs.
        var engine = await KeysAsync(ProgramCopy("engine-b", f => NewMvid(Path.Combine(f, "OrganicScreen.Pipeline.dll"))));
        Changed(original, engine).ShouldBeEmpty();
        // The report and figures (Reporting) run in Screen only: a change there must not retrain anything.
        var reporting = await KeysAsync(ProgramCopy("reporting-b", f => NewMvid(Path.Combine(f, "OrganicScreen.Reporting.dll"))));
        Changed(original, reporting).ShouldBe(["screen"]);
        // The Screen stage's own assembly: only Screen.
        var screen = await KeysAsync(ProgramCopy("screen-b", f => NewMvid(Path.Combine(f, "OrganicScreen.Stages.Screen.dll"))));
        Changed(original, screen).ShouldBe(["screen"]);
    }

    [Fact]
    public async Task The_dmpnn_graph_has_no_sweep_and_its_train_reads_the_shim()
    {
        var original = await KeysAsync(ProgramCopy("graph-a"), "smoke-dmpnn");
        original.Keys.ShouldBe(["fetch", "featurize", "train", "infer", "screen"]);
        var shim = await KeysAsync(ProgramCopy("graph-b", f => File.AppendAllText(Path.Combine(f, "libosrdkit.so"), "\0")), "smoke-dmpnn");
        Changed(original, shim).ShouldBe(["featurize", "train", "infer", "screen"]);
    }

    [Fact]
    public void Identity_lists_the_closure_of_our_assemblies_and_no_framework_or_cli_code()
    {
        var code = ProgramCopy("closure");
        var infer = code.Identity("OrganicScreen.Stages.Infer");
        infer.Keys.ShouldBe(["OrganicScreen.Chem", "OrganicScreen.Chem:libosrdkit.so", "OrganicScreen.Core", "OrganicScreen.Data",
            "OrganicScreen.Screening", "OrganicScreen.Stages.Featurize", "OrganicScreen.Stages.Infer", "OrganicScreen.Stages.Train", "OrganicScreen.Training"], ignoreOrder: true);
        code.Identity("OrganicScreen.Data").Keys.ShouldBe(["OrganicScreen.Core", "OrganicScreen.Data"], ignoreOrder: true);
        Should.Throw<FileNotFoundException>(() => code.Identity("OrganicScreen.Missing")).Message.ShouldContain("OrganicScreen.Missing");
    }

    private static Guid Mvid(string path)
    {
        using var pe = new PEReader(File.OpenRead(path));
        var reader = pe.GetMetadataReader();
        return reader.GetGuid(reader.GetModuleDefinition().Mvid);
    }

    /// <summary>What a rebuild with changed code does to an assembly as far as keys can see: a new MVID (its bytes flipped in place).</summary>
    private static void NewMvid(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var old = Mvid(path).ToByteArray();
        var at = bytes.AsSpan().IndexOf(old);
        at.ShouldBeGreaterThanOrEqualTo(0);
        bytes[at] ^= 0xFF;
        File.WriteAllBytes(path, bytes);
        Mvid(path).ShouldNotBe(new Guid(old));
    }
}

internal static class PathExtensions
{
    public static string EnsureParent(this string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }
}
