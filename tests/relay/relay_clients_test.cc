// emwin-relay as a process with many, slow, silent and restarted clients:
// 100 concurrent raw ByteBlaster clients, a client that never reads, a client
// that never logs on, a full house, a relay killed and restarted under a
// downstream emwin-ingest, and bad configuration. Real processes on
// 127.0.0.1 (relay_chain.h); clients are raw sockets decoded by the real QBT
// decoder (relay_client.h).
#include <poll.h>

#include <csignal>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "relay_chain.h"
#include "relay_client.h"

namespace emwin::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// (filename, block number, hash of the 1024 bytes) of one decoded block.
using BlockKey = std::tuple<std::string, std::uint32_t, std::size_t>;

std::size_t hashBlock(const std::uint8_t* data) {
  return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(data), 1024));
}

// What the sim's "sent" lines say it sent, block by block (retransmissions included).
std::multiset<BlockKey> expectedBlocks(const Process& sim) {
  std::multiset<BlockKey> out;
  std::map<std::string, std::vector<std::uint8_t>> cache;
  for (const auto& line : sim.lines()) {
    if (line.rfind("sent ", 0) != 0) continue;
    const std::string source = fieldOf(line, "source");
    auto& content = cache[source];
    if (content.empty()) {
      std::ifstream in(source, std::ios::binary);
      content.assign(std::istreambuf_iterator<char>(in), {});
    }
    const auto blocks = static_cast<std::uint32_t>(std::stoul(fieldOf(line, "blocks")));
    for (std::uint32_t pn = 1; pn <= blocks; ++pn) {
      std::vector<std::uint8_t> b(1024, 0);
      const std::size_t at = static_cast<std::size_t>(pn - 1) * 1024;
      for (std::size_t i = 0; i < 1024 && at + i < content.size(); ++i) b[i] = content[at + i];
      out.insert({fieldOf(line, "file"), pn, hashBlock(b.data())});
    }
  }
  return out;
}

// Reads every client that has data until `done()` or the deadline; true when done() held.
bool pollAll(std::vector<TestClient*>& clients, const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::vector<pollfd> fds;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    fds.clear();
    for (auto* c : clients) fds.push_back({c->fd(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents != 0) clients[i]->readOnce(0);
    }
  }
  return true;
}

