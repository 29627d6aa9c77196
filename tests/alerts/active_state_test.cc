// ActiveState, one VTEC action at a time (NWS Directive 10-1703), with
// hand-built updates: per-UGC membership, windows, end times, expiry,
// upgrades, year keys, duplicates, stale input, tests, products without VTEC,
// point queries, pruning, snapshot and restore, concurrent readers.
#include "alerts/active_state.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "products/product.h"
#include "products/reference.h"

namespace emwin::alerts {
namespace {

using products::Tier;

// 2024-05-23 at hh:mm UTC.
std::int64_t at(int hh, int mm = 0) { return products::parseVtecTime("240523T0000Z") + hh * 3600 + mm * 60; }

// One VTEC line issued at `issued` by product `product` (AWIPS ID), segment 0.
EventUpdate line(const std::string& action, const std::string& ph, const std::string& sig, std::uint32_t etn,
                 std::int64_t issued, std::int64_t begin, std::int64_t end, std::vector<std::string> ugc,
                 const std::string& product = "TORDMX") {
  EventUpdate u;
  u.office = "KDMX";
  u.phenomenon = ph;
  u.significance = sig;
  u.etn = etn;
  u.action = action;
  u.issued_unix_s = issued;
  u.begin_unix_s = begin;
  u.end_unix_s = end;
  u.expires_unix_s = end != 0 ? end : issued + 6 * 3600;
  u.ugc = std::move(ugc);
  u.event_name = ph + "." + sig;
  u.tier = sig == "W" ? Tier::kWarning : sig == "A" ? Tier::kWatch : Tier::kAdvisory;
  u.awips_id = product;
  u.wmo_ddhhmm = products::isoUtc(issued).substr(8, 2) + products::isoUtc(issued).substr(11, 2) +
                 products::isoUtc(issued).substr(14, 2);
  u.vtec = "/O." + action + ".KDMX." + ph + "." + sig + "." + std::to_string(etn) + "/";
  return u;
}

// Keys of the events in effect in `ugc` at `t`.
std::vector<std::string> keysIn(const ActiveState& s, const std::string& ugc, std::int64_t t, bool pending = false) {
  std::vector<std::string> out;
  for (const ActiveEvent& e : s.forUgc(ugc, t, QueryOptions{pending})) out.push_back(e.key);
  std::sort(out.begin(), out.end());
  return out;
}

const std::vector<std::string> kNone;
const std::string kTor = "KDMX.TO.W.0042.2024";

TEST(EventKeyTest, WrittenFormRoundTrips) {
  EventKey k{"KDMX", "TO", "W", 42, "", 2025};
  EXPECT_EQ(k.str(), "KDMX.TO.W.0042.2025");
  ASSERT_TRUE(EventKey::parse("KDMX.TO.W.0042.2025"));
  EXPECT_EQ(*EventKey::parse("KDMX.TO.W.0042.2025"), k);
  EventKey p{"KHGX", "EVI", "W", 0, "EVIHGX-211200", 2024};
  EXPECT_EQ(p.str(), "KHGX.EVI.W.EVIHGX-211200.2024");
  EXPECT_EQ(*EventKey::parse(p.str()), p);
  for (const char* bad : {"", "KDMX.TO.W.0042", "KDMX.TO.W.0042.25", "KDMX..W.0042.2025", "a.b.c.d.e.f"}) {
    EXPECT_FALSE(EventKey::parse(bad)) << bad;
  }
}

TEST(ActionNew, InEffectInsideItsWindowPendingBefore) {
  ActiveState s;
  auto r = s.apply(line("NEW", "TO", "W", 42, at(5, 21), at(5, 21), at(6), {"IAC015", "IAC169"}));
  EXPECT_EQ(r.outcome, ApplyOutcome::kCreated);
  EXPECT_EQ(r.key, kTor);
  EXPECT_EQ(keysIn(s, "IAC015", at(5, 30)), std::vector<std::string>{kTor});
  EXPECT_EQ(keysIn(s, "IAC169", at(5, 59)), std::vector<std::string>{kTor});
  EXPECT_EQ(keysIn(s, "IAC015", at(6)), kNone);     // end is exclusive
  EXPECT_EQ(keysIn(s, "IAC015", at(5, 20)), kNone);  // before it begins
  EXPECT_EQ(keysIn(s, "IAC001", at(5, 30)), kNone);  // not named
  const auto all = s.all(at(5, 30));
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].ugc, (std::vector<std::string>{"IAC015", "IAC169"}));
  EXPECT_EQ(all[0].begin_unix_s, at(5, 21));
  EXPECT_EQ(all[0].end_unix_s, at(6));

