#include "assembly/assembler.h"

#include <cstring>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "assembly/archive.h"
#include "assembly/content.h"
#include "runtime/log.h"
#include "runtime/names.h"
#include "runtime/sha256.h"

namespace emwin::assembly {

std::string_view originName(Origin o) noexcept {
  return o == Origin::kArchiveEntry ? "archive_entry" : "blocks";
}

std::string_view addOutcomeName(AddOutcome o) noexcept {
  switch (o) {
    case AddOutcome::kStored: return "stored";
    case AddOutcome::kCompleted: return "completed";
    case AddOutcome::kSuppressed: return "suppressed";
    case AddOutcome::kDuplicateBlock: return "duplicate_block";
    case AddOutcome::kFill: return "fill";
    case AddOutcome::kRejected: return "rejected";
    case AddOutcome::kEvicted: return "evicted";
  }
  return "unknown";
}

std::string_view evictionReasonName(EvictionReason r) noexcept {
  switch (r) {
    case EvictionReason::kTimeout: return "timeout";
    case EvictionReason::kMemory: return "memory";
    case EvictionReason::kEndOfInput: return "end_of_input";
  }
  return "unknown";
}

std::string_view rejectReasonName(RejectReason r) noexcept {
  switch (r) {
    case RejectReason::kBlockRange: return "block_range";
    case RejectReason::kTotalTooLarge: return "total_too_large";
    case RejectReason::kBadFilename: return "bad_filename";
  }
  return "unknown";
}

std::string_view archiveErrorName(ArchiveError e) noexcept {
  switch (e) {
    case ArchiveError::kCorrupt: return "corrupt";
    case ArchiveError::kTooManyEntries: return "too_many_entries";
    case ArchiveError::kUnsafeName: return "unsafe_name";
    case ArchiveError::kTotalSize: return "total_size";
    case ArchiveError::kRatio: return "ratio";
    case ArchiveError::kEntryRead: return "entry_read";
  }
  return "unknown";
}

namespace {

using Block = std::array<std::uint8_t, qbt::kBlockSize>;

// Key of one transmission: name, /FD stamp and /PT total.
struct KeyView {
  std::string_view name;
  std::int64_t fd;
  std::uint32_t total;
};
struct Key {
  std::string name;
  std::int64_t fd;
  std::uint32_t total;
  operator KeyView() const noexcept { return {name, fd, total}; }
};
struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(const KeyView& k) const noexcept {
    std::size_t h = std::hash<std::string_view>{}(k.name);
    h ^= std::hash<std::int64_t>{}(k.fd) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h ^= std::hash<std::uint32_t>{}(k.total) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
  }
  std::size_t operator()(const Key& k) const noexcept { return (*this)(KeyView(k)); }
};
struct KeyEq {
  using is_transparent = void;
  static KeyView view(const KeyView& k) noexcept { return k; }
  static KeyView view(const Key& k) noexcept { return k; }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const noexcept {
    const KeyView x = view(a), y = view(b);
    return x.fd == y.fd && x.total == y.total && x.name == y.name;
  }
};

// One block stored in a partial file; constructed straight from the segment (one copy).
struct StoredBlock {
  explicit StoredBlock(const std::uint8_t* src) noexcept { std::memcpy(bytes.data(), src, bytes.size()); }
  Block bytes;
};

struct Partial;
using PartialMap = std::unordered_map<Key, Partial, KeyHash, KeyEq>;

struct Partial {
  std::map<std::uint32_t, StoredBlock> blocks;  // sorted by block number; memory ~ blocks held
  TimePoint first{};
  TimePoint last{};
  std::string source;
  std::size_t bytes = 0;
  std::list<PartialMap::iterator>::iterator lru;  // position in the LRU list
  // Every block held so far repeats the same block of a file of this key that
  // was delivered within the dedupe window: each was counted as a duplicate when
  // it came. Kept (not dropped) in case a block that differs follows, i.e. a new
  // product sharing name, stamp and block count; given up silently otherwise.
  bool echo = false;
};

// 64-bit hash of one block (to recognise it again; not a security boundary:
// a collision could at worst make a differing block count as a duplicate
// while it is still stored).
std::uint64_t blockHash(const std::uint8_t* p) noexcept {
  return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(p), qbt::kBlockSize));
}

// A multi-block file delivered recently: when, and a hash of each of its blocks.
struct CompletedKey {
  TimePoint at{};
  std::vector<std::uint64_t> block_hashes;  // [block_number - 1]
};

}  // namespace

struct Assembler::Impl {
  Impl(Options o, AssemblerCallbacks& cb) : options(std::move(o)), callbacks(cb), log(runtime::logger("assembler")) {
    if (!options.clock) options.clock = [] { return std::chrono::system_clock::now(); };
  }

