using System.Buffers;
using System.Collections.ObjectModel;
using System.Runtime.InteropServices;
using System.Text;
using OrganicScreen.Core;

namespace OrganicScreen.Chem;

/// <summary>A SMILES as RDKit sees it: the canonical form, or RDKit's reason for rejecting it.</summary>
public sealed record ParsedSmiles(string Input, string? Canonical, string? Error)
{
    public bool IsValid => Error is null;
}

/// <summary>
/// Result of <see cref="Rdkit.Featurize"/>: one <see cref="ParsedSmiles"/> per input, in input order, and
/// one matrix per distinct spec whose row <c>i</c> holds molecule <c>i</c>'s on-bits (empty when invalid).
/// </summary>
public sealed record FeaturizedBatch(
    IReadOnlyList<ParsedSmiles> Molecules,
    IReadOnlyDictionary<FingerprintSpec, SparseBitMatrix> Fingerprints);

/// <summary>
/// Result of <see cref="Rdkit.Graphs(IReadOnlyList{string}, int)"/>: one <see cref="ParsedSmiles"/> per input, in input order,
/// and the graphs of all of them in that order (an invalid molecule has zero atoms and bonds).
/// </summary>
public sealed record MolecularGraphBatch(IReadOnlyList<ParsedSmiles> Molecules, MolecularGraphs Graphs);

/// <summary>
/// Whole-molecule descriptors from <see cref="Rdkit.Descriptors"/>. <see cref="MolarMass"/> is the average molar
/// mass in g/mol with implicit hydrogens (RDKit <c>calcAMW</c> = Python <c>Descriptors.MolWt</c>);
/// <see cref="Elements"/> the distinct element symbols in ordinal order, with "H" whenever any atom carries a
/// hydrogen, implicit or explicit (ethanol: C, H, O; <c>[Na+].[Cl-]</c>: Cl, Na); <see cref="FormalCharge"/>
/// the sum of formal charges; <see cref="Fragments"/> the number of disconnected pieces (salts, mixtures).
/// </summary>
public sealed record MoleculeDescriptors(double MolarMass, int HeavyAtoms, IReadOnlyList<string> Elements, int FormalCharge, int Fragments);

/// <summary>
/// One input of <see cref="Rdkit.Descriptors"/>: <see cref="Descriptors"/> when RDKit accepts the SMILES, else
/// null with <see cref="Error"/> (RDKit's message or the <see cref="SmilesGuard"/> reason), as in <see cref="ParsedSmiles"/>.
/// </summary>
public sealed record DescribedMolecule(string Input, MoleculeDescriptors? Descriptors, string? Error)
{
    public bool IsValid => Error is null;
}

/// <summary>
/// What <see cref="Rdkit.Molecules(IReadOnlyList{string}, MoleculeRequest, int)"/> computes from its one parse of each molecule: the on-bits of every spec, and
/// optionally canonical SMILES, descriptors and molecular graphs. Without canonical SMILES and graphs the parse takes
/// the fingerprint-only fast path (same verdicts, error texts, bits and descriptors as <c>Chem.MolFromSmiles</c>).
/// </summary>
public sealed record MoleculeRequest(IReadOnlyList<FingerprintSpec> Fingerprints, bool CanonicalSmiles = true, bool Descriptors = false, bool Graphs = false);

/// <summary>
/// Result of <see cref="Rdkit.Molecules(IReadOnlyList{string}, MoleculeRequest, int)"/>, one row per input in input order: the verdict (with the canonical SMILES when
/// asked for), one matrix per distinct spec (empty rows for invalid molecules), the descriptors (null for an invalid
/// molecule, or for all when not asked for) and the graphs (null when not asked for; invalid molecules have none).
/// </summary>
public sealed record FeaturizedMolecules(
    IReadOnlyList<ParsedSmiles> Molecules,
    IReadOnlyDictionary<FingerprintSpec, SparseBitMatrix> Fingerprints,
    IReadOnlyList<MoleculeDescriptors?>? Descriptors,
    MolecularGraphs? Graphs);

