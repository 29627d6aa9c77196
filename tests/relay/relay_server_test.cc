// RelayServer in-process: the server on its own io_context thread, real
// loopback sockets, real QBT decoding on the client side, no bus. Real NWS
// products (the corpus) are relayed; what each client decodes must be the
// blocks exactly, in the layout its logon asked for.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <map>
#include <random>
#include <thread>

#include "relay_client.h"
#include "relay_server.h"

namespace emwin::relay {
namespace {

using namespace std::chrono_literals;
using test::TestClient;

constexpr auto kWait = 10s;

// One file to relay, cut into blocks.
struct TestFile {
  std::string name;
  std::int64_t fd = 1'780'000'000;
  std::vector<std::uint8_t> content;
  std::uint32_t blocks() const { return static_cast<std::uint32_t>(std::max<std::size_t>(1, (content.size() + 1023) / 1024)); }
  std::vector<std::uint8_t> block(std::uint32_t pn) const {
    std::vector<std::uint8_t> b(1024, 0);
    const std::size_t at = static_cast<std::size_t>(pn - 1) * 1024;
    for (std::size_t i = 0; i < 1024 && at + i < content.size(); ++i) b[i] = content[at + i];
    return b;
  }
};

std::vector<TestFile> corpusFiles(const std::string& category) {
  std::vector<TestFile> out;
  for (const auto& e : std::filesystem::directory_iterator(std::string(EMWIN_CORPUS_DIR) + "/products/" + category)) {
    std::ifstream in(e.path(), std::ios::binary);
    TestFile f;
    f.content.assign(std::istreambuf_iterator<char>(in), {});
    f.name = "F" + std::to_string(out.size()) + ".TXT";
    out.push_back(std::move(f));
  }
  return out;
}

TestFile randomFile(std::size_t size, std::uint32_t seed) {
  std::mt19937 rng(seed);
  TestFile f;
  f.name = "RANDOM" + std::to_string(seed) + ".GIF";
  f.content.resize(size);
  for (auto& b : f.content) b = static_cast<std::uint8_t>(rng());
  return f;
}

class RelayServerTest : public ::testing::Test {
 protected:
  // Runs `f` on the server's thread and returns its result.
  template <class F>
  auto onIo(F f) {
    auto task = std::make_shared<std::packaged_task<decltype(f())()>>(std::move(f));
    auto result = task->get_future();
    asio::post(io_, [task] { (*task)(); });
    return result.get();
  }
  void startServer(ServerOptions o) {
    o.listen = asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0);
    if (o.tick > 50ms) o.tick = 20ms;
    server_ = std::make_unique<RelayServer>(io_, std::move(o));
    server_->start();
    port_ = server_->endpoint().port();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (thread_.joinable()) {
      onIo([this] {
        server_.reset();
        return 0;
      });
      work_.reset();
      io_.stop();
      thread_.join();
    }
  }
  void relayFiles(const std::vector<TestFile>& files) {
    onIo([&] {
      for (const auto& f : files) {
        for (std::uint32_t pn = 1; pn <= f.blocks(); ++pn) {
          const auto data = f.block(pn);
          server_->relay(BlockRef{f.name, pn, f.blocks(), f.fd, data});
        }
      }
      return 0;
    });
  }
  ServerCounters counters() {
    return onIo([this] { return server_->counters(); });
  }
  std::size_t streaming() {
    return onIo([this] { return server_->clientsStreaming(); });
  }
  std::size_t open() {
    return onIo([this] { return server_->clientsOpen(); });
  }
  std::uint64_t disconnects(DisconnectReason r) { return counters().disconnects[static_cast<std::size_t>(r)]; }
  bool waitStreaming(std::size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
      if (streaming() >= n) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }
  bool waitFor(const std::function<bool()>& cond) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
      if (cond()) return true;
      std::this_thread::sleep_for(5ms);
    }
    return cond();
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::thread thread_;
  std::unique_ptr<RelayServer> server_;
  int port_ = 0;
};

std::size_t totalBlocks(const std::vector<TestFile>& files) {
  std::size_t n = 0;
  for (const auto& f : files) n += f.blocks();
  return n;
}