TEST(RelayClients, HundredConcurrentClientsEachGetEveryBlockExactly) {
  ChainConfig config;
  config.downstream = false;
  config.relay_args = {"--max-clients", "150"};
  RelayChain chain(config);
  chain.start(false);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());

  constexpr int kClients = 100;
  std::vector<std::unique_ptr<TestClient>> owned;
  std::vector<TestClient*> clients;
  std::vector<std::vector<BlockKey>> got(kClients);
  for (int i = 0; i < kClients; ++i) {
    owned.push_back(std::make_unique<TestClient>(chain.relayPort()));
    clients.push_back(owned.back().get());
    clients.back()->on_segment = [&got, i](const qbt::Segment& s) {
      got[i].emplace_back(s.filename, s.block_number, hashBlock(s.data.data()));
    };
    ASSERT_TRUE(clients.back()->logon("client" + std::to_string(i) + "@example.org",
                                      i % 2 ? qbt::Version::kV2 : qbt::Version::kV1));
  }
  ASSERT_TRUE(waitUntil([&] { return chain.relayMetric("emwin_clients_streaming") == kClients; }, 20s * kSlow))
      << chain.relayMetrics();
  chain.startSim();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  ASSERT_TRUE(chain.sim().waitForLine(std::regex("^done "), 120s * kSlow)) << chain.logs();
  const std::multiset<BlockKey> expected = expectedBlocks(chain.sim());
  ASSERT_GT(expected.size(), 900u);

  ASSERT_TRUE(pollAll(
      clients,
      [&] {
        for (auto* c : clients) {
          if (c->data_segments < expected.size()) return false;
        }
        return true;
      },
      60s * kSlow))
      << chain.logs();
  std::size_t bytes = 0;
  for (int i = 0; i < kClients; ++i) {
    const TestClient& c = *clients[i];
    EXPECT_TRUE(c.bad.empty()) << "client " << i << ": " << qbt::reasonName(c.bad.front().reason);
    EXPECT_FALSE(c.closed()) << i;
    EXPECT_TRUE(c.list_first) << i;
    ASSERT_EQ(c.lists.size(), 1u) << i;
    EXPECT_EQ(c.lists[0].regular, (std::vector<qbt::ServerAddress>{{"127.0.0.1", static_cast<std::uint16_t>(chain.relayPort())}}));
    EXPECT_EQ(std::multiset<BlockKey>(got[i].begin(), got[i].end()), expected) << "client " << i;
    if (i % 2) {
      EXPECT_GT(c.frames_v2, 0u) << i;
    } else {
      EXPECT_EQ(c.frames_v2, 0u) << i;
    }
  }
  // Byte for byte what the clients read (FILLFILE keeps coming once the feed is idle: read it too).
  std::string m;
  EXPECT_TRUE(waitUntil(
      [&] {
        bytes = 0;
        for (auto* c : clients) {
          while (c->readOnce(0)) {
          }
          bytes += c->bytes();
        }
        m = chain.relayMetrics();
        return metric(m, "emwin_bytes_sent_total") == static_cast<double>(bytes);
      },
      10s * kSlow))
      << "clients read " << bytes << "\n" << m;
  EXPECT_EQ(metric(m, "emwin_connections_total"), kClients);
  EXPECT_EQ(metric(m, "emwin_clients_streaming"), kClients);
  EXPECT_EQ(metric(m, "emwin_clients_streaming_v2"), kClients / 2);
  EXPECT_EQ(metric(m, "emwin_disconnects_total"), 0);
  EXPECT_EQ(metric(m, "emwin_bus_missed_total"), 0);
  EXPECT_EQ(metric(m, "emwin_frames_sent_total"), static_cast<double>(kClients * expected.size()));
  EXPECT_EQ(metric(m, "emwin_relay_client_frames_sent_total"), static_cast<double>(kClients * expected.size()));
}

TEST(RelayClients, ASlowClientIsDisconnectedAsSlowWhileTheOthersKeepReceiving) {
  ChainConfig config;
  config.downstream = false;
  config.sim_args = {"--loop", "--rate", "4000fps"};
  config.relay_args = {"--client-queue-kb", "256", "--sndbuf", "16384"};
  RelayChain chain(config);
  chain.start(false);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  TestClient slow(chain.relayPort(), 4096), good(chain.relayPort());
  std::vector<BlockKey> good_blocks;
  good.on_segment = [&](const qbt::Segment& s) {
    good_blocks.emplace_back(s.filename, s.block_number, hashBlock(s.data.data()));
  };
  ASSERT_TRUE(slow.logon("slow@example.org", qbt::Version::kV1));
  ASSERT_TRUE(good.logon("good@example.org", qbt::Version::kV2));
  ASSERT_TRUE(waitUntil([&] { return chain.relayMetric("emwin_clients_streaming") == 2; }, 20s * kSlow));
  chain.startSim();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());

  // The good client reads all along; the slow one never does.
  std::vector<TestClient*> readers = {&good};
  auto next_scrape = Clock::now();
  double slow_disconnects = 0;
  ASSERT_TRUE(pollAll(
      readers,
      [&] {
        if (Clock::now() < next_scrape) return false;
        next_scrape = Clock::now() + 200ms;
        slow_disconnects = chain.relayMetric("emwin_disconnects_total", "kind=\"slow\"");
        return slow_disconnects >= 1;
      },
      60s * kSlow))
      << chain.logs();
  const std::size_t at_disconnect = good.data_segments;
  ASSERT_TRUE(pollAll(readers, [&] { return good.data_segments >= at_disconnect + 2000; }, 30s * kSlow))
      << good.data_segments - at_disconnect << " blocks after the slow client went\n" << chain.logs();
  EXPECT_FALSE(good.closed());
  EXPECT_TRUE(good.bad.empty());
  // The slow client got the start of the stream, then the end of the connection.
  EXPECT_TRUE(slow.readUntilClosed(10s));
  EXPECT_LT(slow.data_segments, good.data_segments);

  const std::string m = chain.relayMetrics();
  EXPECT_EQ(metric(m, "emwin_disconnects_total", "kind=\"slow\""), 1) << m;
  EXPECT_EQ(metric(m, "emwin_disconnects_total"), 1) << m;
  EXPECT_EQ(metric(m, "emwin_clients_streaming"), 1) << m;
  EXPECT_EQ(metric(m, "emwin_bus_missed_total"), 0) << "the slow client must not slow the feed\n" << m;
  EXPECT_LE(metric(m, "emwin_client_queued_bytes_max"), 256 * 1024) << m;

  // Every block the good client got is a block the sim sent, byte for byte.
  const std::multiset<BlockKey> sent = expectedBlocks(chain.sim());
  const std::set<BlockKey> sent_set(sent.begin(), sent.end());
  std::size_t unknown = 0;
  for (const auto& b : good_blocks) unknown += sent_set.count(b) ? 0 : 1;
  EXPECT_LE(unknown, 64u) << "blocks the sim had not logged as sent yet may be at the end only";
  EXPECT_GT(good_blocks.size() - unknown, 2000u);
}

