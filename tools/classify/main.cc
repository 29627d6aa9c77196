// emwin-classify: parses NWS text product files offline and prints one JSON
// object per line: {"event":"product",...} per file, then {"event":"alert",...}
// per classified event, so users can check what an alert filter will match.
// Exit codes: 0 all files read (even malformed ones), 2 a file could not be
// read, 1 bad command line.
#include <sys/stat.h>

#include <cstdint>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "products/classify.h"
#include "products/product.h"

namespace {

bool readFile(const std::string& path, std::string& out, std::int64_t& mtime) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return false;
  out = ss.str();
  mtime = static_cast<std::int64_t>(st.st_mtime);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"emwin-classify: parse NWS text products and print their alert classification as JSON lines"};
  std::vector<std::string> files;
  std::int64_t reference = -1;
  bool pretty = false;
  app.add_option("files", files, "Product files to classify")->required();
  app.add_option("--reference-time", reference,
                 "Unix seconds supplying month/year for DDHHMM fields when a product has no VTEC "
                 "(default: each file's modification time)");
  app.add_flag("--pretty", pretty, "Indent the JSON (one object per block instead of per line)");
  CLI11_PARSE(app, argc, argv);

  int rc = 0;
  for (const std::string& path : files) {
    std::string text;
    std::int64_t mtime = 0;
    if (!readFile(path, text, mtime)) {
      std::cerr << "emwin-classify: cannot read '" << path << "'\n";
      rc = 2;
      continue;
    }
    const std::int64_t ref = reference >= 0 ? reference : mtime;
    const emwin::products::ParsedProduct product = emwin::products::parseProduct(text, ref);
    const int indent = pretty ? 2 : -1;
    const auto dump = [&](const nlohmann::json& j) {
      std::cout << j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    };
    dump(emwin::products::productToJson(product, path));
    for (const auto& c : emwin::products::classify(product)) dump(emwin::products::alertToJson(c, product, path));
  }
  std::cout.flush();
  return rc;
}
