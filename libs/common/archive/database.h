#pragma once
// Database: one connection to an archive (SQLite or PostgreSQL) and the SQL
// every archive program needs — the versioned schema, idempotent writes of
// files, alerts and events, retention, and the indexed look-ups behind the
// queries. Writer (writer.h) and Reader (reader.h) are built on it; programs
// rarely use it directly.
//
// Schema (docs/archive.md): files (one row per name + /FD + SHA-256), alerts
// (one row per source id: file SHA-256 # segment # VTEC, the whole Alert as
// bytes plus columns), alert_ugc, events (the active state's events, one row
// per key, with their snapshot JSON), event_windows (each event's UGC windows,
// flattened, with the UGC centroid), meta, schema_migrations. PostgreSQL with
// PostGIS adds geometry columns with GiST indexes (point-in-polygon and
// distance in SQL); SQLite keeps polygon boxes in an R*Tree.
//
// Errors: DatabaseError says whether trying again later can help (the server
// went away, the disk is full, the file is locked) or not (the row itself is
// unacceptable, the schema is newer than this program).
//
// Thread-safety: one Database per thread; not synchronised.

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "archive/database_url.h"
#include "archive/records.h"

namespace emwin::archive {

// A database operation failed.
class DatabaseError : public std::runtime_error {
 public:
  // What kind of failure it was, which decides what the caller does.
  enum class Kind {
    kTransient,  // unavailable, connection lost, disk full, locked: retry later, nothing is wrong with the data
    kData,       // this row cannot be stored (a constraint or value the database refuses): skip it, count it
    kFatal,      // cannot go on (schema newer than this program, not an archive): stop
  };
  DatabaseError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  Kind kind() const noexcept { return kind_; }
  bool transient() const noexcept { return kind_ == Kind::kTransient; }

 private:
  Kind kind_;
};

// Which clock a time range filters on.
enum class TimeField {
  kReceived,  // when the archive received the row (wall clock): "what did we get yesterday"
  kProduct,   // the product's own time: alerts' issue time, files' /FD stamp
};

// Where an active query looks.
enum class Where { kAll, kUgc, kPoint };

// Candidates for "what is in effect": the SQL part of Reader::active (exact
// evaluation follows in C++ with the active-state library).
struct ActiveQuery {
  Where where = Where::kAll;
  std::string ugc;            // kUgc: "IAC169"
  double lat = 0, lon = 0;    // kPoint
  double distance_km = 25;    // kPoint: events without a polygon match by a UGC centroid within this; <= 0 polygons only
  std::int64_t at_unix_s = 0; // evaluation time
  bool include_pending = false;
};

// A filter on stored alerts (every set field must match).
struct AlertQuery {
  std::optional<std::int64_t> since_unix_s, until_unix_s;  // [since, until)
  TimeField time = TimeField::kReceived;
  std::string office;        // "KDMX" (also matches "DMX")
  std::string phenomenon;    // "TO"
  std::string significance;  // "W"
  std::string ugc;           // alerts naming this UGC
  std::string event_key;     // one event's alerts
  std::string awips_id;      // "TORDMX"
  bool include_tests = false;
  bool only_tests = false;
  std::size_t limit = 1000;  // newest first; 0 = no limit
  bool oldest_first = false;
};

// A filter on stored files.
struct FileQuery {
  std::optional<std::int64_t> since_unix_s, until_unix_s;  // [since, until)
  TimeField time = TimeField::kReceived;
  std::string name_glob;     // '*' and '?' wildcards, e.g. "ZFP*"; exact otherwise
  std::string ext;           // "TXT"
  std::string sha256;        // a hex prefix
  std::size_t limit = 1000;  // newest first; 0 = no limit
};

// What retention deleted.
struct PruneCounts {
  std::uint64_t files = 0, alerts = 0, events = 0;
};

// Row counts, for stats and tests.
struct Counts {
  std::uint64_t files = 0, alerts = 0, test_alerts = 0, events = 0, windows = 0;
};

class Database {
 public:
  virtual ~Database() = default;

