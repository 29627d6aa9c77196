#pragma once
// Two emwin-bus receivers joined by emwin-relay, every process real on
// 127.0.0.1 with kernel-chosen ports:
//
//   emwin-sim ─▶ ingest A ─▶ assembler A ─▶ disk-writer A        (the site's own pipeline, "upstream")
//                  └─ tap ─▶ emwin-relay ─TCP─▶ ingest B ─▶ assembler B ─▶ disk-writer B   (a downstream receiver)
//
// (with feed_files the relay reads assembler A's tap instead). emwin-stats
// follows every tap; the relay serves its own /metrics. Start order makes the
// whole stream observable: both sinks and assemblers first, ingest A waiting
// for the simulator's (not yet open) port, the relay, ingest B logged on to
// it, the relay's tap subscription proven by a first message from its
// producer, and only then the simulator. Everything is killed on destruction.
// Thread-safety: test-thread only.

#include <chrono>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include "integration_bus/metrics_scrape.h"
#include "integration_bus/pipeline_harness.h"
#include "support/process.h"

namespace emwin::test {

// Sum of every sample of `family` whose labels contain `label_filter` (-1: no sample).
inline double metric(const std::string& text, const std::string& family, const std::string& label_filter = "") {
  double sum = 0;
  bool any = false;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(family + "{", 0) != 0 && line.rfind(family + " ", 0) != 0) continue;
    if (!label_filter.empty() && line.find(label_filter) == std::string::npos) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
    any = true;
  }
  return any ? sum : -1;
}

inline std::string relayBinary() { return binaryPath("services/relay/emwin-relay"); }

// Asserts that `root` holds exactly the distinct products of `sent`, each once, byte-identical.
inline void expectDiskHolds(const std::string& root, const SimManifest& sent, const std::string& what) {
  const auto files = filesOnDisk(root);
  std::map<std::pair<std::string, std::string>, int> seen;
  for (const auto& f : files) ++seen[{f.name, f.sha256}];
  std::size_t missing = 0, extra = 0, twice = 0;
  std::string first_missing, first_extra;
  for (const auto& k : sent.distinct) {
    if (!seen.count(k) && missing++ == 0) first_missing = k.first;
  }
  for (const auto& [k, n] : seen) {
    if (!sent.distinct.count(k) && extra++ == 0) first_extra = k.first;
    if (n > 1) ++twice;
  }
  EXPECT_EQ(missing, 0u) << what << ": " << missing << " products missing, first " << first_missing;
  EXPECT_EQ(extra, 0u) << what << ": " << extra << " unexpected files, first " << first_extra;
  EXPECT_EQ(twice, 0u) << what << ": products written more than once";
  EXPECT_EQ(files.size(), sent.distinct.size()) << what;
}

// Sum of the blocks of every "sent" line of the sim (data frames sent, retransmissions included).
inline std::size_t blocksSent(const Process& sim) {
  std::size_t n = 0;
  for (const auto& line : sim.lines()) {
    if (line.rfind("sent ", 0) == 0) n += std::stoul(fieldOf(line, "blocks"));
  }
  return n;
}

struct ChainConfig {
  std::string sim_style = "spec";                     // emwin-sim --header-style
  std::vector<std::string> sim_args = {"--once", "--retransmit-delay-s", "1"};
  std::string protocol_b = "v2";                      // ingest B --protocol (the relay's client)
  std::vector<std::string> relay_args;                // e.g. --header-style npemwin
  bool feed_files = false;                            // relay the assembler's completed files
  bool downstream = true;                             // run ingest B, assembler B, disk-writer B
  std::string products = std::string(EMWIN_CORPUS_DIR) + "/products";
};

