#pragma once
// Starts the whole emwin-bus pipeline as real processes on 127.0.0.1 with
// kernel-chosen ports: emwin-stats, N emwin-disk-writer replicas,
// emwin-assembler, emwin-sim and emwin-ingest, in the order that lets every
// consumer join before data flows. Also reads back what reached the disk.
// With more feeds (redundant ingest), each feed is its own emwin-sim and
// emwin-ingest, and the assembler merges them (--connect a=... --connect b=...).
// Every process is killed when the Pipeline is destroyed.
// Thread-safety: test-thread only.

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/sha256.h"
#include "support/process.h"

namespace emwin::test {

// Deadlines stretch this many times under AddressSanitizer (every process runs slower).
#if defined(__SANITIZE_ADDRESS__)
inline constexpr int kSlow = 4;
#else
inline constexpr int kSlow = 1;
#endif

using namespace std::chrono_literals;

inline std::string tcpEndpoint() { return "tcp://127.0.0.1:" + std::to_string(freeTcpPort()); }

// What the sim said it sent: distinct (name, sha256) pairs and how many lines.
struct SimManifest {
  std::set<std::pair<std::string, std::string>> distinct;
  std::size_t lines = 0;
};

inline SimManifest parseSent(const Process& sim) {
  SimManifest m;
  for (const auto& line : sim.lines()) {
    if (line.rfind("sent ", 0) != 0) continue;
    ++m.lines;
    m.distinct.insert({fieldOf(line, "file"), fieldOf(line, "sha256")});
  }
  return m;
}

// A file found under the output root.
struct DiskFile {
  std::string path;
  std::string name;    // product name (after "<HHMMSS>_<sha8>_")
  std::string sha256;  // of the bytes on disk
};

inline std::vector<DiskFile> filesOnDisk(const std::string& root) {
  std::vector<DiskFile> out;
  std::error_code ec;
  if (!std::filesystem::exists(root, ec)) return out;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::string leaf = it->path().filename().string();
    if (leaf.empty() || leaf[0] == '.' || leaf.size() < 17) continue;  // temp files start with '.'
    if (leaf.size() > 5 && leaf.substr(leaf.size() - 5) == ".json") continue;
    DiskFile f;
    f.path = it->path().string();
    f.name = leaf.substr(16);  // HHMMSS_ + 8 hex + _
    f.sha256 = runtime::sha256Hex(std::string_view(readFile(f.path)));
    out.push_back(std::move(f));
  }
  return out;
}

inline std::size_t countFiles(const std::string& root) {
  std::size_t n = 0;
  std::error_code ec;
  if (!std::filesystem::exists(root, ec)) return 0;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file() && it->path().filename().string()[0] != '.') ++n;
  }
  return n;
}

// Resident set size of a process in KiB (0 if gone).
inline long rssKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      long v = 0;
      in >> v;
      return v;
    }
    std::string rest;
    std::getline(in, rest);
  }
  return 0;
}

// A further data source: its own simulator and ingest (redundant ingest).
struct FeedConfig {
  std::vector<std::string> sim_args = {"--once"};
  std::vector<std::string> ingest_args;
};

// How the pipeline is started.
struct PipelineConfig {
  int writers = 1;
  std::vector<std::string> sim_args = {"--once"};
  std::vector<std::string> ingest_args;
  std::vector<std::string> assembler_args;
  std::vector<std::string> writer_args;
  bool writer_state = true;  // give writers a --state-dir (recovery after restart)
  bool classifier = false;   // also run emwin-alert-classifier on the assembler's pipeline
  bool state_dirs = false;   // give assembler and classifier a --state-dir (as docker-compose does)
  bool keys = false;         // CURVE on every bus endpoint: emwin-keygen --init, --keys to every process
  int extra_consumers = 0;   // further pipeline consumers the test attaches to the assembler
  std::string products = std::string(EMWIN_CORPUS_DIR) + "/products";
  // Feeds after the first (which uses sim_args and ingest_args); the assembler
  // merges all of them, named a, b, c ...
  std::vector<FeedConfig> more_feeds;
};

