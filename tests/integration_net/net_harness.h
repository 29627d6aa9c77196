#pragma once
// Helpers shared by the network integration tests: start emwin-sim and
// emwin-ingest with free ports, and drain bus subscribers with deadlines.
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
#include "emwin/bus/v1/segment.pb.h"
#include "emwin/bus/v1/stats.pb.h"
#include "support/process.h"

namespace emwin::test {

using namespace std::chrono_literals;

inline std::string simBinary() { return binaryPath("tools/sim/emwin-sim"); }
inline std::string ingestBinary() { return binaryPath("services/ingest/emwin-ingest"); }
inline std::string productsDir(const std::string& category) {
  return std::string(EMWIN_CORPUS_DIR) + "/products/" + category;
}

// A running simulator and its port.
struct Sim {
  std::unique_ptr<Process> proc;
  int port = 0;
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};

// Starts emwin-sim on a kernel-chosen port (or `port` if non-zero) and waits for its "listening" line.
inline Sim startSim(std::vector<std::string> args, const std::string& name, int port = 0) {
  Sim s;
  std::vector<std::string> all = {"--listen", "127.0.0.1:" + std::to_string(port), "--stats-interval-ms", "500"};
  all.insert(all.end(), args.begin(), args.end());
  s.proc = std::make_unique<Process>(ProcessSpec{simBinary(), all, {}, {}, {}, name});
  auto line = s.proc->waitForLine(std::regex("^listening "), 10s);
  if (!line) {
    ADD_FAILURE() << "sim did not start: " << s.proc->text(Stream::kStderr);
    return s;
  }
  std::smatch m;
  std::regex_search(*line, m, std::regex(":([0-9]+)"));
  s.port = std::stoi(m[1]);
  return s;
}

// Ingest endpoints on fresh ports.
struct Ingest {
  std::unique_ptr<Process> proc;
  std::string pub;
  std::string pipe;
};

inline Ingest startIngest(std::vector<std::string> args, const std::string& name) {
  Ingest i;
  i.pub = "tcp://127.0.0.1:" + std::to_string(freeTcpPort());
  i.pipe = "tcp://127.0.0.1:" + std::to_string(freeTcpPort());
  std::vector<std::string> all = {"--pub", i.pub, "--pipe", i.pipe, "--email", "itest@example.org",
                                  "--stats-interval-ms", "200", "--log-level", "debug"};
  all.insert(all.end(), args.begin(), args.end());
  i.proc = std::make_unique<Process>(ProcessSpec{ingestBinary(), all, {}, {}, {}, name});
  return i;
}

// Pipeline subscriber for segments (group "itest").
inline std::unique_ptr<bus::Subscriber> segmentSubscriber(zmq::context_t& ctx, const std::string& pipe) {
  bus::SubscriberOptions o;
  o.mode = bus::Mode::kPipeline;
  o.endpoints = {pipe};
  o.topic_prefixes = {"seg."};
  o.group = "itest";
  return std::make_unique<bus::Subscriber>(ctx, o);
}

// Tap subscriber for ingest stats.
inline std::unique_ptr<bus::Subscriber> statsSubscriber(zmq::context_t& ctx, const std::string& pub) {
  bus::SubscriberOptions o;
  o.mode = bus::Mode::kTap;
  o.endpoints = {pub};
  o.topic_prefixes = {"stats.ingest."};
  return std::make_unique<bus::Subscriber>(ctx, o);
}

// Receives segments until `count` arrived or the deadline passes.
inline void collectSegments(bus::Subscriber& sub, std::vector<emwin::bus::v1::Segment>& out, std::size_t count,
                            std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
    auto m = sub.receive(50ms);
    if (!m) continue;
    emwin::bus::v1::Segment seg;
    if (seg.ParseFromString(m->payload)) out.push_back(seg);
    sub.ack(*m);
  }
}

// Waits for a stats snapshot satisfying `pred`; returns the last one seen.
template <class Pred>
emwin::bus::v1::ServiceStats waitStats(bus::Subscriber& sub, Pred pred, std::chrono::milliseconds timeout) {
  emwin::bus::v1::ServiceStats last;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto m = sub.receive(50ms);
    if (!m) continue;
    emwin::bus::v1::ServiceStats s;
    if (!s.ParseFromString(m->payload)) continue;
    last = s;
    if (pred(s)) break;
  }
  return last;
}

inline std::uint64_t counter(const emwin::bus::v1::ServiceStats& s, const std::string& name) {
  auto it = s.counters().find(name);
  return it == s.counters().end() ? 0 : it->second;
}

// "sent" lines of a sim: number of data blocks per file name, summed over transmissions.
inline std::map<std::string, std::uint64_t> sentBlocks(const Process& sim, const std::string& client) {
  std::map<std::string, std::uint64_t> out;
  for (const auto& l : sim.lines()) {
    if (l.rfind("sent ", 0) != 0 || fieldOf(l, "client") != client) continue;
    out[fieldOf(l, "file")] += std::stoull(fieldOf(l, "blocks")) - std::stoull(fieldOf(l, "bad_blocks"));
  }
  return out;
}

}  // namespace emwin::test
