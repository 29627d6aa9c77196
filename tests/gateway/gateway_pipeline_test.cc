// emwin-gateway against a sim-fed pipeline of real processes on 127.0.0.1:
// emwin-sim → ingest → assembler → alert-classifier → stats, and two
// gateways following the taps. Real corpus products flow through; the test
// checks every filter against an independent reading of the unfiltered
// stream (and hand-checked expectations: the point inside TOROAX's polygon,
// the TEST warning never live), resume with Last-Event-ID, a gap notice with
// the exact number missed, a client that stops reading being dropped and
// counted while the others get everything, WebSocket, /files downloads
// (bytes equal to what the simulator sent; hostile names refused),
// /alerts/active at the feed's time and /alerts/<key>, /metrics and /healthz.
#include <cmath>
#include <filesystem>
#include <set>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include "file_classifier.h"
#include "gateway_client.h"
#include "integration_bus/pipeline_harness.h"
#include "runtime/sha256.h"

namespace emwin::test {
namespace {

namespace v1 = emwin::bus::v1;

// The products the simulator serves (copied into a directory of their own).
const std::vector<std::string> kProducts = {
    "tornado_warning/TOROAX-0.txt",                 // tornado warning, polygon, IAC129/IAC155, KOAX
    "tornado_warning/TORILX.txt",                   // a TEST tornado warning: never live
    "severe_thunderstorm_warning/SVRLMK.txt",       // polygon, KLMK
    "flash_flood_warning/FFWOKX-1.txt",             // polygon, KOKX
    "winter_weather_message/WSWDMX-WSW_00.txt",     // zones (no polygon), KDMX, several events
    "watch_county_notification/WCN-WCNMPX.txt",     // counties, no polygon
    "special_weather_statement/SPS-SPSJAX.txt",     // statement
    "flood_warning/FLWGRB.txt",                     // open-ended river flood warning
    "tabular_state_forecast/SFTPIHID.TXT",          // routine product
};

std::string productsDir() {
  const std::string dir = makeTempDir("emwin-gw-products");
  for (const auto& rel : kProducts) {
    std::filesystem::copy_file(std::string(EMWIN_CORPUS_DIR) + "/products/" + rel,
                               dir + "/" + std::filesystem::path(rel).filename().string());
  }
  return dir;
}

// How many alerts (live, test) the classifier makes of the products.
std::pair<std::size_t, std::size_t> expectedAlerts() {
  sinks::FileClassifier c;
  std::size_t live = 0, test = 0;
  for (const auto& rel : kProducts) {
    v1::CompletedFile f;
    f.set_filename("X.TXT");
    f.set_data(readFile(std::string(EMWIN_CORPUS_DIR) + "/products/" + rel));
    f.set_fd_unix_s(std::time(nullptr));
    for (const auto& a : c.classify(f).alerts) {
      const bool is_test = a.topic.rfind("test.", 0) == 0 || a.alert.vtec_product_class() == "T";
      (is_test ? test : live) += 1;
    }
  }
  return {live, test};
}

bool contains(const Json& array, const std::string& value) {
  if (!array.is_array()) return false;
  for (const auto& v : array) {
    if (v.is_string() && v.get<std::string>() == value) return true;
  }
  return false;
}

// Even-odd rule on [[lat, lon], ...] (the test's own, independent of the gateway's).
bool inside(const Json& polygon, double lat, double lon) {
  if (!polygon.is_array() || polygon.size() < 3) return false;
  bool in = false;
  for (std::size_t i = 0, j = polygon.size() - 1; i < polygon.size(); j = i++) {
    const double yi = polygon[i][0], xi = polygon[i][1], yj = polygon[j][0], xj = polygon[j][1];
    if ((yi > lat) != (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi) in = !in;
  }
  return in;
}

double km(double lat1, double lon1, double lat2, double lon2) {
  const double r = M_PI / 180, dlat = (lat2 - lat1) * r, dlon = (lon2 - lon1) * r;
  const double h = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(lat1 * r) * std::cos(lat2 * r) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * 6371.0088 * std::asin(std::min(1.0, std::sqrt(h)));
}

// The point rule: inside the polygon when there is one, else a listed area's centre within `d` km.
bool atPoint(const Json& a, double lat, double lon, double d) {
  if (a["polygon"].size() >= 3) return inside(a["polygon"], lat, lon);
  for (const auto& z : a["areas"]) {
    if (z["lat"].is_number() && km(lat, lon, z["lat"], z["lon"]) <= d) return true;
  }
  return false;
}

std::string officeOf(const std::string& code) { return code.size() == 4 ? code.substr(1) : code; }

bool officeMatches(const SseEvent& e, const std::string& want) {
  const Json j = e.json();
  for (const char* field : {"office"}) {
    if (j.contains(field) && j[field].is_string() && officeOf(j[field]) == want) return true;
  }
  if (j.contains("wmo") && officeOf(j["wmo"].value("cccc", "")) == want) return true;
  const std::string awips = j.value("awips_id", "");
  return awips.size() > 3 && awips.substr(3) == want;
}

// One filtered client and what it should get, decided from the unfiltered stream.
struct Case {
  std::string query;
  std::function<bool(const SseEvent&)> wants;
  std::unique_ptr<SseClient> client;
};

std::vector<Case> cases() {
  auto alert = [](const SseEvent& e) { return e.event == "alert"; };
  std::vector<Case> v;
  auto add = [&](std::string q, std::function<bool(const SseEvent&)> f) { v.push_back({std::move(q), std::move(f), {}}); };
  add("topic=alert.TO.", [=](const SseEvent& e) { return alert(e) && e.json()["topic"].get<std::string>().rfind("alert.TO.", 0) == 0; });
  add("topic=file.", [](const SseEvent& e) { return e.event == "file"; });
  add("topic=stats.summary", [](const SseEvent& e) { return e.event == "stats"; });
  add("product=TOR", [](const SseEvent& e) { return e.event != "stats" && e.json().value("product_code", "") == "TOR"; });
  add("awips=FFWOKX", [](const SseEvent& e) { return e.event != "stats" && e.json().value("awips_id", "") == "FFWOKX"; });
  add("office=KDMX", [](const SseEvent& e) { return e.event != "stats" && officeMatches(e, "DMX"); });
  add("office=oax", [](const SseEvent& e) { return e.event != "stats" && officeMatches(e, "OAX"); });
  add("state=IA", [=](const SseEvent& e) {
    if (!alert(e)) return false;
    const Json j = e.json();
    for (const auto& u : j["ugc"]) {
      if (u.get<std::string>().rfind("IA", 0) == 0) return true;
    }
    return false;
  });
  add("ugc=IAC155", [=](const SseEvent& e) { return alert(e) && contains(e.json()["ugc"], "IAC155"); });
  add("ugc=IAZ049,IAZ050", [=](const SseEvent& e) {
    return alert(e) && (contains(e.json()["ugc"], "IAZ049") || contains(e.json()["ugc"], "IAZ050"));
  });
  add("phenomenon=FL&significance=W", [=](const SseEvent& e) {
    return alert(e) && e.json()["phenomenon"] == "FL" && e.json()["significance"] == "W";
  });
  add("action=UPG,EXB", [=](const SseEvent& e) {
    return alert(e) && (e.json()["action"] == "UPG" || e.json()["action"] == "EXB");
  });
  add("min_tier=warning", [=](const SseEvent& e) {
    const int t = alert(e) ? e.json()["tier_level"].get<int>() : 0;
    return t >= 1 && t <= 2;
  });
  add("has_polygon=true", [=](const SseEvent& e) { return alert(e) && e.json()["polygon"].size() >= 3; });
  add("has_polygon=false&topic=alert.", [=](const SseEvent& e) { return alert(e) && e.json()["polygon"].size() < 3; });
  // Inside TOROAX-0's LAT...LON polygon, between Glenwood and Council Bluffs, IA.
  add("lat=41.3&lon=-95.65", [=](const SseEvent& e) { return alert(e) && inside(e.json()["polygon"], 41.3, -95.65); });
  // Near Marshalltown, IA: the Marshall County zone (IAZ049) centre is 7 km away, no other within 15.
  add("lat=42.04&lon=-92.91&distance_km=15", [=](const SseEvent& e) {
    return alert(e) && atPoint(e.json(), 42.04, -92.91, 15);
  });
  add("office=KOAX&min_tier=warning&topic=alert.", [=](const SseEvent& e) {
    return alert(e) && officeMatches(e, "OAX") && e.json()["tier_level"].get<int>() <= 2;
  });
  return v;
}

std::set<std::string> ids(const std::vector<SseEvent>& events) {
  std::set<std::string> out;
  for (const auto& e : events) out.insert(e.id);
  return out;
}

// Waits until /healthz says both gateways hear the alert and file taps.
bool tapsHeard(int port) {
  return waitUntil(
      [&] {
        const Json h = httpGet(port, "/healthz").json();
        return h.is_object() && h["inputs"]["alerts"]["heard"] == true && h["inputs"]["files"]["heard"] == true &&
               h["inputs"]["stats"]["heard"] == true;
      },
      20s);
}

TEST(GatewayPipeline, FiltersResumeSlowClientsWebSocketFilesAndActiveAlerts) {
  PipelineConfig cfg;
  cfg.classifier = true;
  cfg.products = productsDir();
  cfg.sim_args = {"--once", "--rate", "2000fps"};
  Pipeline p(cfg);
  p.startConsumers();
  const std::vector<std::string> taps = {"--alerts", p.classifierTap(), "--files", p.assemblerTap(), "--stats",
                                         p.statsTap(), "--clock", "feed"};
  std::unique_ptr<Process> gw, small;
  const int port = startGateway(gw, taps, p.dir(), "gateway");
  ASSERT_GT(port, 0) << (gw ? gw->text(Stream::kStderr) : "");
  std::vector<std::string> small_args = taps;
  small_args.insert(small_args.end(), {"--retention", "4", "--client-queue", "64", "--client-queue-kb", "256",
                                       "--client-sndbuf-kb", "4", "--write-timeout-ms", "3000"});
  const int small_port = startGateway(small, small_args, p.dir(), "gateway-small");
  ASSERT_GT(small_port, 0) << (small ? small->text(Stream::kStderr) : "");
  ASSERT_TRUE(tapsHeard(port)) << httpGet(port, "/healthz").body;
  ASSERT_TRUE(tapsHeard(small_port)) << httpGet(small_port, "/healthz").body;

  // Every client is attached before the first product is sent.
  SseClient all(port, "/events");
  SseClient with_tests(port, "/events?test=true");
  auto filtered = cases();
  for (auto& c : filtered) c.client = std::make_unique<SseClient>(port, "/events?" + c.query);
  SseClient slow(small_port, "/events", {}, 2048);  // never reads
  SseClient fast(small_port, "/events?topic=alert.,file.");
  ASSERT_TRUE(all.waitForEvent("hello"));
  EXPECT_NE(all.head().find("Content-Type: text/event-stream"), std::string::npos) << all.head();
  EXPECT_NE(all.head().find("Access-Control-Allow-Origin: *"), std::string::npos) << all.head();
  ASSERT_TRUE(with_tests.waitForEvent("hello"));
  for (auto& c : filtered) ASSERT_TRUE(c.client->waitForEvent("hello")) << c.query << " " << c.client->head();
  ASSERT_TRUE(fast.waitForEvent("hello"));

  p.startFeed();
  const auto [live_alerts, test_alerts] = expectedAlerts();
  ASSERT_GT(live_alerts, 10u);
  ASSERT_GE(test_alerts, 1u);
  ASSERT_TRUE(p.waitSimDone(60s)) << p.logs();
  const SimManifest sent = parseSent(p.sim());
  auto pumpAll = [&] {
    all.pump();
    with_tests.pump();
    fast.pump();
    for (auto& c : filtered) c.client->pump();
  };
  ASSERT_TRUE(waitUntil(
      [&] {
        pumpAll();
        return all.count("alert") >= live_alerts && with_tests.count("alert") >= live_alerts + test_alerts &&
               all.count("file") >= sent.distinct.size();
      },
      60s))
      << "alerts " << all.count("alert") << "/" << live_alerts << ", with tests " << with_tests.count("alert")
      << ", files " << all.count("file") << "/" << sent.distinct.size() << "\n"
      << p.logs() << gw->text(Stream::kStderr);
  pumpAll();
  EXPECT_EQ(all.count("alert"), live_alerts);
  EXPECT_EQ(with_tests.count("alert"), live_alerts + test_alerts);

  // The TEST warning is never live; with test=true it comes marked.
  std::size_t marked = 0;
  for (const auto& e : all.of("alert")) EXPECT_FALSE(e.json()["is_test"].get<bool>()) << e.data;
  for (const auto& e : with_tests.of("alert")) marked += e.json()["is_test"].get<bool>();
  EXPECT_EQ(marked, test_alerts);

  // Every filter: exactly what the unfiltered stream says it should be (the
  // last event the `all` client saw bounds the comparison: stats keep coming).
  const auto everything = all.of();
  std::uint64_t last_seq = 0;
  for (const auto& e : everything) {
    if (!e.id.empty()) last_seq = std::stoull(e.id.substr(e.id.find('-') + 1));
  }
  auto upTo = [&](const std::vector<SseEvent>& evs) {
    std::vector<SseEvent> out;
    for (const auto& e : evs) {
      if (!e.id.empty() && std::stoull(e.id.substr(e.id.find('-') + 1)) <= last_seq) out.push_back(e);
    }
    return out;
  };
  for (auto& c : filtered) {
    std::vector<SseEvent> want;
    for (const auto& e : everything) {
      if (!e.id.empty() && c.wants(e)) want.push_back(e);
    }
    const auto got = upTo(c.client->of());
    EXPECT_EQ(ids(got), ids(want)) << c.query << ": got " << got.size() << ", want " << want.size();
    EXPECT_EQ(got.size(), ids(got).size()) << c.query << ": duplicates";
  }
  // Stats snapshots have no id (not retained); the stats client got them and nothing else.
  for (auto& c : filtered) {
    if (c.query != "topic=stats.summary") continue;
    EXPECT_GE(c.client->count("stats"), 1u);
    EXPECT_EQ(c.client->count("stats") + c.client->count("hello"), c.client->of().size());
    EXPECT_TRUE(c.client->of("stats")[0].id.empty());
    EXPECT_TRUE(c.client->of("stats")[0].json()["services"].is_array());
  }
  // Hand-checked: the point inside TOROAX-0's polygon gets that tornado warning and nothing else.
  for (auto& c : filtered) {
    if (c.query != "lat=41.3&lon=-95.65") continue;
    const auto got = c.client->of("alert");
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].json()["awips_id"], "TOROAX");
    EXPECT_EQ(got[0].json()["vtec"], "/O.NEW.KOAX.TO.W.0038.240426T2159Z-240426T2300Z/");
  }

