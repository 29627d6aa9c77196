#include "assembly/assembler.h"

#include <bit>
#include <cstring>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
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
    case AddOutcome::kConflict: return "conflict";
  }
  return "unknown";
}

std::string_view evictionReasonName(EvictionReason r) noexcept {
  switch (r) {
    case EvictionReason::kTimeout: return "timeout";
    case EvictionReason::kMemory: return "memory";
    case EvictionReason::kEndOfInput: return "end_of_input";
    case EvictionReason::kSuperseded: return "superseded";
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

// One copy of a block: its bytes (copied straight from the segment) and the
// inputs that sent exactly these bytes.
struct Copy {
  Copy(const std::uint8_t* src, SourceMask from, bool repeat) noexcept : sources(from), echo(repeat) {
    std::memcpy(bytes.data(), src, bytes.size());
  }
  Block bytes;
  SourceMask sources;
  // When it came, it equalled the same block of a file of this key delivered
  // within the dedupe window (counted as a duplicate then).
  bool echo;
};

struct Partial;
using PartialMap = std::unordered_map<Key, Partial, KeyHash, KeyEq>;

// One open transmission. Normally one copy per block number, shared by every
// input that sent it (`blocks`). Copies that differ from the first copy of
// their block number (inputs disagreeing, or a new product sharing the key
// while a repeat of the last one is held) go to `alternates`; while there are
// any, the copies no longer merge: a file is only assembled from one input's
// own copies ("lanes"). Every input has at most one copy per block number.
struct Partial {
  std::map<std::uint32_t, Copy> blocks;           // first copy of each block number; memory ~ blocks held
  std::multimap<std::uint32_t, Copy> alternates;  // further, differing copies (rare)
  std::array<std::uint32_t, kMaxSources> held{};  // block numbers each input has a copy of
  // How often each input restarted this key with other bytes. Inputs merge
  // only while all of them restarted equally often (all moved on, or none).
  std::array<std::uint8_t, kMaxSources> generation{};
  SourceMask sources = 0;          // inputs holding copies
  std::uint32_t echo_copies = 0;   // copies with `echo` set
  bool conflict_logged = false;
  TimePoint first{};
  TimePoint last{};
  std::vector<std::pair<SourceIndex, std::string>> texts;  // server each input named (first block), arrival order
  std::size_t bytes = 0;
  std::list<PartialMap::iterator>::iterator lru;  // position in the LRU list

  std::size_t copies() const noexcept { return blocks.size() + alternates.size(); }

  // Calls fn(Copy&) for every copy of block `number`.
  template <class Fn>
  void forEachCopy(std::uint32_t number, Fn&& fn) {
    if (auto b = blocks.find(number); b != blocks.end()) fn(b->second);
    if (alternates.empty()) return;
    for (auto [a, end] = alternates.equal_range(number); a != end; ++a) fn(a->second);
  }

  // The copy of block `number` that `input` holds (nullptr if none).
  const Copy* copyOf(std::uint32_t number, SourceMask input) const {
    if (auto b = blocks.find(number); b != blocks.end() && (b->second.sources & input)) return &b->second;
    for (auto [a, end] = alternates.equal_range(number); a != end; ++a) {
      if (a->second.sources & input) return &a->second;
    }
    return nullptr;
  }

  // True when the copies may be combined across inputs: no two copies of a
  // block differ, repeats of a delivered file are not mixed with new content,
  // and every input restarted the key as often as the others.
  bool mergeable() const noexcept {
    if (!alternates.empty()) return false;
    if (echo_copies != 0 && echo_copies != blocks.size()) return false;
    int gen = -1;
    for (std::size_t i = 0; i < kMaxSources; ++i) {
      if (!(sources & sourceBit(static_cast<SourceIndex>(i)))) continue;
      if (gen < 0) gen = generation[i];
      if (gen != generation[i]) return false;
    }
    return true;
  }

  // The server names of the inputs in `mask`, '+'-joined, each once.
  std::string textOf(SourceMask mask) const {
    std::string out;
    for (const auto& [input, text] : texts) {
      if (!(mask & sourceBit(input)) || text.empty()) continue;
      bool seen = false;
      for (std::size_t pos = 0; pos <= out.size() && !seen;) {
        const std::size_t end = std::min(out.find('+', pos), out.size());
        seen = std::string_view(out).substr(pos, end - pos) == text;
        pos = end + 1;
      }
      if (seen) continue;
      if (!out.empty()) out += '+';
      out += text;
    }
    return out;
  }
};

// 64-bit hash of one block (to recognise it again; not a security boundary:
// a collision could at worst make a differing block count as a duplicate, and
// only the late copy of an input not sending that key is dropped on it).
std::uint64_t blockHash(const std::uint8_t* p) noexcept {
  return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(p), qbt::kBlockSize));
}