// The relay alone (its tap has no producer): logon window, capacity, FILLFILE, stop.
TEST(RelayClients, SilentClientsAreClosedAfterTheLogonWindowAndAFullHouseGetsTheServerList) {
  const int port = freeTcpPort();
  const int http = freeTcpPort();
  const std::string dir = makeTempDir("emwin-relay-policy");
  Process relay(ProcessSpec{relayBinary(),
                            {"--listen", "127.0.0.1:" + std::to_string(port), "--connect",
                             "tcp://127.0.0.1:" + std::to_string(freeTcpPort()), "--http",
                             "127.0.0.1:" + std::to_string(http), "--logon-timeout-s", "1", "--max-clients", "3",
                             "--fill-interval-ms", "200", "--sat-servers", "sat.example.org:2211"},
                            {}, dir, dir, "relay"});
  ASSERT_TRUE(relay.waitForLine(std::regex("listening on"), 10s, Stream::kStderr)) << relay.text(Stream::kStderr);

  TestClient v1(port), v2(port);
  ASSERT_TRUE(v1.logon("v1@example.org", qbt::Version::kV1));
  ASSERT_TRUE(v2.logon("v2@example.org", qbt::Version::kV2));
  ASSERT_TRUE(waitUntil([&] { return metric(scrape(http, "/metrics"), "emwin_clients_streaming") == 2; }, 10s));

  const auto t0 = Clock::now();
  TestClient silent(port);
  ASSERT_TRUE(silent.readUntilClosed(10s * kSlow));
  const auto took = Clock::now() - t0;
  EXPECT_GE(took, 900ms);
  EXPECT_EQ(silent.bytes(), 0u);

  TestClient third(port);  // 3 of 3 until the silent one went: now 2 of 3, served
  TestClient fourth(port);  // 4th: over capacity
  ASSERT_TRUE(fourth.logon("fourth@example.org", qbt::Version::kV2));
  ASSERT_TRUE(fourth.readUntilClosed(10s));
  ASSERT_EQ(fourth.lists.size(), 1u);
  EXPECT_EQ(fourth.lists[0].regular, (std::vector<qbt::ServerAddress>{{"127.0.0.1", static_cast<std::uint16_t>(port)}}));
  EXPECT_EQ(fourth.lists[0].satellite, (std::vector<qbt::ServerAddress>{{"sat.example.org", 2211}}));
  EXPECT_EQ(fourth.data_segments + fourth.fill, 0u);

  // Idle logged-on clients get FILLFILE keepalives (nothing is relayed: no producer).
  for (TestClient* c : {&v1, &v2}) {
    ASSERT_TRUE(c->readUntil([&] { return c->fill >= 3; }, 10s));
    EXPECT_TRUE(c->bad.empty());
    EXPECT_EQ(c->lists.size(), 1u);
  }
  ASSERT_TRUE(third.readUntilClosed(10s * kSlow));  // never logged on either

  std::string m;
  ASSERT_TRUE(waitUntil(
      [&] {
        m = scrape(http, "/metrics");
        return metric(m, "emwin_disconnects_total", "kind=\"logon_timeout\"") == 2;
      },
      10s))
      << m;
  EXPECT_EQ(metric(m, "emwin_disconnects_total", "kind=\"over_capacity\""), 1) << m;
  EXPECT_EQ(metric(m, "emwin_connections_total"), 5) << m;
  EXPECT_EQ(metric(m, "emwin_clients_active"), 2) << m;
  EXPECT_EQ(metric(m, "emwin_disconnects_total"), 3) << m;  // connections = active + every disconnect
  // Per-client series: what was written to v2's socket, which it has read (FILLFILE keeps coming).
  EXPECT_GE(metric(m, "emwin_relay_client_bytes_sent_total", "email=\"v2@example.org\""), static_cast<double>(v2.bytes()))
      << m;
  EXPECT_GT(v2.bytes(), 0u);
  const std::string clients = scrape(http, "/clients");
  EXPECT_NE(clients.find("\"email\": \"v1@example.org\""), std::string::npos) << clients;
  EXPECT_NE(clients.find("\"version\": \"V2\""), std::string::npos) << clients;
  // No producer on its tap: degraded only after --upstream-timeout-s (30 s), so healthy now.
  EXPECT_EQ(scrape(http, "/healthz").rfind("ok clients=2", 0), 0u);

  // SIGTERM: every client is closed ("stopping"), exit 0.
  relay.signal(SIGTERM);
  EXPECT_EQ(relay.waitExit(10s), std::optional<int>(0));
  EXPECT_TRUE(v1.readUntilClosed(5s));
  EXPECT_TRUE(v2.readUntilClosed(5s));
  EXPECT_EQ(relay.countLines(std::regex("closed: stopping"), Stream::kStderr), 2u);
}

