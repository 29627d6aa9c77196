// What alerts *mean* (issue 15): test messages never go live, civil
// emergencies and warnings without VTEC are warnings, SPC/WPC polygons are
// restored, every segment's zones are carried, names come from the reference
// tables, the new tags and H-VTEC are parsed, emergencies are confirmed by
// their damage-threat tags. Real corpus products where the corpus has the
// case; otherwise the faithful synthetic products of synthetic_products.h.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "emwin/bus/v1/alert.pb.h"
#include "products/classify.h"
#include "products/product.h"
#include "synthetic_products.h"
#include "test_util.h"

namespace emwin::products {
namespace {

namespace v1 = emwin::bus::v1;

constexpr std::int64_t kMay2024 = 1716300000;  // 2024-05-21T14:00:00Z, reference for products without VTEC
constexpr std::int64_t kJan2025 = 1736899200;  // 2025-01-15T00:00:00Z
constexpr std::int64_t kJul2024 = 1719792000;  // 2024-07-01T00:00:00Z

ParsedProduct load(const char* file, std::int64_t ref = 0) {
  return parseProduct(testing::readFile(testing::productsDir() / file), ref);
}

v1::Alert protoOf(const Classified& c, const ParsedProduct& p) {
  v1::Alert a;
  toProto(c, p, a);
  return a;
}

// --- 1. Test messages -------------------------------------------------------

TEST(TestMessages, TestTornadoWarningFromTheCorpusIsNeverLive) {
  // TORILX: /T.NEW.KILX.TO.W.0001.../ and "TEST...TORNADO WARNING...TEST".
  const ParsedProduct p = load("tornado_warning/TORILX.txt");
  const auto alerts = classify(p);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_TRUE(alerts[0].is_test);
  EXPECT_EQ(alerts[0].test_reason, "VTEC class T");
  EXPECT_EQ(alerts[0].tier, Tier::kTest);
  EXPECT_EQ(alerts[0].topic, "test.alert.TO.W.KILX");
  const v1::Alert a = protoOf(alerts[0], p);
  EXPECT_TRUE(a.is_test());
  EXPECT_EQ(a.tier(), v1::PRIORITY_TIER_TEST);
  EXPECT_GT(a.tier(), v1::PRIORITY_TIER_ROUTINE);  // no "tier <= X" filter passes it
  EXPECT_EQ(p.test_reason, "TEST banner");         // the banner alone would have made it a test too
}

TEST(TestMessages, TestBannerOnAProductWithoutVtec) {
  // OPUCHSSC: "TEST...KCHS/KSAV Gateway Observations...TEST".
  const ParsedProduct p = load("gateway_observations/OPUCHSSC.TXT");
  EXPECT_EQ(p.test_reason, "TEST banner");
  const auto alerts = classify(p);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].topic, "test.alert.OPU.R.KCHS");
  EXPECT_EQ(alerts[0].tier, Tier::kTest);
}

TEST(TestMessages, TestTsunamiWarningIsNotATsunamiWarning) {
  // The issue's example: /T.NEW.PAAQ.TS.W.0016 was published as alert.TS.W.PAAQ, tier warning.
  const ParsedProduct p = parseProduct(testing::kTestTsunamiWarning, 0);
  const auto alerts = classify(p);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].phenomenon, "TS");
  EXPECT_EQ(alerts[0].topic, "test.alert.TS.W.PAAQ");
  EXPECT_EQ(alerts[0].tier, Tier::kTest);
  EXPECT_EQ(alerts[0].test_reason, "VTEC class T");
}

TEST(TestMessages, RequiredWeeklyTestIsATestByItsCode) {
  const ParsedProduct p = parseProduct(testing::kRequiredWeeklyTest, kJul2024);
  EXPECT_EQ(p.test_reason, "test product RWT");
  const auto alerts = classify(p);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].topic, "test.alert.RWT.R.KDMX");
  EXPECT_TRUE(alerts[0].is_test);
}

