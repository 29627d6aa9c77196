// emwin-gateway's parts without sockets: events built from real corpus
// products (classified as the alert classifier does), filters (every
// parameter, bad values, the point filter on a real warning polygon), the
// resume log, the file index against hostile names, and the Hub's fan-out,
// resume and slow-client handling over fake streams.
#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "event.h"
#include "event_log.h"
#include "file_index.h"
#include "file_classifier.h"
#include "filter.h"
#include "geo.h"
#include "hub.h"
#include "runtime/sha256.h"
#include "support/process.h"

namespace emwin::gateway {
namespace {

namespace v1 = emwin::bus::v1;

// ---------------------------------------------------------------- helpers

v1::CompletedFile corpusFile(const std::string& relative, const std::string& name) {
  v1::CompletedFile f;
  f.set_filename(name);
  f.set_data(test::readFile(std::string(EMWIN_CORPUS_DIR) + "/products/" + relative));
  EXPECT_FALSE(f.data().empty()) << relative;
  f.set_size_bytes(f.data().size());
  f.set_sha256(runtime::sha256Hex(std::string_view(f.data())));
  f.set_fd_unix_s(1700000000);
  return f;
}

// The alerts the classifier would publish for a corpus product.
std::vector<sinks::TopicAlert> classify(const std::string& relative) {
  sinks::FileClassifier c;
  sinks::FileResult r = c.classify(corpusFile(relative, "X.TXT"));
  EXPECT_EQ(r.outcome, sinks::FileOutcome::kClassified) << relative;
  EXPECT_FALSE(r.alerts.empty()) << relative;
  return r.alerts;
}

using Params = std::vector<std::pair<const char*, const char*>>;

http::Request query(const Params& params) {
  http::Request r;
  for (const auto& [k, v] : params) r.query.emplace(k, v);
  return r;
}

Filter mustParse(const Params& params) {
  std::string error;
  auto f = Filter::parse(query(params), error);
  EXPECT_TRUE(f.has_value()) << error;
  return f.value_or(Filter{});
}

// ---------------------------------------------------------------- events

TEST(EventIds, RoundTripAndRejectMalformed) {
  EXPECT_EQ(eventId(1700000000123456, 42), "1700000000123456-42");
  auto id = parseEventId("1700000000123456-42");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->first, 1700000000123456u);
  EXPECT_EQ(id->second, 42u);
  for (const char* bad : {"", "-", "12", "12-", "-12", "a-1", "1-b", "1-2-3", "1 -2", "99999999999999999999999-1"}) {
    EXPECT_FALSE(parseEventId(bad)) << bad;
  }
}

TEST(Tiers, NamesAndNumbers) {
  EXPECT_EQ(tierName(1), "emergency");
  EXPECT_EQ(tierName(2), "warning");
  EXPECT_EQ(tierName(6), "routine");
  EXPECT_EQ(tierName(0), "");
  EXPECT_EQ(parseTier("Warning"), 2);
  EXPECT_EQ(parseTier("3"), 3);
  EXPECT_FALSE(parseTier("severe"));
  EXPECT_FALSE(parseTier("0"));
}

TEST(AlertEvent, TornadoWarningFactsAndJsonFromTheRealProduct) {
  // TOROAX-0: a tornado observed near Council Bluffs, IA (Mills and Pottawattamie counties).
  const auto alerts = classify("tornado_warning/TOROAX-0.txt");
  const auto& a = alerts.front();
  const EventFacts f = alertFacts(a.alert, a.topic);
  EXPECT_EQ(f.topic, "alert.TO.W.KOAX");
  EXPECT_EQ(f.product_code, "TOR");
  EXPECT_EQ(f.awips_id, "TOROAX");
  EXPECT_NE(std::find(f.offices.begin(), f.offices.end(), "KOAX"), f.offices.end());
  EXPECT_NE(std::find(f.offices.begin(), f.offices.end(), "OAX"), f.offices.end());
  EXPECT_EQ(f.ugc, (std::vector<std::string>{"IAC129", "IAC155"}));
  EXPECT_EQ(f.states, std::vector<std::string>{"IA"});
  EXPECT_EQ(f.phenomenon, "TO");
  EXPECT_EQ(f.significance, "W");
  EXPECT_EQ(f.action, "NEW");
  EXPECT_EQ(f.tier, 2);
  EXPECT_FALSE(f.is_test);
  ASSERT_EQ(f.polygon.size(), 5u);  // 4 points, closed
  EXPECT_DOUBLE_EQ(f.polygon.front().lat, 41.00);
  EXPECT_DOUBLE_EQ(f.polygon.front().lon, -95.78);

  const Json j = alertJson(a.alert, a.topic, "KOAX.TO.W.0038.2024");
  EXPECT_EQ(j["event_key"], "KOAX.TO.W.0038.2024");
  EXPECT_EQ(j["event_name"], "Tornado Warning");
  EXPECT_EQ(j["tier"], "warning");
  EXPECT_EQ(j["issued"], "2024-04-26T21:59:00Z");
  EXPECT_EQ(j["ends"], "2024-04-26T23:00:00Z");
  EXPECT_EQ(j["polygon"].size(), 5u);
  EXPECT_EQ(j["threats"]["tornado"], "OBSERVED");
  EXPECT_EQ(j["motion"]["speed_kt"], 38);
  // Names and centres from the reference tables (data/reference).
  ASSERT_EQ(f.centroids.size(), 2u);
  EXPECT_NEAR(f.centroids[1].lat, 41.34, 0.1);  // Pottawattamie County
  EXPECT_EQ(j["areas"][0]["name"], "Mills");
  EXPECT_EQ(j["areas"][1]["name"], "Pottawattamie");
  EXPECT_EQ(j["office_name"], a.alert.office_name());
  EXPECT_FALSE(j["office_name"].get<std::string>().empty());
}

TEST(AlertEvent, VtecClassTIsATestMessage) {
  const auto alerts = classify("tornado_warning/TORILX.txt");
  for (const auto& a : alerts) EXPECT_TRUE(alertFacts(a.alert, a.topic).is_test) << a.topic;
}

TEST(FileEvent, HeadingOfATextProductAndNoneForBinaries) {
  const v1::CompletedFile f = corpusFile("tornado_warning/TOROAX-0.txt", "TOROAX00.TXT");
  const FileHeading h = readHeading(f);
  EXPECT_EQ(h.wmo_ttaaii, "WFUS53");
  EXPECT_EQ(h.wmo_cccc, "KOAX");
  EXPECT_EQ(h.awips_id, "TOROAX");
  EXPECT_EQ(h.product_code, "TOR");
  const EventFacts facts = fileFacts(f, "file.TXT.TOROAX00.TXT", h);
  EXPECT_EQ(facts.product_code, "TOR");
  EXPECT_NE(std::find(facts.offices.begin(), facts.offices.end(), "OAX"), facts.offices.end());
  const Json j = fileJson(f, "file.TXT.TOROAX00.TXT", h, true);
  EXPECT_EQ(j["url"], "/files/TOROAX00.TXT");
  EXPECT_EQ(j["size"], f.size_bytes());

  v1::CompletedFile gif;
  gif.set_filename("RADAR.GIF");
  gif.set_data(std::string("GIF89a\0\0\x01\x02", 10));
  EXPECT_TRUE(readHeading(gif).awips_id.empty());
  EXPECT_TRUE(fileJson(gif, "file.GIF.RADAR.GIF", readHeading(gif), false)["url"].is_null());
}

// ---------------------------------------------------------------- filters

struct BadParam {
  const char* name;
  const char* value;
};

class FilterRejects : public ::testing::TestWithParam<BadParam> {};

TEST_P(FilterRejects, BadValueIsAnErrorNamingTheParameter) {
  const BadParam& p = GetParam();
  std::string error;
  http::Request r;
  r.query.emplace(p.name, p.value);
  if (std::string(p.name) == "lat") r.query.emplace("lon", "-93");
  EXPECT_FALSE(Filter::parse(r, error)) << p.name << "=" << p.value;
  EXPECT_NE(error.find(p.name), std::string::npos) << error;
}

INSTANTIATE_TEST_SUITE_P(
    Table, FilterRejects,
    ::testing::Values(BadParam{"office", "K"}, BadParam{"office", "KDMXX"}, BadParam{"office", "K-MX"},
                      BadParam{"state", "IOWA"}, BadParam{"state", "1A"}, BadParam{"ugc", "IAC16"},
                      BadParam{"ugc", "IAX169"}, BadParam{"ugc", "IAC16A"}, BadParam{"phenomenon", "TORNADO"},
                      BadParam{"significance", "WW"}, BadParam{"action", "NEWS"}, BadParam{"min_tier", "severe"},
                      BadParam{"min_tier", "7"}, BadParam{"lat", "91"}, BadParam{"lat", "nan"},
                      BadParam{"lat", "41.5x"}, BadParam{"distance_km", "5"}, BadParam{"has_polygon", "maybe"},
                      BadParam{"test", "2"}, BadParam{"topic", "alert. TO"}, BadParam{"product", "T"},
                      BadParam{"awips", "TOR"}, BadParam{"officee", "KDMX"}),
    [](const ::testing::TestParamInfo<BadParam>& info) {
      std::string n = std::string(info.param.name) + "_" + std::to_string(info.index);
      return n;
    });

TEST(Filter, DistanceNeedsAPointAndLatNeedsLon) {
  std::string error;
  EXPECT_FALSE(Filter::parse(query({{"lat", "41"}}), error));
  EXPECT_NE(error.find("lat and lon"), std::string::npos) << error;
  EXPECT_FALSE(Filter::parse(query({{"distance_km", "10"}}), error));
  EXPECT_FALSE(Filter::parse(query({{"lat", "41"}, {"lon", "-93"}, {"distance_km", "-1"}}), error));
  EXPECT_TRUE(Filter::parse(query({{"lat", "41"}, {"lon", "-93"}, {"distance_km", "25.5"}}), error)) << error;
}

TEST(Filter, EveryCriterionOnTheRealTornadoWarning) {
  const auto a = classify("tornado_warning/TOROAX-0.txt").front();
  const EventFacts f = alertFacts(a.alert, a.topic);
  struct Case {
    Params params;
    bool match;
  };
  const std::vector<Case> cases = {
      {{}, true},
      {{{"topic", "alert.TO."}}, true},
      {{{"topic", "alert.SV.,alert.TO.W"}}, true},
      {{{"topic", "file."}}, false},
      {{{"product", "tor"}}, true},
      {{{"product", "SVR"}}, false},
      {{{"awips", "TOROAX"}}, true},
      {{{"awips", "TORDMX"}}, false},
      {{{"office", "KOAX"}}, true},
      {{{"office", "oax"}}, true},
      {{{"office", "KDMX"}}, false},
      {{{"state", "IA"}}, true},
      {{{"state", "NE,SD"}}, false},
      {{{"ugc", "IAC155,NEC055"}}, true},
      {{{"ugc", "NEC055"}}, false},
      {{{"phenomenon", "TO"}, {"significance", "W"}, {"action", "NEW"}}, true},
      {{{"action", "CAN,EXP"}}, false},
      {{{"min_tier", "warning"}}, true},
      {{{"min_tier", "emergency"}}, false},
      {{{"min_tier", "watch"}}, true},
      {{{"has_polygon", "true"}}, true},
      {{{"has_polygon", "false"}}, false},
      // Inside the LAT...LON polygon (between Glenwood and Council Bluffs, IA) ...
      {{{"lat", "41.3"}, {"lon", "-95.65"}}, true},
      // ... and 20 km east of it: outside, whatever the distance (a polygon is exact).
      {{{"lat", "41.3"}, {"lon", "-95.3"}, {"distance_km", "100"}}, false},
      {{{"state", "IA"}, {"office", "KDMX"}}, false},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(mustParse(cases[i].params).matches(f), cases[i].match) << "case " << i;
  }
}

TEST(Filter, FilesHaveNoUgcAndTestsNeedTestTrue) {
  const v1::CompletedFile file = corpusFile("tornado_warning/TOROAX-0.txt", "TOROAX00.TXT");
  const EventFacts ff = fileFacts(file, "file.TXT.TOROAX00.TXT", readHeading(file));
  EXPECT_TRUE(mustParse({{"product", "TOR"}}).matches(ff));
  EXPECT_TRUE(mustParse({{"office", "KOAX"}}).matches(ff));
  EXPECT_FALSE(mustParse({{"ugc", "IAC129"}}).matches(ff));
  EXPECT_FALSE(mustParse({{"min_tier", "routine"}}).matches(ff));
  const auto t = classify("tornado_warning/TORILX.txt").front();
  const EventFacts tf = alertFacts(t.alert, t.topic);
  EXPECT_FALSE(mustParse({}).matches(tf));
  EXPECT_FALSE(mustParse({{"topic", "alert.TO."}}).matches(tf));
  EXPECT_TRUE(mustParse({{"test", "true"}}).matches(tf));
}

TEST(Filter, CentroidDistanceForAlertsWithoutPolygon) {
  EventFacts f;
  f.topic = "alert.WS.W.KDMX";
  f.centroids = {{41.6859, -93.5735}};  // a county centre
  EXPECT_TRUE(mustParse({{"lat", "41.60"}, {"lon", "-93.60"}, {"distance_km", "15"}}).matches(f));
  EXPECT_FALSE(mustParse({{"lat", "41.60"}, {"lon", "-93.60"}, {"distance_km", "5"}}).matches(f));
  EXPECT_FALSE(mustParse({{"lat", "41.6859"}, {"lon", "-93.5735"}}).matches(f));  // distance 0: polygons only
}

TEST(Geo, PointInPolygonAndDistance) {
  const std::vector<GeoPoint> square = {{0, 0}, {0, 1}, {1, 1}, {1, 0}, {0, 0}};
  EXPECT_TRUE(pointInPolygon({0.5, 0.5}, square));
  EXPECT_FALSE(pointInPolygon({1.5, 0.5}, square));
  EXPECT_FALSE(pointInPolygon({0.5, 0.5}, std::vector<GeoPoint>{{0, 0}, {1, 1}}));
  EXPECT_NEAR(distanceKm({41.5868, -93.625}, {41.9779, -91.6656}), 168.0, 2.0);  // Des Moines - Cedar Rapids
  EXPECT_FALSE(validPoint({91, 0}));
  EXPECT_TRUE(validPoint({-90, 180}));
}

// ---------------------------------------------------------------- event log

EventPtr numbered(std::uint64_t seq, std::size_t size = 10) {
  auto e = std::make_shared<Event>();
  e->seq = seq;
  e->json = http::shareText(std::string(size, 'j'));
  e->sse = http::shareText(std::string(size, 's'));
  return e;
}

TEST(EventLog, BoundedByCountAndBytesOldestFirst) {
  EventLog log(5, 1u << 20);
  EXPECT_EQ(log.newest(), 0u);
  EXPECT_EQ(log.size(), 0u);
  for (std::uint64_t s = 1; s <= 8; ++s) log.push(numbered(s));
  EXPECT_EQ(log.size(), 5u);
  EXPECT_EQ(log.oldest(), 4u);
  EXPECT_EQ(log.newest(), 8u);
  EXPECT_EQ(log.evicted(), 3u);
  EXPECT_FALSE(log.at(3));
  EXPECT_EQ(log.at(4)->seq, 4u);
  EXPECT_EQ(log.at(8)->seq, 8u);
  EXPECT_FALSE(log.at(9));

  EventLog small(1000, 3 * numbered(1, 1000)->bytes());
  for (std::uint64_t s = 1; s <= 10; ++s) small.push(numbered(s, 1000));
  EXPECT_EQ(small.size(), 3u);
  EXPECT_LE(small.bytes(), 3 * numbered(1, 1000)->bytes());
}

// ---------------------------------------------------------------- file index

StoredFile stored(const std::string& name, std::size_t size, char fill = 'x') {
  StoredFile f;
  f.name = name;
  f.data.assign(size, fill);
  return f;
}

TEST(FileIndex, HostileNamesAreRefused) {
  FileIndex idx(10, 1 << 20, 1 << 20);
  for (const std::string& bad :
       {std::string(""), std::string("../etc/passwd"), std::string(".."), std::string(".hidden"),
        std::string("a/b.txt"), std::string("a\\b.txt"), std::string("x\0y", 3), std::string("a b.txt"),
        std::string("%2e%2e"), std::string("name\r\nSet-Cookie: x"), std::string("quote\".txt"),
        std::string(129, 'A'), std::string("\xc3\xa9t\xc3\xa9.txt")}) {
    EXPECT_FALSE(FileIndex::validName(bad)) << bad;
    EXPECT_EQ(idx.add(stored(bad, 10)), FileAdd::kBadName) << bad;
  }
  EXPECT_EQ(idx.size(), 0u);
  for (const std::string& good : {std::string("TORDMXIA.TXT"), std::string("a"), std::string("NPSA01US.ZIP"), std::string("x-y_z.1"), std::string(128, 'A')}) {
    EXPECT_TRUE(FileIndex::validName(good)) << good;
  }
}

TEST(FileIndex, NewestFirstSameNameReplacesBoundsEvict) {
  FileIndex idx(3, 1000, 600);
  EXPECT_EQ(idx.add(stored("A.TXT", 100, 'a')), FileAdd::kStored);
  EXPECT_EQ(idx.add(stored("B.TXT", 100, 'b')), FileAdd::kStored);
  EXPECT_EQ(idx.add(stored("A.TXT", 50, 'A')), FileAdd::kReplaced);
  EXPECT_EQ(idx.size(), 2u);
  EXPECT_EQ(idx.bytes(), 150u);
  EXPECT_EQ(idx.find("A.TXT")->data, std::string(50, 'A'));
  auto r = idx.recent(10);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0]->name, "A.TXT");
  EXPECT_EQ(idx.add(stored("C.TXT", 10)), FileAdd::kStored);
  EXPECT_EQ(idx.add(stored("D.TXT", 10)), FileAdd::kStored);  // over the count: B goes
  EXPECT_EQ(idx.find("B.TXT"), nullptr);
  EXPECT_EQ(idx.evicted(), 1u);
  EXPECT_EQ(idx.add(stored("BIG.GIF", 601)), FileAdd::kTooLarge);
  EXPECT_EQ(idx.add(stored("E.GIF", 600)), FileAdd::kStored);  // over the bytes: the oldest go
  EXPECT_LE(idx.bytes(), 1000u);
  EXPECT_NE(idx.find("E.GIF"), nullptr);
  EXPECT_EQ(FileIndex::contentType("X.GIF"), "image/gif");
  EXPECT_EQ(FileIndex::contentType("x.txt"), "text/plain; charset=utf-8");
  EXPECT_EQ(FileIndex::contentType("noext"), "application/octet-stream");
}

