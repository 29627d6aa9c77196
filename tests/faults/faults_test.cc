// Fault-injection suite: real emwin-ingest / emwin-assembler / emwin-disk-writer
// processes on 127.0.0.1 fed by emwin-sim or by raw TCP servers written here.
// Each test checks that the processes stay up (or restart cleanly), memory
// stays bounded, bad input is counted with its reason, nothing is written
// outside --out, and every good product sent lands on disk.
#include <unistd.h>
#include <zip.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "emwin/bus/v1/file.pb.h"
#include "emwin/bus/v1/segment.pb.h"
#include "fault_harness.h"
#include "qbt/encoder.h"
#include "runtime/sha256.h"

namespace emwin::test {
namespace {
namespace v1 = emwin::bus::v1;

// Ingest alone against a raw server; a pipeline subscriber stands in for the assembler.
struct IngestOnly {
  Pipeline p;
  zmq::context_t ctx;
  std::unique_ptr<bus::Subscriber> segs;
  std::unique_ptr<StatsWatch> stats;
  explicit IngestOnly(const std::string& name, const std::string& server,
                      std::vector<std::string> args = {"--max-bad-frames", "1000000"})
      : p(name) {
    p.startIngest(server, std::move(args), "ingest-" + name);
    bus::SubscriberOptions o;
    o.mode = bus::Mode::kPipeline;
    o.endpoints = {p.ing_pipe};
    o.topic_prefixes = {"seg."};
    o.group = "faults";
    segs = std::make_unique<bus::Subscriber>(ctx, o);
    stats = std::make_unique<StatsWatch>(ctx, std::vector<std::string>{p.ing_pub}, "");
  }
  std::vector<v1::Segment> collect(std::size_t n, std::chrono::milliseconds timeout) {
    std::vector<v1::Segment> out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      auto m = segs->receive(20ms);
      if (!m) continue;
      v1::Segment s;
      if (s.ParseFromString(m->payload)) out.push_back(s);
      segs->ack(*m);
    }
    return out;
  }
};

std::string dump(const v1::ServiceStats& s) {
  std::string out;
  for (const auto& [k, v] : s.counters()) out += k + "=" + std::to_string(v) + " ";
  return out;
}

#if defined(__SANITIZE_ADDRESS__)
// ASan keeps freed memory in quarantine (256 MB by default) and adds shadow memory.
constexpr std::uint64_t kRssScale = 4;
#else
constexpr std::uint64_t kRssScale = 1;
#endif
constexpr std::uint64_t kRssBoundKb = 200 * 1024 * kRssScale;  // generous: the services idle at ~10-30 MB

// `bytes` of wire junk with no sync in it (no 0xFF byte, so no decoded NUL at all).
std::vector<std::uint8_t> junk(std::mt19937& rng, std::size_t bytes) {
  std::vector<std::uint8_t> out(bytes);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng() % 255);
  return out;
}

