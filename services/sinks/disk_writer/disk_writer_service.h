#pragma once
// DiskWriterService: the emwin-disk-writer handlers on the service runtime.
// One replica of the "disk-writer" consumer group on the assembler's
// pipeline: writes each CompletedFile through FileStore and acknowledges it
// only once the file is safely on disk (or its name was rejected for good,
// counted), so a crash or a disk error never loses a file: the producer
// redelivers it. Disk full / permission errors are counted, logged and
// retried with backoff while the replica holds its input and reports
// DEGRADED; nothing waits inside a handler.
//
// Thread-safety: the runtime's thread only.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "bus/message.h"
#include "emwin/bus/v1/file.pb.h"
#include "file_store.h"
#include "runtime/cli.h"
#include "runtime/sha256.h"
#include "service/runtime.h"

namespace emwin::sinks {

// Options of emwin-disk-writer (flags; env EMWIN_<FLAG>).
struct DiskWriterOptions {
  std::string connect = "tcp://127.0.0.1:5612";  // assembler pipeline endpoint
  std::string out = "out";                       // output root
  std::string group = "disk-writer";             // consumer group (sink type)
  std::string replica;                           // replica id, unique in the group; default <instance>-<pid>
  std::string state_dir = "./var/disk-writer";   // replay position (recovery after restart)
  bool sidecar = false;                          // write <file>.json metadata
  bool fsync = true;                             // fsync files and directories
  std::uint32_t credit = 64;                     // files in flight to this replica
  int slow_ms = 0;                               // test aid: every file takes at least this long
  int retry_min_ms = 100;                        // I/O error backoff
  int retry_max_ms = 10000;
};

// Adds the disk writer's own options to `cli`.
void addDiskWriterOptions(runtime::Cli& cli, DiskWriterOptions& options);

class DiskWriterService : public service::Service {
 public:
  explicit DiskWriterService(DiskWriterOptions options);

  void start(service::Runtime& runtime) override;
  void report(runtime::StatsReporter& stats) override;

 private:
  void onFile(bus::Received&& message);
  // Writes the held file; on an I/O error schedules a retry. True when done.
  bool writeHeld();
  void retryLater();
  void count(const std::string& name, std::uint64_t n = 1) { counters_[name] += n; }

  DiskWriterOptions options_;
  service::Runtime* runtime_ = nullptr;
  bus::PipelineSubscriber* input_ = nullptr;
  std::optional<FileStore> store_;
  runtime::Sha256 sha_;
  emwin::bus::v1::CompletedFile file_;  // reused: its data buffer keeps its capacity
  std::optional<bus::AckToken> held_;   // the file being written (retried or slowed)
  int backoff_ms_ = 0;
  std::map<std::string, std::uint64_t> counters_;
};

}  // namespace emwin::sinks