  Options options;
  AssemblerCallbacks& callbacks;
  std::shared_ptr<spdlog::logger> log;
  Stats stats;
  PartialMap partials;
  std::list<PartialMap::iterator> lru;  // least recently updated first
  // Recently delivered (name '\n' sha256) -> delivery time, plus FIFO for expiry.
  std::unordered_map<std::string, TimePoint> recent;
  std::deque<std::pair<TimePoint, std::string>> recent_order;
  // Multi-block files completed within the dedupe window, by key, plus FIFO for
  // expiry (entries whose time no longer matches were replaced) and the number of
  // block hashes held (capped by kMaxRememberedBlocks).
  std::unordered_map<Key, CompletedKey, KeyHash, KeyEq> completed;
  std::deque<std::pair<TimePoint, Key>> completed_order;
  std::size_t completed_blocks = 0;

  AddResult reject(RejectReason r, const qbt::Segment& s) {
    ++stats.rejected_segments[static_cast<std::size_t>(r)];
    log->debug("segment rejected ({}): {} {}/{}", rejectReasonName(r), s.filename, s.block_number, s.total_blocks);
    return {AddOutcome::kRejected, r};
  }

  static AddResult finished(bool delivered) {
    return {delivered ? AddOutcome::kCompleted : AddOutcome::kSuppressed, {}};
  }

  AddResult add(const qbt::Segment& s, std::string_view source) {
    ++stats.segments_in;
    const TimePoint now = options.clock();
    expireAt(now);
    if (s.is_fill) {
      ++stats.fill_dropped;
      return {AddOutcome::kFill, {}};
    }
    if (s.total_blocks < 1 || s.block_number < 1 || s.block_number > s.total_blocks) {
      return reject(RejectReason::kBlockRange, s);
    }
    if (s.total_blocks > options.max_total_blocks) return reject(RejectReason::kTotalTooLarge, s);
    if (s.filename.empty() || s.filename.size() > options.max_filename_length) {
      return reject(RejectReason::kBadFilename, s);
    }

    if (s.total_blocks == 1) {  // single-block file: no partial state at all
      std::string data(reinterpret_cast<const char*>(s.data.data()), s.data.size());
      return finished(complete(s.filename, s.fd_unix_s, 1, std::move(data), now, now, source));
    }

    const KeyView key{s.filename, s.fd_unix_s, s.total_blocks};
    auto it = partials.find(key);
    const bool created = it == partials.end();
    if (created) {
      it = partials.try_emplace(Key{s.filename, s.fd_unix_s, s.total_blocks}).first;
      Partial& p = it->second;
      p.first = now;
      p.source.assign(source);
      p.bytes = kFileCost + s.filename.size() + source.size();
      p.lru = lru.insert(lru.end(), it);
      stats.partial_bytes += p.bytes;
      ++stats.partial_files;
    }
    Partial& p = it->second;
    const auto [block_it, inserted] = p.blocks.try_emplace(s.block_number, s.data.data());
    (void)block_it;
    if (!inserted) {
      ++stats.duplicate_blocks;
      return {AddOutcome::kDuplicateBlock, {}};
    }
    p.last = now;
    p.bytes += kBlockCost;
    stats.partial_bytes += kBlockCost;
    lru.splice(lru.end(), lru, p.lru);
    // A block of a file delivered moments ago, arriving again (a late duplicate,
    // or the start of a retransmission under the same stamp) is a duplicate.
    if (created || p.echo) p.echo = repeatsCompleted(key, s, now);
    if (p.echo) ++stats.duplicate_blocks;

    if (p.blocks.size() == s.total_blocks) {
      std::string data;
      data.resize(static_cast<std::size_t>(s.total_blocks) * qbt::kBlockSize);
      char* out = data.data();
      std::vector<std::uint64_t> hashes;
      hashes.reserve(s.total_blocks);
      for (const auto& [number, block] : p.blocks) {
        hashes.push_back(blockHash(block.bytes.data()));
        std::memcpy(out, block.bytes.data(), block.bytes.size());
        out += block.bytes.size();
      }
      const TimePoint first = p.first;
      const std::string src = std::move(p.source);
      forget(it);
      rememberCompleted(s.filename, s.fd_unix_s, s.total_blocks, std::move(hashes), now);
      return finished(complete(s.filename, s.fd_unix_s, s.total_blocks, std::move(data), first, now, src));
    }
    // An echo block was counted as a duplicate: its file was delivered, so the
    // caller is done with it (it is kept only in case a differing block follows).
    const AddOutcome kept = p.echo ? AddOutcome::kDuplicateBlock : AddOutcome::kStored;
    bool own_evicted = false;
    while (stats.partial_bytes > options.max_partial_bytes && !lru.empty()) {
      own_evicted = own_evicted || lru.front() == it;
      evict(lru.front(), EvictionReason::kMemory);
    }
    return {own_evicted ? AddOutcome::kEvicted : kept, {}};
  }