TEST(TestMessages, ExactlyTheTwoTestProductsOfTheCorpusAreTestsAndNoTestIsLive) {
  std::set<std::string> tests;
  for (const auto& f : testing::corpusFiles()) {
    const ParsedProduct p = parseProduct(testing::readFile(f), 0);
    for (const Classified& c : classify(p)) {
      const bool testTopic = c.topic.starts_with("test.alert.");
      EXPECT_EQ(c.is_test, testTopic) << f;
      EXPECT_EQ(c.is_test, c.tier == Tier::kTest) << f;
      EXPECT_TRUE(testTopic || c.topic.starts_with("alert.")) << c.topic;
      if (c.is_test) tests.insert(f.filename().string());
    }
  }
  EXPECT_EQ(tests, (std::set<std::string>{"TORILX.txt", "OPUCHSSC.TXT"}));
}

// --- 2. Civil emergencies, 3. warnings without VTEC -------------------------

struct CivilCase {
  const char* code;
  const char* title;
  const char* topic;
  Tier tier;
  const char* event_name;
};

TEST(WarningsWithoutVtec, CivilEmergencyMessagesAreWarnings) {
  const CivilCase cases[] = {
      {"EVI", "EVACUATION IMMEDIATE", "alert.EVI.W.KHGX", Tier::kWarning, "Evacuation Immediate"},
      {"SPW", "SHELTER IN PLACE WARNING", "alert.SPW.W.KHGX", Tier::kWarning, "Shelter in Place Warning"},
      {"LAE", "LOCAL AREA EMERGENCY", "alert.LAE.W.KHGX", Tier::kWarning, "Local Area Emergency"},
      {"TOE", "911 TELEPHONE OUTAGE EMERGENCY", "alert.TOE.W.KHGX", Tier::kWarning, "911 Telephone Outage Emergency"},
      {"CEM", "CIVIL EMERGENCY MESSAGE", "alert.CEM.W.KHGX", Tier::kWarning, "Civil Emergency Message"},
      {"CAE", "CHILD ABDUCTION EMERGENCY", "alert.CAE.W.KHGX", Tier::kWarning, "Child Abduction Emergency"},
      {"CDW", "CIVIL DANGER WARNING", "alert.CDW.W.KHGX", Tier::kWarning, "Civil Danger Warning"},
      {"LEW", "LAW ENFORCEMENT WARNING", "alert.LEW.W.KHGX", Tier::kWarning, "Law Enforcement Warning"},
      {"NUW", "NUCLEAR POWER PLANT WARNING", "alert.NUW.W.KHGX", Tier::kWarning, "Nuclear Power Plant Warning"},
      {"RHW", "RADIOLOGICAL HAZARD WARNING", "alert.RHW.W.KHGX", Tier::kWarning, "Radiological Hazard Warning"},
      {"HMW", "HAZARDOUS MATERIALS WARNING", "alert.HMW.W.KHGX", Tier::kWarning, "Hazardous Materials Warning"},
      {"FRW", "FIRE WARNING", "alert.FRW.W.KHGX", Tier::kWarning, "Fire Warning"},
      {"AVW", "AVALANCHE WARNING", "alert.AVW.W.KHGX", Tier::kWarning, "Avalanche Warning"},
      {"AVA", "AVALANCHE WATCH", "alert.AVA.A.KHGX", Tier::kWatch, "Avalanche Watch"},
      {"EQW", "EARTHQUAKE WARNING", "alert.EQW.W.KHGX", Tier::kWarning, "Earthquake Warning"},
      {"VOW", "VOLCANO WARNING", "alert.VOW.W.KHGX", Tier::kWarning, "Volcano Warning"},
  };
  for (const CivilCase& c : cases) {
    const ParsedProduct p = parseProduct(testing::civilEmergency(c.code, c.title), kMay2024);
    EXPECT_TRUE(p.issues.empty()) << c.code << ": " << ::testing::PrintToString(p.issues);
    const auto alerts = classify(p);
    ASSERT_EQ(alerts.size(), 1u) << c.code;
    EXPECT_EQ(alerts[0].topic, c.topic) << c.code;
    EXPECT_EQ(alerts[0].tier, c.tier) << c.code;
    EXPECT_EQ(alerts[0].event_name, c.event_name) << c.code;
    EXPECT_EQ(isoUtc(alerts[0].expires_unix_s), "2024-05-21T14:00:00Z") << c.code;
    EXPECT_FALSE(alerts[0].is_test) << c.code;
  }
}