// ---------------------------------------------------------------- hub

// A stream whose writes complete only when the test says so.
class FakeStream : public http::StreamConnection {
 public:
  FakeStream(asio::io_context& io, http::StreamOptions o) : StreamConnection(io.get_executor(), o, "fake") {}
  http::StreamProtocol protocol() const noexcept override { return http::StreamProtocol::kSse; }
  // Completes writes until the queue is empty (or `max` messages were written).
  void drain(std::size_t max = SIZE_MAX) {
    std::size_t n = 0;
    while (writing_ && n < max) {
      std::vector<http::SharedText> batch;
      batch.swap(inflight_);
      std::size_t bytes = 0;
      for (const auto& m : batch) {
        written.push_back(*m);
        bytes += m->size();
      }
      n += batch.size();
      writeFinished({}, batch.size(), bytes);
    }
  }
  std::vector<std::string> written;

 protected:
  void startWrite() override {
    if (writing_ || pending_.empty()) return;
    inflight_.swap(pending_);
    markWriting();
  }
  void heartbeat() override {}
  void shutdownTransport(http::CloseReason) override {}

 private:
  std::vector<http::SharedText> inflight_;
};

// Event types and ids ("hello", "gap", "alert 7") of what a fake stream got.
std::vector<std::string> kinds(const FakeStream& s) {
  std::vector<std::string> out;
  for (const auto& frame : s.written) {
    const auto ev = frame.find("event: ");
    if (ev == std::string::npos) continue;
    std::string name = frame.substr(ev + 7, frame.find('\n', ev) - ev - 7);
    const auto id = frame.find("id: ");
    if (id != std::string::npos) name += " " + frame.substr(frame.find('-', id) + 1, frame.find('\n', id) - frame.find('-', id) - 1);
    out.push_back(name);
  }
  return out;
}

