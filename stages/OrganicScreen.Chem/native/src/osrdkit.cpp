// extern "C" shim over RDKit for OrganicScreen. See osrdkit.h for the ABI contract.
#include "osrdkit.h"

#include <DataStructs/ExplicitBitVect.h>
#include <GraphMol/Depictor/RDDepictor.h>
#include <GraphMol/Descriptors/MolDescriptors.h>
#include <GraphMol/FileParsers/MolSupplier.h>
#include <GraphMol/Fingerprints/MorganFingerprints.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolDraw2D/MolDraw2DSVG.h>
#include <GraphMol/MolDraw2D/MolDraw2DUtils.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <GraphMol/Substruct/SubstructMatch.h>
#include <RDGeneral/RDLog.h>
#include <RDGeneral/hash/hash.hpp>
#include <RDGeneral/versions.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <ostream>
#include <sstream>
#include <streambuf>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

constexpr int32_t kMaxRadius = 10;
constexpr int32_t kMaxBits = 1 << 20;
// Molecules per work item: small enough to balance 2..64 threads over a few thousand molecules,
// large enough that the atomic counter and per-chunk vectors are noise next to RDKit's work.
constexpr int32_t kChunk = 64;
// A runaway logger must not grow a thread's buffer without bound; messages are a line or two.
constexpr size_t kMaxLogBytes = 16 * 1024;

// RDKit logs through one process-wide std::ostream per level. To hand each molecule its own
// error text while many threads parse at once, the error stream's buffer appends to a
// thread-local string instead of a shared sink. (Threads still share the ostream object itself,
// exactly as RDKit shares std::cerr by default; its buffer never fails, so its state never changes.)
thread_local std::string tl_log;

class ThreadLocalLogBuf final : public std::streambuf {
 protected:
  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof()) && tl_log.size() < kMaxLogBytes) {
      tl_log.push_back(traits_type::to_char_type(c));
    }
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char *s, std::streamsize n) override {
    if (tl_log.size() < kMaxLogBytes) {
      tl_log.append(s, static_cast<size_t>(
                           std::min<std::streamsize>(n, kMaxLogBytes - tl_log.size())));
    }
    return n;
  }
  int sync() override { return 0; }
};

class NullBuf final : public std::streambuf {
 protected:
  int_type overflow(int_type c) override { return traits_type::not_eof(c); }
  std::streamsize xsputn(const char *, std::streamsize n) override { return n; }
};

// Replaces RDKit's loggers once per process, before any RDKit call of ours. The streams are
// deliberately leaked: RDKit's logger objects outlive this library's statics at exit and flush
// their destination in their destructor.
void ensure_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto *capture = new std::ostream(new ThreadLocalLogBuf());
    auto *null = new std::ostream(new NullBuf());
    rdErrorLog = std::make_shared<boost::logging::rdLogger>(capture);
    // Warnings/info ("not removing hydrogen atom without neighbors", ...) are noise for a
    // pipeline and would otherwise reach stderr; errors that matter come back as error text.
    for (RDLogger *logger : {&rdWarningLog, &rdInfoLog, &rdDebugLog, &rdAppLog, &rdStatusLog}) {
      *logger = std::make_shared<boost::logging::rdLogger>(null);
      (*logger)->df_enabled = false;
    }
  });
}

bool is_blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  });
}

// RDKit prefixes each log line with "[HH:MM:SS] "; the timestamp is meaningless to callers and
// would make identical errors differ. Lines are joined with "; " so the message stays one line.
std::string take_log() {
  std::string out;
  size_t pos = 0;
  while (pos < tl_log.size()) {
    size_t end = tl_log.find('\n', pos);
    if (end == std::string::npos) end = tl_log.size();
    std::string_view line(tl_log.data() + pos, end - pos);
    if (line.size() >= 11 && line[0] == '[' && line[3] == ':' && line[6] == ':' &&
        line[9] == ']' && line[10] == ' ') {
      line.remove_prefix(11);
    }
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (!line.empty()) {
      if (!out.empty()) out += "; ";
      out.append(line);
    }
    pos = end + 1;
  }
  tl_log.clear();
  return out;
}

// Parses with default sanitization (Chem.MolFromSmiles semantics). Returns null and sets `error`
// to RDKit's own message when the SMILES is rejected; never throws for RDKit failures.
std::unique_ptr<RDKit::RWMol> parse(std::string_view smiles, std::string &error) {
  error.clear();
  if (is_blank(smiles)) {
    // RDKit turns "" into an empty molecule; for a screening pipeline that is an input error.
    error = "empty SMILES";
    return nullptr;
  }
  if (smiles.find('\0') != std::string_view::npos) {
    // RDKit's lexer reads C strings and would silently parse only the part before the NUL.
    error = "SMILES contains a NUL character";
    return nullptr;
  }
  thread_local std::string input;  // reused: avoids an allocation per molecule
  input.assign(smiles.data(), smiles.size());
  tl_log.clear();
  std::unique_ptr<RDKit::RWMol> mol;
  try {
    mol.reset(RDKit::SmilesToMol(input));
  } catch (const std::bad_alloc &) {
    throw;  // not a property of the molecule; the entry point reports OSR_E_MEMORY
  } catch (const std::exception &e) {
    // Sanitization failures (MolSanitizeException & co.) carry the precise message; RDKit may
    // also have logged it, so the exception text wins.
    error = e.what();
  } catch (...) {
    error = "unknown RDKit error";
  }
  std::string logged = take_log();
  if (!mol && error.empty()) error = logged.empty() ? "SMILES parse failed" : logged;
  if (mol) error.clear();
  return mol;
}

// ---- fingerprint-only fast path ------------------------------------------------------------
//
// Chem.MolFromSmiles = parse, removeHs(sanitize=true) (which ends in a full sanitizeMol whenever
// the molecule has atoms), assignStereochemistry(cleanIt, force, flagPossible), then cleanup of
// parser bookkeeping props (RDKit 2022.09.3, SmilesParse.cpp / AddHs.cpp). Morgan bit fingerprints
// with default arguments read only: atomic number, total degree, total H count, formal charge,
// isotope mass delta, ring membership (getConnectivityInvariants) and bond type. So for molecules
// without stereo marks the fast path runs exactly the same RDKit calls in the same order minus:
//  - setConjugation / setHybridization / cleanupChirality (sanitizeMol runs them after
//    aromaticity and adjustHs reads neither; nothing before them depends on them; they only
//    set flags that the invariants never read and contain no checks that could reject a molecule);
//  - assignStereochemistry: for a molecule with no chiral tags and no bond directions it only
//    computes CIP ranks and sets _CIPRank/_ChiralityPossible/stereo props. With chiral tags its
//    cleanup can drop an explicit H and change the H count (RDKit issue 194), so those molecules
//    keep the full path.
// Whitespace starts a CXSMILES extension or a name (coordinates, wedging, query features that
// SmilesToMol handles differently when it does not sanitise), so such inputs keep the full path
// too. Two more calls are skipped because, for the inputs that reach this path, they cannot change
// anything the fingerprint reads:
//  - SmilesParseOps::CleanupAfterParsing (skipCleanup): it only erases parser bookkeeping props
//    (_RingClosures, _SmilesStart, _unspecifiedOrder, _cxsmilesBondIdx) that neither sanitisation
//    nor the fingerprint reads, and non-tetrahedral chiral tags, which need '@';
//  - removeHs when no atom is hydrogen: then it removes nothing and only runs each atom's
//    non-strict updatePropertyCache, which sanitizeMol's strict one recomputes from scratch.
// Errors are the same exceptions from the same calls, hence the same texts; tests compare
// both paths on every oracle row, the OCELOT dev set and a list of tricky invalid inputs.
constexpr unsigned kFingerprintSanitizeOps =
    RDKit::MolOps::SANITIZE_ALL ^
    (RDKit::MolOps::SANITIZE_SETCONJUGATION | RDKit::MolOps::SANITIZE_SETHYBRIDIZATION |
     RDKit::MolOps::SANITIZE_CLEANUPCHIRALITY);
constexpr std::string_view kFullPathChars = "@/\\ \t\n\r\f\v";

std::unique_ptr<RDKit::RWMol> parse_for_fingerprint(std::string_view smiles, std::string &error) {
  if (smiles.empty() || smiles.find('\0') != std::string_view::npos ||
      smiles.find_first_of(kFullPathChars) != std::string_view::npos) {
    return parse(smiles, error);  // also owns the empty/NUL errors
  }
  error.clear();
  thread_local std::string input;
  input.assign(smiles.data(), smiles.size());
  tl_log.clear();
  std::unique_ptr<RDKit::RWMol> mol;
  try {
    RDKit::SmilesParserParams params;
    params.sanitize = false;
    params.removeHs = false;
    params.skipCleanup = true;
    mol.reset(RDKit::SmilesToMol(input, params));
    // removeHs skips its sanitizeMol for a molecule without atoms; so do we.
    if (mol && mol->getNumAtoms() > 0) {
      bool has_hydrogen = false;
      for (const RDKit::Atom *atom : mol->atoms()) has_hydrogen |= atom->getAtomicNum() == 1;
      if (has_hydrogen) {
        RDKit::MolOps::removeHs(*mol, /*implicitOnly=*/false, /*updateExplicitCount=*/true,
                                /*sanitize=*/false);
      }
      unsigned failed = 0;
      RDKit::MolOps::sanitizeMol(*mol, failed, kFingerprintSanitizeOps);
    }
  } catch (const std::bad_alloc &) {
    throw;
  } catch (const std::exception &e) {
    mol.reset();
    error = e.what();
  } catch (...) {
    mol.reset();
    error = "unknown RDKit error";
  }
  std::string logged = take_log();
  if (!mol && error.empty()) error = logged.empty() ? "SMILES parse failed" : logged;
  if (mol) error.clear();
  return mol;
}

