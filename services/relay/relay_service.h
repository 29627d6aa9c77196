#pragma once
// RelayService: the emwin-relay handlers on the service runtime. Reads one
// producer's tap — ingest's segments (default) or the assembler's completed
// files — and relays every block through a RelayServer to downstream
// ByteBlaster clients; optionally serves /metrics, /healthz and /clients.
//
// Why the tap and not a pipeline group: a pipeline group is remembered by its
// producer, which holds messages for it (backpressure) until the group's
// replicas return or the group times out, so a dead or slow relay in a group
// would stall ingest and the whole pipeline. The tap never slows its
// producer; what the relay misses there is counted from the sequence numbers
// (bus_gaps, bus_missed) and logged. Slow clients never slow the tap either:
// each has a bounded send budget (RelayServer).
//
// Thread-safety: the runtime's thread only.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "emwin/bus/v1/file.pb.h"
#include "emwin/bus/v1/segment.pb.h"
#include "emwin/bus/v1/server_list.pb.h"
#include "options.h"
#include "relay_server.h"
#include "service/runtime.h"

namespace emwin::http {
class AccessGuard;
class Server;
}

namespace emwin::relay {

// Counters of the bus side.
struct FeedCounters {
  std::uint64_t messages = 0;           // messages read from the tap (any topic)
  std::uint64_t segments = 0;           // seg.* relayed
  std::uint64_t files = 0;              // file.* relayed (cut into blocks)
  std::uint64_t archive_entries = 0;    // file.* extracted from an archive: not relayed (the archive is)
  std::uint64_t files_not_raw = 0;      // files whose re-cut blocks differ from the received ones (raw_sha256)
  std::uint64_t bad_messages = 0;       // payloads that do not parse or carry no usable block
  std::uint64_t upstream_lists = 0;     // serverlist.* taken
};

class RelayService : public service::Service {
 public:
  explicit RelayService(RelayConfig config);
  ~RelayService() override;

  void start(service::Runtime& runtime) override;
  void report(runtime::StatsReporter& stats) override;
  void stop(service::Runtime& runtime) override;

  // Prometheus text of the relay's counters (as emwin-stats would name them)
  // and one series per client.
  std::string metricsText();
  // JSON array of the open connections.
  std::string clientsJson() const;
  const FeedCounters& feedCounters() const noexcept { return feed_; }

 private:
  void onMessage(bus::Received&& message);
  void onSegment(const bus::Received& message);
  void onFile(const bus::Received& message);
  void onServerList(const bus::Received& message);
  void badMessage(const bus::Received& message, const char* why);
  void checkUpstream();
  double upstreamAge() const;

  RelayConfig config_;
  service::Runtime* runtime_ = nullptr;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<RelayServer> server_;
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<http::AccessGuard> guard_;
  bus::TapSubscriber* tap_ = nullptr;
  emwin::bus::v1::Segment segment_;     // reused
  emwin::bus::v1::CompletedFile file_;  // reused
  std::vector<std::uint8_t> raw_;       // a file re-cut into blocks
  FeedCounters feed_;
  std::chrono::steady_clock::time_point started_{};
  std::chrono::steady_clock::time_point last_upstream_{};
  bool heard_upstream_ = false;
  bool degraded_ = false;
  std::uint64_t missed_logged_ = 0;
  std::chrono::steady_clock::time_point missed_logged_at_{};
  std::uint64_t bad_logged_ = 0;
};

}  // namespace emwin::relay