// A file completed recently: when, a hash of each of its blocks, and which
// inputs sent each block (until its per-source counters settle).
struct CompletedKey {
  TimePoint at{};
  std::vector<std::uint64_t> block_hashes;  // [block_number - 1]
  std::vector<SourceMask> block_sources;    // [block_number - 1]
  std::uint64_t id = 0;                     // tells a replaced record from its successor
  bool delivered = false;                   // false: a suppressed retransmission
  bool settled = false;                     // per-source counters taken
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
  // Files completed within the dedupe window, by key, plus FIFO for expiry
  // (entries whose time no longer matches were replaced or refreshed) and the
  // number of block hashes held (capped by kMaxRememberedBlocks).
  std::unordered_map<Key, CompletedKey, KeyHash, KeyEq> completed;
  std::deque<std::pair<TimePoint, Key>> completed_order;
  std::size_t completed_blocks = 0;
  std::uint64_t next_completed_id = 0;
  // When each completed record's per-source counters are due: (due, key, id).
  std::deque<std::tuple<TimePoint, Key, std::uint64_t>> settle_order;

  AddResult reject(RejectReason r, const qbt::Segment& s) {
    ++stats.rejected_segments[static_cast<std::size_t>(r)];
    log->debug("segment rejected ({}): {} {}/{}", rejectReasonName(r), s.filename, s.block_number, s.total_blocks);
    return {AddOutcome::kRejected, r, 0};
  }

  // What one add() completed: whether anything was delivered, and whose held blocks are done.
  struct Finish {
    bool completed = false;
    bool delivered = false;
    bool forgotten = false;  // the partial is gone
    SourceMask released = 0;
  };
  static AddResult result(const Finish& f) {
    return {f.delivered ? AddOutcome::kCompleted : AddOutcome::kSuppressed, {}, f.released};
  }

