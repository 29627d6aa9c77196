#pragma once
// Harness for the emwin-alert-classifier process tests: the test process plays
// the assembler (a bus::Publisher whose pipeline endpoint the classifier
// connects to), starts the real classifier on kernel-chosen ports, and builds
// CompletedFile messages from real corpus products.
// Thread-safety: test-thread only.

#include <chrono>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zmq.hpp>

#include "bus/bus.h"
#include "bus/topics.h"
#include "emwin/bus/v1/alert.pb.h"
#include "emwin/bus/v1/file.pb.h"
#include "emwin/bus/v1/stats.pb.h"
#include "runtime/sha256.h"
#include "support/process.h"

namespace emwin::test {

using namespace std::chrono_literals;
namespace v1 = emwin::bus::v1;

// /FD time given to every test file (2023-11-14); VTEC times do not depend on it.
inline constexpr std::int64_t kTestFdUnixS = 1700000000;

inline std::string classifierBinary() { return binaryPath("services/sinks/alert_classifier/emwin-alert-classifier"); }
inline std::string corpusProduct(const std::string& relative) {
  return std::string(EMWIN_CORPUS_DIR) + "/products/" + relative;
}

// One file the fake assembler publishes.
struct TestFile {
  std::string name;  // CompletedFile.filename
  std::string data;
  bool is_archive = false;
};

inline TestFile corpusFile(const std::string& name, const std::string& relative) {
  TestFile f{name, readFile(corpusProduct(relative)), false};
  EXPECT_FALSE(f.data.empty()) << "missing corpus file " << relative;
  return f;
}

inline v1::CompletedFile toMessage(const TestFile& f) {
  v1::CompletedFile m;
  m.set_filename(f.name);
  m.set_data(f.data);
  m.set_size_bytes(f.data.size());
  m.set_sha256(runtime::sha256Hex(std::string_view(f.data)));
  m.set_fd_unix_s(kTestFdUnixS);
  m.set_block_count(static_cast<std::uint32_t>((f.data.size() + 1023) / 1024));
  m.set_source("itest");
  m.set_origin(v1::FILE_ORIGIN_BLOCKS);
  m.set_is_archive(f.is_archive);
  return m;
}

inline std::uint64_t counter(const v1::ServiceStats& s, const std::string& name) {
  auto it = s.counters().find(name);
  return it == s.counters().end() ? 0 : it->second;
}

// The fake assembler plus a running classifier and a tap subscriber on it.
class ClassifierRig {
 public:
  // Starts the publisher and the classifier (instance name via EMWIN_INSTANCE,
  // to exercise the environment path). `extra_args` go to the classifier.
  explicit ClassifierRig(const std::string& name, std::vector<std::string> extra_args = {})
      : dir_(makeTempDir("emwin-cls-" + name)) {
    bus::PublisherOptions po;
    po.producer_id = "assembler.itest";
    po.pipeline_endpoint = "tcp://127.0.0.1:0";
    assembler_ = std::make_unique<bus::Publisher>(ctx_, po);
    tap_ = "tcp://127.0.0.1:" + std::to_string(freeTcpPort());
    pipe_ = "tcp://127.0.0.1:" + std::to_string(freeTcpPort());
    std::vector<std::string> args = {"--connect", assembler_->pipelineEndpoint(), "--pub", tap_, "--pipe", pipe_,
                                     "--stats-interval-ms", "200", "--alert-log", dir_ + "/alerts.jsonl",
                                     "--state-dir", dir_ + "/state", "--log-level", "debug"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    proc_ = std::make_unique<Process>(ProcessSpec{classifierBinary(), args, {{"EMWIN_INSTANCE", "itest"}}, {}, dir_,
                                                  "classifier-" + name});
    bus::SubscriberOptions so;
    so.mode = bus::Mode::kTap;
    so.endpoints = {tap_};
    so.topic_prefixes = {"alert.", "stats.alert-classifier."};
    tap_sub_ = std::make_unique<bus::Subscriber>(ctx_, so);
  }

  // Waits until the classifier joined the pipeline group and its stats reach
  // our tap subscriber (so nothing published afterwards can be missed).
  bool waitReady(std::chrono::milliseconds timeout = 15s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    bool joined = false;
    bool heard = false;
    while (std::chrono::steady_clock::now() < deadline && !(joined && heard)) {
      if (!proc_->running()) return false;
      assembler_->poll(5ms);
      joined = joined || assembler_->stats().pipeline.replicas >= 1;
      auto m = tap_sub_->receive(5ms);
      if (m && m->topic.rfind("stats.", 0) == 0) heard = true;
    }
    return joined && heard;
  }

  void publish(const TestFile& f) {
    v1::CompletedFile m = toMessage(f);
    assembler_->publish(bus::topics::file(f.name), m);
  }

  // A payload that is not a CompletedFile, on a file topic.
  void publishWrongType(const std::string& name) {
    v1::ServiceStats s;
    s.set_service("not-a-file");
    assembler_->publish(bus::topics::file(name), s);
  }

  // Receives from the tap (serving the assembler pipeline meanwhile) until a
  // stats snapshot with files_in >= `files` arrives; alerts seen on the way
  // are appended to `alerts`. Returns that snapshot (empty on timeout). The
  // tap preserves order, so every alert of those files precedes it.
  v1::ServiceStats collectUntilFiles(std::uint64_t files, std::vector<std::pair<std::string, v1::Alert>>& alerts,
                                     std::chrono::milliseconds timeout = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      assembler_->poll(0ms);
      auto m = tap_sub_->receive(10ms);
      if (!m) continue;
      if (m->topic.rfind("alert.", 0) == 0) {
        v1::Alert a;
        EXPECT_TRUE(a.ParseFromString(m->payload)) << m->topic;
        alerts.emplace_back(m->topic, a);
        continue;
      }
      v1::ServiceStats s;
      if (s.ParseFromString(m->payload) && counter(s, "files_in") >= files) return s;
    }
    return {};
  }

  Process& process() { return *proc_; }
  const std::string& tap() const { return tap_; }
  const std::string& dir() const { return dir_; }
  bus::Publisher& assembler() { return *assembler_; }
  bus::Subscriber& tapSubscriber() { return *tap_sub_; }

 private:
  std::string dir_;
  zmq::context_t ctx_{1};
  std::unique_ptr<bus::Publisher> assembler_;
  std::string tap_;
  std::string pipe_;
  std::unique_ptr<Process> proc_;
  std::unique_ptr<bus::Subscriber> tap_sub_;
};

}  // namespace emwin::test
