#pragma once
// Real inputs for the archive tests: every product of ../shared/corpus/products
// as the CompletedFile the assembler would publish and the Alert messages the
// classifier makes of it (its own FileClassifier, so topics, test marking and
// every field are the service's), in product issue order.
// Thread-safety: test-thread only (builds once, then read-only).

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "archive/records.h"
#include "emwin/bus/v1/alert.pb.h"
#include "emwin/bus/v1/file.pb.h"
#include "file_classifier.h"
#include "runtime/sha256.h"

namespace emwin::test {

struct CorpusProduct {
  std::string relative;                  // "tornado_warning/TORDMX.txt"
  emwin::bus::v1::CompletedFile file;
  std::vector<sinks::TopicAlert> alerts;
  std::int64_t issued = 0;               // of its first alert (0 without alerts)
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every corpus product, sorted by issue time (then name). File /FD stamps are
// the issue time (or a fixed time for products without alerts).
inline const std::vector<CorpusProduct>& corpusProducts() {
  static const std::vector<CorpusProduct> products = [] {
    namespace fs = std::filesystem;
    std::vector<CorpusProduct> out;
    const fs::path root = fs::path(EMWIN_CORPUS_DIR) / "products";
    std::vector<fs::path> paths;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (e.is_regular_file()) paths.push_back(e.path());
    }
    std::sort(paths.begin(), paths.end());
    sinks::FileClassifier classifier;
    for (const auto& p : paths) {
      CorpusProduct c;
      c.relative = fs::relative(p, root).string();
      const std::string data = slurp(p);
      c.file.set_filename(p.filename().string());
      c.file.set_data(data);
      c.file.set_size_bytes(data.size());
      c.file.set_sha256(runtime::sha256Hex(std::string_view(data)));
      c.file.set_fd_unix_s(1'700'000'000);
      c.file.set_origin(emwin::bus::v1::FILE_ORIGIN_BLOCKS);
      c.file.set_source("replay:corpus");
      c.file.set_block_count(static_cast<std::uint32_t>((data.size() + 1023) / 1024));
      c.file.mutable_header()->set_producer_id("assembler.test");
      sinks::FileResult r = classifier.classify(c.file);
      c.alerts = std::move(r.alerts);
      for (const auto& a : c.alerts) {
        if (a.alert.issued_unix_s() != 0) {
          c.issued = a.alert.issued_unix_s();
          break;
        }
      }
      if (c.issued != 0) c.file.set_fd_unix_s(c.issued);
      out.push_back(std::move(c));
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const CorpusProduct& a, const CorpusProduct& b) { return a.issued < b.issued; });
    return out;
  }();
  return products;
}

// The archive rows of products [begin, end) received at `received`.
inline archive::Batch corpusBatch(std::size_t begin, std::size_t end, std::int64_t received) {
  archive::Batch b;
  const auto& all = corpusProducts();
  for (std::size_t i = begin; i < end && i < all.size(); ++i) {
    b.files.push_back(archive::fileRecord(all[i].file, received));
    for (const auto& a : all[i].alerts) b.alerts.push_back(archive::alertRecord(a.alert, a.topic, received));
  }
  return b;
}

}  // namespace emwin::test