TEST(HostileServer, GarbageOnlyIsCountedWhileItStreamsAndNothingIsPublished) {
  // The server sends junk until the test has seen it counted, then one good file.
  std::atomic<bool> junk_phase{true};
  std::atomic<std::uint64_t> junk_sent{0};
  RawServer server([&](int fd, const std::atomic<bool>& stop) {
    std::mt19937 rng(7);
    while (junk_phase.load() && !stop.load()) {
      const auto j = junk(rng, 64 * 1024);
      if (!writeAll(fd, j, stop)) return;
      junk_sent += j.size();
      std::this_thread::sleep_for(5ms);  // a steady stream, not one burst
    }
    writeAll(fd, fileFrames("AFTERJNK.TXT", "after the junk\r\n"), stop);  // its sync ends the garbage run
    while (!stop.load()) std::this_thread::sleep_for(10ms);
  });
  IngestOnly t("garbage", server.address());
  // No sync has been sent yet the garbage counter grows, twice in a row.
  auto s = t.stats->waitFor("ingest", [](const auto& st) { return counter(st, "bad_frames.garbage") >= 8; }, 15s);
  const std::uint64_t first = counter(s, "bad_frames.garbage");
  ASSERT_GE(first, 8u) << dump(s);
  s = t.stats->waitFor(
      "ingest", [&](const auto& st) { return counter(st, "bad_frames.garbage") >= first + 8; }, 15s);
  EXPECT_GE(counter(s, "bad_frames.garbage"), first + 8) << dump(s);
  // Each report covers at most 64 KiB (Decoder::kGarbageReportBytes), none is lost.
  EXPECT_GE(counter(s, "bad_frames.garbage") * (64u << 10), counter(s, "bytes_in") - (64u << 10) - 200) << dump(s);
  EXPECT_EQ(counter(s, "segments_published"), 0u);
  EXPECT_EQ(counter(s, "reconnects"), 0u);
  EXPECT_TRUE(t.collect(1, 100ms).empty());
  EXPECT_LT(rssKb(t.p.ingest->pid()), kRssBoundKb);
  junk_phase = false;
  s = t.stats->waitFor("ingest", [](const auto& st) { return counter(st, "segments_published") >= 1; }, 10s);
  EXPECT_EQ(counter(s, "segments_published"), 1u);
  auto segs = t.collect(2, 1s);
  ASSERT_EQ(segs.size(), 1u);
  EXPECT_EQ(segs[0].filename(), "AFTERJNK.TXT");
  EXPECT_GE(junk_sent.load(), 16u * (64u << 10));
  EXPECT_TRUE(t.p.ingest->running());
  EXPECT_LT(rssKb(t.p.ingest->pid()), kRssBoundKb);
}

// With the default bad-input window (50 reports in 60 s), a server that sends
// only junk is abandoned for the next one instead of being read forever.
TEST(HostileServer, GarbageOnlyServerIsAbandonedForTheNextServer) {
  RawServer bad([](int fd, const std::atomic<bool>& stop) {
    std::mt19937 rng(9);
    while (!stop.load() && writeAll(fd, junk(rng, 64 * 1024), stop)) std::this_thread::sleep_for(1ms);
  });
  RawServer good([](int fd, const std::atomic<bool>& stop) {
    writeAll(fd, fileFrames("GOODSRV.TXT", "from the good server\r\n"), stop);
    while (!stop.load()) std::this_thread::sleep_for(10ms);
  });
  IngestOnly t("garbage-failover", bad.address(), {"--server", good.address()});
  auto segs = t.collect(1, 20s);
  ASSERT_EQ(segs.size(), 1u) << t.p.ingest->text(Stream::kStderr);
  EXPECT_EQ(segs[0].filename(), "GOODSRV.TXT");
  auto s = t.stats->waitFor("ingest", [](const auto& st) { return counter(st, "bad_window_fired") >= 1; }, 5s);
  EXPECT_GE(counter(s, "bad_window_fired"), 1u) << dump(s);
  EXPECT_GT(counter(s, "bad_frames.garbage"), 50u) << dump(s);
  EXPECT_GE(bad.connections(), 1);
  EXPECT_TRUE(t.p.ingest->running());
}

TEST(HostileServer, OnlyFillFileKeepsTheLinkUpAndPublishesNothing) {
  RawServer server([](int fd, const std::atomic<bool>& stop) {
    const auto fill = fileFrames("FILLFILE.TXT", "FILLFILE: no products to send right now.\r\n");
    while (!stop.load() && writeAll(fd, fill, stop)) std::this_thread::sleep_for(2ms);
  });
  IngestOnly t("fill", server.address());
  auto s = t.stats->waitFor("ingest", [](const auto& st) { return counter(st, "fill_frames") >= 500; }, 15s);
  EXPECT_GE(counter(s, "fill_frames"), 500u);
  EXPECT_EQ(counter(s, "segments_published"), 0u);
  EXPECT_EQ(counter(s, "reconnects"), 0u);
  EXPECT_TRUE(t.collect(1, 300ms).empty());
  EXPECT_EQ(server.connections(), 1);
}

