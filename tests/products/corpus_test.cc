// Every real product of the corpus parses; every VTEC string is found; every
// UGC block expands like an independent reference expander says.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>

#include "products/classify.h"
#include "products/product.h"
#include "test_util.h"

namespace emwin::products {
namespace {

using testing::corpusFiles;
using testing::readFile;

TEST(ProductsCorpus, AllProductsParseAndClassify) {
  const auto files = corpusFiles();
  ASSERT_EQ(files.size(), 317u);
  std::size_t withHeading = 0;
  for (const auto& f : files) {
    const std::string text = readFile(f);
    ASSERT_FALSE(text.empty()) << f;
    ParsedProduct p = parseProduct(text, 0);
    if (!p.wmo.ttaaii.empty()) ++withHeading;
    EXPECT_FALSE(p.awips_id.empty()) << f;
    EXPECT_FALSE(p.segments.empty()) << f;
    const auto alerts = classify(p);
    EXPECT_FALSE(alerts.empty()) << f;
    // Live alerts on alert.*, test messages (TORILX, OPUCHSSC) only on test.alert.*.
    for (const auto& a : alerts) EXPECT_TRUE(a.topic.starts_with(a.is_test ? "test.alert." : "alert.")) << f;
  }
  EXPECT_EQ(withHeading, files.size());
}

TEST(ProductsCorpus, EveryVtecStringIsParsed) {
  const std::regex vtecRe(R"(/[OTEX]\.[A-Z]{3}\.[A-Z]{4}\.[A-Z]{2}\.[A-Z]\.\d{4}\.\d{6}T\d{4}Z-\d{6}T\d{4}Z/)");
  std::size_t total = 0;
  for (const auto& f : corpusFiles()) {
    const std::string text = readFile(f);
    std::multiset<std::string> expected;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), vtecRe); it != std::sregex_iterator(); ++it) {
      expected.insert(it->str());
    }
    ParsedProduct p = parseProduct(text, 0);
    std::multiset<std::string> got;
    for (const auto& s : p.segments) {
      for (const auto& v : s.vtec) got.insert(v.raw);
    }
    EXPECT_EQ(got, expected) << f;
    // Every P-VTEC becomes exactly one alert.
    std::size_t vtecAlerts = 0;
    for (const auto& a : classify(p)) vtecAlerts += a.vtec_index >= 0 ? 1 : 0;
    EXPECT_EQ(vtecAlerts, expected.size()) << f;
    total += expected.size();
  }
  EXPECT_EQ(total, 684u);  // counted with grep -P over the corpus
}

// Independent reference: regex tokens over the raw block, ranges by loop.
std::set<std::string> referenceUgc(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  std::string line;
  const std::regex start(R"(^[A-Z]{2}[CZ]\d{3}[->].*)");
  const std::regex end(R"(.*\d{6}-\s*$)");
  const std::regex token(R"(([A-Z]{2}[CZ])?(\d{3})(>(\d{3}))?)");
  std::string block;
  bool in_block = false;
  while (std::getline(in, line)) {
    line.erase(std::remove_if(line.begin(), line.end(), [](char c) { return c == '\r' || c == '\x01' || c == '\x03'; }),
               line.end());
    while (!line.empty() && line.back() == ' ') line.pop_back();
    while (!line.empty() && line.front() == ' ') line.erase(0, 1);
    if (!in_block && std::regex_match(line, start)) {
      in_block = true;
      block.clear();
    }
    if (!in_block) continue;
    block += line;
    if (!std::regex_match(line, end)) continue;
    in_block = false;
    block.erase(block.size() - 7);  // drop the DDHHMM- expiry
    std::string prefix;
    std::istringstream tokens(block);
    std::string tok;
    std::smatch m;
    while (std::getline(tokens, tok, '-')) {
      if (!std::regex_match(tok, m, token)) continue;
      if (m[1].matched) prefix = m[1];
      const int lo = std::stoi(m[2]);
      const int hi = m[4].matched ? std::stoi(m[4]) : lo;
      for (int n = lo; n <= hi; ++n) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "%03d", n);
        out.insert(prefix + buf);
      }
    }
  }
  return out;
}

TEST(ProductsCorpus, UgcExpansionMatchesReference) {
  std::size_t checked = 0;
  for (const auto& f : corpusFiles()) {
    const std::string text = readFile(f);
    ParsedProduct p = parseProduct(text, 0);
    const bool ugcIssue = std::any_of(p.issues.begin(), p.issues.end(),
                                      [](const std::string& i) { return i.find("UGC:") != std::string::npos; });
    if (ugcIssue) continue;  // malformed blocks are covered by the malformed table
    std::set<std::string> got;
    for (const auto& s : p.segments) got.insert(s.ugc.begin(), s.ugc.end());
    EXPECT_EQ(got, referenceUgc(text)) << f;
    ++checked;
  }
  EXPECT_EQ(checked, 312u);  // 317 minus the 5 products with malformed UGC blocks
}

TEST(ProductsCorpus, HandCheckedUgcRanges) {
  // WSWDMX-WSW_00 last-but-one segment: IAZ023-024-033>036-044>048-057>061-072>075-083>086-094>097-270515-
  ParsedProduct p = parseProduct(readFile(testing::productsDir() / "winter_weather_message/WSWDMX-WSW_00.txt"), 0);
  ASSERT_EQ(p.segments.size(), 5u);
  const auto& u = p.segments[3].ugc;
  ASSERT_EQ(u.size(), 28u);
  EXPECT_EQ(u.front(), "IAZ023");
  EXPECT_EQ(u[2], "IAZ033");
  EXPECT_EQ(u[5], "IAZ036");
  EXPECT_EQ(u[6], "IAZ044");
  EXPECT_EQ(u.back(), "IAZ097");
  EXPECT_EQ(p.segments[3].ugc_expiry_ddhhmm, "270515");
  // Multiple states on one line: CTZ004-MAZ005>007-012>021-NHZ012-RIZ001>007-
  std::vector<std::string> codes;
  std::string expiry;
  std::vector<std::string> issues;
  ASSERT_TRUE(parseUgc("CTZ004-MAZ005>007-012>021-NHZ012-RIZ001>007-240045-", codes, expiry, issues));
  EXPECT_TRUE(issues.empty());
  EXPECT_EQ(codes.size(), 1u + 3u + 10u + 1u + 7u);
  EXPECT_EQ(codes[1], "MAZ005");
  EXPECT_EQ(codes[4], "MAZ012");
  EXPECT_EQ(codes[14], "NHZ012");
  EXPECT_EQ(codes.back(), "RIZ007");
  EXPECT_EQ(expiry, "240045");
}

}  // namespace
}  // namespace emwin::products
