using System.Reflection;
using System.Runtime.InteropServices;

namespace OrganicScreen.Chem;

/// <summary>
/// P/Invoke surface of libosrdkit (stages/OrganicScreen.Chem/native/src/osrdkit.h). Signatures mirror
/// the C header one to one; keep <see cref="AbiVersion"/> in step with OSR_ABI_VERSION.
/// </summary>
internal static unsafe partial class NativeMethods
{
    internal const string Library = "osrdkit";
    internal const int ExpectedAbiVersion = 8;

    internal const int ValidMolecule = 1;
    internal const int InvalidMolecule = 0;
    internal const int Ok = 0;
    internal const int ErrorArgument = -1;
    internal const int ErrorMemory = -2;
    internal const int ErrorInternal = -3;
    internal const int ErrorTooLarge = -4;

    internal const int FlagNone = 0;
    internal const int FlagSkipCanonical = 1;
    internal const int FlagSeparateSpecs = 2;
    internal const int FlagFullSanitize = 4;
    internal const int FlagRdkitMorgan = 8;
    internal const int FlagDescriptors = 16;
    internal const int FlagGraphs = 32;

    // An explicit static constructor (no beforefieldinit) runs before the first P/Invoke stub below,
    // so the resolver is registered exactly once per process without mutable static state.
    static NativeMethods() => NativeLibrary.SetDllImportResolver(typeof(NativeMethods).Assembly, NativeLibraryLocator.Resolve);

    [LibraryImport(Library, EntryPoint = "osr_abi_version")]
    internal static partial int AbiVersion();

    [LibraryImport(Library, EntryPoint = "osr_rdkit_version")]
    internal static partial nint RdkitVersion();

    [LibraryImport(Library, EntryPoint = "osr_free")]
    internal static partial void Free(nint pointer);

    [LibraryImport(Library, EntryPoint = "osr_parse")]
    internal static partial int Parse(byte* smiles, int smilesLength, out nint text, out int textLength);

    [LibraryImport(Library, EntryPoint = "osr_fingerprint")]
    internal static partial int Fingerprint(byte* smiles, int smilesLength, int radius, int bits,
        out nint onBits, out int count, out nint error, out int errorLength);

    [LibraryImport(Library, EntryPoint = "osr_featurize")]
    internal static partial int Featurize(byte* utf8, int* offsets, int count, int* radii, int* bits, int specCount,
        int threads, int flags, out nint batch);

    [LibraryImport(Library, EntryPoint = "osr_batch_text_bytes")]
    internal static partial int BatchTextBytes(nint batch);

    [LibraryImport(Library, EntryPoint = "osr_batch_nnz")]
    internal static partial int BatchNonZeros(nint batch, int spec);

    [LibraryImport(Library, EntryPoint = "osr_batch_copy_text")]
    internal static partial int BatchCopyText(nint batch, byte* valid, int* textOffsets, byte* text);

    [LibraryImport(Library, EntryPoint = "osr_batch_copy_fingerprint")]
    internal static partial int BatchCopyFingerprint(nint batch, int spec, int* offsets, int* indices);

    internal const int GraphAtom = 0;
    internal const int GraphBond = 1;

    [LibraryImport(Library, EntryPoint = "osr_graph_feature_count")]
    internal static partial int GraphFeatureCount(int kind);

    [LibraryImport(Library, EntryPoint = "osr_graph_feature_names")]
    internal static partial nint GraphFeatureNames(int kind);

    [LibraryImport(Library, EntryPoint = "osr_graphs")]
    internal static partial int Graphs(byte* utf8, int* offsets, int count, int threads, int flags, out nint batch);

    [LibraryImport(Library, EntryPoint = "osr_batch_graph_size")]
    internal static partial int BatchGraphSize(nint batch, out int atoms, out int bonds);

    [LibraryImport(Library, EntryPoint = "osr_batch_copy_graphs")]
    internal static partial int BatchCopyGraphs(nint batch, int* atomOffsets, float* atomFeatures, int* bondOffsets,
        int* bondAtoms, float* bondFeatures);

    [LibraryImport(Library, EntryPoint = "osr_descriptors")]
    internal static partial int Descriptors(byte* utf8, int* offsets, int count, int threads, out nint batch);

