// ActiveState on real VTEC chains from ../shared/corpus: each product is fed
// in order and the state is asked, at that product's own issue time, what is
// in effect in a few zones. Every expectation was read off the product texts
// (VTEC lines, UGC lines), not copied from the library's output. Also: the
// whole corpus fed in issue order, rebuilt, redelivered, snapshotted, and
// fed through bus Alert messages gives the same state.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <map>
#include <set>

#include "alerts/active_state.h"
#include "alerts/event_update.h"
#include "emwin/bus/v1/alert.pb.h"
#include "products/classify.h"
#include "products/product.h"

namespace emwin::alerts {
namespace {

namespace fs = std::filesystem;

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path productsDir() { return fs::path(EMWIN_CORPUS_DIR) / "products"; }

// One product ready to feed.
struct Fed {
  std::string name;
  std::int64_t issued = 0;
  std::vector<EventUpdate> updates;
};

Fed prepare(const fs::path& file) {
  const products::ParsedProduct p = products::parseProduct(readFile(file), 0);
  Fed f;
  f.name = file.filename().string();
  f.issued = p.issued_unix_s;
  f.updates = updatesFromProduct(p, products::classify(p), f.name, "sha-" + f.name);
  return f;
}

// "GL.W.8" style labels of the events in effect in `ugc` at `t`.
std::set<std::string> labels(const ActiveState& s, const std::string& ugc, std::int64_t t, bool pending = false) {
  std::set<std::string> out;
  for (const ActiveEvent& e : s.forUgc(ugc, t, QueryOptions{pending})) {
    out.insert(e.event_key.phenomenon + "." + e.event_key.significance + "." + std::to_string(e.event_key.etn));
  }
  return out;
}

using Labels = std::set<std::string>;

// Files `prefix-0..n` of marine_weather_message in numeric order.
std::vector<fs::path> chain(const std::string& prefix, int n, bool twoDigits) {
  std::vector<fs::path> out;
  for (int i = 0; i <= n; ++i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, twoDigits ? "%s-%02d.txt" : "%s-%d.txt", prefix.c_str(), i);
    out.push_back(productsDir() / "marine_weather_message" / buf);
  }
  return out;
}

TEST(CorpusChains, CaribouGaleFreezingSprayChain) {
  // MWWCAR-0..22 (WFO Caribou, ANZ050-052, Jan 29 - Feb 3 2015).
  const std::map<int, Labels> expected = {
      {0, {}},                          // GL.A.4 NEW, begins Jan 31 06Z
      {3, {}},                          // GL.A.4 UPG -> GL.W.8 NEW, begins Jan 31 06Z
      {8, {}},                          // Jan 31 02:42, still before 06Z
      {9, {"GL.W.8"}},                  // UP.Y.7 NEW begins 15Z
      {10, {"GL.W.8", "UP.Y.7"}},
      {11, {"GL.W.8", "UP.Y.7"}},       // GL.W.8 EXP at 08:51, in effect until 09Z
      {12, {"UP.Y.7"}},                 // Feb 1 09:32
      {13, {"UP.Y.8"}},                 // UP.Y.7 ended 17Z; UP.Y.8 NEW from 19:49; GL.A.5 UPG -> GL.W.9 (Feb 2 18Z)
      {15, {"UP.Y.8"}},
      {16, {"GL.W.9"}},                 // UP.Y.8 UPG -> UP.W.1 (from Feb 3 03Z)
      {17, {"GL.W.9", "UP.W.1"}},
      {18, {"GL.W.9", "UP.W.1"}},       // UP.W.1 EXT to 12Z
      {19, {"GL.W.9", "UP.Y.9"}},       // UP.W.1 CAN, UP.Y.9 NEW
      {20, {"GL.W.9", "UP.Y.9"}},       // GL.W.9 EXP, until 14Z
      {21, {"SC.Y.188", "UP.Y.9"}},     // Feb 3 14:00: GL.W.9 over, SC.Y.188 NEW
      {22, {"SC.Y.188", "UP.Y.9"}},     // both EXP, until 17Z
  };
  ActiveState s;
  std::int64_t last = 0;
  const auto files = chain("MWWCAR", 22, false);
  for (std::size_t i = 0; i < files.size(); ++i) {
    const Fed f = prepare(files[i]);
    ASSERT_GE(f.issued, last) << f.name;
    last = f.issued;
    for (const EventUpdate& u : f.updates) {
      const ApplyResult r = s.apply(u);
      EXPECT_TRUE(r.outcome == ApplyOutcome::kCreated || r.outcome == ApplyOutcome::kUpdated) << f.name;
    }
    auto it = expected.find(static_cast<int>(i));
    if (it == expected.end()) continue;
    for (const char* zone : {"ANZ050", "ANZ051", "ANZ052"}) {
      EXPECT_EQ(labels(s, zone, f.issued), it->second) << f.name << " " << zone;
    }
  }
  EXPECT_EQ(labels(s, "ANZ050", products::parseVtecTime("150203T1700Z")), Labels{});
  // Pending at the first product: the gale watch.
  ActiveState first;
  first.apply(prepare(files[0]).updates);
  EXPECT_EQ(labels(first, "ANZ050", first.latestIssued(), true), Labels{"GL.A.4"});
  // Upgrades, read off MWWCAR-3, -13 and -16.
  EXPECT_EQ(s.event("KCAR.GL.A.0004.2015")->upgraded_to, std::vector<std::string>{"KCAR.GL.W.0008.2015"});
  EXPECT_EQ(s.event("KCAR.GL.A.0005.2015")->upgraded_to, std::vector<std::string>{"KCAR.GL.W.0009.2015"});
  EXPECT_EQ(s.event("KCAR.UP.Y.0008.2015")->upgraded_to, std::vector<std::string>{"KCAR.UP.W.0001.2015"});
  EXPECT_EQ(s.event("KCAR.GL.W.0009.2015")->upgraded_from, std::vector<std::string>{"KCAR.GL.A.0005.2015"});
  // GL.W.9's lifecycle: NEW, CON x5, EXP, CAN.
  const auto gale = s.event("KCAR.GL.W.0009.2015");
  ASSERT_TRUE(gale);
  std::vector<std::string> actions;
  for (const auto& h : gale->history) actions.push_back(h.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"NEW", "CON", "CON", "CON", "CON", "CON", "CON", "EXP", "CAN"}));
}