  // A watch that begins later: pending until then, only when asked for.
  s.apply(line("NEW", "TO", "A", 200, at(16), at(18), at(23), {"IAC001"}, "WOUDMX"));
  EXPECT_EQ(keysIn(s, "IAC001", at(17)), kNone);
  const auto pending = s.forUgc("IAC001", at(17), QueryOptions{true});
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_TRUE(pending[0].pending);
  EXPECT_EQ(keysIn(s, "IAC001", at(18)), std::vector<std::string>{"KDMX.TO.A.0200.2024"});
}

TEST(ActionNew, OpenBeginMeansFromIssuance) {
  ActiveState s;
  s.apply(line("NEW", "FL", "W", 3, at(8), 0, 0, {"IAC169"}, "FLWDMX"));
  EXPECT_EQ(keysIn(s, "IAC169", at(7, 59)), kNone);
  EXPECT_EQ(keysIn(s, "IAC169", at(8)), std::vector<std::string>{"KDMX.FL.W.0003.2024"});
  // Until further notice: still in effect a week later, but stale once its UGC expiry passed.
  const auto later = s.forUgc("IAC169", at(8) + 7 * 86400);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].end_unix_s, 0);
  EXPECT_TRUE(later[0].stale);
  EXPECT_FALSE(s.forUgc("IAC169", at(9)).at(0).stale);
}

TEST(ActionConCan, PartialCancellationIsPerUgc) {
  // SVS: segment 0 CAN for IAC015, segment 1 CON for IAC169.
  ActiveState s;
  s.apply(line("NEW", "TO", "W", 42, at(5, 21), at(5, 21), at(6), {"IAC015", "IAC169"}));
  auto can = line("CAN", "TO", "W", 42, at(5, 40), 0, at(6), {"IAC015"}, "SVSDMX");
  auto con = line("CON", "TO", "W", 42, at(5, 40), 0, at(6), {"IAC169"}, "SVSDMX");
  con.segment_index = 1;
  EXPECT_EQ(s.apply(can).outcome, ApplyOutcome::kUpdated);
  EXPECT_EQ(s.apply(con).outcome, ApplyOutcome::kUpdated);
  EXPECT_EQ(keysIn(s, "IAC015", at(5, 40)), kNone);
  EXPECT_EQ(keysIn(s, "IAC015", at(5, 39)), std::vector<std::string>{kTor});  // it was, until the CAN
  EXPECT_EQ(keysIn(s, "IAC169", at(5, 50)), std::vector<std::string>{kTor});
  const auto e = s.event(kTor);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->ugcs[0].status, UgcStatus::kCancelled);
  EXPECT_EQ(e->ugcs[0].ended_unix_s, at(5, 40));
  EXPECT_EQ(e->ugcs[1].status, UgcStatus::kInEffect);
  ASSERT_EQ(e->history.size(), 3u);
  EXPECT_EQ(e->history[1].action, "CAN");
  EXPECT_EQ(e->history[2].segment_index, 1u);
  // The whole event: only IAC169 remains.
  EXPECT_EQ(s.all(at(5, 45)).at(0).ugc, std::vector<std::string>{"IAC169"});
}