// Every decoded segment equals its source block; every block arrived once.
void expectExact(const std::vector<qbt::Segment>& got, const std::vector<TestFile>& files) {
  std::map<std::string, const TestFile*> by_name;
  for (const auto& f : files) by_name[f.name] = &f;
  std::map<std::pair<std::string, std::uint32_t>, int> seen;
  for (const auto& s : got) {
    auto it = by_name.find(s.filename);
    ASSERT_NE(it, by_name.end()) << s.filename;
    EXPECT_EQ(s.total_blocks, it->second->blocks());
    EXPECT_EQ(s.fd_unix_s, it->second->fd);
    const auto want = it->second->block(s.block_number);
    EXPECT_TRUE(std::equal(want.begin(), want.end(), s.data.begin())) << s.filename << " block " << s.block_number;
    ++seen[{s.filename, s.block_number}];
  }
  EXPECT_EQ(seen.size(), totalBlocks(files));
  for (const auto& [k, n] : seen) EXPECT_EQ(n, 1) << k.first << " " << k.second;
}

class RelayStyles : public RelayServerTest, public ::testing::WithParamInterface<qbt::HeaderStyle> {};

TEST_P(RelayStyles, V1AndV2ClientsGetEveryBlockExactlyInTheLayoutTheyAskedFor) {
  ServerOptions o;
  o.encoder.style = GetParam();
  o.server_list.regular = {{"relay.example.org", 2211}};
  startServer(o);
  TestClient v1(port_), v2(port_);
  ASSERT_TRUE(v1.logon("v1@example.org", qbt::Version::kV1));
  ASSERT_TRUE(v2.logon("v2@example.org", qbt::Version::kV2));
  ASSERT_TRUE(waitStreaming(2));
  auto files = corpusFiles("tornado_warning");
  files.push_back(randomFile(5000, 7));  // does not compress: V1 frames for the V2 client too
  relayFiles(files);
  const std::size_t n = totalBlocks(files);
  for (TestClient* c : {&v1, &v2}) {
    ASSERT_TRUE(c->readUntil([&] { return c->data_segments >= n; }, kWait)) << c->data_segments << " of " << n;
    EXPECT_TRUE(c->bad.empty()) << qbt::reasonName(c->bad.front().reason) << " " << c->bad.front().detail;
    expectExact(c->segments, files);
    ASSERT_EQ(c->lists.size(), 1u);
    EXPECT_TRUE(c->list_first);
    EXPECT_EQ(c->lists[0].regular, (std::vector<qbt::ServerAddress>{{"relay.example.org", 2211}}));
  }
  EXPECT_EQ(v1.frames_v2, 0u);
  EXPECT_GT(v2.frames_v2, 0u);  // text compresses ...
  EXPECT_GE(v2.frames_v1, 5u);  // ... the random blocks do not (npemwin's rule)
  // Counted once the write completed (the client may have read the bytes a moment before).
  EXPECT_TRUE(waitFor([&] { return counters().bytes_sent == v1.bytes() + v2.bytes(); }));
  const ServerCounters c = counters();
  EXPECT_EQ(c.blocks_in, n);
  EXPECT_EQ(c.frames_v1 + c.frames_v2, 2 * n);
  EXPECT_EQ(c.frames_v2, v2.frames_v2);
  EXPECT_EQ(c.server_lists, 2u);
  EXPECT_EQ(c.clients_logged_on, 2u);
  EXPECT_EQ(c.bytes_sent, v1.bytes() + v2.bytes());
}

INSTANTIATE_TEST_SUITE_P(EveryHeaderStyle, RelayStyles,
                         ::testing::Values(qbt::HeaderStyle::kSpec, qbt::HeaderStyle::kCompact,
                                           qbt::HeaderStyle::kNpemwin),
                         [](const auto& info) { return std::string(qbt::headerStyleName(info.param)); });

