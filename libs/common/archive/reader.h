#pragma once
// Reader: the questions people ask an archive — "what is in effect here
// now?", "what did we get for county X yesterday?", "what happened to this
// event?" — for emwin-query, and for any process that wants the archive's
// answers (the gateway after a restart: loadActiveState()).
//
// "In effect" is answered in two steps: SQL finds the candidate events (a
// UGC index; for a point, PostGIS ST_Covers / ST_DWithin with GiST indexes, or
// on SQLite an R*Tree of polygon boxes and a latitude/longitude range), then
// the active-state library evaluates them exactly at the asked time — so an
// archive and an in-memory alerts::ActiveState fed the same alerts give the
// same answer (the same ActiveEvent values, in the same order).
//
//   auto reader = archive::Reader::open("sqlite:var/archive/archive.db");
//   archive::ActiveFilter f;  f.query.where = archive::Where::kUgc;  f.query.ugc = "IAC169";
//   f.query.at_unix_s = time(nullptr);
//   for (const auto& a : reader->activeAlerts(f)) use(a.event, a.alert);   // alerts::ActiveEvent + bus Alert
//
// Calls block on the database (a local file read, or a PostgreSQL round
// trip): call them from a worker thread, or at start-up, never from a reactor
// handler. Errors are DatabaseError.
//
// Thread-safety: one Reader per thread (each holds its own connection).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "alerts/active_state.h"
#include "archive/database.h"
#include "emwin/bus/v1/alert.pb.h"

namespace emwin::archive {

// What Reader::active() is asked: where and when (ActiveQuery), and filters on the events.
struct ActiveFilter {
  ActiveQuery query;         // where (all, UGC, point), at, pending
  std::string office;        // event office, "KDMX" (or "DMX")
  std::string phenomenon;    // "TO"
  std::string significance;  // "W"
  int max_tier = 0;          // only tiers <= this (1 emergency .. 6 routine); 0 = any
};

// An event in effect with the latest alert stored for it.
struct ActiveAlert {
  alerts::ActiveEvent event;
  emwin::bus::v1::Alert alert;  // the latest alert of the event (by issue time); empty when none is stored
  std::int64_t received_unix_s = 0;  // when the archive received that alert
};

// One event's lifecycle.
struct EventHistory {
  std::optional<alerts::Event> event;  // the event state as last stored (absent when its row was deleted)
  std::vector<AlertRecord> alerts;     // every stored alert of the event, oldest first
};

class Reader {
 public:
  // Opens the archive at `url` (sqlite:PATH or postgresql://...) for reading.
  // Throws DatabaseError (kFatal: not an archive, bad URL; kTransient: server unreachable).
  static std::unique_ptr<Reader> open(const std::string& url);
  // A reader over an open (or openable) database.
  explicit Reader(std::unique_ptr<Database> database);

  // Events in effect (or pending) per `filter`, most urgent first, as
  // alerts::ActiveState would answer at filter.query.at_unix_s.
  std::vector<alerts::ActiveEvent> active(const ActiveFilter& filter);
  // The same, each with its latest stored Alert message.
  std::vector<ActiveAlert> activeAlerts(const ActiveFilter& filter);
  // One event's stored state and every alert of it; nullopt when the archive knows nothing of `key`.
  std::optional<EventHistory> event(const std::string& key);
  // Stored alerts per `query`, newest first.
  std::vector<AlertRecord> alerts(const AlertQuery& query) { return db_->alerts(query); }
  // Stored files per `query`, newest first.
  std::vector<FileRecord> files(const FileQuery& query) { return db_->files(query); }
  // Replaces `state` with the archive's active state (what emwin-archive holds
  // in memory): e.g. a gateway at start, then fed live alerts on top
  // (redelivered ones are duplicates and change nothing). False and `error`
  // when a stored event is unreadable.
  bool loadActiveState(alerts::ActiveState& state, std::string& error);
  // The latest product issue time stored (0 when empty): "now" of a replayed feed.
  std::int64_t latestIssued();

  Database& database() noexcept { return *db_; }

 private:
  void connectIfNeeded();

  std::unique_ptr<Database> db_;
};

}  // namespace emwin::archive