class Pipeline {
 public:
  explicit Pipeline(PipelineConfig config) : config_(std::move(config)) {
    dir_ = makeTempDir("emwin-pipeline");
    out_ = dir_ + "/out";
    feeds_.resize(1 + config_.more_feeds.size());
    for (std::size_t i = 0; i < feeds_.size(); ++i) {
      Feed& f = feeds_[i];
      f.pub = tcpEndpoint();
      f.pipe = tcpEndpoint();
      f.sim_args = i == 0 ? config_.sim_args : config_.more_feeds[i - 1].sim_args;
      f.ingest_args = i == 0 ? config_.ingest_args : config_.more_feeds[i - 1].ingest_args;
    }
    asm_pub_ = tcpEndpoint();
    asm_pipe_ = tcpEndpoint();
    stats_intake_ = tcpEndpoint();
    classifier_pub_ = tcpEndpoint();
    classifier_pipe_ = tcpEndpoint();
    stats_pub_ = tcpEndpoint();
    http_port_ = freeTcpPort();
    if (config_.keys) {
      Process keygen(ProcessSpec{binaryPath("tools/keygen/emwin-keygen"), {"--dir", keysDir(), "--init"}, {}, dir_,
                                 dir_, "keygen"});
      const auto code = keygen.waitExit(30s);
      if (!code || *code != 0) throw std::runtime_error("emwin-keygen --init failed: " + keygen.text(Stream::kStderr));
    }
  }