TEST(ActionExt, ChangesTheEndTime) {
  ActiveState s;
  s.apply(line("NEW", "FF", "W", 9, at(16), at(16), at(19), {"NJC003"}, "FFWOKX"));
  s.apply(line("EXT", "FF", "W", 9, at(18, 30), 0, at(23), {"NJC003"}, "FFWOKX"));
  EXPECT_EQ(keysIn(s, "NJC003", at(22)), std::vector<std::string>{"KDMX.FF.W.0009.2024"});
  EXPECT_EQ(keysIn(s, "NJC003", at(23)), kNone);
  EXPECT_EQ(s.event("KDMX.FF.W.0009.2024")->ugcs[0].windows, (std::vector<Window>{{at(16), at(23)}}));
}

TEST(ActionExaExb, AddZonesToAnExistingEvent) {
  ActiveState s;
  s.apply(line("NEW", "WI", "Y", 8, at(9), at(12), at(19), {"IAZ004"}, "NPWDMX"));
  // EXA: new zone IAZ005, same end; EXB: new zone IAZ006 with a later end.
  s.apply(line("EXA", "WI", "Y", 8, at(10), at(12), at(19), {"IAZ005"}, "NPWDMX"));
  s.apply(line("EXB", "WI", "Y", 8, at(11), at(13), at(21), {"IAZ006"}, "NPWDMX"));
  const std::string key = "KDMX.WI.Y.0008.2024";
  EXPECT_EQ(keysIn(s, "IAZ005", at(12)), std::vector<std::string>{key});
  EXPECT_EQ(keysIn(s, "IAZ006", at(12)), kNone);  // begins at 13
  EXPECT_EQ(keysIn(s, "IAZ006", at(20)), std::vector<std::string>{key});
  EXPECT_EQ(keysIn(s, "IAZ004", at(20)), kNone);  // its own window ended at 19
  EXPECT_EQ(s.event(key)->ugcs.size(), 3u);
  EXPECT_EQ(s.stats().events, 1u);
}

TEST(ActionUpg, WatchUpgradedToWarningLinksBothWays) {
  ActiveState s;
  s.apply(line("NEW", "WS", "A", 1, at(3), at(12), at(23), {"IAZ048", "IAZ049"}, "WSWDMX"));
  // One segment: UPG of the watch, NEW of the warning (same product, same segment).
  s.apply(line("UPG", "WS", "A", 1, at(9), at(12), at(23), {"IAZ048"}, "WSWDMX"));
  s.apply(line("NEW", "WS", "W", 1, at(9), at(12), at(23), {"IAZ048"}, "WSWDMX"));
  EXPECT_EQ(keysIn(s, "IAZ048", at(13)), std::vector<std::string>{"KDMX.WS.W.0001.2024"});
  EXPECT_EQ(keysIn(s, "IAZ049", at(13)), std::vector<std::string>{"KDMX.WS.A.0001.2024"});  // not upgraded there
  const auto watch = s.event("KDMX.WS.A.0001.2024");
  EXPECT_EQ(watch->ugcs[0].status, UgcStatus::kUpgraded);
  EXPECT_EQ(watch->upgraded_to, std::vector<std::string>{"KDMX.WS.W.0001.2024"});
  EXPECT_EQ(s.event("KDMX.WS.W.0001.2024")->upgraded_from, std::vector<std::string>{"KDMX.WS.A.0001.2024"});
  // A NEW in another segment of that product is not an upgrade.
  auto other = line("NEW", "WW", "Y", 2, at(9), at(12), at(23), {"IAZ050"}, "WSWDMX");
  other.segment_index = 1;
  s.apply(other);
  EXPECT_TRUE(s.event("KDMX.WW.Y.0002.2024")->upgraded_from.empty());
}

TEST(ActionExp, InEffectUntilTheEndEvenWhenIssuedBefore) {
  ActiveState s;
  s.apply(line("NEW", "WW", "Y", 6, at(1), at(1), at(9), {"WVZ501"}, "WSWLWX"));
  s.apply(line("EXP", "WW", "Y", 6, at(8, 44), 0, at(9), {"WVZ501"}, "WSWLWX"));
  EXPECT_EQ(keysIn(s, "WVZ501", at(8, 50)), std::vector<std::string>{"KDMX.WW.Y.0006.2024"});
  EXPECT_EQ(keysIn(s, "WVZ501", at(9)), kNone);
  EXPECT_EQ(s.event("KDMX.WW.Y.0006.2024")->ugcs[0].status, UgcStatus::kExpired);
}