TEST(WarningsWithoutVtec, PagoPagoFlashFloodWarningReachesFlashFloodWarningSubscribers) {
  const ParsedProduct p = parseProduct(testing::kPagoPagoFlashFloodWarning, kJan2025);
  const auto alerts = classify(p);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].topic, "alert.FF.W.NSTU");
  EXPECT_TRUE(alerts[0].topic.starts_with("alert.FF.W."));
  EXPECT_EQ(alerts[0].tier, Tier::kWarning);
  EXPECT_EQ(alerts[0].event_name, "Flash Flood Warning");
  EXPECT_EQ(alerts[0].action, "");
  const v1::Alert a = protoOf(alerts[0], p);
  ASSERT_EQ(a.ugc_areas_size(), 3);
  EXPECT_EQ(a.ugc_areas(0).name(), "Tutuila and Aunuu");
}

TEST(WarningsWithoutVtec, StatementsStayStatements) {
  // Real SPS without VTEC: unchanged.
  const auto alerts = classify(load("special_weather_statement/SPS-SPSJAX.txt"));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].topic, "alert.SPS.S.KJAX");
  EXPECT_EQ(alerts[0].tier, Tier::kStatement);
}

// --- 4. SPC/WPC polygons ----------------------------------------------------

TEST(SpcPolygons, EightDigitPairsWestOf100AreRestored) {
  const ParsedProduct p = parseProduct(testing::kSpcMesoscaleDiscussion, kJul2024);
  ASSERT_EQ(p.segments.size(), 1u);
  const auto& poly = p.segments[0].polygon;
  ASSERT_EQ(poly.size(), 6u);  // written closed: 42970252 ... 42970252
  EXPECT_DOUBLE_EQ(poly[0].lat_deg, 42.97);
  EXPECT_DOUBLE_EQ(poly[0].lon_deg, -102.52);  // not -2.52
  EXPECT_DOUBLE_EQ(poly[1].lon_deg, -101.09);
  EXPECT_DOUBLE_EQ(poly[2].lon_deg, -100.56);
  EXPECT_DOUBLE_EQ(poly[3].lon_deg, -101.14);
  for (const auto& issue : p.issues) EXPECT_EQ(issue.find("run-together"), std::string::npos) << issue;
  // SAW: 43070364 = 43.07N 103.64W, 44320013 = 44.32N 100.13W; unclosed, closed by the parser.
  const ParsedProduct saw = parseProduct(testing::kSpcAviationWatch, kJul2024);
  ASSERT_EQ(saw.product_code, "SAW");
  const auto& ring = saw.segments.at(0).polygon;
  ASSERT_EQ(ring.size(), 5u);
  EXPECT_DOUBLE_EQ(ring[0].lon_deg, -103.64);
  EXPECT_DOUBLE_EQ(ring[1].lon_deg, -101.71);
  EXPECT_DOUBLE_EQ(ring[2].lon_deg, -100.13);
  EXPECT_DOUBLE_EQ(ring[3].lon_deg, -102.08);
  EXPECT_DOUBLE_EQ(ring[4].lon_deg, -103.64);
}

TEST(SpcPolygons, FusedPairsInWfoProductsAreSplitNotShifted) {
  // A WFO pair run together east of 100W keeps its longitude; the issue is recorded.
  const std::string text =
      "WFUS53 KDMX 230521\nTORDMX\nIAC015-169-230600-\n/O.NEW.KDMX.TO.W.0042.240523T0521Z-240523T0600Z/\n\n"
      "LAT...LON 4123 9345 41309340 4120 9330\n$$\n";
  const ParsedProduct p = parseProduct(text, 0);
  const auto& poly = p.segments.at(0).polygon;
  ASSERT_EQ(poly.size(), 4u);
  EXPECT_DOUBLE_EQ(poly[1].lat_deg, 41.30);
  EXPECT_DOUBLE_EQ(poly[1].lon_deg, -93.40);
  bool noted = false;
  for (const auto& issue : p.issues) noted = noted || issue.find("run-together pair '41309340'") != std::string::npos;
  EXPECT_TRUE(noted);
  // Guam (east longitudes) is never shifted.
  const std::string guam =
      "WGPQ81 PGUM 240000\nFFWGUM\nGUZ001-240300-\n/O.NEW.PGUM.FF.W.0001.240524T0000Z-240524T0300Z/\n\n"
      "LAT...LON 13451448 13501449 13401450\n$$\n";
  const ParsedProduct g = parseProduct(guam, 0);
  ASSERT_EQ(g.segments.at(0).polygon.size(), 4u);
  EXPECT_DOUBLE_EQ(g.segments[0].polygon[0].lon_deg, 14.48);
}

