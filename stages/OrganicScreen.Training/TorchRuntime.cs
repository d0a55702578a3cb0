using System.Runtime.InteropServices;
using OrganicScreen.Training.Native;
using TorchSharp;

namespace OrganicScreen.Training;

/// <summary>How libtorch is loaded for this process.</summary>
/// <param name="LibTorchDirectory">
/// A libtorch <c>lib</c> directory to use instead of the natives shipped with the TorchSharp package, e.g. a
/// PyTorch install's <c>torch/lib</c> (that is how CUDA is used without the 4 GB TorchSharp-cuda package).
/// Null: <c>ORGANICSCREEN_LIBTORCH</c> if set, else the package natives.
/// </param>
/// <param name="Threads">Intra-op threads; null = all cores.</param>
/// <param name="Workload">What the process will mostly do; it sets how memory is kept (see <see cref="TorchWorkload"/>).</param>
public sealed record TorchRuntimeOptions(string? LibTorchDirectory = null, int? Threads = null, TorchWorkload Workload = TorchWorkload.Training)
{
    public const string LibTorchEnvironmentVariable = "ORGANICSCREEN_LIBTORCH";

    public string? ResolvedLibTorchDirectory()
    {
        var dir = LibTorchDirectory ?? Environment.GetEnvironmentVariable(LibTorchEnvironmentVariable);
        return string.IsNullOrWhiteSpace(dir) ? null : Path.GetFullPath(dir);
    }
}

/// <summary>What the process will mostly do with libtorch; the first <see cref="TorchRuntime.Initialize"/> decides.</summary>
public enum TorchWorkload
{
    /// <summary>Training: a few shapes repeated for hours; oneDNN keeps its default cache of 1,024 compiled kernels.</summary>
    Training,

    /// <summary>
    /// Streaming prediction over a library: each batch has other atom and bond counts, so other bfloat16 GEMM shapes,
    /// and oneDNN keeps a compiled kernel for each shape it meets (up to 1,024). A cache of 16 still serves a batch's few
    /// shapes to all of an ensemble's members and bounds what the library's variety can add. Alone it did not measurably
    /// lower a `best` screen's peak (1,156 MB after 300,000 molecules): the heap was what grew (see <see cref="TorchRuntime.ReleaseFreeMemory"/>).
    /// </summary>
    Inference,
}

/// <summary>What <see cref="TorchRuntime.Initialize"/> set up.</summary>
public sealed record TorchRuntimeInfo(
    string? LibTorchDirectory,
    bool CudaAvailable,
    int Threads,
    bool OmpPassive,
    IReadOnlyList<string> PatchedLibraries,
    TorchWorkload Workload = TorchWorkload.Training);

/// <summary>
/// One-time, process-wide libtorch setup. Everything here must happen before the first TorchSharp call: OpenMP
/// reads its environment when libgomp loads, native libraries can be loaded once, and TorchSharp decides CPU vs
/// CUDA natives on its first call. All public training entry points call <see cref="Initialize"/> first; a host
/// (the CLI) should call it explicitly at startup with its options.
/// </summary>
public static class TorchRuntime
{
    // Process-wide by nature (a process loads libtorch once), so this is the one static mutable slot: guarded
    // by a lock and written exactly once.
    static readonly Lock Gate = new();
    static TorchRuntimeInfo? _initialized;

    public static TorchRuntimeInfo Initialize(TorchRuntimeOptions? options = null)
    {
        options ??= new TorchRuntimeOptions();
        lock (Gate)
        {
            var libtorch = options.ResolvedLibTorchDirectory();
            if (_initialized is { } done)
            {
                if (options.LibTorchDirectory is not null && libtorch != done.LibTorchDirectory)
                    throw new InvalidOperationException(
                        $"libtorch is already loaded from {done.LibTorchDirectory ?? "the TorchSharp package"}; cannot switch to {libtorch} in the same process.");
                return done;
            }

            var ompPassive = PrepareProcessEnvironment(options.Workload);
            var patched = OperatingSystem.IsLinux() ? EnsureLibTorchSharpLoadable() : [];
            // An external libtorch must be mapped before TorchSharp's static constructor runs: it initialises the CPU
            // backend immediately, loading libtorch_cpu by name, which then resolves to the already loaded copy.
            if (libtorch is not null) LoadFromDirectory(libtorch);
            try { torch.InitializeDeviceType(DeviceType.CPU); }
            catch (Exception e) when (e is TypeInitializationException or NotSupportedException or DllNotFoundException)
            {
                throw new InvalidOperationException(
                    "libtorch could not be loaded. A TorchBackend=external build needs --libtorch / " +
                    $"{TorchRuntimeOptions.LibTorchEnvironmentVariable} (or LD_LIBRARY_PATH) pointing at a PyTorch install's torch/lib; " +
                    "other builds should have the natives next to the application.", e);
            }
            var cuda = false;
            try { cuda = torch.TryInitializeDeviceType(DeviceType.CUDA); }
            catch (Exception e) when (e is NotSupportedException or InvalidOperationException or DllNotFoundException or EntryPointNotFoundException)
            {
                // No usable CUDA libtorch: CPU only.
            }

            var threads = options.Threads ?? Environment.ProcessorCount;
            if (threads < 1) throw new ArgumentOutOfRangeException(nameof(options), threads, "Threads must be ≥ 1.");
            torch.set_num_threads(threads);
            try { torch.set_num_interop_threads(1); }
            catch (Exception e) when (e is ExternalException or InvalidOperationException)
            {
                // Only settable before the first parallel op; harmless if someone already ran one.
            }
            _initialized = new TorchRuntimeInfo(libtorch, cuda, threads, ompPassive, patched, options.Workload);
            return _initialized;
        }
    }