  // Hand-checked: near Marshalltown the alerts of the segment naming IAZ049 (Marshall) match by its centre.
  for (auto& c : filtered) {
    if (c.query != "lat=42.04&lon=-92.91&distance_km=15") continue;
    const auto got = c.client->of("alert");
    ASSERT_FALSE(got.empty());
    for (const auto& e : got) {
      const Json j = e.json();
      EXPECT_TRUE(contains(j["ugc"], "IAZ049")) << j.dump();
      EXPECT_EQ(j["polygon"].size(), 0u);
    }
  }

  // Resume: a client coming back with the id of the 5th event gets exactly
  // what followed it, in order.
  const std::string resume_id = everything[5].id;
  SseClient resumed(port, "/events", {"Last-Event-ID: " + resume_id});
  {
    std::vector<std::string> want, got;
    for (std::size_t i = 6; i < everything.size(); ++i) {
      if (!everything[i].id.empty()) want.push_back(everything[i].id);
    }
    ASSERT_TRUE(resumed.waitFor([&] { return upTo(resumed.of()).size() >= want.size(); })) << resumed.of().size();
    for (const auto& e : upTo(resumed.of())) got.push_back(e.id);
    EXPECT_EQ(got, want);
    EXPECT_EQ(resumed.count("gap"), 0u);
  }

