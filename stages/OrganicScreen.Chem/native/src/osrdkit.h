/*
 * osrdkit: the C ABI between OrganicScreen (.NET) and RDKit.
 *
 * Rules that keep it ABI-safe for P/Invoke:
 *  - only int32_t/int64_t/uint8_t/char and pointers to them (and to float/double arrays) cross the
 *    boundary; no structs by value,
 *    no C++ types, no exceptions (every entry point catches everything);
 *  - strings are UTF-8 with explicit byte lengths (inputs need not be NUL-terminated);
 *  - memory the shim allocates is released by the caller with osr_free / osr_batch_free;
 *  - return codes: >= 0 success (1 valid / 0 invalid molecule where that applies), < 0 shim failure.
 *  - RDKit never writes to stdout/stderr through this library: its logs are captured per thread and
 *    returned as the error text of the molecule that caused them.
 */
#ifndef OSRDKIT_H
#define OSRDKIT_H

#include <stdint.h>

#if defined(OSR_BUILDING)
#define OSR_API __attribute__((visibility("default")))
#else
#define OSR_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a signature below changes; the managed side checks it at load. */
#define OSR_ABI_VERSION 8

#define OSR_OK 0
#define OSR_INVALID_MOLECULE 0
#define OSR_VALID_MOLECULE 1
#define OSR_E_ARGUMENT (-1)
#define OSR_E_MEMORY (-2)
#define OSR_E_INTERNAL (-3)
#define OSR_E_TOO_LARGE (-4)

/* Batch flags. */
#define OSR_FLAG_NONE 0
/* Do not write canonical SMILES for valid molecules (text is empty); errors are still returned. */
#define OSR_FLAG_SKIP_CANONICAL 1
/* Compute each spec with its own getFingerprintAsBitVect call instead of one shared Morgan pass
 * (same bits, slower; exists so tests can compare the two). */
#define OSR_FLAG_SEPARATE_SPECS 2
/* With OSR_FLAG_SKIP_CANONICAL the batch normally takes the fingerprint-only fast path (partial
 * sanitisation that skips what Morgan invariants never read, and a port of RDKit's Morgan loop
 * without its quadratic bookkeeping); bits, validity and error texts are identical to the full
 * path. These two flags force the old pieces back, so tests and the benchmark can compare. */
#define OSR_FLAG_FULL_SANITIZE 4
#define OSR_FLAG_RDKIT_MORGAN 8
/* osr_molecules only (ABI 8): also compute descriptors / molecular graphs from the same parse. */
#define OSR_FLAG_DESCRIPTORS 16
#define OSR_FLAG_GRAPHS 32

OSR_API int32_t osr_abi_version(void);

/* RDKit::rdkitVersion, e.g. "2022.09.3". Static storage: do not free. */
OSR_API const char *osr_rdkit_version(void);

/* Frees anything osr_parse / osr_fingerprint / osr_depict_svg / osr_sdf_record returned through an
 * out pointer. NULL is fine. */
OSR_API void osr_free(void *p);

/*
 * Parses one SMILES (default sanitization, like Chem.MolFromSmiles). On return *out_text is a
 * malloc'd, NUL-terminated UTF-8 string of *out_len bytes: the canonical SMILES (returns 1) or
 * RDKit's error message (returns 0). Empty/whitespace-only input is invalid ("empty SMILES").
 */
OSR_API int32_t osr_parse(const char *smiles, int32_t smiles_len, char **out_text,
                          int32_t *out_len);

/*
 * Morgan bit fingerprint of one SMILES, identical to
 * RDKit::MorganFingerprints::getFingerprintAsBitVect(mol, radius, nbits).
 * Returns 1 with *out_bits = malloc'd ascending on-bit indices (*out_count of them; may be NULL
 * when 0), or 0 with *out_error = malloc'd error text (*out_error_len bytes). radius 0..10,
 * nbits 1..1<<20, else OSR_E_ARGUMENT.
 */
OSR_API int32_t osr_fingerprint(const char *smiles, int32_t smiles_len, int32_t radius,
                                int32_t nbits, int32_t **out_bits, int32_t *out_count,
                                char **out_error, int32_t *out_error_len);

/* Opaque batch result, owned by the caller until osr_batch_free. */
typedef struct osr_batch osr_batch;

/*
 * Featurizes n molecules: molecule i is utf8[offsets[i] .. offsets[i+1]) (offsets has n+1
 * entries, non-decreasing). For each of nspecs (radii[k], nbits[k]) computes Morgan bit
 * fingerprints. threads: worker count, 0 = std::thread::hardware_concurrency().
 * On success (OSR_OK) *out is a result to read with the osr_batch_* calls below.
 */