  AddResult add(const qbt::Segment& s, std::string_view text, SourceIndex input) {
    ++stats.segments_in;
    const TimePoint now = options.clock();
    expireAt(now);
    if (s.is_fill) {
      ++stats.fill_dropped;
      return {AddOutcome::kFill, {}, 0};
    }
    if (s.total_blocks < 1 || s.block_number < 1 || s.block_number > s.total_blocks) {
      return reject(RejectReason::kBlockRange, s);
    }
    if (s.total_blocks > options.max_total_blocks) return reject(RejectReason::kTotalTooLarge, s);
    if (s.filename.empty() || s.filename.size() > options.max_filename_length) {
      return reject(RejectReason::kBadFilename, s);
    }
    if (input >= kMaxSources) input = 0;  // can't happen: the caller numbers its inputs
    const SourceMask bit = sourceBit(input);
    SourceStats& per_source = stats.sources[input];
    ++per_source.blocks_contributed;

    const KeyView key{s.filename, s.fd_unix_s, s.total_blocks};
    const std::uint32_t number = s.block_number;
    // A file of this key delivered within the window: does this block repeat it?
    CompletedKey* done = recentCompleted(key, now);
    bool echo = false;
    bool sent_it = false;  // this input had sent a block of that file before
    if (done != nullptr) {
      echo = number <= done->block_hashes.size() && done->block_hashes[number - 1] == blockHash(s.data.data());
      if (echo && number == 1) {
        for (const SourceMask m : done->block_sources) sent_it = sent_it || (m & bit) != 0;
      }
      if (echo && !done->settled) done->block_sources[number - 1] |= bit;
    }

    if (s.total_blocks == 1) {  // single-block file: no partial state at all
      std::string data(reinterpret_cast<const char*>(s.data.data()), s.data.size());
      const std::uint64_t hash = blockHash(s.data.data());
      const bool delivered = complete(s.filename, s.fd_unix_s, 1, std::move(data), now, now, text, bit);
      rememberCompleted(key, {hash}, {bit}, delivered, now);
      return {delivered ? AddOutcome::kCompleted : AddOutcome::kSuppressed, {}, bit};
    }

    auto it = partials.find(key);
    const bool in_partial = it != partials.end() && (it->second.sources & bit);
    if (!in_partial && done != nullptr) {
      if (echo && (number != 1 || !sent_it)) {
        // A late copy of a delivered file's block from an input not sending
        // this key now (a lagging receiver, a repeated last block): counted,
        // nothing to keep. Block 1 from an input that sent the file already is
        // kept: it may begin a retransmission, or a new product that shares
        // name, stamp, block count and its first block.
        ++stats.duplicate_blocks;
        return {AddOutcome::kDuplicateBlock, {}, 0};
      }
      if (!echo && midCopy(*done, number, bit)) {
        // This input was sending the file just delivered and now disagrees
        // with it: its version cannot be completed any more, and is never
        // mixed into the delivered one.
        ++per_source.conflicting_blocks;
        log->warn("input {} disagrees with the delivered {} fd={} on block {}/{}: copy counted as conflicting and "
                  "dropped",
                  input, s.filename, s.fd_unix_s, number, s.total_blocks);
        return {AddOutcome::kConflict, {}, 0};
      }
    }
    if (it == partials.end()) {
      it = partials.try_emplace(Key{s.filename, s.fd_unix_s, s.total_blocks}).first;
      Partial& p = it->second;
      p.first = now;
      p.bytes = kFileCost + s.filename.size();
      p.lru = lru.insert(lru.end(), it);
      stats.partial_bytes += p.bytes;
      ++stats.partial_files;
    }
    Partial& p = it->second;

    // What is held of this block number: this input's own copy, an equal one.
    Copy* own = nullptr;
    bool own_equal = false;
    const auto scan = [&](Copy*& equal, bool& differs_fresh, bool& any) {
      equal = nullptr;
      differs_fresh = false;
      any = false;
      own = nullptr;
      p.forEachCopy(number, [&](Copy& c) {
        any = true;
        const bool eq = std::memcmp(c.bytes.data(), s.data.data(), c.bytes.size()) == 0;
        if (c.sources & bit) {
          own = &c;
          own_equal = eq;
        }
        if (eq) {
          equal = &c;
        } else if (!c.echo) {
          differs_fresh = true;
        }
      });
    };
    Copy* equal = nullptr;
    bool differs_fresh = false, any = false;
    scan(equal, differs_fresh, any);
    if (own != nullptr) {
      if (own_equal) {  // this input sent the block again
        ++stats.duplicate_blocks;
        return {AddOutcome::kDuplicateBlock, {}, 0};
      }
      // The same input sends other bytes for a block it sent: another product
      // under the same key began. What it held of the earlier one is given up.
      supersede(it, input, now);
      scan(equal, differs_fresh, any);
    }
    if (equal != nullptr) {  // another input's equal copy: the block counts once
      equal->sources |= bit;
      enter(p, input, text);
      ++p.held[input];
      ++stats.duplicate_blocks;
      p.last = now;
      lru.splice(lru.end(), lru, p.lru);
      if (!p.mergeable() && p.held[input] == s.total_blocks) {  // may complete this input's own version
        const Finish f = tryComplete(it, input, now);
        if (f.completed) return result(f);
      }
      return {AddOutcome::kDuplicateBlock, {}, 0};
    }
    if (any && !echo && differs_fresh) {
      ++per_source.conflicting_blocks;
      if (!p.conflict_logged) {
        p.conflict_logged = true;
        log->warn("inputs disagree on block {}/{} of {} fd={} (input {} differs): from now on each input's own "
                  "copies make its version, never a mix",
                  number, s.total_blocks, s.filename, s.fd_unix_s, input);
      }
    }
    if (!any) {
      p.blocks.try_emplace(number, s.data.data(), bit, echo);
    } else {
      p.alternates.emplace(std::piecewise_construct, std::forward_as_tuple(number),
                           std::forward_as_tuple(s.data.data(), bit, echo));
    }
    enter(p, input, text);
    ++p.held[input];
    if (echo) ++p.echo_copies;
    p.last = now;
    p.bytes += kBlockCost;
    stats.partial_bytes += kBlockCost;
    lru.splice(lru.end(), lru, p.lru);
    // A repeat of a file delivered moments ago (a late duplicate, or the start
    // of a retransmission under the same stamp) is a duplicate.
    if (echo) ++stats.duplicate_blocks;

    const Finish f = tryComplete(it, input, now);
    if (f.completed) return result(f);
    // An echo block was counted as a duplicate: its file was delivered, so the
    // caller is done with it (it is kept only in case a differing block follows).
    const AddOutcome kept = echo ? AddOutcome::kDuplicateBlock : AddOutcome::kStored;
    bool own_evicted = false;
    while (stats.partial_bytes > options.max_partial_bytes && !lru.empty()) {
      own_evicted = own_evicted || lru.front() == it;
      evict(lru.front(), EvictionReason::kMemory);
    }
    return {own_evicted ? AddOutcome::kEvicted : kept, {}, 0};
  }