  // A resume older than the small gateway's retention (4 events) is told how many it missed.
  {
    SseClient hello_only(small_port, "/events?topic=none.");
    ASSERT_TRUE(hello_only.waitForEvent("hello"));
    const std::string epoch = std::to_string(hello_only.of("hello")[0].json()["epoch"].get<std::uint64_t>());
    SseClient behind(small_port, "/events", {"Last-Event-ID: " + epoch + "-1"});
    ASSERT_TRUE(behind.waitForEvent("gap"));
    const Json hello = behind.of("hello")[0].json();
    const Json gap = behind.of("gap")[0].json();
    const std::string newest = hello["newest_id"];
    const std::uint64_t n = std::stoull(newest.substr(newest.find('-') + 1));
    EXPECT_EQ(gap["reason"], "retention");
    EXPECT_EQ(gap["missed"].get<std::uint64_t>(), n - 5) << gap.dump();  // kept: n-3..n; asked from 2
  }

  // The client that never read was dropped (and counted); the one reading got every alert and file.
  ASSERT_TRUE(waitUntil(
      [&] {
        fast.pump();
        const std::string m = httpGet(small_port, "/metrics").body;
        return metric(m, "emwin_gateway_clients_closed_total{reason=\"queue_full\"}") +
                   metric(m, "emwin_gateway_clients_closed_total{reason=\"write_timeout\"}") >=
               1;
      },
      30s))
      << httpGet(small_port, "/metrics").body;
  ASSERT_TRUE(fast.waitFor([&] { return fast.count("alert") >= live_alerts; }));
  EXPECT_EQ(fast.count("alert"), live_alerts);
  EXPECT_EQ(fast.count("file"), all.count("file"));
  EXPECT_FALSE(fast.closed());
  {
    const std::string m = httpGet(small_port, "/metrics").body;
    EXPECT_EQ(metric(m, "emwin_gateway_clients{protocol=\"sse\"}"), 1) << m;  // fast (hello_only/behind left)
  }

