#pragma once
// AlertClassifierService: the emwin-alert-classifier handlers on the service
// runtime. One replica of the "alert-classifier" group on the assembler's
// pipeline: classifies text products with FileClassifier and publishes one
// emwin.bus.v1.Alert per event on `alert.<PHENOMENON>.<SIGNIFICANCE>.<OFFICE>`
// (tap + pipeline). A file is acknowledged only once every alert made from
// it has been acknowledged by the alert pipeline's consumer groups (at once
// when it made none, or no group exists), so a crash anywhere loses no
// alert. Logging: emergency-tier alerts one info line each, warnings at
// debug, and every --summary-interval-s one info line with the alerts per
// tier. Binaries are skipped and counted; unusable messages and parser
// failures are counted and logged, never fatal. Optionally appends one JSON
// line per alert to an alert log.
//
// Thread-safety: the runtime's thread only.

#include <array>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <unordered_map>

#include "bus/message.h"
#include "emwin/bus/v1/file.pb.h"
#include "file_classifier.h"
#include "runtime/cli.h"
#include "service/runtime.h"

namespace emwin::sinks {

// Options of emwin-alert-classifier (flags; env EMWIN_<FLAG>).
struct AlertClassifierOptions {
  std::string connect = "tcp://127.0.0.1:5612";  // assembler pipeline endpoint
  service::ProducerOptions producer = service::ProducerOptions::at("tcp://*:5603", "tcp://*:5613");  // tap, pipeline, hwm, retention
  std::string group = "alert-classifier";        // consumer group at the assembler
  std::string alert_log;                         // JSON-lines alert log; empty = none
  std::string state_dir = "./var/alert-classifier";  // replay position and known downstream groups
  std::uint32_t credit = 64;                     // files in flight to us
  int summary_interval_s = 60;                   // info summary of alerts per tier
};

// Adds the classifier's own options to `cli`.
void addAlertClassifierOptions(runtime::Cli& cli, AlertClassifierOptions& options);

class AlertClassifierService : public service::Service {
 public:
  explicit AlertClassifierService(AlertClassifierOptions options);

  void start(service::Runtime& runtime) override;
  void report(runtime::StatsReporter& stats) override;
  void stop(service::Runtime& runtime) override;

 private:
  // A file acknowledged once its alerts settled.
  struct Pending {
    bus::AckToken token;
    std::uint32_t unsettled = 0;
  };
  static constexpr std::size_t kTierSlots = 8;  // 0 = unspecified / out of range; 1..7 = the tiers (7: test)

  void onFile(bus::Received&& message);
  void onSettled(std::uint64_t sequence);
  void logSummary(bool force);
  void writeLog(const std::string& line);

  AlertClassifierOptions options_;
  service::Runtime* runtime_ = nullptr;
  bus::Publisher* publisher_ = nullptr;
  bus::PipelineSubscriber* input_ = nullptr;
  FileClassifier classifier_;
  emwin::bus::v1::CompletedFile file_;  // reused between messages
  FileResult result_;                   // reused between messages
  std::unordered_map<std::uint64_t, std::shared_ptr<Pending>> awaiting_;  // alert message -> its file
  std::array<std::uint64_t, kTierSlots> summary_counts_{};
  std::chrono::steady_clock::time_point summary_since_ = std::chrono::steady_clock::now();
  std::ofstream alert_log_;
};

}  // namespace emwin::sinks
