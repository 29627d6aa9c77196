// Benchmarks of emwin::assembly::Assembler: segments/s on the real capture's
// segments (decoded once, then fed again and again with distinct /FD stamps so
// every file completes), and memory held by 10,000 open partial files.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <unistd.h>

#include "assembly/assembler.h"
#include "qbt/decoder.h"
#include "runtime/log.h"

namespace {

using namespace emwin;

struct Collector : qbt::DecoderCallbacks {
  std::vector<qbt::Segment> segments;
  void onSegment(const qbt::Segment& s) override { segments.push_back(s); }
  void onServerList(const qbt::ServerList&) override {}
  void onBadInput(const qbt::BadInput&) override {}
};

const std::vector<qbt::Segment>& liveSegments() {
  static const std::vector<qbt::Segment> segments = [] {
    std::ifstream in(EMWIN_CORPUS_DIR "/live/stream0-20260303.bin", std::ios::binary);
    std::vector<std::uint8_t> wire((std::istreambuf_iterator<char>(in)), {});
    Collector c;
    qbt::Decoder d(c);
    d.feed(wire);
    d.finish();
    return c.segments;
  }();
  return segments;
}

struct Sink : assembly::AssemblerCallbacks {
  std::uint64_t files = 0, bytes = 0, evictions = 0;
  void onFile(assembly::CompletedFile&& f) override {
    ++files;
    bytes += f.size();
  }
  void onEviction(const assembly::Eviction&) override { ++evictions; }
};

// Feeds the capture's 500 segments per pass; every pass shifts /FD so each
// file is a new transmission. Arg 0: unpack archives (1) or not (0).
void BM_AssembleLiveCapture(benchmark::State& state) {
  runtime::setLogLevel("error");
  const auto& base = liveSegments();
  std::vector<qbt::Segment> segs = base;
  assembly::TimePoint now{};
  assembly::Options o;
  o.clock = [&now] { return now; };
  o.unpack_archives = state.range(0) != 0;
  o.dedupe_window = std::chrono::seconds(0);  // every pass is delivered, not suppressed
  Sink sink;
  assembly::Assembler a(o, sink);
  std::int64_t shift = 0;
  for (auto _ : state) {
    ++shift;
    for (std::size_t i = 0; i < segs.size(); ++i) {
      segs[i].fd_unix_s = base[i].fd_unix_s + shift * 100000;
      now += std::chrono::milliseconds(1);
      a.add(segs[i], "bench");
    }
    a.drainPartials();  // the capture's unfinished G10CIRUS.ZIP
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * segs.size()));
  state.counters["segments/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * segs.size()), benchmark::Counter::kIsRate);
  state.counters["files/pass"] = static_cast<double>(sink.files) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_AssembleLiveCapture)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

// Redundant ingest: the same product rate reaching the assembler through one
// input, or through two that each deliver every block (the worst case: both
// receivers complete) or that each lose a different 10 % of the frames (the
// simulators' --drop-frames-percent 10). Arg 0: inputs (1 or 2); arg 1: 1 =
// each input drops a different 10 %. Items are the feed's segments, so the
// CPU per item compares the assembler's cost at the same product rate.
void BM_AssembleSources(benchmark::State& state) {
  runtime::setLogLevel("error");
  const auto& base = liveSegments();
  const std::size_t inputs = static_cast<std::size_t>(state.range(0));
  const bool drop = state.range(1) != 0;
  std::vector<qbt::Segment> segs = base;
  assembly::TimePoint now{};
  assembly::Options o;
  o.clock = [&now] { return now; };
  o.unpack_archives = false;
  o.source_count = inputs;
  // Both inputs' copies of a block fall within the window; each pass starts
  // after the previous one's has passed, so every pass is delivered again.
  o.dedupe_window = std::chrono::seconds(60);
  Sink sink;
  assembly::Assembler a(o, sink);
  std::int64_t shift = 0;
  std::uint64_t offered = 0;
  for (auto _ : state) {
    ++shift;
    for (std::size_t i = 0; i < segs.size(); ++i) {
      segs[i].fd_unix_s = base[i].fd_unix_s + shift * 100000;
      now += std::chrono::milliseconds(1);
      for (std::size_t in = 0; in < inputs; ++in) {
        // Input 0 loses frames 0-9 of every 100, input 1 frames 10-19: every block reaches one.
        if (drop && inputs > 1 && (i % 100) / 10 == in) continue;
        a.add(segs[i], in == 0 ? "a" : "b", static_cast<assembly::SourceIndex>(in));
        ++offered;
      }
    }
    a.drainPartials();
    now += std::chrono::seconds(61);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * segs.size()));
  state.counters["feed_segments/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * segs.size()), benchmark::Counter::kIsRate);
  state.counters["offered/feed_segment"] =
      static_cast<double>(offered) / static_cast<double>(state.iterations() * segs.size());
  state.counters["files/pass"] = static_cast<double>(sink.files) / static_cast<double>(state.iterations());
  state.counters["evictions/pass"] = static_cast<double>(sink.evictions) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_AssembleSources)->Args({1, 0})->Args({2, 0})->Args({2, 1})->Unit(benchmark::kMillisecond);

long rssBytes() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// Opens 10,000 partial files (block 1 of 2 each) and reports the memory they hold.
void BM_TenThousandPartials(benchmark::State& state) {
  runtime::setLogLevel("error");
  const std::size_t kFiles = 10000;
  qbt::Segment seg = liveSegments().front();
  seg.total_blocks = 2;
  seg.block_number = 1;
  double accounted = 0, rss = 0;
  for (auto _ : state) {
    Sink sink;
    const long before = rssBytes();
    {
      assembly::Assembler a(assembly::Options{}, sink);
      for (std::size_t i = 0; i < kFiles; ++i) {
        seg.fd_unix_s = static_cast<std::int64_t>(i);
        a.add(seg, "bench");
      }
      accounted = static_cast<double>(a.stats().partial_bytes);
      // Only the first pass grows the process; later passes reuse freed heap.
      rss = std::max(rss, static_cast<double>(rssBytes() - before));
      benchmark::DoNotOptimize(a.stats().partial_files);
    }
  }
  state.counters["partial_files"] = static_cast<double>(kFiles);
  state.counters["accounted_bytes"] = accounted;
  state.counters["rss_delta_bytes"] = rss;
  state.counters["bytes_per_partial"] = accounted / static_cast<double>(kFiles);
}
BENCHMARK(BM_TenThousandPartials)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