  // WebSocket: a filtered stream resumed from the first id replays the Iowa alerts as text messages.
  {
    namespace beast = boost::beast;
    boost::asio::io_context io;
    beast::websocket::stream<boost::asio::ip::tcp::socket> ws(io);
    ws.next_layer().connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    timeval tv{20, 0};  // a missing message fails the test instead of hanging it
    ::setsockopt(ws.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const std::string epoch = std::to_string(all.of("hello")[0].json()["epoch"].get<std::uint64_t>());
    ws.handshake("127.0.0.1", "/ws?state=IA&last_event_id=" + epoch + "-0");
    std::vector<Json> got;
    std::size_t want = 0;
    for (auto& c : filtered) {
      if (c.query == "state=IA") want = c.client->count("alert");
    }
    ASSERT_GT(want, 2u);
    while (got.size() < want + 1) {
      beast::flat_buffer b;
      ws.read(b);
      got.push_back(Json::parse(beast::buffers_to_string(b.data())));
    }
    EXPECT_EQ(got[0]["type"], "hello");
    for (std::size_t i = 1; i < got.size(); ++i) {
      EXPECT_EQ(got[i]["type"], "alert");
      bool iowa = false;
      for (const auto& u : got[i]["ugc"]) iowa = iowa || u.get<std::string>().rfind("IA", 0) == 0;
      EXPECT_TRUE(iowa) << got[i].dump();
    }
    ws.close(beast::websocket::close_code::normal);
  }

  // /files: every product the simulator sent, downloadable byte for byte.
  {
    const Json files = httpGet(port, "/files?limit=1000").json();
    ASSERT_TRUE(files.is_object()) << httpGet(port, "/files").body;
    std::set<std::string> listed;
    for (const auto& f : files["files"]) listed.insert(f["name"]);
    for (const auto& [name, sha] : sent.distinct) {
      EXPECT_TRUE(listed.count(name)) << name;
      const HttpReply r = httpGet(port, "/files/" + name);
      EXPECT_EQ(r.status, 200) << name;
      EXPECT_EQ(runtime::sha256Hex(std::string_view(r.body)), sha) << name;
      EXPECT_NE(r.head.find("Content-Type: text/plain"), std::string::npos) << r.head;
    }
    const Json tor = httpGet(port, "/files?product=TOR").json();
    EXPECT_EQ(tor["count"], 2) << tor.dump();  // TOROAX-0 and the TEST TORILX
    for (const char* hostile : {"/files/..%2F..%2Fetc%2Fpasswd", "/files/%2e%2e", "/files/.hidden", "/files/a%00b",
                                "/files/a%2Fb", "/files/%22quoted%22"}) {
      EXPECT_EQ(httpGet(port, hostile).status, 400) << hostile;
    }
    EXPECT_EQ(httpGet(port, "/files/NOSUCH00.TXT").status, 404);
    EXPECT_EQ(httpGet(port, "/files?limit=0").status, 400);
    EXPECT_EQ(httpGet(port, "/files?ugc=bogus").status, 400);
  }

  // Active alerts (the active-state library): at the feed's time by default ...
  {
    std::int64_t latest = 0;
    std::set<std::string> keys;
    for (const auto& e : with_tests.of("alert")) {
      latest = std::max<std::int64_t>(latest, e.json()["issued_unix_s"].get<std::int64_t>());
      if (!e.json()["event_key"].get<std::string>().empty()) keys.insert(e.json()["event_key"]);
    }
    const Json active = httpGet(port, "/alerts/active").json();
    ASSERT_TRUE(active.is_object()) << httpGet(port, "/alerts/active").body;
    EXPECT_EQ(active["clock"], "feed");
    EXPECT_EQ(active["at_unix_s"].get<std::int64_t>(), latest);
    ASSERT_GT(active["count"].get<int>(), 0) << active.dump();
    for (const auto& a : active["alerts"]) {
      EXPECT_TRUE(keys.count(a["key"])) << a["key"];
      EXPECT_NE(a["tier"], "test");
    }
    EXPECT_EQ(httpGet(port, "/alerts/active?at=" + std::to_string(latest)).json()["alerts"], active["alerts"]);
    // ... and at any time asked: TOROAX-0's warning was in effect 2024-04-26 21:59Z-23:00Z.
    const Json then = httpGet(port, "/alerts/active?at=2024-04-26T22:30Z").json();
    ASSERT_EQ(then["count"], 1) << then.dump();
    EXPECT_EQ(then["alerts"][0]["key"], "KOAX.TO.W.0038.2024");
    EXPECT_EQ(then["alerts"][0]["polygon"].size(), 5u);
    EXPECT_EQ(then["alerts"][0]["areas"][1]["name"], "Pottawattamie");
    EXPECT_EQ(httpGet(port, "/alerts/active?at=2024-04-26T23:30Z").json()["count"], 0);
    EXPECT_EQ(httpGet(port, "/alerts/active?at=2024-04-26T22:30Z&lat=41.3&lon=-95.65").json()["count"], 1);
    EXPECT_EQ(httpGet(port, "/alerts/active?at=2024-04-26T22:30Z&lat=41.3&lon=-95.3&distance_km=50").json()["count"], 0);
    EXPECT_EQ(httpGet(port, "/alerts/active?at=2024-04-26T22:30Z&state=NE").json()["count"], 0);
    // A real zone: the freezing rain advisory extended into Marshall County (IAZ049) on 2013-01-27,
    // found near Marshalltown by the zone's centre.
    const Json zone = httpGet(port, "/alerts/active?at=2013-01-27T15:00Z&lat=42.04&lon=-92.91&distance_km=15").json();
    ASSERT_EQ(zone["count"], 1) << zone.dump();
    EXPECT_EQ(zone["alerts"][0]["key"], "KDMX.ZR.Y.0001.2013");
    EXPECT_EQ(zone["alerts"][0]["matched_by"], "centroid");
    EXPECT_EQ(zone["alerts"][0]["matched_ugc"], "IAZ049");
    EXPECT_EQ(httpGet(port, "/alerts/active?at=2013-01-27T15:00Z&lat=42.04&lon=-92.91&distance_km=5").json()["count"], 0);
    // One event with its history.
    const HttpReply ev = httpGet(port, "/alerts/KOAX.TO.W.0038.2024");
    ASSERT_EQ(ev.status, 200) << ev.body;
    EXPECT_EQ(ev.json()["history"][0]["action"], "NEW");
    EXPECT_EQ(ev.json()["in_effect"], false);
    EXPECT_EQ(httpGet(port, "/alerts/KOAX.TO.W.0039.2024").status, 404);
    EXPECT_EQ(httpGet(port, "/alerts/not-a-key").status, 400);
    EXPECT_EQ(httpGet(port, "/alerts/active?at=yesterday").status, 400);
    // The TEST warning never entered the active state.
    EXPECT_EQ(httpGet(port, "/alerts/active?at=2015-03-03T16:05Z&state=IL").json()["count"], 0);
  }

  // Health and metrics: nothing missed on the taps; every event counted.
  {
    const HttpReply h = httpGet(port, "/healthz");
    EXPECT_EQ(h.status, 200) << h.body;
    const std::string m = httpGet(port, "/metrics").body;
    EXPECT_EQ(metric(m, "emwin_gateway_bus_missed_total{tap=\"alerts\"}"), 0) << m;
    EXPECT_EQ(metric(m, "emwin_gateway_bus_missed_total{tap=\"files\"}"), 0) << m;
    EXPECT_EQ(metric(m, "emwin_gateway_events_total{kind=\"alert\"}"), static_cast<double>(live_alerts + test_alerts));
    EXPECT_GE(metric(m, "emwin_gateway_events_total{kind=\"file\"}"), static_cast<double>(sent.distinct.size()));
    EXPECT_GE(metric(m, "emwin_gateway_clients_resumed_total"), 2);
    EXPECT_EQ(httpGet(port, "/events?min_tier=severe").status, 400);
    EXPECT_EQ(httpGet(port, "/ws").status, 426);
    EXPECT_EQ(httpGet(port, "/nope").status, 404);
  }

  // A clean stop: exit 0, streams closed.
  gw->signal(SIGTERM);
  const auto code = gw->waitExit(10s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << gw->text(Stream::kStderr);
  EXPECT_TRUE(all.waitFor([&] { return all.closed(); }, 5s));
}

}  // namespace
}  // namespace emwin::test
