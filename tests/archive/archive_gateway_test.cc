// emwin-gateway's /alerts/active answering from an emwin-archive database
// right after a (re)start, before any new alert arrives (--archive-db): on
// SQLite and on a real PostgreSQL the test starts (several gateways can read
// one server). The archive is the real corpus stored through archive::Writer;
// the gateway's answer must be the active-state library's, fed the same
// alerts: what a gateway that never stopped would answer.
#include <gtest/gtest.h>

#include <set>

#include "alerts/active_state.h"
#include "alerts/event_update.h"
#include "archive/reader.h"
#include "archive/writer.h"
#include "archive_corpus.h"
#include "gateway/gateway_client.h"
#include "postgres_server.h"

namespace emwin::test {
namespace {

void fillArchive(const std::string& url) {
  std::string error;
  auto parsed = archive::parseDatabaseUrl(url, error);
  ASSERT_TRUE(parsed) << error;
  archive::Writer w(archive::makeDatabase(*parsed, archive::OpenMode::kWrite));
  w.open();
  const archive::Batch batch = corpusBatch(0, corpusProducts().size(), 1'750'000'000);
  ASSERT_GT(batch.alerts.size(), 300u);
  w.commit(batch, 1'750'000'000);
}

// Event keys in effect at the archive's latest product time, as a gateway
// that had been fed the same alerts all along would answer (the active-state
// library with the gateway's options, fed in the same order, pruned).
std::set<std::string> referenceActive(const std::string& url, std::int64_t& latest) {
  latest = archive::Reader::open(url)->latestIssued();
  alerts::ActiveState reference;
  for (const auto& p : corpusProducts()) {
    for (const auto& a : p.alerts) reference.apply(alerts::updateFromAlert(a.alert));
  }
  EXPECT_EQ(reference.latestIssued(), latest);
  reference.prune(latest);  // as a running gateway does (every 256 updates): abandoned open-ended events go
  std::set<std::string> keys;
  for (const auto& e : reference.all(latest)) keys.insert(e.key);
  return keys;
}

std::set<std::string> gatewayActive(int port, Json& body) {
  body = httpGet(port, "/alerts/active").json();
  std::set<std::string> keys;
  for (const auto& a : body["alerts"]) keys.insert(a["key"].get<std::string>());
  return keys;
}

void expectGatewayAnswersFromTheArchive(const std::string& url, const std::string& dir) {
  fillArchive(url);
  if (::testing::Test::HasFatalFailure()) return;
  std::int64_t latest = 0;
  const std::set<std::string> expected = referenceActive(url, latest);
  ASSERT_GT(latest, 0);
  ASSERT_GE(expected.size(), 2u);
  // No taps at all: nothing new can arrive, so whatever it answers came from the archive.
  const std::vector<std::string> args = {"--alerts", "", "--files", "", "--stats", "", "--clock", "feed",
                                         "--archive-db", url};
  for (const char* name : {"gateway-a", "gateway-b"}) {  // two gateways on one archive
    std::unique_ptr<Process> gw;
    const int port = startGateway(gw, args, dir, name);
    ASSERT_GT(port, 0) << gw->text(Stream::kStderr);
    Json body;
    EXPECT_EQ(gatewayActive(port, body), expected) << body.dump();
    EXPECT_EQ(body["at_unix_s"].get<std::int64_t>(), latest) << "the feed clock came from the archive";
    EXPECT_EQ(body["count"].get<std::size_t>(), expected.size());
    EXPECT_NE(gw->text(Stream::kStderr).find("active alerts restored from the archive"), std::string::npos)
        << gw->text(Stream::kStderr);
    // One event with its history, also from the archive.
    const HttpReply one = httpGet(port, "/alerts/" + *expected.begin());
    EXPECT_EQ(one.status, 200) << one.body;
    gw->signal(SIGTERM);
    EXPECT_EQ(gw->waitExit(10s).value_or(-1), 0);
  }
}

TEST(ArchiveGateway, ActiveAlertsComeFromASqliteArchiveAtStart) {
  const std::string dir = makeTempDir("emwin-archive-gw");
  expectGatewayAnswersFromTheArchive("sqlite:" + dir + "/archive.db", dir);
}

TEST(ArchiveGateway, ActiveAlertsComeFromAPostgresArchiveAtStart) {
  PostgresServer pg;
  pg.start();
  const std::string dir = makeTempDir("emwin-archive-gw-pg");
  expectGatewayAnswersFromTheArchive(pg.createDatabase("gateway"), dir);
}

TEST(ArchiveGateway, AnArchiveThatCannotBeReadIsALogLineNotAStop) {
  const std::string dir = makeTempDir("emwin-archive-gw-missing");
  std::unique_ptr<Process> gw;
  const int port = startGateway(
      gw, {"--alerts", "", "--files", "", "--stats", "", "--archive-db", "sqlite:" + dir + "/no-such.db"}, dir);
  ASSERT_GT(port, 0) << gw->text(Stream::kStderr);
  EXPECT_EQ(httpGet(port, "/alerts/active").json()["count"], 0);
  EXPECT_NE(gw->text(Stream::kStderr).find("starting without the archive's active alerts"), std::string::npos)
      << gw->text(Stream::kStderr);
  EXPECT_TRUE(waitUntil([&] { return metric(httpGet(port, "/metrics").body, "emwin_gateway_snapshot_errors_total") == 1; },
                        10s))
      << httpGet(port, "/metrics").body;
  gw->signal(SIGTERM);
  EXPECT_EQ(gw->waitExit(10s).value_or(-1), 0);
}

}  // namespace
}  // namespace emwin::test
