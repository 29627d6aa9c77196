#pragma once
// File assembler: rebuilds whole files from QBT data segments arriving in any
// order and interleaving, keyed by (filename, /FD stamp, /PT total). Drops
// FILLFILE blocks and duplicate blocks (counted), delivers a retransmitted
// file once (same name and same sha256 within a window), trims padding to the
// file format's real end, unpacks ZIP/ZIS archives safely, and gives up
// partial files after an idle timeout or under a memory cap -- every eviction
// is reported through the callbacks, never silent.
//
// Duplicates: a block already held by its partial file, and a block equal to
// the same block of a multi-block file of the same key delivered within the
// dedupe window (a late duplicate, or a retransmission under the same stamp),
// count as duplicate_blocks when they arrive. Late duplicates are still held,
// in case a differing block shows a new product sharing the key; if none comes,
// they are dropped without an eviction (the file was delivered).
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
// else is done with at once).
enum class AddOutcome : std::uint8_t {
  kStored,          // held in its partial file; more blocks to come
  kCompleted,       // completed its file: the file (and archive entries) went to onFile()
  kSuppressed,      // completed a retransmission delivered within the window: nothing delivered
  kDuplicateBlock,  // its partial file already held this block
  kFill,            // a FILLFILE keep-alive block, dropped
  kRejected,        // refused before assembly (see `reject`)
  kEvicted,         // stored, then its own partial file was given up under the memory cap (onEviction ran)
};

// Stable name of an outcome ("stored", "completed", ...).
std::string_view addOutcomeName(AddOutcome o) noexcept;

// Result of Assembler::add().
struct AddResult {
  AddOutcome outcome = AddOutcome::kStored;
  RejectReason reject = RejectReason::kBlockRange;  // meaningful for kRejected
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

  // Offers one segment received from `source` ("host:port", "replay:FILE").
  // Completed files and evictions are reported before this returns; the
  // result says what became of this segment.
  AddResult add(const qbt::Segment& segment, std::string_view source = {});
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