TEST_F(RelayServerTest, V2RuleSmallerSendsEveryBlockThatFitsCompressed) {
  ServerOptions o;
  o.encoder.v2_rule = V2Rule::kWhenSmaller;
  startServer(o);
  TestClient v2(port_);
  ASSERT_TRUE(v2.logon("v2@example.org", qbt::Version::kV2));
  ASSERT_TRUE(waitStreaming(1));
  // Half-compressible blocks: zlib around 700 bytes, which "pays" would send as V1.
  TestFile f;
  f.name = "HALF.TXT";
  std::mt19937 rng(3);
  for (int i = 0; i < 4096; ++i) f.content.push_back(i % 2 ? static_cast<std::uint8_t>(rng()) : 'A');
  relayFiles({f});
  ASSERT_TRUE(v2.readUntil([&] { return v2.data_segments >= 4; }, kWait));
  EXPECT_EQ(v2.frames_v2, 4u);
  expectExact(v2.segments, {f});
}

TEST_F(RelayServerTest, BlocksRelayedBeforeAnyClientLoggedOnAreCountedUnwanted) {
  startServer({});
  relayFiles({randomFile(3000, 1)});
  const ServerCounters c = counters();
  EXPECT_EQ(c.blocks_in, 3u);
  EXPECT_EQ(c.blocks_unwanted, 3u);
  EXPECT_EQ(c.chunks, 0u);
}

TEST_F(RelayServerTest, AClientThatNeverLogsOnIsClosedAfterTheWindowHavingReceivedNothing) {
  ServerOptions o;
  o.logon_timeout = 300ms;
  startServer(o);
  TestClient silent(port_);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(silent.readUntilClosed(kWait));
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 250ms);
  EXPECT_EQ(silent.bytes(), 0u);
  EXPECT_TRUE(waitFor([&] { return disconnects(DisconnectReason::kLogonTimeout) == 1; }));
  EXPECT_EQ(open(), 0u);
}

TEST_F(RelayServerTest, ALogonWithoutVersionSuffixIsAcceptedAsV1OnceTheClientPauses) {
  startServer({});
  TestClient legacy(port_);
  ASSERT_TRUE(legacy.sendText("ByteBlast Client|NM-legacy@example.org"));
  ASSERT_TRUE(waitStreaming(1));
  EXPECT_EQ(onIo([this] { return server_->clientsStreaming(qbt::Version::kV1); }), 1u);
  const auto clients = onIo([this] { return server_->clients(); });
  ASSERT_EQ(clients.size(), 1u);
  EXPECT_EQ(clients[0].email, "legacy@example.org");
}

TEST_F(RelayServerTest, ALogonThatNamesNobodyIsClosedAsBadLogon) {
  startServer({});
  TestClient nobody(port_);
  ASSERT_TRUE(nobody.sendText("ByteBlast Client|NM-|V2"));
  ASSERT_TRUE(nobody.readUntilClosed(kWait));
  EXPECT_EQ(nobody.bytes(), 0u);
  EXPECT_TRUE(waitFor([&] { return disconnects(DisconnectReason::kBadLogon) == 1; }));
  EXPECT_EQ(counters().logons_bad, 1u);
}

TEST_F(RelayServerTest, AClientThatStopsReLoggingOnIsClosedWhileOneThatKeepsOnStays) {
  ServerOptions o;
  o.relogon_timeout = 600ms;
  startServer(o);
  TestClient once(port_), keeps(port_);
  ASSERT_TRUE(once.logon("once@example.org", qbt::Version::kV2));
  ASSERT_TRUE(keeps.logon("keeps@example.org", qbt::Version::kV2));
  ASSERT_TRUE(waitStreaming(2));
  const auto deadline = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(keeps.logon("keeps@example.org", qbt::Version::kV2));
    keeps.readOnce(150);
    once.readOnce(0);
  }
  EXPECT_TRUE(once.readUntilClosed(kWait));
  EXPECT_FALSE(keeps.closed());
  EXPECT_EQ(disconnects(DisconnectReason::kRelogonTimeout), 1u);
  EXPECT_EQ(streaming(), 1u);
  EXPECT_GE(counters().logons, 8u);
}