TEST(ActionCor, CorrectsTimesAndZones) {
  ActiveState s;
  s.apply(line("NEW", "SV", "W", 7, at(20), at(20), at(20, 45), {"IAC015"}, "SVRDMX"));
  // The correction gives a later end and one more county.
  EXPECT_EQ(s.apply(line("COR", "SV", "W", 7, at(20, 3), 0, at(21), {"IAC015", "IAC169"}, "SVRDMX")).outcome,
            ApplyOutcome::kUpdated);
  EXPECT_EQ(keysIn(s, "IAC015", at(20, 50)), std::vector<std::string>{"KDMX.SV.W.0007.2024"});
  EXPECT_EQ(keysIn(s, "IAC169", at(20, 50)), std::vector<std::string>{"KDMX.SV.W.0007.2024"});
}

TEST(ActionRou, RoutineAndEtnZeroAreNotEvents) {
  ActiveState s;
  EXPECT_EQ(s.apply(line("ROU", "HY", "S", 0, at(8), 0, 0, {"WIC001"}, "FLWMKX")).outcome,
            ApplyOutcome::kIgnoredRoutine);
  EXPECT_EQ(s.apply(line("NEW", "HY", "S", 0, at(8), 0, 0, {"WIC001"}, "FLWMKX")).outcome,
            ApplyOutcome::kIgnoredRoutine);
  EXPECT_EQ(s.stats().events, 0u);
  EXPECT_EQ(s.latestIssued(), at(8));  // still the feed's latest product time
}

TEST(MissedNew, AContinuationCreatesTheEvent) {
  // Started after the NEW went by: a CON says the event is in effect.
  ActiveState s;
  EXPECT_EQ(s.apply(line("CON", "TO", "W", 42, at(5, 40), 0, at(6), {"IAC169"}, "SVSDMX")).outcome,
            ApplyOutcome::kCreated);
  EXPECT_EQ(keysIn(s, "IAC169", at(5, 45)), std::vector<std::string>{kTor});
  // A CAN of an event never seen is remembered as cancelled (history), never in effect after it.
  EXPECT_EQ(s.apply(line("CAN", "SV", "W", 9, at(5, 50), 0, at(6), {"IAC001"}, "SVSDMX")).outcome,
            ApplyOutcome::kCreated);
  EXPECT_EQ(keysIn(s, "IAC001", at(5, 55)), kNone);
  EXPECT_TRUE(s.event("KDMX.SV.W.0009.2024"));
}

TEST(Redelivery, TheSameAlertTwiceChangesNothing) {
  ActiveState s;
  auto u = line("NEW", "TO", "W", 42, at(5, 21), at(5, 21), at(6), {"IAC015"});
  u.file_sha256 = "abc";
  s.apply(u);
  const auto before = s.snapshot();
  EXPECT_EQ(s.apply(u).outcome, ApplyOutcome::kDuplicate);
  EXPECT_EQ(s.snapshot(), before);
  EXPECT_EQ(s.stats().duplicates, 1u);
}

TEST(OutOfOrder, AnOlderProductIsStaleForTheZonesItNames) {
  ActiveState s;
  s.apply(line("NEW", "TO", "W", 42, at(5, 21), at(5, 21), at(6), {"IAC015"}));
  s.apply(line("CAN", "TO", "W", 42, at(5, 40), 0, at(6), {"IAC015"}, "SVSDMX"));
  // A CON issued before the CAN arrives late: it must not bring the zone back.
  EXPECT_EQ(s.apply(line("CON", "TO", "W", 42, at(5, 30), 0, at(6), {"IAC015"}, "SVSDMX")).outcome,
            ApplyOutcome::kStale);
  EXPECT_EQ(keysIn(s, "IAC015", at(5, 45)), kNone);
}