  // Records `input` as holding copies in `p` (its server name, and its
  // generation: an input joining takes the newest one present, or keeps its own).
  void enter(Partial& p, SourceIndex input, std::string_view text) {
    const SourceMask bit = sourceBit(input);
    if (p.sources & bit) return;
    std::uint8_t gen = p.generation[input];  // kept when it comes back after a restart
    for (std::size_t i = 0; i < kMaxSources; ++i) {
      if (p.sources & sourceBit(static_cast<SourceIndex>(i))) gen = std::max(gen, p.generation[i]);
    }
    p.generation[input] = gen;
    p.sources |= bit;
    p.texts.emplace_back(input, std::string(text));
    p.bytes += text.size();
    stats.partial_bytes += text.size();
  }

  // Frees one copy's accounting.
  void freeCopy(Partial& p, const Copy& c) {
    p.bytes -= kBlockCost;
    stats.partial_bytes -= kBlockCost;
    if (c.echo) --p.echo_copies;
  }

  // Removes `input` from every copy of `p`; copies no other input holds are
  // freed. Returns true when a copy that was not a repeat was among its copies.
  bool dropSource(Partial& p, SourceIndex input) {
    const SourceMask bit = sourceBit(input);
    bool fresh = false;
    for (auto a = p.alternates.begin(); a != p.alternates.end();) {
      Copy& c = a->second;
      if (c.sources & bit) {
        fresh = fresh || !c.echo;
        c.sources = static_cast<SourceMask>(c.sources & ~bit);
        if (c.sources == 0) {
          freeCopy(p, c);
          a = p.alternates.erase(a);
          continue;
        }
      }
      ++a;
    }
    for (auto b = p.blocks.begin(); b != p.blocks.end();) {
      Copy& c = b->second;
      if (c.sources & bit) {
        fresh = fresh || !c.echo;
        c.sources = static_cast<SourceMask>(c.sources & ~bit);
        if (c.sources == 0) {
          freeCopy(p, c);
          auto alt = p.alternates.find(b->first);
          if (alt != p.alternates.end()) {  // another input's differing copy becomes the first one
            c = alt->second;
            p.alternates.erase(alt);
          } else {
            b = p.blocks.erase(b);
            continue;
          }
        }
      }
      ++b;
    }
    p.held[input] = 0;
    p.sources = static_cast<SourceMask>(p.sources & ~bit);
    for (auto t = p.texts.begin(); t != p.texts.end(); ++t) {
      if (t->first != input) continue;
      p.bytes -= t->second.size();
      stats.partial_bytes -= t->second.size();
      p.texts.erase(t);
      break;
    }
    return fresh;
  }

