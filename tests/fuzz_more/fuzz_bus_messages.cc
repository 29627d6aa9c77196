// libFuzzer target: arbitrary bytes parsed as each bus message type and pushed
// through the code the services run on it. The first byte picks the type:
//   0 Segment         -> the assembler service's conversion checks, then the Assembler
//   1 CompletedFile   -> disk-writer path computation (FileStore) and the alert classifier
//   2 ServiceStats    -> the stats aggregator (summary and Prometheus text)
//   3 ConsumerCommand -> a real bus::Publisher's ROUTER (over inproc) then a publish
// Invariants: nothing throws or crashes; disk-writer paths stay relative and
// never contain "..".
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include <zmq.hpp>

#include "assembly/assembler.h"
#include "mapping/mapping.h"
#include "bus/bus.h"
#include "emwin/bus/v1/control.pb.h"
#include "emwin/bus/v1/file.pb.h"
#include "emwin/bus/v1/segment.pb.h"
#include "emwin/bus/v1/stats.pb.h"
#include "aggregator.h"
#include "file_classifier.h"
#include "file_store.h"
#include "runtime/log.h"

namespace {
namespace v1 = emwin::bus::v1;

struct NullSink : emwin::assembly::AssemblerCallbacks {
  void onFile(emwin::assembly::CompletedFile&&) override {}
  void onEviction(const emwin::assembly::Eviction&) override {}
};

void segment(const std::string& bytes) {
  static NullSink sink;
  static emwin::assembly::Assembler assembler([] {
    emwin::assembly::Options o;
    o.max_partial_bytes = 1u << 20;
    return o;
  }(), sink);
  v1::Segment m;
  emwin::qbt::Segment s;
  if (!m.ParseFromString(bytes) || !emwin::mapping::fromMessage(m, s)) return;  // what the assembler runs
  assembler.add(s, m.source());
}

void completedFile(const std::string& bytes) {
  static const std::filesystem::path root = std::filesystem::temp_directory_path() / "emwin-fuzz-store";
  static emwin::sinks::FileStore store(root, false);
  static emwin::sinks::FileClassifier classifier;
  v1::CompletedFile f;
  if (!f.ParseFromString(bytes)) return;
  emwin::sinks::StoredFileInfo info;
  info.name = f.filename();
  info.fd_unix_s = f.fd_unix_s();
  info.sha256 = f.sha256();
  if (auto rel = store.relativePath(info)) {
    if (rel->is_absolute()) std::abort();
    for (const auto& part : *rel) {
      if (part == ".." || part == ".") std::abort();
    }
  }
  (void)emwin::sinks::sanitizeFilename(f.filename());
  (void)classifier.classify(f);
}

void serviceStats(const std::string& bytes) {
  static emwin::sinks::StatsAggregator aggregator;
  static auto now = emwin::sinks::StatsAggregator::Clock::now();
  v1::ServiceStats s;
  if (!s.ParseFromString(bytes)) return;
  now += std::chrono::milliseconds(100);
  aggregator.update(s, now);
  (void)aggregator.summary(now);
  (void)aggregator.prometheus(now);
}

void consumerCommand(const std::string& bytes) {
  static zmq::context_t context(1);
  static emwin::bus::Publisher publisher(context, [] {
    emwin::bus::PublisherOptions o;
    o.producer_id = "fuzz";
    o.pipeline_endpoint = "inproc://fuzz-bus-messages";
    o.pipeline_hwm = 16;
    o.retention_messages = 64;
    return o;
  }());
  static zmq::socket_t dealer = [] {
    zmq::socket_t d(context, zmq::socket_type::dealer);
    d.set(zmq::sockopt::routing_id, "fuzz-replica");
    d.set(zmq::sockopt::linger, 0);
    d.set(zmq::sockopt::rcvhwm, 0);
    d.connect("inproc://fuzz-bus-messages");
    return d;
  }();
  dealer.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
  publisher.poll(std::chrono::milliseconds(1));
  if (publisher.hasRoom()) {
    v1::Segment m;
    m.set_filename("A.TXT");
    publisher.publish("seg.TXT.A.TXT", m);
  }
  // Drain what the publisher sent to us so nothing piles up.
  zmq::message_t frame;
  while (dealer.recv(frame, zmq::recv_flags::dontwait)) {
  }
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  emwin::runtime::setLogLevel("off");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] & 3) {
    case 0: segment(bytes); break;
    case 1: completedFile(bytes); break;
    case 2: serviceStats(bytes); break;
    default: consumerCommand(bytes); break;
  }
  return 0;
}
