// Decoder throughput: the real capture (451 V1 + 49 V2 frames), the npemwin peer
// captures, and synthetic V1-only / V2-only streams built with the encoder from
// the corpus products.
// Reports wire bytes/s (SetBytesProcessed) and segments/s.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "qbt/decoder.h"
#include "qbt/encoder.h"

namespace {

using emwin::qbt::BadInput;
using emwin::qbt::Decoder;
using emwin::qbt::DecoderCallbacks;
using emwin::qbt::Segment;
using emwin::qbt::ServerList;
using emwin::qbt::Version;

class CountingCallbacks : public DecoderCallbacks {
 public:
  void onSegment(const Segment& s) override {
    ++segments;
    checksum += s.data[0];
  }
  void onServerList(const ServerList&) override {}
  void onBadInput(const BadInput&) override { ++bad; }
  std::uint64_t segments = 0;
  std::uint64_t bad = 0;
  std::uint64_t checksum = 0;
};

std::vector<std::uint8_t> readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
}

const std::vector<std::uint8_t>& capture() {
  static const auto data = readFile(std::string(EMWIN_CORPUS_DIR) + "/live/stream0-20260303.bin");
  return data;
}

// All corpus products encoded as files, in a stable order.
std::vector<std::uint8_t> productStream(Version version) {
  std::vector<std::filesystem::path> paths;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(std::string(EMWIN_CORPUS_DIR) + "/products")) {
    if (entry.is_regular_file()) paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::uint8_t> wire;
  std::size_t i = 0;
  for (const auto& p : paths) {
    const auto content = readFile(p);
    // Appended rather than "P" + std::to_string(...): g++ 12 -O3 reports a false
    // -Wrestrict on operator+(const char*, std::string&&).
    std::string name = "P";
    name += std::to_string(i++ % 10000);
    name += ".TXT";
    emwin::qbt::encodeFile(name, content, 1772551056, version, wire);
  }
  return wire;
}

void runDecoder(benchmark::State& state, const std::vector<std::uint8_t>& wire, std::size_t chunk) {
  std::uint64_t segments = 0;
  std::uint64_t bad = 0;
  for (auto _ : state) {
    CountingCallbacks cb;
    Decoder d(cb);
    if (chunk == 0) {
      d.feed(wire);
    } else {
      for (std::size_t at = 0; at < wire.size(); at += chunk) {
        d.feed(std::span<const std::uint8_t>(wire).subspan(at, std::min(chunk, wire.size() - at)));
      }
    }
    d.finish();
    benchmark::DoNotOptimize(cb.checksum);
    segments += cb.segments;
    bad += cb.bad;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * wire.size()));
  state.counters["segments/s"] = benchmark::Counter(static_cast<double>(segments),
                                                    benchmark::Counter::kIsRate);
  state.counters["segments"] =
      static_cast<double>(segments) / static_cast<double>(std::max<std::int64_t>(1, state.iterations()));
  state.counters["bad"] = static_cast<double>(bad);
}

void BM_DecodeCapture(benchmark::State& state) {
  runDecoder(state, capture(), static_cast<std::size_t>(state.range(0)));
}
// 0 = the whole capture in one feed; 4096/65536 = typical socket reads.
BENCHMARK(BM_DecodeCapture)->Arg(0)->Arg(4096)->Arg(65536);

// What npemwin sends (../shared/corpus/peers/): 900 V1 frames, resp. 729 V2 + 158
// V1 on one connection, headers with a space after /PN, /PT, /CS.
void BM_DecodeNpemwinV1(benchmark::State& state) {
  static const auto wire = readFile(std::string(EMWIN_CORPUS_DIR) + "/peers/npemwin-v1.bin");
  runDecoder(state, wire, 65536);
}
BENCHMARK(BM_DecodeNpemwinV1);

void BM_DecodeNpemwinV2(benchmark::State& state) {
  static const auto wire = readFile(std::string(EMWIN_CORPUS_DIR) + "/peers/npemwin-v2.bin");
  runDecoder(state, wire, 65536);
}
BENCHMARK(BM_DecodeNpemwinV2);

void BM_DecodeV1Products(benchmark::State& state) {
  static const auto wire = productStream(Version::kV1);
  runDecoder(state, wire, 65536);
}
BENCHMARK(BM_DecodeV1Products);

void BM_DecodeV2Products(benchmark::State& state) {
  static const auto wire = productStream(Version::kV2);
  runDecoder(state, wire, 65536);
}
BENCHMARK(BM_DecodeV2Products);

void BM_EncodeV2Products(benchmark::State& state) {
  for (auto _ : state) {
    auto wire = productStream(Version::kV2);
    benchmark::DoNotOptimize(wire.data());
  }
}
BENCHMARK(BM_EncodeV2Products)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