// A port of RDKit 2022.09.3 MorganFingerprints::calcFingerprint for the default arguments
// (no chirality, bond types, no fromAtoms/invariants, redundant environments dropped). RDKit's loop
// copies a vector of dynamic_bitsets per layer and finds repeated environments by linear search
// over all earlier ones (quadratic, ~30 us per OCELOT molecule); here bitsets live in flat
// per-thread buffers and earlier environments in a hash set. The atom invariants, neighbour
// ordering and hash_combine calls are RDKit's, so the hashes are the same numbers; the only
// liberty taken is the sort order of a layer's environments, and RDKit uses that order only to
// pick, among equal neighbourhoods of one layer, the one with the smallest (invariant, atom),
// which the order below also ranks first.
struct MorganScratch {
  std::vector<std::uint32_t> invariants, round_invariants;
  std::vector<std::uint64_t> nbhd, round_nbhd;  // `words` per atom: bonds within the radius
  std::vector<std::uint8_t> dead;
  std::vector<std::pair<std::int32_t, std::uint32_t>> nbrs;
  std::vector<std::uint32_t> order;
  std::vector<std::uint64_t> seen_words;  // neighbourhoods already in the fingerprint
  std::vector<std::int32_t> seen_slots;   // open addressing into seen_words, -1 = empty
  std::vector<std::pair<std::uint32_t, std::uint32_t>> envs;  // (hash, layer) that set a bit
};

// RDKit's getConnectivityInvariants(mol, invars, true) without its per-atom std::vector: the same
// components hashed by the same gboost::hash_range (what gboost::hash<std::vector<uint32_t>> calls).
void connectivity_invariants(const RDKit::ROMol &mol, std::vector<std::uint32_t> &out) {
  const RDKit::PeriodicTable *table = RDKit::PeriodicTable::getTable();
  const RDKit::RingInfo *rings = mol.getRingInfo();
  for (const RDKit::Atom *atom : mol.atoms()) {
    std::uint32_t c[6];
    size_t k = 0;
    c[k++] = static_cast<std::uint32_t>(atom->getAtomicNum());
    c[k++] = static_cast<std::uint32_t>(atom->getTotalDegree());
    c[k++] = static_cast<std::uint32_t>(atom->getTotalNumHs(true));
    c[k++] = static_cast<std::uint32_t>(atom->getFormalCharge());
    const int delta_mass =
        static_cast<int>(atom->getMass() - table->getAtomicWeight(atom->getAtomicNum()));
    c[k++] = static_cast<std::uint32_t>(delta_mass);
    if (rings->numAtomRings(atom->getIdx())) c[k++] = 1;
    out[atom->getIdx()] = static_cast<std::uint32_t>(gboost::hash_range(c, c + k));
  }
}

// Fills s.envs with every (unfolded hash, layer) that getFingerprintAsBitVect(mol, radius, n)
// would set as bit hash % n, for any n.
void morgan_environments(const RDKit::ROMol &mol, std::uint32_t radius, MorganScratch &s) {
  const size_t n = mol.getNumAtoms();
  const size_t words = std::max<size_t>(1, (mol.getNumBonds() + 63) / 64);
  s.envs.clear();
  s.invariants.assign(n, 0);
  connectivity_invariants(mol, s.invariants);
  for (size_t i = 0; i < n; ++i) s.envs.emplace_back(s.invariants[i], 0);
  if (radius == 0 || n == 0) return;
  s.nbhd.assign(n * words, 0);
  s.dead.assign(n, 0);
  size_t capacity = 16;
  while (capacity < 2 * n * radius + 2) capacity *= 2;
  s.seen_slots.assign(capacity, -1);
  s.seen_words.clear();
  const size_t mask = capacity - 1;
  // Inserts a neighbourhood; true when it was already there.
  auto seen_before = [&](const std::uint64_t *w) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t k = 0; k < words; ++k) h = (h ^ w[k]) * 0x100000001b3ULL ^ (h >> 29);
    for (size_t slot = h & mask;; slot = (slot + 1) & mask) {
      const std::int32_t at = s.seen_slots[slot];
      if (at < 0) {
        s.seen_slots[slot] = static_cast<std::int32_t>(s.seen_words.size() / words);
        s.seen_words.insert(s.seen_words.end(), w, w + words);
        return false;
      }
      if (std::equal(w, w + words, s.seen_words.data() + static_cast<size_t>(at) * words)) return true;
    }
  };

  for (std::uint32_t layer = 0; layer < radius; ++layer) {
    // Atoms dead at the start of a layer keep invariant 0 and their old neighbourhood, as in RDKit.
    s.round_invariants.assign(n, 0);
    s.round_nbhd = s.nbhd;
    s.order.clear();
    for (size_t i = 0; i < n; ++i) {
      if (s.dead[i]) continue;
      const RDKit::Atom *atom = mol.getAtomWithIdx(static_cast<unsigned>(i));
      if (atom->getDegree() == 0) {
        s.dead[i] = 1;
        continue;
      }
      std::uint64_t *mine = s.round_nbhd.data() + i * words;
      s.nbrs.clear();
      for (const RDKit::Bond *bond : mol.atomBonds(atom)) {
        const unsigned b = bond->getIdx();
        mine[b >> 6] |= std::uint64_t{1} << (b & 63);
        const size_t other = bond->getOtherAtomIdx(static_cast<unsigned>(i));
        const std::uint64_t *theirs = s.nbhd.data() + other * words;
        for (size_t k = 0; k < words; ++k) mine[k] |= theirs[k];
        s.nbrs.emplace_back(static_cast<std::int32_t>(bond->getBondType()), s.invariants[other]);
      }
      std::sort(s.nbrs.begin(), s.nbrs.end());
      std::uint32_t invar = layer;
      gboost::hash_combine(invar, s.invariants[i]);
      for (const auto &nbr : s.nbrs) gboost::hash_combine(invar, nbr);
      s.round_invariants[i] = invar;
      s.order.push_back(static_cast<std::uint32_t>(i));
    }
    std::sort(s.order.begin(), s.order.end(), [&](std::uint32_t a, std::uint32_t b) {
      const std::uint64_t *wa = s.round_nbhd.data() + a * words;
      const std::uint64_t *wb = s.round_nbhd.data() + b * words;
      for (size_t k = 0; k < words; ++k) {
        if (wa[k] != wb[k]) return wa[k] < wb[k];
      }
      return s.round_invariants[a] != s.round_invariants[b]
                 ? s.round_invariants[a] < s.round_invariants[b]
                 : a < b;
    });
    for (const std::uint32_t i : s.order) {
      if (seen_before(s.round_nbhd.data() + static_cast<size_t>(i) * words)) {
        s.dead[i] = 1;
      } else {
        s.envs.emplace_back(s.round_invariants[i], layer + 1);
      }
    }
    std::swap(s.invariants, s.round_invariants);
    std::swap(s.nbhd, s.round_nbhd);
  }
}

// On-bits of every spec from one port pass at the largest radius (layers are a prefix property:
// layer L never depends on the radius asked for).
void append_on_bits_port(const RDKit::ROMol &mol, const int32_t *radii, const int32_t *nbits,
                         int32_t nspecs, std::vector<std::vector<int32_t>> &out, int32_t *counts,
                         int32_t stride) {
  thread_local MorganScratch scratch;
  int32_t max_radius = 0;
  for (int32_t k = 0; k < nspecs; ++k) max_radius = std::max(max_radius, radii[k]);
  morgan_environments(mol, static_cast<std::uint32_t>(max_radius), scratch);
  for (int32_t k = 0; k < nspecs; ++k) {
    auto &bits = out[static_cast<size_t>(k)];
    const size_t had = bits.size();
    const auto radius = static_cast<std::uint32_t>(radii[k]);
    const auto n = static_cast<std::uint32_t>(nbits[k]);
    for (const auto &[hash, layer] : scratch.envs) {
      if (layer <= radius) bits.push_back(static_cast<int32_t>(hash % n));
    }
    std::sort(bits.begin() + static_cast<std::ptrdiff_t>(had), bits.end());
    bits.erase(std::unique(bits.begin() + static_cast<std::ptrdiff_t>(had), bits.end()), bits.end());
    counts[static_cast<size_t>(k) * static_cast<size_t>(stride)] = static_cast<int32_t>(bits.size() - had);
  }
}

void append_on_bits(const RDKit::ROMol &mol, int32_t radius, int32_t nbits,
                    std::vector<int32_t> &out) {
  std::unique_ptr<ExplicitBitVect> fp(RDKit::MorganFingerprints::getFingerprintAsBitVect(
      mol, static_cast<unsigned>(radius), static_cast<unsigned>(nbits)));
  const auto &bits = *fp->dp_bits;
  for (auto i = bits.find_first(); i != boost::dynamic_bitset<>::npos; i = bits.find_next(i)) {
    out.push_back(static_cast<int32_t>(i));
  }
}

// Several specs from one Morgan pass. RDKit grows environments layer by layer and a radius-r
// fingerprint is exactly the environments of layers 0..r, each setting bit (hash % nBits). So one
// unfolded pass at the largest radius, with the layer that first produced each hash, yields every
// (radius, nBits) spec; equality with getFingerprintAsBitVect is checked by the oracle tests and
// by comparing against the single-spec path. Saves (specs - 1) Morgan passes per molecule.
void append_on_bits_shared(const RDKit::ROMol &mol, const int32_t *radii, const int32_t *nbits,
                           int32_t nspecs, std::vector<std::vector<int32_t>> &out,
                           int32_t *counts, int32_t stride) {
  int32_t max_radius = 0;
  for (int32_t k = 0; k < nspecs; ++k) max_radius = std::max(max_radius, radii[k]);
  RDKit::MorganFingerprints::BitInfoMap info;
  std::unique_ptr<RDKit::SparseIntVect<std::uint32_t>> fp(RDKit::MorganFingerprints::getFingerprint(
      mol, static_cast<unsigned>(max_radius), nullptr, nullptr, false, true, false, false, &info));
  thread_local std::vector<std::pair<std::uint32_t, std::uint32_t>> envs;  // (hash, first layer)
  envs.clear();
  for (const auto &[hash, where] : info) {
    std::uint32_t first = std::numeric_limits<std::uint32_t>::max();
    for (const auto &atom_layer : where) first = std::min(first, atom_layer.second);
    envs.emplace_back(hash, first);
  }
  for (int32_t k = 0; k < nspecs; ++k) {
    auto &bits = out[static_cast<size_t>(k)];
    const size_t had = bits.size();
    const auto radius = static_cast<std::uint32_t>(radii[k]);
    const auto n = static_cast<std::uint32_t>(nbits[k]);
    for (const auto &[hash, first] : envs) {
      if (first <= radius) bits.push_back(static_cast<int32_t>(hash % n));
    }
    std::sort(bits.begin() + static_cast<std::ptrdiff_t>(had), bits.end());
    bits.erase(std::unique(bits.begin() + static_cast<std::ptrdiff_t>(had), bits.end()), bits.end());
    counts[static_cast<size_t>(k) * static_cast<size_t>(stride)] = static_cast<int32_t>(bits.size() - had);
  }
}

