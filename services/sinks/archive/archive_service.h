#pragma once
// ArchiveService: the emwin-archive handlers on the service runtime. Joins
// its own consumer group ("archive") on the assembler's pipeline (file.*)
// and on the classifier's (alert.*, test.alert.*), and keeps every file's
// metadata, every alert and the VTEC event state in a database (SQLite file
// by default, PostgreSQL with PostGIS) through archive::Writer.
//
// Batches: rows gather until --batch-rows or --batch-ms, then one
// transaction commits them on the database worker thread (DbWorker) while
// the next batch gathers; a message is acknowledged only once the
// transaction holding its row committed. Idempotent: a file or alert
// delivered again is the row already there.
//
// A database that goes away (server restart, full disk, lock): the batch is
// kept and retried with backoff (runtime timers), the inputs are held (credit
// then stops the producers: backpressure), the state is DEGRADED and errors
// are counted; nothing is acknowledged, so nothing is lost. The reactor never
// waits for the database: heartbeats go on during commits and retries.
//
// Thread-safety: the runtime's thread only (the Writer lives on the worker).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "archive/database_url.h"
#include "archive/writer.h"
#include "bus/message.h"
#include "db_worker.h"
#include "emwin/bus/v1/alert.pb.h"
#include "emwin/bus/v1/file.pb.h"
#include "runtime/cli.h"
#include "service/runtime.h"

namespace emwin::sinks {

// Options of emwin-archive (flags; env EMWIN_<FLAG>).
struct ArchiveOptions {
  std::string db = "sqlite:./var/archive/archive.db";    // sqlite:PATH or postgresql://user@host:port/dbname
  std::string connect = "tcp://127.0.0.1:5612";          // assembler pipeline (files); '' = no files
  std::string alerts_connect = "tcp://127.0.0.1:5613";   // classifier pipeline (alerts); '' = no alerts
  std::string group = "archive";                         // consumer group on both pipelines
  std::string replica;                                   // replica id; default: the instance
  std::string state_dir = "./var/archive";               // replay positions (recovery after restart)
  std::uint32_t credit = 1000;                           // messages in flight per input
  std::size_t batch_rows = 500;                          // commit when this many rows wait
  int batch_ms = 200;                                    // ... or this long after the first one
  int keep_days = 30;                                    // retention by receive time; 0 = keep everything
  int retention_interval_s = 3600;                       // how often retention runs
  int retry_min_ms = 200;                                // first delay after a database error
  int retry_max_ms = 10000;                              // longest delay between retries
  int exit_after_commits = 0;                            // test aid: exit (code 3) after this many commits, before acknowledging
};

// Adds the archive's own options to `cli`.
void addArchiveOptions(runtime::Cli& cli, ArchiveOptions& options);

// Checks what the flags alone cannot (options together, the SQLite file's
// directory, --state-dir); throws runtime::ConfigError naming the option.
// main() calls it before the runtime starts anything.
void checkArchiveOptions(const ArchiveOptions& options);

class ArchiveService : public service::Service {
 public:
  explicit ArchiveService(ArchiveOptions options);
  ~ArchiveService() override;

  void start(service::Runtime& runtime) override;
  void report(runtime::StatsReporter& stats) override;
  void stop(service::Runtime& runtime) override;

 private:
  struct Ack {
    bus::PipelineSubscriber* input;
    bus::AckToken token;
  };
  // Rows and the acknowledgements they stand for.
  struct Pending {
    archive::Batch batch;
    std::vector<Ack> acks;
  };
  // What a database job reports back to the reactor.
  struct Outcome {
    bool ok = false;
    archive::DatabaseError::Kind kind = archive::DatabaseError::Kind::kTransient;
    std::string error;
    archive::CommitResult commit;
    archive::OpenResult open;
    archive::PruneCounts pruned;
    std::size_t active_events = 0;
    double ms = 0;
  };

  void onFile(bus::Received&& message);
  void onAlert(bus::Received&& message);
  void added();
  void flush();
  void submit();
  void onCommitted(const Outcome& outcome);
  void openAsync();
  void onOpened(const Outcome& outcome);
  void applyOpened(const archive::OpenResult& result);
  void retention();
  void failed(const Outcome& outcome, const char* what);
  void updateHold();
  void logSummary(bool force);
  void count(const std::string& name, std::uint64_t n = 1) { counters_[name] += n; }

  ArchiveOptions options_;
  archive::DatabaseUrl url_;
  service::Runtime* runtime_ = nullptr;
  bus::PipelineSubscriber* files_in_ = nullptr;
  bus::PipelineSubscriber* alerts_in_ = nullptr;
  std::shared_ptr<archive::Writer> writer_;  // used on the worker thread once it runs
  std::unique_ptr<DbWorker> worker_;
  emwin::bus::v1::CompletedFile file_;       // reused between messages
  emwin::bus::v1::Alert alert_;
  Pending pending_;
  std::shared_ptr<Pending> inflight_;        // being committed (or retried)
  std::chrono::steady_clock::time_point pending_since_{};
  std::uint64_t generation_ = 0;             // batches started; a stale batch timer finds another
  bool ready_ = false;                       // the database is open and the active state restored
  bool degraded_ = false;                    // the database is failing (retrying)
  bool held_ = false;
  bool pruning_ = false;
  int backoff_ms_ = 0;
  std::uint64_t retries_ = 0;                // of the current outage
  std::chrono::steady_clock::time_point degraded_since_{};
  std::chrono::steady_clock::time_point last_error_log_{};
  std::uint64_t commits_ = 0;
  double last_commit_ms_ = 0;
  std::size_t active_events_ = 0;
  std::map<std::string, std::uint64_t> counters_;
  std::uint64_t summary_files_ = 0, summary_alerts_ = 0, summary_duplicates_ = 0;
  std::chrono::steady_clock::time_point summary_since_ = std::chrono::steady_clock::now();
};

}  // namespace emwin::sinks
