// Malformed input never crashes or throws: it yields a product with issues.
// Also unit tests of the building blocks (VTEC, UGC, DDHHMM, protobuf).
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <string>

#include "emwin/bus/v1/alert.pb.h"
#include "products/classify.h"
#include "products/product.h"

namespace emwin::products {
namespace {

struct MalformedCase {
  const char* name;
  std::string text;
  const char* issue_substring;  // an issue containing this must be recorded
};

std::ostream& operator<<(std::ostream& os, const MalformedCase& c) { return os << c.name; }

const std::string kGood =
    "WFUS53 KDMX 230521\nTORDMX\nIAC015-169-230600-\n/O.NEW.KDMX.TO.W.0042.240523T0521Z-240523T0600Z/\n\n"
    "LAT...LON 4123 9345 4130 9340 4120 9330\n$$\n";

class Malformed : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(Malformed, RecordsIssueAndDoesNotThrow) {
  const MalformedCase& c = GetParam();
  ParsedProduct p;
  ASSERT_NO_THROW(p = parseProduct(c.text, 1716440400));
  bool found = false;
  for (const auto& issue : p.issues) found = found || issue.find(c.issue_substring) != std::string::npos;
  EXPECT_TRUE(found) << "issues: " << ::testing::PrintToString(p.issues);
  std::vector<Classified> alerts;
  ASSERT_NO_THROW(alerts = classify(p));
  EXPECT_FALSE(alerts.empty());
  emwin::bus::v1::Alert msg;
  for (const auto& a : alerts) ASSERT_NO_THROW(toProto(a, p, msg));
  for (const auto& a : alerts) ASSERT_NO_THROW((void)alertToJson(a, p, c.name).dump());
}

std::string binaryJunk() {
  std::string s;
  std::uint32_t x = 12345;  // fixed seed: deterministic
  for (int i = 0; i < 4096; ++i) {
    x = x * 1103515245u + 12345u;
    s.push_back(static_cast<char>(x >> 24));
  }
  return s;
}

const MalformedCase kCases[] = {
    {"empty", "", "no WMO heading"},
    {"soh_etx_only", "\x01\r\r\n\x03", "no WMO heading"},
    {"binary_junk", binaryJunk(), "no WMO heading"},
    {"no_awips", "WFUS53 KDMX 230521\n\nIAC015-230600-\n$$\n", "no AWIPS ID"},
    {"bad_ugc_state_without_number",
     "WGUS42 KILM 121229\nFLWILM\nNCC-019-129-121530-\n/O.NEW.KILM.FA.W.0001.130412T1229Z-130412T1530Z/\n$$\n",
     "without a number"},
    {"bad_ugc_range", "WFUS53 KDMX 230521\nTORDMX\nIAC015>00A-230600-\n$$\n", "bad range"},
    {"bad_ugc_reversed_range", "WFUS53 KDMX 230521\nTORDMX\nIAC019>015-230600-\n$$\n", "bad range"},
    {"ugc_without_expiry", "WFUS53 KDMX 230521\nTORDMX\nIAC015-169-\n$$\n", "without expiry"},
    {"vtec_short", "WFUS53 KDMX 230521\nTORDMX\nIAC015-230600-\n/O.NEW.KDMX.TO.W.0042.240523T0521Z/\n$$\n",
     "broken VTEC"},
    {"vtec_bad_action",
     "WFUS53 KDMX 230521\nTORDMX\nIAC015-230600-\n/O.XXX.KDMX.TO.W.0042.240523T0521Z-240523T0600Z/\n$$\n",
     "unknown action"},
    {"vtec_bad_month",
     "WFUS53 KDMX 230521\nTORDMX\nIAC015-230600-\n/O.NEW.KDMX.TO.W.0042.241323T0521Z-240523T0600Z/\n$$\n",
     "bad begin or end time"},
    {"vtec_bad_etn",
     "WFUS53 KDMX 230521\nTORDMX\nIAC015-230600-\n/O.NEW.KDMX.TO.W.00A2.240523T0521Z-240523T0600Z/\n$$\n",
     "bad office"},
    {"truncated_in_vtec", kGood.substr(0, 70), "broken VTEC"},
    {"truncated_polygon",
     "WFUS53 KDMX 230521\nTORDMX\nIAC015-230600-\n/O.NEW.KDMX.TO.W.0042.240523T0521Z-240523T0600Z/\n"
     "LAT...LON 4123 9345 4130",
     "odd number"},
    {"polygon_words",
     "WFUS53 KDMX 230521\nTORDMX\nIAC015-230600-\n/O.NEW.KDMX.TO.W.0042.240523T0521Z-240523T0600Z/\n"
     "LAT...LON MISSING\n$$\n",
     "non-numeric"},
    {"polygon_two_points",
     "WFUS53 KDMX 230521\nTORDMX\nIAC015-230600-\n/O.NEW.KDMX.TO.W.0042.240523T0521Z-240523T0600Z/\n"
     "LAT...LON 4123 9345 4130 9340\n$$\n",
     "fewer than 3"},
    {"motion_garbled",
     "WFUS53 KDMX 230521\nTORDMX\nIAC015-230600-\n/O.NEW.KDMX.TO.W.0042.240523T0521Z-240523T0600Z/\n"
     "TIME...MOT...LOC 21Z 240DEG\n$$\n",
     "TIME...MOT...LOC"},
    {"bad_hvtec",
     "WGUS42 KILM 121229\nFLWILM\nNCC019-121530-\n/O.NEW.KILM.FL.W.0001.130412T1229Z-130412T1530Z/\n"
     "/ABCDE.1.ER.130412T1229Z.BROKEN.130412T1229Z.NO/\n$$\n",
     "broken H-VTEC"},
    {"bad_wmo_day", "WFUS53 KDMX 990521\nTORDMX\n$$\n", "not a valid time"},
};

INSTANTIATE_TEST_SUITE_P(Table, Malformed, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ProductFraming, SohEtxLdmAndCrCrLfGiveTheSameResult) {
  std::string crlf;
  for (char c : kGood) {
    if (c == '\n') crlf += "\r\r\n";
    else crlf.push_back(c);
  }
  const std::string framed = "\x01\r\r\n123 \r\r\n" + crlf + "\x03";
  const ParsedProduct a = parseProduct(kGood, 0);
  const ParsedProduct b = parseProduct(framed, 0);
  EXPECT_TRUE(a.issues.empty()) << ::testing::PrintToString(a.issues);
  EXPECT_TRUE(b.issues.empty()) << ::testing::PrintToString(b.issues);
  for (const ParsedProduct* p : {&a, &b}) {
    EXPECT_EQ(p->wmo.cccc, "KDMX");
    EXPECT_EQ(p->awips_id, "TORDMX");
    ASSERT_EQ(p->segments.size(), 1u);
    EXPECT_EQ(p->segments[0].ugc, (std::vector<std::string>{"IAC015", "IAC169"}));
    ASSERT_EQ(p->segments[0].vtec.size(), 1u);
    EXPECT_EQ(p->segments[0].polygon.size(), 4u);
    EXPECT_EQ(isoUtc(p->issued_unix_s), "2024-05-23T05:21:00Z");
  }
}

TEST(VtecParser, FieldsAndOpenTimes) {
  Vtec v;
  std::string why;
  ASSERT_TRUE(parseVtec("/O.CAN.KFWD.TO.W.0006.000000T0000Z-180122T0245Z/", v, why)) << why;
  EXPECT_EQ(v.product_class, 'O');
  EXPECT_EQ(v.action, "CAN");
  EXPECT_EQ(v.office, "KFWD");
  EXPECT_EQ(v.phenomenon, "TO");
  EXPECT_EQ(v.significance, "W");
  EXPECT_EQ(v.event_number, 6u);
  EXPECT_EQ(v.begin_unix_s, 0);
  EXPECT_EQ(isoUtc(v.end_unix_s), "2018-01-22T02:45:00Z");
  EXPECT_FALSE(parseVtec("/O.NEW.KDMX.TO.W.0042.240523T0521Z-240523T0660Z/", v, why));  // minute 60
}

TEST(DdhhmmResolution, MonthAndYearRollover) {
  // Anchor 2018-01-01T02:00Z; "312330" is 31 December 2017.
  const std::int64_t anchor = 1514772000;
  EXPECT_EQ(isoUtc(resolveDdhhmm("312330", anchor)), "2017-12-31T23:30:00Z");
  // Anchor 2017-12-31T22:00Z; "010100" is 1 January 2018.
  EXPECT_EQ(isoUtc(resolveDdhhmm("010100", 1514757600)), "2018-01-01T01:00:00Z");
  // Day 30 near a February anchor resolves to January 30 (February has no 30th).
  EXPECT_EQ(isoUtc(resolveDdhhmm("301200", 1519819200)), "2018-01-30T12:00:00Z");  // anchor 2018-02-28T12Z
  EXPECT_EQ(resolveDdhhmm("301200", 0), 0);
  EXPECT_EQ(resolveDdhhmm("3012", 1519819200), 0);
}

TEST(ProtoConversion, FillsAlertFields) {
  const ParsedProduct p = parseProduct(kGood, 0);
  const auto alerts = classify(p);
  ASSERT_EQ(alerts.size(), 1u);
  emwin::bus::v1::Alert msg;
  toProto(alerts[0], p, msg);
  EXPECT_EQ(msg.vtec(), "/O.NEW.KDMX.TO.W.0042.240523T0521Z-240523T0600Z/");
  EXPECT_EQ(msg.vtec_product_class(), "O");
  EXPECT_EQ(msg.event_name(), "Tornado Warning");
  EXPECT_EQ(msg.event_tracking_number(), 42u);
  EXPECT_EQ(msg.tier(), emwin::bus::v1::PRIORITY_TIER_WARNING);
  EXPECT_EQ(msg.ugc_size(), 2);
  EXPECT_EQ(msg.ugc(1), "IAC169");
  ASSERT_EQ(msg.polygon_size(), 4);  // 3 points + closing point
  EXPECT_DOUBLE_EQ(msg.polygon(0).lat_deg(), 41.23);
  EXPECT_DOUBLE_EQ(msg.polygon(0).lon_deg(), -93.45);
  EXPECT_DOUBLE_EQ(msg.polygon(3).lon_deg(), -93.45);
  EXPECT_EQ(msg.begin_unix_s(), 1716441660);  // 2024-05-23T05:21:00Z
  EXPECT_EQ(msg.expires_unix_s(), 1716444000);  // 2024-05-23T06:00:00Z
  EXPECT_EQ(msg.product_code(), "TOR");
  EXPECT_FALSE(msg.is_cancellation());
}

}  // namespace
}  // namespace emwin::products

namespace emwin::products {
namespace {

TEST(ProductReference, OutOfRangeReferenceIsIgnoredWithAnIssue) {
  const std::string noVtec = "WWUS84 KBMX 292152\nSPSBMX\nALZ039-292215-\n$$\n";
  for (std::int64_t ref : {std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()}) {
    const ParsedProduct p = parseProduct(noVtec, ref);
    EXPECT_EQ(p.issued_unix_s, 0);
    EXPECT_NE(std::find(p.issues.begin(), p.issues.end(), "reference time out of range, ignored"), p.issues.end());
  }
}

}  // namespace
}  // namespace emwin::products