// A relay killed and restarted: the downstream ingest reconnects (its backoff)
// and the site's own pipeline A never notices. What the restart loses
// downstream, precisely: every block ingest A published while no relay was
// subscribed to its tap (a tap keeps nothing for a subscriber that is gone),
// and so the files those blocks belonged to in that round stay partial at
// assembler B (different /FD per round: they never complete, and are not
// written). The simulator loops, so each of those products comes again in a
// later round and B completes it then; B's assembler suppresses the repeats of
// what it already has (same name and content), so disk B ends with every
// product once — as does disk A, which lost nothing.
TEST(RelayClients, RelayRestartDownstreamReconnectsAndUpstreamLosesNothing) {
  ChainConfig config;
  config.sim_args = {"--loop", "--rate", "3000fps", "--retransmit-delay-s", "1"};
  config.protocol_b = "v2";
  RelayChain chain(config);
  chain.start();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  ASSERT_TRUE(waitUntil([&] { return countFiles(chain.outB()) >= 40; }, 60s * kSlow)) << chain.logs();

  // Ingest A's connection counters before: the relay's restart must not move them.
  std::string before;
  ASSERT_TRUE(waitUntil(
      [&] {
        before = chain.statsMetrics();
        return metric(before, "emwin_connects_total", "instance=\"a\"") == 1;
      },
      10s))
      << before;
  const double a_reconnects = metric(before, "emwin_reconnects_total", "instance=\"a\"");  // waiting for the sim

  chain.relay().kill();  // SIGKILL: no goodbye to anyone
  const std::size_t b_at_kill = countFiles(chain.outB());
  // ingest B notices, and fails to reconnect at least once while the relay is down.
  ASSERT_TRUE(chain.ingestB()->waitForLine(std::regex("disconnected from 127\\.0\\.0\\.1"), 20s, Stream::kStderr));
  ASSERT_TRUE(chain.ingestB()->waitForLine(std::regex("connect failed"), 20s, Stream::kStderr)) << chain.logs();
  chain.startRelay();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  ASSERT_TRUE(chain.relay().waitForLine(std::regex("logged on as b@example\\.org"), 30s * kSlow, Stream::kStderr))
      << chain.logs();
  ASSERT_TRUE(chain.relay().waitForLine(std::regex("upstream: first message"), 30s * kSlow, Stream::kStderr));

  // Eventually both disks hold every product once.
  ASSERT_TRUE(waitUntil([&] { return countFiles(chain.outB()) >= 317 && countFiles(chain.outA()) >= 317; },
                        180s * kSlow))
      << "A " << countFiles(chain.outA()) << " B " << countFiles(chain.outB()) << " (B had " << b_at_kill
      << " at the kill)\n" << chain.logs();
  const SimManifest sent = parseSent(chain.sim());
  ASSERT_EQ(sent.distinct.size(), 317u);
  expectDiskHolds(chain.outA(), sent, "pipeline A");
  expectDiskHolds(chain.outB(), sent, "downstream B");

  // Upstream unaffected: ingest A kept its one connection, lost and rejected nothing.
  std::string sm;
  ASSERT_TRUE(waitUntil(
      [&] {
        sm = chain.statsMetrics();
        return metric(sm, "emwin_connects_total", "instance=\"b\"") >= 2;
      },
      10s))
      << sm;
  EXPECT_EQ(metric(sm, "emwin_connects_total", "instance=\"a\""), 1) << sm;
  EXPECT_EQ(metric(sm, "emwin_reconnects_total", "instance=\"a\""), a_reconnects) << sm;
  EXPECT_EQ(metric(sm, "emwin_bad_frames_total", "instance=\"a\""), 0) << sm;
  EXPECT_LE(metric(sm, "emwin_evictions_total", "instance=\"a\""), 0) << sm;  // counted by kind once one happens

  // What B lost: with the sim stopped and both ingests settled, A published
  // more blocks than B, the difference being what went by while no relay was
  // subscribed — and the restarted relay itself missed nothing on its tap.
  chain.sim().signal(SIGTERM);
  ASSERT_TRUE(chain.sim().waitExit(10s).has_value());
  double a_published = -2, b_published = -2;
  ASSERT_TRUE(waitUntil(
      [&] {
        const std::string now = chain.statsMetrics();
        const double a = metric(now, "emwin_segments_published_total", "instance=\"a\"");
        const double b = metric(now, "emwin_segments_published_total", "instance=\"b\"");
        const bool settled = a == a_published && b == b_published;
        a_published = a;
        b_published = b;
        return settled && chain.relayMetric("emwin_client_queued_bytes") == 0;
      },
      30s))
      << chain.logs();
  EXPECT_GT(a_published, b_published) << "the restart lost nothing downstream? it should have";
  EXPECT_EQ(chain.relayMetric("emwin_bus_missed_total"), 0);
  ::testing::Test::RecordProperty("blocks_lost_downstream", std::to_string(a_published - b_published));
  std::printf("relay restart: A published %.0f blocks, B %.0f (%.0f went by while the relay was down)\n", a_published,
              b_published, a_published - b_published);
  EXPECT_EQ(chain.relay().countLines(std::regex("logged on as"), Stream::kStderr), 1u);
}

