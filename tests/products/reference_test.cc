// The compiled reference tables against their source CSVs (data/reference/),
// read here by an independent reader: every row is found with the same values,
// the placeholders are left out, unknown codes are unknown.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "products/reference.h"

namespace emwin::products {
namespace {

std::string referenceDir() { return std::string(EMWIN_SOURCE_DIR) + "/data/reference/"; }

// Rows of a CSV without its header: split on commas outside double quotes.
std::vector<std::vector<std::string>> csv(const std::string& name) {
  std::ifstream in(referenceDir() + name, std::ios::binary);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (header) {
      header = false;
      continue;
    }
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (char c : line) {
      if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        fields.emplace_back();
      } else {
        fields.back().push_back(c);
      }
    }
    rows.push_back(fields);
  }
  return rows;
}

double num(const std::string& s) { return std::strtod(s.c_str(), nullptr); }

template <typename Table, typename Key>
bool strictlySorted(Table table, Key key) {
  return std::adjacent_find(table.begin(), table.end(),
                            [&](const auto& a, const auto& b) { return !(a.*key < b.*key); }) == table.end();
}

TEST(ReferenceTables, UgcRowsMatchTheCsv) {
  const auto rows = csv("ugc.csv");
  ASSERT_EQ(rows.size(), 7982u);
  std::size_t placeholders = 0;
  for (const auto& r : rows) {
    ASSERT_EQ(r.size(), 5u);
    const UgcPlace* p = findUgc(r[0]);
    if (r[0].substr(3) == "000") {  // "Any County"/"Any Zone" at 0,0: not a place
      EXPECT_EQ(p, nullptr) << r[0];
      ++placeholders;
      continue;
    }
    ASSERT_NE(p, nullptr) << r[0];
    EXPECT_EQ(p->name, r[2]) << r[0];
    EXPECT_EQ(p->county, r[1] == "county") << r[0];
    EXPECT_DOUBLE_EQ(p->lat_deg, num(r[3])) << r[0];
    EXPECT_DOUBLE_EQ(p->lon_deg, num(r[4])) << r[0];
  }
  EXPECT_EQ(placeholders, 130u);
  EXPECT_EQ(ugcPlaces().size(), rows.size() - placeholders);
  EXPECT_TRUE(strictlySorted(ugcPlaces(), &UgcPlace::code));
}

TEST(ReferenceTables, OfficesProductsAndRiverPointsMatchTheCsv) {
  const auto offs = csv("offices.csv");
  ASSERT_EQ(offs.size(), 483u);
  for (const auto& r : offs) {
    const OfficeInfo* o = findOffice(r[0]);
    ASSERT_NE(o, nullptr) << r[0];
    EXPECT_EQ(o->name, r[1]);
    EXPECT_EQ(o->city, r[2]);
    EXPECT_EQ(o->state, r[3]);
  }
  EXPECT_EQ(offices().size(), offs.size());
  EXPECT_TRUE(strictlySorted(offices(), &OfficeInfo::code));

  const auto prods = csv("products.csv");
  ASSERT_EQ(prods.size(), 507u);
  for (const auto& r : prods) EXPECT_EQ(productTitle(r[0]), r[2]) << r[0];
  EXPECT_EQ(productTitles().size(), prods.size());
  EXPECT_TRUE(strictlySorted(productTitles(), &ProductTitle::code));

  const auto rivers = csv("river_points.csv");
  ASSERT_EQ(rivers.size(), 4158u);
  for (const auto& r : rivers) {
    const RiverPoint* p = findRiverPoint(r[0]);
    ASSERT_NE(p, nullptr) << r[0];
    EXPECT_EQ(p->state, r[1]);
    EXPECT_EQ(p->stream, r[2]);
    EXPECT_EQ(p->proximity, r[3]);
    EXPECT_EQ(p->place, r[4]);
    EXPECT_DOUBLE_EQ(p->lat_deg, num(r[5]));
    EXPECT_DOUBLE_EQ(p->lon_deg, num(r[6]));
  }
  EXPECT_EQ(riverPoints().size(), rivers.size());
  EXPECT_TRUE(strictlySorted(riverPoints(), &RiverPoint::nwsli));
}

TEST(ReferenceTables, QuotedAndNonAsciiFieldsSurvive) {
  EXPECT_EQ(productTitle("FBP"), "AK FOUS 24, 36, and 24 Boundary");  // quoted, commas inside
  EXPECT_EQ(productTitle("NC1"), "CLUTTER FILTER CONTROL (CFC) \xE2\x80\x93 SEGMENT 1");  // UTF-8 en dash
}

TEST(ReferenceTables, OfficeCodesAsWrittenInHeadingsAndVtec) {
  ASSERT_NE(findOffice("KDMX"), nullptr);
  EXPECT_EQ(findOffice("KDMX")->name, "WFO Des Moines");
  EXPECT_EQ(findOffice("DMX"), findOffice("KDMX"));
  EXPECT_EQ(findOffice("PGUM")->code, "GUM");
  EXPECT_EQ(findOffice("PAFC")->code, "AFC");
  EXPECT_EQ(findOffice("PHFO")->code, "HFO");
  EXPECT_EQ(findOffice("TJSJ")->code, "SJU");
  EXPECT_EQ(findOffice("KWNS")->name, "NWS Storm Prediction Center - Norman");
}

TEST(ReferenceTables, UnknownCodesAreUnknown) {
  EXPECT_EQ(findUgc("IAC999"), nullptr);
  EXPECT_EQ(findUgc("IAC000"), nullptr);
  EXPECT_EQ(findUgc("IAC16"), nullptr);
  EXPECT_EQ(findUgc(""), nullptr);
  EXPECT_EQ(findOffice("KZZZ"), nullptr);
  EXPECT_EQ(findOffice("XDMX"), nullptr);  // not an ICAO prefix the NWS uses
  EXPECT_EQ(findOffice("DM"), nullptr);
  EXPECT_EQ(productTitle("QQQ"), "");
  EXPECT_EQ(productTitle("TO"), "");
  EXPECT_EQ(findRiverPoint("00000"), nullptr);
  EXPECT_EQ(findRiverPoint("ZZZZ9"), nullptr);
}

}  // namespace
}  // namespace emwin::products