TEST(HostileServer, EndlessServerListIsCappedAndTheStreamRecovers) {
  RawServer server([](int fd, const std::atomic<bool>& stop) {
    std::vector<std::uint8_t> start(6, 0);
    const std::string head = "/ServerList/";
    start.insert(start.end(), head.begin(), head.end());
    qbt::xorInPlace(start);
    if (!writeAll(fd, start, stop)) return;
    std::string chunk;
    for (int i = 0; i < 4000; ++i) chunk += "host" + std::to_string(i) + ".example.org:2211|";
    std::vector<std::uint8_t> bytes(chunk.begin(), chunk.end());
    qbt::xorInPlace(bytes);
    for (int i = 0; i < 40 && !stop.load(); ++i) {  // ~3 MiB of one server-list frame
      if (!writeAll(fd, bytes, stop)) return;
    }
    auto good = fileFrames("GOODLIST.TXT", "after the endless list\r\n");
    writeAll(fd, good, stop);
    while (!stop.load()) std::this_thread::sleep_for(10ms);
  });
  IngestOnly t("serverlist", server.address());
  auto segs = t.collect(1, 15s);
  ASSERT_EQ(segs.size(), 1u);
  EXPECT_EQ(segs[0].filename(), "GOODLIST.TXT");
  auto s = t.stats->waitFor(
      "ingest", [](const auto& st) { return counter(st, "bad_frames.server_list_too_long") >= 1; }, 5s);
  EXPECT_GE(counter(s, "bad_frames.server_list_too_long"), 1u);
  EXPECT_EQ(counter(s, "server_lists"), 0u);
  EXPECT_LT(rssKb(t.p.ingest->pid()), kRssBoundKb);
}

TEST(HostileServer, DataLengthsZeroOverAndGigaAreRejectedAndGoodFramesStillPass) {
  constexpr int kRounds = 3;
  RawServer server([](int fd, const std::atomic<bool>& stop) {
    std::vector<std::uint8_t> stream;
    auto add = [&](const std::vector<std::uint8_t>& f) { stream.insert(stream.end(), f.begin(), f.end()); };
    const std::vector<std::uint8_t> small_body(16, 0x41);
    for (int r = 0; r < kRounds; ++r) {
      const std::string n = std::to_string(r);
      // Well-formed V2 headers whose /DL is out of 1..1024; each followed by a good product.
      add(rawFrame(headerText("DLZERO" + n + ".TXT", 1, 1, 0, 0), {}));
      add(fileFrames("GOOD1R" + n + ".TXT", "one " + n + "\r\n"));
      add(rawFrame(headerText("DLOVER" + n + ".TXT", 1, 1, 0, 1025), std::vector<std::uint8_t>(1025, 0x41)));
      add(fileFrames("GOOD2R" + n + ".TXT", "two " + n + "\r\n"));
      // 10^9 announced, 16 sent, then the next frame: must not wait for (or allocate) 10^9 bytes.
      add(rawFrame(headerText("DLGIGA" + n + ".TXT", 1, 1, 0, 1000000000), small_body, /*suffix=*/false));
      add(fileFrames("GOOD3R" + n + ".TXT", "three " + n + "\r\n"));
    }
    if (!writeAll(fd, stream, stop)) return;
    while (!stop.load()) std::this_thread::sleep_for(10ms);
  });
  IngestOnly t("dl", server.address());
  auto segs = t.collect(3 * kRounds, 15s);
  std::set<std::string> names;
  for (const auto& s : segs) names.insert(s.filename());
  std::set<std::string> want;
  for (int r = 0; r < kRounds; ++r) {
    for (const char* g : {"GOOD1R", "GOOD2R", "GOOD3R"}) want.insert(g + std::to_string(r) + ".TXT");
  }
  EXPECT_EQ(names, want);
  EXPECT_EQ(segs.size(), want.size());
  auto s = t.stats->waitFor(
      "ingest", [](const auto& st) { return counter(st, "bad_frames.bad_length") >= 3 * kRounds; }, 5s);
  EXPECT_EQ(counter(s, "bad_frames.bad_length"), static_cast<std::uint64_t>(3 * kRounds)) << dump(s);
  EXPECT_EQ(counter(s, "bad_frames.bad_header"), 0u) << dump(s);
  EXPECT_EQ(counter(s, "bad_frames.truncated"), 0u) << dump(s);
  EXPECT_EQ(counter(s, "segments_published"), want.size());
  EXPECT_EQ(counter(s, "reconnects"), 0u);
  EXPECT_TRUE(t.p.ingest->running());
  EXPECT_LT(rssKb(t.p.ingest->pid()), kRssBoundKb);
}