TEST(TestMessages, NeverPartOfTheActiveState) {
  ActiveState s;
  auto t = line("NEW", "TO", "W", 1, at(16), at(16), at(16, 15), {"ILC019"}, "TORILX");
  t.product_class = 'T';
  EXPECT_EQ(s.apply(t).outcome, ApplyOutcome::kIgnoredTest);
  auto banner = line("NEW", "TO", "W", 2, at(16), at(16), at(16, 15), {"ILC019"}, "TORILX");
  banner.is_test = true;
  EXPECT_EQ(s.apply(banner).outcome, ApplyOutcome::kIgnoredTest);
  EXPECT_TRUE(s.all(at(16, 5)).empty());
}

TEST(YearKey, AnEventIssuedLastYearKeepsItsKeyInJanuary) {
  ActiveState s;
  const std::int64_t dec31 = products::parseVtecTime("231231T0924Z");
  const std::int64_t jan1 = products::parseVtecTime("240101T1559Z");
  s.apply(line("NEW", "WI", "Y", 9999, dec31, products::parseVtecTime("231231T1600Z"),
               products::parseVtecTime("240101T2300Z"), {"IAZ004"}, "NPWDMX"));
  // CON with an open begin, EXA with a begin in the new year: both the 2023 event.
  EXPECT_EQ(s.apply(line("CON", "WI", "Y", 9999, jan1, 0, products::parseVtecTime("240101T2300Z"), {"IAZ004"},
                         "NPWDMX"))
                .key,
            "KDMX.WI.Y.9999.2023");
  EXPECT_EQ(s.apply(line("EXA", "WI", "Y", 9999, jan1, products::parseVtecTime("240101T1600Z"),
                         products::parseVtecTime("240101T2300Z"), {"IAZ083"}, "NPWDMX"))
                .key,
            "KDMX.WI.Y.9999.2023");
  EXPECT_EQ(s.stats().events, 1u);
  // A NEW in the new year with a reused number is a new event.
  EXPECT_EQ(s.apply(line("NEW", "WI", "Y", 9999, jan1 + 86400, 0, 0, {"IAZ005"}, "NPWDMX")).key,
            "KDMX.WI.Y.9999.2024");
}

TEST(ProductsWithoutVtec, InEffectUntilTheirUgcExpiry) {
  ActiveState s;
  EventUpdate evi;
  evi.office = "KHGX";
  evi.phenomenon = "EVI";
  evi.significance = "W";
  evi.issued_unix_s = at(12);
  evi.expires_unix_s = at(14);
  evi.ugc = {"TXC201"};
  evi.tier = Tier::kWarning;
  evi.event_name = "Evacuation Immediate";
  evi.awips_id = "EVIHGX";
  evi.wmo_ddhhmm = "231200";
  const auto r = s.apply(evi);
  EXPECT_EQ(r.outcome, ApplyOutcome::kCreated);
  EXPECT_EQ(r.key, "KHGX.EVI.W.EVIHGX-231200.2024");
  EXPECT_EQ(keysIn(s, "TXC201", at(13)), std::vector<std::string>{r.key});
  EXPECT_EQ(keysIn(s, "TXC201", at(14)), kNone);
  // Harris County's centroid (29.74, -95.18) is ~10 km from downtown Houston.
  const auto near = s.forPoint(29.76, -95.37, 25, at(13));
  ASSERT_EQ(near.size(), 1u);
  EXPECT_EQ(near[0].matched_by, MatchKind::kCentroid);
  EXPECT_EQ(near[0].matched_ugc, "TXC201");
  EXPECT_NEAR(near[0].distance_km, 18.4, 1.0);
  EXPECT_TRUE(s.forPoint(29.76, -95.37, 5, at(13)).empty());
  // Statements and products without expiry are not tracked.
  EventUpdate sps = evi;
  sps.phenomenon = "SPS";
  sps.significance = "S";
  sps.tier = Tier::kStatement;
  sps.awips_id = "SPSHGX";
  EXPECT_EQ(s.apply(sps).outcome, ApplyOutcome::kIgnoredRoutine);
  EventUpdate noExpiry = evi;
  noExpiry.awips_id = "CEMHGX";
  noExpiry.expires_unix_s = 0;
  EXPECT_EQ(s.apply(noExpiry).outcome, ApplyOutcome::kIgnoredNoExpiry);
}