    /// <summary>The torch device for a setting, initialising the runtime if needed.</summary>
    public static torch.Device Resolve(ComputeDevice device)
    {
        var info = Initialize();
        return device switch
        {
            ComputeDevice.Cpu => torch.CPU,
            ComputeDevice.Auto => info.CudaAvailable ? torch.CUDA : torch.CPU,
            ComputeDevice.Cuda when info.CudaAvailable => torch.CUDA,
            _ => throw new InvalidOperationException(
                "CUDA was requested but libtorch reports no CUDA device. Build with -p:TorchBackend=cuda, or point " +
                $"--libtorch / {TorchRuntimeOptions.LibTorchEnvironmentVariable} at a CUDA PyTorch's torch/lib."),
        };
    }

    [DllImport("libc", EntryPoint = "setenv")]
    static extern int SetEnv(string name, string value, int overwrite);

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int MallOpt(int param, int value);

    [DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int MallocTrim(nuint pad);

    /// <summary>
    /// Hands the native heap's free pages back to the kernel (glibc's malloc_trim, which also releases free pages inside
    /// the heap, not only at its top). A D-MPNN library screen calls it every few batches: the heap settings above keep
    /// freed tensors in the heap, and batches of ever other sizes left holes that the peak resident set kept growing by.
    /// </summary>
    public static void ReleaseFreeMemory()
    {
        if (OperatingSystem.IsLinux()) MallocTrim(0);
    }

    /// <summary>
    /// OMP_WAIT_POLICY=PASSIVE: libtorch's and .NET's thread pools otherwise busy-wait against each other, which
    /// on 2 cores is ~30× slower. Environment.SetEnvironmentVariable only changes .NET's copy on Unix, so this
    /// calls libc setenv, which libgomp reads when it loads. A user's explicit setting wins.
    /// </summary>
    static bool PrepareProcessEnvironment(TorchWorkload workload)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return false;
        var existing = Environment.GetEnvironmentVariable("OMP_WAIT_POLICY");
        if (existing is null)
        {
            SetEnv("OMP_WAIT_POLICY", "PASSIVE", 0);
            Environment.SetEnvironmentVariable("OMP_WAIT_POLICY", "PASSIVE");
        }
        if (workload == TorchWorkload.Inference && Environment.GetEnvironmentVariable(PrimitiveCacheVariable) is null)
        {
            // oneDNN reads it when its first primitive is created, which is after this.
            SetEnv(PrimitiveCacheVariable, InferencePrimitiveCache, 0);
            Environment.SetEnvironmentVariable(PrimitiveCacheVariable, InferencePrimitiveCache);
        }
        if (OperatingSystem.IsLinux())
        {
            // Keep freed activations in the heap instead of returning them to the kernel each step: glibc's
            // dynamic mmap threshold otherwise makes every ~MB-sized tensor a fresh, page-faulting mmap.
            const int mmapThreshold = -3, trimThreshold = -1;
            MallOpt(mmapThreshold, 256 << 20);
            MallOpt(trimThreshold, 512 << 20);
        }
        return string.Equals(existing ?? "PASSIVE", "PASSIVE", StringComparison.OrdinalIgnoreCase) && !LibGompAlreadyLoaded();
    }

    const string PrimitiveCacheVariable = "ONEDNN_PRIMITIVE_CACHE_CAPACITY";

    /// <summary>oneDNN caches 1,024 compiled primitives by default (see <see cref="TorchWorkload.Inference"/>).</summary>
    const string InferencePrimitiveCache = "16";