// Issue 13: every rejected frame was counted twice (its reason, then its body as
// garbage), so `--max-bad-frames 50` tripped after ~25 bad frames. 50 bad frames
// with real bodies between good ones are 50 reports and keep the connection;
// the 51st trips the window.
TEST(HostileServer, FiftyBadFramesAreFiftyReportsAndTheFiftyFirstTripsTheWindow) {
  std::atomic<bool> send_last{false};
  std::atomic<int> connections{0};
  const std::vector<std::uint8_t> body = [] {
    std::vector<std::uint8_t> b(1024);
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>('a' + i % 26);  // no NUL
    return b;
  }();
  const auto badFrame = [&](int i) {
    // A garbled /PN marker, as emwin-sim --corrupt-header-every makes it.
    return rawFrame("/PFBAD" + std::to_string(i) + ".TXT/PX1 /PT1 /CS0 /FD" + qbt::formatFd(1772550000), body);
  };
  RawServer server([&](int fd, const std::atomic<bool>& stop) {
    if (connections++ > 0) {  // only the first connection gets the stream
      while (!stop.load()) std::this_thread::sleep_for(10ms);
      return;
    }
    std::vector<std::uint8_t> stream;
    auto add = [&](const std::vector<std::uint8_t>& f) { stream.insert(stream.end(), f.begin(), f.end()); };
    for (int i = 0; i < 50; ++i) {
      add(fileFrames("GOOD" + std::to_string(i) + ".TXT", "good " + std::to_string(i) + "\r\n"));
      add(badFrame(i));
    }
    add(fileFrames("GOOD50.TXT", "good 50\r\n"));
    if (!writeAll(fd, stream, stop)) return;
    while (!send_last.load() && !stop.load()) std::this_thread::sleep_for(5ms);
    std::vector<std::uint8_t> last = badFrame(50);
    const auto after = fileFrames("AFTER.TXT", "after the 51st\r\n");
    last.insert(last.end(), after.begin(), after.end());
    writeAll(fd, last, stop);
    while (!stop.load()) std::this_thread::sleep_for(10ms);
  });
  IngestOnly t("bad-once", server.address(), {"--max-bad-frames", "50", "--bad-window-s", "600"});
  const auto segs = t.collect(51, 15s);
  ASSERT_EQ(segs.size(), 51u) << t.p.ingest->text(Stream::kStderr);
  auto s = t.stats->waitFor(
      "ingest", [](const auto& st) { return counter(st, "segments_published") >= 51; }, 5s);
  EXPECT_EQ(counter(s, "bad_frames.bad_header"), 50u) << dump(s);
  EXPECT_EQ(counter(s, "bad_frames.garbage"), 0u) << dump(s);
  EXPECT_EQ(counter(s, "bad_frames_total"), 50u) << dump(s);
  EXPECT_EQ(counter(s, "bad_window_fired"), 0u) << dump(s);
  EXPECT_EQ(counter(s, "reconnects"), 0u) << dump(s);
  EXPECT_EQ(connections.load(), 1);
  send_last = true;
  s = t.stats->waitFor("ingest", [](const auto& st) { return counter(st, "bad_window_fired") >= 1; }, 10s);
  EXPECT_EQ(counter(s, "bad_window_fired"), 1u) << dump(s);
  EXPECT_EQ(counter(s, "bad_frames.bad_header"), 51u) << dump(s);
  EXPECT_EQ(counter(s, "bad_frames.garbage"), 0u) << dump(s);
  EXPECT_TRUE(t.p.ingest->running());
}