bool valid_spec(int32_t radius, int32_t nbits) {
  return radius >= 0 && radius <= kMaxRadius && nbits >= 1 && nbits <= kMaxBits;
}

char *dup_string(const std::string &s, int32_t *len) {
  auto *p = static_cast<char *>(std::malloc(s.size() + 1));
  if (!p) throw std::bad_alloc();
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  *len = static_cast<int32_t>(s.size());
  return p;
}

}  // namespace

// ---- batch -------------------------------------------------------------------------------

struct osr_batch {
  struct Chunk {
    std::string text;                        // concatenated canonical SMILES / errors
    std::string elements;                    // osr_molecules with descriptors: element lists
    std::vector<std::vector<int32_t>> bits;  // per spec, concatenated on-bits
    // osr_graphs only: the chunk's molecules back to back, copied out in order.
    std::vector<float> atom_features;        // [chunk atoms * OSR_GRAPH_ATOM_FEATURES]
    std::vector<int32_t> bond_atoms;         // [chunk bonds * 2], molecule-local
    std::vector<float> bond_features;        // [chunk bonds * OSR_GRAPH_BOND_FEATURES]
  };
  int32_t n = 0;
  int32_t nspecs = 0;
  bool graphs = false;                // made by osr_graphs (else by osr_featurize)
  std::vector<uint8_t> valid;         // [n]
  std::vector<int32_t> text_len;      // [n]
  std::vector<int32_t> counts;        // [nspecs * n], on-bits per (spec, molecule)
  std::vector<int32_t> atom_count;    // [n] when graphs
  std::vector<int32_t> bond_count;    // [n] when graphs
  std::vector<Chunk> chunks;          // molecule i lives in chunks[i / kChunk]
  int64_t text_bytes = 0;
  std::vector<int64_t> nnz;           // [nspecs]
  int64_t atoms = 0;
  int64_t bonds = 0;
  // Descriptors, [n] each (zero for invalid molecules). osr_descriptors returns the element list as
  // the text; osr_molecules keeps it apart (element_len, Chunk::elements) next to canonical SMILES.
  bool descriptors = false;
  std::vector<double> molar_mass;
  std::vector<int32_t> heavy_atoms, formal_charge, fragments;
  std::vector<int32_t> element_len;  // [n] when descriptors and not elements-as-text
  int64_t element_bytes = 0;
};