TEST(SpcPolygons, EveryCorpusPolygonLiesInItsOfficesHemisphere) {
  // No WFO polygon of the corpus is shifted: every longitude stays west of
  // 60W (east of 130E for Guam), i.e. none lands in the Atlantic. SVRLMK's
  // own LAT...LON line is garbage ("1848 5524 ... 8858 1543"): left out.
  std::size_t polygons = 0;
  for (const auto& f : testing::corpusFiles()) {
    if (f.filename() == "SVRLMK.txt") continue;
    const ParsedProduct p = parseProduct(testing::readFile(f), 0);
    for (const auto& s : p.segments) {
      if (!s.polygon.empty()) ++polygons;
      for (const auto& pt : s.polygon) {
        if (p.wmo.cccc == "PGUM") {
          EXPECT_GT(pt.lon_deg, 130.0) << f;
        } else {
          EXPECT_LT(pt.lon_deg, -60.0) << f;
        }
      }
    }
  }
  EXPECT_GT(polygons, 100u);
}

// --- 5. Every segment's UGC -------------------------------------------------

TEST(MultiSegment, ProductWithoutVtecCarriesEverySegmentsZones) {
  const ParsedProduct p = parseProduct(testing::kHazardousWeatherOutlook, kJul2024);
  ASSERT_EQ(p.segments.size(), 3u);
  const auto alerts = classify(p);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].topic, "alert.HWO.R.KDMX");
  EXPECT_EQ(isoUtc(alerts[0].expires_unix_s), "2024-07-01T13:00:00Z");  // the latest segment's
  const v1::Alert a = protoOf(alerts[0], p);
  // IAZ004>007, IAZ023-024, IAZ048 + IAC169.
  ASSERT_EQ(a.ugc_size(), 8);
  EXPECT_EQ(a.ugc(0), "IAZ004");
  EXPECT_EQ(a.ugc(4), "IAZ023");
  EXPECT_EQ(a.ugc(7), "IAC169");
  ASSERT_EQ(a.ugc_areas_size(), 8);
  EXPECT_EQ(a.ugc_areas(6).name(), "Story");
  ASSERT_EQ(a.segments_size(), 3);
  EXPECT_EQ(a.segments(1).ugc_size(), 2);
  EXPECT_EQ(a.segments(1).ugc(0).code(), "IAZ023");
  EXPECT_EQ(isoUtc(a.segments(0).expires_unix_s()), "2024-07-01T11:00:00Z");
  EXPECT_EQ(isoUtc(a.segments(2).expires_unix_s()), "2024-07-01T13:00:00Z");
  // HWO is a routine product: the fast path reads heading and UGC only, no headlines.
  EXPECT_EQ(a.segments(2).headline(), "");
}

TEST(MultiSegment, EveryCorpusProductWithoutVtecCarriesAllItsCodes) {
  std::size_t multi = 0;
  for (const auto& f : testing::corpusFiles()) {
    const ParsedProduct p = parseProduct(testing::readFile(f), 0);
    const auto alerts = classify(p);
    if (alerts.size() != 1 || alerts[0].vtec_index >= 0) continue;
    std::set<std::string> expected;
    for (const auto& s : p.segments) expected.insert(s.ugc.begin(), s.ugc.end());
    const v1::Alert a = protoOf(alerts[0], p);
    EXPECT_EQ(std::set<std::string>(a.ugc().begin(), a.ugc().end()), expected) << f;
    EXPECT_EQ(static_cast<std::size_t>(a.ugc_size()), expected.size()) << f;  // no repeats
    if (p.segments.size() > 1) {
      ++multi;
      EXPECT_EQ(static_cast<std::size_t>(a.segments_size()), p.segments.size()) << f;
    }
  }
  EXPECT_GT(multi, 0u);
}