TEST(CorpusChains, SterlingSmallCraftGaleChain) {
  // MWWLWX-00..17 (WFO Sterling, ANZ530-543, Dec 5-8 2014). Three zones followed.
  struct Row {
    Labels anz530, anz532, anz536;
  };
  const std::map<int, Row> expected = {
      {0, {{}, {}, {}}},                                            // SC.Y.221 NEW, begins Dec 7
      {5, {{}, {}, {}}},                                            // UPG to GL.W.32 (02Z) for 531-543
      {6, {{}, {}, {}}},                                            // Dec 7 00:45
      {7, {{"GL.W.32"}, {"GL.W.32"}, {"GL.W.32"}}},                 // Dec 7 03:17
      {8, {{"SC.Y.221"}, {"GL.W.32"}, {"GL.W.32"}}},                // 10:33: GL.W.32 CAN 530; SC.Y.221 EXT from 10:33
      {10, {{"SC.Y.221"}, {"GL.W.32"}, {"GL.W.32"}}},
      {11, {{"SC.Y.221"}, {"SC.Y.221"}, {"SC.Y.222"}}},             // 19:13: GL.W.32 CAN, SC.Y.221/222 EXT from 19:13
      {12, {{}, {"SC.Y.221"}, {"SC.Y.222"}}},                       // 23:52: 530's advisory ended at 23Z
      {15, {{}, {"SC.Y.221"}, {"SC.Y.222"}}},
      {16, {{}, {"SC.Y.221"}, {"SC.Y.222"}}},                       // 530: EXB from Dec 8 23Z (pending)
      {17, {{}, {"SC.Y.221"}, {"SC.Y.222"}}},
  };
  ActiveState s;
  const auto files = chain("MWWLWX", 17, true);
  for (std::size_t i = 0; i < files.size(); ++i) {
    const Fed f = prepare(files[i]);
    s.apply(f.updates);
    auto it = expected.find(static_cast<int>(i));
    if (it == expected.end()) continue;
    EXPECT_EQ(labels(s, "ANZ530", f.issued), it->second.anz530) << f.name;
    EXPECT_EQ(labels(s, "ANZ532", f.issued), it->second.anz532) << f.name;
    EXPECT_EQ(labels(s, "ANZ536", f.issued), it->second.anz536) << f.name;
  }
  EXPECT_EQ(labels(s, "ANZ530", s.latestIssued(), true), Labels{"SC.Y.221"});
  EXPECT_EQ(labels(s, "ANZ530", products::parseVtecTime("141209T0000Z")), Labels{"SC.Y.221"});
  EXPECT_EQ(labels(s, "ANZ536", products::parseVtecTime("141209T2300Z")), Labels{});
  EXPECT_EQ(s.event("KLWX.SC.Y.0221.2014")->upgraded_to, std::vector<std::string>{"KLWX.GL.W.0032.2014"});
}

