// bench_sinks: the per-file work of the two sinks without their sockets, over
// the product corpus (every file of ../shared/corpus/products):
//   BM_ClassifyFile    FileClassifier::classify into one reused FileResult and
//                      one serialisation per alert (what the classifier does
//                      before Publisher::publishSerialized).
//   BM_ClassifyFileNew the same with a fresh FileResult per file (no reuse).
//   BM_StoreFile       FileStore::write of a new file
//                      (no fsync) into a temp directory under $TMPDIR (use
//                      TMPDIR=/dev/shm to leave the disk out).
// Items = files.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "emwin/bus/v1/file.pb.h"
#include "file_classifier.h"
#include "file_store.h"
#include "runtime/sha256.h"

namespace {

namespace v1 = emwin::bus::v1;

const std::vector<v1::CompletedFile>& corpus() {
  static const std::vector<v1::CompletedFile> files = [] {
    std::vector<std::filesystem::path> paths;
    for (const auto& e : std::filesystem::recursive_directory_iterator(std::string(EMWIN_CORPUS_DIR) + "/products")) {
      if (e.is_regular_file()) paths.push_back(e.path());
    }
    std::sort(paths.begin(), paths.end());
    std::vector<v1::CompletedFile> out;
    for (const auto& p : paths) {
      std::ifstream in(p, std::ios::binary);
      std::ostringstream ss;
      ss << in.rdbuf();
      v1::CompletedFile f;
      f.set_filename(p.filename().string());
      f.set_data(ss.str());
      f.set_sha256(emwin::runtime::sha256Hex(std::string_view(f.data())));
      f.set_fd_unix_s(1700000000);
      out.push_back(std::move(f));
    }
    return out;
  }();
  return files;
}

void BM_ClassifyFile(benchmark::State& state) {
  const auto& files = corpus();
  emwin::sinks::FileClassifier classifier;
  emwin::sinks::FileResult result;
  std::string payload;
  std::int64_t alerts = 0;
  for (auto _ : state) {
    for (const auto& f : files) {
      classifier.classify(f, result);
      for (const auto& a : result.alerts) {
        payload.clear();
        a.alert.AppendToString(&payload);
        benchmark::DoNotOptimize(payload.data());
      }
      alerts += static_cast<std::int64_t>(result.alerts.size());
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(files.size()));
  state.counters["alerts_per_file"] =
      static_cast<double>(alerts) / static_cast<double>(state.iterations() * files.size());
}
BENCHMARK(BM_ClassifyFile)->Unit(benchmark::kMicrosecond);

void BM_ClassifyFileNew(benchmark::State& state) {
  const auto& files = corpus();
  emwin::sinks::FileClassifier classifier;
  for (auto _ : state) {
    for (const auto& f : files) {
      emwin::sinks::FileResult result = classifier.classify(f);
      for (const auto& a : result.alerts) benchmark::DoNotOptimize(a.alert.SerializeAsString());
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(files.size()));
}
BENCHMARK(BM_ClassifyFileNew)->Unit(benchmark::kMicrosecond);

void BM_StoreFile(benchmark::State& state) {
  const auto& files = corpus();
  const char* tmp = std::getenv("TMPDIR");
  std::filesystem::path root = std::filesystem::path(tmp != nullptr ? tmp : "/tmp") /
                               ("emwin-bench-sinks-" + std::to_string(::getpid()));
  emwin::sinks::FileStore store(root, /*fsync_files=*/false);
  std::int64_t n = 0;
  std::int64_t failures = 0;
  for (auto _ : state) {
    for (const auto& f : files) {
      emwin::sinks::StoredFileInfo info;
      info.name = f.filename();
      info.fd_unix_s = f.fd_unix_s() + n++;  // a new path every time
      info.sha256 = f.sha256();
      auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(f.data().data()), f.data().size());
      if (store.write(info, bytes).status != emwin::sinks::WriteStatus::kWritten) ++failures;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(files.size()));
  state.counters["failures"] = static_cast<double>(failures);
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
}
BENCHMARK(BM_StoreFile)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
