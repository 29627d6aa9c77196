// emwin-archive as a process in a real pipeline (emwin-sim → ingest →
// assembler → disk writer + classifier → archive) on 127.0.0.1 with
// kernel-chosen ports, on the real corpus; and emwin-query against what it
// stored.
//
//  * Every file the simulator sent is exactly one row, at the path where the
//    disk writer put it (the file there has the row's SHA-256); every alert the
//    classifier published is exactly one row, test messages marked.
//  * Killed between a commit and its acknowledgement (the --exit-after-commits
//    test aid), restarted: what comes again is recognised, still one row each.
//  * PostgreSQL (a real server the test starts) stopped mid-stream with
//    pg_ctl stop -m fast, the pipeline held back meanwhile, started again:
//    nothing lost, nothing twice.
//  * A restarted archive has the same active state (emwin-query active before
//    and after), and emwin-query's answers match the inputs.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "archive/reader.h"
#include "bus/subscriber.h"
#include "emwin/bus/v1/stats.pb.h"
#include "integration_bus/pipeline_harness.h"
#include "postgres_server.h"

namespace emwin::test {
namespace {

using namespace std::chrono_literals;

// Latest ServiceStats per service: pushed to a bound intake (the archive's
// --stats-connect) and read from producers' taps.
class StatsIntake {
 public:
  StatsIntake(std::vector<std::string> taps) : endpoint_(tcpEndpoint()), intake_(ctx_, zmq::socket_type::sub) {
    intake_.set(zmq::sockopt::subscribe, "stats.");
    intake_.set(zmq::sockopt::linger, 0);
    intake_.bind(endpoint_);
    if (!taps.empty()) {
      bus::SubscriberOptions o;
      o.mode = bus::Mode::kTap;
      o.endpoints = std::move(taps);
      o.topic_prefixes = {"stats."};
      tap_ = std::make_unique<bus::Subscriber>(ctx_, o);
    }
  }
  const std::string& endpoint() const { return endpoint_; }

  // Pumps until `pred` holds for the latest stats of `service`, or the deadline.
  bool waitFor(const std::string& service, const std::function<bool(const bus::v1::ServiceStats&)>& pred,
               std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
      pump();
      auto it = latest_.find(service);
      if (it != latest_.end() && pred(it->second)) return true;
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
  }

  static std::uint64_t counter(const bus::v1::ServiceStats& s, const std::string& name) {
    auto it = s.counters().find(name);
    return it == s.counters().end() ? 0 : it->second;
  }
  static double gauge(const bus::v1::ServiceStats& s, const std::string& name) {
    auto it = s.gauges().find(name);
    return it == s.gauges().end() ? 0 : it->second;
  }

 private:
  void take(const std::string& payload) {
    bus::v1::ServiceStats s;
    if (s.ParseFromString(payload)) latest_[s.service()] = s;
  }
  void pump() {
    zmq::message_t topic, payload;
    while (intake_.recv(topic, zmq::recv_flags::dontwait)) {
      if (!intake_.get(zmq::sockopt::rcvmore)) continue;
      if (!intake_.recv(payload, zmq::recv_flags::dontwait)) break;
      take(payload.to_string());
    }
    if (tap_) {
      while (auto m = tap_->receive(20ms)) take(m->payload);
    } else {
      std::this_thread::sleep_for(20ms);
    }
  }

  zmq::context_t ctx_;
  std::string endpoint_;
  zmq::socket_t intake_;
  std::unique_ptr<bus::Subscriber> tap_;
  std::map<std::string, bus::v1::ServiceStats> latest_;
};

// What the classifier published (its --alert-log): source ids, and which are tests.
struct PublishedAlerts {
  std::set<std::string> ids;
  std::set<std::string> tests;
  std::set<std::string> tornado_warnings;  // live TO.W
};

PublishedAlerts publishedAlerts(const std::string& log_path) {
  PublishedAlerts out;
  std::ifstream in(log_path);
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("file_sha256")) continue;
    const std::string id =
        j["file_sha256"].get<std::string>() + "#" + std::to_string(j["segment"].get<int>()) + "#" + j["vtec"].get<std::string>();
    out.ids.insert(id);
    if (j["is_test"].get<bool>()) out.tests.insert(id);
    if (!j["is_test"].get<bool>() && j["phenomenon"] == "TO" && j["significance"] == "W") out.tornado_warnings.insert(id);
  }
  return out;
}