EventFacts factsFor(const std::string& state) {
  EventFacts f;
  f.topic = "alert.TO.W.KDMX";
  f.states = {state};
  f.tier = 2;
  return f;
}

class HubTest : public ::testing::Test {
 protected:
  std::shared_ptr<FakeStream> stream(std::size_t max_messages = 100) {
    http::StreamOptions o;
    o.max_queue_messages = max_messages;
    return std::make_shared<FakeStream>(io_, o);
  }
  void publish(int n, const std::string& state = "IA") {
    for (int i = 0; i < n; ++i) hub_->publish(EventKind::kAlert, factsFor(state), Json{{"n", i}});
  }
  asio::io_context io_;
  std::unique_ptr<Hub> hub_ = std::make_unique<Hub>(HubOptions{100, 20, 1u << 20}, 777);
};

TEST_F(HubTest, LiveClientsGetWhatTheirFilterMatchesInOrder) {
  auto all = stream();
  auto iowa = stream();
  hub_->attach(all, Filter{}, std::nullopt);
  Filter f;
  f.states = {"IA"};
  hub_->attach(iowa, f, std::nullopt);
  hub_->publish(EventKind::kAlert, factsFor("IA"), Json::object());
  hub_->publish(EventKind::kAlert, factsFor("NE"), Json::object());
  hub_->publish(EventKind::kAlert, factsFor("IA"), Json::object());
  all->drain();
  iowa->drain();
  EXPECT_EQ(kinds(*all), (std::vector<std::string>{"hello", "alert 1", "alert 2", "alert 3"}));
  EXPECT_EQ(kinds(*iowa), (std::vector<std::string>{"hello", "alert 1", "alert 3"}));
  EXPECT_EQ(hub_->stats().deliveries, 5u);
  EXPECT_NE(all->written[1].find("\"id\":\"777-1\""), std::string::npos) << all->written[1];
}

