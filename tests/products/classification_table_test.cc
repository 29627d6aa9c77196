// Hand-checked classification of real products. Every expectation below was
// read off the product text itself (VTEC line, UGC line, LAT...LON pairs,
// emergency wording), not copied from the parser's output.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "products/classify.h"
#include "products/product.h"
#include "test_util.h"

namespace emwin::products {
namespace {

constexpr const char* kTE = "TORNADO EMERGENCY";
constexpr const char* kFFE = "FLASH FLOOD EMERGENCY";
constexpr const char* kPDS = "PARTICULARLY DANGEROUS SITUATION";

struct Row {
  const char* file;
  std::size_t alert;  // index in classify() output (segment order, then VTEC order)
  const char* phenomenon;
  const char* significance;
  const char* action;
  const char* office;
  std::uint32_t etn;
  const char* begin;  // ISO-8601, "" when open
  const char* end;
  const char* tier;
  std::vector<std::string> tags;
  std::size_t ring;  // closed polygon ring size (points written, +1 when the text does not repeat the first)
  std::size_t ugc;
};

std::string iso(std::int64_t t) { return t == 0 ? std::string() : isoUtc(t); }

std::ostream& operator<<(std::ostream& os, const Row& r) { return os << r.file << "#" << r.alert; }

class ClassificationTable : public ::testing::TestWithParam<Row> {};

TEST_P(ClassificationTable, MatchesHandCheckedExpectation) {
  const Row& r = GetParam();
  const ParsedProduct p = parseProduct(testing::readFile(testing::productsDir() / r.file), 0);
  const auto alerts = classify(p);
  ASSERT_LT(r.alert, alerts.size());
  const Classified& c = alerts[r.alert];
  EXPECT_EQ(c.phenomenon, r.phenomenon);
  EXPECT_EQ(c.significance, r.significance);
  EXPECT_EQ(c.action, r.action);
  EXPECT_EQ(c.office, r.office);
  EXPECT_EQ(c.event_number, r.etn);
  EXPECT_EQ(iso(c.begin_unix_s), r.begin);
  EXPECT_EQ(iso(c.end_unix_s), r.end);
  EXPECT_EQ(tierName(c.tier), r.tier);
  EXPECT_EQ(c.emergency_tags, r.tags);
  EXPECT_EQ(c.is_cancellation, std::string(r.action) == "CAN");
  EXPECT_EQ(c.is_expiration, std::string(r.action) == "EXP");
  ASSERT_LT(c.segment_index, p.segments.size());
  const Segment& s = p.segments[c.segment_index];
  EXPECT_EQ(s.polygon.size(), r.ring);
  if (!s.polygon.empty()) {
    EXPECT_EQ(s.polygon.front().lat_deg, s.polygon.back().lat_deg);
    EXPECT_EQ(s.polygon.front().lon_deg, s.polygon.back().lon_deg);
  }
  EXPECT_EQ(s.ugc.size(), r.ugc);
  const std::string sigTopic = std::string(r.significance);
  EXPECT_EQ(c.topic, "alert." + std::string(r.phenomenon) + "." + sigTopic + "." + r.office);
}

const Row kRows[] = {
    {"tornado_warning/TOR.txt", 0, "TO", "W", "NEW", "KJAN", 130, "2005-08-29T16:51:00Z", "2005-08-29T18:15:00Z", "warning", {}, 5, 3},
    {"tornado_warning/TORBOU_ibw.txt", 0, "TO", "W", "NEW", "KBOU", 43, "2014-06-06T20:50:00Z", "2014-06-06T21:15:00Z", "warning", {}, 5, 1},
    {"tornado_warning/TORFSD.txt", 0, "TO", "W", "NEW", "KFSD", 20, "2013-10-05T00:22:00Z", "2013-10-05T01:00:00Z", "emergency", {kPDS}, 8, 1},
    {"tornado_warning/TOROAX-0.txt", 0, "TO", "W", "NEW", "KOAX", 38, "2024-04-26T21:59:00Z", "2024-04-26T23:00:00Z", "warning", {}, 5, 2},
    {"tornado_warning/TORtag.txt", 0, "TO", "W", "NEW", "KDMX", 57, "2011-08-07T04:36:00Z", "2011-08-07T05:15:00Z", "warning", {}, 5, 3},
    {"tornado_warning/TOR_emergency.txt", 0, "TO", "W", "NEW", "KICT", 35, "2012-04-15T03:27:00Z", "2012-04-15T04:00:00Z", "emergency", {kTE, kPDS}, 5, 2},
    {"tornado_warning/TOROAX-2.txt", 0, "TO", "W", "COR", "KOAX", 38, "", "2024-04-26T23:00:00Z", "emergency", {kTE, kPDS}, 5, 1},
    {"tornado_emergency_statement/TORE-SVS_E.txt", 0, "TO", "W", "CAN", "KDMX", 43, "", "2018-07-19T21:45:00Z", "warning", {}, 5, 1},
    {"tornado_emergency_statement/TORE-SVS_E.txt", 1, "TO", "W", "CON", "KDMX", 43, "", "2018-07-19T21:45:00Z", "emergency", {kTE}, 5, 1},
    {"tornado_emergency_statement/TORE-TORHGX_false_positive.txt", 0, "TO", "W", "NEW", "KHGX", 44, "2019-09-19T11:41:00Z", "2019-09-19T12:15:00Z", "warning", {}, 6, 1},
    {"severe_thunderstorm_warning/SVRBMX.txt", 0, "SV", "W", "NEW", "KBMX", 148, "2012-05-31T23:11:00Z", "2012-06-01T00:00:00Z", "warning", {}, 19, 1},
    {"severe_thunderstorm_warning/SVROUN.txt", 0, "SV", "W", "NEW", "KOUN", 263, "2015-05-07T05:21:00Z", "2015-05-07T06:00:00Z", "warning", {}, 6, 4},
    {"severe_thunderstorm_warning/SVR-SVRPSR.txt", 0, "SV", "W", "NEW", "KPSR", 43, "2020-09-09T00:29:00Z", "2020-09-09T01:00:00Z", "warning", {}, 5, 2},
    {"severe_weather_statement/SVSMOB.txt", 0, "SV", "W", "CAN", "KMOB", 241, "", "2012-12-26T05:15:00Z", "warning", {}, 16, 1},
    {"severe_weather_statement/SVSMOB.txt", 1, "SV", "W", "CON", "KMOB", 241, "", "2012-12-26T05:15:00Z", "warning", {}, 16, 2},
    {"severe_weather_statement/SVS.txt", 0, "SV", "W", "CAN", "KDMX", 143, "", "2014-06-04T03:45:00Z", "warning", {}, 5, 1},
    {"flash_flood_warning/FFW-FFW_tags.txt", 0, "FF", "W", "NEW", "PGUM", 14, "2018-10-24T20:23:00Z", "2018-10-25T00:15:00Z", "warning", {}, 17, 3},
    {"flash_flood_warning/FFWTWC_tilde.txt", 0, "FF", "W", "NEW", "KTWC", 67, "2017-08-23T23:34:00Z", "2017-08-24T01:30:00Z", "warning", {}, 5, 1},
    {"flash_flood_warning/FFWOKX-1.txt", 0, "FF", "W", "NEW", "KOKX", 9, "2023-07-09T16:11:00Z", "2023-07-09T19:15:00Z", "warning", {}, 18, 3},
    // Body text "a Flash Flood Emergency remains in effect" (for part of the area) with
    // FLASH FLOOD DAMAGE THREAT...CONSIDERABLE: the tag contradicts an emergency for this
    // product (NWS 10-922 requires CATASTROPHIC), so it stays a warning (issue 15).
    {"flash_flood_warning/FFWOKX-4.txt", 0, "FF", "W", "EXT", "KOKX", 9, "", "2023-07-09T23:15:00Z", "warning", {kFFE}, 18, 3},
    {"flash_flood_warning/FFW-FFWFFC_1.txt", 0, "FF", "W", "EXT", "KFFC", 32, "", "2022-09-04T17:00:00Z", "emergency", {kFFE, kPDS}, 8, 1},
    {"flood_warning/FLWBOI.txt", 0, "FL", "W", "NEW", "KBOI", 21, "2017-04-02T03:38:00Z", "", "warning", {}, 6, 2},
    {"flood_warning/FLWMKX_ROU.txt", 0, "HY", "S", "ROU", "KMKX", 0, "", "", "statement", {}, 0, 1},
    {"flood_warning/FLW_badugc.txt", 0, "FA", "W", "NEW", "KILM", 1, "2013-04-12T12:29:00Z", "2013-04-12T15:30:00Z", "warning", {}, 10, 2},
    {"flood_statement/FLSDMX.txt", 0, "FL", "W", "NEW", "KDMX", 2, "2013-04-18T08:19:00Z", "2013-04-21T11:12:00Z", "warning", {}, 6, 1},
    {"flood_statement/FLSDMX.txt", 1, "FL", "W", "NEW", "KDMX", 3, "2013-04-18T14:00:00Z", "2013-04-20T03:00:00Z", "warning", {}, 5, 2},
    {"flood_statement/FLS-FLSSEW_vtec1970.txt", 0, "FL", "W", "EXT", "KSEW", 5, "", "2020-01-08T12:30:00Z", "warning", {}, 7, 1},
    {"flood_watch/FFA.txt", 0, "FL", "A", "NEW", "KIWX", 1, "2007-01-15T16:14:00Z", "", "watch", {}, 0, 2},
    {"flood_watch/FFAEKA-0.txt", 3, "FL", "A", "NEW", "KEKA", 4, "2014-12-12T02:00:00Z", "", "watch", {}, 0, 1},
    {"winter_weather_message/WSW-WSWDLH.txt", 0, "WW", "Y", "NEW", "KDLH", 17, "2024-04-29T06:00:00Z", "2024-04-29T18:00:00Z", "advisory", {}, 0, 2},
    {"winter_weather_message/WSWDMX-WSW_00.txt", 0, "WS", "A", "UPG", "KDMX", 1, "2013-01-27T12:00:00Z", "2013-01-28T03:00:00Z", "watch", {}, 0, 11},
    {"winter_weather_message/WSWDMX-WSW_00.txt", 1, "WS", "W", "NEW", "KDMX", 1, "2013-01-27T12:00:00Z", "2013-01-28T06:00:00Z", "warning", {}, 0, 11},
    {"winter_weather_message/WSWDMX-WSW_00.txt", 3, "ZR", "Y", "EXB", "KDMX", 1, "2013-01-27T09:00:00Z", "2013-01-27T21:00:00Z", "advisory", {}, 0, 2},
    {"winter_weather_message/WSWDMX-WSW_00.txt", 6, "ZR", "Y", "EXT", "KDMX", 1, "2013-01-27T09:00:00Z", "2013-01-27T21:00:00Z", "advisory", {}, 0, 28},
    {"marine_weather_message/MWWAJK.txt", 0, "SC", "Y", "EXT", "PAJK", 81, "2026-03-02T15:00:00Z", "2026-03-03T15:00:00Z", "advisory", {}, 0, 1},
    {"marine_weather_message/MWWAJK.txt", 1, "SC", "Y", "CAN", "PAJK", 80, "2026-03-03T03:00:00Z", "2026-03-03T15:00:00Z", "advisory", {}, 0, 1},
    {"marine_weather_message/MWWAJK.txt", 4, "UP", "W", "CON", "PAJK", 6, "", "2026-03-02T21:00:00Z", "warning", {}, 0, 1},
    {"marine_weather_message/MWWAJK.txt", 7, "GL", "W", "CON", "PAJK", 51, "2026-03-03T09:00:00Z", "2026-03-03T15:00:00Z", "warning", {}, 0, 3},
    {"marine_weather_message/MWWLWX_twovtec.txt", 1, "SC", "Y", "CON", "KLWX", 90, "2017-05-03T10:00:00Z", "2017-05-03T22:00:00Z", "advisory", {}, 0, 7},
    {"non_precipitation_warning/NPW-NPWDMX.txt", 0, "HT", "Y", "CON", "KDMX", 1, "", "2022-06-15T00:00:00Z", "advisory", {}, 0, 46},
    {"non_precipitation_warning/NPW-NPWDMX.txt", 1, "HT", "Y", "CON", "KDMX", 1, "2022-06-14T16:00:00Z", "2022-06-15T00:00:00Z", "advisory", {}, 0, 5},
    {"red_flag_warning/RFWSEW.txt", 0, "FW", "A", "UPG", "KSEW", 4, "2025-09-03T19:00:00Z", "2025-09-04T04:00:00Z", "watch", {}, 0, 2},
    {"red_flag_warning/RFWSEW.txt", 1, "FW", "W", "NEW", "KSEW", 4, "2025-09-03T19:00:00Z", "2025-09-04T04:00:00Z", "warning", {}, 0, 2},
    {"snow_squall_warning/SQW-SQWBTV.txt", 0, "SQ", "W", "NEW", "KBTV", 16, "2022-02-27T22:44:00Z", "2022-02-27T23:30:00Z", "warning", {}, 19, 2},
    {"special_marine_warning/SMWLWX.txt", 0, "MA", "W", "NEW", "KLWX", 35, "2016-05-13T19:51:00Z", "2016-05-13T21:15:00Z", "warning", {}, 19, 1},
    {"watch_county_notification/WCN-WCNMEG.txt", 0, "SV", "A", "EXA", "KMEG", 240, "", "2014-06-07T00:00:00Z", "watch", {}, 0, 12},
    {"watch_county_notification/WCN-WCNMEG.txt", 1, "SV", "A", "CON", "KMEG", 240, "", "2014-06-07T00:00:00Z", "watch", {}, 0, 41},
    {"vtec_regression/vtec-TORFWD_1.txt", 0, "TO", "W", "CAN", "KFWD", 6, "", "2018-01-22T02:45:00Z", "warning", {}, 4, 1},
    {"vtec_regression/vtec-WSWLWX_1.txt", 0, "WW", "Y", "EXP", "KLWX", 6, "", "2018-02-02T09:00:00Z", "advisory", {}, 0, 2},
    {"vtec_regression/vtec-crosses_0.txt", 0, "WI", "Y", "NEW", "KDMX", 9999, "2017-12-31T16:00:00Z", "2018-01-01T23:00:00Z", "advisory", {}, 0, 22},
    {"vtec_regression/vtec-multiple.txt", 0, "HW", "A", "UPG", "KLKN", 1, "2019-04-09T18:00:00Z", "2019-04-10T12:00:00Z", "watch", {}, 0, 1},
    {"vtec_regression/vtec-multiple.txt", 3, "HW", "W", "NEW", "KLKN", 2, "2019-04-10T00:00:00Z", "2019-04-10T06:00:00Z", "warning", {}, 0, 1},
    {"vtec_regression/vtec-multiple.txt", 11, "WI", "Y", "NEW", "KLKN", 8, "2019-04-10T00:00:00Z", "2019-04-11T06:00:00Z", "advisory", {}, 0, 5},
    {"vtec_regression/vtec-NPWDMX_1.txt", 0, "WI", "Y", "NEW", "KDMX", 8, "2017-11-21T12:00:00Z", "2017-11-21T19:00:00Z", "advisory", {}, 0, 6},
    // Without VTEC: phenomenon = product code, S = statement, R = routine, office = WMO CCCC.
    {"special_weather_statement/SPS-SPSBMX_IBW1.txt", 0, "SPS", "S", "", "KBMX", 0, "", "", "statement", {}, 18, 2},
    {"special_weather_statement/SPS-SPSJAX.txt", 0, "SPS", "S", "", "KJAX", 0, "", "", "statement", {}, 6, 5},
    {"airport_weather_warning/AWW-AWWBZN.txt", 0, "AWW", "S", "", "KTFX", 0, "", "", "statement", {}, 5, 1},
    {"tabular_state_forecast/SFTPIHID.TXT", 0, "SFT", "R", "", "KPIH", 0, "", "", "routine", {}, 0, 0},
};

INSTANTIATE_TEST_SUITE_P(HandChecked, ClassificationTable, ::testing::ValuesIn(kRows));

ParsedProduct load(const char* file, std::int64_t ref = 0) {
  return parseProduct(testing::readFile(testing::productsDir() / file), ref);
}

TEST(ClassificationDetails, HeadingAwipsAndNames) {
  const ParsedProduct p = load("tornado_warning/TOROAX-2.txt");
  EXPECT_EQ(p.wmo.ttaaii, "WWUS53");
  EXPECT_EQ(p.wmo.cccc, "KOAX");
  EXPECT_EQ(p.wmo.ddhhmm, "262243");
  EXPECT_EQ(p.wmo.bbb, "CCA");
  EXPECT_EQ(p.awips_id, "SVSOAX");
  EXPECT_EQ(p.product_code, "SVS");
  EXPECT_EQ(p.awips_office, "OAX");
  EXPECT_EQ(p.product_name, "Severe Weather Statement");
  EXPECT_EQ(isoUtc(p.issued_unix_s), "2024-04-26T22:43:00Z");  // month/year from the VTEC end time
  const auto a = classify(p);
  EXPECT_EQ(a[0].event_name, "Tornado Warning");
  EXPECT_EQ(a[0].phenomenon_name, "Tornado");
  EXPECT_EQ(a[0].significance_name, "Warning");
  EXPECT_EQ(a[0].topic, "alert.TO.W.KOAX");
}

TEST(ClassificationDetails, EventNamesFromTheTable) {
  EXPECT_EQ(classify(load("red_flag_warning/RFWSEW.txt"))[1].event_name, "Red Flag Warning");
  EXPECT_EQ(classify(load("red_flag_warning/RFWSEW.txt"))[0].event_name, "Fire Weather Watch");
  EXPECT_EQ(classify(load("special_marine_warning/SMWLWX.txt"))[0].event_name, "Special Marine Warning");
  EXPECT_EQ(classify(load("flood_warning/FLW_badugc.txt"))[0].event_name, "Flood Warning");
  EXPECT_EQ(classify(load("marine_weather_message/MWWAJK.txt"))[0].event_name, "Small Craft Advisory");
  EXPECT_EQ(classify(load("marine_weather_message/MWWAJK.txt"))[3].event_name, "Gale Warning");
  EXPECT_EQ(classify(load("snow_squall_warning/SQW-SQWBTV.txt"))[0].event_name, "Snow Squall Warning");
  EXPECT_EQ(classify(load("winter_weather_message/WSWDMX-WSW_00.txt"))[0].event_name, "Winter Storm Watch");
}

TEST(ClassificationDetails, ThreatTagsMotionAndPolygonCoordinates) {
  const ParsedProduct p = load("tornado_warning/TOR_emergency.txt");
  const Segment& s = p.segments.at(0);
  EXPECT_EQ(s.threats.tornado, "OBSERVED");
  EXPECT_EQ(s.threats.tornado_damage_threat, "CATASTROPHIC");
  EXPECT_EQ(s.threats.hail, "2.50IN");
  // LAT...LON 3791 9728 ...
  EXPECT_DOUBLE_EQ(s.polygon.at(0).lat_deg, 37.91);
  EXPECT_DOUBLE_EQ(s.polygon.at(0).lon_deg, -97.28);
  // TIME...MOT...LOC 0326Z 230DEG 45KT 3763 9725
  ASSERT_TRUE(s.motion.present);
  EXPECT_EQ(s.motion.direction_deg, 230u);
  EXPECT_EQ(s.motion.speed_kt, 45u);
  EXPECT_EQ(isoUtc(s.motion.time_unix_s), "2012-04-15T03:26:00Z");
  ASSERT_EQ(s.motion.locations.size(), 1u);
  EXPECT_DOUBLE_EQ(s.motion.locations[0].lon_deg, -97.25);
  // UGC KSC015-173-150400-
  EXPECT_EQ(s.ugc, (std::vector<std::string>{"KSC015", "KSC173"}));
  EXPECT_EQ(isoUtc(s.expires_unix_s), "2012-04-15T04:00:00Z");

  const ParsedProduct svrProduct = load("severe_thunderstorm_warning/SVROUN.txt");
  const Segment& svr = svrProduct.segments.at(0);
  EXPECT_EQ(svr.threats.hail, "2.50IN");
  EXPECT_EQ(svr.threats.wind, "60MPH");
  const ParsedProduct ffwProduct = load("flash_flood_warning/FFW-FFW_tags.txt");
  const Segment& ffw = ffwProduct.segments.at(0);
  EXPECT_EQ(ffw.threats.flash_flood, "OBSERVED");
  EXPECT_EQ(ffw.threats.flash_flood_damage_threat, "CATASTROPHIC");
  EXPECT_DOUBLE_EQ(ffw.polygon.at(0).lon_deg, 145.80);  // Guam: east longitudes
  const ParsedProduct spsProduct = load("special_weather_statement/SPS-SPSBMX_IBW1.txt");
  const Segment& sps = spsProduct.segments.at(0);
  EXPECT_EQ(sps.threats.hail, "0.88 IN");
  EXPECT_EQ(sps.threats.wind, "40 MPH");
  // Storm motion continued on a second line (SVSMOB: 4 location pairs).
  EXPECT_EQ(load("severe_weather_statement/SVSMOB.txt").segments.at(0).motion.locations.size(), 4u);
}

TEST(ClassificationDetails, HvtecAndHeadline) {
  const ParsedProduct p = load("flood_statement/FLS-FLSSEW_vtec1970.txt");
  const auto a = classify(p);
  const Segment& s = p.segments.at(a[0].segment_index);
  ASSERT_EQ(s.hvtec.size(), 1u);
  EXPECT_EQ(s.hvtec[0].nwsli, "SQUW1");
  EXPECT_EQ(s.hvtec[0].severity, "1");
  EXPECT_EQ(s.hvtec[0].immediate_cause, "ER");
  EXPECT_EQ(isoUtc(s.hvtec[0].crest_unix_s), "2020-01-07T15:00:00Z");
  EXPECT_EQ(s.hvtec[0].flood_record, "NO");
  EXPECT_EQ(s.headline, "Flood Warning extended until late tonight");
  EXPECT_EQ(load("tornado_warning/TOROAX-2.txt").segments.at(0).headline, "TORNADO EMERGENCY FOR MINDEN");
}

TEST(ClassificationDetails, RoutineProductsTakeTheCheapPath) {
  const ParsedProduct p = load("regional_weather_roundup/RWRMTMT.TXT");
  EXPECT_EQ(p.product_code, "RWR");
  EXPECT_TRUE(p.routine_fast_path);
  const auto a = classify(p);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].tier, Tier::kRoutine);
  EXPECT_EQ(a[0].topic, "alert.RWR.R.KTFX");
  const ParsedProduct opu = load("gateway_observations/OPUCHSSC.TXT");
  EXPECT_TRUE(opu.routine_fast_path);
  // "TEST...KCHS/KSAV Gateway Observations...TEST": a test message (issue 15).
  EXPECT_EQ(classify(opu)[0].topic, "test.alert.OPU.R.KCHS");
}

TEST(ClassificationDetails, IssueTimeFromReferenceWithoutVtec) {
  // SPSBMX_IBW1 heading "WWUS84 KBMX 292152", text says MAY 29 2018.
  const std::int64_t ref = 1527638400;  // 2018-05-30T00:00:00Z
  const ParsedProduct p = load("special_weather_statement/SPS-SPSBMX_IBW1.txt", ref);
  EXPECT_EQ(isoUtc(p.issued_unix_s), "2018-05-29T21:52:00Z");
  EXPECT_EQ(isoUtc(p.segments.at(0).expires_unix_s), "2018-05-29T22:15:00Z");  // ALZ039-041-292215-
  const ParsedProduct noRef = load("special_weather_statement/SPS-SPSBMX_IBW1.txt", 0);
  EXPECT_EQ(noRef.issued_unix_s, 0);
  EXPECT_FALSE(noRef.issues.empty());
}

}  // namespace
}  // namespace emwin::products
