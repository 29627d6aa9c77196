// libFuzzer target: the file assembler fed an arbitrary sequence of segments.
// The input is cut into records: [op][name][pn lo][pt lo][fill byte], where op
// also picks fd stamp, clock steps, FILLFILE and expiry. Invariants: the memory
// cap holds after every add, completed files are no longer than their blocks,
// sha256 fields are set, partial counters match partials().
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "assembly/assembler.h"

namespace {
using emwin::assembly::TimePoint;

struct Sink : emwin::assembly::AssemblerCallbacks {
  void onFile(emwin::assembly::CompletedFile&& f) override {
    if (f.sha256.size() != 64 || f.name.empty()) std::abort();
    if (f.origin == emwin::assembly::Origin::kBlocks && f.data.size() > std::size_t{f.block_count} * 1024) std::abort();
  }
  void onEviction(const emwin::assembly::Eviction& e) override {
    if (e.blocks_held > e.total_blocks) std::abort();
  }
};

const char* const kNames[] = {"A.TXT", "B.ZIP", "C.GIF", "D.PNG", "FILLFILE.TXT", "", "E.JPG", "VERYLONGNAMEXXXXXXXXXXXXX.TXT"};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  TimePoint now{std::chrono::seconds(1700000000)};
  emwin::assembly::Options o;
  o.clock = [&now] { return now; };
  o.partial_timeout = std::chrono::seconds(30);
  o.max_partial_bytes = 8 * emwin::assembly::Assembler::kBlockCost;
  o.max_total_blocks = 64;
  o.max_filename_length = 20;
  o.dedupe_window = std::chrono::seconds(60);
  o.dedupe_max_entries = 4;
  o.archive.max_uncompressed_bytes = 64 * 1024;
  Sink sink;
  emwin::assembly::Assembler a(o, sink);
  std::size_t i = 0;
  while (i + 5 <= size) {
    const std::uint8_t op = data[i];
    emwin::qbt::Segment s;
    s.filename = kNames[data[i + 1] & 7];
    s.block_number = data[i + 2] & 0x1F;
    s.total_blocks = data[i + 3] & 0x3F;
    if (op & 0x80) s.total_blocks += 1000;  // past max_total_blocks
    s.fd_unix_s = 1700000000 + (op & 3);
    s.is_fill = s.filename == "FILLFILE.TXT";
    // Block content: a fill byte, or the remaining input bytes when op says so
    // (lets the fuzzer build ZIP/PNG/GIF tails).
    if (op & 0x40) {
      const std::size_t n = std::min<std::size_t>(size - i - 5, s.data.size());
      std::copy_n(data + i + 5, n, s.data.begin());
      i += n;
    } else {
      s.data.fill(data[i + 4]);
    }
    i += 5;
    if (op & 0x20) now += std::chrono::seconds(op & 0x1F);
    a.add(s, "fuzz");
    if (a.stats().partial_bytes > o.max_partial_bytes) std::abort();
    if (op == 0x3F) a.expire();
    const auto parts = a.partials();
    if (parts.size() != a.stats().partial_files) std::abort();
  }
  a.drainPartials();
  if (a.stats().partial_files != 0 || a.stats().partial_bytes != 0) std::abort();
  return 0;
}