TEST_F(HubTest, ResumeReplaysExactlyWhatFollowsTheLastEventId) {
  publish(12);
  Filter f;
  f.states = {"IA"};
  auto s = stream();
  hub_->attach(s, f, std::string("777-9"));
  s->drain();
  publish(1);
  s->drain();
  EXPECT_EQ(kinds(*s), (std::vector<std::string>{"hello", "alert 10", "alert 11", "alert 12", "alert 13"}));
  EXPECT_EQ(hub_->stats().resumed, 1u);
  EXPECT_EQ(hub_->stats().gap_notices, 0u);
}

TEST_F(HubTest, ResumeBeyondRetentionIsToldHowManyItMissed) {
  publish(50);  // retention 20: 31..50 kept
  auto s = stream();
  hub_->attach(s, Filter{}, std::string("777-5"));
  s->drain();
  const auto k = kinds(*s);
  ASSERT_GE(k.size(), 3u);
  EXPECT_EQ(k[0], "hello");
  EXPECT_EQ(k[1], "gap");
  EXPECT_NE(s->written[1].find("\"missed\":25"), std::string::npos) << s->written[1];  // 6..30
  EXPECT_EQ(k[2], "alert 31");
  EXPECT_EQ(k.back(), "alert 50");
  EXPECT_EQ(k.size(), 22u);
  EXPECT_EQ(hub_->stats().missed_reported, 25u);
}

