// The relay's per-block encoding CPU, without sockets: BlockEncoder on the 901
// blocks of the 317 corpus products — the V1 frame (spec and npemwin headers)
// and the frame a V2 client gets under each V2 rule — as CPU time, so it holds
// on a busy machine. Every block is encoded once per layout whatever the
// client count; the fan-out to sockets is measured by bench/relay/run.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "block_encoder.h"

namespace {

using emwin::relay::BlockEncoder;
using emwin::relay::BlockRef;
using emwin::relay::EncoderOptions;
using emwin::relay::V2Rule;

struct Block {
  std::string name;
  std::uint32_t pn = 1, pt = 1;
  std::vector<std::uint8_t> data;
};

const std::vector<Block>& corpusBlocks() {
  static const std::vector<Block> blocks = [] {
    std::vector<Block> out;
    int n = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(std::string(EMWIN_CORPUS_DIR) + "/products")) {
      if (!e.is_regular_file()) continue;
      std::ifstream in(e.path(), std::ios::binary);
      const std::vector<std::uint8_t> c((std::istreambuf_iterator<char>(in)), {});
      const auto pt = static_cast<std::uint32_t>((c.size() + 1023) / 1024);
      for (std::uint32_t pn = 1; pn <= pt; ++pn) {
        std::string name = "P";  // appended: g++ 12 -O3 warns falsely on "P" + std::to_string(n)
        name += std::to_string(n);
        name += ".TXT";
        Block b{std::move(name), pn, pt, std::vector<std::uint8_t>(1024, 0)};
        for (std::size_t i = 0; i < 1024 && (pn - 1) * 1024 + i < c.size(); ++i) b.data[i] = c[(pn - 1) * 1024 + i];
        out.push_back(std::move(b));
      }
      ++n;
    }
    return out;
  }();
  return blocks;
}

BlockRef ref(const Block& b) { return BlockRef{b.name, b.pn, b.pt, 1'780'000'000, b.data}; }

void BM_EncodeV1(benchmark::State& state) {
  BlockEncoder enc(EncoderOptions{static_cast<emwin::qbt::HeaderStyle>(state.range(0)), V2Rule::kWhenPays});
  std::vector<std::uint8_t> out;
  for (auto _ : state) {
    for (const Block& b : corpusBlocks()) {
      out.clear();
      enc.appendV1(ref(b), out);
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * corpusBlocks().size()));
}
BENCHMARK(BM_EncodeV1)->Arg(0)->Arg(2)->ArgName("style");

void BM_EncodeV2(benchmark::State& state) {
  BlockEncoder enc(EncoderOptions{emwin::qbt::HeaderStyle::kSpec, state.range(0) ? V2Rule::kWhenSmaller : V2Rule::kWhenPays});
  std::vector<std::uint8_t> out;
  std::size_t bytes = 0;
  for (auto _ : state) {
    bytes = 0;
    for (const Block& b : corpusBlocks()) {
      out.clear();
      enc.appendV2(ref(b), out);
      bytes += out.size();
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * corpusBlocks().size()));
  state.counters["wire_bytes_per_block"] = static_cast<double>(bytes) / static_cast<double>(corpusBlocks().size());
  state.counters["v1_share"] = static_cast<double>(enc.notPaying()) / static_cast<double>(enc.deflated());
}
BENCHMARK(BM_EncodeV2)->Arg(0)->Arg(1)->ArgName("smaller");

}  // namespace

BENCHMARK_MAIN();