OSR_API int32_t osr_featurize(const char *utf8, const int32_t *offsets, int32_t n,
                              const int32_t *radii, const int32_t *nbits, int32_t nspecs,
                              int32_t threads, int32_t flags, osr_batch **out);

/* Sizes the caller needs to allocate before copying: total text bytes, and per spec on-bit count. */
OSR_API int32_t osr_batch_text_bytes(const osr_batch *batch);
OSR_API int32_t osr_batch_nnz(const osr_batch *batch, int32_t spec);

/*
 * Copies molecule results: valid[i] = 1/0; text_offsets (n+1 entries) index into text
 * (text_bytes bytes, not NUL-separated): canonical SMILES when valid, error message otherwise.
 */
OSR_API int32_t osr_batch_copy_text(const osr_batch *batch, uint8_t *valid, int32_t *text_offsets,
                                    char *text);

/* Copies spec k as CSR: offsets (n+1 entries), indices (nnz entries, ascending per row). */
OSR_API int32_t osr_batch_copy_fingerprint(const osr_batch *batch, int32_t spec, int32_t *offsets,
                                           int32_t *indices);

OSR_API void osr_batch_free(osr_batch *batch);

/* ---- molecular graphs for a D-MPNN (Chemprop v1 featurisation), ABI 3 ---------------------- */

/* Which feature table osr_graph_feature_count / osr_graph_feature_names describe. */
#define OSR_GRAPH_ATOM 0
#define OSR_GRAPH_BOND 1

/* Features per atom / per bond (the layouts below). */
#define OSR_GRAPH_ATOM_FEATURES 47
#define OSR_GRAPH_BOND_FEATURES 13

/*
 * Column layout, float32, one-hot blocks each ending in an "other" slot (Chemprop v1 style):
 * atom (47):
 *   0..14  element: H B C N O F Si P S Cl Se Br Te I, other       (Atom::getAtomicNum)
 *  15..21  total degree 0 1 2 3 4 5, other                      (getTotalDegree: includes Hs)
 *  22..27  formal charge -2 -1 0 +1 +2, other                   (getFormalCharge)
 *  28..32  chiral tag CHI_UNSPECIFIED CHI_TETRAHEDRAL_CW CHI_TETRAHEDRAL_CCW CHI_OTHER, other
 *  33..38  total H count 0 1 2 3 4, other                       (getTotalNumHs(): implicit + explicit H count;
 *                                                                H atoms RDKit keeps are atoms, not counted)
 *  39..44  hybridisation SP SP2 SP3 SP3D SP3D2, other            (UNSPECIFIED/S/SP2D/OTHER -> other)
 *      45  aromatic (0/1)
 *      46  mass * 0.01                                           (getMass: isotope-aware)
 * bond (13):
 *   0..3   bond type SINGLE DOUBLE TRIPLE AROMATIC (no other slot: other types are all zero)
 *   4      conjugated, 5 in ring (any ring)
 *   6..12  stereo STEREONONE STEREOANY STEREOZ STEREOE STEREOCIS STEREOTRANS, other
 * Chemprop v1's leading "bond is None" slot is omitted. Exact names per column:
 * osr_graph_feature_names.
 */

/* Number of columns of OSR_GRAPH_ATOM / OSR_GRAPH_BOND features; OSR_E_ARGUMENT for another kind. */
OSR_API int32_t osr_graph_feature_count(int32_t kind);

/* Column names of that table joined by '\n' (no trailing newline). Static storage: do not free.
 * NULL for an unknown kind. */
OSR_API const char *osr_graph_feature_names(int32_t kind);

/*
 * Molecular graphs of n molecules (input layout, threads and error capture as osr_featurize).
 * Each SMILES is parsed with default sanitisation (Chem.MolFromSmiles); the graph holds the
 * molecule's atoms (what GetNumAtoms counts: Hs are implicit unless RDKit keeps them) and bonds in
 * RDKit's index order. Invalid molecules have zero atoms and bonds and their error as text.
 * flags: OSR_FLAG_SKIP_CANONICAL leaves the text of valid molecules empty; others are ignored.
 * The result is an osr_batch with no fingerprint specs: read the text with osr_batch_text_bytes /
 * osr_batch_copy_text, the graphs with osr_batch_graph_size / osr_batch_copy_graphs, and release
 * it with osr_batch_free. OSR_E_TOO_LARGE when a feature array would exceed 2^31-1 elements.
 */