// What the archive holds (a fresh reader per call: the database may have restarted).
struct Stored {
  std::multiset<std::pair<std::string, std::string>> files;  // (name, sha256)
  std::vector<archive::FileRecord> file_rows;
  std::multiset<std::string> alert_ids;
  std::set<std::string> test_ids;
};

Stored stored(const std::string& db) {
  Stored s;
  auto reader = archive::Reader::open(db);
  archive::FileQuery fq;
  fq.limit = 0;
  s.file_rows = reader->files(fq);
  for (const auto& f : s.file_rows) s.files.insert({f.name, f.sha256});
  archive::AlertQuery aq;
  aq.limit = 0;
  aq.include_tests = true;
  for (const auto& a : reader->alerts(aq)) {
    s.alert_ids.insert(a.source_id);
    if (a.alert.is_test()) s.test_ids.insert(a.source_id);
  }
  return s;
}

// Counts only (cheap to poll); {0,0} while the database cannot be read.
std::pair<std::uint64_t, std::uint64_t> counts(const std::string& db) {
  try {
    const archive::Counts c = archive::Reader::open(db)->database().counts();
    return {c.files, c.alerts};
  } catch (const archive::DatabaseError&) {
    return {0, 0};
  }
}

std::unique_ptr<Process> startArchive(const Pipeline& p, const std::string& db, const std::string& stats,
                                      std::vector<std::string> extra, const std::string& name) {
  std::vector<std::string> args = {"--db", db, "--connect", p.assemblerPipe(), "--alerts-connect", p.classifierPipe(),
                                   "--state-dir", p.dir() + "/state/archive", "--replica", "archive-test",
                                   "--stats-interval-ms", "300", "--stats-connect", stats};
  if (std::find(extra.begin(), extra.end(), "--batch-ms") == extra.end()) {
    args.insert(args.end(), {"--batch-ms", "100"});
  }
  args.insert(args.end(), extra.begin(), extra.end());
  return std::make_unique<Process>(
      ProcessSpec{binaryPath("services/sinks/archive/emwin-archive"), args, {}, {}, p.dir(), name});
}

struct QueryRun {
  int code = -1;
  std::string out, err;
  std::vector<nlohmann::json> json() const {
    std::vector<nlohmann::json> v;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) v.push_back(nlohmann::json::parse(line));
    }
    return v;
  }
};

QueryRun runQuery(const std::string& db, std::vector<std::string> args) {
  static int n = 0;
  args.insert(args.begin(), {"--db", db});
  Process q(ProcessSpec{binaryPath("tools/query/emwin-query"), args, {}, {}, {}, "query-" + std::to_string(n++)});
  QueryRun r;
  const auto code = q.waitExit(60s);
  r.code = code ? *code : -1;
  r.out = q.text(Stream::kStdout);
  r.err = q.text(Stream::kStderr);
  return r;
}

// Waits until the archive holds every file the sim sent and every alert the classifier published.
bool waitComplete(Pipeline& p, const std::string& db, std::size_t files, std::chrono::milliseconds timeout) {
  return waitUntil(
      [&] {
        const auto c = counts(db);
        return c.first >= files && c.second >= publishedAlerts(p.dir() + "/alerts.jsonl").ids.size() && c.second > 0;
      },
      timeout);
}