    static bool LibGompAlreadyLoaded()
    {
        try { return File.ReadAllText("/proc/self/maps").Contains("libgomp", StringComparison.Ordinal); }
        catch (IOException) { return false; }
    }

    /// <summary>
    /// Safety net for outputs built without build/LibStdCxxCompat.targets: patch the libLibTorchSharp.so that
    /// .NET will load, in place, if the system libstdc++ lacks GLIBCXX_3.4.32. Never touches the NuGet cache.
    /// </summary>
    static List<string> EnsureLibTorchSharpLoadable()
    {
        var patched = new List<string>();
        if (!LibStdCxxCompat.PatchNeeded()) return patched;
        foreach (var candidate in LibTorchSharpCandidates())
        {
            if (LibStdCxxCompat.Inspect(candidate) != LibStdCxxPatchOutcome.Patched) continue;
            if (IsInNuGetCache(candidate))
                throw new InvalidOperationException(
                    $"{candidate} needs {LibStdCxxCompat.RequiredVersion}, which this system's libstdc++ lacks, and it lies in the " +
                    "NuGet cache, which must not be modified. Run from a build output (dotnet build/publish) instead.");
            try { LibStdCxxCompat.PatchFile(candidate); }
            catch (UnauthorizedAccessException e)
            {
                throw new InvalidOperationException(
                    $"{candidate} needs patching for this system's libstdc++ but is read-only; rebuild with " +
                    "stages/OrganicScreen.Training/build/LibStdCxxCompat.targets imported, or make it writable once.", e);
            }
            patched.Add(candidate);
        }
        return patched;
    }

    static IEnumerable<string> LibTorchSharpCandidates() =>
        NativeSearchDirectories().Select(d => Path.Combine(d, LibStdCxxCompat.LibraryFileName)).Where(File.Exists);

    static bool IsInNuGetCache(string path)
    {
        var roots = new[]
        {
            Environment.GetEnvironmentVariable("NUGET_PACKAGES"),
            Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
        };
        return roots.Any(r => !string.IsNullOrEmpty(r) && path.StartsWith(Path.GetFullPath(r) + Path.DirectorySeparatorChar, StringComparison.Ordinal));
    }

    /// <summary>
    /// Maps libtorch from <paramref name="dir"/> by absolute path. TorchSharp then loads "torch_cpu"/"torch_cuda"
    /// by name and libLibTorchSharp.so's DT_NEEDED entries by soname, and ld.so hands back these copies — but only
    /// if the application directory has no libtorch of its own: TorchSharp probes the application directory by
    /// path first, which would map a second libtorch (abort: "Tried to register multiple backend fallbacks").
    /// Hence the TorchBackend=external build, which ships libLibTorchSharp.so without libtorch.
    /// </summary>
    static void LoadFromDirectory(string dir)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"libtorch directory {dir} does not exist.");
        if (!File.Exists(Path.Combine(dir, "libtorch_cpu.so")))
            throw new FileNotFoundException($"{dir} does not look like a libtorch lib directory: libtorch_cpu.so is missing.");
        var bundled = NativeSearchDirectories().Select(d => Path.Combine(d, "libtorch_cpu.so")).FirstOrDefault(File.Exists);
        if (bundled is not null && !string.Equals(Path.GetDirectoryName(Path.GetFullPath(bundled)), dir.TrimEnd('/'), StringComparison.Ordinal))
            throw new InvalidOperationException(
                $"This build bundles libtorch ({bundled}), so a libtorch directory ({dir}) cannot be used: TorchSharp would load both. " +
                "Build with -p:TorchBackend=external (ships TorchSharp without libtorch) to use --libtorch / " +
                $"{TorchRuntimeOptions.LibTorchEnvironmentVariable}, or drop the option to use the bundled libtorch.");
        // torch_cuda first: its RUNPATH pulls c10_cuda and the CUDA runtime libraries of the same install.
        foreach (var name in new[] { "torch_cuda", "c10", "torch_cpu", "torch" })
        {
            var file = Path.Combine(dir, $"lib{name}.so");
            if (File.Exists(file)) NativeLibrary.Load(file);
        }
    }

    static IEnumerable<string> NativeSearchDirectories()
    {
        var dirs = new List<string>();
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string searchDirs)
            dirs.AddRange(searchDirs.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        var torchSharpDir = Path.GetDirectoryName(typeof(torch).Assembly.Location);
        if (!string.IsNullOrEmpty(torchSharpDir))
        {
            dirs.Add(torchSharpDir);
            dirs.Add(Path.Combine(torchSharpDir, "runtimes", "linux-x64", "native"));
        }
        dirs.Add(AppContext.BaseDirectory);
        return dirs.Select(Path.GetFullPath).Distinct(StringComparer.Ordinal);
    }
}