  // Does block `s` repeat the same block of a file of `key` delivered within the window?
  bool repeatsCompleted(const KeyView& key, const qbt::Segment& s, TimePoint now) const {
    if (completed.empty()) return false;
    const auto found = completed.find(key);
    if (found == completed.end() || now - found->second.at > options.dedupe_window) return false;
    const auto& hashes = found->second.block_hashes;
    return s.block_number <= hashes.size() && hashes[s.block_number - 1] == blockHash(s.data.data());
  }

  // Remembers a completed multi-block file for the dedupe window (bounded by
  // dedupe_max_entries files and kMaxRememberedBlocks block hashes, oldest first).
  void rememberCompleted(const std::string& name, std::int64_t fd, std::uint32_t total,
                         std::vector<std::uint64_t>&& hashes, TimePoint now) {
    if (options.dedupe_max_entries == 0 || hashes.size() > kMaxRememberedBlocks) return;
    const auto dropFront = [this] {
      const auto& [at, key] = completed_order.front();
      const auto found = completed.find(KeyView(key));
      if (found != completed.end() && found->second.at == at) {
        completed_blocks -= found->second.block_hashes.size();
        completed.erase(found);
      }
      completed_order.pop_front();
    };
    while (!completed_order.empty() && now - completed_order.front().first > options.dedupe_window) dropFront();
    Key key{name, fd, total};
    auto& entry = completed[key];
    completed_blocks -= entry.block_hashes.size();
    completed_blocks += hashes.size();
    entry.at = now;
    entry.block_hashes = std::move(hashes);
    completed_order.emplace_back(now, std::move(key));
    while (!completed_order.empty() &&
           (completed.size() > options.dedupe_max_entries || completed_blocks > kMaxRememberedBlocks)) {
      dropFront();
    }
  }

  void forget(PartialMap::iterator it) {
    stats.partial_bytes -= it->second.bytes;
    --stats.partial_files;
    lru.erase(it->second.lru);
    partials.erase(it);
  }

  void evict(PartialMap::iterator it, EvictionReason reason) {
    const Partial& p = it->second;
    if (p.echo) {
      // Only repeats of a file already delivered, each counted as a duplicate when
      // it came: nothing was lost, so this is no eviction.
      log->debug("dropping {} late duplicate block(s) of delivered file {} fd={}", p.blocks.size(), it->first.name,
                 it->first.fd);
      forget(it);
      return;
    }
    Eviction e;
    e.name = it->first.name;
    e.fd_unix_s = it->first.fd;
    e.total_blocks = it->first.total;
    e.blocks_held = static_cast<std::uint32_t>(p.blocks.size());
    e.bytes_held = p.bytes;
    e.source = p.source;
    e.first_segment_time = p.first;
    e.last_segment_time = p.last;
    e.reason = reason;
    switch (reason) {
      case EvictionReason::kTimeout: ++stats.evictions_timeout; break;
      case EvictionReason::kMemory: ++stats.evictions_memory; break;
      case EvictionReason::kEndOfInput: ++stats.evictions_end_of_input; break;
    }
    forget(it);
    log->warn("partial file given up ({}): {} fd={} {}/{} blocks", evictionReasonName(reason), e.name, e.fd_unix_s,
              e.blocks_held, e.total_blocks);
    callbacks.onEviction(e);
  }

  void expireAt(TimePoint now) {
    while (!lru.empty() && now - lru.front()->second.last >= options.partial_timeout) {
      evict(lru.front(), EvictionReason::kTimeout);
    }
  }

  // True when (name, sha) was delivered within the window; otherwise remembers it.
  bool seenRecently(const std::string& name, const std::string& sha, TimePoint now) {
    while (!recent_order.empty() &&
           (recent_order.size() > options.dedupe_max_entries || now - recent_order.front().first > options.dedupe_window)) {
      auto found = recent.find(recent_order.front().second);
      if (found != recent.end() && found->second == recent_order.front().first) recent.erase(found);
      recent_order.pop_front();
    }
    std::string key;
    key.reserve(name.size() + 1 + sha.size());
    key.append(name).append(1, '\n').append(sha);
    auto found = recent.find(key);
    if (found != recent.end() && now - found->second <= options.dedupe_window) return true;
    if (options.dedupe_max_entries == 0) return false;
    recent[key] = now;
    recent_order.emplace_back(now, std::move(key));
    if (recent_order.size() > options.dedupe_max_entries) {
      auto old = recent.find(recent_order.front().second);
      if (old != recent.end() && old->second == recent_order.front().first) recent.erase(old);
      recent_order.pop_front();
    }
    return false;
  }

