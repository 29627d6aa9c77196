#pragma once
// Writer: what emwin-archive does with a batch — one transaction that stores
// files and alerts idempotently (a row already there stays as it is) and the
// VTEC event state they produce. It owns the active state
// (alerts::ActiveState): every alert not already stored is applied in the
// order given (the classifier's), and every event it changed is written in
// the same transaction, so the events in the database always match the
// alerts in it. open() rebuilds the active state from the database (the
// events it may still hold, restored with the library's snapshot format), so
// a restarted archive goes on where it stopped.
//
// Failures: a transient database error (server gone, disk full, locked)
// leaves the batch to be retried as it is (commit() again: idempotent; events
// touched by a failed attempt are written by the next one). A row the
// database refuses (a data error) is found by committing row by row,
// reported in CommitResult::rejected and skipped, so one bad row never blocks
// the rest.
//
// Thread-safety: not synchronised; one thread (emwin-archive's database worker).

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "alerts/active_state.h"
#include "archive/database.h"
#include "archive/records.h"

namespace emwin::archive {

// Options of a Writer.
struct WriterOptions {
  // Active-state options; auto_prune_every is forced to 0 (the writer prunes
  // after each commit, once the events it changed are stored).
  alerts::ActiveStateOptions active;
};

// What one commit did.
struct CommitResult {
  std::size_t files_new = 0, files_duplicate = 0;
  std::size_t alerts_new = 0, alerts_duplicate = 0, alerts_test = 0;
  std::size_t events_written = 0;
  std::vector<std::string> rejected;  // rows the database refused (one line each), skipped
  std::int64_t latest_issued = 0;     // the active state's latest product time after it
};

// What open() found.
struct OpenResult {
  int schema_version = 0;
  bool spatial = false;
  std::size_t events_restored = 0;
  std::int64_t latest_issued = 0;
  std::vector<std::string> notes;  // migrations applied, warnings
};

class Writer {
 public:
  Writer(std::unique_ptr<Database> database, WriterOptions options = {});

  // Connects, takes the writer lock, migrates, restores the active state.
  // Throws DatabaseError (kTransient: try again later).
  OpenResult open();
  // True once open() succeeded (and the connection has not been lost since).
  bool ready() const;

  // Stores `batch` in one transaction (or row by row after a data error).
  // Throws DatabaseError kTransient (nothing committed: call again with the
  // same batch) or kFatal.
  CommitResult commit(const Batch& batch, std::int64_t now_unix_s);

  // Retention: deletes rows received before `received_before` (see Database::deleteOlderThan).
  PruneCounts prune(std::int64_t received_before);

  // The active state (for stats and tests).
  const alerts::ActiveState& activeState() const noexcept { return state_; }
  Database& database() noexcept { return *db_; }

 private:
  void connectIfNeeded();
  CommitResult commitOnce(const Batch& batch, std::int64_t now, bool with_events);
  void writeEvents(std::int64_t now, CommitResult& out, std::set<std::string>* only);

  std::unique_ptr<Database> db_;
  WriterOptions options_;
  alerts::ActiveState state_;
  bool opened_ = false;
  std::set<std::string> touched_;  // event keys changed and not yet committed
};

}  // namespace emwin::archive