TEST(PointQueries, PolygonFirstCentroidOnlyWithoutPolygon) {
  ActiveState s;
  // A small storm-based warning in Story County IA around Ames.
  auto tor = line("NEW", "TO", "W", 42, at(5, 21), at(5, 21), at(6), {"IAC169"});
  tor.polygon = {{42.00, -93.70}, {42.10, -93.70}, {42.10, -93.55}, {42.00, -93.55}, {42.00, -93.70}};
  s.apply(tor);
  // A county-based watch over Story County, no polygon.
  s.apply(line("NEW", "SV", "A", 240, at(5), at(5), at(9), {"IAC169"}, "WCNDMX"));
  const auto inside = s.forPoint(42.03, -93.62, 30, at(5, 30));  // Ames
  ASSERT_EQ(inside.size(), 2u);
  EXPECT_EQ(inside[0].key, kTor);  // warning before watch
  EXPECT_EQ(inside[0].matched_by, MatchKind::kPolygon);
  EXPECT_EQ(inside[1].matched_by, MatchKind::kCentroid);
  // Nevada IA: in Story County, near its centroid, but outside the polygon:
  // only the watch. A storm-based warning covers its polygon, not its county.
  const auto outside = s.forPoint(42.02, -93.45, 30, at(5, 30));
  ASSERT_EQ(outside.size(), 1u);
  EXPECT_EQ(outside[0].key, "KDMX.SV.A.0240.2024");
  EXPECT_TRUE(s.forPoint(42.02, -93.45, 0, at(5, 30)).empty());  // distance 0: polygons only
  EXPECT_TRUE(s.forPoint(91, 0, 30, at(5, 30)).empty());          // not a point on Earth
}

TEST(Pruning, OverEventsGoAfterRetentionOpenOnesWhenAbandoned) {
  ActiveStateOptions o;
  o.retain_ended_s = 3600;
  o.abandon_open_s = 86400;
  o.auto_prune_every = 0;
  ActiveState s(o);
  s.apply(line("NEW", "TO", "W", 42, at(5, 21), at(5, 21), at(6), {"IAC015"}));
  s.apply(line("NEW", "FL", "W", 3, at(5), 0, 0, {"IAC169"}, "FLWDMX"));  // until further notice, expiry 11Z
  EXPECT_EQ(s.prune(at(6, 59)), 0u);  // over at 6, kept one hour
  EXPECT_EQ(s.prune(at(7)), 1u);
  EXPECT_FALSE(s.event(kTor));
  EXPECT_TRUE(s.event("KDMX.FL.W.0003.2024"));
  EXPECT_EQ(s.prune(at(11) + 86399), 0u);
  EXPECT_EQ(s.prune(at(11) + 86400), 1u);  // abandoned: no product a day after its expiry
  EXPECT_EQ(s.stats().events, 0u);
  EXPECT_EQ(s.stats().pruned, 2u);
  EXPECT_TRUE(s.forUgc("IAC015", at(5, 30)).empty());  // the index went with them
}

TEST(Pruning, TheCapDropsFinishedEventsFirst) {
  ActiveStateOptions o;
  o.max_events = 2;
  o.auto_prune_every = 0;
  ActiveState s(o);
  s.apply(line("NEW", "TO", "W", 1, at(1), at(1), at(2), {"IAC001"}));
  s.apply(line("NEW", "TO", "W", 2, at(3), at(3), at(23), {"IAC003"}));
  s.apply(line("NEW", "TO", "W", 3, at(4), at(4), at(23), {"IAC005"}));
  EXPECT_EQ(s.prune(at(5)), 1u);
  EXPECT_FALSE(s.event("KDMX.TO.W.0001.2024"));  // the finished one
  EXPECT_TRUE(s.event("KDMX.TO.W.0002.2024"));
  EXPECT_TRUE(s.event("KDMX.TO.W.0003.2024"));
}

