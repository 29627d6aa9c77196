// The archive library (Writer, Reader, both backends) on the real corpus:
// every test runs against SQLite and against a real PostgreSQL server that
// the test starts itself (initdb + pg_ctl, postgres_server.h). A machine
// without the PostgreSQL server fails these tests, it does not skip them.
//
// What is checked: migrations; one row per file and per alert however often
// they are delivered; the archive's "what is in effect" answers equal those of
// an in-memory alerts::ActiveState fed the same alerts (all, per UGC, per
// point, pending, at many times); the active state survives a reopen;
// filters; event lifecycles; retention; hostile text; the writer lock; a
// refused row does not block the rest; a transient failure retried loses and
// duplicates nothing; PostGIS and its GiST index are used on PostgreSQL, the
// R*Tree on SQLite; a PostgreSQL stopped and started again.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "alerts/event_update.h"
#include "archive/reader.h"
#include "archive/writer.h"
#include "archive_corpus.h"
#include "postgres_server.h"
#include "layout/file_layout.h"
#include "products/reference.h"

// LeakSanitizer (ASan builds): libpqxx 6.4 (Debian 12) leaks libpq's error
// result (one PGresult, ~2 KB) when a transaction is begun on a connection the
// server has just closed (pqxx::dbtransaction::do_begin throws from the
// transaction's constructor). ArchivePostgres.ServerStoppedAndStartedAgain
// does exactly that, once per outage; the writer then drops the connection.
// Only that allocation is ignored; any other leak still fails the test.
extern "C" const char* __lsan_default_suppressions() { return "leak:PQmakeEmptyPGresult\n"; }