  // `input` restarted key `it` with other bytes: its copies are given up
  // (reported, unless they only repeated a delivered file).
  void supersede(PartialMap::iterator it, SourceIndex input, TimePoint now) {
    Partial& p = it->second;
    const std::uint32_t had = p.held[input];
    const std::string text = p.textOf(sourceBit(input));
    const bool fresh = dropSource(p, input);
    if (p.copies() == 0) p.first = now;
    if (!fresh) return;  // only repeats of a delivered file: nothing lost
    ++p.generation[input];
    ++stats.evictions_superseded;
    Eviction e;
    e.name = it->first.name;
    e.fd_unix_s = it->first.fd;
    e.total_blocks = it->first.total;
    e.blocks_held = had;
    e.bytes_held = static_cast<std::size_t>(had) * kBlockCost;
    e.source = text;
    e.sources = sourceBit(input);
    e.first_segment_time = p.first;
    e.last_segment_time = p.last;
    e.reason = EvictionReason::kSuperseded;
    log->warn("input {} restarted {} fd={} with other bytes: its {}/{} blocks of the earlier product given up", input,
              e.name, e.fd_unix_s, had, e.total_blocks);
    callbacks.onEviction(e);
  }

  // Completes what partial `it` holds: all its copies when they merge, else
  // each input's own version that is whole (`hint`, the input that just
  // added, first).
  Finish tryComplete(PartialMap::iterator it, SourceIndex hint, TimePoint now) {
    Finish f;
    const std::uint32_t total = it->first.total;
    while (true) {
      Partial& p = it->second;
      std::string data;
      std::vector<std::uint64_t> hashes;
      std::vector<SourceMask> masks;
      const auto gather = [&](const Copy& c) {
        hashes.push_back(blockHash(c.bytes.data()));
        masks.push_back(c.sources);
        data.append(reinterpret_cast<const char*>(c.bytes.data()), c.bytes.size());
      };
      if (p.mergeable()) {
        if (p.blocks.size() != total) return f;
        data.reserve(static_cast<std::size_t>(total) * qbt::kBlockSize);
        hashes.reserve(total);
        masks.reserve(total);
        for (const auto& [number, c] : p.blocks) gather(c);
        const SourceMask sources = p.sources;
        const std::string text = p.textOf(sources);
        const TimePoint first = p.first;
        Key key = it->first;
        forget(it);
        f.forgotten = true;
        f.completed = true;
        f.released |= sources;
        f.delivered |= deliverTransmission(key, std::move(data), std::move(hashes), std::move(masks), first, now,
                                           text, sources);
        return f;
      }
      // Lanes: one input's own copies, when they are whole.
      int whole = -1;
      if (p.held[hint] == total && (p.sources & sourceBit(hint))) whole = hint;
      for (std::size_t i = 0; whole < 0 && i < kMaxSources; ++i) {
        if ((p.sources & sourceBit(static_cast<SourceIndex>(i))) && p.held[i] == total) whole = static_cast<int>(i);
      }
      if (whole < 0) return f;
      const auto input = static_cast<SourceIndex>(whole);
      const SourceMask bit = sourceBit(input);
      data.reserve(static_cast<std::size_t>(total) * qbt::kBlockSize);
      for (std::uint32_t n = 1; n <= total; ++n) {
        const Copy* c = p.copyOf(n, bit);
        if (c == nullptr) return f;  // can't happen: held[] counts the input's copies
        gather(*c);
      }
      const std::string text = p.textOf(bit);
      const TimePoint first = p.first;
      Key key = it->first;
      dropSource(p, input);
      f.completed = true;
      f.released |= bit;
      const bool empty = p.copies() == 0;
      if (empty) {
        forget(it);
        f.forgotten = true;
      }
      f.delivered |=
          deliverTransmission(key, std::move(data), std::move(hashes), std::move(masks), first, now, text, bit);
      if (empty) return f;
    }
  }