TEST(Snapshot, RestoreGivesTheSameStateAndAnswers) {
  ActiveState a;
  a.apply(line("NEW", "WS", "A", 1, at(3), at(12), at(23), {"IAZ048", "IAZ049"}, "WSWDMX"));
  a.apply(line("UPG", "WS", "A", 1, at(9), at(12), at(23), {"IAZ048"}, "WSWDMX"));
  auto w = line("NEW", "WS", "W", 1, at(9), at(12), at(23), {"IAZ048"}, "WSWDMX");
  w.polygon = {{42.0, -93.7}, {42.1, -93.7}, {42.1, -93.5}, {42.0, -93.7}};
  w.emergency_tags = {"X"};
  a.apply(w);
  const nlohmann::json snap = a.snapshot();
  ActiveState b;
  std::string error;
  ASSERT_TRUE(b.restore(nlohmann::json::parse(snap.dump()), error)) << error;
  EXPECT_EQ(b.snapshot(), snap);
  EXPECT_EQ(b.latestIssued(), a.latestIssued());
  EXPECT_EQ(*b.event("KDMX.WS.W.0001.2024"), *a.event("KDMX.WS.W.0001.2024"));
  EXPECT_EQ(keysIn(b, "IAZ048", at(13)), keysIn(a, "IAZ048", at(13)));
  EXPECT_EQ(keysIn(b, "IAZ049", at(13)), keysIn(a, "IAZ049", at(13)));
  // Bad snapshots are refused and leave the state as it was.
  for (const char* bad : {"{}", R"({"version":2,"latest_issued":0,"events":[]})",
                          R"({"version":1,"latest_issued":0,"events":[{"key":"nonsense"}]})",
                          R"({"version":1,"latest_issued":"x","events":[]})"}) {
    error.clear();
    EXPECT_FALSE(b.restore(nlohmann::json::parse(bad), error)) << bad;
    EXPECT_FALSE(error.empty());
    EXPECT_EQ(b.snapshot(), snap);
  }
}

TEST(BadInput, InvalidUpdatesAreCountedNeverThrown) {
  ActiveState s;
  EventUpdate empty;
  EXPECT_EQ(s.apply(empty).outcome, ApplyOutcome::kInvalid);
  auto noUgc = line("NEW", "TO", "W", 1, at(1), at(1), at(2), {});
  EXPECT_EQ(s.apply(noUgc).outcome, ApplyOutcome::kInvalid);
  auto badAction = line("XYZ", "TO", "W", 1, at(1), at(1), at(2), {"IAC001"});
  EXPECT_EQ(s.apply(badAction).outcome, ApplyOutcome::kInvalid);
  EXPECT_EQ(s.stats().invalid, 3u);
  EXPECT_EQ(s.stats().events, 0u);
}

TEST(SharedActiveStateTest, ReadersWhileOneWriterApplies) {
  SharedActiveState shared;
  std::atomic<bool> done{false};
  std::atomic<std::size_t> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        for (const auto& e : shared.forUgc("IAC169", at(12))) EXPECT_FALSE(e.key.empty());
        (void)shared.forPoint(42.03, -93.62, 30, at(12));
        reads.fetch_add(1);
      }
    });
  }
  for (std::uint32_t etn = 1; etn <= 500; ++etn) {
    shared.apply(line("NEW", "SV", "W", etn, at(10), at(10), at(13), {"IAC169"}));
  }
  // Wait (bounded) until the readers overlapped the writes at least a little.
  for (int i = 0; i < 1000 && reads.load() < 10; ++i) std::this_thread::yield();
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(shared.forUgc("IAC169", at(12)).size(), 500u);
  EXPECT_EQ(shared.withReader([](const ActiveState& s) { return s.stats().events; }), 500u);
}

}  // namespace
}  // namespace emwin::alerts
