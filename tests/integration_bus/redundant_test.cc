// Redundant ingest (issue 21), real processes on 127.0.0.1: two simulators
// serve the same 317 real products with the same /FD stamps and different
// header styles, each dropping a different tenth of its frames; two ingests
// read them; one assembler merges both pipelines. Each source alone misses
// products; merged, every product is on disk once, byte-identical. An ingest
// SIGKILLed mid-stream (restarted, or not) loses nothing and doubles nothing.
// And two crafted ingests that disagree on a block's bytes: never one file
// made of both, each token acknowledged on the pipeline it came from.
#include <csignal>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <zmq.hpp>

#include "bus/pipeline_subscriber.h"
#include "bus/publisher.h"
#include "bus/tap_subscriber.h"
#include "bus/topics.h"
#include "emwin/bus/v1/file.pb.h"
#include "emwin/bus/v1/segment.pb.h"
#include "emwin/bus/v1/stats.pb.h"
#include "mapping/mapping.h"
#include "metrics_scrape.h"
#include "pipeline_harness.h"

namespace emwin::test {
namespace {

// Same stamps for both simulators (the same products relayed by two servers).
constexpr const char* kFdBase = "1772550000";

// What one simulator sent: per product name, the transmissions and blocks it dropped.
struct SentBySim {
  std::set<std::pair<std::string, std::string>> distinct;  // (name, sha256)
  std::map<std::string, std::vector<int>> dropped;          // name -> dropped blocks per transmission
  std::set<std::string> dropped_frames;                      // "file block fd retransmit"
  std::size_t dropped_blocks = 0;
};

SentBySim parseSim(const Process& sim) {
  SentBySim s;
  for (const auto& line : sim.lines()) {
    if (line.rfind("sent ", 0) == 0) {
      s.distinct.insert({fieldOf(line, "file"), fieldOf(line, "sha256")});
      const int dropped = std::stoi(fieldOf(line, "dropped_blocks"));
      s.dropped[fieldOf(line, "file")].push_back(dropped);
      s.dropped_blocks += static_cast<std::size_t>(dropped);
    } else if (line.rfind("fault kind=dropped_frame ", 0) == 0) {
      s.dropped_frames.insert(fieldOf(line, "file") + " " + fieldOf(line, "block") + " " + fieldOf(line, "fd") + " " +
                              fieldOf(line, "retransmit"));
    }
  }
  return s;
}

// Products a source alone could deliver: some transmission of it lost nothing.
std::size_t wholeProducts(const SentBySim& s) {
  std::size_t n = 0;
  for (const auto& [name, per_tx] : s.dropped) n += std::find(per_tx.begin(), per_tx.end(), 0) != per_tx.end();
  return n;
}

std::vector<std::string> simArgs(const std::string& style, const std::string& drop_offset, const std::string& rate) {
  return {"--once",         "--seed",          "7",   "--fd-base",        kFdBase, "--header-style",
          style,            "--rate",          rate,  "--retransmit-delay-s", "0", "--drop-frames-percent",
          "10",             "--drop-frames-offset", drop_offset};
}

// Highest client id the sim has seen connect (0 if none).
int lastClient(const Process& sim) {
  int last = 0;
  for (const auto& line : sim.lines()) {
    if (line.rfind("connect client=", 0) == 0) last = std::max(last, std::stoi(fieldOf(line, "client")));
  }
  return last;
}

// Every product on disk once, byte-identical; the disk writer wrote each once.
// Counters are read once the pipeline is quiet: no segment from any source for
// a second, and the writer has taken everything the assembler published.
void expectEveryProductOnceByteIdentical(Pipeline& p, const SimManifest& sent, std::string* metrics) {
  ASSERT_TRUE(p.waitFilesOnDisk(sent.distinct.size(), 60s * kSlow))
      << countFiles(p.out()) << " of " << sent.distinct.size() << "\n"
      << p.logs();
  expectDiskMatchesSim(p, sent);
  ASSERT_TRUE(waitUntil(
      [&] {
        *metrics = scrape(p.httpPort(), "/metrics");
        bool quiet = true;
        for (std::size_t i = 0; i < p.feedCount(); ++i) {
          const std::string source = "source=\"" + Pipeline::feedName(i) + "\"";
          quiet = quiet && metricSumAll(*metrics, "emwin_source_idle_seconds", {source}) >= 1.0;
        }
        const double published = metricSumAll(*metrics, "emwin_files_published_total", {"service=\"assembler\""});
        return quiet && published >= static_cast<double>(sent.distinct.size()) &&
               metricSum(*metrics, "emwin_files_written_total") +
                       metricSum(*metrics, "emwin_files_already_present_total") >=
                   published;
      },
      20s * kSlow))
      << *metrics;
  EXPECT_EQ(metricSum(*metrics, "emwin_files_written_total"), static_cast<double>(sent.distinct.size())) << *metrics;
  EXPECT_EQ(metricSum(*metrics, "emwin_files_already_present_total"), 0) << "a product was delivered twice";
  EXPECT_EQ(metricSumAll(*metrics, "emwin_files_published_total", {"service=\"assembler\""}),
            static_cast<double>(sent.distinct.size()))
      << *metrics;
}

// Two receivers, each missing a different random tenth of the frames, one
// with the compact header style over V1, the other as npemwin sends (V2 with V1
// where compression does not pay): merged, 317 of 317 byte-identical, each
// once, while neither source alone could deliver them all. The per-source
// counters, read back from emwin-stats' /metrics, match the drops exactly.
TEST(Redundant, TwoReceiversEachMissingATenthMergeEveryProductByteIdentical) {
  PipelineConfig config;
  config.sim_args = simArgs("compact", "0", "300fps");
  config.ingest_args = {"--protocol", "v1"};
  config.more_feeds = {FeedConfig{simArgs("npemwin", "10", "300fps"), {"--protocol", "v2"}}};
  config.assembler_args = {"--source-window-s", "3"};
  Pipeline p(config);
  p.start();
  ASSERT_TRUE(p.waitSimDone(120s * kSlow, 0)) << p.logs();
  ASSERT_TRUE(p.waitSimDone(120s * kSlow, 1)) << p.logs();
  const SentBySim a = parseSim(p.sim(0));
  const SentBySim b = parseSim(p.sim(1));
  // The same 317 products and stamps, each sim losing its own share.
  ASSERT_EQ(a.distinct.size(), 317u);
  ASSERT_EQ(a.distinct, b.distinct);
  ASSERT_GT(a.dropped_blocks, 40u);
  ASSERT_GT(b.dropped_blocks, 40u);
  for (const auto& f : a.dropped_frames) ASSERT_EQ(b.dropped_frames.count(f), 0u) << "both dropped " << f;
  // Neither source alone has every product.
  const std::size_t whole_a = wholeProducts(a), whole_b = wholeProducts(b);
  EXPECT_LT(whole_a, 317u - 20);
  EXPECT_LT(whole_b, 317u - 20);

  const SimManifest sent = parseSent(p.sim(0));
  std::string metrics;
  expectEveryProductOnceByteIdentical(p, sent, &metrics);
  std::printf("[ measure ] merged 317/317; source a alone %zu/317, source b alone %zu/317\n", whole_a, whole_b);

  // Per-source counters, settled --source-window-s after the last delivery.
  std::size_t merged = 0;
  for (const auto& [name, per_tx] : a.dropped) merged += per_tx[0] > 0 && b.dropped.at(name)[0] > 0;
  ASSERT_GT(merged, 0u);
  const auto assembler = [&](const std::string& family, const std::string& source) {
    return metricSumAll(metrics, family, {"service=\"assembler\"", "source=\"" + source + "\""});
  };
  ASSERT_TRUE(waitUntil(
      [&] {
        metrics = scrape(p.httpPort(), "/metrics");
        return assembler("emwin_source_files_alone_total", "a") + assembler("emwin_source_files_alone_total", "b") +
                   metricSum(metrics, "emwin_files_merged_total") >=
               static_cast<double>(whole_a + whole_b + merged);
      },
      15s * kSlow))
      << metrics;
  EXPECT_EQ(assembler("emwin_source_files_alone_total", "a"), static_cast<double>(whole_a)) << metrics;
  EXPECT_EQ(assembler("emwin_source_files_alone_total", "b"), static_cast<double>(whole_b)) << metrics;
  EXPECT_EQ(metricSum(metrics, "emwin_files_merged_total"), static_cast<double>(merged)) << metrics;
  EXPECT_EQ(assembler("emwin_source_blocks_only_total", "a"), static_cast<double>(b.dropped_blocks)) << metrics;
  EXPECT_EQ(assembler("emwin_source_blocks_only_total", "b"), static_cast<double>(a.dropped_blocks)) << metrics;
  EXPECT_EQ(assembler("emwin_source_conflicting_blocks_total", "a") +
                assembler("emwin_source_conflicting_blocks_total", "b"),
            0)
      << metrics;
  EXPECT_GT(assembler("emwin_source_blocks_contributed_total", "a"), 0) << metrics;
  EXPECT_EQ(metricSumAll(metrics, "emwin_evictions_total", {"service=\"assembler\""}), 0) << metrics;
  // What each ingest published is what its sim sent: V1 and V2 frames of three header styles, no bad frame.
  EXPECT_EQ(metricSumAll(metrics, "emwin_bad_frames_total", {"service=\"ingest\""}), 0) << metrics;
}

// Ingest A is SIGKILLed a quarter of the way through and restarted, as
// docker-compose would: its simulator starts the schedule again for the new
// connection (same stamps). Nothing is lost, nothing delivered twice.
TEST(Redundant, IngestKilledMidStreamAndRestartedLosesNothingDoublesNothing) {
  PipelineConfig config;
  config.sim_args = simArgs("spec", "0", "150fps");
  config.more_feeds = {FeedConfig{simArgs("npemwin", "10", "150fps"), {}}};
  config.state_dirs = true;
  Pipeline p(config);
  p.start();
  ASSERT_TRUE(p.waitFilesOnDisk(80, 60s * kSlow)) << p.logs();
  p.ingest(0).kill();
  std::this_thread::sleep_for(300ms);
  p.startIngest(/*wait=*/false, 0);
  ASSERT_TRUE(p.sim(0).waitForLine(std::regex("^connect client=2 "), 20s * kSlow)) << p.logs();
  ASSERT_TRUE(p.sim(0).waitForLine(std::regex("^done client=2 "), 120s * kSlow)) << p.logs();
  ASSERT_TRUE(p.waitSimDone(120s * kSlow, 1)) << p.logs();
  ASSERT_EQ(lastClient(p.sim(0)), 2);
  const SimManifest sent = parseSent(p.sim(1));
  ASSERT_EQ(sent.distinct.size(), 317u);
  std::string metrics;
  expectEveryProductOnceByteIdentical(p, sent, &metrics);
}

// Ingest A is SIGKILLed and stays down; B, which drops nothing, carries on.
// The partial files A had begun are completed by B's blocks: nothing lost,
// nothing twice, nothing given up.
TEST(Redundant, IngestKilledMidStreamAndLeftDownLosesNothing) {
  PipelineConfig config;
  config.sim_args = simArgs("spec", "0", "150fps");
  config.more_feeds = {FeedConfig{{"--once", "--seed", "7", "--fd-base", kFdBase, "--header-style", "compact",
                                   "--rate", "150fps", "--retransmit-delay-s", "0"},
                                  {}}};
  Pipeline p(config);
  p.start();
  ASSERT_TRUE(p.waitFilesOnDisk(80, 60s * kSlow)) << p.logs();
  p.ingest(0).kill();
  ASSERT_TRUE(p.waitSimDone(120s * kSlow, 1)) << p.logs();
  const SimManifest sent = parseSent(p.sim(1));
  ASSERT_EQ(sent.distinct.size(), 317u);
  std::string metrics;
  expectEveryProductOnceByteIdentical(p, sent, &metrics);
  EXPECT_EQ(metricSumAll(metrics, "emwin_evictions_total", {"service=\"assembler\""}), 0) << metrics;
}

// --- Two crafted ingests that disagree ------------------------------------

// An in-process stand-in for one ingest: a pipeline publisher of Segment messages.
struct FakeIngest {
  FakeIngest(zmq::context_t& ctx, const std::string& name) {
    bus::PublisherOptions o;
    o.producer_id = "ingest." + name;
    o.pipeline_endpoint = tcpEndpoint();
    publisher = std::make_unique<bus::Publisher>(ctx, o);
  }
  void send(const std::string& file, std::uint32_t block, std::uint32_t total, const std::string& bytes) {
    qbt::Segment s;
    s.filename = file;
    s.block_number = block;
    s.total_blocks = total;
    s.fd_unix_s = 1772550000;
    std::copy(bytes.begin(), bytes.end(), s.data.begin());
    bus::v1::Segment m;
    mapping::toMessage(s, "crafted", 0, m);
    publisher->publish(bus::topics::segment(file), m);
    publisher->service();
  }
  std::unique_ptr<bus::Publisher> publisher;
};

// A block of 1024 bytes of `c`, with `mark` at offset 10 (the conflicting bytes).
std::string block(char c, char mark = 0) {
  std::string b(1024, c);
  if (mark != 0) b[10] = mark;
  return b;
}

TEST(RedundantConflict, DisagreeingInputsAreNeverMixedAndEachTokenIsAcknowledgedOnItsOwnPipeline) {
  zmq::context_t ctx(1);
  FakeIngest a(ctx, "a"), b(ctx, "b");
  const std::string dir = makeTempDir("emwin-conflict");
  const std::string asm_pipe = tcpEndpoint(), asm_pub = tcpEndpoint();
  Process assembler(ProcessSpec{binaryPath("services/assembler/emwin-assembler"),
                                {"--connect", "a=" + a.publisher->pipelineEndpoint(), "--connect",
                                 "b=" + b.publisher->pipelineEndpoint(), "--pub", asm_pub, "--pipe", asm_pipe,
                                 "--state-dir", dir + "/state", "--wait-consumers", "1", "--partial-timeout-s", "2",
                                 "--source-window-s", "1", "--stats-interval-ms", "100"},
                                {},
                                dir,
                                dir,
                                "assembler"});
  bus::PipelineSubscriberOptions so;
  so.endpoint = asm_pipe;
  so.group = "check";
  bus::PipelineSubscriber files(ctx, so);
  bus::TapSubscriberOptions to;
  to.endpoints = {asm_pub};
  to.topic_prefixes = {"stats."};
  bus::TapSubscriber stats(ctx, to);
  // The assembler joined both fake ingests (HELLO) before anything is published.
  ASSERT_TRUE(waitUntil(
      [&] {
        a.publisher->poll(10ms);
        b.publisher->poll(10ms);
        files.maintain();
        return a.publisher->stats().pipeline.replicas == 1 && b.publisher->stats().pipeline.replicas == 1;
      },
      10s * kSlow))
      << assembler.text(Stream::kStderr);

  std::map<std::string, std::set<std::string>> got;  // name -> delivered contents
  std::size_t deliveries = 0;
  std::map<std::string, std::uint64_t> counters;  // the assembler's latest ServiceStats
  const auto pump = [&] {
    a.publisher->poll(2ms);
    b.publisher->poll(2ms);
    while (auto m = files.receive(2ms)) {
      bus::v1::CompletedFile f;
      ASSERT_TRUE(f.ParseFromString(m->payload));
      got[f.filename()].insert(f.data());
      ++deliveries;
      files.ack(*m);
    }
    files.maintain();
    while (auto m = stats.receive(1ms)) {
      bus::v1::ServiceStats st;
      if (!st.ParseFromString(m->payload)) continue;
      counters.clear();
      for (const auto& [k, v] : st.counters()) counters[k] = v;
    }
  };
  // The two pipelines are read independently: each segment is sent once the
  // assembler has taken the one before (its source_segments counters), so the
  // order below is the order it sees.
  std::uint64_t sent_a = 0, sent_b = 0;
  const auto send = [&](char input, const std::string& file, std::uint32_t n, std::uint32_t total,
                        const std::string& bytes) {
    (input == 'a' ? a : b).send(file, n, total, bytes);
    (input == 'a' ? sent_a : sent_b) += 1;
    ASSERT_TRUE(waitUntil(
        [&] {
          pump();
          return counters["source_segments.a"] == sent_a && counters["source_segments.b"] == sent_b;
        },
        10s * kSlow))
        << file << " block " << n << " from " << input << "\n"
        << assembler.text(Stream::kStderr);
  };
  // X: A's block 2 differs from B's, and A never sends block 3. A merge would
  // be 1 + A's 2 + B's 3; only B's own version may come out.
  send('a', "X.TXT", 1, 3, block('x'));
  send('b', "X.TXT", 1, 3, block('x'));
  send('a', "X.TXT", 2, 3, block('y', '!'));
  send('b', "X.TXT", 2, 3, block('y'));
  send('b', "X.TXT", 3, 3, block('z'));
  // Y: both whole, disagreeing on block 1: two versions, each from one input.
  send('a', "Y.TXT", 1, 2, block('p', '!'));
  send('b', "Y.TXT", 1, 2, block('p'));
  send('a', "Y.TXT", 2, 2, block('q'));
  send('b', "Y.TXT", 2, 2, block('q'));
  // Z: A completes it; B, which was sending it too, then differs on block 3.
  send('a', "Z.TXT", 1, 3, block('r'));
  send('b', "Z.TXT", 1, 3, block('r'));
  send('a', "Z.TXT", 2, 3, block('s'));
  send('a', "Z.TXT", 3, 3, block('t'));
  send('b', "Z.TXT", 2, 3, block('s'));
  send('b', "Z.TXT", 3, 3, block('t', '!'));

  // Every token released on its own pipeline: B's at once or after its files
  // settled, A's X blocks when A's half version times out (2 s).
  ASSERT_TRUE(waitUntil(
      [&] {
        pump();
        return a.publisher->stats().pipeline.unacknowledged == 0 && b.publisher->stats().pipeline.unacknowledged == 0;
      },
      15s * kSlow))
      << "unacknowledged a=" << a.publisher->stats().pipeline.unacknowledged
      << " b=" << b.publisher->stats().pipeline.unacknowledged << "\n"
      << assembler.text(Stream::kStderr);
  const std::string x = block('x') + block('y') + block('z');
  const std::string y_a = block('p', '!') + block('q'), y_b = block('p') + block('q');
  const std::string z = block('r') + block('s') + block('t');
  EXPECT_EQ(got["X.TXT"], std::set<std::string>{x});
  EXPECT_EQ(got["Y.TXT"], (std::set<std::string>{y_a, y_b}));
  EXPECT_EQ(got["Z.TXT"], std::set<std::string>{z});
  EXPECT_EQ(deliveries, 4u);

  // The assembler's own counters (its tap): B's conflicting copies, A's given-up half of X.
  ASSERT_TRUE(waitUntil(
      [&] {
        pump();
        return counters["evictions.timeout"] >= 1 && counters["files_published"] >= 4;
      },
      10s * kSlow))
      << assembler.text(Stream::kStderr);
  EXPECT_EQ(counters["source_conflicting_blocks.b"], 3u);  // X block 2, Y block 1, Z block 3 (after delivery)
  EXPECT_EQ(counters["source_conflicting_blocks.a"], 0u);
  EXPECT_EQ(counters["evictions.timeout"], 1u);
  EXPECT_EQ(counters["files_published"], 4u);
  assembler.signal(SIGTERM);
  EXPECT_EQ(assembler.waitExit(10s), 0);
}

}  // namespace
}  // namespace emwin::test