  // --- connection and schema ---
  // Connects (or reconnects). Throws DatabaseError (kTransient when the server cannot be reached).
  virtual void connect() = 0;
  // True while connected (as far as the client knows).
  virtual bool connected() const = 0;
  // Ensures this is the only archive writer of the database: a lock held
  // until disconnect (PostgreSQL: an advisory lock; SQLite: a lock file
  // beside the database). Throws DatabaseError kTransient when another holds it.
  virtual void lockWriter() = 0;
  // Applies the migrations not yet applied, in order, each in its own
  // transaction. Returns the schema version; `notes` gets one line per step or
  // warning (e.g. "PostGIS not available: polygons kept as boxes").
  virtual int migrate(std::vector<std::string>& notes) = 0;
  // The applied schema version (0: not an archive yet).
  virtual int schemaVersion() = 0;
  // True when point and distance queries run in SQL on PostGIS geometry.
  virtual bool spatial() const = 0;

  // --- one write transaction ---
  virtual void begin() = 0;
  // Commits everything since begin(); nothing is visible (or durable) before.
  virtual void commit() = 0;
  // Abandons the transaction (never throws).
  virtual void rollback() noexcept = 0;
  // Of these source ids, the ones already stored.
  virtual std::unordered_set<std::string> knownAlerts(const std::vector<std::string>& source_ids) = 0;
  // Of these files, the "name/fd/sha256" keys already stored (fileKey()).
  virtual std::unordered_set<std::string> knownFiles(const std::vector<const FileRecord*>& files) = 0;
  // Insert-if-absent (idempotent): a row already there is left as it is.
  virtual void insertFile(const FileRecord& file) = 0;
  // `event_key` is stored instead of alert.event_key (the writer learns it from the active state).
  virtual void insertAlert(const AlertRecord& alert, const std::string& event_key) = 0;
  // Insert-or-replace one event and its windows.
  virtual void upsertEvent(const EventRecord& event, std::int64_t updated_unix_s) = 0;
  virtual void setMeta(const std::string& name, const std::string& value) = 0;

  // --- retention (its own transactions, in chunks) ---
  // Deletes files and alerts received before `received_before`, and events
  // last written before it that the active state has dropped (keep_until <= latest_issued).
  virtual PruneCounts deleteOlderThan(std::int64_t received_before, std::int64_t latest_issued) = 0;

  // --- reading ---
  virtual std::optional<std::string> meta(const std::string& name) = 0;
  // Full snapshots (alerts::eventSnapshot JSON) of the events the active state may still hold.
  virtual std::vector<std::string> liveEventStates(std::int64_t latest_issued) = 0;
  // Query snapshots of the events that may answer `query` (a superset).
  virtual std::vector<std::string> candidateEvents(const ActiveQuery& query) = 0;
  // The full snapshot of one event; nullopt when unknown.
  virtual std::optional<std::string> eventState(const std::string& key) = 0;
  virtual std::vector<AlertRecord> alerts(const AlertQuery& query) = 0;
  // The latest stored alert of each event key (for keys that have one).
  virtual std::vector<AlertRecord> latestAlerts(const std::vector<std::string>& event_keys) = 0;
  virtual std::vector<FileRecord> files(const FileQuery& query) = 0;
  virtual Counts counts() = 0;
  // The plan of the point query (EXPLAIN), for tests that check the index is used.
  virtual std::string explainPoint(const ActiveQuery& query) = 0;

  // The URL this database was opened with.
  virtual const DatabaseUrl& url() const = 0;
};

// "name\x1Ffd\x1Fsha256": the identity of a file row.
std::string fileKey(const FileRecord& file);

// How a Database is opened.
enum class OpenMode {
  kWrite,  // the archive writer: creates the SQLite file, migrates, takes the writer lock
  kRead,   // readers (emwin-query, a gateway): the archive must exist; never changes the schema
};

// A Database for `url`, not yet connected.
std::unique_ptr<Database> makeDatabase(const DatabaseUrl& url, OpenMode mode);

}  // namespace emwin::archive