    [LibraryImport(Library, EntryPoint = "osr_batch_copy_descriptors")]
    internal static partial int BatchCopyDescriptors(nint batch, double* molarMass, int* heavyAtoms, int* formalCharge, int* fragments);

    [LibraryImport(Library, EntryPoint = "osr_molecules")]
    internal static partial int Molecules(byte* utf8, int* offsets, int count, int* radii, int* bits, int specCount,
        int threads, int flags, out nint batch);

    [LibraryImport(Library, EntryPoint = "osr_batch_element_bytes")]
    internal static partial int BatchElementBytes(nint batch);

    [LibraryImport(Library, EntryPoint = "osr_batch_copy_elements")]
    internal static partial int BatchCopyElements(nint batch, int* elementOffsets, byte* elements);

    internal const int DepictTransparent = 1;

    [LibraryImport(Library, EntryPoint = "osr_depict_svg")]
    internal static partial int DepictSvg(byte* smiles, int smilesLength, int width, int height, int flags,
        out nint text, out int textLength);

    [LibraryImport(Library, EntryPoint = "osr_sdf_record")]
    internal static partial int SdfRecord(byte* block, int blockLength, int linesBefore, out nint text, out int textLength,
        out int fields);

    [LibraryImport(Library, EntryPoint = "osr_library_create")]
    internal static partial int LibraryCreate(byte* utf8, int* offsets, int cores, int substituents, out nint library,
        out int bad, out nint error, out int errorLength);

    [LibraryImport(Library, EntryPoint = "osr_library_sites")]
    internal static partial int LibrarySites(nint library, int core);

    [LibraryImport(Library, EntryPoint = "osr_library_build")]
    internal static partial int LibraryBuild(nint library, int* rows, int count, int width, int threads, int flags, out nint batch);

    [LibraryImport(Library, EntryPoint = "osr_library_site_permutations")]
    internal static partial int LibrarySitePermutations(nint library, int core, int* permutations, int capacity);

    [LibraryImport(Library, EntryPoint = "osr_library_free")]
    internal static partial void LibraryFree(nint library);

    [LibraryImport(Library, EntryPoint = "osr_batch_free")]
    internal static partial void BatchFree(nint batch);

    /// <summary>Maps a negative shim status to the exception a .NET caller expects.</summary>
    internal static Exception Failure(int status, string operation) => status switch
    {
        ErrorArgument => new ArgumentException($"libosrdkit rejected the arguments of {operation}."),
        ErrorMemory => new OutOfMemoryException($"libosrdkit ran out of memory in {operation}."),
        ErrorTooLarge => new InvalidOperationException($"{operation}: result exceeds 2^31-1 elements; split the batch."),
        _ => new InvalidOperationException($"libosrdkit internal error {status} in {operation}."),
    };
}

/// <summary>
/// Finds libosrdkit.so when the default probe (application directory, LD_LIBRARY_PATH) misses it:
/// <c>$ORGANICSCREEN_NATIVE_DIR</c>, then <c>artifacts/native/</c> of the enclosing repository
/// (found by walking up to OrganicScreen.sln), so tests and tools run from any bin folder.
/// </summary>
internal static class NativeLibraryLocator
{
    internal const string EnvironmentVariable = "ORGANICSCREEN_NATIVE_DIR";
    internal const string FileName = "libosrdkit.so";

    internal static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != NativeMethods.Library) return 0;
        if (NativeLibrary.TryLoad(libraryName, assembly, searchPath, out var handle)) return handle;
        foreach (var candidate in Candidates())
            if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out handle))
                return handle;
        return 0; // the runtime then throws DllNotFoundException; Rdkit's constructor rewords it
    }

    /// <summary>Every path probed after the default search, in order (also used for error messages).</summary>
    internal static IEnumerable<string> Candidates()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
            yield return Path.Combine(fromEnvironment, FileName);
        yield return Path.Combine(AppContext.BaseDirectory, FileName);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OrganicScreen.sln")))
            {
                yield return Path.Combine(dir.FullName, "artifacts", "native", FileName);
                yield break;
            }
        }
    }
}
