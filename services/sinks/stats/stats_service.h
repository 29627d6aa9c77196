#pragma once
// StatsService: the emwin-stats handlers on the service runtime. Follows the
// `stats.*` topics of every producer's tap (--connect, several) and of an
// intake it binds (--intake) where processes without a tap of their own push
// theirs (--stats-connect), aggregates them with StatsAggregator, publishes
// `stats.summary` on its own tap (--pub), and serves Prometheus text on HTTP
// /metrics and a health check on /healthz — all on the runtime's one reactor.
//
// Thread-safety: the runtime's thread only.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "aggregator.h"
#include "http/access.h"
#include "http/server.h"
#include "runtime/cli.h"
#include "service/runtime.h"

namespace emwin::sinks {

// Options of emwin-stats (flags; env EMWIN_<FLAG>).
struct StatsOptions {
  std::vector<std::string> connect;      // producer taps to follow
  std::string intake = "tcp://*:5605";   // SUB bind for pushed stats; '' = none
  std::string pub = "tcp://*:5604";      // stats.summary tap
  std::string http = "0.0.0.0:9464";     // host:port for /metrics, /healthz; '' = none
  int summary_interval_ms = 0;           // period of stats.summary; 0 = --stats-interval-ms
  int stale_after_ms = 10000;            // a service silent this long is reported down
  http::AccessArgs http_access;          // --http-token (/metrics; /healthz too with --http-token-healthz), --http-allow
};

// Adds the stats service's own options to `cli`.
void addStatsOptions(runtime::Cli& cli, StatsOptions& options);

class StatsService : public service::Service {
 public:
  explicit StatsService(StatsOptions options);
  ~StatsService() override;

  void start(service::Runtime& runtime) override;
  void report(runtime::StatsReporter& stats) override;
  void stop(service::Runtime& runtime) override;

  // The bound HTTP port (useful with port 0); 0 without --http.
  int httpPort() const;

 private:
  void take(const bus::Received& message);

  StatsOptions options_;
  service::Runtime* runtime_ = nullptr;
  bus::Publisher* publisher_ = nullptr;
  StatsAggregator aggregator_;
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<http::AccessGuard> guard_;
  std::uint64_t bad_payloads_ = 0;
  std::uint64_t stats_received_ = 0;
};

}  // namespace emwin::sinks