TEST_F(HubTest, IdOfAnEarlierGatewayGetsRestartNoticeAndAllRetained) {
  publish(3);
  auto s = stream();
  hub_->attach(s, Filter{}, std::string("111-400"));
  s->drain();
  EXPECT_EQ(kinds(*s), (std::vector<std::string>{"hello", "gap", "alert 1", "alert 2", "alert 3"}));
  EXPECT_NE(s->written[1].find("gateway_restarted"), std::string::npos);
  auto bad = stream();
  hub_->attach(bad, Filter{}, std::string("garbage"));
  bad->drain();
  EXPECT_EQ(kinds(*bad), (std::vector<std::string>{"hello", "gap"}));
  EXPECT_EQ(hub_->stats().bad_event_ids, 1u);
}

TEST_F(HubTest, CatchUpIsPacedByTheClientsQueueThenGoesLive) {
  hub_ = std::make_unique<Hub>(HubOptions{100, 1000, 1u << 20}, 777);
  publish(100);
  auto s = stream(10);  // catch-up fills at most half of 10
  hub_->attach(s, Filter{}, std::string("777-0"));
  EXPECT_LE(s->queuedMessages(), 5u);
  EXPECT_EQ(hub_->stats().clients_catching_up, 1u);
  s->drain();  // each drain tops up again, until caught up
  EXPECT_EQ(hub_->stats().clients_catching_up, 0u);
  publish(1);
  s->drain();
  const auto k = kinds(*s);
  ASSERT_EQ(k.size(), 102u);
  for (int i = 1; i <= 101; ++i) EXPECT_EQ(k[i], "alert " + std::to_string(i));
}