class RelayChain {
 public:
  explicit RelayChain(ChainConfig config) : config_(std::move(config)) {
    dir_ = makeTempDir("emwin-relay-chain");
    for (auto* e : {&a_pub_, &a_pipe_, &asm_a_pub_, &asm_a_pipe_, &b_pub_, &b_pipe_, &asm_b_pub_, &asm_b_pipe_,
                    &intake_, &stats_pub_}) {
      *e = tcpEndpoint();
    }
    stats_http_ = freeTcpPort();
    relay_port_ = freeTcpPort();
    relay_http_ = freeTcpPort();
    sim_port_ = freeTcpPort();
  }
  ~RelayChain() {
    for (auto* p : all()) p->signal(SIGTERM);
    for (auto* p : all()) {
      if (!p->waitExit(std::chrono::seconds(5))) p->kill();
    }
    std::error_code ec;
    if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir_, ec);
  }

  // Everything but the simulator, then (with `sim`) the simulator once the relay is proven connected.
  void start(bool sim = true) {
    startStats();
    startSinks("a", asm_a_pipe_);
    assembler_a_ = startAssembler("a", a_pipe_, asm_a_pub_, asm_a_pipe_);
    ingest_a_ = startIngest("a", "127.0.0.1:" + std::to_string(sim_port_), a_pub_, a_pipe_, "v2");
    startRelay();
    if (::testing::Test::HasFatalFailure()) return;
    if (config_.downstream) {
      startSinks("b", asm_b_pipe_);
      assembler_b_ = startAssembler("b", b_pipe_, asm_b_pub_, asm_b_pipe_);
      ingest_b_ = startIngest("b", "127.0.0.1:" + std::to_string(relay_port_), b_pub_, b_pipe_, config_.protocol_b);
      ASSERT_TRUE(relay_->waitForLine(std::regex("logged on as b@example\\.org"), std::chrono::seconds(30 * kSlow),
                                      Stream::kStderr))
          << logs();
    }
    waitRelayHearsUpstream();
    if (sim && !::testing::Test::HasFatalFailure()) startSim();
  }

  // Starts (or restarts: same port, same options) the relay.
  void startRelay() {
    std::vector<std::string> args = {"--listen", "127.0.0.1:" + std::to_string(relay_port_), "--connect",
                                     config_.feed_files ? asm_a_pub_ : a_pub_, "--http",
                                     "127.0.0.1:" + std::to_string(relay_http_), "--stats-connect", intake_,
                                     "--stats-interval-ms", "300"};
    if (config_.feed_files) {
      args.push_back("--feed");
      args.push_back("files");
    }
    args.insert(args.end(), config_.relay_args.begin(), config_.relay_args.end());
    relay_ = std::make_unique<Process>(
        ProcessSpec{relayBinary(), args, {}, {}, dir_, "relay-" + std::to_string(relay_starts_++)});
    ASSERT_TRUE(relay_->waitForLine(std::regex("listening on 127\\.0\\.0\\.1:"), std::chrono::seconds(10 * kSlow),
                                    Stream::kStderr))
        << relay_->text(Stream::kStderr);
  }

  // The relay's tap subscription works: it received its producer's stats.
  void waitRelayHearsUpstream() {
    ASSERT_TRUE(relay_->waitForLine(std::regex("upstream: first message from"), std::chrono::seconds(30 * kSlow),
                                    Stream::kStderr))
        << logs();
  }

  void startSim() {
    std::vector<std::string> args = {"--listen",     "127.0.0.1:" + std::to_string(sim_port_),
                                     "--products",   config_.products,
                                     "--header-style", config_.sim_style,
                                     "--stats-interval-ms", "500",
                                     "--no-server-list"};
    args.insert(args.end(), config_.sim_args.begin(), config_.sim_args.end());
    sim_ = std::make_unique<Process>(ProcessSpec{binaryPath("tools/sim/emwin-sim"), args, {}, {}, dir_, "sim"});
    ASSERT_TRUE(sim_->waitForLine(std::regex("^listening "), std::chrono::seconds(10))) << sim_->text(Stream::kStderr);
  }

  std::string relayMetrics() const { return scrape(relay_http_, "/metrics"); }
  std::string statsMetrics() const { return scrape(stats_http_, "/metrics"); }
  // A relay counter or gauge by its Prometheus family (e.g. "emwin_bytes_sent_total").
  double relayMetric(const std::string& family, const std::string& filter = "") const {
    return metric(relayMetrics(), family, filter);
  }

  std::string logs() const {
    std::string s;
    for (auto* p : allConst()) {
      std::string err = p->text(Stream::kStderr);
      if (err.size() > 2500) err = "..." + err.substr(err.size() - 2500);
      s += "---- " + p->stderrPath() + ":\n" + err + "\n";
    }
    return s;
  }

  Process& sim() { return *sim_; }
  Process& relay() { return *relay_; }
  Process& ingestA() { return *ingest_a_; }
  Process* ingestB() { return ingest_b_.get(); }
  std::string outA() const { return dir_ + "/out-a"; }
  std::string outB() const { return dir_ + "/out-b"; }
  int relayPort() const { return relay_port_; }
  int relayHttp() const { return relay_http_; }
  int statsHttp() const { return stats_http_; }
  const std::string& ingestATap() const { return a_pub_; }

 private:
  void startStats() {
    stats_ = std::make_unique<Process>(ProcessSpec{
        binaryPath("services/sinks/stats/emwin-stats"),
        {"--connect", a_pub_, "--connect", asm_a_pub_, "--connect", b_pub_, "--connect", asm_b_pub_, "--intake",
         intake_, "--pub", stats_pub_, "--http", "127.0.0.1:" + std::to_string(stats_http_), "--stats-interval-ms",
         "300", "--stale-after-ms", "5000"},
        {}, {}, dir_, "stats"});
  }
  void startSinks(const std::string& side, const std::string& asm_pipe) {
    writers_.push_back(std::make_unique<Process>(ProcessSpec{
        binaryPath("services/sinks/disk_writer/emwin-disk-writer"),
        {"--connect", asm_pipe, "--out", dir_ + "/out-" + side, "--replica", "w" + side, "--instance", "w" + side,
         "--stats-connect", intake_, "--stats-interval-ms", "300", "--no-fsync", "--state-dir",
         dir_ + "/state/w" + side},
        {}, {}, dir_, "writer-" + side}));
  }
  std::unique_ptr<Process> startAssembler(const std::string& side, const std::string& connect, const std::string& pub,
                                          const std::string& pipe) {
    return std::make_unique<Process>(ProcessSpec{
        binaryPath("services/assembler/emwin-assembler"),
        {"--connect", connect, "--pub", pub, "--pipe", pipe, "--wait-consumers", "1", "--instance", side,
         "--stats-interval-ms", "300"},
        {}, {}, dir_, "assembler-" + side});
  }
  std::unique_ptr<Process> startIngest(const std::string& side, const std::string& server, const std::string& pub,
                                       const std::string& pipe, const std::string& protocol) {
    return std::make_unique<Process>(ProcessSpec{
        binaryPath("services/ingest/emwin-ingest"),
        {"--server", server, "--email", side + "@example.org", "--protocol", protocol, "--pub", pub, "--pipe", pipe,
         "--state-dir", dir_ + "/ingest-" + side, "--wait-consumers", "1", "--instance", side,
         "--backoff-min-ms", "100", "--backoff-max-ms", "500", "--stats-interval-ms", "300"},
        {}, {}, dir_, "ingest-" + side});
  }

  std::vector<Process*> all() {
    std::vector<Process*> v;
    for (auto* p : {sim_.get(), ingest_a_.get(), relay_.get(), ingest_b_.get(), assembler_a_.get(),
                    assembler_b_.get()}) {
      if (p) v.push_back(p);
    }
    for (auto& w : writers_) v.push_back(w.get());
    if (stats_) v.push_back(stats_.get());
    return v;
  }
  std::vector<const Process*> allConst() const {
    std::vector<const Process*> v;
    for (auto* p : {sim_.get(), ingest_a_.get(), relay_.get(), ingest_b_.get(), assembler_a_.get(),
                    assembler_b_.get(), stats_.get()}) {
      if (p) v.push_back(p);
    }
    for (auto& w : writers_) v.push_back(w.get());
    return v;
  }

  ChainConfig config_;
  std::string dir_;
  std::string a_pub_, a_pipe_, asm_a_pub_, asm_a_pipe_, b_pub_, b_pipe_, asm_b_pub_, asm_b_pipe_, intake_, stats_pub_;
  int stats_http_ = 0, relay_port_ = 0, relay_http_ = 0, sim_port_ = 0;
  int relay_starts_ = 0;
  std::unique_ptr<Process> stats_, sim_, ingest_a_, relay_, ingest_b_, assembler_a_, assembler_b_;
  std::vector<std::unique_ptr<Process>> writers_;
};

}  // namespace emwin::test