// --- whole pipeline -------------------------------------------------------

struct FullPipeline {
  Pipeline p;
  zmq::context_t ctx;
  std::unique_ptr<StatsWatch> stats;
  explicit FullPipeline(const std::string& name, std::vector<std::string> asm_args = {},
                        const std::function<void(const std::string& out)>& before_start = {})
      : p(name) {
    p.assembler_args = std::move(asm_args);
    if (before_start) before_start(p.out);
    stats = std::make_unique<StatsWatch>(ctx, std::vector<std::string>{p.ing_pub, p.asm_pub}, p.intake);
    p.startWriter("writer-" + name);
    p.startAssembler("assembler-" + name);
  }
  // True when every sha in `want` is on disk.
  bool delivered(const std::set<std::string>& want) const {
    const auto got = shasOnDisk(p.out);
    for (const auto& s : want) {
      if (got.count(s) == 0) return false;
    }
    return true;
  }
  std::set<std::string> missing(const std::set<std::string>& want) const {
    const auto got = shasOnDisk(p.out);
    std::set<std::string> m;
    for (const auto& s : want) {
      if (got.count(s) == 0) m.insert(s);
    }
    return m;
  }
};

std::unique_ptr<Process> startSim(std::vector<std::string> args, const std::string& name, int* port) {
  std::vector<std::string> all = {"--listen", "127.0.0.1:0", "--no-server-list", "--retransmit-delay-s", "0",
                                  "--stats-interval-ms", "0"};
  all.insert(all.end(), args.begin(), args.end());
  auto p = std::make_unique<Process>(ProcessSpec{binaryPath("tools/sim/emwin-sim"), all, {}, {}, {}, name});
  auto line = p->waitForLine(std::regex("^listening "), 10s);
  if (!line) return p;
  std::smatch m;
  std::regex_search(*line, m, std::regex(":([0-9]+)"));
  *port = std::stoi(m[1]);
  return p;
}

class ServerDrop : public ::testing::TestWithParam<int> {};

// V1 frames are 1116 bytes: the header spans bytes 6..85 of a frame, the body 86..1109.
TEST_P(ServerDrop, EveryProductIsDeliveredAfterTheReconnect) {
  const int offset = GetParam();
  FullPipeline t("drop" + std::to_string(offset));
  int port = 0;
  auto sim = startSim({"--products", productsDir("severe_thunderstorm_warning"), "--drop-after-bytes",
                       std::to_string(offset), "--fault-clients", "1"},
                      "sim-drop", &port);
  ASSERT_NE(port, 0);
  t.p.startIngest("127.0.0.1:" + std::to_string(port), {"--protocol", "v1"});
  ASSERT_TRUE(sim->waitForLine(std::regex("^fault kind=drop client=1 "), 10s));
  ASSERT_TRUE(sim->waitForLine(std::regex("^done client=2 "), 15s)) << t.p.ingest->text(Stream::kStderr);
  const auto want = sentShas(*sim);
  ASSERT_GE(want.size(), 10u);
  EXPECT_TRUE(waitUntil([&] { return t.delivered(want); }, 15s)) << t.missing(want).size() << " missing";
  auto s = t.stats->waitFor("ingest", [](const auto& st) { return counter(st, "reconnects") >= 1; }, 5s);
  EXPECT_EQ(counter(s, "bad_frames.truncated"), 1u);
  EXPECT_GE(counter(s, "reconnects"), 1u);
  EXPECT_TRUE(t.p.assembler->running());
  EXPECT_TRUE(t.p.writer->running());
}

INSTANTIATE_TEST_SUITE_P(Offsets, ServerDrop, ::testing::Values(3 * 1116 + 40, 3 * 1116 + 600),
                         [](const auto& info) { return info.param % 1116 < 86 ? "MidHeader" : "MidBody"; });