// --- 6. Names ---------------------------------------------------------------

TEST(Names, ProductOfficeUgcAndRiverPointFromTheReferenceTables) {
  const ParsedProduct p = load("tornado_warning/TOR_emergency.txt");
  EXPECT_EQ(p.product_title, "Tornado Warning");
  const auto alerts = classify(p);
  const v1::Alert a = protoOf(alerts.at(0), p);
  EXPECT_EQ(a.product_title(), "Tornado Warning");
  EXPECT_EQ(a.office_code(), "ICT");
  EXPECT_EQ(a.office_city(), "Wichita");
  EXPECT_EQ(a.office_state(), "KS");
  // KSC015-173: Butler and Sedgwick counties.
  ASSERT_EQ(a.ugc_areas_size(), 2);
  EXPECT_EQ(a.ugc_areas(1).code(), "KSC173");
  EXPECT_TRUE(a.ugc_areas(1).known());
  EXPECT_EQ(a.ugc_areas(1).name(), "Sedgwick");
  EXPECT_NEAR(a.ugc_areas(1).lat_deg(), 37.68, 0.01);
  EXPECT_NEAR(a.ugc_areas(1).lon_deg(), -97.46, 0.01);

  // A product code outside the 66-code catalog gets its reference title.
  const ParsedProduct hwo = parseProduct(testing::kHazardousWeatherOutlook, kJul2024);
  EXPECT_EQ(hwo.product_title, "Hazardous Weather Outlook");
  const ParsedProduct mcd = parseProduct(testing::kSpcMesoscaleDiscussion, kJul2024);
  EXPECT_EQ(mcd.product_title, "Severe Storm Outlook Narrative");  // SWO is the category of SWOMCD
  EXPECT_EQ(mcd.product_name, "Severe Storm Outlook Narrative");
}

TEST(Names, UnknownCodesAreReportedUnknownNotGuessed) {
  // A UGC code that does not exist, an office that does not exist, an unknown product code.
  const std::string text =
      "WFUS53 KZZZ 230521\nQQQZZZ\nIAC999-230600-\n/O.NEW.KZZZ.TO.W.0042.240523T0521Z-240523T0600Z/\n\n$$\n";
  const ParsedProduct p = parseProduct(text, 0);
  EXPECT_EQ(p.product_title, "");
  EXPECT_EQ(p.product_name, "");
  const v1::Alert a = protoOf(classify(p).at(0), p);
  EXPECT_EQ(a.office_code(), "");
  EXPECT_EQ(a.office_name(), "");
  ASSERT_EQ(a.ugc_areas_size(), 1);
  EXPECT_EQ(a.ugc_areas(0).code(), "IAC999");
  EXPECT_FALSE(a.ugc_areas(0).known());
  EXPECT_EQ(a.ugc_areas(0).name(), "");
  EXPECT_EQ(a.ugc_areas(0).lat_deg(), 0.0);
  EXPECT_EQ(a.ugc_areas(0).lon_deg(), 0.0);
}

// --- 7. Tags, H-VTEC, emergencies -------------------------------------------

TEST(Tags, SnowSquallTagsFromTheCorpus) {
  const ParsedProduct p = load("snow_squall_warning/SQW-SQWDVN.txt");
  const auto alerts = classify(p);
  ASSERT_EQ(alerts.size(), 2u);  // CAN (Rock Island), CON
  const v1::Alert con = protoOf(alerts[1], p);
  EXPECT_EQ(con.action(), "CON");
  EXPECT_EQ(con.threats().snow_squall(), "OBSERVED");
  EXPECT_EQ(con.threats().snow_squall_impact(), "SIGNIFICANT");
}

TEST(Tags, LandspoutAndWaterspoutReachTheBusMessage) {
  const ParsedProduct sps = load("special_weather_statement/SPS-SPSBMX_IBW1.txt");
  EXPECT_EQ(sps.segments.at(0).threats.landspout, "POSSIBLE");
  EXPECT_EQ(sps.segments.at(0).threats.waterspout, "");  // LANDSPOUT is not a waterspout
  EXPECT_EQ(protoOf(classify(sps).at(0), sps).threats().landspout(), "POSSIBLE");
  const ParsedProduct smw = load("special_marine_warning/SMWMFL.txt");
  const auto alerts = classify(smw);
  ASSERT_FALSE(alerts.empty());
  EXPECT_EQ(protoOf(alerts[0], smw).threats().waterspout(), "POSSIBLE");
}

