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

TEST(Options, EmailIsRequiredAndServersAreParsed) {
  const char* no_email[] = {"emwin-ingest", "--server", "h:1"};
  try {
    parseOptions(3, no_email);
    ADD_FAILURE() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.exitCode(), 2);
  }
  const char* ok[] = {"emwin-ingest", "--email", " me@x.org ", "--server", "h.example:2211", "--protocol", "v1"};
  auto o = parseOptions(7, ok);
  EXPECT_EQ(o.email, "me@x.org");
  ASSERT_EQ(o.servers.size(), 1u);
  EXPECT_EQ(o.servers[0], (qbt::ServerAddress{"h.example", 2211}));
  EXPECT_EQ(o.protocol, qbt::Version::kV1);
  EXPECT_EQ(o.producer_id, "ingest.0");
  const char* bad_port[] = {"emwin-ingest", "--email", "me@x.org", "--server", "h:99999"};
  EXPECT_THROW(parseOptions(5, bad_port), ConfigError);
}

TEST(Options, DefaultServersAreThePublicList) {
  auto d = defaultServers();
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0], (qbt::ServerAddress{"emwin.weathermessage.com", 2211}));
  EXPECT_EQ(d[2], (qbt::ServerAddress{"emwin.interweather.net", 1000}));
}

}  // namespace
}  // namespace emwin::ingest