  // The keys directory (with config.keys) and the environment that points a process at it.
  std::string keysDir() const { return dir_ + "/keys"; }
  std::map<std::string, std::string> keyEnv() const {
    return config_.keys ? std::map<std::string, std::string>{{"EMWIN_KEYS", keysDir()}}
                        : std::map<std::string, std::string>{};
  }
  ~Pipeline() {
    // Stop gracefully so sanitizer reports and final stats are flushed, then kill.
    for (auto* p : all()) p->signal(SIGTERM);
    for (auto* p : all()) {
      if (!p->waitExit(5s)) p->kill();
    }
    std::error_code ec;
    if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir_, ec);
  }

  void start() {
    startConsumers();
    startFeed();
  }

  // Everything downstream of ingest: stats, writers, classifier, assembler.
  void startConsumers() {
    startStats();
    for (int i = 0; i < config_.writers; ++i) startWriter(i);
    if (config_.classifier) startClassifier();
    startAssembler();
  }

  // The data sources: each feed's simulator and ingest.
  void startFeed() {
    for (std::size_t i = 0; i < feeds_.size(); ++i) startSim(i);
    for (std::size_t i = 0; i < feeds_.size(); ++i) startIngest(true, i);
  }

  // Name of feed `i` as the assembler labels it ("a", "b", ...).
  static std::string feedName(std::size_t i) { return std::string(1, static_cast<char>('a' + i)); }
  std::size_t feedCount() const { return feeds_.size(); }

  // Starts (or restarts, same endpoints and state) the classifier.
  void startClassifier() {
    std::vector<std::string> args = {"--connect", asm_pipe_, "--pub", classifier_pub_, "--pipe", classifier_pipe_,
                                     "--stats-interval-ms", "300", "--alert-log", dir_ + "/alerts.jsonl"};
    if (config_.state_dirs) {
      args.push_back("--state-dir");
      args.push_back(dir_ + "/state/classifier");
    }
    classifier_ = std::make_unique<Process>(ProcessSpec{
        binaryPath("services/sinks/alert_classifier/emwin-alert-classifier"), args, keyEnv(), {}, dir_,
        "classifier-" + std::to_string(classifier_starts_++)});
  }

  void startStats() {
    std::vector<std::string> args;
    for (const auto& f : feeds_) {
      args.push_back("--connect");
      args.push_back(f.pub);
    }
    const std::vector<std::string> rest = {"--connect", asm_pub_, "--intake", stats_intake_, "--pub", stats_pub_,
                                           "--http", "127.0.0.1:" + std::to_string(http_port_), "--stats-interval-ms",
                                           "300", "--stale-after-ms", "5000"};
    args.insert(args.end(), rest.begin(), rest.end());
    stats_ = std::make_unique<Process>(
        ProcessSpec{binaryPath("services/sinks/stats/emwin-stats"), args, keyEnv(), {}, dir_, "stats"});
  }

  void startWriter(int i) {
    // Appended rather than `"w" + std::to_string(i)`: g++ 12 -O3 reports a false
    // -Wrestrict on operator+(const char*, std::string&&) here.
    std::string replica = "w";
    replica += std::to_string(i);
    std::vector<std::string> args = {"--connect", asm_pipe_,  "--out", out_, "--replica", replica,
                                     "--stats-connect", stats_intake_, "--stats-interval-ms", "300",
                                     "--no-fsync"};
    if (config_.writer_state) {
      args.push_back("--state-dir");
      args.push_back(dir_ + "/state/w" + std::to_string(i));
    }
    args.insert(args.end(), config_.writer_args.begin(), config_.writer_args.end());
    auto p = std::make_unique<Process>(
        ProcessSpec{binaryPath("services/sinks/disk_writer/emwin-disk-writer"), args, keyEnv(), {}, dir_,
                    "writer" + replica.substr(1) + "-" + std::to_string(writer_starts_++)});
    if (static_cast<std::size_t>(i) < writers_.size()) {
      writers_[i] = std::move(p);
    } else {
      writers_.push_back(std::move(p));
    }
  }

  // Starts (or restarts) the assembler. `wait` = take no segments before every
  // consumer joined (the documented first start); a restart as docker-compose
  // does it passes false (default flags, same state dir).
  void startAssembler(bool wait = true) {
    std::vector<std::string> args = {"--pub", asm_pub_, "--pipe", asm_pipe_, "--stats-interval-ms", "300"};
    for (std::size_t i = 0; i < feeds_.size(); ++i) {
      args.push_back("--connect");
      args.push_back(feeds_.size() == 1 ? feeds_[i].pipe : feedName(i) + "=" + feeds_[i].pipe);
    }
    if (wait) {
      args.push_back("--wait-consumers");
      args.push_back(std::to_string(config_.writers + (config_.classifier ? 1 : 0) + config_.extra_consumers));
    }
    if (config_.state_dirs) {
      args.push_back("--state-dir");
      args.push_back(dir_ + "/state/assembler");
    }
    args.insert(args.end(), config_.assembler_args.begin(), config_.assembler_args.end());
    assembler_ = std::make_unique<Process>(ProcessSpec{binaryPath("services/assembler/emwin-assembler"), args, keyEnv(),
                                                       {}, dir_, "assembler-" + std::to_string(assembler_starts_++)});
  }

  // Starts feed `i`'s simulator.
  void startSim(std::size_t i = 0) {
    Feed& f = feeds_.at(i);
    std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--products", config_.products,
                                     "--stats-interval-ms", "500", "--no-server-list"};
    args.insert(args.end(), f.sim_args.begin(), f.sim_args.end());
    f.sim = std::make_unique<Process>(ProcessSpec{binaryPath("tools/sim/emwin-sim"), args, {}, {}, dir_,
                                                  i == 0 ? std::string("sim") : "sim-" + feedName(i)});
    auto line = f.sim->waitForLine(std::regex("^listening "), 10s);
    ASSERT_TRUE(line) << "sim did not start: " << f.sim->text(Stream::kStderr);
    std::smatch m;
    std::regex_search(*line, m, std::regex("127\\.0\\.0\\.1:([0-9]+)"));
    f.sim_port = std::stoi(m[1]);
  }

  // Starts (or restarts) feed `i`'s ingest; `wait` as for startAssembler().
  void startIngest(bool wait = true, std::size_t i = 0) {
    Feed& f = feeds_.at(i);
    std::vector<std::string> args = {"--server", "127.0.0.1:" + std::to_string(f.sim_port), "--email",
                                     "pipeline-test@example.org", "--pub", f.pub, "--pipe", f.pipe,
                                     "--state-dir", dir_ + (i == 0 ? std::string("/ingest") : "/ingest-" + feedName(i)),
                                     "--stats-interval-ms", "300"};
    if (wait) {
      args.push_back("--wait-consumers");
      args.push_back("1");
    }
    if (feeds_.size() > 1) {  // emwin-stats tells instances apart by name
      args.push_back("--instance");
      args.push_back("ingest-" + feedName(i));
    }
    args.insert(args.end(), f.ingest_args.begin(), f.ingest_args.end());
    f.ingest = std::make_unique<Process>(
        ProcessSpec{binaryPath("services/ingest/emwin-ingest"), args, keyEnv(), {}, dir_,
                    (i == 0 ? std::string("ingest-") : "ingest-" + feedName(i) + "-") + std::to_string(f.starts++)});
  }

  // Waits for the sim's "done" line (every product sent once, retransmissions included).
  bool waitSimDone(std::chrono::milliseconds timeout, std::size_t i = 0) {
    return feeds_.at(i).sim->waitForLine(std::regex("^done "), timeout).has_value();
  }

  // Waits until `n` product files are on disk.
  bool waitFilesOnDisk(std::size_t n, std::chrono::milliseconds timeout) {
    return waitUntil([&] { return countFiles(out_) >= n; }, timeout);
  }

  // Diagnostics for a failed assertion: the tail of every log.
  std::string logs() const {
    std::string s;
    for (auto* p : allConst()) {
      std::string err = p->text(Stream::kStderr);
      if (err.size() > 3000) err = "..." + err.substr(err.size() - 3000);
      s += "---- pid " + std::to_string(p->pid()) + " stderr:\n" + err + "\n";
    }
    return s;
  }

  Process& sim(std::size_t i = 0) { return *feeds_.at(i).sim; }
  Process& ingest(std::size_t i = 0) { return *feeds_.at(i).ingest; }
  Process& assembler() { return *assembler_; }
  Process& stats() { return *stats_; }
  Process& writer(int i) { return *writers_.at(i); }
  Process& classifier() { return *classifier_; }
  const std::string& out() const { return out_; }
  const std::string& dir() const { return dir_; }
  const std::string& assemblerTap() const { return asm_pub_; }
  const std::string& assemblerPipe() const { return asm_pipe_; }
  const std::string& ingestTap(std::size_t i = 0) const { return feeds_.at(i).pub; }
  const std::string& classifierTap() const { return classifier_pub_; }
  const std::string& classifierPipe() const { return classifier_pipe_; }
  const std::string& statsTap() const { return stats_pub_; }
  const std::string& statsIntake() const { return stats_intake_; }
  int httpPort() const { return http_port_; }
  std::vector<pid_t> pids() {
    std::vector<pid_t> v;
    for (auto* p : all()) v.push_back(p->pid());
    return v;
  }

 private:
  std::vector<Process*> all() {
    std::vector<Process*> v;
    for (auto& f : feeds_) {
      for (auto* p : {f.ingest.get(), f.sim.get()}) {
        if (p) v.push_back(p);
      }
    }
    for (auto* p : {assembler_.get(), classifier_.get()}) {
      if (p) v.push_back(p);
    }
    for (auto& w : writers_) {
      if (w) v.push_back(w.get());
    }
    if (stats_) v.push_back(stats_.get());
    return v;
  }
  std::vector<const Process*> allConst() const {
    std::vector<const Process*> v;
    for (const auto& f : feeds_) {
      for (auto* p : {f.ingest.get(), f.sim.get()}) {
        if (p) v.push_back(p);
      }
    }
    for (auto* p : {assembler_.get(), stats_.get(), classifier_.get()}) {
      if (p) v.push_back(p);
    }
    for (auto& w : writers_) {
      if (w) v.push_back(w.get());
    }
    return v;
  }

  // One data source: a simulator and the ingest reading it.
  struct Feed {
    std::string pub, pipe;  // ingest's tap and pipeline
    std::vector<std::string> sim_args, ingest_args;
    int sim_port = 0;
    int starts = 0;  // ingest starts
    std::unique_ptr<Process> sim, ingest;
  };

  PipelineConfig config_;
  std::string dir_, out_;
  std::string asm_pub_, asm_pipe_, stats_intake_, stats_pub_, classifier_pub_, classifier_pipe_;
  int http_port_ = 0;
  int writer_starts_ = 0;
  int assembler_starts_ = 0;
  int classifier_starts_ = 0;
  std::vector<Feed> feeds_;
  std::unique_ptr<Process> stats_, assembler_, classifier_;
  std::vector<std::unique_ptr<Process>> writers_;
};

// Asserts that the disk holds exactly the distinct products the sim sent, each once.
inline void expectDiskMatchesSim(const Pipeline& p, const SimManifest& sent) {
  auto files = filesOnDisk(p.out());
  std::map<std::pair<std::string, std::string>, int> seen;
  for (const auto& f : files) ++seen[{f.name, f.sha256}];
  std::set<std::pair<std::string, std::string>> on_disk;
  for (const auto& [key, n] : seen) {
    EXPECT_EQ(n, 1) << key.first << " is on disk " << n << " times";
    on_disk.insert(key);
  }
  std::vector<std::string> missing, extra;
  for (const auto& k : sent.distinct) {
    if (!on_disk.count(k)) missing.push_back(k.first);
  }
  for (const auto& k : on_disk) {
    if (!sent.distinct.count(k)) extra.push_back(k.first);
  }
  EXPECT_TRUE(missing.empty()) << missing.size() << " products missing, first: " << missing.front();
  EXPECT_TRUE(extra.empty()) << extra.size() << " unexpected files, first: " << extra.front();
  EXPECT_EQ(files.size(), sent.distinct.size());
}

}  // namespace emwin::test