  // Delivers (or suppresses) one completed transmission and remembers it.
  bool deliverTransmission(const Key& key, std::string&& data, std::vector<std::uint64_t>&& hashes,
                           std::vector<SourceMask>&& masks, TimePoint first, TimePoint now, const std::string& text,
                           SourceMask sources) {
    const bool delivered = complete(key.name, key.fd, key.total, std::move(data), first, now, text, sources);
    rememberCompleted(key, std::move(hashes), std::move(masks), delivered, now);
    return delivered;
  }

  // The record of a file of `key` completed within the dedupe window, if any.
  CompletedKey* recentCompleted(const KeyView& key, TimePoint now) {
    if (completed.empty()) return nullptr;
    const auto found = completed.find(key);
    if (found == completed.end() || now - found->second.at > options.dedupe_window) return nullptr;
    return &found->second;
  }

  // True when `input` was sending the file `done` (it sent an earlier block of
  // it) and has not sent block `number` yet: a differing block from it is its
  // divergent copy of that file, not the start of another product.
  static bool midCopy(const CompletedKey& done, std::uint32_t number, SourceMask input) {
    if (number < 2 || number > done.block_sources.size() || (done.block_sources[number - 1] & input)) return false;
    for (std::uint32_t i = 0; i + 1 < number; ++i) {
      if (done.block_sources[i] & input) return true;
    }
    return false;
  }

  // Takes the per-source counters of a completed file (once).
  void settle(CompletedKey& c) {
    if (c.settled) return;
    c.settled = true;
    if (!c.delivered) return;
    SourceMask all = static_cast<SourceMask>(~0u);
    for (const SourceMask m : c.block_sources) {
      all &= m;
      if (m != 0 && (m & (m - 1)) == 0) ++stats.sources[static_cast<std::size_t>(std::countr_zero(m))].blocks_only;
    }
    if (all == 0) {
      ++stats.files_merged;
      return;
    }
    for (std::size_t i = 0; i < kMaxSources; ++i) {
      if (all & sourceBit(static_cast<SourceIndex>(i))) ++stats.sources[i].files_alone;
    }
  }