TEST_F(RelayServerTest, ASlowClientIsDisconnectedAsSlowWhileAReadingClientGetsEverything) {
  ServerOptions o;
  o.client_queue_bytes = 256 * 1024;
  o.sndbuf = 16 * 1024;
  startServer(o);
  TestClient slow(port_, 4096), good(port_);
  ASSERT_TRUE(slow.logon("slow@example.org", qbt::Version::kV1));
  ASSERT_TRUE(good.logon("good@example.org", qbt::Version::kV1));
  ASSERT_TRUE(waitStreaming(2));
  // 2 MiB of blocks, relayed in bursts while the good client reads; the slow one never reads.
  std::size_t relayed = 0;
  std::size_t peak_queue = 0;
  good.on_segment = [](const qbt::Segment&) {};
  for (std::uint32_t i = 0; i < 16; ++i) {
    const auto f = randomFile(128 * 1024, 100 + i);
    relayFiles({f});
    relayed += f.blocks();
    peak_queue = std::max(peak_queue, onIo([this] { return server_->maxQueuedBytes(); }));
    ASSERT_TRUE(good.readUntil([&] { return good.data_segments >= relayed; }, kWait));
  }
  EXPECT_TRUE(good.bad.empty());
  EXPECT_FALSE(good.closed());
  EXPECT_TRUE(waitFor([&] { return disconnects(DisconnectReason::kSlow) == 1; }));
  EXPECT_LE(peak_queue, o.client_queue_bytes);
  EXPECT_EQ(streaming(), 1u);
  // The slow client got a prefix of the stream and then the end of it.
  EXPECT_TRUE(slow.readUntilClosed(kWait));
  EXPECT_LT(slow.data_segments, relayed);
}

TEST_F(RelayServerTest, OverCapacityAClientGetsTheServerListThenACleanClose) {
  ServerOptions o;
  o.max_clients = 2;
  o.server_list.regular = {{"a.example.org", 2211}, {"b.example.org", 1000}};
  o.server_list.satellite = {{"sat.example.org", 2211}};
  startServer(o);
  TestClient c1(port_), c2(port_);
  ASSERT_TRUE(waitFor([&] { return open() == 2; }));
  TestClient third(port_);
  ASSERT_TRUE(third.logon("third@example.org", qbt::Version::kV2));
  ASSERT_TRUE(third.readUntilClosed(kWait));
  ASSERT_EQ(third.lists.size(), 1u);
  EXPECT_EQ(third.lists[0].regular, o.server_list.regular);
  EXPECT_EQ(third.lists[0].satellite, o.server_list.satellite);
  EXPECT_EQ(third.data_segments, 0u);
  EXPECT_EQ(disconnects(DisconnectReason::kOverCapacity), 1u);
  EXPECT_EQ(open(), 2u);
}

TEST_F(RelayServerTest, AClientOutsideTheAllowListIsClosedAtOnce) {
  ServerOptions o;
  std::string error;
  ASSERT_TRUE(o.allow.add("10.0.0.0/8", error)) << error;
  startServer(o);
  TestClient outsider(port_);
  outsider.logon("x@example.org", qbt::Version::kV2);
  ASSERT_TRUE(outsider.readUntilClosed(kWait));
  EXPECT_EQ(outsider.bytes(), 0u);
  EXPECT_TRUE(waitFor([&] { return disconnects(DisconnectReason::kNotAllowed) == 1; }));
}

TEST_F(RelayServerTest, AnIdleClientGetsFillFileKeepalives) {
  ServerOptions o;
  o.fill_interval = 100ms;
  startServer(o);
  TestClient v1(port_), v2(port_);
  ASSERT_TRUE(v1.logon("a@example.org", qbt::Version::kV1));
  ASSERT_TRUE(v2.logon("b@example.org", qbt::Version::kV2));
  for (TestClient* c : {&v1, &v2}) {
    ASSERT_TRUE(c->readUntil([&] { return c->fill >= 3; }, kWait));
    EXPECT_TRUE(c->bad.empty());
    EXPECT_EQ(c->data_segments, 0u);
  }
  EXPECT_GT(v2.frames_v2, 0u);  // FILLFILE compresses
  EXPECT_GE(counters().fill_frames, 6u);
}

