// End-to-end tests of the bus with every process real: sim -> ingest ->
// assembler -> disk-writer(s), plus emwin-stats. Products come from the real
// corpus; what reaches the disk is compared with what the sim says it sent.
#include <sys/mount.h>

#include <csignal>
#include <map>
#include <set>
#include <cstring>
#include <thread>

#include <gtest/gtest.h>
#include <zmq.hpp>

#include "bus/bus.h"
#include "metrics_scrape.h"
#include "pipeline_harness.h"

namespace emwin::test {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr long kRssLimitKib = 600 * 1024;  // ASan shadow memory and quarantine
#else
constexpr long kRssLimitKib = 96 * 1024;
#endif

}  // namespace

TEST(Pipeline, EveryProductTheSimSentIsOnDiskOnceByteIdentical) {
  Pipeline p(PipelineConfig{});
  p.start();
  ASSERT_TRUE(p.waitSimDone(60s * kSlow)) << p.logs();
  SimManifest sent = parseSent(p.sim());
  ASSERT_GT(sent.distinct.size(), 300u);
  // High-priority products are sent twice; the disk must still hold them once.
  EXPECT_GT(sent.lines, sent.distinct.size());
  ASSERT_TRUE(p.waitFilesOnDisk(sent.distinct.size(), 60s * kSlow))
      << countFiles(p.out()) << " of " << sent.distinct.size() << "\n"
      << p.logs();
  expectDiskMatchesSim(p, sent);

  // The stats service saw every stage and /metrics says the same.
  std::string metrics;
  ASSERT_TRUE(waitUntil(
      [&] {
        metrics = scrape(p.httpPort(), "/metrics");
        return metricSum(metrics, "emwin_files_written_total") >= static_cast<double>(sent.distinct.size()) &&
               metricSum(metrics, "emwin_files_completed_total") +
                       metricSum(metrics, "emwin_retransmissions_suppressed_total") >=
                   static_cast<double>(sent.lines);
      },
      10s * kSlow))
      << metrics;
  EXPECT_EQ(metricSum(metrics, "emwin_files_written_total"), static_cast<double>(sent.distinct.size()));
  // Every second transmission of a product was recognised as a retransmission.
  EXPECT_EQ(metricSum(metrics, "emwin_retransmissions_suppressed_total"),
            static_cast<double>(sent.lines - sent.distinct.size()));
  EXPECT_EQ(metricSum(metrics, "emwin_bad_frames_total"), 0);
  EXPECT_EQ(metricSum(metrics, "emwin_up", "service=\"ingest\""), 1);
  EXPECT_EQ(metricSum(metrics, "emwin_up", "service=\"assembler\""), 1);
  EXPECT_EQ(metricSum(metrics, "emwin_up", "service=\"disk-writer\""), 1);
  EXPECT_NE(scrape(p.httpPort(), "/healthz").find("ok"), std::string::npos);
}

TEST(Pipeline, ThreeWriterReplicasShareTheWorkEachFileWrittenOnce) {
  PipelineConfig c;
  c.writers = 3;
  Pipeline p(c);
  p.start();
  ASSERT_TRUE(p.waitSimDone(60s * kSlow)) << p.logs();
  SimManifest sent = parseSent(p.sim());
  ASSERT_TRUE(p.waitFilesOnDisk(sent.distinct.size(), 60s * kSlow)) << p.logs();
  expectDiskMatchesSim(p, sent);
  // Each replica did part of the work, and no file was written twice.
  std::string metrics;
  ASSERT_TRUE(waitUntil(
      [&] {
        metrics = scrape(p.httpPort(), "/metrics");
        return metricSum(metrics, "emwin_files_written_total") +
                   metricSum(metrics, "emwin_files_already_present_total") >=
               static_cast<double>(sent.distinct.size());
      },
      10s * kSlow))
      << metrics;
  EXPECT_EQ(metricSum(metrics, "emwin_files_written_total"), static_cast<double>(sent.distinct.size())) << metrics;
  EXPECT_EQ(metricSum(metrics, "emwin_files_already_present_total"), 0) << metrics;
  for (const char* w : {"w0", "w1", "w2"}) {
    EXPECT_GT(metricSum(metrics, "emwin_files_written_total", std::string("instance=\"") + w + "\""), 0)
        << w << " wrote nothing\n"
        << metrics;
  }
}