// Every sent file is one row at the disk writer's path; every published alert one row.
void expectExactlyOnce(const Pipeline& p, const std::string& db, const SimManifest& sent) {
  const Stored s = stored(db);
  std::set<std::pair<std::string, std::string>> distinct(s.files.begin(), s.files.end());
  EXPECT_EQ(s.files.size(), distinct.size()) << "a file is stored twice";
  EXPECT_EQ(distinct, sent.distinct);
  std::size_t checked = 0;
  for (const auto& f : s.file_rows) {
    ASSERT_FALSE(f.path.empty()) << f.name;
    const std::string bytes = readFile(p.out() + "/" + f.path);
    EXPECT_EQ(runtime::sha256Hex(std::string_view(bytes)), f.sha256) << f.path << " (" << f.name << ")";
    ++checked;
  }
  EXPECT_EQ(checked, sent.distinct.size());
  const PublishedAlerts published = publishedAlerts(p.dir() + "/alerts.jsonl");
  std::set<std::string> alert_ids(s.alert_ids.begin(), s.alert_ids.end());
  EXPECT_EQ(s.alert_ids.size(), alert_ids.size()) << "an alert is stored twice";
  EXPECT_EQ(alert_ids, published.ids);
  EXPECT_EQ(s.test_ids, published.tests);
  EXPECT_FALSE(published.tests.empty());  // TORILX & co: stored too, marked
}

PipelineConfig archiveConfig(std::vector<std::string> sim_args) {
  PipelineConfig c;
  c.classifier = true;
  c.state_dirs = true;
  c.extra_consumers = 1;  // the assembler waits for the archive too
  c.sim_args = std::move(sim_args);
  return c;
}

// The archive joins both pipelines before any data flows.
void startWithArchive(Pipeline& p, std::unique_ptr<Process>& archive,
                      const std::function<std::unique_ptr<Process>()>& start) {
  p.startConsumers();
  archive = start();
  ASSERT_TRUE(p.classifier().waitForLine(std::regex("joined group archive"), 20s, Stream::kStderr))
      << archive->text(Stream::kStderr) << p.logs();
  p.startFeed();
}