TEST_F(RelayServerTest, AClientSendingJunkInsteadOfLogonsIsClosedAsBadInput) {
  ServerOptions o;
  o.max_junk_bytes = 8 * 1024;
  startServer(o);
  TestClient junk(port_);
  ASSERT_TRUE(junk.logon("j@example.org", qbt::Version::kV1));
  ASSERT_TRUE(waitStreaming(1));
  std::string lots(16 * 1024, 'x');
  junk.sendText(lots);
  ASSERT_TRUE(junk.readUntilClosed(kWait));
  EXPECT_TRUE(waitFor([&] { return disconnects(DisconnectReason::kBadInput) == 1; }));
  EXPECT_GE(counters().junk_bytes, 8u * 1024);
}

TEST_F(RelayServerTest, AChangedUpstreamListIsSentToStreamingClients) {
  ServerOptions o;
  o.server_list.regular = {{"relay.example.org", 2212}};
  o.include_upstream_list = true;
  startServer(o);
  TestClient c(port_);
  ASSERT_TRUE(c.logon("a@example.org", qbt::Version::kV2));
  ASSERT_TRUE(c.readUntil([&] { return c.lists.size() == 1; }, kWait));
  qbt::ServerList upstream;
  upstream.regular = {{"emwin.example.com", 2211}, {"relay.example.org", 2212}};
  upstream.satellite = {{"sat.example.com", 1000}};
  onIo([&] {
    server_->setUpstreamList(upstream);
    server_->setUpstreamList(upstream);  // unchanged: not sent again
    return 0;
  });
  ASSERT_TRUE(c.readUntil([&] { return c.lists.size() == 2; }, kWait));
  EXPECT_EQ(c.lists[1].regular,
            (std::vector<qbt::ServerAddress>{{"relay.example.org", 2212}, {"emwin.example.com", 2211}}));
  EXPECT_EQ(c.lists[1].satellite, upstream.satellite);
  EXPECT_FALSE(c.readUntil([&] { return c.lists.size() > 2; }, 300ms));
}

TEST_F(RelayServerTest, EveryConnectionEndsInExactlyOneCountedReason) {
  ServerOptions o;
  o.logon_timeout = 200ms;
  o.max_clients = 3;
  startServer(o);
  {
    TestClient a(port_), b(port_), c(port_);
    a.logon("a@example.org", qbt::Version::kV1);
    b.sendText("ByteBlast Client|NM-|V1");
    ASSERT_TRUE(waitFor([&] { return open() == 2 && streaming() == 1; }));  // b closed as bad_logon
    TestClient d(port_);  // not over capacity yet: 2 open
    ASSERT_TRUE(c.readUntilClosed(kWait));  // logon timeout
    ASSERT_TRUE(d.readUntilClosed(kWait));
  }  // a closes
  ASSERT_TRUE(waitFor([&] { return open() == 0; }));
  const ServerCounters c = counters();
  std::uint64_t ended = 0;
  for (const auto n : c.disconnects) ended += n;
  EXPECT_EQ(c.connections, 4u);
  EXPECT_EQ(ended, c.connections);
  EXPECT_EQ(c.disconnects[static_cast<std::size_t>(DisconnectReason::kClientClosed)], 1u);
  EXPECT_EQ(c.disconnects[static_cast<std::size_t>(DisconnectReason::kBadLogon)], 1u);
  EXPECT_EQ(c.disconnects[static_cast<std::size_t>(DisconnectReason::kLogonTimeout)], 2u);
}

TEST_F(RelayServerTest, StoppingClosesEveryClientWithReasonStopping) {
  startServer({});
  TestClient a(port_), b(port_);
  a.logon("a@example.org", qbt::Version::kV1);
  ASSERT_TRUE(waitFor([&] { return open() == 2; }));
  onIo([this] {
    server_->stop();
    return 0;
  });
  EXPECT_TRUE(a.readUntilClosed(kWait));
  EXPECT_TRUE(b.readUntilClosed(kWait));
  EXPECT_EQ(disconnects(DisconnectReason::kStopping), 2u);
}

}  // namespace
}  // namespace emwin::relay