TEST(RelayProcess, HttpNamesClientsOnlyToTokenHoldersAndHealthzStaysOpen) {
  const int port = freeTcpPort();
  const int http = freeTcpPort();
  Process relay(ProcessSpec{relayBinary(),
                            {"--listen", "127.0.0.1:" + std::to_string(port), "--connect",
                             "tcp://127.0.0.1:" + std::to_string(freeTcpPort()), "--http",
                             "127.0.0.1:" + std::to_string(http), "--http-token", "s3cret"},
                            {}, {}, {}, "relay-http"});
  ASSERT_TRUE(relay.waitForLine(std::regex("listening on"), 10s * kSlow, Stream::kStderr)) << relay.text(Stream::kStderr);
  TestClient c(port);
  ASSERT_TRUE(c.logon("private@example.org", qbt::Version::kV1));
  httplib::Client client("127.0.0.1", http);
  client.set_connection_timeout(2);
  auto anonymous = client.Get("/clients");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_EQ(anonymous->body.find("private@example.org"), std::string::npos);
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 401);
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  client.set_bearer_token_auth("s3cret");
  std::string body;
  ASSERT_TRUE(waitUntil(
      [&] {
        auto r = client.Get("/clients");
        body = r ? r->body : "";
        return r && r->status == 200 && body.find("private@example.org") != std::string::npos;
      },
      10s));
}

