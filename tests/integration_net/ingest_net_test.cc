// Network integration tests: emwin-sim -> emwin-ingest -> bus subscribers in
// this process. Real processes, loopback, kernel-chosen ports; every process
// is killed by its Process destructor.
#include <csignal>
#include <numeric>
#include <set>

#include "net_harness.h"

namespace emwin::test {
namespace {

std::uint32_t low16Sum(const std::string& data) {
  std::uint32_t sum = 0;
  for (unsigned char c : data) sum += c;
  return sum & 0xFFFF;
}

class SimToIngest : public ::testing::TestWithParam<std::string> {};

TEST_P(SimToIngest, EveryBlockTheSimSendsArrivesAsASegment) {
  const std::string version = GetParam();
  Sim sim = startSim({"--products", productsDir("severe_thunderstorm_warning"), "--retransmit-delay-s", "1",
                      "--fill-interval-ms", "200"},
                     "sim-" + version);
  ASSERT_NE(sim.port, 0);
  Ingest ing = startIngest({"--server", sim.address(), "--protocol", version, "--wait-consumers", "1",
                            "--state-dir", makeTempDir("ingest-state")},
                           "ingest-" + version);
  zmq::context_t ctx;
  auto sub = segmentSubscriber(ctx, ing.pipe);

  const std::string expected_logon = "text=\"ByteBlast Client|NM-itest@example.org|" +
                                     std::string(version == "v2" ? "V2" : "V1") + "\"";
  auto logon = sim.proc->waitForLine(std::regex("^logon client=1 n=1 "), 10s);
  ASSERT_TRUE(logon) << ing.proc->text(Stream::kStderr);
  EXPECT_NE(logon->find(expected_logon), std::string::npos) << *logon;

  auto done = sim.proc->waitForLine(std::regex("^done client=1 "), 15s);
  ASSERT_TRUE(done);
  const auto expected = sentBlocks(*sim.proc, "1");
  const std::uint64_t total = std::accumulate(expected.begin(), expected.end(), std::uint64_t{0},
                                              [](std::uint64_t a, const auto& kv) { return a + kv.second; });
  ASSERT_GT(total, 0u);
  EXPECT_EQ(total, std::stoull(fieldOf(*done, "frames")));

  std::vector<emwin::bus::v1::Segment> segs;
  collectSegments(*sub, segs, total, 10s);
  ASSERT_EQ(segs.size(), total);
  std::map<std::string, std::uint64_t> got;
  const auto want_version = version == "v2" ? emwin::bus::v1::PROTOCOL_VERSION_V2 : emwin::bus::v1::PROTOCOL_VERSION_V1;
  for (const auto& s : segs) {
    ++got[s.filename()];
    EXPECT_EQ(s.version(), want_version);
    EXPECT_EQ(s.source(), sim.address());
    EXPECT_EQ(s.data().size(), 1024u);
    EXPECT_EQ(low16Sum(s.data()), s.declared_checksum() & 0xFFFF);
    EXPECT_NE(s.filename(), "FILLFILE.TXT");
  }
  EXPECT_EQ(got, expected);
}

INSTANTIATE_TEST_SUITE_P(Versions, SimToIngest, ::testing::Values("v1", "v2"));

TEST(IngestLogon, ReLogonIsSentAtTheConfiguredInterval) {
  Sim sim = startSim({"--products", productsDir("tornado_warning"), "--rate", "5fps"}, "sim-relogon");
  ASSERT_NE(sim.port, 0);
  Ingest ing = startIngest({"--server", sim.address(), "--logon-interval-s", "1", "--state-dir",
                            makeTempDir("ingest-state")},
                           "ingest-relogon");
  auto third = sim.proc->waitForLine(std::regex("^logon client=1 n=3 "), 8s);
  ASSERT_TRUE(third) << ing.proc->text(Stream::kStderr);
  EXPECT_NE(third->find("text=\"ByteBlast Client|NM-itest@example.org|V2\""), std::string::npos);
  EXPECT_EQ(sim.proc->countLines(std::regex("^connect client=")), 1u);  // same connection
}

TEST(IngestFailover, MovesToSecondServerAndPersistedListIsUsedAfterRestart) {
  const int port_a = freeTcpPort();
  const int port_b = freeTcpPort();
  const std::string a = "127.0.0.1:" + std::to_string(port_a);
  const std::string b = "127.0.0.1:" + std::to_string(port_b);
  Sim sim_a = startSim({"--products", productsDir("flash_flood_warning"), "--rate", "20fps", "--loop",
                        "--server-list", a + "|" + b},
                       "sim-a", port_a);
  Sim sim_b = startSim({"--products", productsDir("flash_flood_warning"), "--rate", "20fps", "--loop",
                        "--server-list", b + "|" + a},
                       "sim-b", port_b);
  ASSERT_EQ(sim_a.port, port_a);
  ASSERT_EQ(sim_b.port, port_b);
  const std::string state_dir = makeTempDir("ingest-state");
  const std::string state_file = state_dir + "/serverlist.json";
  {
    Ingest ing = startIngest({"--server", a, "--state-dir", state_dir, "--backoff-min-ms", "100",
                              "--backoff-max-ms", "500", "--watchdog-s", "5"},
                             "ingest-failover");
    ASSERT_TRUE(sim_a.proc->waitForLine(std::regex("^logon client=1 "), 10s)) << ing.proc->text(Stream::kStderr);
    ASSERT_TRUE(waitUntil([&] { return readFile(state_file).find(std::to_string(port_b)) != std::string::npos; }, 5s))
        << readFile(state_file);
    ASSERT_TRUE(sim_a.proc->waitForLine(std::regex("^sent client=1 "), 10s));  // mid-stream
    sim_a.proc->kill();
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(sim_b.proc->waitForLine(std::regex("^logon client=1 "), 5s)) << ing.proc->text(Stream::kStderr);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);  // backoff capped at 500 ms
    ing.proc->signal(SIGTERM);
    EXPECT_EQ(ing.proc->waitExit(10s), std::optional<int>(0));
  }
  const std::string persisted = readFile(state_file);
  EXPECT_NE(persisted.find(std::to_string(port_b)), std::string::npos) << persisted;
  // Restart without --server: the persisted list (naming sim B) must be used, not the public defaults.
  Ingest again = startIngest({"--state-dir", state_dir, "--backoff-min-ms", "100", "--backoff-max-ms", "500"},
                             "ingest-restart");
  ASSERT_TRUE(sim_b.proc->waitForLine(std::regex("^logon client=2 "), 8s)) << again.proc->text(Stream::kStderr);
  EXPECT_NE(again.proc->text(Stream::kStderr).find("using the persisted server list"), std::string::npos);
}

TEST(IngestWatchdog, StalledServerTriggersReconnect) {
  Sim sim = startSim({"--products", productsDir("tornado_warning"), "--stall-after-frames", "3", "--rate", "50fps"},
                     "sim-stall");
  ASSERT_NE(sim.port, 0);
  Ingest ing = startIngest({"--server", sim.address(), "--watchdog-s", "1", "--backoff-min-ms", "100",
                            "--backoff-max-ms", "300", "--state-dir", makeTempDir("ingest-state")},
                           "ingest-watchdog");
  ASSERT_TRUE(sim.proc->waitForLine(std::regex("^fault kind=stall client=1 "), 10s));
  ASSERT_TRUE(sim.proc->waitForLine(std::regex("^logon client=2 "), 6s)) << ing.proc->text(Stream::kStderr);
  EXPECT_TRUE(ing.proc->waitForLine(std::regex("watchdog: no good frame"), 2s, Stream::kStderr));
}

TEST(IngestFaults, CorruptFramesAndGarbageAreCountedAndNeverPublished) {
  Sim sim = startSim({"--products", productsDir("severe_thunderstorm_warning"), "--retransmit-delay-s", "0",
                      "--corrupt-checksum-every", "5", "--corrupt-header-every", "7", "--garbage-every", "3"},
                     "sim-faults");
  ASSERT_NE(sim.port, 0);
  Ingest ing = startIngest({"--server", sim.address(), "--wait-consumers", "1", "--max-bad-frames", "10000",
                            "--state-dir", makeTempDir("ingest-state")},
                           "ingest-faults");
  zmq::context_t ctx;
  auto sub = segmentSubscriber(ctx, ing.pipe);
  auto stats_sub = statsSubscriber(ctx, ing.pub);
  auto done = sim.proc->waitForLine(std::regex("^done client=1 "), 15s);
  ASSERT_TRUE(done) << ing.proc->text(Stream::kStderr);
  const std::uint64_t good = std::stoull(fieldOf(*done, "frames"));
  const std::uint64_t checksum_faults = sim.proc->countLines(std::regex("^fault kind=checksum "));
  const std::uint64_t header_faults = sim.proc->countLines(std::regex("^fault kind=header "));
  const std::uint64_t garbage_faults = sim.proc->countLines(std::regex("^fault kind=garbage "));
  ASSERT_GT(checksum_faults, 0u);
  ASSERT_GT(header_faults, 0u);
  ASSERT_GT(garbage_faults, 0u);
  EXPECT_EQ(good + checksum_faults + header_faults, std::stoull(fieldOf(*done, "frames")) + std::stoull(fieldOf(*done, "bad_frames")));

  std::vector<emwin::bus::v1::Segment> segs;
  collectSegments(*sub, segs, good, 10s);
  ASSERT_EQ(segs.size(), good);
  for (const auto& s : segs) EXPECT_EQ(low16Sum(s.data()), s.declared_checksum() & 0xFFFF) << s.filename();

  auto stats = waitStats(
      *stats_sub,
      [&](const auto& s) {
        return counter(s, "segments_published") == good && counter(s, "bad_frames.checksum") == checksum_faults &&
               counter(s, "bad_frames.bad_header") >= header_faults && counter(s, "bad_frames.garbage") > 0;
      },
      10s);
  EXPECT_EQ(counter(stats, "segments_published"), good);
  EXPECT_EQ(counter(stats, "bad_frames.checksum"), checksum_faults);
  EXPECT_GE(counter(stats, "bad_frames.bad_header"), header_faults);
  EXPECT_GT(counter(stats, "bad_frames.garbage"), 0u);
  EXPECT_EQ(counter(stats, "reconnects"), 0u);
  // Nothing beyond the good frames shows up later either.
  std::vector<emwin::bus::v1::Segment> extra;
  collectSegments(*sub, extra, 1, 500ms);
  EXPECT_TRUE(extra.empty());
}

TEST(IngestFaults, MidFrameDropLosesAtMostTheFrameInFlight) {
  Sim sim = startSim({"--products", productsDir("severe_thunderstorm_warning"), "--retransmit-delay-s", "0",
                      "--drop-after-bytes", "6000", "--fault-clients", "1"},
                     "sim-drop");
  ASSERT_NE(sim.port, 0);
  Ingest ing = startIngest({"--server", sim.address(), "--protocol", "v1", "--wait-consumers", "1",
                            "--backoff-min-ms", "100", "--backoff-max-ms", "300", "--state-dir",
                            makeTempDir("ingest-state")},
                           "ingest-drop");
  zmq::context_t ctx;
  auto sub = segmentSubscriber(ctx, ing.pipe);
  auto stats_sub = statsSubscriber(ctx, ing.pub);
  auto drop = sim.proc->waitForLine(std::regex("^fault kind=drop client=1 "), 10s);
  ASSERT_TRUE(drop);
  const std::uint64_t first = std::stoull(fieldOf(*drop, "complete_frames"));
  const bool in_frame = fieldOf(*drop, "in_frame") == "1";
  auto done = sim.proc->waitForLine(std::regex("^done client=2 "), 10s);
  ASSERT_TRUE(done) << ing.proc->text(Stream::kStderr);
  const std::uint64_t second = std::stoull(fieldOf(*done, "frames"));

  std::vector<emwin::bus::v1::Segment> segs;
  collectSegments(*sub, segs, first + second, 10s);
  ASSERT_EQ(segs.size(), first + second);
  // Segments of the first connection come first; its stream offsets restart on the second.
  std::size_t first_conn = 1;
  while (first_conn < segs.size() && segs[first_conn].stream_offset() > segs[first_conn - 1].stream_offset()) {
    ++first_conn;
  }
  EXPECT_EQ(first_conn, first);
  auto stats = waitStats(
      *stats_sub, [&](const auto& s) { return counter(s, "segments_published") == first + second; }, 5s);
  EXPECT_EQ(counter(stats, "bad_frames.truncated"), in_frame ? 1u : 0u);
  EXPECT_GE(counter(stats, "reconnects"), 1u);
}

TEST(IngestReplay, LiveCapturePublishesExactlyItsFiveHundredSegments) {
  const std::string capture = std::string(EMWIN_CORPUS_DIR) + "/live/stream0-20260303.bin";
  Ingest ing = startIngest({"--replay", capture, "--wait-consumers", "1", "--linger-ms", "2000"}, "ingest-replay");
  zmq::context_t ctx;
  auto sub = segmentSubscriber(ctx, ing.pipe);
  std::vector<emwin::bus::v1::Segment> segs;
  collectSegments(*sub, segs, 500, 8s);
  ASSERT_EQ(segs.size(), 500u);
  std::vector<emwin::bus::v1::Segment> extra;  // nothing beyond the 500 may follow
  collectSegments(*sub, extra, 1, 500ms);
  EXPECT_TRUE(extra.empty());
  std::size_t v1 = 0, v2 = 0;
  std::set<std::uint64_t> offsets;
  for (const auto& s : segs) {
    EXPECT_NE(s.filename(), "FILLFILE.TXT");
    EXPECT_EQ(s.source(), "replay:" + capture);
    (s.version() == emwin::bus::v1::PROTOCOL_VERSION_V2 ? v2 : v1)++;
    offsets.insert(s.stream_offset());
  }
  EXPECT_EQ(v1, 451u);
  EXPECT_EQ(v2, 49u);
  EXPECT_EQ(offsets.size(), segs.size());
  EXPECT_EQ(ing.proc->waitExit(10s), std::optional<int>(0));
}

TEST(IngestConfig, MissingEmailExitsWithCode2) {
  Process p(ProcessSpec{ingestBinary(), {"--server", "127.0.0.1:1"}, {{"EMWIN_EMAIL", ""}}, {}, {}, "no-email"});
  EXPECT_EQ(p.waitExit(10s), std::optional<int>(2));
  EXPECT_NE(p.text(Stream::kStderr).find("email is required"), std::string::npos);
}

}  // namespace
}  // namespace emwin::test
