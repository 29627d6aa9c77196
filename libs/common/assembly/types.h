#pragma once
// Value types of the file assembler: options, completed files, eviction
// reports and the stats struct, plus stable names for every counted reason.
// Plain data, no behaviour; safe to copy between threads.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace emwin::assembly {

// Index of the input a segment came from: with redundant ingest the assembler
// takes several pipelines (one per receiver), numbered 0..kMaxSources-1.
using SourceIndex = std::uint8_t;
// A set of sources: bit i stands for SourceIndex i.
using SourceMask = std::uint8_t;
// Most inputs one assembler merges.
inline constexpr std::size_t kMaxSources = 8;
// The mask holding only `source`.
constexpr SourceMask sourceBit(SourceIndex source) noexcept { return static_cast<SourceMask>(1u << source); }

// Wall-clock time used for receive times and timeouts.
using TimePoint = std::chrono::system_clock::time_point;
// Injected clock: returns "now". Tests pass a fake; the default is system_clock::now.
using Clock = std::function<TimePoint()>;

// How a completed file came to be.
enum class Origin : std::uint8_t {
  kBlocks,        // reassembled from QBT blocks
  kArchiveEntry,  // extracted from a ZIP/ZIS archive that was reassembled from blocks
};

// Stable name of an origin ("blocks", "archive_entry").
std::string_view originName(Origin o) noexcept;

// Link from an extracted product to the archive it came from.
struct ArchiveLink {
  std::string archive_name;    // archive file name as sent ("NPSA01US.ZIP")
  std::string archive_sha256;  // sha256 (hex) of the archive's delivered bytes
  std::string entry_name;      // validated entry name (no path components)
};

// One whole product, delivered once.
struct CompletedFile {
  std::string name;        // file name (for archive entries: the entry name)
  std::string data;        // delivered bytes (std::string so it can be moved into a protobuf bytes field)
  std::string sha256;      // lower-case hex sha256 of `data`
  std::string raw_sha256;  // sha256 of the concatenated 1024-byte blocks (entries: same as sha256)
  std::int64_t fd_unix_s = 0;  // /FD stamp of the transmission (UTC seconds)
  TimePoint first_segment_time{};  // receive time of the first block
  TimePoint last_segment_time{};   // receive time of the block that completed the file
  std::uint32_t block_count = 0;   // /PT of the transmission
  std::string source;              // where the blocks came from ("host:port", "replay:FILE"; merged: "a+b")
  SourceMask sources = 0;          // inputs whose blocks make up the file (several when merged)
  Origin origin = Origin::kBlocks;
  ArchiveLink archive;      // set when origin == kArchiveEntry
  bool is_archive = false;  // a ZIP archive that was opened; its entries follow as their own files

  // Size of the delivered bytes.
  std::size_t size() const noexcept { return data.size(); }
};

// Why a partial file was given up.
enum class EvictionReason : std::uint8_t {
  kTimeout,      // no new block for Options::partial_timeout
  kMemory,       // partial bytes exceeded Options::max_partial_bytes (least recently updated first)
  kEndOfInput,   // reported by Assembler::drainPartials()
  kSuperseded,   // its source restarted the transmission with other bytes (a new product sharing the key)
};

// Stable name of an eviction reason ("timeout", "memory", "end_of_input", "superseded").
std::string_view evictionReasonName(EvictionReason r) noexcept;

// A partial file that was given up (never silent: every one is reported).
struct Eviction {
  std::string name;
  std::int64_t fd_unix_s = 0;
  std::uint32_t blocks_held = 0;
  std::uint32_t total_blocks = 0;
  std::size_t bytes_held = 0;  // accounted bytes (blocks + bookkeeping)
  std::string source;
  // Inputs whose held blocks of this transmission were given up (one source
  // for kSuperseded, every source holding blocks otherwise).
  SourceMask sources = 0;
  TimePoint first_segment_time{};
  TimePoint last_segment_time{};
  EvictionReason reason = EvictionReason::kTimeout;
};

// Why a segment was refused before assembly.
enum class RejectReason : std::uint8_t {
  kBlockRange,     // PN < 1, PT < 1 or PN > PT
  kTotalTooLarge,  // PT above Options::max_total_blocks
  kBadFilename,    // empty or longer than Options::max_filename_length
};
inline constexpr std::size_t kRejectReasonCount = 3;

// Stable name ("block_range", "total_too_large", "bad_filename").
std::string_view rejectReasonName(RejectReason r) noexcept;