TEST(CorpusChains, VtecRegressionChains) {
  auto feed = [](ActiveState& s, const char* file) {
    const Fed f = prepare(productsDir() / "vtec_regression" / file);
    s.apply(f.updates);
    return f.issued;
  };
  // TORFWD: NEW 02:06-02:45 TXC223, CAN at 02:30.
  ActiveState tor;
  feed(tor, "vtec-TORFWD_0.txt");
  EXPECT_EQ(labels(tor, "TXC223", products::parseVtecTime("180122T0229Z")), Labels{"TO.W.6"});
  feed(tor, "vtec-TORFWD_1.txt");
  EXPECT_EQ(labels(tor, "TXC223", products::parseVtecTime("180122T0229Z")), Labels{"TO.W.6"});
  EXPECT_EQ(labels(tor, "TXC223", products::parseVtecTime("180122T0230Z")), Labels{});
  // WSWLWX: NEW 21Z-09Z; EXP at 08:44 and again at 08:51: in effect until 09Z.
  ActiveState wsw;
  feed(wsw, "vtec-WSWLWX_0.txt");
  const std::int64_t t1 = feed(wsw, "vtec-WSWLWX_1.txt");
  const std::int64_t t2 = feed(wsw, "vtec-WSWLWX_2.txt");
  EXPECT_EQ(labels(wsw, "WVZ501", t1), Labels{"WW.Y.6"});
  EXPECT_EQ(labels(wsw, "WVZ505", t2), Labels{"WW.Y.6"});
  EXPECT_EQ(labels(wsw, "WVZ505", products::parseVtecTime("180202T0900Z")), Labels{});
  // crosses: one event across the new year (NEW Dec 31, EXA and CON Jan 1).
  ActiveState crosses;
  feed(crosses, "vtec-crosses_0.txt");
  feed(crosses, "vtec-crosses_1.txt");
  const std::int64_t t = feed(crosses, "vtec-crosses_2.txt");
  EXPECT_EQ(crosses.stats().events, 1u);
  const auto all = crosses.all(t);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].key, "KDMX.WI.Y.9999.2017");
  EXPECT_EQ(all[0].ugc.size(), 24u);  // 22 from the NEW + IAZ083, IAZ094 from the EXA
  // multiple: one product, the same advisory twice for NVZ040 (two periods).
  ActiveState multiple;
  feed(multiple, "vtec-multiple.txt");
  const std::string wi = "KLKN.WI.Y.0008.2019";
  EXPECT_EQ(multiple.event(wi)->ugcs.at(0).code, "NVZ040");
  EXPECT_EQ(multiple.event(wi)->ugcs.at(0).windows.size(), 2u);
  EXPECT_EQ(labels(multiple, "NVZ040", products::parseVtecTime("190409T2200Z")), Labels{"WI.Y.8"});  // 21Z-00Z
  EXPECT_EQ(labels(multiple, "NVZ040", products::parseVtecTime("190410T0300Z")), Labels{"HW.W.2"});  // 00Z-06Z
  EXPECT_EQ(labels(multiple, "NVZ040", products::parseVtecTime("190410T1200Z")), Labels{"WI.Y.8"});  // 06Z-06Z
  EXPECT_EQ(multiple.event("KLKN.HW.A.0001.2019")->upgraded_to, std::vector<std::string>{"KLKN.HW.W.0002.2019"});
}