namespace {

// Runs fn(chunk) for chunks 0..nchunks-1 on `threads` workers (0 = all cores), the caller's thread
// included. Dynamic scheduling: molecule cost varies ~100x (ions vs. large chromophores), so threads
// pull chunks from a shared counter instead of getting fixed ranges. Returns OSR_OK, or the failure
// (OSR_E_MEMORY / OSR_E_INTERNAL) that stopped the workers; fn reports per-molecule problems itself.
template <typename Fn>
int32_t run_chunks(int32_t nchunks, int32_t threads, Fn &&fn) {
  unsigned workers = threads > 0 ? static_cast<unsigned>(threads)
                                 : std::max(1u, std::thread::hardware_concurrency());
  workers = std::min(workers, static_cast<unsigned>(std::max(1, nchunks)));
  std::atomic<int32_t> next{0};
  std::atomic<int32_t> failure{OSR_OK};
  auto work = [&]() {
    try {
      for (int32_t c; failure.load(std::memory_order_relaxed) == OSR_OK &&
                      (c = next.fetch_add(1, std::memory_order_relaxed)) < nchunks;) {
        fn(c);
      }
    } catch (const std::bad_alloc &) {
      failure.store(OSR_E_MEMORY);
    } catch (...) {
      failure.store(OSR_E_INTERNAL);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < workers; ++t) {
    try {
      pool.emplace_back(work);
    } catch (const std::system_error &) {
      break;  // fewer threads than asked is still correct; the caller's thread always works
    }
  }
  work();
  for (auto &t : pool) t.join();
  return failure.load();
}

// ---- molecular graphs (Chemprop v1 featurisation) ------------------------------------------
//
// Layout documented in osrdkit.h. Each one-hot block is (choices..., other) like Chemprop v1's
// onek_encoding_unk: a value outside the choices sets the block's last column. Choices are matched
// by RDKit enum names, not integers, because RDKit 2022.09 inserted SP2D into HybridizationType, so
// Chemprop's integer lists would shift.
constexpr int kElements[] = {1, 5, 6, 7, 8, 9, 14, 15, 16, 17, 34, 35, 52, 53};
constexpr int kMaxDegree = 5, kMinCharge = -2, kMaxCharge = 2, kMaxHs = 4;
constexpr RDKit::Atom::ChiralType kChiralTags[] = {
    RDKit::Atom::CHI_UNSPECIFIED, RDKit::Atom::CHI_TETRAHEDRAL_CW,
    RDKit::Atom::CHI_TETRAHEDRAL_CCW, RDKit::Atom::CHI_OTHER};
constexpr RDKit::Atom::HybridizationType kHybridizations[] = {
    RDKit::Atom::SP, RDKit::Atom::SP2, RDKit::Atom::SP3, RDKit::Atom::SP3D, RDKit::Atom::SP3D2};
constexpr RDKit::Bond::BondType kBondTypes[] = {RDKit::Bond::SINGLE, RDKit::Bond::DOUBLE,
                                                RDKit::Bond::TRIPLE, RDKit::Bond::AROMATIC};
constexpr RDKit::Bond::BondStereo kStereo[] = {
    RDKit::Bond::STEREONONE, RDKit::Bond::STEREOANY, RDKit::Bond::STEREOZ,
    RDKit::Bond::STEREOE,    RDKit::Bond::STEREOCIS, RDKit::Bond::STEREOTRANS};

template <typename T, size_t N>
constexpr int size_of(const T (&)[N]) { return static_cast<int>(N); }

// Column where each block starts; "+ 1" is the block's other slot.
constexpr int kAtomElement = 0;
constexpr int kAtomDegree = kAtomElement + size_of(kElements) + 1;
constexpr int kAtomCharge = kAtomDegree + kMaxDegree + 1 + 1;
constexpr int kAtomChiral = kAtomCharge + (kMaxCharge - kMinCharge + 1) + 1;
constexpr int kAtomHs = kAtomChiral + size_of(kChiralTags) + 1;
constexpr int kAtomHybridization = kAtomHs + kMaxHs + 1 + 1;
constexpr int kAtomAromatic = kAtomHybridization + size_of(kHybridizations) + 1;
constexpr int kAtomMass = kAtomAromatic + 1;
static_assert(kAtomMass + 1 == OSR_GRAPH_ATOM_FEATURES, "atom layout and header disagree");
constexpr int kBondType = 0;
constexpr int kBondConjugated = kBondType + size_of(kBondTypes);
constexpr int kBondInRing = kBondConjugated + 1;
constexpr int kBondStereo = kBondInRing + 1;
static_assert(kBondStereo + size_of(kStereo) + 1 == OSR_GRAPH_BOND_FEATURES,
              "bond layout and header disagree");

// Names, one per column in column order; the managed GraphFeatureLayout must list the same ones
// (a test compares them), and the static_asserts below tie the counts to the header.
constexpr std::string_view kAtomFeatureNames =
    "element=H\nelement=B\nelement=C\nelement=N\nelement=O\nelement=F\nelement=Si\nelement=P\n"
    "element=S\nelement=Cl\nelement=Se\nelement=Br\nelement=Te\nelement=I\nelement=other\n"
    "degree=0\ndegree=1\ndegree=2\ndegree=3\ndegree=4\ndegree=5\ndegree=other\n"
    "formal_charge=-2\nformal_charge=-1\nformal_charge=0\nformal_charge=+1\nformal_charge=+2\n"
    "formal_charge=other\n"
    "chiral_tag=CHI_UNSPECIFIED\nchiral_tag=CHI_TETRAHEDRAL_CW\nchiral_tag=CHI_TETRAHEDRAL_CCW\n"
    "chiral_tag=CHI_OTHER\nchiral_tag=other\n"
    "num_hs=0\nnum_hs=1\nnum_hs=2\nnum_hs=3\nnum_hs=4\nnum_hs=other\n"
    "hybridization=SP\nhybridization=SP2\nhybridization=SP3\nhybridization=SP3D\n"
    "hybridization=SP3D2\nhybridization=other\n"
    "aromatic\nmass*0.01";
constexpr std::string_view kBondFeatureNames =
    "bond_type=SINGLE\nbond_type=DOUBLE\nbond_type=TRIPLE\nbond_type=AROMATIC\n"
    "conjugated\nin_ring\n"
    "stereo=STEREONONE\nstereo=STEREOANY\nstereo=STEREOZ\nstereo=STEREOE\nstereo=STEREOCIS\n"
    "stereo=STEREOTRANS\nstereo=other";

constexpr int count_lines(std::string_view s) {
  int lines = 1;
  for (char c : s) lines += c == '\n';
  return lines;
}
static_assert(count_lines(kAtomFeatureNames) == OSR_GRAPH_ATOM_FEATURES, "atom names");
static_assert(count_lines(kBondFeatureNames) == OSR_GRAPH_BOND_FEATURES, "bond names");

// Index of value in choices, or the other slot (= number of choices).
template <typename T, size_t N>
int one_hot_index(const T (&choices)[N], T value) {
  for (size_t k = 0; k < N; ++k) {
    if (choices[k] == value) return static_cast<int>(k);
  }
  return static_cast<int>(N);
}

int range_index(int value, int lo, int hi) {
  return value >= lo && value <= hi ? value - lo : hi - lo + 1;
}

// Appends the molecule's atom rows, bond endpoints and bond rows (RDKit index order).
void append_graph(const RDKit::ROMol &mol, osr_batch::Chunk &c) {
  const size_t atom_base = c.atom_features.size();
  c.atom_features.resize(atom_base + size_t{mol.getNumAtoms()} * OSR_GRAPH_ATOM_FEATURES, 0.0f);
  for (const RDKit::Atom *atom : mol.atoms()) {
    float *row = c.atom_features.data() + atom_base + size_t{atom->getIdx()} * OSR_GRAPH_ATOM_FEATURES;
    row[kAtomElement + one_hot_index(kElements, atom->getAtomicNum())] = 1.0f;
    row[kAtomDegree + range_index(static_cast<int>(atom->getTotalDegree()), 0, kMaxDegree)] = 1.0f;
    row[kAtomCharge + range_index(atom->getFormalCharge(), kMinCharge, kMaxCharge)] = 1.0f;
    row[kAtomChiral + one_hot_index(kChiralTags, atom->getChiralTag())] = 1.0f;
    // Chemprop calls GetTotalNumHs() with includeNeighbors=False: H atoms that survive removeHs
    // (isotopes, H2, bridging) are graph atoms of their own and not counted again here.
    row[kAtomHs + range_index(static_cast<int>(atom->getTotalNumHs(false)), 0, kMaxHs)] = 1.0f;
    row[kAtomHybridization + one_hot_index(kHybridizations, atom->getHybridization())] = 1.0f;
    row[kAtomAromatic] = atom->getIsAromatic() ? 1.0f : 0.0f;
    // Scaled in double, rounded once to float32, as numpy does with Chemprop's float list.
    row[kAtomMass] = static_cast<float>(atom->getMass() * 0.01);
  }
  const size_t bond_base = c.bond_features.size();
  c.bond_features.resize(bond_base + size_t{mol.getNumBonds()} * OSR_GRAPH_BOND_FEATURES, 0.0f);
  c.bond_atoms.resize(c.bond_atoms.size() + size_t{mol.getNumBonds()} * 2);
  int32_t *ends = c.bond_atoms.data() + c.bond_atoms.size() - size_t{mol.getNumBonds()} * 2;
  for (const RDKit::Bond *bond : mol.bonds()) {
    const size_t b = bond->getIdx();
    ends[2 * b] = static_cast<int32_t>(bond->getBeginAtomIdx());
    ends[2 * b + 1] = static_cast<int32_t>(bond->getEndAtomIdx());
    float *row = c.bond_features.data() + bond_base + b * OSR_GRAPH_BOND_FEATURES;
    const int type = one_hot_index(kBondTypes, bond->getBondType());
    // Chemprop v1 has no other slot for bond types (DATIVE, ZERO, ...): the block stays zero.
    if (type < size_of(kBondTypes)) row[kBondType + type] = 1.0f;
    row[kBondConjugated] = bond->getIsConjugated() ? 1.0f : 0.0f;
    // numBondRings: any ring, as Chemprop's IsInRing (the SSSR is there after sanitisation).
    row[kBondInRing] = mol.getRingInfo()->numBondRings(bond->getIdx()) > 0 ? 1.0f : 0.0f;
    row[kBondStereo + one_hot_index(kStereo, bond->getStereo())] = 1.0f;
  }
}

// ---- descriptors ---------------------------------------------------------------------------

// Distinct element symbols, ordinal order, joined by ','. Implicit hydrogens count as H, so the list
// is what a molecular formula would show (explicit H atoms RDKit keeps, e.g. [2H], are "H" too).
std::string element_list(const RDKit::ROMol &mol) {
  std::vector<std::string> symbols;
  for (const RDKit::Atom *atom : mol.atoms()) {
    symbols.push_back(atom->getSymbol());
    if (atom->getTotalNumHs() > 0) symbols.emplace_back("H");
  }
  std::sort(symbols.begin(), symbols.end());
  symbols.erase(std::unique(symbols.begin(), symbols.end()), symbols.end());
  std::string out;
  for (const auto &symbol : symbols) {
    if (!out.empty()) out += ',';
    out += symbol;
  }
  return out;
}

// ---- one parse per molecule ----------------------------------------------------------------

// What one pass over a molecule computes. Every batch entry point (osr_featurize, osr_graphs,
// osr_descriptors, osr_molecules) is this routine with other options, so a molecule is parsed once
// however many of its results the caller asks for.
struct MoleculeOptions {
  bool canonical = false;         // canonical SMILES as the text of a valid molecule
  bool fast_parse = false;        // partial sanitisation (parse_for_fingerprint); fingerprints/descriptors only
  bool port_morgan = false;       // morgan_environments instead of RDKit's Morgan code
  bool shared = true;             // RDKit's Morgan code: one pass for all specs
  bool descriptors = false;       // molar mass, heavy atoms, formal charge, fragments, element list
  bool elements_as_text = false;  // osr_descriptors' contract: the element list is the valid molecule's text
  bool graphs = false;            // Chemprop v1 graph (needs full perception: never with fast_parse)
};

void append_descriptors(const RDKit::ROMol &mol, osr_batch &b, size_t at, std::string &elements) {
  // calcAMW with onlyHeavy=false is Python's Descriptors.MolWt: implicit Hs included.
  const double mass = RDKit::Descriptors::calcAMW(mol);
  std::vector<int> mapping;
  const auto fragments = RDKit::MolOps::getMolFrags(mol, mapping);
  elements += element_list(mol);
  b.molar_mass[at] = mass;
  b.heavy_atoms[at] = static_cast<int32_t>(mol.getNumHeavyAtoms());
  b.formal_charge[at] = static_cast<int32_t>(RDKit::MolOps::getFormalCharge(mol));
  b.fragments[at] = static_cast<int32_t>(fragments);
}

void molecule_chunk(osr_batch &b, int32_t chunk, const char *utf8, const int32_t *offsets,
                    const int32_t *radii, const int32_t *nbits, const MoleculeOptions &opt) {
  auto &c = b.chunks[static_cast<size_t>(chunk)];
  c.bits.resize(static_cast<size_t>(b.nspecs));
  std::string &elements = opt.elements_as_text ? c.text : c.elements;
  const int32_t begin = chunk * kChunk;
  const int32_t end = std::min(b.n, begin + kChunk);
  std::string error;
  for (int32_t i = begin; i < end; ++i) {
    const auto at = static_cast<size_t>(i);
    std::string_view smi(utf8 + offsets[i], static_cast<size_t>(offsets[i + 1] - offsets[i]));
    const size_t text_before = c.text.size();
    const size_t elements_before = c.elements.size();
    const size_t atoms_before = c.atom_features.size();
    const size_t bonds_before = c.bond_features.size();
    const size_t ends_before = c.bond_atoms.size();
    auto mol = opt.fast_parse ? parse_for_fingerprint(smi, error) : parse(smi, error);
    if (mol) {
      try {
        if (opt.canonical) c.text += RDKit::MolToSmiles(*mol);
        if (opt.port_morgan && b.nspecs > 0) {
          append_on_bits_port(*mol, radii, nbits, b.nspecs, c.bits, &b.counts[at], b.n);
        } else if (b.nspecs > 1 && opt.shared) {
          append_on_bits_shared(*mol, radii, nbits, b.nspecs, c.bits, &b.counts[at], b.n);
        } else {
          for (int32_t k = 0; k < b.nspecs; ++k) {
            auto &out = c.bits[static_cast<size_t>(k)];
            const size_t had = out.size();
            append_on_bits(*mol, radii[k], nbits[k], out);
            b.counts[static_cast<size_t>(k) * b.n + i] = static_cast<int32_t>(out.size() - had);
          }
        }
        if (opt.descriptors) append_descriptors(*mol, b, at, elements);
        if (opt.graphs) {
          append_graph(*mol, c);
          b.atom_count[at] = static_cast<int32_t>(mol->getNumAtoms());
          b.bond_count[at] = static_cast<int32_t>(mol->getNumBonds());
        }
        b.valid[at] = 1;
      } catch (const std::bad_alloc &) {
        throw;
      } catch (const std::exception &e) {
        // A molecule RDKit parses but cannot write, fingerprint or describe is rejected as a whole,
        // so every result keeps an empty row for it.
        error = e.what();
        if (error.empty()) error = "RDKit error";
      } catch (...) {
        error = "unknown RDKit error";
      }
      tl_log.clear();
      if (!b.valid[at]) {
        c.text.resize(text_before);
        c.elements.resize(elements_before);
        c.atom_features.resize(atoms_before);
        c.bond_features.resize(bonds_before);
        c.bond_atoms.resize(ends_before);
        for (int32_t k = 0; k < b.nspecs; ++k) {
          auto &out = c.bits[static_cast<size_t>(k)];
          out.resize(out.size() - static_cast<size_t>(b.counts[static_cast<size_t>(k) * b.n + i]));
          b.counts[static_cast<size_t>(k) * b.n + i] = 0;
        }
        if (opt.descriptors) {
          b.molar_mass[at] = 0.0;
          b.heavy_atoms[at] = b.formal_charge[at] = b.fragments[at] = 0;
        }
        if (opt.graphs) b.atom_count[at] = b.bond_count[at] = 0;
      }
    }
    if (!b.valid[at]) c.text += error;
    b.text_len[at] = static_cast<int32_t>(c.text.size() - text_before);
    if (!b.element_len.empty()) b.element_len[at] = static_cast<int32_t>(c.elements.size() - elements_before);
  }
}

// Runs molecule_chunk over n molecules and checks that every result fits the int32 offsets the
// managed side reads it through. Returns OSR_OK with *out, or the failure.
int32_t run_molecules(const char *utf8, const int32_t *offsets, int32_t n, const int32_t *radii,
                      const int32_t *nbits, int32_t nspecs, int32_t threads,
                      const MoleculeOptions &opt, osr_batch **out) {
  auto b = std::make_unique<osr_batch>();
  const auto count = static_cast<size_t>(n);
  b->n = n;
  b->nspecs = nspecs;
  b->valid.assign(count, 0);
  b->text_len.assign(count, 0);
  b->counts.assign(static_cast<size_t>(nspecs) * count, 0);
  if (opt.descriptors) {
    b->descriptors = true;
    b->molar_mass.assign(count, 0.0);
    b->heavy_atoms.assign(count, 0);
    b->formal_charge.assign(count, 0);
    b->fragments.assign(count, 0);
    if (!opt.elements_as_text) b->element_len.assign(count, 0);
  }
  if (opt.graphs) {
    b->graphs = true;
    b->atom_count.assign(count, 0);
    b->bond_count.assign(count, 0);
  }
  const int32_t nchunks = (n + kChunk - 1) / kChunk;
  b->chunks.resize(static_cast<size_t>(nchunks));
  const int32_t status = run_chunks(nchunks, threads, [&](int32_t c) {
    molecule_chunk(*b, c, utf8, offsets, radii, nbits, opt);
  });
  if (status != OSR_OK) return status;

  b->nnz.assign(static_cast<size_t>(nspecs), 0);
  for (const auto &c : b->chunks) {
    b->text_bytes += static_cast<int64_t>(c.text.size());
    b->element_bytes += static_cast<int64_t>(c.elements.size());
    b->atoms += static_cast<int64_t>(c.atom_features.size() / OSR_GRAPH_ATOM_FEATURES);
    b->bonds += static_cast<int64_t>(c.bond_features.size() / OSR_GRAPH_BOND_FEATURES);
    for (int32_t k = 0; k < nspecs && k < static_cast<int32_t>(c.bits.size()); ++k) {
      b->nnz[static_cast<size_t>(k)] += static_cast<int64_t>(c.bits[static_cast<size_t>(k)].size());
    }
  }
  // Results are read back into .NET arrays indexed by int32 (text, SparseBitMatrix, graph features).
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  if (b->text_bytes > kMax || b->element_bytes > kMax || b->atoms * OSR_GRAPH_ATOM_FEATURES > kMax ||
      b->bonds * OSR_GRAPH_BOND_FEATURES > kMax) {
    return OSR_E_TOO_LARGE;
  }
  for (auto v : b->nnz) {
    if (v > kMax) return OSR_E_TOO_LARGE;
  }
  *out = b.release();
  return OSR_OK;
}

// ---- depiction -----------------------------------------------------------------------------

constexpr int32_t kMinDepictSize = 16;
constexpr int32_t kMaxDepictSize = 4096;

// Python's recipe: Compute2DCoords, PrepareMolForDrawing (kekulise, wedge bonds, chiral Hs), then
// MolDraw2DSVG.DrawMolecule without preparing a second time. Throws what RDKit throws.
std::string depict_svg(RDKit::RWMol &mol, int32_t width, int32_t height, bool transparent) {
  // canonOrient=true is Python's Compute2DCoords default (C++ defaults to false): the drawing is
  // rotated to a canonical orientation, as Python draws it.
  RDDepict::compute2DCoords(mol, nullptr, /*canonOrient=*/true);
  RDKit::MolDraw2DUtils::prepareMolForDrawing(mol);
  RDKit::MolDraw2DSVG drawer(width, height);
  drawer.drawOptions().prepareMolsBeforeDrawing = false;
  drawer.drawOptions().clearBackground = !transparent;  // no white <rect> when transparent
  drawer.drawMolecule(mol);
  drawer.finishDrawing();
  std::string svg = drawer.getDrawingText();
  // The "<?xml ... encoding='iso-8859-1'?>" line is not allowed inside HTML and claims the wrong
  // encoding for UTF-8 pages; without it the text is a plain <svg> element.
  if (svg.compare(0, 5, "<?xml") == 0) {
    const size_t end = svg.find("?>");
    size_t start = end == std::string::npos ? 0 : end + 2;
    while (start < svg.size() && (svg[start] == '\n' || svg[start] == '\r')) ++start;
    svg.erase(0, start);
  }
  return svg;
}

// ---- SD files ------------------------------------------------------------------------------

// RDKit's ForwardSDMolSupplier over one record, with Python's SDMolSupplier settings (sanitize,
// removeHs, strictParsing) and its line counter starting where the record starts in the file, so
// RDKit's own messages ("Could not sanitize molecule ending on line 50") name lines of the file.
class RecordSupplier final : public RDKit::ForwardSDMolSupplier {
 public:
  RecordSupplier(std::istream *in, int32_t lines_before)
      : ForwardSDMolSupplier(in, /*takeOwnership=*/false, /*sanitize=*/true, /*removeHs=*/true,
                             /*strictParsing=*/true) {
    d_line = lines_before;
  }
};

void append_field(std::string &out, std::string_view field, int32_t &fields) {
  out.append(field);
  out.push_back('\0');
  ++fields;
}

// The record's first line: what RDKit would have made _Name, kept for records it cannot read.
// Stops at a NUL too: fields of the reply are NUL-terminated.
std::string_view header_line(std::string_view block) {
  std::string_view line = block.substr(0, block.find_first_of(std::string_view("\n\0", 2)));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// Reads one record; fills `out` as documented at osr_sdf_record and returns valid/invalid.
int32_t read_sd_record(std::string_view block, int32_t lines_before, std::string &out,
                       int32_t &fields) {
  out.clear();
  fields = 0;
  std::string error;
  if (block.find('\0') != std::string_view::npos) {
    // The output is NUL-separated; RDKit would also read a NUL byte as part of a line.
    error = "SDF record contains a NUL character";
  } else {
    std::istringstream in{std::string(block)};
    RecordSupplier supplier(&in, lines_before);
    tl_log.clear();
    std::unique_ptr<RDKit::ROMol> mol;
    try {
      mol.reset(supplier.next());  // RDKit catches parse/sanitize errors itself and logs them
      if (mol) {
        std::string name;
        mol->getPropIfPresent(RDKit::common_properties::_Name, name);
        const std::string smiles = RDKit::MolToSmiles(*mol);
        append_field(out, name, fields);
        append_field(out, smiles, fields);
        // Public, non-computed props: the SD data items in file order (Python's GetPropNames()).
        for (const auto &key : mol->getPropList(/*includePrivate=*/false, /*includeComputed=*/false)) {
          append_field(out, key, fields);
          append_field(out, mol->getProp<std::string>(key), fields);
        }
        tl_log.clear();
        return OSR_VALID_MOLECULE;
      }
    } catch (const std::bad_alloc &) {
      throw;
    } catch (const std::exception &e) {
      error = e.what();
    } catch (...) {
      error = "unknown RDKit error";
    }
    std::string logged = take_log();
    if (error.empty()) error = logged.empty() ? "RDKit could not read the SDF record" : logged;
  }
  out.clear();
  fields = 0;
  append_field(out, header_line(block), fields);
  append_field(out, error, fields);
  return OSR_INVALID_MOLECULE;
}

// Shared by osr_featurize and osr_graphs: offsets must be non-decreasing and inside a buffer.
bool valid_inputs(const char *utf8, const int32_t *offsets, int32_t n) {
  if (n < 0 || (n > 0 && !offsets)) return false;
  if (n == 0) return true;
  if (offsets[0] < 0 || (!utf8 && offsets[n] != offsets[0])) return false;
  for (int32_t i = 0; i < n; ++i) {
    if (offsets[i + 1] < offsets[i]) return false;
  }
  return true;
}

// Shared by osr_featurize and osr_molecules: the inputs, and every fingerprint spec, valid.
bool valid_batch(const char *utf8, const int32_t *offsets, int32_t n, const int32_t *radii,
                 const int32_t *nbits, int32_t nspecs, int32_t threads) {
  if (nspecs < 0 || threads < 0 || !valid_inputs(utf8, offsets, n) ||
      (nspecs > 0 && (!radii || !nbits))) {
    return false;
  }
  for (int32_t k = 0; k < nspecs; ++k) {
    if (!valid_spec(radii[k], nbits[k])) return false;
  }
  return true;
}
}  // namespace

extern "C" {

int32_t osr_abi_version(void) { return OSR_ABI_VERSION; }

const char *osr_rdkit_version(void) { return RDKit::rdkitVersion; }

void osr_free(void *p) { std::free(p); }

int32_t osr_parse(const char *smiles, int32_t smiles_len, char **out_text, int32_t *out_len) {
  if ((!smiles && smiles_len != 0) || smiles_len < 0 || !out_text || !out_len) return OSR_E_ARGUMENT;
  *out_text = nullptr;
  *out_len = 0;
  try {
    ensure_init();
    std::string error;
    auto mol = parse(std::string_view(smiles ? smiles : "", static_cast<size_t>(smiles_len)), error);
    if (mol) {
      try {
        std::string canonical = RDKit::MolToSmiles(*mol);
        tl_log.clear();
        *out_text = dup_string(canonical, out_len);
        return OSR_VALID_MOLECULE;
      } catch (const std::bad_alloc &) {
        throw;
      } catch (const std::exception &e) {
        error = e.what();
      }
      tl_log.clear();
    }
    *out_text = dup_string(error, out_len);
    return OSR_INVALID_MOLECULE;
  } catch (const std::bad_alloc &) {
    return OSR_E_MEMORY;
  } catch (...) {
    return OSR_E_INTERNAL;
  }
}

int32_t osr_fingerprint(const char *smiles, int32_t smiles_len, int32_t radius, int32_t nbits,
                        int32_t **out_bits, int32_t *out_count, char **out_error,
                        int32_t *out_error_len) {
  if ((!smiles && smiles_len != 0) || smiles_len < 0 || !out_bits || !out_count || !out_error ||
      !out_error_len || !valid_spec(radius, nbits)) {
    return OSR_E_ARGUMENT;
  }
  *out_bits = nullptr;
  *out_count = 0;
  *out_error = nullptr;
  *out_error_len = 0;
  try {
    ensure_init();
    std::string error;
    auto mol = parse(std::string_view(smiles ? smiles : "", static_cast<size_t>(smiles_len)), error);
    if (mol) {
      std::vector<int32_t> bits;
      try {
        append_on_bits(*mol, radius, nbits, bits);
      } catch (const std::bad_alloc &) {
        throw;
      } catch (const std::exception &e) {
        error = e.what();
        if (error.empty()) error = "RDKit error";
      }
      tl_log.clear();
      if (error.empty()) {
        if (!bits.empty()) {
          *out_bits = static_cast<int32_t *>(std::malloc(bits.size() * sizeof(int32_t)));
          if (!*out_bits) return OSR_E_MEMORY;
          std::memcpy(*out_bits, bits.data(), bits.size() * sizeof(int32_t));
        }
        *out_count = static_cast<int32_t>(bits.size());
        return OSR_VALID_MOLECULE;
      }
    }
    *out_error = dup_string(error, out_error_len);
    return OSR_INVALID_MOLECULE;
  } catch (const std::bad_alloc &) {
    return OSR_E_MEMORY;
  } catch (...) {
    return OSR_E_INTERNAL;
  }
}

int32_t osr_featurize(const char *utf8, const int32_t *offsets, int32_t n, const int32_t *radii,
                      const int32_t *nbits, int32_t nspecs, int32_t threads, int32_t flags,
                      osr_batch **out) {
  if (!out) return OSR_E_ARGUMENT;
  *out = nullptr;
  if (!valid_batch(utf8, offsets, n, radii, nbits, nspecs, threads)) return OSR_E_ARGUMENT;
  try {
    ensure_init();
    MoleculeOptions opt;
    opt.canonical = (flags & OSR_FLAG_SKIP_CANONICAL) == 0;
    opt.shared = (flags & OSR_FLAG_SEPARATE_SPECS) == 0;
    // The canonical-SMILES mode keeps exactly the old path; the fast pieces are fingerprint-only.
    opt.fast_parse = !opt.canonical && (flags & OSR_FLAG_FULL_SANITIZE) == 0;
    // SEPARATE_SPECS promises one getFingerprintAsBitVect call per spec, so it also selects RDKit's loop.
    opt.port_morgan = !opt.canonical && opt.shared && (flags & OSR_FLAG_RDKIT_MORGAN) == 0;
    return run_molecules(utf8, offsets, n, radii, nbits, nspecs, threads, opt, out);
  } catch (const std::bad_alloc &) {
    return OSR_E_MEMORY;
  } catch (...) {
    return OSR_E_INTERNAL;
  }
}

int32_t osr_batch_text_bytes(const osr_batch *batch) {
  return batch ? static_cast<int32_t>(batch->text_bytes) : OSR_E_ARGUMENT;
}

int32_t osr_batch_nnz(const osr_batch *batch, int32_t spec) {
  if (!batch || spec < 0 || spec >= batch->nspecs) return OSR_E_ARGUMENT;
  return static_cast<int32_t>(batch->nnz[static_cast<size_t>(spec)]);
}

int32_t osr_batch_copy_text(const osr_batch *batch, uint8_t *valid, int32_t *text_offsets,
                            char *text) {
  if (!batch || !valid || !text_offsets || (batch->text_bytes > 0 && !text)) return OSR_E_ARGUMENT;
  if (batch->n > 0) std::memcpy(valid, batch->valid.data(), static_cast<size_t>(batch->n));
  text_offsets[0] = 0;
  for (int32_t i = 0; i < batch->n; ++i) text_offsets[i + 1] = text_offsets[i] + batch->text_len[i];
  size_t at = 0;
  for (const auto &c : batch->chunks) {
    if (!c.text.empty()) std::memcpy(text + at, c.text.data(), c.text.size());
    at += c.text.size();
  }
  return OSR_OK;
}

int32_t osr_batch_copy_fingerprint(const osr_batch *batch, int32_t spec, int32_t *offsets,
                                   int32_t *indices) {
  if (!batch || spec < 0 || spec >= batch->nspecs || !offsets ||
      (batch->nnz[static_cast<size_t>(spec)] > 0 && !indices)) {
    return OSR_E_ARGUMENT;
  }
  const int32_t *counts = batch->counts.data() + static_cast<size_t>(spec) * batch->n;
  offsets[0] = 0;
  for (int32_t i = 0; i < batch->n; ++i) offsets[i + 1] = offsets[i] + counts[i];
  size_t at = 0;
  for (const auto &c : batch->chunks) {
    if (static_cast<size_t>(spec) >= c.bits.size()) continue;
    const auto &bits = c.bits[static_cast<size_t>(spec)];
    if (!bits.empty()) std::memcpy(indices + at, bits.data(), bits.size() * sizeof(int32_t));
    at += bits.size();
  }
  return OSR_OK;
}

void osr_batch_free(osr_batch *batch) { delete batch; }

int32_t osr_graph_feature_count(int32_t kind) {
  switch (kind) {
    case OSR_GRAPH_ATOM: return OSR_GRAPH_ATOM_FEATURES;
    case OSR_GRAPH_BOND: return OSR_GRAPH_BOND_FEATURES;
    default: return OSR_E_ARGUMENT;
  }
}

const char *osr_graph_feature_names(int32_t kind) {
  // The string_views view NUL-terminated literals, so data() is a C string.
  switch (kind) {
    case OSR_GRAPH_ATOM: return kAtomFeatureNames.data();
    case OSR_GRAPH_BOND: return kBondFeatureNames.data();
    default: return nullptr;
  }
}

int32_t osr_graphs(const char *utf8, const int32_t *offsets, int32_t n, int32_t threads,
                   int32_t flags, osr_batch **out) {
  if (!out) return OSR_E_ARGUMENT;
  *out = nullptr;
  if (threads < 0 || !valid_inputs(utf8, offsets, n)) return OSR_E_ARGUMENT;
  try {
    ensure_init();
    MoleculeOptions opt;
    opt.canonical = (flags & OSR_FLAG_SKIP_CANONICAL) == 0;
    opt.graphs = true;
    return run_molecules(utf8, offsets, n, nullptr, nullptr, 0, threads, opt, out);
  } catch (const std::bad_alloc &) {
    return OSR_E_MEMORY;
  } catch (...) {
    return OSR_E_INTERNAL;
  }
}

int32_t osr_batch_graph_size(const osr_batch *batch, int32_t *atoms, int32_t *bonds) {
  if (!batch || !batch->graphs || !atoms || !bonds) return OSR_E_ARGUMENT;
  *atoms = static_cast<int32_t>(batch->atoms);
  *bonds = static_cast<int32_t>(batch->bonds);
  return OSR_OK;
}

int32_t osr_batch_copy_graphs(const osr_batch *batch, int32_t *atom_offsets, float *atom_features,
                              int32_t *bond_offsets, int32_t *bond_atoms, float *bond_features) {
  if (!batch || !batch->graphs || !atom_offsets || !bond_offsets ||
      (batch->atoms > 0 && !atom_features) ||
      (batch->bonds > 0 && (!bond_atoms || !bond_features))) {
    return OSR_E_ARGUMENT;
  }
  atom_offsets[0] = 0;
  bond_offsets[0] = 0;
  for (int32_t i = 0; i < batch->n; ++i) {
    atom_offsets[i + 1] = atom_offsets[i] + batch->atom_count[static_cast<size_t>(i)];
    bond_offsets[i + 1] = bond_offsets[i] + batch->bond_count[static_cast<size_t>(i)];
  }
  size_t atoms_at = 0, bonds_at = 0, ends_at = 0;
  for (const auto &c : batch->chunks) {
    if (!c.atom_features.empty()) {
      std::memcpy(atom_features + atoms_at, c.atom_features.data(), c.atom_features.size() * sizeof(float));
    }
    if (!c.bond_features.empty()) {
      std::memcpy(bond_features + bonds_at, c.bond_features.data(), c.bond_features.size() * sizeof(float));
      std::memcpy(bond_atoms + ends_at, c.bond_atoms.data(), c.bond_atoms.size() * sizeof(int32_t));
    }
    atoms_at += c.atom_features.size();
    bonds_at += c.bond_features.size();
    ends_at += c.bond_atoms.size();
  }
  return OSR_OK;
}

int32_t osr_descriptors(const char *utf8, const int32_t *offsets, int32_t n, int32_t threads,
                        osr_batch **out) {
  if (!out) return OSR_E_ARGUMENT;
  *out = nullptr;
  if (threads < 0 || !valid_inputs(utf8, offsets, n)) return OSR_E_ARGUMENT;
  try {
    ensure_init();
    MoleculeOptions opt;
    opt.descriptors = true;
    opt.elements_as_text = true;
    return run_molecules(utf8, offsets, n, nullptr, nullptr, 0, threads, opt, out);
  } catch (const std::bad_alloc &) {
    return OSR_E_MEMORY;
  } catch (...) {
    return OSR_E_INTERNAL;
  }
}

int32_t osr_batch_copy_descriptors(const osr_batch *batch, double *molar_mass, int32_t *heavy_atoms,
                                   int32_t *formal_charge, int32_t *fragments) {
  if (!batch || !batch->descriptors ||
      (batch->n > 0 && (!molar_mass || !heavy_atoms || !formal_charge || !fragments))) {
    return OSR_E_ARGUMENT;
  }
  const auto n = static_cast<size_t>(batch->n);
  if (n == 0) return OSR_OK;
  std::memcpy(molar_mass, batch->molar_mass.data(), n * sizeof(double));
  std::memcpy(heavy_atoms, batch->heavy_atoms.data(), n * sizeof(int32_t));
  std::memcpy(formal_charge, batch->formal_charge.data(), n * sizeof(int32_t));
  std::memcpy(fragments, batch->fragments.data(), n * sizeof(int32_t));
  return OSR_OK;
}

int32_t osr_molecules(const char *utf8, const int32_t *offsets, int32_t n, const int32_t *radii,
                      const int32_t *nbits, int32_t nspecs, int32_t threads, int32_t flags,
                      osr_batch **out) {
  if (!out) return OSR_E_ARGUMENT;
  *out = nullptr;
  if (!valid_batch(utf8, offsets, n, radii, nbits, nspecs, threads)) return OSR_E_ARGUMENT;
  try {
    ensure_init();
    MoleculeOptions opt;
    opt.canonical = (flags & OSR_FLAG_SKIP_CANONICAL) == 0;
    opt.descriptors = (flags & OSR_FLAG_DESCRIPTORS) != 0;
    opt.graphs = (flags & OSR_FLAG_GRAPHS) != 0;
    // Canonical SMILES and graph features read stereo, conjugation and hybridisation, so they need
    // MolFromSmiles' full perception; fingerprints and descriptors alone take the fast path, whose
    // verdicts, error texts, bits and descriptors equal the full path's (tests compare them).
    opt.fast_parse = !opt.canonical && !opt.graphs && (flags & OSR_FLAG_FULL_SANITIZE) == 0;
    // The port reads the same atom and bond properties as RDKit's loop on any sanitised molecule.
    opt.shared = (flags & OSR_FLAG_SEPARATE_SPECS) == 0;
    opt.port_morgan = opt.shared && (flags & OSR_FLAG_RDKIT_MORGAN) == 0;
    return run_molecules(utf8, offsets, n, radii, nbits, nspecs, threads, opt, out);
  } catch (const std::bad_alloc &) {
    return OSR_E_MEMORY;
  } catch (...) {
    return OSR_E_INTERNAL;
  }
}

int32_t osr_batch_element_bytes(const osr_batch *batch) {
  return batch && batch->descriptors && !batch->element_len.empty()
             ? static_cast<int32_t>(batch->element_bytes)
             : OSR_E_ARGUMENT;
}

int32_t osr_batch_copy_elements(const osr_batch *batch, int32_t *element_offsets, char *elements) {
  if (!batch || !batch->descriptors || batch->element_len.empty() || !element_offsets ||
      (batch->element_bytes > 0 && !elements)) {
    return OSR_E_ARGUMENT;
  }
  element_offsets[0] = 0;
  for (int32_t i = 0; i < batch->n; ++i) {
    element_offsets[i + 1] = element_offsets[i] + batch->element_len[static_cast<size_t>(i)];
  }
  size_t at = 0;
  for (const auto &c : batch->chunks) {
    if (!c.elements.empty()) std::memcpy(elements + at, c.elements.data(), c.elements.size());
    at += c.elements.size();
  }
  return OSR_OK;
}

int32_t osr_depict_svg(const char *smiles, int32_t smiles_len, int32_t width, int32_t height,
                       int32_t flags, char **out_text, int32_t *out_len) {
  if ((!smiles && smiles_len != 0) || smiles_len < 0 || !out_text || !out_len ||
      width < kMinDepictSize || width > kMaxDepictSize || height < kMinDepictSize ||
      height > kMaxDepictSize) {
    return OSR_E_ARGUMENT;
  }
  *out_text = nullptr;
  *out_len = 0;
  try {
    ensure_init();
    std::string error;
    auto mol = parse(std::string_view(smiles ? smiles : "", static_cast<size_t>(smiles_len)), error);
    if (mol) {
      try {
        const std::string svg = depict_svg(*mol, width, height, (flags & OSR_DEPICT_TRANSPARENT) != 0);
        tl_log.clear();
        *out_text = dup_string(svg, out_len);
        return OSR_VALID_MOLECULE;
      } catch (const std::bad_alloc &) {
        throw;
      } catch (const std::exception &e) {
        error = e.what();
        if (error.empty()) error = "RDKit error";
      }
      tl_log.clear();
    }
    *out_text = dup_string(error, out_len);
    return OSR_INVALID_MOLECULE;
  } catch (const std::bad_alloc &) {
    return OSR_E_MEMORY;
  } catch (...) {
    return OSR_E_INTERNAL;
  }
}

int32_t osr_sdf_record(const char *block, int32_t block_len, int32_t lines_before,
                       char **out_text, int32_t *out_len, int32_t *out_fields) {
  if ((!block && block_len != 0) || block_len < 0 || lines_before < 0 || !out_text || !out_len ||
      !out_fields) {
    return OSR_E_ARGUMENT;
  }
  *out_text = nullptr;
  *out_len = 0;
  *out_fields = 0;
  try {
    ensure_init();
    std::string out;
    int32_t fields = 0;
    const int32_t status = read_sd_record(
        std::string_view(block ? block : "", static_cast<size_t>(block_len)), lines_before, out, fields);
    if (out.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max() - 1)) return OSR_E_TOO_LARGE;
    *out_text = dup_string(out, out_len);
    *out_fields = fields;
    return status;
  } catch (const std::bad_alloc &) {
    return OSR_E_MEMORY;
  } catch (...) {
    return OSR_E_INTERNAL;
  }
}

}  // extern "C"

// ---- R-group enumeration (ABI 7) -------------------------------------------------------------
//
// Cores and substituents are parsed once and stripped of their dummy atoms into templates. A product
// is a quick copy of its core template with each chosen substituent template inserted and bonded
// (one single bond) to its attachment atom; points left unsubstituted keep their hydrogen. Editing
// parsed molecules, rather than pasting SMILES strings, keeps ring-closure digits out of it.
//
// Products are sanitised partially by default: cleanUp, the property cache (valences: a product
// that breaks one is rejected) and SSSR rings, but no kekulisation or aromaticity perception.
// Replacing an H by a single-bonded group changes no ring atom's pi-electron count, so the
// aromaticity RDKit perceived in the core and substituent templates is what a full sanitisation of
// the product would find; OSR_FLAG_FULL_SANITIZE runs sanitizeMol instead (tests compare the two,
// and check every product's SMILES is Python RDKit's canonical SMILES). That halves the RDKit cost
// left besides MolToSmiles itself.

struct osr_library {
  struct Core {
    std::unique_ptr<RDKit::ROMol> stripped;   // the core with its dummies removed
    std::vector<unsigned> atom;               // [j - 1]: template atom that carries [*:j]
    std::vector<uint8_t> explicit_h;          // [j - 1]: that atom holds the site's H as an explicit count
    std::vector<int32_t> permutations;        // m * k: site maps of the core's automorphisms
  };
  struct Substituent {
    std::unique_ptr<RDKit::ROMol> stripped;
    unsigned atom = 0;
  };
  std::vector<Core> cores;
  std::vector<Substituent> subs;
};

namespace {

// Attachment points per core: far more than any ring system has hydrogens worth replacing.
constexpr int32_t kMaxSites = 64;
// Self-matches examined for a core's symmetry; beyond it (many equivalent methyls) only the identity is used.
constexpr unsigned kMaxAutomorphisms = 20000;

// The dummy must hang on exactly one atom through a single bond: it stands for one replaced H.
bool attachment_atom(const RDKit::ROMol &mol, const RDKit::Atom *dummy, unsigned &atom,
                     std::string &error) {
  if (dummy->getDegree() != 1) {
    error = "attachment point must be bonded to exactly one atom";
    return false;
  }
  const RDKit::Bond *bond = *mol.atomBonds(dummy).begin();
  if (bond->getBondType() != RDKit::Bond::SINGLE) {
    error = "attachment point must be joined by a single bond (it replaces a hydrogen)";
    return false;
  }
  atom = bond->getOtherAtomIdx(dummy->getIdx());
  if (mol.getAtomWithIdx(atom)->getAtomicNum() == 0) {
    error = "attachment point bonded to another dummy atom";
    return false;
  }
  return true;
}

// Removes the dummies `dummies` from a copy of `mol`; returns it and maps `atoms` to new indices.
std::unique_ptr<RDKit::ROMol> strip(const RDKit::ROMol &mol, std::vector<unsigned> dummies,
                                    std::vector<unsigned> &atoms) {
  auto out = std::make_unique<RDKit::RWMol>(mol);
  std::sort(dummies.rbegin(), dummies.rend());  // highest first: a removal renumbers only later atoms
  for (unsigned d : dummies) {
    out->removeAtom(d);
    for (unsigned &a : atoms) a -= a > d ? 1 : 0;
  }
  return out;
}

// Site permutations induced by the core's automorphisms (substructure self-matches, dummies only
// matching dummies). Cores with stereo marks get the identity only: a mirror image is not a duplicate.
std::vector<int32_t> site_permutations(const RDKit::ROMol &mol, const std::vector<unsigned> &dummy) {
  const auto k = dummy.size();
  std::vector<int32_t> identity(k);
  for (size_t j = 0; j < k; ++j) identity[j] = static_cast<int32_t>(j);
  bool stereo = false;
  for (const RDKit::Atom *a : mol.atoms()) stereo |= a->getChiralTag() != RDKit::Atom::CHI_UNSPECIFIED;
  for (const RDKit::Bond *b : mol.bonds()) stereo |= b->getStereo() > RDKit::Bond::STEREOANY;
  if (k < 2 || stereo) return identity;
  RDKit::SubstructMatchParameters params;
  params.uniquify = false;
  params.maxMatches = kMaxAutomorphisms;
  const auto matches = RDKit::SubstructMatch(mol, mol, params);
  if (matches.size() >= kMaxAutomorphisms) return identity;
  std::vector<int32_t> site_of(mol.getNumAtoms(), -1);
  for (size_t j = 0; j < k; ++j) site_of[dummy[j]] = static_cast<int32_t>(j);
  std::vector<std::vector<int32_t>> unique;
  for (const auto &match : matches) {
    std::vector<int32_t> perm(k);
    for (const auto &[query, target] : match) {
      if (site_of[static_cast<size_t>(query)] >= 0) {
        perm[static_cast<size_t>(site_of[static_cast<size_t>(query)])] = site_of[static_cast<size_t>(target)];
      }
    }
    if (std::find(unique.begin(), unique.end(), perm) == unique.end()) unique.push_back(perm);
  }
  std::sort(unique.begin(), unique.end());  // identity first; a fixed order for a fixed core
  std::vector<int32_t> flat;
  for (const auto &perm : unique) flat.insert(flat.end(), perm.begin(), perm.end());
  return flat;
}

bool read_core(const RDKit::ROMol &mol, osr_library::Core &core, std::string &error) {
  std::vector<int> by_map;
  for (const RDKit::Atom *a : mol.atoms()) {
    const int map = a->getAtomMapNum();
    if (a->getAtomicNum() != 0) {
      if (map != 0) {
        error = "only attachment points [*:j] may carry atom map numbers";
        return false;
      }
      continue;
    }
    if (map < 1 || map > kMaxSites) {
      error = "every attachment point needs a map number 1.." + std::to_string(kMaxSites) + ", as in [*:1]";
      return false;
    }
    if (static_cast<int>(by_map.size()) < map) by_map.resize(static_cast<size_t>(map), -1);
    if (by_map[static_cast<size_t>(map - 1)] >= 0) {
      error = "attachment point [*:" + std::to_string(map) + "] appears twice";
      return false;
    }
    by_map[static_cast<size_t>(map - 1)] = static_cast<int>(a->getIdx());
  }
  std::vector<unsigned> dummies;
  for (size_t j = 0; j < by_map.size(); ++j) {
    if (by_map[j] < 0) {
      error = "attachment points must be numbered 1..k without gaps; [*:" + std::to_string(j + 1) + "] is missing";
      return false;
    }
    unsigned atom = 0;
    if (!attachment_atom(mol, mol.getAtomWithIdx(static_cast<unsigned>(by_map[j])), atom, error)) {
      error = "[*:" + std::to_string(j + 1) + "]: " + error;
      return false;
    }
    dummies.push_back(static_cast<unsigned>(by_map[j]));
    core.atom.push_back(atom);
  }
  core.permutations = site_permutations(mol, dummies);
  for (unsigned a : core.atom) {
    // What removeHs does with an H it deletes: plain atoms recompute implicit Hs, bracket atoms and
    // aromatic heteroatoms ([nH]) keep it as an explicit count.
    const RDKit::Atom *atom = mol.getAtomWithIdx(a);
    core.explicit_h.push_back(atom->getNoImplicit() || (atom->getIsAromatic() && atom->getAtomicNum() != 6));
  }
  core.stripped = strip(mol, dummies, core.atom);
  auto parent = std::make_unique<RDKit::RWMol>(*core.stripped);
  for (size_t j = 0; j < core.atom.size(); ++j) {
    if (!core.explicit_h[j]) continue;
    RDKit::Atom *a = parent->getAtomWithIdx(core.atom[j]);
    a->setNumExplicitHs(a->getNumExplicitHs() + 1);
  }
  RDKit::MolOps::sanitizeMol(*parent);  // the bare core must be a molecule (throws RDKit's reason)
  core.stripped = std::move(parent);
  return true;
}

bool read_substituent(const RDKit::ROMol &mol, osr_library::Substituent &sub, std::string &error) {
  int found = 0;
  unsigned dummy = 0;
  for (const RDKit::Atom *a : mol.atoms()) {
    if (a->getAtomicNum() != 0) continue;
    if (++found > 1) {
      error = "a substituent needs exactly one attachment point [*]; this one has more";
      return false;
    }
    dummy = a->getIdx();
    if (!attachment_atom(mol, a, sub.atom, error)) return false;
  }
  if (found == 0) {
    error = "a substituent needs exactly one attachment point [*], as in [*]C#N";
    return false;
  }
  std::vector<unsigned> atoms{sub.atom};
  sub.stripped = strip(mol, {dummy}, atoms);
  sub.atom = atoms[0];
  return true;
}

// One product's canonical SMILES; throws RDKit's exception when it is not a valid molecule.
std::string build_product(const osr_library &lib, const int32_t *row, bool full_sanitize) {
  const auto &core = lib.cores[static_cast<size_t>(row[0])];
  RDKit::RWMol mol(*core.stripped, /*quickCopy=*/true);
  for (size_t j = 0; j < core.atom.size(); ++j) {
    const int32_t s = row[1 + j];
    if (s < 0) continue;
    RDKit::Atom *a = mol.getAtomWithIdx(core.atom[j]);
    if (core.explicit_h[j]) a->setNumExplicitHs(a->getNumExplicitHs() - 1);
    const auto &sub = lib.subs[static_cast<size_t>(s)];
    const unsigned offset = mol.getNumAtoms();
    mol.insertMol(*sub.stripped);
    mol.addBond(core.atom[j], offset + sub.atom, RDKit::Bond::SINGLE);
  }
  if (full_sanitize) {
    RDKit::MolOps::sanitizeMol(mol);
  } else {
    unsigned failed = 0;
    RDKit::MolOps::sanitizeMol(mol, failed, RDKit::MolOps::SANITIZE_CLEANUP | RDKit::MolOps::SANITIZE_PROPERTIES |
                                                RDKit::MolOps::SANITIZE_SYMMRINGS);
  }
  return RDKit::MolToSmiles(mol);
}

void library_chunk(osr_batch &b, int32_t chunk, const osr_library &lib, const int32_t *rows,
                   int32_t width, bool full_sanitize) {
  auto &c = b.chunks[static_cast<size_t>(chunk)];
  const int32_t begin = chunk * kChunk;
  const int32_t end = std::min(b.n, begin + kChunk);
  for (int32_t i = begin; i < end; ++i) {
    const size_t before = c.text.size();
    std::string error;
    tl_log.clear();
    try {
      c.text += build_product(lib, rows + static_cast<size_t>(i) * static_cast<size_t>(width), full_sanitize);
      b.valid[static_cast<size_t>(i)] = 1;
    } catch (const std::bad_alloc &) {
      throw;
    } catch (const std::exception &e) {
      error = e.what();
    } catch (...) {
      error = "unknown RDKit error";
    }
    std::string logged = take_log();
    if (!b.valid[static_cast<size_t>(i)]) {
      c.text.resize(before);
      c.text += error.empty() ? (logged.empty() ? std::string("RDKit error") : logged) : error;
    }
    b.text_len[static_cast<size_t>(i)] = static_cast<int32_t>(c.text.size() - before);
  }
}

}  // namespace

extern "C" {

int32_t osr_library_create(const char *utf8, const int32_t *offsets, int32_t ncores, int32_t nsubs,
                           osr_library **out, int32_t *out_bad, char **out_error,
                           int32_t *out_error_len) {
  if (!out || !out_bad || !out_error || !out_error_len || ncores < 0 || nsubs < 0 ||
      ncores > std::numeric_limits<int32_t>::max() - nsubs || !valid_inputs(utf8, offsets, ncores + nsubs)) {
    return OSR_E_ARGUMENT;
  }
  *out = nullptr;
  *out_bad = -1;
  *out_error = nullptr;
  *out_error_len = 0;
  try {
    ensure_init();
    auto lib = std::make_unique<osr_library>();
    lib->cores.resize(static_cast<size_t>(ncores));
    lib->subs.resize(static_cast<size_t>(nsubs));
    for (int32_t i = 0; i < ncores + nsubs; ++i) {
      std::string error;
      std::string_view smi(utf8 + offsets[i], static_cast<size_t>(offsets[i + 1] - offsets[i]));
      auto mol = parse(smi, error);
      bool ok = false;
      try {
        ok = mol && (i < ncores ? read_core(*mol, lib->cores[static_cast<size_t>(i)], error)
                                : read_substituent(*mol, lib->subs[static_cast<size_t>(i - ncores)], error));
      } catch (const std::bad_alloc &) {
        throw;
      } catch (const std::exception &e) {
        error = std::string("the bare core is not a valid molecule: ") + e.what();
      }
      tl_log.clear();
      if (!ok) {
        *out_bad = i;
        *out_error = dup_string(error, out_error_len);
        return OSR_INVALID_MOLECULE;
      }
    }
    *out = lib.release();
    return OSR_VALID_MOLECULE;
  } catch (const std::bad_alloc &) {
    return OSR_E_MEMORY;
  } catch (...) {
    return OSR_E_INTERNAL;
  }
}

int32_t osr_library_sites(const osr_library *library, int32_t core) {
  if (!library || core < 0 || core >= static_cast<int32_t>(library->cores.size())) return OSR_E_ARGUMENT;
  return static_cast<int32_t>(library->cores[static_cast<size_t>(core)].atom.size());
}

int32_t osr_library_site_permutations(const osr_library *library, int32_t core, int32_t *out,
                                      int32_t capacity) {
  if (!library || core < 0 || core >= static_cast<int32_t>(library->cores.size()) || capacity < 0 ||
      (capacity > 0 && !out)) {
    return OSR_E_ARGUMENT;
  }
  const auto &c = library->cores[static_cast<size_t>(core)];
  const auto k = c.atom.size();
  const auto count = static_cast<int32_t>(k == 0 ? 1 : c.permutations.size() / k);
  if (out && static_cast<size_t>(capacity) >= c.permutations.size()) {
    std::copy(c.permutations.begin(), c.permutations.end(), out);
  }
  return count;
}

int32_t osr_library_build(const osr_library *library, const int32_t *rows, int32_t n, int32_t width,
                          int32_t threads, int32_t flags, osr_batch **out) {
  if (!out) return OSR_E_ARGUMENT;
  *out = nullptr;
  if (!library || n < 0 || (n > 0 && !rows) || width < 1 || width > kMaxSites + 1 || threads < 0) {
    return OSR_E_ARGUMENT;
  }
  // Every row is checked before any work, so a bad index is an argument error, never a crash.
  for (int32_t i = 0; i < n; ++i) {
    const int32_t *row = rows + static_cast<size_t>(i) * static_cast<size_t>(width);
    if (row[0] < 0 || row[0] >= static_cast<int32_t>(library->cores.size())) return OSR_E_ARGUMENT;
    const auto sites = static_cast<int32_t>(library->cores[static_cast<size_t>(row[0])].atom.size());
    if (sites > width - 1) return OSR_E_ARGUMENT;
    for (int32_t j = 1; j < width; ++j) {
      if (row[j] < -1 || row[j] >= static_cast<int32_t>(library->subs.size()) || (j > sites && row[j] != -1)) {
        return OSR_E_ARGUMENT;
      }
    }
  }
  try {
    ensure_init();
    auto b = std::make_unique<osr_batch>();
    b->n = n;
    b->valid.assign(static_cast<size_t>(n), 0);
    b->text_len.assign(static_cast<size_t>(n), 0);
    const int32_t nchunks = (n + kChunk - 1) / kChunk;
    b->chunks.resize(static_cast<size_t>(nchunks));
    const int32_t status = run_chunks(nchunks, threads, [&](int32_t c) {
      library_chunk(*b, c, *library, rows, width, (flags & OSR_FLAG_FULL_SANITIZE) != 0);
    });
    if (status != OSR_OK) return status;
    for (const auto &c : b->chunks) b->text_bytes += static_cast<int64_t>(c.text.size());
    if (b->text_bytes > std::numeric_limits<int32_t>::max()) return OSR_E_TOO_LARGE;
    *out = b.release();
    return OSR_OK;
  } catch (const std::bad_alloc &) {
    return OSR_E_MEMORY;
  } catch (...) {
    return OSR_E_INTERNAL;
  }
}

void osr_library_free(osr_library *library) { delete library; }

}  // extern "C"