TEST(RelayProcess, BadConfigurationIsOneLineNamingTheOptionAndExitTwo) {
  // A port in use: held here by a listening socket.
  const int busy_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(busy_fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(busy_fd, 1), 0);
  socklen_t len = sizeof a;
  ::getsockname(busy_fd, reinterpret_cast<sockaddr*>(&a), &len);
  const std::string busy = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  const std::string free_listen = "127.0.0.1:" + std::to_string(freeTcpPort());

  struct Case {
    std::vector<std::string> args;
    std::string option;
  };
  const std::vector<Case> cases = {
      {{"--listen", busy}, "--listen"},
      {{"--listen", free_listen, "--http", busy}, "--http"},
      {{"--listen", free_listen, "--allow", "10.0.0.0/33"}, "--allow"},
      {{"--listen", free_listen, "--allow", "192.168.1.1/24"}, "--allow"},
      {{"--listen", free_listen, "--server-list", "a.example.org:2211|b.example.org"}, "--server-list"},
      {{"--listen", free_listen, "--sat-servers", "sat:99999"}, "--sat-servers"},
      {{"--listen", free_listen, "--client-queue-kb", "1"}, "--client-queue-kb"},
      {{"--listen", free_listen, "--feed", "frames"}, "--feed"},
      {{"--listen", "127.0.0.1"}, "--listen"},
      {{"--listen", free_listen, "--connect", "not-an-endpoint"}, "--connect"},
      {{"--listen", free_listen, "--feed", "files", "--include-upstream-list"}, "--include-upstream-list"},
      {{"--listen", free_listen, "--http", "127.0.0.1:0", "--http-allow", "10.0.0.0/99"}, "--http-allow"},
  };
  for (const Case& c : cases) {
    Process p(ProcessSpec{relayBinary(), c.args, {}, {}, {}, "relay-badcfg"});
    EXPECT_EQ(p.waitExit(10s), std::optional<int>(2)) << c.option;
    const auto lines = p.lines(Stream::kStderr);
    ASSERT_EQ(lines.size(), 1u) << c.option << ":\n" << p.text(Stream::kStderr);
    EXPECT_NE(lines[0].find(c.option), std::string::npos) << lines[0];
    EXPECT_EQ(lines[0].rfind("emwin-relay: ", 0), 0u) << lines[0];
  }
  // Environment values are checked the same way.
  Process env(ProcessSpec{relayBinary(), {"--listen", free_listen}, {{"EMWIN_MAX_CLIENTS", "0"}}, {}, {}, "relay-badenv"});
  EXPECT_EQ(env.waitExit(10s), std::optional<int>(2));
  ::close(busy_fd);
}

}  // namespace
}  // namespace emwin::test