TEST(CorpusChains, TestMessagesStayOut) {
  ActiveState s;
  const Fed f = prepare(productsDir() / "tornado_warning" / "TORILX.txt");
  ASSERT_EQ(f.updates.size(), 1u);
  EXPECT_EQ(s.apply(f.updates[0]).outcome, ApplyOutcome::kIgnoredTest);
  EXPECT_TRUE(s.forUgc("ILC019", f.issued).empty());
}

// Every corpus product with a resolvable issue time, in issue order.
std::vector<Fed> wholeCorpus() {
  std::vector<Fed> out;
  for (const auto& e : fs::recursive_directory_iterator(productsDir())) {
    if (!e.is_regular_file()) continue;
    Fed f = prepare(e.path());
    if (f.issued != 0) out.push_back(std::move(f));
  }
  std::sort(out.begin(), out.end(), [](const Fed& a, const Fed& b) {
    return a.issued != b.issued ? a.issued < b.issued : a.name < b.name;
  });
  return out;
}

TEST(WholeCorpus, RebuildRedeliverySnapshotAndBusMessagesAgree) {
  const auto fed = wholeCorpus();
  ASSERT_GT(fed.size(), 250u);
  ActiveStateOptions o;
  o.auto_prune_every = 0;  // keep everything: the corpus spans 2005-2026
  ActiveState a(o);
  std::size_t applied = 0;
  for (const Fed& f : fed) {
    for (const ApplyResult& r : a.apply(f.updates)) {
      applied += r.outcome == ApplyOutcome::kCreated || r.outcome == ApplyOutcome::kUpdated;
    }
  }
  EXPECT_GT(applied, 500u);
  const nlohmann::json snap = a.snapshot();
  // Rebuilt from the same alerts in the same order: the same state.
  ActiveState b(o);
  for (const Fed& f : fed) b.apply(f.updates);
  EXPECT_EQ(b.snapshot(), snap);
  // Everything delivered again: only duplicates (or stale), nothing changes.
  for (const Fed& f : fed) {
    for (const ApplyResult& r : a.apply(f.updates)) {
      EXPECT_TRUE(r.outcome != ApplyOutcome::kCreated && r.outcome != ApplyOutcome::kUpdated) << f.name;
    }
  }
  EXPECT_EQ(a.snapshot(), snap);
  // Restored from its snapshot: the same answers.
  ActiveState c(o);
  std::string error;
  ASSERT_TRUE(c.restore(nlohmann::json::parse(snap.dump()), error)) << error;
  EXPECT_EQ(c.snapshot(), snap);
  // Fed from the bus messages (what a gateway or archive receives): the same state.
  ActiveState d(o);
  std::vector<std::pair<std::int64_t, std::vector<EventUpdate>>> viaBus;
  for (const auto& e : fs::recursive_directory_iterator(productsDir())) {
    if (!e.is_regular_file()) continue;
    const products::ParsedProduct p = products::parseProduct(readFile(e.path()), 0);
    if (p.issued_unix_s == 0) continue;
    const std::string name = e.path().filename().string();
    std::vector<EventUpdate> updates;
    for (const products::Classified& c : products::classify(p)) {
      emwin::bus::v1::Alert msg;
      products::toProto(c, p, msg);
      msg.set_filename(name);
      msg.set_file_sha256("sha-" + name);
      emwin::bus::v1::Alert copy;
      ASSERT_TRUE(copy.ParseFromString(msg.SerializeAsString()));
      updates.push_back(updateFromAlert(copy));
    }
    viaBus.emplace_back(p.issued_unix_s, std::move(updates));
  }
  std::sort(viaBus.begin(), viaBus.end(), [](const auto& x, const auto& y) {
    return x.first != y.first ? x.first < y.first : x.second.at(0).filename < y.second.at(0).filename;
  });
  for (const auto& [t, updates] : viaBus) d.apply(updates);
  EXPECT_EQ(d.snapshot(), snap);
}

}  // namespace
}  // namespace emwin::alerts
