using OrganicScreen.Training.Native;

namespace OrganicScreen.Training.Tests;

public class LibStdCxxCompatTests
{
    static string? PackageLibrary()
    {
        var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                   ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var path = Path.Combine(root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", LibStdCxxCompat.LibraryFileName);
        return File.Exists(path) ? path : null;
    }

    [Fact]
    public void Patch_weakens_the_requirement_idempotently_on_a_copy()
    {
        if (PackageLibrary() is not { } original) return; // not restored here (e.g. Windows): nothing to check
        var copy = Path.Combine(Path.GetTempPath(), $"libLibTorchSharp-{Guid.NewGuid():N}.so");
        File.Copy(original, copy);
        try
        {
            var before = File.ReadAllBytes(original);
            LibStdCxxCompat.Inspect(copy).ShouldBe(LibStdCxxPatchOutcome.Patched); // i.e. "would patch"
            LibStdCxxCompat.PatchFile(copy).ShouldBe(LibStdCxxPatchOutcome.Patched);
            LibStdCxxCompat.PatchFile(copy).ShouldBe(LibStdCxxPatchOutcome.AlreadyPatched);
            var after = File.ReadAllBytes(copy);
            after.Length.ShouldBe(before.Length);
            // Exactly the flag (1 byte) and one .gnu.version entry (≤ 2 bytes) change.
            Enumerable.Range(0, after.Length).Count(i => after[i] != before[i]).ShouldBeInRange(2, 3);
            File.ReadAllBytes(original).ShouldBe(before); // the NuGet cache is untouched
        }
        finally
        {
            File.Delete(copy);
        }
    }

    [Fact]
    public void The_loaded_library_in_this_test_output_is_usable()
    {
        // Loading torch at all proves the build-time patch (or the runtime safety net) worked on this system.
        var info = TorchRuntime.Initialize();
        info.Threads.ShouldBeGreaterThan(0);
        // OMP_WAIT_POLICY reached libgomp (set through libc before libtorch loaded), unless the caller chose one.
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null or "PASSIVE") info.OmpPassive.ShouldBeTrue();
        using var t = TorchSharp.torch.ones(3);
        t.sum().item<float>().ShouldBe(3f);
    }
}
