// Unit tests of emwin-ingest logic that needs no network: server-list
// persistence, failover order, backoff, option parsing.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "backoff.h"
#include "options.h"
#include "server_store.h"

namespace emwin::ingest {
namespace {

std::string tempPath(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("emwin-ingest-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

TEST(ServerStore, SaveThenLoadRoundTrips) {
  qbt::ServerList list;
  list.regular = {{"a.example", 2211}, {"b.example", 1000}};
  list.satellite = {{"sat.example", 2211}};
  const auto path = tempPath("sub/serverlist.json");
  std::string error;
  ASSERT_TRUE(saveServerList(path, list, &error)) << error;
  qbt::ServerList loaded;
  ASSERT_EQ(loadServerList(path, loaded, &error), LoadResult::kLoaded) << error;
  EXPECT_EQ(loaded.regular, list.regular);
  EXPECT_EQ(loaded.satellite, list.satellite);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp." + std::to_string(::getpid())));
}

TEST(ServerStore, MissingAndCorruptFilesAreDistinguished) {
  qbt::ServerList loaded;
  loaded.regular = {{"keep.example", 1}};
  std::string error;
  EXPECT_EQ(loadServerList(tempPath("absent.json"), loaded, &error), LoadResult::kMissing);
  const std::vector<std::string> corrupt = {
      "not json", "[]", "{\"regular\": [{\"host\": \"x\"}]}", "{\"regular\": [{\"host\": \"x\", \"port\": 70000}]}",
      "{\"regular\": []}", "{\"regular\": [{\"host\": \"\", \"port\": 1}]}"};
  for (const auto& text : corrupt) {
    const auto path = tempPath("corrupt.json");
    std::ofstream(path) << text;
    EXPECT_EQ(loadServerList(path, loaded, &error), LoadResult::kCorrupt) << text;
  }
  EXPECT_EQ(loaded.regular.size(), 1u);  // untouched
}

TEST(ServerStore, FailoverOrderPutsRegularBeforeSatelliteWithoutDuplicates) {
  qbt::ServerList list;
  list.regular = {{"r1", 1}, {"r2", 2}};
  list.satellite = {{"s1", 3}, {"r1", 1}};
  auto order = failoverOrder(list);
  std::vector<qbt::ServerAddress> want = {{"r1", 1}, {"r2", 2}, {"s1", 3}};
  EXPECT_EQ(order, want);
}

TEST(Backoff, GrowsExponentiallyWithJitterAndIsCapped) {
  Backoff b(std::chrono::milliseconds(100), std::chrono::milliseconds(1000), 42);
  auto d0 = b.next(), d1 = b.next(), d2 = b.next();
  EXPECT_GE(d0.count(), 80);
  EXPECT_LE(d0.count(), 120);
  EXPECT_GE(d1.count(), 160);
  EXPECT_LE(d1.count(), 240);
  EXPECT_GE(d2.count(), 320);
  EXPECT_LE(d2.count(), 480);
  for (int i = 0; i < 20; ++i) EXPECT_LE(b.next().count(), 1000);
  b.reset();
  EXPECT_LE(b.next().count(), 120);
}

// Parses an ingest command line as main() does.
IngestOptions parseIngest(std::vector<const char*> argv) {
  IngestArgs args;
  runtime::Cli cli("emwin-ingest", "test");
  addIngestOptions(cli, args);
  if (auto code = cli.parse(static_cast<int>(argv.size()), argv.data())) {
    throw runtime::ConfigError("", "parse failed with code " + std::to_string(*code));
  }
  return finishIngestOptions(std::move(args));
}

TEST(Options, EmailIsRequiredAndServersAreParsed) {
  try {
    parseIngest({"emwin-ingest", "--server", "h:1"});
    ADD_FAILURE() << "expected ConfigError";
  } catch (const runtime::ConfigError& e) {
    EXPECT_EQ(e.option(), "--email");
  }
  auto o = parseIngest({"emwin-ingest", "--email", " me@x.org ", "--server", "h.example:2211", "--protocol", "v1"});
  EXPECT_EQ(o.email, "me@x.org");
  ASSERT_EQ(o.servers.size(), 1u);
  EXPECT_EQ(o.servers[0], (qbt::ServerAddress{"h.example", 2211}));
  EXPECT_EQ(o.protocol, qbt::Version::kV1);
  EXPECT_THROW(parseIngest({"emwin-ingest", "--email", "me@x.org", "--server", "h:99999"}), runtime::ConfigError);
}

TEST(Options, ServersComeFromEmwinServersAsACommaSeparatedList) {
  ::setenv("EMWIN_SERVERS", "a.example:1000,b.example:2211", 1);
  auto o = parseIngest({"emwin-ingest", "--email", "me@x.org"});
  ::unsetenv("EMWIN_SERVERS");
  ASSERT_EQ(o.servers.size(), 2u);
  EXPECT_EQ(o.servers[1], (qbt::ServerAddress{"b.example", 2211}));
}

TEST(Options, DefaultServersAreThePublicList) {
  auto d = defaultServers();
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0], (qbt::ServerAddress{"emwin.weathermessage.com", 2211}));
  EXPECT_EQ(d[2], (qbt::ServerAddress{"emwin.interweather.net", 1000}));
}

}  // namespace
}  // namespace emwin::ingest