/// <summary>
/// Column names of <see cref="MolecularGraphs.AtomFeatures"/> / <see cref="MolecularGraphs.BondFeatures"/> as
/// <see cref="Rdkit.Graphs(IReadOnlyList{string}, int)"/> writes them: Chemprop v1 features, each one-hot block
/// ending in an "other" slot for values outside its choices. Atoms (47): element (H B C N O F Si P S Cl Se Br Te I,
/// other), total degree 0-5, formal charge -2..+2, chiral tag, total H count 0-4, hybridisation (SP..SP3D2), then
/// aromatic (0/1) and mass*0.01. Bonds (13): type single/double/triple/aromatic (no other slot, so a dative or
/// zero-order bond has an all-zero block), conjugated, in ring, stereo (7). Chemprop v1's "bond is None" slot is
/// left out. Mirrors osrdkit.h; a test compares these names with the native library's.
/// </summary>
public static class GraphFeatureLayout
{
    // Immutable after type initialisation (ReadOnlyCollection over arrays nobody else sees).
    public static IReadOnlyList<string> AtomFeatureNames { get; } = Array.AsReadOnly(
    [
        .. new[] { "H", "B", "C", "N", "O", "F", "Si", "P", "S", "Cl", "Se", "Br", "Te", "I", "other" }.Select(e => "element=" + e),
        .. new[] { "0", "1", "2", "3", "4", "5", "other" }.Select(d => "degree=" + d),
        .. new[] { "-2", "-1", "0", "+1", "+2", "other" }.Select(c => "formal_charge=" + c),
        .. new[] { "CHI_UNSPECIFIED", "CHI_TETRAHEDRAL_CW", "CHI_TETRAHEDRAL_CCW", "CHI_OTHER", "other" }.Select(t => "chiral_tag=" + t),
        .. new[] { "0", "1", "2", "3", "4", "other" }.Select(h => "num_hs=" + h),
        .. new[] { "SP", "SP2", "SP3", "SP3D", "SP3D2", "other" }.Select(h => "hybridization=" + h),
        "aromatic",
        "mass*0.01",
    ]);

    public static IReadOnlyList<string> BondFeatureNames { get; } = Array.AsReadOnly(
    [
        "bond_type=SINGLE", "bond_type=DOUBLE", "bond_type=TRIPLE", "bond_type=AROMATIC",
        "conjugated",
        "in_ring",
        .. new[] { "STEREONONE", "STEREOANY", "STEREOZ", "STEREOE", "STEREOCIS", "STEREOTRANS", "other" }.Select(s => "stereo=" + s),
    ]);
}

/// <summary>
/// Which native pieces the fingerprint-only mode (<c>canonicalSmiles: false</c>) uses. All give identical
/// bits, validity and error texts (tests compare them); the non-default ones exist for tests and the benchmark.
/// </summary>
[Flags]
internal enum FingerprintOnlyPath
{
    /// <summary>Partial sanitisation (skips conjugation, hybridisation, stereo perception) and the ported Morgan loop.</summary>
    Fast = 0,
    /// <summary>Full <c>Chem.MolFromSmiles</c> parsing instead of the partial sanitisation.</summary>
    FullSanitize = 1,
    /// <summary>RDKit's own Morgan code instead of the port.</summary>
    RdkitMorgan = 2,
    /// <summary>The path before the fast one existed.</summary>
    Legacy = FullSanitize | RdkitMorgan,
}

/// <summary>
/// RDKit 2022.09 through the libosrdkit shim: SMILES validation/canonicalisation, Morgan bit
/// fingerprints identical to Python's <c>AllChem.GetMorganFingerprintAsBitVect(mol, radius, nBits)</c>,
/// Chemprop v1 molecular graphs (<see cref="Graphs(IReadOnlyList{string}, int)"/>), descriptors
/// (<see cref="Descriptors"/>), SVG depictions (<see cref="DepictSvg"/>) and SD file reading
/// (<see cref="ReadSdf(Stream, int)"/>). Every SMILES passes <see cref="SmilesGuard"/> (<see cref="Limits"/>) first.
/// Instances hold no state besides the version string and the limits, so they are cheap and thread-safe; RDKit's
/// own log output is captured natively and surfaces only as error text.
/// </summary>
public sealed class Rdkit
{
    public const int MaxRadius = 10;
    public const int MaxBits = 1 << 20;
    /// <summary>Default longest SD record <see cref="ReadSdf(Stream, int)"/> passes to RDKit: 8 Mi characters (a 150-atom molblock is ~15 kB).</summary>
    public const int DefaultMaxSdfRecordChars = 8 << 20;
    /// <summary>Smallest and largest <see cref="DepictSvg"/> width/height in pixels.</summary>
    public const int MinDepictionSize = 16;
    public const int MaxDepictionSize = 4096;

    // Inputs up to this many UTF-8 bytes are encoded on the stack; longer ones rent from the pool.
    private const int StackEncodeLimit = 1024;

    /// <summary>Loads the shim with the default <see cref="SmilesLimits"/> (150 heavy atoms).</summary>
    public Rdkit() : this(SmilesLimits.Default) { }