  // Remembers a completed file for the dedupe window (bounded by
  // dedupe_max_entries files and kMaxRememberedBlocks block hashes, oldest
  // first). The same content again under the same key (a retransmission,
  // another input's copy completing) is the same file: its inputs are added.
  void rememberCompleted(const KeyView& key_view, std::vector<std::uint64_t>&& hashes,
                         std::vector<SourceMask>&& masks, bool delivered, TimePoint now) {
    if (options.dedupe_max_entries == 0 || hashes.size() > kMaxRememberedBlocks) {
      CompletedKey once;
      once.block_sources = std::move(masks);
      once.delivered = delivered;
      settle(once);
      return;
    }
    const auto dropFront = [this] {
      const auto& [at, key] = completed_order.front();
      const auto found = completed.find(KeyView(key));
      if (found != completed.end() && found->second.at == at) {
        settle(found->second);
        completed_blocks -= found->second.block_hashes.size();
        completed.erase(found);
      }
      completed_order.pop_front();
    };
    while (!completed_order.empty() && now - completed_order.front().first > options.dedupe_window) dropFront();
    Key key{std::string(key_view.name), key_view.fd, key_view.total};
    auto found = completed.find(KeyView(key));
    if (found != completed.end() && found->second.block_hashes == hashes) {
      CompletedKey& entry = found->second;
      if (!entry.settled) {
        for (std::size_t i = 0; i < masks.size(); ++i) entry.block_sources[i] |= masks[i];
        entry.delivered = entry.delivered || delivered;
      }
      entry.at = now;
      completed_order.emplace_back(now, std::move(key));
    } else {
      if (found != completed.end()) settle(found->second);
      CompletedKey& entry = completed[key];
      completed_blocks -= entry.block_hashes.size();
      completed_blocks += hashes.size();
      entry.at = now;
      entry.block_hashes = std::move(hashes);
      entry.block_sources = std::move(masks);
      entry.id = ++next_completed_id;
      entry.delivered = delivered;
      entry.settled = false;
      if (options.source_count <= 1 || options.source_window.count() <= 0) {
        settle(entry);
      } else {
        settle_order.emplace_back(now + options.source_window, key, entry.id);
      }
      completed_order.emplace_back(now, std::move(key));
    }
    while (!completed_order.empty() &&
           (completed.size() > options.dedupe_max_entries || completed_blocks > kMaxRememberedBlocks)) {
      dropFront();
    }
  }

  // Settles the per-source counters that are due at `now` (all with `everything`).
  void settleDue(TimePoint now, bool everything = false) {
    while (!settle_order.empty() && (everything || std::get<0>(settle_order.front()) <= now)) {
      const auto& [due, key, id] = settle_order.front();
      const auto found = completed.find(KeyView(key));
      if (found != completed.end() && found->second.id == id) settle(found->second);
      settle_order.pop_front();
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
    if (p.echo_copies == p.copies()) {
      // Only repeats of a file already delivered, each counted as a duplicate when
      // it came: nothing was lost, so this is no eviction.
      log->debug("dropping {} late duplicate block(s) of delivered file {} fd={}", p.copies(), it->first.name,
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
    e.source = p.textOf(p.sources);
    e.sources = p.sources;
    e.first_segment_time = p.first;
    e.last_segment_time = p.last;
    e.reason = reason;
    switch (reason) {
      case EvictionReason::kTimeout: ++stats.evictions_timeout; break;
      case EvictionReason::kMemory: ++stats.evictions_memory; break;
      case EvictionReason::kEndOfInput: ++stats.evictions_end_of_input; break;
      case EvictionReason::kSuperseded: ++stats.evictions_superseded; break;
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
    settleDue(now);
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
                TimePoint last, std::string_view source, SourceMask sources) {
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
    file.sources = sources;
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
    const std::string archive_source = file.source;
    ++stats.files_completed;
    callbacks.onFile(std::move(file));
    for (ArchiveEntry& entry : unpacked.entries) {
      CompletedFile out;
      out.name = entry.name;
      out.sha256 = runtime::sha256Hex(entry.data);
      out.raw_sha256 = out.sha256;
      out.data = std::move(entry.data);
      out.fd_unix_s = fd;
      out.first_segment_time = first;
      out.last_segment_time = last;
      out.block_count = total;
      out.source = archive_source;
      out.sources = sources;
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

AddResult Assembler::add(const qbt::Segment& segment, std::string_view source, SourceIndex input) {
  return impl_->add(segment, source, input);
}

void Assembler::expire() { impl_->expireAt(impl_->options.clock()); }

void Assembler::drainPartials() {
  while (!impl_->lru.empty()) impl_->evict(impl_->lru.front(), EvictionReason::kEndOfInput);
  impl_->settleDue(impl_->options.clock(), /*everything=*/true);
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
