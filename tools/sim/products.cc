#include "products.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "runtime/sha256.h"

namespace emwin::sim {
namespace {

std::string upperAlnum(std::string_view s, std::size_t max) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max) break;
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0) out.push_back(static_cast<char>(std::toupper(u)));
  }
  return out;
}

}  // namespace

bool isWarningStem(std::string_view stem) noexcept {
  static constexpr std::array<std::string_view, 8> kCodes = {"TOR", "SVR", "SVS", "FFW", "FFS", "SMW", "EWW", "SQW"};
  if (stem.size() < 3) return false;
  std::array<char, 3> head{};
  for (std::size_t i = 0; i < 3; ++i) head[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(stem[i])));
  std::string_view h(head.data(), head.size());
  return std::find(kCodes.begin(), kCodes.end(), h) != kCodes.end();
}

std::string qbtName(std::string_view source_filename, std::size_t index) {
  static constexpr std::string_view kDigits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  auto dot = source_filename.rfind('.');
  std::string_view stem = dot == std::string_view::npos ? source_filename : source_filename.substr(0, dot);
  std::string_view ext = dot == std::string_view::npos ? std::string_view{} : source_filename.substr(dot + 1);
  std::string name = upperAlnum(stem, 6);
  if (name.empty()) name = "FILE";
  name.push_back(kDigits[(index / 36) % 36]);
  name.push_back(kDigits[index % 36]);
  std::string e = upperAlnum(ext, 3);
  // Appended piecewise: `"." + std::string&&` trips g++ 12's -Wrestrict false positive at -O3.
  name.push_back('.');
  name += e.empty() ? std::string_view("TXT") : std::string_view(e);
  return name;
}

std::vector<Product> loadProducts(const std::string& dir, std::string* error) {
  namespace fs = std::filesystem;
  std::vector<std::string> paths;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) {
    if (error != nullptr) *error = "cannot read products directory " + dir + ": " + ec.message();
    return {};
  }
  for (auto end = fs::recursive_directory_iterator(); it != end; it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file(ec)) paths.push_back(it->path().string());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<Product> out;
  for (const auto& p : paths) {
    std::ifstream in(p, std::ios::binary);
    if (!in) continue;
    Product prod;
    prod.content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (prod.content.empty()) continue;
    std::string base = fs::path(p).filename().string();
    prod.name = qbtName(base, out.size());
    prod.path = p;
    prod.sha256 = runtime::sha256Hex(prod.content);
    prod.high_priority = isWarningStem(base);
    out.push_back(std::move(prod));
  }
  if (out.empty() && error != nullptr) *error = "no readable files under " + dir;
  return out;
}

}  // namespace emwin::sim