// Why (part of) an archive was not unpacked. The archive itself is still delivered.
enum class ArchiveError : std::uint8_t {
  kCorrupt,         // libzip cannot open it (bad or truncated bytes)
  kTooManyEntries,  // more entries than ArchiveLimits::max_entries (nothing extracted)
  kUnsafeName,      // entry name empty, overlong, with '/', '\\', "..", NUL or absolute
  kTotalSize,       // uncompressed bytes exceeded ArchiveLimits::max_uncompressed_bytes
  kRatio,           // compression ratio exceeded ArchiveLimits::max_ratio
  kEntryRead,       // entry could not be opened or read (CRC, inflate, encryption)
};
inline constexpr std::size_t kArchiveErrorCount = 6;

// Stable name ("corrupt", "too_many_entries", "unsafe_name", "total_size", "ratio", "entry_read").
std::string_view archiveErrorName(ArchiveError e) noexcept;

// Safety limits applied while unpacking an archive. Sizes are checked on the
// bytes actually inflated, never on the sizes the archive declares.
struct ArchiveLimits {
  std::size_t max_entries = 32;                          // more -> kTooManyEntries
  std::uint64_t max_uncompressed_bytes = 64ull << 20;    // per archive, all entries together
  std::uint64_t max_ratio = 100;                         // inflated / compressed, per entry
  std::uint64_t ratio_min_bytes = 1ull << 20;            // ratio is enforced once an entry passes this size
  std::size_t max_entry_name = 128;                      // longer names -> kUnsafeName
};

// Assembler configuration; every field has a usable default.
struct Options {
  // A partial file with no new block for this long is evicted (kTimeout).
  std::chrono::seconds partial_timeout{600};
  // Cap on bytes held by partial files; above it the least recently updated are evicted (kMemory).
  std::size_t max_partial_bytes = 256ull << 20;
  // Segments announcing more blocks than this are rejected (kTotalTooLarge).
  std::uint32_t max_total_blocks = 100000;
  // Longest accepted /PF name.
  std::size_t max_filename_length = 64;
  // A completed file whose name and content (sha256) were delivered within this window is suppressed.
  std::chrono::seconds dedupe_window{900};
  // At most this many (name, sha256) pairs are remembered for the window (oldest forgotten first).
  std::size_t dedupe_max_entries = 16384;
  // Unpack ZIP/ZIS archives (and ZIP-carrying files) and deliver their entries.
  bool unpack_archives = true;
  ArchiveLimits archive;
  // Inputs feeding this assembler (redundant ingest: one per receiver), 1..kMaxSources.
  // With one, the per-source counters settle as soon as a file is delivered.
  std::size_t source_count = 1;
  // Per-source counters of a delivered file (blocks only one source had, files
  // a source sent whole) settle this long after delivery, so copies from a
  // source that lags behind the others still count.
  std::chrono::seconds source_window{60};
  // Source of "now"; empty means std::chrono::system_clock::now.
  Clock clock;
};

// Counters of one input (Stats::sources[i]).
struct SourceStats {
  std::uint64_t blocks_contributed = 0;  // data blocks it sent (new, equal to a held or delivered copy, or conflicting)
  std::uint64_t blocks_only = 0;         // blocks of delivered files no other source sent (settled, source_window)
  std::uint64_t files_alone = 0;         // delivered files it sent every block of: it alone would have completed them
  std::uint64_t conflicting_blocks = 0;  // blocks whose bytes differ from another source's copy of the same block
};

// Counters and gauges of one assembler (cumulative unless marked gauge).
struct Stats {
  std::uint64_t segments_in = 0;        // every segment offered, fill included
  std::uint64_t duplicate_blocks = 0;   // block already held, or repeating a file delivered within the window
  std::uint64_t fill_dropped = 0;       // FILLFILE blocks dropped
  std::uint64_t files_completed = 0;    // files delivered (blocks and archive entries)
  std::uint64_t retransmissions_suppressed = 0;  // same name + same sha256 within the window
  std::uint64_t evictions_timeout = 0;
  std::uint64_t evictions_memory = 0;
  std::uint64_t evictions_end_of_input = 0;
  std::uint64_t evictions_superseded = 0;
  std::uint64_t files_merged = 0;       // delivered files no single source sent whole (settled, source_window)
  std::uint64_t archives_opened = 0;
  std::uint64_t archive_entries = 0;    // entries delivered
  std::array<std::uint64_t, kArchiveErrorCount> archive_errors{};     // by ArchiveError
  std::array<std::uint64_t, kRejectReasonCount> rejected_segments{};  // by RejectReason
  std::uint64_t partial_files = 0;      // gauge
  std::uint64_t partial_bytes = 0;      // gauge (accounted bytes)
  std::array<SourceStats, kMaxSources> sources{};  // by SourceIndex
};

}  // namespace emwin::assembly
