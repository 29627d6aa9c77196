#pragma once
// AlertClassifierService: the emwin-alert-classifier process logic. Consumes
// CompletedFile messages (`file.` topics) from the assembler's pipeline
// endpoint as one replica of the "alert-classifier" group, classifies text
// products with FileClassifier and publishes one emwin.bus.v1.Alert per event
// on `alert.<PHENOMENON>.<SIGNIFICANCE>.<OFFICE>` through its own Publisher
// (tap + pipeline, so reliable downstream consumers can exist). A file is
// acknowledged only after its alerts were published (and logged). Logging:
// emergency-tier alerts one info line each; warnings one debug line each;
// every `summary_interval_s` one info line with the alerts per tier. Binaries are
// skipped and counted; unusable messages and parser failures are counted and
// logged, never fatal. ServiceStats go out on `stats.alert-classifier.<instance>`.
// Optionally appends one JSON line per alert to an alert log file.
//
// Thread-safety: run() on one thread; requestStop() from any thread.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <zmq.hpp>

namespace emwin::sinks {

// Options of emwin-alert-classifier (flags; env EMWIN_<FLAG>).
struct AlertClassifierOptions {
  std::string connect = "tcp://127.0.0.1:5612";  // assembler pipeline endpoint
  std::string pub = "tcp://*:5603";              // tap endpoint (PUB bind)
  std::string pipe = "tcp://*:5613";             // pipeline endpoint (ROUTER bind)
  std::string group = "alert-classifier";        // consumer group at the assembler
  std::string instance;                          // default hostname / EMWIN_INSTANCE
  std::string alert_log;                         // JSON-lines alert log; empty = none
  std::string state_dir;                         // replay position; empty = none
  std::size_t hwm = 1000;                        // alerts queued per downstream group before blocking
  int tap_hwm = 10000;                           // tap send high-water mark
  std::size_t retention = 20000;                 // alerts kept for REPLAY (at most)
  std::size_t retention_mb = 8;                  // bytes of alerts kept for REPLAY (at most)
  std::uint32_t credit = 64;                     // files in flight to us
  int stats_interval_ms = 2000;
  int summary_interval_s = 60;                   // info summary of alerts per tier
};

class AlertClassifierService {
 public:
  AlertClassifierService(zmq::context_t& context, AlertClassifierOptions options);
  ~AlertClassifierService();

  // Binds endpoints, connects, opens the alert log. Throws std::exception on
  // bad endpoints or an alert log that cannot be opened (main maps it to exit 2).
  void start();
  // Runs until requestStop() or the runtime stop signal; returns the exit code.
  int run();
  void requestStop() noexcept { stop_.store(true); }

  std::string tapEndpoint() const;
  std::string pipelineEndpoint() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stop_{false};
};

}  // namespace emwin::sinks