  // Delivers `file` unless it is a recent retransmission. Returns false when suppressed.
  bool deliver(CompletedFile&& file, TimePoint now) {
    if (seenRecently(file.name, file.sha256, now)) {
      ++stats.retransmissions_suppressed;
      log->debug("retransmission suppressed: {} sha256={}", file.name, file.sha256);
      return false;
    }
    ++stats.files_completed;
    callbacks.onFile(std::move(file));
    return true;
  }

  // Delivers a completed transmission; false when it was a suppressed retransmission.
  bool complete(const std::string& name, std::int64_t fd, std::uint32_t total, std::string&& raw, TimePoint first,
                TimePoint last, std::string_view source) {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(raw.data());
    const std::span<const std::uint8_t> raw_span(bytes, raw.size());
    const Format format = detectFormat(runtime::extensionToken(name), raw_span.first(std::min<std::size_t>(16, raw.size())));
    const std::size_t end = deliveredLength(format, raw_span);

    // Hash the delivered prefix once, fork, and finish the raw digest over the tail.
    runtime::Sha256 delivered_sha;
    delivered_sha.update(raw_span.first(end));
    runtime::Sha256 raw_sha = delivered_sha.fork();
    raw_sha.update(raw_span.subspan(end));

    CompletedFile file;
    file.name = name;
    file.sha256 = delivered_sha.finishHex();
    file.raw_sha256 = raw_sha.finishHex();
    raw.resize(end);
    file.data = std::move(raw);
    file.fd_unix_s = fd;
    file.first_segment_time = first;
    file.last_segment_time = last;
    file.block_count = total;
    file.source.assign(source);
    file.origin = Origin::kBlocks;

    if (format != Format::kZip || !options.unpack_archives) return deliver(std::move(file), last);
    // Archive: unpack first (to know it opened), deliver it, then its entries.
    if (seenRecently(file.name, file.sha256, last)) {
      ++stats.retransmissions_suppressed;
      return false;
    }
    const auto* zip_bytes = reinterpret_cast<const std::uint8_t*>(file.data.data());
    UnpackResult unpacked = unpackArchive({zip_bytes, file.data.size()}, options.archive);
    for (std::size_t i = 0; i < kArchiveErrorCount; ++i) stats.archive_errors[i] += unpacked.errors[i];
    if (!unpacked.detail.empty()) log->warn("archive {}: {}", file.name, unpacked.detail);
    file.is_archive = unpacked.opened;
    if (unpacked.opened) ++stats.archives_opened;
    ArchiveLink link{file.name, file.sha256, {}};
    const CompletedFile meta{file.name, {}, {}, {}, fd, first, last, total, file.source, Origin::kBlocks, {}, false};
    ++stats.files_completed;
    callbacks.onFile(std::move(file));
    for (ArchiveEntry& entry : unpacked.entries) {
      CompletedFile out;
      out.name = entry.name;
      out.sha256 = runtime::sha256Hex(entry.data);
      out.raw_sha256 = out.sha256;
      out.data = std::move(entry.data);
      out.fd_unix_s = meta.fd_unix_s;
      out.first_segment_time = meta.first_segment_time;
      out.last_segment_time = meta.last_segment_time;
      out.block_count = meta.block_count;
      out.source = meta.source;
      out.origin = Origin::kArchiveEntry;
      out.archive = link;
      out.archive.entry_name = out.name;
      if (deliver(std::move(out), last)) ++stats.archive_entries;
    }
    return true;
  }
};

Assembler::Assembler(Options options, AssemblerCallbacks& callbacks)
    : impl_(std::make_unique<Impl>(std::move(options), callbacks)) {}
Assembler::~Assembler() = default;

AddResult Assembler::add(const qbt::Segment& segment, std::string_view source) { return impl_->add(segment, source); }

void Assembler::expire() { impl_->expireAt(impl_->options.clock()); }

void Assembler::drainPartials() {
  while (!impl_->lru.empty()) impl_->evict(impl_->lru.front(), EvictionReason::kEndOfInput);
}

std::vector<PartialInfo> Assembler::partials() const {
  std::vector<PartialInfo> out;
  out.reserve(impl_->lru.size());
  for (const auto& it : impl_->lru) {
    out.push_back({it->first.name, it->first.fd, static_cast<std::uint32_t>(it->second.blocks.size()),
                   it->first.total, it->second.bytes});
  }
  return out;
}

const Stats& Assembler::stats() const noexcept { return impl_->stats; }
const Options& Assembler::options() const noexcept { return impl_->options; }

}  // namespace emwin::assembly
