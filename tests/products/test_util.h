#pragma once
// Helpers shared by the products tests: corpus paths and file reading.
// Not thread-safe (plain functions used from one test thread).

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace emwin::products::testing {

inline std::filesystem::path productsDir() { return std::filesystem::path(EMWIN_CORPUS_DIR) / "products"; }

inline std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every regular file under products/, sorted.
inline std::vector<std::filesystem::path> corpusFiles() {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(productsDir())) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace emwin::products::testing
