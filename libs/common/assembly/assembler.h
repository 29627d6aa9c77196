#pragma once
// File assembler: rebuilds whole files from QBT data segments arriving in any
// order and interleaving, keyed by (filename, /FD stamp, /PT total). Drops
// FILLFILE blocks and duplicate blocks (counted), delivers a retransmitted
// file once (same name and same sha256 within a window), trims padding to the
// file format's real end, unpacks ZIP/ZIS archives safely, and gives up
// partial files after an idle timeout or under a memory cap -- every eviction
// is reported through the callbacks, never silent.
//
// Sources (redundant ingest): every segment comes from one of up to
// kMaxSources inputs. Blocks of one key are merged whichever input delivered
// them: a block counts once, a file completes from blocks of any inputs, and
// a product delivered by two inputs is delivered once. Every copy of a block
// is compared with the copies held: when two inputs disagree on a block's
// bytes (a corruption the /CS checksum missed, or two products sharing name,
// stamp and block count) the key stops merging -- from then on a file of that
// key is only assembled from the copies of one input (each input's version
// that completes is delivered as its own product), never from a mix. A copy
// differing from the same block of a file delivered moments ago, from an input
// that was still sending that file, is counted as conflicting and dropped.
// An input that sends a block it already sent with other bytes has started
// another product under the same key: its earlier blocks are given up
// (EvictionReason::kSuperseded) and it starts over.
//
// Duplicates: a block already held by its partial file, and a block equal to
// the same block of a file of the same key delivered within the dedupe window
// (a late duplicate, a lagging input, or a retransmission under the same
// stamp), count as duplicate_blocks when they arrive. A late duplicate that
// could begin another product (block 1 from an input that sent the file
// already, or any block of an input already sending this key again) is still
// held, in case a differing block shows a new product sharing the key; if none
// comes, it is dropped without an eviction (the file was delivered). Other
// late copies (a lagging input's copy of a delivered file) are not kept.
// Per-input counters (Stats::sources) say what each input contributed.
//
// Pure logic: no sockets, no threads, no sleeping; time comes from the
// injected Options::clock. Untrusted input never throws: it is counted in
// Stats with a reason and logged.
//
// Thread-safety: an Assembler is not thread-safe; use it from one thread.
// Callbacks run synchronously inside add()/expire()/drainPartials() and must
// not call back into the same Assembler.

#include <memory>
#include <string_view>
#include <vector>

#include "assembly/types.h"
#include "qbt/types.h"

namespace emwin::assembly {

// Receives the assembler's output.
class AssemblerCallbacks {
 public:
  virtual ~AssemblerCallbacks() = default;
  // A completed file (blocks or archive entry). An archive comes first, its
  // entries right after it. The receiver may move the file's data away.
  virtual void onFile(CompletedFile&& file) = 0;
  // A partial file given up (timeout, memory cap, end of input).
  virtual void onEviction(const Eviction& eviction) = 0;
};

// What add() did with a segment: the caller acknowledges upstream by it (a
// stored block is held until its file completes or is given up; anything
// else is done with at once, see AddResult::released for the held ones).
enum class AddOutcome : std::uint8_t {
  kStored,          // held in its partial file; more blocks to come
  kCompleted,       // completed its file: the file (and archive entries) went to onFile()
  kSuppressed,      // completed a retransmission delivered within the window: nothing delivered
  kDuplicateBlock,  // an equal copy was held (from any input) or just delivered
  kFill,            // a FILLFILE keep-alive block, dropped
  kRejected,        // refused before assembly (see `reject`)
  kEvicted,         // stored, then its own partial file was given up under the memory cap (onEviction ran)
  kConflict,        // differs from another input's copy of a file delivered moments ago: counted, dropped
};

// Number of AddOutcome values (for arrays indexed by outcome).
inline constexpr std::size_t kAddOutcomeCount = static_cast<std::size_t>(AddOutcome::kConflict) + 1;

// Stable name of an outcome ("stored", "completed", ...).
std::string_view addOutcomeName(AddOutcome o) noexcept;

// Result of Assembler::add().
struct AddResult {
  AddOutcome outcome = AddOutcome::kStored;
  RejectReason reject = RejectReason::kBlockRange;  // meaningful for kRejected
  // kCompleted / kSuppressed: the inputs whose held blocks of this key are done
  // with (acknowledge them once the delivered file settled, or at once when
  // suppressed); other inputs keep theirs (their own version is still open).
  SourceMask released = 0;
};

// Snapshot of one open partial file.
struct PartialInfo {
  std::string name;
  std::int64_t fd_unix_s = 0;
  std::uint32_t blocks_held = 0;
  std::uint32_t total_blocks = 0;
  std::size_t bytes_held = 0;
};

class Assembler {
 public:
  // Accounted cost of one held block (data plus container bookkeeping).
  static constexpr std::size_t kBlockCost = 1024 + 64;
  // Accounted fixed cost of one open partial file (plus its name and source).
  static constexpr std::size_t kFileCost = 256;
  // At most this many block hashes (8 bytes each) of files completed within the
  // dedupe window are kept to recognise late duplicate blocks (oldest forgotten first).
  static constexpr std::size_t kMaxRememberedBlocks = 1u << 20;

  Assembler(Options options, AssemblerCallbacks& callbacks);
  ~Assembler();
  Assembler(const Assembler&) = delete;
  Assembler& operator=(const Assembler&) = delete;

  // Offers one segment received from `source` ("host:port", "replay:FILE")
  // through input `input` (< kMaxSources; 0 with a single ingest). Completed
  // files and evictions are reported before this returns; the result says
  // what became of this segment.
  AddResult add(const qbt::Segment& segment, std::string_view source = {}, SourceIndex input = 0);
  // Evicts partial files idle for longer than the timeout (add() does this too;
  // call it on a timer when no segments arrive).
  void expire();
  // End of input: reports every open partial file (kEndOfInput) and forgets it.
  void drainPartials();

  // Open partial files, least recently updated first.
  std::vector<PartialInfo> partials() const;
  const Stats& stats() const noexcept;
  const Options& options() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace emwin::assembly
