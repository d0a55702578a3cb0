namespace OrganicScreen.Training;

/// <summary>What this machine's CPU offers the bfloat16 products (<see cref="Graph.DmpnnArchitecture.BFloat16"/>).</summary>
public static class CpuFeatures
{
    static readonly Lazy<bool?> Detected = new(() =>
    {
        try
        {
            return File.Exists("/proc/cpuinfo") ? BFloat16From(File.ReadAllText("/proc/cpuinfo")) : null;
        }
        catch (IOException)
        {
            return null;
        }
    });

    /// <summary>
    /// Whether the CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX-BF16); null where that cannot be read
    /// (not Linux). Without either, oneDNN emulates bfloat16 and the products run slower than float32 ones.
    /// </summary>
    public static bool? BFloat16 => Detected.Value;

    /// <summary>Reads the "flags" lines of a /proc/cpuinfo text: true when every CPU lists avx512_bf16 or amx_bf16.</summary>
    public static bool? BFloat16From(string cpuinfo)
    {
        var flags = cpuinfo.Split('\n').Where(l => l.StartsWith("flags", StringComparison.Ordinal) && l.Contains(':'))
            .Select(l => l[(l.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToList();
        if (flags.Count == 0) return null;
        return flags.All(f => f.Contains("avx512_bf16") || f.Contains("amx_bf16"));
    }
}