TEST(Pipeline, RestartedWriterRecoversWhatItMissedNoneLostNoneTwice) {
  PipelineConfig c;
  c.writer_args = {"--slow-ms", "5", "--credit", "8"};
  Pipeline p(c);
  p.start();
  // Kill the only writer once part of the stream is on disk, while the rest flows.
  ASSERT_TRUE(p.waitFilesOnDisk(40, 60s * kSlow)) << p.logs();
  p.writer(0).kill();
  std::size_t at_kill = countFiles(p.out());
  ASSERT_TRUE(p.waitSimDone(60s * kSlow)) << p.logs();
  SimManifest sent = parseSent(p.sim());
  ASSERT_LT(at_kill, sent.distinct.size()) << "the writer was killed too late to test recovery";
  p.startWriter(0);
  ASSERT_TRUE(p.waitFilesOnDisk(sent.distinct.size(), 90s * kSlow))
      << countFiles(p.out()) << " of " << sent.distinct.size() << "\n"
      << p.logs();
  expectDiskMatchesSim(p, sent);
}

TEST(Pipeline, SlowWriterPushesBackToTheServerWithoutLossAndMemoryStaysBounded) {
  PipelineConfig c;
  // A burst far above every high-water mark: the corpus four times over, as fast as possible.
  // Small socket buffers so that TCP pushback shows within a test-sized burst.
  c.sim_args = {"--loop", "--count", "1268", "--vary-rounds", "--rate", "max", "--retransmit-delay-s", "0",
                "--sndbuf", "16384"};
  c.ingest_args = {"--hwm", "50", "--rcvbuf", "16384"};
  c.assembler_args = {"--hwm", "10", "--credit", "64"};
  c.writer_args = {"--slow-ms", "3", "--credit", "4"};
  Pipeline p(c);
  p.start();
  long peak_rss = 0;
  bool done = false;
  auto deadline = std::chrono::steady_clock::now() + 120s * kSlow;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    for (pid_t pid : p.pids()) peak_rss = std::max(peak_rss, rssKib(pid));
    done = p.sim().countLines(std::regex("^done ")) > 0;
    if (!done) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(done) << p.logs();
  SimManifest sent = parseSent(p.sim());
  ASSERT_TRUE(waitUntil(
      [&] {
        for (pid_t pid : p.pids()) peak_rss = std::max(peak_rss, rssKib(pid));
        return countFiles(p.out()) >= sent.distinct.size();
      },
      120s * kSlow))
      << countFiles(p.out()) << " of " << sent.distinct.size() << "\n"
      << p.logs();
  expectDiskMatchesSim(p, sent);
  EXPECT_LT(peak_rss, kRssLimitKib) << "a process grew to " << peak_rss << " KiB";
  // The sim saw its socket writes block while the writer lagged (TCP pushback).
  p.sim().signal(SIGTERM);
  p.sim().waitExit(5s);
  long blocked_ms = 0;
  for (const auto& line : p.sim().lines()) {
    if (line.rfind("stats ", 0) == 0) blocked_ms = std::max(blocked_ms, std::stol(fieldOf(line, "send_blocked_ms")));
  }
  EXPECT_GT(blocked_ms, 0) << "the sim never had to wait: no backpressure reached it";
}

TEST(Pipeline, StalledTapDoesNotSlowThePipelineAndItsGapsAreCounted) {
  PipelineConfig c;
  // ~7 MB of files: more than the loopback socket buffers (up to 4 MB send,
  // 128 kB receive while unread) and the two 20-message queues can hold.
  c.sim_args = {"--loop", "--count", "3000", "--vary-rounds", "--rate", "max", "--retransmit-delay-s", "0"};
  c.assembler_args = {"--tap-hwm", "20"};
  Pipeline p(c);
  zmq::context_t ctx(1);
  bus::SubscriberOptions tap;
  tap.mode = bus::Mode::kTap;
  tap.endpoints = {p.assemblerTap()};
  tap.topic_prefixes = {"file."};
  tap.receive_hwm = 20;
  bus::Subscriber stalled(ctx, tap);  // connected, never reads until the end
  p.start();
  ASSERT_TRUE(p.waitSimDone(90s * kSlow)) << p.logs();
  SimManifest sent = parseSent(p.sim());
  ASSERT_TRUE(p.waitFilesOnDisk(sent.distinct.size(), 90s * kSlow))
      << countFiles(p.out()) << " of " << sent.distinct.size() << "\n"
      << p.logs();
  expectDiskMatchesSim(p, sent);
  // Now drain the tap: it holds only what fitted in its buffers; the rest are counted gaps.
  std::size_t got = 0;
  while (stalled.receive(500ms)) ++got;
  auto st = stalled.stats();
  EXPECT_LT(got, sent.distinct.size());
  EXPECT_GT(st.gaps, 0u);
  EXPECT_GT(st.missed, 0u);
}