TEST(Tags, DamLeveeAndExpectedRainfall) {
  const ParsedProduct dam = parseProduct(testing::kDamFailureFlashFloodWarning, 0);
  const v1::Alert a = protoOf(classify(dam).at(0), dam);
  EXPECT_EQ(a.threats().flash_flood(), "OBSERVED");
  EXPECT_EQ(a.threats().dam_failure(), "OCCURRING");
  EXPECT_EQ(a.threats().expected_rainfall(), "1-2 INCHES IN 1 HOUR");
  ASSERT_EQ(a.hvtec_records_size(), 1);
  EXPECT_EQ(a.hvtec_records(0).immediate_cause(), "DM");
  EXPECT_EQ(a.hvtec_records(0).immediate_cause_name(), "Dam or Levee Failure");
  EXPECT_EQ(a.hvtec_records(0).nwsli(), "00000");
  EXPECT_FALSE(a.hvtec_records(0).point_known());
  const ParsedProduct levee = parseProduct(testing::kLeveeFailureFlashFloodWarning, 0);
  const v1::Alert b = protoOf(classify(levee).at(0), levee);
  EXPECT_EQ(b.threats().levee_failure(), "IMMINENT");
  EXPECT_EQ(b.threats().expected_rainfall(), "2-3 INCHES IN 1 HOUR");
  EXPECT_EQ(b.threats().dam_failure(), "");
}

TEST(Tags, HvtecParsedWithItsRiverPoint) {
  // FLS-FLSSEW_vtec1970: /SQUW1.1.ER.200107T0835Z.200107T1500Z.200107T2325Z.NO/
  const ParsedProduct p = load("flood_statement/FLS-FLSSEW_vtec1970.txt");
  const v1::Alert a = protoOf(classify(p).at(0), p);
  ASSERT_EQ(a.hvtec_records_size(), 1);
  const auto& h = a.hvtec_records(0);
  EXPECT_EQ(h.nwsli(), "SQUW1");
  EXPECT_EQ(h.severity(), "1");
  EXPECT_EQ(h.severity_name(), "Minor");
  EXPECT_EQ(h.immediate_cause_name(), "Excessive Rainfall");
  EXPECT_EQ(isoUtc(h.begin_unix_s()), "2020-01-07T08:35:00Z");
  EXPECT_EQ(isoUtc(h.crest_unix_s()), "2020-01-07T15:00:00Z");
  EXPECT_EQ(isoUtc(h.end_unix_s()), "2020-01-07T23:25:00Z");
  EXPECT_EQ(h.flood_record(), "NO");
  EXPECT_EQ(h.flood_record_name(), "Record flood not expected");
  ASSERT_TRUE(h.point_known());
  EXPECT_EQ(h.stream(), "Snoqualmie River");
  EXPECT_EQ(h.proximity(), "at");
  EXPECT_EQ(h.place(), "Snoqualmie Falls");
  EXPECT_EQ(h.state(), "WA");
  EXPECT_NEAR(h.point().lat_deg(), 47.5453, 1e-9);
  EXPECT_EQ(a.hvtec(), h.raw());  // the old field keeps the first raw string
}

TEST(Tags, EveryHvtecLineOfEverySegmentIsCarried) {
  std::size_t lines = 0;
  std::size_t known = 0;
  for (const auto& f : testing::corpusFiles()) {
    const ParsedProduct p = parseProduct(testing::readFile(f), 0);
    for (const Classified& c : classify(p)) {
      if (c.vtec_index < 0) continue;
      const v1::Alert a = protoOf(c, p);
      const auto& hv = p.segments[c.segment_index].hvtec;
      ASSERT_EQ(static_cast<std::size_t>(a.hvtec_records_size()), hv.size()) << f;
      for (std::size_t i = 0; i < hv.size(); ++i) {
        EXPECT_EQ(a.hvtec_records(static_cast<int>(i)).raw(), hv[i].raw) << f;
        ++lines;
        known += a.hvtec_records(static_cast<int>(i)).point_known() ? 1 : 0;
      }
    }
  }
  EXPECT_GT(lines, 50u);
  EXPECT_GT(known, 20u);
}

