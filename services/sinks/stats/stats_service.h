#pragma once
// StatsService: the emwin-stats process. Follows the `stats.*` topics of
// every producer's tap (--connect, several) and of the intake socket that
// replicated sinks push to (--intake, SUB bound), aggregates them with
// StatsAggregator, publishes `stats.summary` on its own tap (--pub), and
// serves Prometheus text on HTTP /metrics and a health check on /healthz.
//
// Thread-safety: run() on one thread (plus the HTTP server's threads, which
// only read the aggregator under its mutex); requestStop() from any thread.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <zmq.hpp>

namespace emwin::sinks {

// Options of emwin-stats (flags; env EMWIN_<FLAG>).
struct StatsOptions {
  std::vector<std::string> connect;            // producer taps to follow
  std::string intake = "tcp://*:5605";         // SUB bind for pushed stats; '' = none
  std::string pub = "tcp://*:5604";            // stats.summary tap
  std::string http = "0.0.0.0:9464";           // host:port for /metrics, /healthz; '' = none
  std::string instance;                        // default hostname
  int summary_interval_ms = 2000;
  int stale_after_ms = 10000;                  // a service silent this long is reported down
};

class StatsService {
 public:
  StatsService(zmq::context_t& context, StatsOptions options);
  ~StatsService();

  // Binds everything (throws on failure: bad endpoint, port in use).
  void start();
  // Runs until requestStop(); returns the exit code.
  int run();
  void requestStop() noexcept { stop_.store(true); }

  // The actual HTTP port (useful with port 0).
  int httpPort() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stop_{false};
};

}  // namespace emwin::sinks
