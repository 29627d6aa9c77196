// bench_products: products/s parsed and classified over the 317-product corpus.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "emwin/bus/v1/alert.pb.h"
#include "products/classify.h"
#include "products/product.h"

namespace {

const std::vector<std::string>& corpus() {
  static const std::vector<std::string> texts = [] {
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::recursive_directory_iterator(std::string(EMWIN_CORPUS_DIR) + "/products")) {
      if (e.is_regular_file()) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    std::vector<std::string> out;
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      std::ostringstream ss;
      ss << in.rdbuf();
      out.push_back(ss.str());
    }
    return out;
  }();
  return texts;
}

std::int64_t corpusBytes() {
  std::int64_t n = 0;
  for (const auto& t : corpus()) n += static_cast<std::int64_t>(t.size());
  return n;
}

void BM_Parse(benchmark::State& state) {
  const auto& texts = corpus();
  for (auto _ : state) {
    for (const auto& t : texts) benchmark::DoNotOptimize(emwin::products::parseProduct(t, 1700000000));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(texts.size()));
  state.SetBytesProcessed(state.iterations() * corpusBytes());
}
BENCHMARK(BM_Parse)->Unit(benchmark::kMillisecond);

void BM_ParseClassify(benchmark::State& state) {
  const auto& texts = corpus();
  std::int64_t alerts = 0;
  for (auto _ : state) {
    for (const auto& t : texts) {
      const auto p = emwin::products::parseProduct(t, 1700000000);
      const auto c = emwin::products::classify(p);
      alerts += static_cast<std::int64_t>(c.size());
      benchmark::DoNotOptimize(c.data());
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(texts.size()));
  state.SetBytesProcessed(state.iterations() * corpusBytes());
  state.counters["alerts/s"] = benchmark::Counter(static_cast<double>(alerts), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ParseClassify)->Unit(benchmark::kMillisecond);

// The service path: parse, classify and fill one protobuf Alert per event.
void BM_ParseClassifyProto(benchmark::State& state) {
  const auto& texts = corpus();
  emwin::bus::v1::Alert msg;
  for (auto _ : state) {
    for (const auto& t : texts) {
      const auto p = emwin::products::parseProduct(t, 1700000000);
      for (const auto& c : emwin::products::classify(p)) {
        msg.Clear();
        emwin::products::toProto(c, p, msg);
        benchmark::DoNotOptimize(msg.ByteSizeLong());
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(texts.size()));
}
BENCHMARK(BM_ParseClassifyProto)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