// Builds a ZIP with libzip in a temp file and returns its bytes.
std::string makeZip(const std::vector<std::pair<std::string, std::string>>& entries) {
  const std::string path = makeTempDir("faults-zip") + "/a.zip";
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (z == nullptr) return {};
  std::vector<std::string> keep;
  keep.reserve(entries.size());
  for (const auto& [name, data] : entries) {
    keep.push_back(data);
    zip_source_t* src = zip_source_buffer(z, keep.back().data(), keep.back().size(), 0);
    zip_file_add(z, name.c_str(), src, ZIP_FL_ENC_RAW);
  }
  zip_close(z);
  return readFile(path);
}

TEST(HostileContent, ZipBombTraversalEntriesAndHugeTotalsNeverEscapeOut) {
  FullPipeline t("zip");
  const std::string good_entry = "ZONE FORECAST\r\nGOOD ENTRY\r\n";
  const std::string zip = makeZip({{"GOODENT.TXT", good_entry},
                                   {"BOMB.TXT", std::string(20u << 20, '\0')},
                                   {"../../etc/x", "escaped"},
                                   {"/tmp/abs.txt", "absolute"}});
  ASSERT_FALSE(zip.empty());
  const std::string good = "A GOOD PRODUCT AFTER THE HOSTILE ONES\r\n";
  RawServer server([&](int fd, const std::atomic<bool>& stop) {
    std::vector<std::uint8_t> stream = fileFrames("HOSTILE.ZIP", zip);
    auto add = [&](const std::vector<std::uint8_t>& f) { stream.insert(stream.end(), f.begin(), f.end()); };
    add(rawFrame(headerText("HUGEPT.TXT", 1, 1000000000, 0), std::vector<std::uint8_t>(1024, 0)));
    add(fileFrames("GOODAFTR.TXT", good));
    if (!writeAll(fd, stream, stop)) return;
    while (!stop.load()) std::this_thread::sleep_for(10ms);
  });
  t.p.startIngest(server.address());
  const std::set<std::string> want = {runtime::sha256Hex(good), runtime::sha256Hex(good_entry),
                                      runtime::sha256Hex(zip)};
  EXPECT_TRUE(waitUntil([&] { return t.delivered(want); }, 20s)) << t.missing(want).size() << " missing";
  auto s = t.stats->waitFor(
      "assembler",
      [](const auto& st) {
        return counter(st, "archive_errors.ratio") + counter(st, "archive_errors.total_size") >= 1 &&
               counter(st, "archive_errors.unsafe_name") >= 2;
      },
      10s);
  EXPECT_GE(counter(s, "archive_errors.ratio") + counter(s, "archive_errors.total_size"), 1u);
  EXPECT_EQ(counter(s, "archive_errors.unsafe_name"), 2u);
  // The /PT 10^9 frame is well-formed and in range for the wire (PN <= PT), so
  // ingest publishes it and the assembler refuses it (total_too_large).
  s = t.stats->waitFor(
      "assembler", [](const auto& st) { return counter(st, "rejected_segments.total_too_large") >= 1; }, 5s);
  EXPECT_EQ(counter(s, "rejected_segments.total_too_large"), 1u) << dump(s);
  auto ing = t.stats->latest("ingest", 300ms);
  EXPECT_EQ(counter(ing, "bad_frames.bad_header") + counter(ing, "bad_frames.block_range"), 0u) << dump(ing);
  // Nothing but out/ and the state dirs in the test's base dir; no 20 MiB file anywhere.
  for (const auto& f : filesUnder(t.p.base)) {
    EXPECT_TRUE(f.rfind("out/", 0) == 0 || f.find("state/") != std::string::npos || f.ends_with(".stdout") ||
                f.ends_with(".stderr"))
        << f;
    EXPECT_LT(std::filesystem::file_size(t.p.base + "/" + f), 1u << 20) << f;
  }
  EXPECT_FALSE(std::filesystem::exists("/tmp/abs.txt"));
  EXPECT_TRUE(t.p.assembler->running());
  EXPECT_LT(rssKb(t.p.assembler->pid()), kRssBoundKb);
}

