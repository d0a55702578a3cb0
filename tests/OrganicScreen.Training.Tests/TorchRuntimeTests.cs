using System.Diagnostics;
using static TorchSharp.torch;

namespace OrganicScreen.Training.Tests;

public class TorchRuntimeTests
{
    static long Resident()
    {
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.WorkingSet64;
    }

    [Fact]
    public void Releasing_free_memory_hands_the_pages_of_freed_tensors_back()
    {
        TorchRuntime.Initialize();
        if (!OperatingSystem.IsLinux()) return; // glibc's malloc_trim; elsewhere the call does nothing.
        // 64 tensors of 4 MB, written (ones), then freed: the heap settings keep them in the heap (no mmap per tensor),
        // so the resident set only falls when the free pages are handed back.
        var tensors = Enumerable.Range(0, 64).Select(_ => ones(1 << 20)).ToList();
        foreach (var t in tensors) t.Dispose();
        var before = Resident();
        TorchRuntime.ReleaseFreeMemory();
        var after = Resident();
        (before - after).ShouldBeGreaterThan(128L << 20, $"resident {before >> 20} MB before, {after >> 20} MB after");
    }
}