namespace emwin::test {
namespace {

using archive::Backend;

PostgresServer& sharedPostgres() {
  static PostgresServer server;
  return server;
}

// A fresh, empty database of `backend`; fails the test (never skips) when it cannot be made.
std::string freshDatabase(Backend backend, const std::string& name) {
  if (backend == Backend::kSqlite) return "sqlite:" + makeTempDir("emwin-archive-store") + "/" + name + ".db";
  PostgresServer& pg = sharedPostgres();
  pg.start();  // throws with the packages to install
  return pg.createDatabase(name);
}

archive::DatabaseUrl parsed(const std::string& url) {
  std::string error;
  auto u = archive::parseDatabaseUrl(url, error);
  if (!u) throw std::runtime_error(error);
  return *u;
}

std::unique_ptr<archive::Writer> openWriter(const std::string& url, archive::WriterOptions options = {}) {
  auto w = std::make_unique<archive::Writer>(archive::makeDatabase(parsed(url), archive::OpenMode::kWrite), options);
  w->open();
  return w;
}

// Options under which nothing is ever pruned (so the archive and a reference agree at every time).
alerts::ActiveStateOptions keepEverything() {
  alerts::ActiveStateOptions o;
  o.retain_ended_s = std::int64_t{1} << 40;
  o.abandon_open_s = std::int64_t{1} << 40;
  o.max_events = static_cast<std::size_t>(-1);
  o.auto_prune_every = 0;
  return o;
}

std::string dumpAll(const std::vector<alerts::ActiveEvent>& events) {
  std::string s;
  for (const auto& e : events) s += alerts::activeEventToJson(e).dump() + "\n";
  return s;
}

class ArchiveStore : public ::testing::TestWithParam<Backend> {
 protected:
  std::string url(const std::string& name) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string n = name + "_" + info->name();
    for (char& c : n) {
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    }
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
    return freshDatabase(GetParam(), n.substr(0, 60));
  }
};

TEST_P(ArchiveStore, MigratesOnceAndReportsTheSchema) {
  const std::string db = url("migrate");
  {
    auto w = std::make_unique<archive::Writer>(archive::makeDatabase(parsed(db), archive::OpenMode::kWrite));
    const archive::OpenResult r = w->open();
    if (GetParam() == Backend::kPostgres) {
      // CI installs postgresql-15-postgis-3: the geometry path must be the one in use.
      EXPECT_EQ(r.schema_version, 2) << ::testing::PrintToString(r.notes);
      EXPECT_TRUE(r.spatial) << "PostGIS not in use: " << ::testing::PrintToString(r.notes);
    } else {
      EXPECT_EQ(r.schema_version, 1);
      EXPECT_FALSE(r.spatial);
    }
    EXPECT_FALSE(r.notes.empty());  // the migrations applied are reported
  }
  auto again = std::make_unique<archive::Writer>(archive::makeDatabase(parsed(db), archive::OpenMode::kWrite));
  const archive::OpenResult r2 = again->open();
  for (const auto& n : r2.notes) EXPECT_EQ(n.find("schema migration"), std::string::npos) << n;
  auto reader = archive::Reader::open(db);
  EXPECT_EQ(reader->database().counts().files, 0u);
}

TEST_P(ArchiveStore, ReaderRefusesWhatIsNotAnArchive) {
  if (GetParam() == Backend::kSqlite) {
    const std::string dir = makeTempDir("emwin-archive-missing");
    try {
      archive::Reader::open("sqlite:" + dir + "/none.db");
      FAIL() << "opened a missing archive";
    } catch (const archive::DatabaseError& e) {
      EXPECT_EQ(e.kind(), archive::DatabaseError::Kind::kFatal);
      EXPECT_NE(std::string(e.what()).find("no archive"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(dir + "/none.db"));  // a reader never creates one
    std::ofstream(dir + "/text.db") << "this is not a database, just text that is long enough to have a header\n";
    EXPECT_THROW(archive::Reader::open("sqlite:" + dir + "/text.db"), archive::DatabaseError);
  } else {
    const std::string db = url("empty");
    try {
      archive::Reader::open(db);
      FAIL() << "opened a database without the schema";
    } catch (const archive::DatabaseError& e) {
      EXPECT_NE(std::string(e.what()).find("not an emwin archive"), std::string::npos) << e.what();
    }
  }
}

TEST_P(ArchiveStore, SameFileAndAlertDeliveredTwiceIsOneRow) {
  const std::string db = url("twice");
  auto w = openWriter(db);
  const archive::Batch batch = corpusBatch(0, corpusProducts().size(), 1'750'000'000);
  ASSERT_GT(batch.alerts.size(), 300u);
  const archive::CommitResult first = w->commit(batch, 1'750'000'000);
  EXPECT_EQ(first.files_new, batch.files.size());
  // The corpus holds products with the same bytes under two names; alerts are keyed by bytes.
  std::set<std::string> ids;
  for (const auto& a : batch.alerts) ids.insert(a.source_id);
  EXPECT_EQ(first.alerts_new, ids.size());
  EXPECT_EQ(first.alerts_duplicate, batch.alerts.size() - ids.size());
  EXPECT_TRUE(first.rejected.empty()) << first.rejected.front();
  // Redelivered as a whole, and again with every row twice in one batch.
  const archive::CommitResult second = w->commit(batch, 1'750'000'100);
  EXPECT_EQ(second.files_new, 0u);
  EXPECT_EQ(second.alerts_new, 0u);
  EXPECT_EQ(second.events_written, 0u);
  archive::Batch doubled = batch;
  doubled.files.insert(doubled.files.end(), batch.files.begin(), batch.files.end());
  doubled.alerts.insert(doubled.alerts.end(), batch.alerts.begin(), batch.alerts.end());
  const archive::CommitResult third = w->commit(doubled, 1'750'000'200);
  EXPECT_EQ(third.files_new + third.alerts_new, 0u);
  EXPECT_EQ(third.files_duplicate, doubled.files.size());
  auto reader = archive::Reader::open(db);
  const archive::Counts c = reader->database().counts();
  EXPECT_EQ(c.files, batch.files.size());
  EXPECT_EQ(c.alerts, ids.size());
  std::size_t tests = 0;
  std::set<std::string> test_ids;
  for (const auto& a : batch.alerts) {
    if (a.alert.is_test() && test_ids.insert(a.source_id).second) ++tests;
  }
  EXPECT_GT(tests, 0u);  // TORILX and friends: stored, marked
  EXPECT_EQ(c.test_alerts, tests);
  // The first delivery's receive time is kept.
  archive::FileQuery fq;
  fq.limit = 0;
  for (const auto& f : reader->files(fq)) EXPECT_EQ(f.received_unix_s, 1'750'000'000) << f.name;
}

TEST_P(ArchiveStore, InEffectAnswersEqualTheActiveStateLibrary) {
  const std::string db = url("equal");
  archive::WriterOptions wo;
  wo.active = keepEverything();
  auto w = openWriter(db, wo);
  alerts::ActiveState reference(keepEverything());
  const auto& products = corpusProducts();
  std::set<std::string> seen;
  std::vector<std::int64_t> times;
  std::set<std::string> ugcs;
  std::vector<std::pair<double, double>> points;
  // Commit in batches of 7 products (odd sizes: batch edges fall inside chains).
  for (std::size_t i = 0; i < products.size(); i += 7) {
    const archive::Batch b = corpusBatch(i, i + 7, 1'750'000'000);
    w->commit(b, 1'750'000'000);
    for (const auto& a : b.alerts) {
      if (!seen.insert(a.source_id).second) continue;  // stored once: applied once
      reference.apply(alerts::updateFromAlert(a.alert));
      if (a.alert.issued_unix_s() != 0) times.push_back(a.alert.issued_unix_s());
      for (const auto& u : a.alert.ugc()) ugcs.insert(u);
      if (a.alert.polygon_size() >= 4) {
        double lat = 0, lon = 0;
        for (int k = 0; k + 1 < a.alert.polygon_size(); ++k) {
          lat += a.alert.polygon(k).lat_deg();
          lon += a.alert.polygon(k).lon_deg();
        }
        points.emplace_back(lat / (a.alert.polygon_size() - 1), lon / (a.alert.polygon_size() - 1));
      }
    }
  }
  ASSERT_GT(reference.stats().events, 100u);
  // Also points at UGC centroids (events without polygons match by distance).
  for (const auto& u : ugcs) {
    if (const auto* p = products::findUgc(u)) points.emplace_back(p->lat_deg, p->lon_deg);
  }
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  std::vector<std::int64_t> at;
  for (std::size_t i = 0; i < times.size(); i += std::max<std::size_t>(1, times.size() / 16)) {
    at.push_back(times[i]);
    at.push_back(times[i] + 1800);
  }
  at.push_back(reference.latestIssued());
  auto reader = archive::Reader::open(db);
  std::size_t non_empty = 0;
  std::size_t compared = 0;
  for (std::int64_t t : at) {
    for (bool pending : {false, true}) {
      const alerts::QueryOptions o{pending};
      archive::ActiveFilter f;
      f.query.at_unix_s = t;
      f.query.include_pending = pending;
      f.query.where = archive::Where::kAll;
      const auto expected_all = reference.all(t, o);
      ASSERT_EQ(dumpAll(reader->active(f)), dumpAll(expected_all)) << "all at " << t << " pending " << pending;
      non_empty += expected_all.empty() ? 0 : 1;
      ++compared;
      // Every UGC in effect then, and a few that are not.
      std::set<std::string> asked;
      for (const auto& e : expected_all) asked.insert(e.ugc.begin(), e.ugc.end());
      asked.insert("IAC169");
      asked.insert("ANZ050");
      for (const auto& u : asked) {
        f.query.where = archive::Where::kUgc;
        f.query.ugc = u;
        ASSERT_EQ(dumpAll(reader->active(f)), dumpAll(reference.forUgc(u, t, o))) << u << " at " << t;
        ++compared;
      }
    }
  }
  // Points (polygons and centroids) at the latest time and a few others, 25 km and polygons only.
  std::size_t point_hits = 0;
  for (std::int64_t t : {at[at.size() / 3], at[at.size() / 2], at.back()}) {
    for (std::size_t i = 0; i < points.size(); i += 3) {
      for (double d : {25.0, 0.0}) {
        archive::ActiveFilter f;
        f.query.where = archive::Where::kPoint;
        f.query.lat = points[i].first;
        f.query.lon = points[i].second;
        f.query.distance_km = d;
        f.query.at_unix_s = t;
        const auto expected = reference.forPoint(points[i].first, points[i].second, d, t);
        ASSERT_EQ(dumpAll(reader->active(f)), dumpAll(expected))
            << "point " << points[i].first << "," << points[i].second << " d " << d << " at " << t;
        point_hits += expected.size();
        ++compared;
      }
    }
  }
  EXPECT_GT(non_empty, at.size() / 2);  // the comparison is not between empty answers
  EXPECT_GT(point_hits, 10u);
  EXPECT_GT(compared, 500u);
}

TEST_P(ArchiveStore, ReopenedWriterHasTheSameActiveState) {
  const std::string db = url("reopen");
  nlohmann::json before;
  std::size_t half = corpusProducts().size() / 2;
  // Pruning on, with a retention long enough to keep a few dozen events of this corpus.
  archive::WriterOptions wo;
  wo.active.retain_ended_s = 400 * 86400;
  {
    auto w = openWriter(db, wo);
    for (std::size_t i = 0; i < half; i += 11) w->commit(corpusBatch(i, std::min(i + 11, half), 1'750'000'000), 1);
    before = w->activeState().snapshot();
  }
  ASSERT_GT(before["events"].size(), 20u);
  auto w = openWriter(db, wo);
  EXPECT_EQ(w->activeState().snapshot(), before);
  // And it goes on as one that never stopped: the rest on both, same state.
  alerts::ActiveStateOptions ro = wo.active;
  ro.auto_prune_every = 0;
  alerts::ActiveState reference(ro);
  std::string error;
  ASSERT_TRUE(reference.restore(before, error)) << error;
  const archive::CommitResult r = w->commit(corpusBatch(half, corpusProducts().size(), 1'750'000'000), 2);
  EXPECT_GT(r.alerts_new, 50u);
  const archive::Batch rest = corpusBatch(half, corpusProducts().size(), 0);
  std::set<std::string> seen;
  for (const auto& a : corpusBatch(0, half, 0).alerts) seen.insert(a.source_id);
  for (const auto& a : rest.alerts) {
    if (seen.insert(a.source_id).second) reference.apply(alerts::updateFromAlert(a.alert));
  }
  reference.prune(reference.latestIssued());
  EXPECT_EQ(w->activeState().snapshot(), reference.snapshot());
  // A reader's loadActiveState (what a gateway does at start) gives the same state.
  alerts::ActiveState loaded(ro);
  ASSERT_TRUE(archive::Reader::open(db)->loadActiveState(loaded, error)) << error;
  EXPECT_EQ(loaded.snapshot(), w->activeState().snapshot());
}

TEST_P(ArchiveStore, FiltersFindWhatTheInputsSay) {
  const std::string db = url("filters");
  auto w = openWriter(db);
  const std::size_t n = corpusProducts().size();
  // Three receive times: old, middle, recent.
  w->commit(corpusBatch(0, n / 3, 1'000), 1'000);
  w->commit(corpusBatch(n / 3, 2 * n / 3, 2'000), 2'000);
  w->commit(corpusBatch(2 * n / 3, n, 3'000), 3'000);
  auto reader = archive::Reader::open(db);
  // Expected, from the inputs.
  std::map<std::string, archive::AlertRecord> by_id;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t received = i < n / 3 ? 1'000 : i < 2 * n / 3 ? 2'000 : 3'000;
    for (const auto& a : corpusBatch(i, i + 1, received).alerts) by_id.emplace(a.source_id, a);
  }
  auto expect = [&](const std::function<bool(const archive::AlertRecord&)>& keep) {
    std::set<std::string> out;
    for (const auto& [id, a] : by_id) {
      if (keep(a)) out.insert(id);
    }
    return out;
  };
  auto ids = [](const std::vector<archive::AlertRecord>& v) {
    std::set<std::string> out;
    for (const auto& a : v) out.insert(a.source_id);
    return out;
  };
  archive::AlertQuery q;
  q.limit = 0;
  q.phenomenon = "TO";
  q.significance = "W";
  const auto tornado = reader->alerts(q);
  EXPECT_EQ(ids(tornado), expect([](const archive::AlertRecord& a) {
              return a.alert.phenomenon() == "TO" && a.alert.significance() == "W" && !a.alert.is_test();
            }));
  EXPECT_GT(tornado.size(), 5u);
  for (std::size_t i = 1; i < tornado.size(); ++i) EXPECT_GE(tornado[i - 1].received_unix_s, tornado[i].received_unix_s);
  // Office given as KDMX or DMX; and tests only when asked.
  q = {};
  q.limit = 0;
  q.office = "KDMX";
  const auto kdmx = ids(reader->alerts(q));
  EXPECT_FALSE(kdmx.empty());
  q.office = "DMX";
  EXPECT_EQ(ids(reader->alerts(q)), kdmx);
  q = {};
  q.limit = 0;
  q.only_tests = true;
  EXPECT_EQ(ids(reader->alerts(q)), expect([](const archive::AlertRecord& a) { return a.alert.is_test(); }));
  // Receive time range.
  q = {};
  q.limit = 0;
  q.since_unix_s = 2'000;
  q.until_unix_s = 3'000;
  q.include_tests = true;
  EXPECT_EQ(ids(reader->alerts(q)), expect([](const archive::AlertRecord& a) { return a.received_unix_s == 2'000; }));
  // Issue time range.
  q.time = archive::TimeField::kProduct;
  q.since_unix_s = products::parseVtecTime("150101T0000Z");
  q.until_unix_s = products::parseVtecTime("160101T0000Z");
  EXPECT_EQ(ids(reader->alerts(q)), expect([&](const archive::AlertRecord& a) {
              return a.alert.issued_unix_s() >= *q.since_unix_s && a.alert.issued_unix_s() < *q.until_unix_s;
            }));
  // A UGC: every alert naming it.
  q = {};
  q.limit = 0;
  q.ugc = "ANZ050";
  EXPECT_EQ(ids(reader->alerts(q)), expect([](const archive::AlertRecord& a) {
              return !a.alert.is_test() && std::find(a.alert.ugc().begin(), a.alert.ugc().end(), "ANZ050") !=
                                               a.alert.ugc().end();
            }));
  // Limit: the newest.
  q = {};
  q.limit = 5;
  EXPECT_EQ(reader->alerts(q).size(), 5u);
  // Files: a glob, an extension, a time range.
  archive::FileQuery fq;
  fq.limit = 0;
  fq.name_glob = "TOR*";
  std::set<std::string> tor;
  for (const auto& f : reader->files(fq)) tor.insert(f.name);
  std::set<std::string> expected_tor;
  for (const auto& p : corpusProducts()) {
    if (p.file.filename().rfind("TOR", 0) == 0) expected_tor.insert(p.file.filename());
  }
  EXPECT_EQ(tor, expected_tor);
  EXPECT_FALSE(tor.empty());
  fq.name_glob = "TOR?LX*";
  for (const auto& f : reader->files(fq)) EXPECT_EQ(f.name.substr(0, 3), "TOR") << f.name;
  fq = {};
  fq.limit = 0;
  fq.since_unix_s = 3'000;
  EXPECT_EQ(reader->files(fq).size(), n - 2 * n / 3);
  // The stored path is where the disk writer puts the file.
  fq = {};
  fq.limit = 1;
  fq.name_glob = corpusProducts()[0].file.filename();
  const auto one = reader->files(fq);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].path, *layout::relativePath(one[0].name, one[0].fd_unix_s, one[0].sha256));
  EXPECT_EQ(one[0].sha256, corpusProducts()[0].file.sha256());
}

TEST_P(ArchiveStore, EventLifecycleHasEveryAlertInOrder) {
  const std::string db = url("lifecycle");
  auto w = openWriter(db);
  w->commit(corpusBatch(0, corpusProducts().size(), 5), 5);
  auto reader = archive::Reader::open(db);
  // MWWCAR-3: GL.A.4 UPG -> GL.W.8 NEW; -11: GL.W.8 EXP (corpus marine_weather_message).
  const auto h = reader->event("KCAR.GL.W.0008.2015");
  ASSERT_TRUE(h.has_value());
  ASSERT_TRUE(h->event.has_value());
  EXPECT_EQ(h->event->upgraded_from, std::vector<std::string>{"KCAR.GL.A.0004.2015"});
  ASSERT_GE(h->alerts.size(), 3u);
  EXPECT_EQ(h->alerts.front().alert.action(), "NEW");
  EXPECT_EQ(h->alerts.back().alert.action(), "EXP");
  for (std::size_t i = 1; i < h->alerts.size(); ++i) {
    EXPECT_LE(h->alerts[i - 1].alert.issued_unix_s(), h->alerts[i].alert.issued_unix_s());
    EXPECT_EQ(h->alerts[i].event_key, "KCAR.GL.W.0008.2015");
  }
  // The upgraded watch links forward.
  const auto watch = reader->event("KCAR.GL.A.0004.2015");
  ASSERT_TRUE(watch && watch->event);
  EXPECT_EQ(watch->event->upgraded_to, std::vector<std::string>{"KCAR.GL.W.0008.2015"});
  EXPECT_FALSE(reader->event("KXXX.TO.W.9999.2001").has_value());
  // The latest alert of an event, as a gateway gets it.
  archive::ActiveFilter f;
  f.query.where = archive::Where::kUgc;
  f.query.ugc = "ANZ050";
  f.query.at_unix_s = products::parseVtecTime("150131T1000Z");
  const auto active = reader->activeAlerts(f);
  ASSERT_FALSE(active.empty());
  for (const auto& a : active) {
    EXPECT_EQ(alerts::updateFromAlert(a.alert).office, a.event.event_key.office);
    EXPECT_EQ(a.alert.issued_unix_s(), a.event.last_issued_unix_s) << a.event.key;
  }
}

TEST_P(ArchiveStore, RetentionDeletesWhatIsOlderOnly) {
  const std::string db = url("retention");
  auto w = openWriter(db);
  const std::size_t n = corpusProducts().size();
  w->commit(corpusBatch(0, n / 2, 1'000), 1'000);
  w->commit(corpusBatch(n / 2, n, 9'000), 9'000);
  auto reader = archive::Reader::open(db);
  const archive::Counts before = reader->database().counts();
  const archive::PruneCounts p = w->prune(5'000);
  const archive::Counts after = reader->database().counts();
  EXPECT_EQ(p.files, n / 2);
  EXPECT_EQ(after.files, before.files - p.files);
  EXPECT_GT(p.alerts, 0u);
  EXPECT_EQ(after.alerts, before.alerts - p.alerts);
  archive::AlertQuery q;
  q.limit = 0;
  q.include_tests = true;
  for (const auto& a : reader->alerts(q)) EXPECT_EQ(a.received_unix_s, 9'000);
  // Events are only deleted once the active state has dropped them: what is still held stays.
  const auto live = w->activeState().snapshot()["events"];
  for (const auto& e : live) EXPECT_TRUE(reader->database().eventState(e["key"].get<std::string>()).has_value());
  // Nothing newer goes.
  EXPECT_EQ(w->prune(5'000).files, 0u);
}

TEST_P(ArchiveStore, HostileTextIsStoredAndReadBack) {
  const std::string db = url("hostile");
  auto w = openWriter(db);
  emwin::bus::v1::CompletedFile f = corpusProducts()[0].file;
  const std::string hostile = std::string("x'; DROP TABLE files; --\xff\xfe\x00tail\\%_*?[.TXT", 33);
  f.set_filename(hostile);
  archive::Batch b;
  b.files.push_back(archive::fileRecord(f, 7));
  emwin::bus::v1::Alert a;
  for (const auto& p : corpusProducts()) {
    if (!p.alerts.empty()) {
      a = p.alerts[0].alert;
      break;
    }
  }
  // (Text fields of a bus message are valid UTF-8: protobuf refuses to parse anything else.)
  const char headline[] = "'; DELETE FROM alerts; -- \" \\ %_ and a NUL \0 here \xc3\xa9";
  a.set_headline(std::string(headline, sizeof headline - 1));
  a.set_filename("x'; DROP TABLE files; --.TXT");
  a.set_file_sha256("deadbeef");
  b.alerts.push_back(archive::alertRecord(a, "alert.TO.W.KDMX", 7));
  const archive::CommitResult r = w->commit(b, 7);
  EXPECT_TRUE(r.rejected.empty()) << (r.rejected.empty() ? "" : r.rejected.front());
  EXPECT_EQ(r.files_new, 1u);
  EXPECT_EQ(r.alerts_new, 1u);
  auto reader = archive::Reader::open(db);
  archive::FileQuery fq;
  fq.name_glob = archive::cleanText(hostile);
  const auto files = reader->files(fq);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].name, archive::cleanText(hostile));
  EXPECT_EQ(files[0].path, *layout::relativePath(hostile, f.fd_unix_s(), f.sha256()));  // where the disk writer puts it
  archive::AlertQuery q;
  q.include_tests = true;
  const auto stored = reader->alerts(q);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].alert.headline(), a.headline());  // the message itself keeps every byte
  EXPECT_EQ(reader->database().counts().files, 1u);      // and no table was dropped
}

TEST_P(ArchiveStore, OnlyOneWriterAtATime) {
  const std::string db = url("lock");
  auto w = openWriter(db);
  auto second = std::make_unique<archive::Writer>(archive::makeDatabase(parsed(db), archive::OpenMode::kWrite));
  try {
    second->open();
    FAIL() << "a second writer opened the same archive";
  } catch (const archive::DatabaseError& e) {
    EXPECT_NE(std::string(e.what()).find("another emwin-archive"), std::string::npos) << e.what();
  }
  w.reset();  // the first one goes away: the second may start
  EXPECT_NO_THROW(second->open());
}

// A Database that fails on demand, around a real one.
class FailingDatabase : public archive::Database {
 public:
  explicit FailingDatabase(std::unique_ptr<archive::Database> real) : real_(std::move(real)) {}
  std::string refuse_source;    // insertAlert of this source id throws kData
  int fail_commits = 0;         // this many commits throw kTransient (after the work was sent)

  void connect() override { real_->connect(); }
  bool connected() const override { return real_->connected(); }
  void lockWriter() override { real_->lockWriter(); }
  int migrate(std::vector<std::string>& notes) override { return real_->migrate(notes); }
  int schemaVersion() override { return real_->schemaVersion(); }
  bool spatial() const override { return real_->spatial(); }
  void begin() override { real_->begin(); }
  void commit() override {
    if (fail_commits > 0) {
      --fail_commits;
      real_->rollback();
      throw archive::DatabaseError(archive::DatabaseError::Kind::kTransient, "server went away (test)");
    }
    real_->commit();
  }
  void rollback() noexcept override { real_->rollback(); }
  std::unordered_set<std::string> knownAlerts(const std::vector<std::string>& ids) override {
    return real_->knownAlerts(ids);
  }
  std::unordered_set<std::string> knownFiles(const std::vector<const archive::FileRecord*>& f) override {
    return real_->knownFiles(f);
  }
  void insertFile(const archive::FileRecord& f) override { real_->insertFile(f); }
  void insertAlert(const archive::AlertRecord& a, const std::string& key) override {
    if (a.source_id == refuse_source) {
      throw archive::DatabaseError(archive::DatabaseError::Kind::kData, "value refused (test)");
    }
    real_->insertAlert(a, key);
  }
  void upsertEvent(const archive::EventRecord& e, std::int64_t t) override { real_->upsertEvent(e, t); }
  void setMeta(const std::string& n, const std::string& v) override { real_->setMeta(n, v); }
  archive::PruneCounts deleteOlderThan(std::int64_t a, std::int64_t b) override {
    return real_->deleteOlderThan(a, b);
  }
  std::optional<std::string> meta(const std::string& n) override { return real_->meta(n); }
  std::vector<std::string> liveEventStates(std::int64_t t) override { return real_->liveEventStates(t); }
  std::vector<std::string> candidateEvents(const archive::ActiveQuery& q) override {
    return real_->candidateEvents(q);
  }
  std::optional<std::string> eventState(const std::string& k) override { return real_->eventState(k); }
  std::vector<archive::AlertRecord> alerts(const archive::AlertQuery& q) override { return real_->alerts(q); }
  std::vector<archive::AlertRecord> latestAlerts(const std::vector<std::string>& k) override {
    return real_->latestAlerts(k);
  }
  std::vector<archive::FileRecord> files(const archive::FileQuery& q) override { return real_->files(q); }
  archive::Counts counts() override { return real_->counts(); }
  std::string explainPoint(const archive::ActiveQuery& q) override { return real_->explainPoint(q); }
  const archive::DatabaseUrl& url() const override { return real_->url(); }

 private:
  std::unique_ptr<archive::Database> real_;
};

TEST_P(ArchiveStore, ARefusedRowIsSkippedAndTheRestStored) {
  const std::string db = url("refused");
  auto failing = std::make_unique<FailingDatabase>(archive::makeDatabase(parsed(db), archive::OpenMode::kWrite));
  FailingDatabase* f = failing.get();
  archive::Writer w(std::move(failing));
  w.open();
  const archive::Batch batch = corpusBatch(0, 40, 11);
  ASSERT_GT(batch.alerts.size(), 10u);
  f->refuse_source = batch.alerts[5].source_id;
  const archive::CommitResult r = w.commit(batch, 11);
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_NE(r.rejected[0].find(batch.alerts[5].source_id), std::string::npos) << r.rejected[0];
  auto reader = archive::Reader::open(db);
  std::set<std::string> ids;
  for (const auto& a : batch.alerts) ids.insert(a.source_id);
  EXPECT_EQ(reader->database().counts().alerts, ids.size() - 1);
  EXPECT_EQ(reader->database().counts().files, batch.files.size());
  // The events of the stored alerts are there.
  const nlohmann::json snapshot = w.activeState().snapshot();  // a local: the loop must not outlive it
  for (const auto& e : snapshot["events"]) {
    EXPECT_TRUE(reader->database().eventState(e["key"].get<std::string>()).has_value()) << e["key"];
  }
}

TEST_P(ArchiveStore, ATransientFailureRetriedLosesAndDuplicatesNothing) {
  const std::string db = url("transient");
  auto failing = std::make_unique<FailingDatabase>(archive::makeDatabase(parsed(db), archive::OpenMode::kWrite));
  FailingDatabase* f = failing.get();
  archive::WriterOptions wo;
  wo.active = keepEverything();
  archive::Writer w(std::move(failing), wo);
  w.open();
  alerts::ActiveState reference(keepEverything());
  std::set<std::string> seen;
  const std::size_t n = corpusProducts().size();
  for (std::size_t i = 0; i < n; i += 25) {
    const archive::Batch b = corpusBatch(i, i + 25, 12);
    f->fail_commits = (i / 25) % 2 == 0 ? 2 : 0;  // every other batch fails twice, then goes through
    int attempts = 0;
    for (;;) {
      ++attempts;
      try {
        w.commit(b, 12);
        break;
      } catch (const archive::DatabaseError& e) {
        ASSERT_TRUE(e.transient()) << e.what();
        ASSERT_LT(attempts, 5);
      }
    }
    for (const auto& a : b.alerts) {
      if (seen.insert(a.source_id).second) reference.apply(alerts::updateFromAlert(a.alert));
    }
  }
  auto reader = archive::Reader::open(db);
  EXPECT_EQ(reader->database().counts().alerts, seen.size());
  EXPECT_EQ(reader->database().counts().files, n);
  // Every event row holds the event's final state (events touched by failed attempts included).
  const nlohmann::json snap = reference.snapshot();
  ASSERT_GT(snap["events"].size(), 50u);
  for (const auto& e : snap["events"]) {
    const auto stored = reader->database().eventState(e["key"].get<std::string>());
    ASSERT_TRUE(stored.has_value()) << e["key"];
    EXPECT_EQ(nlohmann::json::parse(*stored), e) << e["key"];
  }
}

TEST_P(ArchiveStore, PointQueryUsesTheSpatialIndex) {
  const std::string db = url("index");
  archive::WriterOptions wo;
  wo.active = keepEverything();
  auto w = openWriter(db, wo);
  // Many warnings with small polygons spread over the country (and as many without): an index pays.
  archive::Batch b;
  for (int i = 0; i < 3000; ++i) {
    emwin::bus::v1::Alert a;
    const double lat = 30.0 + (i % 60) * 0.25;
    const double lon = -120.0 + (i / 60) * 0.9;
    a.set_office("KDMX");
    a.set_phenomenon("SV");
    a.set_significance("W");
    a.set_action("NEW");
    a.set_vtec_product_class("O");
    a.set_event_tracking_number(static_cast<std::uint32_t>(i + 1));
    a.set_vtec("/O.NEW.KDMX.SV.W." + std::to_string(i + 1) + "/");
    a.set_issued_unix_s(1'700'000'000 + i);
    a.set_end_unix_s(1'700'003'600 + i);
    a.set_file_sha256("sha" + std::to_string(i));
    a.set_tier(emwin::bus::v1::PRIORITY_TIER_WARNING);
    a.add_ugc("IAC" + std::to_string(100 + i % 800));
    if (i % 2 == 1) {  // half of them without a polygon: they match by UGC centroid
      b.alerts.push_back(archive::alertRecord(a, "alert.SV.W.KDMX", 1));
      continue;
    }
    for (auto [dy, dx] : {std::pair{0.0, 0.0}, {0.1, 0.0}, {0.1, 0.1}, {0.0, 0.1}, {0.0, 0.0}}) {
      auto* p = a.add_polygon();
      p->set_lat_deg(lat + dy);
      p->set_lon_deg(lon + dx);
    }
    b.alerts.push_back(archive::alertRecord(a, "alert.SV.W.KDMX", 1));
  }
  w->commit(b, 1);
  archive::ActiveQuery q;
  q.where = archive::Where::kPoint;
  q.lat = 35.05;
  q.lon = -110.05;
  q.at_unix_s = 1'700'002'000;
  q.distance_km = 25;
  auto reader = archive::Reader::open(db);
  if (GetParam() == Backend::kPostgres) {
    pqxx::connection c(db);
    pqxx::nontransaction(c).exec("ANALYZE");
    const std::string plan = reader->database().explainPoint(q);
    EXPECT_NE(plan.find("events_geom"), std::string::npos) << "the GiST index on events.geom is not used:\n" << plan;
    EXPECT_NE(plan.find("event_windows_centroid"), std::string::npos) << plan;
  } else {
    const std::string plan = reader->database().explainPoint(q);
    EXPECT_NE(plan.find("events_box"), std::string::npos) << "the R*Tree is not used:\n" << plan;
    EXPECT_NE(plan.find("event_windows_point"), std::string::npos) << plan;
  }
  archive::ActiveFilter f;
  f.query = q;
  const auto hits = reader->active(f);
  ASSERT_EQ(hits.size(), 1u);  // exactly the one polygon around the point
  EXPECT_EQ(hits[0].matched_by, alerts::MatchKind::kPolygon);
}

INSTANTIATE_TEST_SUITE_P(Backends, ArchiveStore, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& i) {
                           return i.param == Backend::kSqlite ? std::string("Sqlite") : std::string("Postgres");
                         });

// PostgreSQL goes away under a writer and comes back: transient errors, then it goes on, nothing lost.
TEST(ArchivePostgres, ServerStoppedAndStartedAgain) {
  PostgresServer server;  // its own: stopping the shared one would disturb other tests
  server.start();
  const std::string db = server.createDatabase("restart");
  auto w = openWriter(db);
  const std::size_t n = corpusProducts().size();
  w->commit(corpusBatch(0, n / 2, 1), 1);
  server.stopFast();
  const archive::Batch rest = corpusBatch(n / 2, n, 2);
  try {
    w->commit(rest, 2);
    FAIL() << "committed to a stopped server";
  } catch (const archive::DatabaseError& e) {
    EXPECT_TRUE(e.transient()) << e.what();
  }
  EXPECT_THROW(w->commit(rest, 2), archive::DatabaseError);  // still down: still transient, no crash
  server.restart();
  const archive::CommitResult r = w->commit(rest, 2);
  EXPECT_GT(r.alerts_new, 0u);
  auto reader = archive::Reader::open(db);
  EXPECT_EQ(reader->database().counts().files, n);
  // The writer lock was taken again on the new session: a second writer is refused.
  auto second = std::make_unique<archive::Writer>(archive::makeDatabase(parsed(db), archive::OpenMode::kWrite));
  EXPECT_THROW(second->open(), archive::DatabaseError);
}

}  // namespace
}  // namespace emwin::test