// A hostile producer on the bus (this test) hands the disk-writer names no
// assembler would produce; the writer must keep every byte under --out.
TEST(HostileContent, DiskWriterKeepsHostileNamesInsideOut) {
  Pipeline p("names");
  zmq::context_t ctx;
  StatsWatch stats(ctx, {}, p.intake);
  bus::PublisherOptions po;
  po.producer_id = "hostile";
  po.pipeline_endpoint = p.asm_pipe;
  bus::Publisher pub(ctx, po);
  p.startWriter("writer-names");
  ASSERT_TRUE(waitUntil([&] { pub.poll(10ms); return pub.stats().pipeline.replicas >= 1; }, 10s));
  const std::vector<std::string> names = {"../../etc/x", "/etc/passwd", std::string("A\0B.TXT", 7),
                                          std::string(4096, 'N') + ".TXT", "..", "", "ok/../../y.TXT",
                                          "NORMAL.TXT"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    v1::CompletedFile f;
    f.set_filename(names[i]);
    f.set_data("content " + std::to_string(i) + "\n");
    f.set_sha256(runtime::sha256Hex(f.data()));
    f.set_size_bytes(f.data().size());
    f.set_fd_unix_s(1772550000);
    pub.publish("file.TXT.X", f);
  }
  auto s = stats.waitFor(
      "disk-writer",
      [&](const auto& st) {
        return counter(st, "files_written") + counter(st, "names_rejected") == names.size();
      },
      10s);
  EXPECT_EQ(counter(s, "files_written") + counter(s, "names_rejected"), names.size());
  EXPECT_GE(counter(s, "names_rewritten"), 4u);
  EXPECT_GE(counter(s, "names_rejected"), 1u);
  for (const auto& f : filesUnder(p.base)) {
    EXPECT_TRUE(f.rfind("out/", 0) == 0 || f.find("state/") != std::string::npos || f.ends_with(".stdout") ||
                f.ends_with(".stderr"))
        << f;
    EXPECT_LT(std::filesystem::path(f).filename().string().size(), 256u);
  }
  EXPECT_TRUE(p.writer->running());
}

TEST(MemoryCap, HundredThousandPartialFilesStayUnderTheCap) {
  constexpr int kFiles = 100000;
  FullPipeline t("partials", {"--max-partial-mb", "1"});
  RawServer server([](int fd, const std::atomic<bool>& stop) {
    std::vector<std::uint8_t> batch;
    std::array<std::uint8_t, 1024> block{};
    block.fill('x');
    for (int i = 0; i < kFiles && !stop.load(); ++i) {
      qbt::FrameSpec spec;
      spec.filename = "P" + std::to_string(1000000 + i).substr(1) + ".TXT";
      spec.block_number = 1;
      spec.total_blocks = 2;
      spec.fd_unix_s = 1772550000;
      auto f = qbt::encodeFrame(spec, block);
      batch.insert(batch.end(), f.begin(), f.end());
      if (batch.size() > (1u << 20)) {
        if (!writeAll(fd, batch, stop)) return;
        batch.clear();
      }
    }
    writeAll(fd, batch, stop);
    while (!stop.load()) std::this_thread::sleep_for(10ms);
  });
  t.p.startIngest(server.address());
  std::uint64_t peak_rss = 0;
  double peak_partial = 0;
  auto s = t.stats->waitFor(
      "assembler",
      [&](const auto& st) {
        peak_rss = std::max(peak_rss, rssKb(t.p.assembler->pid()));
        peak_partial = std::max(peak_partial, gauge(st, "partial_bytes"));
        return counter(st, "segments_in") >= kFiles;
      },
      60s);
  ASSERT_EQ(counter(s, "segments_in"), static_cast<std::uint64_t>(kFiles));
  const std::uint64_t held = static_cast<std::uint64_t>(gauge(s, "partial_files"));
  EXPECT_LE(gauge(s, "partial_bytes"), 1u << 20);
  EXPECT_LE(peak_partial, 1u << 20);
  EXPECT_EQ(counter(s, "evictions.memory") + held, static_cast<std::uint64_t>(kFiles));
  EXPECT_LT(peak_rss, 150u * 1024 * kRssScale) << "assembler RSS peak KiB";
  EXPECT_TRUE(t.p.assembler->running());
  std::printf("[ measure ] partials: peak assembler RSS %llu KiB, peak partial_bytes %.0f, evicted %llu\n",
              static_cast<unsigned long long>(peak_rss), peak_partial,
              static_cast<unsigned long long>(counter(s, "evictions.memory")));
}