TEST(Pipeline, AssemblerKilledWithPartialFilesOpenLosesNoProduct) {
  PipelineConfig c;
  // Multi-block products at a slow pace, so that files are open when the assembler dies.
  c.products = std::string(EMWIN_CORPUS_DIR) + "/products/marine_weather_message";
  c.sim_args = {"--once", "--rate", "25fps"};
  Pipeline p(c);
  p.start();
  std::string metrics;
  ASSERT_TRUE(waitUntil(
      [&] {
        metrics = scrape(p.httpPort(), "/metrics");
        return metricSum(metrics, "emwin_files_completed_total") >= 3 &&
               metricSum(metrics, "emwin_unacked_segments", "service=\"assembler\"") > 0;
      },
      60s * kSlow))
      << metrics << p.logs();
  p.assembler().kill();  // SIGKILL: partial files die with it, unacknowledged
  p.startAssembler();
  ASSERT_TRUE(p.waitSimDone(90s * kSlow)) << p.logs();
  SimManifest sent = parseSent(p.sim());
  ASSERT_TRUE(p.waitFilesOnDisk(sent.distinct.size(), 60s * kSlow))
      << countFiles(p.out()) << " of " << sent.distinct.size() << "\n"
      << p.logs();
  expectDiskMatchesSim(p, sent);
}

// A small tmpfs mounted for one test, unmounted whatever happens.
class TmpfsMount {
 public:
  TmpfsMount(std::string path, const std::string& size) : path_(std::move(path)) {
    std::filesystem::create_directories(path_);
    ok_ = ::mount("tmpfs", path_.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
  }
  ~TmpfsMount() {
    if (ok_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool ok() const { return ok_; }
  bool resize(const std::string& size) {
    return ::mount("tmpfs", path_.c_str(), "tmpfs", MS_REMOUNT, ("size=" + size).c_str()) == 0;
  }

 private:
  std::string path_;
  bool ok_ = false;
};

TEST(Pipeline, FullDiskIsCountedRetriedAndEveryFileLandsOnceSpaceReturns) {
  Pipeline p(PipelineConfig{});
  TmpfsMount disk(p.out(), "48k");
  if (!disk.ok()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << std::strerror(errno);
  p.start();
  ASSERT_TRUE(p.waitSimDone(60s * kSlow)) << p.logs();
  SimManifest sent = parseSent(p.sim());
  // The disk fills: the writer counts ENOSPC, logs it and keeps retrying the same file.
  std::string metrics;
  ASSERT_TRUE(waitUntil(
      [&] {
        metrics = scrape(p.httpPort(), "/metrics");
        return metricSum(metrics, "emwin_io_errors_total", "kind=\"enospc\"") >= 2 &&
               metricSum(metrics, "emwin_write_retries_total") >= 1;
      },
      30s * kSlow))
      << metrics << p.logs();
  EXPECT_LT(countFiles(p.out()), sent.distinct.size());
  EXPECT_TRUE(p.writer(0).running());
  EXPECT_NE(p.writer(0).text(Stream::kStderr).find("No space left on device"), std::string::npos);
  // Space comes back: nothing was dropped meanwhile.
  ASSERT_TRUE(disk.resize("64m"));
  ASSERT_TRUE(p.waitFilesOnDisk(sent.distinct.size(), 60s * kSlow))
      << countFiles(p.out()) << " of " << sent.distinct.size() << "\n"
      << p.logs();
  expectDiskMatchesSim(p, sent);
}

}  // namespace emwin::test