TEST_F(HubTest, StatsSnapshotsGoLiveWithoutIdAndAreNotRetained) {
  auto stats_client = stream();
  auto alerts_client = stream();
  Filter only_stats;
  only_stats.topics = {"stats."};
  Filter only_alerts;
  only_alerts.topics = {"alert."};
  hub_->attach(stats_client, only_stats, std::nullopt);
  hub_->attach(alerts_client, only_alerts, std::nullopt);
  EventFacts f;
  f.topic = "stats.summary";
  hub_->broadcast(EventKind::kStats, f, Json{{"services", Json::array()}});
  publish(1);
  stats_client->drain();
  alerts_client->drain();
  EXPECT_EQ(kinds(*stats_client), (std::vector<std::string>{"hello", "stats"}));
  EXPECT_EQ(stats_client->written[1].find("id: "), std::string::npos);
  EXPECT_EQ(kinds(*alerts_client), (std::vector<std::string>{"hello", "alert 1"}));  // the alert is event 1
  EXPECT_EQ(hub_->log().size(), 1u);
  EXPECT_EQ(hub_->stats().events[static_cast<std::size_t>(EventKind::kStats)], 1u);
}

TEST_F(HubTest, ALiveClientThatCannotKeepUpIsDroppedAndCounted) {
  auto slow = stream(8);
  auto fast = stream(8);
  hub_->attach(slow, Filter{}, std::nullopt);
  hub_->attach(fast, Filter{}, std::nullopt);
  for (int i = 0; i < 20; ++i) {
    publish(1);
    fast->drain();
  }
  io_.poll();  // close handlers are posted
  EXPECT_FALSE(slow->isOpen());
  EXPECT_TRUE(fast->isOpen());
  const HubStats st = hub_->stats();
  EXPECT_EQ(st.closed[static_cast<std::size_t>(http::CloseReason::kQueueFull)], 1u);
  EXPECT_EQ(st.clients_sse, 1u);
  EXPECT_EQ(kinds(*fast).size(), 21u);
}

}  // namespace
}  // namespace emwin::gateway