    /// <param name="limits">What <see cref="SmilesGuard"/> lets through to RDKit from every entry point.</param>
    public Rdkit(SmilesLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        Limits = limits;
        int abi;
        try
        {
            abi = NativeMethods.AbiVersion();
        }
        catch (DllNotFoundException e)
        {
            throw new DllNotFoundException(MissingShimMessage(), e);
        }
        catch (EntryPointNotFoundException e)
        {
            throw new DllNotFoundException(
                $"The {NativeLibraryLocator.FileName} that was loaded is not the OrganicScreen RDKit shim or is out of date; run ./build.sh --target Build.", e);
        }
        if (abi != NativeMethods.ExpectedAbiVersion)
            throw new InvalidOperationException(
                $"{NativeLibraryLocator.FileName} has ABI version {abi}, this assembly expects {NativeMethods.ExpectedAbiVersion}; run ./build.sh --target Build.");
        // Same ABI but a different feature table would silently misalign every graph column.
        if (NativeMethods.GraphFeatureCount(NativeMethods.GraphAtom) != GraphFeatureLayout.AtomFeatureNames.Count
            || NativeMethods.GraphFeatureCount(NativeMethods.GraphBond) != GraphFeatureLayout.BondFeatureNames.Count)
            throw new InvalidOperationException(
                $"{NativeLibraryLocator.FileName} writes a graph feature layout this assembly does not know; run ./build.sh --target Build.");
        Version = Marshal.PtrToStringUTF8(NativeMethods.RdkitVersion()) ?? "unknown";
    }

    /// <summary>RDKit's version, e.g. <c>2022.09.3</c>.</summary>
    public string Version { get; }

    /// <summary>
    /// Input limits checked by <see cref="SmilesGuard"/> before any SMILES reaches RDKit; a rejected input is
    /// invalid with the guard's reason as its error, exactly like an RDKit rejection.
    /// </summary>
    public SmilesLimits Limits { get; }