TEST(Tags, LatLonAndStormMotionWrittenOnOneLine) {
  const ParsedProduct p = parseProduct(testing::kMarineStatementOneLine, kJul2024);
  const Segment& s = p.segments.at(0);
  ASSERT_EQ(s.polygon.size(), 5u);
  EXPECT_DOUBLE_EQ(s.polygon[0].lat_deg, 24.60);
  EXPECT_DOUBLE_EQ(s.polygon[3].lon_deg, -81.27);
  ASSERT_TRUE(s.motion.present);
  EXPECT_EQ(s.motion.hhmmz, "1844Z");
  EXPECT_EQ(s.motion.direction_deg, 245u);
  EXPECT_EQ(s.motion.speed_kt, 12u);
  ASSERT_EQ(s.motion.locations.size(), 1u);
  EXPECT_DOUBLE_EQ(s.motion.locations[0].lon_deg, -81.28);
  bool noted = false;
  for (const auto& issue : p.issues) noted = noted || issue.find("run together") != std::string::npos;
  EXPECT_TRUE(noted);
}

struct EmergencyCase {
  const char* file;
  std::size_t alert;
  const char* tier;
  bool confirmed;
  bool pds;
  std::vector<std::string> tags;
};

TEST(Emergencies, ConfirmedByTheCatastrophicTag) {
  const std::string te(kTornadoEmergency);
  const std::string ffe(kFlashFloodEmergency);
  const std::string pds(kParticularlyDangerous);
  const EmergencyCase cases[] = {
      // Tornado emergency with TORNADO DAMAGE THREAT...CATASTROPHIC: confirmed.
      {"tornado_warning/TOR_emergency.txt", 0, "emergency", true, true, {te, pds}},
      {"tornado_warning/TOROAX-2.txt", 0, "emergency", true, true, {te, pds}},
      // Flash flood emergency with FLASH FLOOD DAMAGE THREAT...CATASTROPHIC: confirmed.
      {"flash_flood_warning/FFW-FFWFFC_1.txt", 0, "emergency", true, true, {ffe, pds}},
      // PDS tornado warning with a CONSIDERABLE damage threat: PDS, not an emergency.
      {"tornado_warning/TORFSD.txt", 0, "emergency", false, true, {pds}},
      // Headline "A TORNADO EMERGENCY IS IN EFFECT" without a damage-threat tag:
      // declared by the office, not confirmed by the tag.
      {"tornado_emergency_statement/TORE-SVS_E.txt", 1, "emergency", false, false, {te}},
      // Body text "where a Flash Flood Emergency remains in effect" with
      // FLASH FLOOD DAMAGE THREAT...CONSIDERABLE: the tag contradicts it.
      {"flash_flood_warning/FFWOKX-4.txt", 0, "warning", false, false, {ffe}},
      // A tornado warning mentioning a flash flood emergency: not its hazard.
      {"tornado_emergency_statement/TORE-TORHGX_false_positive.txt", 0, "warning", false, false, {}},
  };
  for (const EmergencyCase& c : cases) {
    const auto alerts = classify(load(c.file));
    ASSERT_LT(c.alert, alerts.size()) << c.file;
    const Classified& a = alerts[c.alert];
    EXPECT_EQ(tierName(a.tier), c.tier) << c.file;
    EXPECT_EQ(a.emergency_confirmed, c.confirmed) << c.file;
    EXPECT_EQ(a.is_pds, c.pds) << c.file;
    EXPECT_EQ(a.emergency_tags, c.tags) << c.file;
  }
}

TEST(Emergencies, CancellationsAreNeverRaised) {
  // TORE-SVS_E segment 0 is the CAN of the same event.
  const auto alerts = classify(load("tornado_emergency_statement/TORE-SVS_E.txt"));
  ASSERT_EQ(alerts[0].action, "CAN");
  EXPECT_EQ(alerts[0].tier, Tier::kWarning);
  EXPECT_TRUE(alerts[0].emergency_tags.empty());
}

}  // namespace
}  // namespace emwin::products
