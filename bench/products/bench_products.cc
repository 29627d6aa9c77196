// bench_products: products/s parsed and classified over the 317-product corpus,
// and the active-state library fed with and queried on that corpus.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "alerts/active_state.h"
#include "alerts/event_update.h"
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

// The corpus's updates in issue order (what a replay feeds the active state).
const std::vector<std::vector<emwin::alerts::EventUpdate>>& corpusUpdates() {
  static const auto updates = [] {
    std::vector<std::pair<std::int64_t, std::vector<emwin::alerts::EventUpdate>>> byTime;
    for (const auto& t : corpus()) {
      const auto p = emwin::products::parseProduct(t, 1700000000);
      byTime.emplace_back(p.issued_unix_s, emwin::alerts::updatesFromProduct(p, emwin::products::classify(p)));
    }
    std::stable_sort(byTime.begin(), byTime.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::vector<emwin::alerts::EventUpdate>> out;
    for (auto& [t, u] : byTime) out.push_back(std::move(u));
    return out;
  }();
  return updates;
}

// Feeding the active state: every alert of the corpus into a fresh state.
void BM_ActiveStateApply(benchmark::State& state) {
  const auto& updates = corpusUpdates();
  std::int64_t alerts = 0;
  for (auto _ : state) {
    emwin::alerts::ActiveState s;
    for (const auto& product : updates) {
      for (const auto& u : product) benchmark::DoNotOptimize(s.apply(u));
      alerts += static_cast<std::int64_t>(product.size());
    }
  }
  state.SetItemsProcessed(alerts);  // alerts/s
}
BENCHMARK(BM_ActiveStateApply)->Unit(benchmark::kMillisecond);

// Queries on the state after the whole corpus (~1,000 events): by UGC and by
// point (every event's polygon tested, centroids within 50 km).
void BM_ActiveStateQuery(benchmark::State& state) {
  emwin::alerts::ActiveStateOptions o;
  o.auto_prune_every = 0;
  emwin::alerts::ActiveState s(o);
  for (const auto& product : corpusUpdates()) s.apply(product);
  const std::int64_t at = s.latestIssued();
  std::size_t found = 0;
  for (auto _ : state) {
    found += s.forUgc("IAC169", at).size();
    found += s.forPoint(42.03, -93.62, 50, at).size();
  }
  benchmark::DoNotOptimize(found);
  state.SetItemsProcessed(state.iterations() * 2);  // queries/s
  state.counters["events"] = static_cast<double>(s.stats().events);
}
BENCHMARK(BM_ActiveStateQuery);

}  // namespace

BENCHMARK_MAIN();