    /// <summary>Parses with default sanitisation (<c>Chem.MolFromSmiles</c>) and writes RDKit's canonical SMILES.</summary>
    public unsafe ParsedSmiles Parse(string smiles)
    {
        ArgumentNullException.ThrowIfNull(smiles);
        if (SmilesGuard.Check(smiles, Limits) is { } rejected) return new ParsedSmiles(smiles, null, rejected);
        var max = Encoding.UTF8.GetMaxByteCount(smiles.Length);
        byte[]? rented = null;
        var buffer = max <= StackEncodeLimit ? stackalloc byte[max] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var length = Encoding.UTF8.GetBytes(smiles, buffer);
            int status;
            nint text;
            int textLength;
            fixed (byte* p = buffer)
                status = NativeMethods.Parse(p, length, out text, out textLength);
            if (status < 0) throw NativeMethods.Failure(status, nameof(Parse));
            var message = TakeString(text, textLength);
            return status == NativeMethods.ValidMolecule
                ? new ParsedSmiles(smiles, message, null)
                : new ParsedSmiles(smiles, null, message);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>On-bits (ascending) of the Morgan bit fingerprint; throws <see cref="InvalidSmilesException"/> when RDKit rejects the SMILES.</summary>
    public unsafe int[] Fingerprint(string smiles, FingerprintSpec spec)
    {
        ArgumentNullException.ThrowIfNull(smiles);
        ArgumentNullException.ThrowIfNull(spec);
        Validate(spec);
        if (SmilesGuard.Check(smiles, Limits) is { } rejected) throw new InvalidSmilesException(rejected, smiles);
        var max = Encoding.UTF8.GetMaxByteCount(smiles.Length);
        byte[]? rented = null;
        var buffer = max <= StackEncodeLimit ? stackalloc byte[max] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var length = Encoding.UTF8.GetBytes(smiles, buffer);
            int status;
            nint bits, error;
            int count, errorLength;
            fixed (byte* p = buffer)
                status = NativeMethods.Fingerprint(p, length, spec.Radius, spec.Bits, out bits, out count, out error, out errorLength);
            if (status < 0) throw NativeMethods.Failure(status, nameof(Fingerprint));
            if (status == NativeMethods.InvalidMolecule)
                throw new InvalidSmilesException(TakeString(error, errorLength), smiles);
            try
            {
                return new ReadOnlySpan<int>((void*)bits, count).ToArray();
            }
            finally
            {
                NativeMethods.Free(bits);
            }
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Parses and fingerprints many molecules in one native call on <paramref name="threads"/> threads
    /// (0 = all cores). Invalid molecules get their error and an empty row in every matrix. Duplicate
    /// specs are computed once. <paramref name="canonicalSmiles"/> = false skips RDKit's canonical
    /// SMILES writer and leaves <see cref="ParsedSmiles.Canonical"/> null; it also takes the
    /// fingerprint-only fast path (partial sanitisation, ported Morgan loop) whose bits, validity
    /// and error texts equal the full path's.
    /// </summary>
    public FeaturizedBatch Featurize(IReadOnlyList<string> smiles, IReadOnlyList<FingerprintSpec> specs,
        int threads = 0, bool canonicalSmiles = true) =>
        Featurize(smiles, specs, threads, canonicalSmiles, separateSpecs: false);

    /// <param name="separateSpecs">
    /// Test hook: one RDKit getFingerprintAsBitVect call per spec instead of the shared Morgan pass
    /// (identical bits by construction; tests prove it).
    /// </param>
    /// <param name="path">Test/benchmark hook for the fingerprint-only mode; ignored when <paramref name="canonicalSmiles"/> is true.</param>
    internal unsafe FeaturizedBatch Featurize(IReadOnlyList<string> smiles, IReadOnlyList<FingerprintSpec> specs,
        int threads, bool canonicalSmiles, bool separateSpecs, FingerprintOnlyPath path = FingerprintOnlyPath.Fast)
    {
        ArgumentNullException.ThrowIfNull(smiles);
        ArgumentNullException.ThrowIfNull(specs);
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        var distinct = Distinct(specs);
        var (radii, bits) = SpecArrays(distinct);
        var flags = (canonicalSmiles ? NativeMethods.FlagNone : NativeMethods.FlagSkipCanonical)
                    | (separateSpecs ? NativeMethods.FlagSeparateSpecs : NativeMethods.FlagNone) | PathFlags(path);
        return RunBatch(smiles, canonicalSmiles, nameof(Featurize),
            (byte* utf8, int* offsets, int n, out nint batch) =>
            {
                fixed (int* pRadii = radii, pBits = bits)
                    return NativeMethods.Featurize(utf8, offsets, n, pRadii, pBits, distinct.Count, threads, flags, out batch);
            },
            (batch, molecules) => new FeaturizedBatch(Array.AsReadOnly(molecules), ReadFingerprints(batch, distinct, smiles.Count, nameof(Featurize))));
    }

    /// <summary>
    /// Molecular graphs for a D-MPNN (Chemprop v1 atom/bond features, layout in <see cref="GraphFeatureLayout"/>)
    /// of many molecules in one native call on <paramref name="threads"/> threads (0 = all cores). Each SMILES is
    /// parsed like <c>Chem.MolFromSmiles</c>; graph atoms are the molecule's atoms (<c>GetNumAtoms()</c>: hydrogens
    /// are implicit and counted in the features), bonds are RDKit's, both in RDKit's index order. Invalid molecules
    /// have zero atoms and bonds and RDKit's message as <see cref="ParsedSmiles.Error"/>. For speed no canonical
    /// SMILES is written: <see cref="ParsedSmiles.Canonical"/> is null for every molecule.
    /// </summary>
    public MolecularGraphBatch Graphs(IReadOnlyList<string> smiles, int threads = 0) =>
        Graphs(smiles, threads, canonicalSmiles: false);

    /// <param name="canonicalSmiles">Also write canonical SMILES (tests compare the verdicts with <see cref="Parse"/>).</param>
    internal unsafe MolecularGraphBatch Graphs(IReadOnlyList<string> smiles, int threads, bool canonicalSmiles)
    {
        ArgumentNullException.ThrowIfNull(smiles);
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        var flags = canonicalSmiles ? NativeMethods.FlagNone : NativeMethods.FlagSkipCanonical;
        return RunBatch(smiles, canonicalSmiles, nameof(Graphs),
            (byte* utf8, int* offsets, int n, out nint batch) => NativeMethods.Graphs(utf8, offsets, n, threads, flags, out batch),
            (batch, molecules) => new MolecularGraphBatch(Array.AsReadOnly(molecules), ReadGraphs(batch, smiles.Count, nameof(Graphs))));
    }

    /// <summary>
    /// 2-D structure drawing as SVG text, made as Python would: <c>rdDepictor.Compute2DCoords</c>,
    /// <c>rdMolDraw2D.PrepareMolForDrawing</c>, <c>MolDraw2DSVG(width, height).DrawMolecule</c>. The text starts at
    /// the <c>&lt;svg&gt;</c> element (RDKit's XML declaration is dropped) so it can be inlined in HTML; the same
    /// input always gives the same bytes. Throws <see cref="InvalidSmilesException"/> when the SMILES is rejected.
    /// </summary>
    /// <param name="width">Pixels, <see cref="MinDepictionSize"/>..<see cref="MaxDepictionSize"/>.</param>
    /// <param name="height">Pixels, same range.</param>
    /// <param name="transparentBackground">Leave out the white background rectangle (for dark pages).</param>
    public unsafe string DepictSvg(string smiles, int width = 250, int height = 200, bool transparentBackground = false)
    {
        ArgumentNullException.ThrowIfNull(smiles);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, MinDepictionSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(width, MaxDepictionSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, MinDepictionSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(height, MaxDepictionSize);
        if (SmilesGuard.Check(smiles, Limits) is { } rejected) throw new InvalidSmilesException(rejected, smiles);
        var utf8 = Encoding.UTF8.GetBytes(smiles); // drawing costs milliseconds; one small array is noise
        int status;
        nint text;
        int textLength;
        fixed (byte* p = utf8)
            status = NativeMethods.DepictSvg(p, utf8.Length, width, height,
                transparentBackground ? NativeMethods.DepictTransparent : 0, out text, out textLength);
        if (status < 0) throw NativeMethods.Failure(status, nameof(DepictSvg));
        var message = TakeString(text, textLength);
        return status == NativeMethods.ValidMolecule ? message : throw new InvalidSmilesException(message, smiles);
    }

    /// <summary>
    /// Reads an SD file record by record with RDKit's own SD supplier (settings of Python's <c>Chem.SDMolSupplier</c>:
    /// sanitise, remove Hs, strict parsing), lazily: records are split on "$$$$" lines in managed code, so memory is
    /// bounded by one record, and a record RDKit cannot read becomes an invalid <see cref="SdfRecord"/> with RDKit's
    /// reason instead of ending the file. The stream is left open; it is read as the enumeration advances.
    /// </summary>
    /// <param name="maxRecordChars">A longer record is reported as invalid without being passed to RDKit.</param>
    public IEnumerable<SdfRecord> ReadSdf(Stream sdf, int maxRecordChars = DefaultMaxSdfRecordChars)
    {
        ArgumentNullException.ThrowIfNull(sdf);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRecordChars, 1);
        return SdfReader.Read(sdf, maxRecordChars);
    }

    /// <summary><see cref="ReadSdf(Stream, int)"/> over a file, opened when the enumeration starts and closed when it ends.</summary>
    public IEnumerable<SdfRecord> ReadSdf(string path, int maxRecordChars = DefaultMaxSdfRecordChars)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRecordChars, 1);
        return ReadFile(path, maxRecordChars);

        static IEnumerable<SdfRecord> ReadFile(string path, int maxRecordChars)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            foreach (var record in SdfReader.Read(stream, maxRecordChars)) yield return record;
        }
    }

    /// <summary>
    /// Descriptors (<see cref="MoleculeDescriptors"/>) of many molecules in one native call on <paramref name="threads"/>
    /// threads (0 = all cores), one result per input in input order. Parsing is <c>Chem.MolFromSmiles</c>.
    /// </summary>
    public unsafe IReadOnlyList<DescribedMolecule> Descriptors(IReadOnlyList<string> smiles, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(smiles);
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        // Valid molecules' text is the element list (ReadMolecules reads it as the "canonical" text).
        return RunBatch(smiles, canonicalSmiles: true, nameof(Descriptors),
            (byte* utf8, int* offsets, int n, out nint batch) => NativeMethods.Descriptors(utf8, offsets, n, threads, out batch),
            (batch, texts) =>
            {
                var described = ReadDescriptors(batch, texts, i => texts[i].Canonical!, nameof(Descriptors));
                var results = new DescribedMolecule[smiles.Count];
                for (var i = 0; i < results.Length; i++) results[i] = new DescribedMolecule(smiles[i], described[i], texts[i].Error);
                return (IReadOnlyList<DescribedMolecule>)Array.AsReadOnly(results);
            });
    }

    /// <summary>
    /// Everything <paramref name="request"/> asks for from ONE parse of each molecule, in one native call on
    /// <paramref name="threads"/> threads (0 = all cores): RDKit's verdict (and canonical SMILES), the on-bits of every
    /// spec, descriptors, molecular graphs. Each result equals what <see cref="Featurize"/>, <see cref="Descriptors"/> and
    /// <see cref="Graphs(IReadOnlyList{string}, int)"/> give for the same SMILES (tests compare them), at the cost of one
    /// parse instead of one per call: RDKit's parsing and sanitisation is most of the cost of each.
    /// </summary>
    public FeaturizedMolecules Molecules(IReadOnlyList<string> smiles, MoleculeRequest request, int threads = 0) =>
        Molecules(smiles, request, threads, FingerprintOnlyPath.Fast);

    /// <param name="path">Test hook: the full parse and/or RDKit's Morgan code instead of the fast pieces.</param>
    internal unsafe FeaturizedMolecules Molecules(IReadOnlyList<string> smiles, MoleculeRequest request, int threads, FingerprintOnlyPath path)
    {
        ArgumentNullException.ThrowIfNull(smiles);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Fingerprints);
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        var distinct = Distinct(request.Fingerprints);
        var (radii, bits) = SpecArrays(distinct);
        var flags = (request.CanonicalSmiles ? NativeMethods.FlagNone : NativeMethods.FlagSkipCanonical)
                    | (request.Descriptors ? NativeMethods.FlagDescriptors : NativeMethods.FlagNone)
                    | (request.Graphs ? NativeMethods.FlagGraphs : NativeMethods.FlagNone) | PathFlags(path);
        return RunBatch(smiles, request.CanonicalSmiles, nameof(Molecules),
            (byte* utf8, int* offsets, int n, out nint batch) =>
            {
                fixed (int* pRadii = radii, pBits = bits)
                    return NativeMethods.Molecules(utf8, offsets, n, pRadii, pBits, distinct.Count, threads, flags, out batch);
            },
            (batch, molecules) =>
            {
                var n = smiles.Count;
                IReadOnlyList<MoleculeDescriptors?>? descriptors = null;
                if (request.Descriptors)
                {
                    var elementBytes = NativeMethods.BatchElementBytes(batch);
                    if (elementBytes < 0) throw NativeMethods.Failure(elementBytes, nameof(Molecules));
                    var elementOffsets = new int[n + 1];
                    var elements = new byte[Math.Max(elementBytes, 1)];
                    int status;
                    fixed (int* pElementOffsets = elementOffsets)
                    fixed (byte* pElements = elements)
                        status = NativeMethods.BatchCopyElements(batch, pElementOffsets, pElements);
                    if (status < 0) throw NativeMethods.Failure(status, nameof(Molecules));
                    descriptors = ReadDescriptors(batch, molecules,
                        i => Encoding.ASCII.GetString(elements, elementOffsets[i], elementOffsets[i + 1] - elementOffsets[i]), nameof(Molecules));
                }

                return new FeaturizedMolecules(Array.AsReadOnly(molecules), ReadFingerprints(batch, distinct, n, nameof(Molecules)), descriptors,
                    request.Graphs ? ReadGraphs(batch, n, nameof(Molecules)) : null);
            });
    }

    /// <summary>A native batch entry point, given the encoded SMILES (see <see cref="EncodeBatch"/>): returns a status and the batch.</summary>
    private unsafe delegate int NativeBatchCall(byte* utf8, int* offsets, int count, out nint batch);

    /// <summary>
    /// The one lifecycle of every batch call: encode the SMILES (guard rejects become empty strings), call the entry
    /// point, read every molecule's verdict and text, let <paramref name="read"/> read the rest, and always free the
    /// native batch and return the pooled buffers.
    /// </summary>
    private unsafe T RunBatch<T>(IReadOnlyList<string> smiles, bool canonicalSmiles, string operation, NativeBatchCall call, Func<nint, ParsedSmiles[], T> read)
    {
        var (utf8, inputOffsets, rejected) = EncodeBatch(smiles, Limits);
        nint batch = 0;
        try
        {
            int status;
            fixed (byte* pUtf8 = utf8)
            fixed (int* pOffsets = inputOffsets)
                status = call(pUtf8, pOffsets, smiles.Count, out batch);
            if (status < 0) throw NativeMethods.Failure(status, operation);
            return read(batch, ReadMolecules(batch, smiles, utf8, inputOffsets, rejected, canonicalSmiles, operation));
        }
        finally
        {
            if (batch != 0) NativeMethods.BatchFree(batch);
            ArrayPool<byte>.Shared.Return(utf8);
            ArrayPool<int>.Shared.Return(inputOffsets);
        }
    }

    /// <summary>Radius and bit count per spec for the native side, at least one slot each so it never sees null arrays.</summary>
    private static (int[] Radii, int[] Bits) SpecArrays(List<FingerprintSpec> distinct) =>
        (distinct.Select(d => d.Radius).DefaultIfEmpty(0).ToArray(), distinct.Select(d => d.Bits).DefaultIfEmpty(0).ToArray());

    /// <summary>The test hooks' native flags: the full parse and/or RDKit's Morgan code instead of the fast pieces.</summary>
    private static int PathFlags(FingerprintOnlyPath path) =>
        (path.HasFlag(FingerprintOnlyPath.FullSanitize) ? NativeMethods.FlagFullSanitize : NativeMethods.FlagNone)
        | (path.HasFlag(FingerprintOnlyPath.RdkitMorgan) ? NativeMethods.FlagRdkitMorgan : NativeMethods.FlagNone);

    /// <summary>The specs in first-seen order without repeats (each is computed once), validated.</summary>
    private static List<FingerprintSpec> Distinct(IReadOnlyList<FingerprintSpec> specs)
    {
        var distinct = new List<FingerprintSpec>(specs.Count);
        foreach (var spec in specs)
        {
            ArgumentNullException.ThrowIfNull(spec, nameof(specs));
            Validate(spec);
            if (!distinct.Contains(spec)) distinct.Add(spec);
        }

        return distinct;
    }

    /// <summary>Spec k of a native batch as a matrix, for every spec.</summary>
    private static unsafe IReadOnlyDictionary<FingerprintSpec, SparseBitMatrix> ReadFingerprints(nint batch, List<FingerprintSpec> specs, int n, string operation)
    {
        var fingerprints = new Dictionary<FingerprintSpec, SparseBitMatrix>(specs.Count);
        for (var k = 0; k < specs.Count; k++)
        {
            var nnz = NativeMethods.BatchNonZeros(batch, k);
            if (nnz < 0) throw NativeMethods.Failure(nnz, operation);
            var rowOffsets = new int[n + 1];
            var indices = new int[nnz];
            int status;
            fixed (int* pRows = rowOffsets)
            fixed (int* pIndices = indices)
                status = NativeMethods.BatchCopyFingerprint(batch, k, pRows, pIndices);
            if (status < 0) throw NativeMethods.Failure(status, operation);
            fingerprints.Add(specs[k], new SparseBitMatrix(specs[k].Bits, rowOffsets, indices));
        }

        return fingerprints.AsReadOnly();
    }

    /// <summary>The graphs of a native batch made with graphs.</summary>
    private static unsafe MolecularGraphs ReadGraphs(nint batch, int n, string operation)
    {
        var status = NativeMethods.BatchGraphSize(batch, out var atoms, out var bonds);
        if (status < 0) throw NativeMethods.Failure(status, operation);
        var atomFeatureCount = GraphFeatureLayout.AtomFeatureNames.Count;
        var bondFeatureCount = GraphFeatureLayout.BondFeatureNames.Count;
        var atomOffsets = new int[n + 1];
        var atomFeatures = new float[(long)atoms * atomFeatureCount];
        var bondOffsets = new int[n + 1];
        var bondAtoms = new int[(long)bonds * 2];
        var bondFeatures = new float[(long)bonds * bondFeatureCount];
        fixed (int* pAtomOffsets = atomOffsets)
        fixed (float* pAtomFeatures = atomFeatures)
        fixed (int* pBondOffsets = bondOffsets)
        fixed (int* pBondAtoms = bondAtoms)
        fixed (float* pBondFeatures = bondFeatures)
            status = NativeMethods.BatchCopyGraphs(batch, pAtomOffsets, pAtomFeatures, pBondOffsets, pBondAtoms, pBondFeatures);
        if (status < 0) throw NativeMethods.Failure(status, operation);
        return new MolecularGraphs(atomFeatureCount, bondFeatureCount, atomOffsets, atomFeatures, bondOffsets, bondAtoms, bondFeatures);
    }

    /// <summary>Descriptors of a native batch made with descriptors: null for invalid molecules; <paramref name="elementsOf"/> gives molecule i's element list ("C,H,O").</summary>
    private static unsafe MoleculeDescriptors?[] ReadDescriptors(nint batch, ParsedSmiles[] molecules, Func<int, string> elementsOf, string operation)
    {
        var n = molecules.Length;
        var mass = new double[n];
        var heavy = new int[n];
        var charge = new int[n];
        var fragments = new int[n];
        int status;
        fixed (double* pMass = mass)
        fixed (int* pHeavy = heavy)
        fixed (int* pCharge = charge)
        fixed (int* pFragments = fragments)
            status = NativeMethods.BatchCopyDescriptors(batch, pMass, pHeavy, pCharge, pFragments);
        if (status < 0) throw NativeMethods.Failure(status, operation);
        var results = new MoleculeDescriptors?[n];
        for (var i = 0; i < n; i++)
        {
            if (!molecules[i].IsValid) continue;
            var elements = elementsOf(i);
            results[i] = new MoleculeDescriptors(mass[i], heavy[i], Array.AsReadOnly(elements.Length == 0 ? [] : elements.Split(',')), charge[i], fragments[i]);
        }

        return results;
    }

    /// <summary>
    /// All inputs as one contiguous UTF-8 buffer + offsets (n+1), both rented from the pool (the caller returns
    /// them): a single P/Invoke for the whole batch, and repeated batches allocate only their results.
    /// Inputs <see cref="SmilesGuard"/> rejects are sent as empty strings (RDKit never sees them; the native
    /// side marks them invalid at no cost) and their reasons returned; <c>Rejected</c> is null when none is.
    /// </summary>
    private static (byte[] Utf8, int[] Offsets, string?[]? Rejected) EncodeBatch(IReadOnlyList<string> smiles, SmilesLimits limits)
    {
        var n = smiles.Count;
        string?[]? rejected = null;
        long total = 0;
        for (var i = 0; i < n; i++)
        {
            var reason = SmilesGuard.Check(smiles[i] ?? throw new ArgumentException($"smiles[{i}] is null.", nameof(smiles)), limits);
            if (reason is null)
                total += Encoding.UTF8.GetByteCount(smiles[i]);
            else
                (rejected ??= new string?[n])[i] = reason;
        }
        if (total > Array.MaxLength) throw new ArgumentException("Batch exceeds 2 GB of SMILES; split it.", nameof(smiles));
        var utf8 = ArrayPool<byte>.Shared.Rent((int)Math.Max(total, 1));
        var offsets = ArrayPool<int>.Shared.Rent(n + 1);
        var at = 0;
        offsets[0] = 0;
        for (var i = 0; i < n; i++)
        {
            if (rejected?[i] is null) at += Encoding.UTF8.GetBytes(smiles[i], utf8.AsSpan(at));
            offsets[i + 1] = at;
        }
        return (utf8, offsets, rejected);
    }

    /// <summary>One <see cref="ParsedSmiles"/> per input from a native batch's validity flags and texts.</summary>
    private static unsafe ParsedSmiles[] ReadMolecules(nint batch, IReadOnlyList<string> smiles, byte[] utf8, int[] inputOffsets,
        string?[]? rejected, bool canonicalSmiles, string operation)
    {
        var n = smiles.Count;
        var textBytes = NativeMethods.BatchTextBytes(batch);
        if (textBytes < 0) throw NativeMethods.Failure(textBytes, operation);
        var text = ArrayPool<byte>.Shared.Rent(Math.Max(textBytes, 1));
        var valid = ArrayPool<byte>.Shared.Rent(Math.Max(n, 1));
        var textOffsets = ArrayPool<int>.Shared.Rent(n + 1);
        try
        {
            int status;
            fixed (byte* pValid = valid)
            fixed (int* pTextOffsets = textOffsets)
            fixed (byte* pText = text)
                status = NativeMethods.BatchCopyText(batch, pValid, pTextOffsets, pText);
            if (status < 0) throw NativeMethods.Failure(status, operation);

            var molecules = new ParsedSmiles[n];
            for (var i = 0; i < n; i++)
            {
                var bytes = text.AsSpan(textOffsets[i], textOffsets[i + 1] - textOffsets[i]);
                if (rejected?[i] is { } reason)
                    molecules[i] = new ParsedSmiles(smiles[i], null, reason);
                else if (valid[i] == 0)
                    molecules[i] = new ParsedSmiles(smiles[i], null, Encoding.UTF8.GetString(bytes));
                else if (!canonicalSmiles)
                    molecules[i] = new ParsedSmiles(smiles[i], null, null);
                else
                {
                    // Inputs that are already canonical (common in curated sets) reuse the input string.
                    var input = utf8.AsSpan(inputOffsets[i], inputOffsets[i + 1] - inputOffsets[i]);
                    var canonical = bytes.SequenceEqual(input) ? smiles[i] : Encoding.UTF8.GetString(bytes);
                    molecules[i] = new ParsedSmiles(smiles[i], canonical, null);
                }
            }
            return molecules;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(text);
            ArrayPool<byte>.Shared.Return(valid);
            ArrayPool<int>.Shared.Return(textOffsets);
        }
    }

    private static void Validate(FingerprintSpec spec)
    {
        if (spec.Radius is < 0 or > MaxRadius)
            throw new ArgumentOutOfRangeException(nameof(spec), spec.Radius, $"Morgan radius must be 0..{MaxRadius}.");
        if (spec.Bits is < 1 or > MaxBits)
            throw new ArgumentOutOfRangeException(nameof(spec), spec.Bits, $"Fingerprint bits must be 1..{MaxBits}.");
    }

    /// <summary>Copies a shim-allocated UTF-8 string and frees it.</summary>
    private static unsafe string TakeString(nint pointer, int length)
    {
        try
        {
            return pointer == 0 ? string.Empty : Encoding.UTF8.GetString((byte*)pointer, length);
        }
        finally
        {
            NativeMethods.Free(pointer);
        }
    }

    private static string MissingShimMessage() =>
        $"The RDKit shim {NativeLibraryLocator.FileName} was not found; run ./build.sh --target Build "
        + $"(or cmake -S stages/OrganicScreen.Chem/native -B artifacts/native/build && cmake --build artifacts/native/build), "
        + $"or set {NativeLibraryLocator.EnvironmentVariable} to the folder that holds it. It also needs RDKit 2022.09 "
        + $"(Debian: apt-get install librdkit1). Looked in the default search path and: "
        + string.Join(", ", NativeLibraryLocator.Candidates());
}