OSR_API int32_t osr_graphs(const char *utf8, const int32_t *offsets, int32_t n, int32_t threads,
                           int32_t flags, osr_batch **out);

/* Total atoms / bonds in a batch from osr_graphs (OSR_E_ARGUMENT for a fingerprint batch). */
OSR_API int32_t osr_batch_graph_size(const osr_batch *batch, int32_t *atoms, int32_t *bonds);

/*
 * Copies the graphs: atom_offsets and bond_offsets (n+1 entries each), atom_features
 * (atoms * OSR_GRAPH_ATOM_FEATURES), bond_atoms (bonds * 2: begin, end, molecule-local 0-based),
 * bond_features (bonds * OSR_GRAPH_BOND_FEATURES). Arrays of zero length may be NULL.
 */
OSR_API int32_t osr_batch_copy_graphs(const osr_batch *batch, int32_t *atom_offsets,
                                      float *atom_features, int32_t *bond_offsets,
                                      int32_t *bond_atoms, float *bond_features);

/* ---- molecular descriptors, ABI 4 ------------------------------------------------------------ */

/*
 * Descriptors of n molecules (input layout, threads, parsing and error capture as osr_graphs).
 * Per valid molecule: average molar mass in g/mol with implicit hydrogens (Descriptors::calcAMW, =
 * Python's Descriptors.MolWt), heavy atoms (getNumHeavyAtoms), formal charge sum
 * (MolOps::getFormalCharge), fragment count (MolOps::getMolFrags), and as its text the distinct
 * element symbols in ordinal order joined by ',' with H present whenever any atom carries a
 * hydrogen, implicit or explicit (e.g. "C,H,N,O"; "Cl,Na" for [Na+].[Cl-]). Invalid molecules
 * have zeros and their error as text. Read the text with osr_batch_copy_text, the numbers with
 * osr_batch_copy_descriptors, release with osr_batch_free.
 */
OSR_API int32_t osr_descriptors(const char *utf8, const int32_t *offsets, int32_t n,
                                int32_t threads, osr_batch **out);

/* Copies n values into each array (OSR_E_ARGUMENT for a batch made without descriptors). */
OSR_API int32_t osr_batch_copy_descriptors(const osr_batch *batch, double *molar_mass,
                                           int32_t *heavy_atoms, int32_t *formal_charge,
                                           int32_t *fragments);

/* ---- one parse per molecule, ABI 8 ------------------------------------------------------------ */

/*
 * Everything a prediction needs from one parse of each molecule (input layout, specs, threads and
 * error capture as osr_featurize): per molecule its verdict, and as its text the canonical SMILES
 * (valid; empty with OSR_FLAG_SKIP_CANONICAL) or the error; the on-bits of every spec; with
 * OSR_FLAG_DESCRIPTORS the numbers of osr_descriptors and, apart from the text, the element list
 * (osr_batch_element_bytes / osr_batch_copy_elements); with OSR_FLAG_GRAPHS the graph of
 * osr_graphs (osr_batch_graph_size / osr_batch_copy_graphs). A molecule that fails any part is
 * invalid as a whole, with empty results. Parsing is Chem.MolFromSmiles when canonical SMILES or
 * graphs are asked for, else the fingerprint-only fast path (same verdicts, errors, bits and
 * descriptors); fingerprints come from the ported Morgan loop (OSR_FLAG_RDKIT_MORGAN and
 * OSR_FLAG_SEPARATE_SPECS select RDKit's code, OSR_FLAG_FULL_SANITIZE the full parse, for tests).
 */
OSR_API int32_t osr_molecules(const char *utf8, const int32_t *offsets, int32_t n,
                              const int32_t *radii, const int32_t *nbits, int32_t nspecs,
                              int32_t threads, int32_t flags, osr_batch **out);

/* Total bytes of the element lists of an osr_molecules batch made with OSR_FLAG_DESCRIPTORS
 * (OSR_E_ARGUMENT otherwise). */
OSR_API int32_t osr_batch_element_bytes(const osr_batch *batch);

/* Copies the element lists ("C,H,N,O", as osr_descriptors writes them; empty for invalid
 * molecules): element_offsets (n+1 entries) index into elements (element_bytes bytes). */
OSR_API int32_t osr_batch_copy_elements(const osr_batch *batch, int32_t *element_offsets,
                                        char *elements);

/* ---- 2-D depiction, ABI 5 ---------------------------------------------------------------------- */

/* Flag for osr_depict_svg: leave the background transparent (default: white rectangle). */
#define OSR_DEPICT_TRANSPARENT 1