TEST(ArchiveProcess, EveryFileAndAlertOfARealPipelineIsOneRow) {
  Pipeline p(archiveConfig({"--once"}));
  const std::string db = "sqlite:" + p.dir() + "/archive/archive.db";
  StatsIntake stats({});
  std::unique_ptr<Process> archive;
  startWithArchive(p, archive, [&] { return startArchive(p, db, stats.endpoint(), {}, "archive-0"); });
  if (HasFatalFailure()) return;
  ASSERT_TRUE(p.waitSimDone(120s)) << p.logs();
  const SimManifest sent = parseSent(p.sim());
  ASSERT_GT(sent.distinct.size(), 300u);
  ASSERT_TRUE(p.waitFilesOnDisk(sent.distinct.size(), 60s)) << p.logs();
  ASSERT_TRUE(waitComplete(p, db, sent.distinct.size(), 60s)) << archive->text(Stream::kStderr);
  expectExactlyOnce(p, db, sent);
  ASSERT_TRUE(stats.waitFor("archive", [&](const auto& s) {
    return StatsIntake::counter(s, "files_stored") == sent.distinct.size();
  }, 10s));

  // emwin-query against it.
  const PublishedAlerts published = publishedAlerts(p.dir() + "/alerts.jsonl");
  std::set<std::string> tor_names;
  for (const auto& [name, sha] : sent.distinct) {
    if (name.rfind("TOR", 0) == 0) tor_names.insert(name);
  }
  QueryRun r = runQuery(db, {"--json", "files", "--name", "TOR*", "--limit", "0"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::set<std::string> got;
  for (const auto& j : r.json()) got.insert(j["name"].get<std::string>());
  EXPECT_EQ(got, tor_names);
  r = runQuery(db, {"--json", "alerts", "--phenomenon", "TO", "--significance", "W", "--limit", "0"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.json().size(), published.tornado_warnings.size());
  EXPECT_FALSE(published.tornado_warnings.empty());
  r = runQuery(db, {"--json", "alerts", "--only-tests", "--limit", "0"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.json().size(), published.tests.size());
  for (const auto& j : r.json()) EXPECT_TRUE(j["alert"]["is_test"].get<bool>()) << j.dump();
  r = runQuery(db, {"alerts", "--since", "1h", "--limit", "5"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("5 alert(s)"), std::string::npos) << r.out;
  // One event's lifecycle (corpus MWWCAR: a gale warning from its NEW to its EXP), in issue order
  // whatever order the simulator sent the products in. (The event row's own state depends on the
  // arrival order, which the simulator does not keep chronological; archive_store_test checks it.)
  r = runQuery(db, {"event", "KCAR.GL.W.0008.2015"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("lifecycle (9 stored alert(s))"), std::string::npos) << r.out;
  const auto new_at = r.out.find(" NEW "), exp_at = r.out.find(" EXP ");
  ASSERT_NE(new_at, std::string::npos) << r.out;
  ASSERT_NE(exp_at, std::string::npos) << r.out;
  EXPECT_LT(new_at, exp_at) << r.out;
  r = runQuery(db, {"--json", "event", "KCAR.GL.W.0008.2015"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(r.json().empty()) << r.out;
  // What is in effect at the latest product time: the CLI says what the reader says.
  const std::int64_t latest = archive::Reader::open(db)->latestIssued();
  archive::ActiveFilter f;
  f.query.at_unix_s = latest;
  const auto expected = archive::Reader::open(db)->active(f);
  ASSERT_FALSE(expected.empty());
  r = runQuery(db, {"--json", "active", "--at", "latest"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> keys;
  for (const auto& j : r.json()) keys.push_back(j["key"].get<std::string>());
  std::vector<std::string> expected_keys;
  for (const auto& e : expected) expected_keys.push_back(e.key);
  EXPECT_EQ(keys, expected_keys);
  const std::string before = runQuery(db, {"--json", "active", "--at", "latest", "--pending"}).out;

  // A clean stop, then a restart: the same active state, nothing stored again.
  archive->signal(SIGTERM);
  ASSERT_EQ(archive->waitExit(10s), 0) << archive->text(Stream::kStderr);
  auto again = startArchive(p, db, stats.endpoint(), {}, "archive-1");
  ASSERT_TRUE(again->waitForLine(std::regex("active state restored: [0-9]+ event"), 20s, Stream::kStderr))
      << again->text(Stream::kStderr);
  EXPECT_EQ(runQuery(db, {"--json", "active", "--at", "latest", "--pending"}).out, before);
  const Stored s = stored(db);
  EXPECT_EQ(s.files.size(), sent.distinct.size());
}

TEST(ArchiveProcess, KilledBetweenCommitAndAcknowledgementStoresEachRowOnce) {
  Pipeline p(archiveConfig({"--once"}));
  const std::string db = "sqlite:" + p.dir() + "/archive/archive.db";
  StatsIntake stats({});
  std::unique_ptr<Process> archive;
  startWithArchive(p, archive, [&] {
    return startArchive(p, db, stats.endpoint(), {"--batch-rows", "25", "--exit-after-commits", "4"}, "archive-crash");
  });
  if (HasFatalFailure()) return;
  const auto code = archive->waitExit(120s);
  ASSERT_TRUE(code.has_value()) << archive->text(Stream::kStderr);
  ASSERT_EQ(*code, 3) << archive->text(Stream::kStderr);
  ASSERT_NE(archive->text(Stream::kStderr).find("without acknowledging"), std::string::npos);
  const auto committed = counts(db);
  ASSERT_GT(committed.first + committed.second, 0u);
  // The same replica again: what the dead one had not acknowledged comes back.
  archive = startArchive(p, db, stats.endpoint(), {"--batch-rows", "25"}, "archive-again");
  ASSERT_TRUE(p.waitSimDone(120s)) << p.logs();
  const SimManifest sent = parseSent(p.sim());
  ASSERT_TRUE(p.waitFilesOnDisk(sent.distinct.size(), 60s)) << p.logs();
  ASSERT_TRUE(waitComplete(p, db, sent.distinct.size(), 60s)) << archive->text(Stream::kStderr);
  expectExactlyOnce(p, db, sent);
  // The redelivered batch was recognised (already stored), not stored again.
  EXPECT_TRUE(stats.waitFor("archive", [](const auto& s) {
    return StatsIntake::counter(s, "files_duplicate") + StatsIntake::counter(s, "alerts_duplicate") > 0;
  }, 15s)) << archive->text(Stream::kStderr);
}

TEST(ArchiveProcess, PostgresStoppedMidStreamLosesNothing) {
  PostgresServer pg;
  pg.start();
  const std::string db = pg.createDatabase("pipeline");
  PipelineConfig c = archiveConfig({"--once", "--rate", "120fps"});
  c.assembler_args = {"--hwm", "16"};  // a held archive soon holds the assembler, and ingest behind it
  Pipeline p(c);
  StatsIntake stats({});
  std::unique_ptr<Process> archive;
  startWithArchive(p, archive, [&] {
    return startArchive(p, db, stats.endpoint(),
                        {"--credit", "8", "--batch-rows", "8", "--batch-ms", "50", "--retry-min-ms", "100",
                         "--retry-max-ms", "400"},
                        "archive-pg");
  });
  if (HasFatalFailure()) return;
  // Some rows are in; then the server goes away mid-stream.
  ASSERT_TRUE(waitUntil([&] { return counts(db).first >= 30; }, 60s)) << archive->text(Stream::kStderr) << p.logs();
  ASSERT_FALSE(p.sim().waitForLine(std::regex("^done "), 0ms).has_value())
      << "the stream ended before the server was stopped: slow the simulator down";
  pg.stopFast();
  ASSERT_TRUE(archive->waitForLine(std::regex("holding input and retrying"), 30s, Stream::kStderr))
      << archive->text(Stream::kStderr);
  // Backpressure: the archive stops reading, its group queue at the assembler fills, the assembler pauses.
  StatsIntake assembler_stats({p.assemblerTap()});
  EXPECT_TRUE(assembler_stats.waitFor("assembler", [](const auto& s) {
    return StatsIntake::gauge(s, "paused") == 1.0;
  }, 30s)) << "the assembler was not held back while the database was down";
  EXPECT_TRUE(stats.waitFor("archive", [](const auto& s) {
    return s.state() == bus::v1::SERVICE_STATE_DEGRADED && StatsIntake::counter(s, "db_retries") >= 1;
  }, 20s));
  pg.restart();
  ASSERT_TRUE(archive->waitForLine(std::regex("database .* back"), 60s, Stream::kStderr)) << archive->text(Stream::kStderr);
  ASSERT_TRUE(p.waitSimDone(180s)) << p.logs();
  const SimManifest sent = parseSent(p.sim());
  ASSERT_TRUE(p.waitFilesOnDisk(sent.distinct.size(), 60s)) << p.logs();
  ASSERT_TRUE(waitComplete(p, db, sent.distinct.size(), 90s)) << archive->text(Stream::kStderr);
  expectExactlyOnce(p, db, sent);
  EXPECT_TRUE(stats.waitFor("archive", [](const auto& s) {
    return s.state() == bus::v1::SERVICE_STATE_RUNNING && StatsIntake::counter(s, "db_errors") >= 1;
  }, 10s));
  // PostGIS is what answers points here.
  auto reader = archive::Reader::open(db);
  EXPECT_TRUE(reader->database().spatial());
}

}  // namespace
}  // namespace emwin::test