// --- crashes and restarts ---------------------------------------------------

TEST(Crash, DiskWriterSigkillMidStreamThenRestartDeliversEverything) {
  FullPipeline t("killwriter");
  int port = 0;
  auto sim = startSim({"--products", productsDir("flash_flood_warning"), "--rate", "200fps"}, "sim-killwriter", &port);
  ASSERT_NE(port, 0);
  t.p.startIngest("127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(waitUntil([&] { return shasOnDisk(t.p.out).size() >= 2; }, 15s));
  t.p.writer->kill();
  t.p.startWriter("writer-killwriter-2");
  ASSERT_TRUE(sim->waitForLine(std::regex("^done client=1 "), 20s));
  const auto want = sentShas(*sim);
  EXPECT_TRUE(waitUntil([&] { return t.delivered(want); }, 15s)) << t.missing(want).size() << " missing";
  EXPECT_TRUE(t.p.assembler->running());
}

TEST(Crash, AssemblerSigkillMidStreamThenRestart) {
  FullPipeline t("killasm");
  int port = 0;
  auto sim = startSim({"--products", productsDir("flash_flood_warning"), "--rate", "200fps"}, "sim-killasm", &port);
  ASSERT_NE(port, 0);
  t.p.startIngest("127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(waitUntil([&] { return shasOnDisk(t.p.out).size() >= 2; }, 15s));
  t.p.assembler->kill();
  t.p.startAssembler("assembler-killasm-2");
  ASSERT_TRUE(sim->waitForLine(std::regex("^done client=1 "), 20s));
  const auto want = sentShas(*sim);
  // Segments of files still open at the kill were never acknowledged, so
  // ingest hands them to the restarted assembler: nothing is lost.
  waitUntil([&] { return t.delivered(want); }, 10s);
  const auto lost = t.missing(want);
  EXPECT_EQ(lost.size(), 0u);
  std::printf("[ measure ] assembler SIGKILL: %zu of %zu products lost\n", lost.size(), want.size());
  EXPECT_TRUE(t.p.writer->running());
  EXPECT_TRUE(t.p.ingest->running());
}

TEST(Crash, SigtermDuringABurstStopsEveryServiceCleanly) {
  FullPipeline t("term");
  int port = 0;
  auto sim = startSim({"--products", productsDir("flash_flood_warning"), "--loop"}, "sim-term", &port);
  ASSERT_NE(port, 0);
  t.p.startIngest("127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(waitUntil([&] { return shasOnDisk(t.p.out).size() >= 5; }, 15s));
  t.p.ingest->signal(SIGTERM);
  t.p.assembler->signal(SIGTERM);
  t.p.writer->signal(SIGTERM);
  EXPECT_EQ(t.p.ingest->waitExit(10s), std::optional<int>(0));
  EXPECT_EQ(t.p.assembler->waitExit(10s), std::optional<int>(0));
  EXPECT_EQ(t.p.writer->waitExit(10s), std::optional<int>(0));
  // No half-written temp file is left in out/.
  for (const auto& f : filesUnder(t.p.out)) {
    EXPECT_FALSE(std::filesystem::path(f).filename().string().starts_with(".")) << f;
  }
}

}  // namespace
}  // namespace emwin::test