/*
 * SVG drawing of one SMILES (parsed as osr_parse), as Python would make it:
 * rdDepictor.Compute2DCoords, rdMolDraw2D.PrepareMolForDrawing, MolDraw2DSVG(width, height)
 * .DrawMolecule, FinishDrawing; the XML declaration is removed so the text can be inlined in HTML.
 * width/height 16..4096 pixels, else OSR_E_ARGUMENT. Returns 1 with *out_text = the SVG, or 0 with
 * the error; malloc'd, NUL-terminated, *out_len bytes, free with osr_free.
 */
OSR_API int32_t osr_depict_svg(const char *smiles, int32_t smiles_len, int32_t width,
                               int32_t height, int32_t flags, char **out_text, int32_t *out_len);

/* ---- SD files, ABI 6 ---------------------------------------------------------------------------- */

/*
 * Reads one SD record (its molblock and data items, normally ending with its "$$$$" line) with
 * RDKit's ForwardSDMolSupplier as Python's Chem.SDMolSupplier reads files (sanitize, removeHs,
 * strictParsing). lines_before: lines of the file before the record, so RDKit's messages name
 * file lines. *out_text (malloc'd, *out_len bytes, free with osr_free) holds *out_fields
 * NUL-terminated UTF-8 fields:
 *   valid (returns 1):   _Name, canonical SMILES (Chem.MolToSmiles), then name/value pairs of the
 *                        record's data items in file order (Python's GetPropNames / GetProp);
 *   invalid (returns 0): the record's first line (its would-be name), RDKit's error text.
 * A record containing a NUL byte is invalid ("SDF record contains a NUL character").
 */
OSR_API int32_t osr_sdf_record(const char *block, int32_t block_len, int32_t lines_before,
                               char **out_text, int32_t *out_len, int32_t *out_fields);

/* ---- R-group enumeration, ABI 7 ------------------------------------------------------------- */

/* Parsed cores and substituents for osr_library_build, owned by the caller until osr_library_free. */
typedef struct osr_library osr_library;

/*
 * Parses ncores cores followed by nsubs substituents (input layout as osr_featurize: entry i is
 * utf8[offsets[i] .. offsets[i+1]), ncores + nsubs entries), each with default sanitisation.
 * A core carries k >= 0 attachment points [*:1] .. [*:k] (map numbers exactly 1..k, each dummy
 * single-bonded to one atom); a substituent carries exactly one dummy atom, single-bonded to one
 * atom (its map number is ignored). Returns 1 with *out, or 0 with *out_bad = the index of the
 * first bad entry and *out_error = why (malloc'd, *out_error_len bytes, free with osr_free).
 */
OSR_API int32_t osr_library_create(const char *utf8, const int32_t *offsets, int32_t ncores,
                                   int32_t nsubs, osr_library **out, int32_t *out_bad,
                                   char **out_error, int32_t *out_error_len);

/* Attachment points of core `core` (k), or OSR_E_ARGUMENT. */
OSR_API int32_t osr_library_sites(const osr_library *library, int32_t core);

/*
 * The site permutations of core `core`'s automorphisms (substructure self-matches; dummies match
 * only dummies; only the identity for a core with stereo marks or too many self-matches): returns
 * their number m, and when capacity >= m * k copies them to out, permutation p as
 * out[p*k .. p*k+k): site j+1 maps to site out[p*k+j]+1. The identity comes first. Products whose
 * assignments differ by such a permutation are the same molecule, so an enumerator builds one.
 */
OSR_API int32_t osr_library_site_permutations(const osr_library *library, int32_t core, int32_t *out,
                                              int32_t capacity);

/*
 * Builds n products on `threads` workers (0 = all cores). Row i is rows[i*width .. i*width+width):
 * the core index, then for attachment point 1 .. width-1 the substituent index or -1 for hydrogen
 * (points the core lacks must be -1). Each product is the core with every [*:j] joined to its
 * substituent (both dummies removed, one single bond) or replaced by H; its text is RDKit's
 * canonical SMILES (valid) or the error. Products are sanitised partially (cleanUp, properties,
 * SSSR; the templates' aromaticity is kept, see osrdkit.cpp); flags OSR_FLAG_FULL_SANITIZE runs
 * sanitizeMol. Read with osr_batch_text_bytes / osr_batch_copy_text; release with osr_batch_free.
 */
OSR_API int32_t osr_library_build(const osr_library *library, const int32_t *rows, int32_t n,
                                  int32_t width, int32_t threads, int32_t flags, osr_batch **out);

OSR_API void osr_library_free(osr_library *library);

#ifdef __cplusplus
}
#endif

#endif
