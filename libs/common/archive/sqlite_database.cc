// The SQLite backend of Database: one file in WAL mode (readers never block
// the writer), synchronous=FULL (a commit is on disk before the archive
// acknowledges its messages), prepared statements, an R*Tree of the events'
// polygon boxes for point queries. The one-writer rule is a lock file beside
// the database (<db>-archive.lock, flock).
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "archive/database.h"
#include "archive/detail/columns.h"

namespace emwin::archive {
namespace {

using detail::AlertColumns;

DatabaseError::Kind kindOf(int rc) {
  switch (rc & 0xFF) {
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return DatabaseError::Kind::kData;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
      return DatabaseError::Kind::kFatal;
    default:  // BUSY, LOCKED, FULL, IOERR, READONLY, CANTOPEN, NOMEM, PROTOCOL, ERROR ...: try again later
      return DatabaseError::Kind::kTransient;
  }
}

// The schema, one migration per version. Never edit a released step: add one.
struct Migration {
  int version;
  const char* name;
  const char* sql;
};

const Migration kMigrations[] = {
    {1, "initial schema", R"SQL(
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL, fd_unix_s INTEGER NOT NULL, sha256 TEXT NOT NULL,
  size_bytes INTEGER NOT NULL, path TEXT NOT NULL, ext TEXT NOT NULL, origin TEXT NOT NULL,
  archive_name TEXT NOT NULL, archive_sha256 TEXT NOT NULL, archive_entry TEXT NOT NULL,
  is_archive INTEGER NOT NULL, source TEXT NOT NULL, block_count INTEGER NOT NULL, raw_sha256 TEXT NOT NULL,
  first_segment_unix_us INTEGER NOT NULL, last_segment_unix_us INTEGER NOT NULL,
  producer TEXT NOT NULL, received_unix_s INTEGER NOT NULL,
  UNIQUE (name, fd_unix_s, sha256));
CREATE INDEX files_received ON files (received_unix_s);
CREATE INDEX files_fd ON files (fd_unix_s);
CREATE INDEX files_sha256 ON files (sha256);
CREATE TABLE alerts (
  id INTEGER PRIMARY KEY,
  source_id TEXT NOT NULL UNIQUE, event_key TEXT NOT NULL, topic TEXT NOT NULL,
  is_test INTEGER NOT NULL, tier INTEGER NOT NULL,
  office TEXT NOT NULL, office_code TEXT NOT NULL, phenomenon TEXT NOT NULL, significance TEXT NOT NULL,
  etn INTEGER NOT NULL, action TEXT NOT NULL, vtec TEXT NOT NULL, vtec_product_class TEXT NOT NULL,
  hvtec TEXT NOT NULL, awips_id TEXT NOT NULL, product_code TEXT NOT NULL,
  wmo_ttaaii TEXT NOT NULL, wmo_cccc TEXT NOT NULL, wmo_ddhhmm TEXT NOT NULL, wmo_bbb TEXT NOT NULL,
  event_name TEXT NOT NULL, headline TEXT NOT NULL, filename TEXT NOT NULL, file_sha256 TEXT NOT NULL,
  segment_index INTEGER NOT NULL,
  issued_unix_s INTEGER NOT NULL, begin_unix_s INTEGER NOT NULL, end_unix_s INTEGER NOT NULL,
  expires_unix_s INTEGER NOT NULL,
  ugc TEXT NOT NULL, polygon TEXT, polygon_wkt TEXT,
  min_lat REAL, max_lat REAL, min_lon REAL, max_lon REAL,
  motion TEXT, threats TEXT, emergency_tags TEXT NOT NULL,
  is_pds INTEGER NOT NULL, emergency_confirmed INTEGER NOT NULL, test_reason TEXT NOT NULL,
  message BLOB NOT NULL,
  received_unix_s INTEGER NOT NULL);
CREATE INDEX alerts_received ON alerts (received_unix_s);
CREATE INDEX alerts_issued ON alerts (issued_unix_s);
CREATE INDEX alerts_event ON alerts (event_key, issued_unix_s);
CREATE INDEX alerts_kind ON alerts (phenomenon, significance, office);
CREATE TABLE alert_ugc (ugc TEXT NOT NULL, alert_id INTEGER NOT NULL, PRIMARY KEY (ugc, alert_id)) WITHOUT ROWID;
CREATE INDEX alert_ugc_alert ON alert_ugc (alert_id);
CREATE TABLE events (
  key TEXT NOT NULL UNIQUE,
  office TEXT NOT NULL, phenomenon TEXT NOT NULL, significance TEXT NOT NULL, etn INTEGER NOT NULL,
  year INTEGER NOT NULL, event_name TEXT NOT NULL, tier INTEGER NOT NULL, last_action TEXT NOT NULL,
  first_issued_unix_s INTEGER NOT NULL, last_issued_unix_s INTEGER NOT NULL,
  has_polygon INTEGER NOT NULL, polygon_wkt TEXT,
  min_lat REAL, max_lat REAL, min_lon REAL, max_lon REAL,
  keep_until_unix_s INTEGER NOT NULL, updated_unix_s INTEGER NOT NULL,
  state TEXT NOT NULL, query_state TEXT NOT NULL);
CREATE INDEX events_keep ON events (keep_until_unix_s);
CREATE INDEX events_updated ON events (updated_unix_s);
CREATE VIRTUAL TABLE events_box USING rtree(id, min_lat, max_lat, min_lon, max_lon);
CREATE TABLE event_windows (
  event_key TEXT NOT NULL, ugc TEXT NOT NULL,
  begin_unix_s INTEGER NOT NULL, stop_unix_s INTEGER NOT NULL,
  lat REAL, lon REAL, has_polygon INTEGER NOT NULL);
CREATE INDEX event_windows_event ON event_windows (event_key);
CREATE INDEX event_windows_ugc ON event_windows (ugc, stop_unix_s);
CREATE INDEX event_windows_stop ON event_windows (stop_unix_s);
CREATE INDEX event_windows_point ON event_windows (lat, lon) WHERE has_polygon = 0;
)SQL"},
};

constexpr int kLatestVersion = 1;

// Values for Statement::bindAll beyond numbers and text.
struct Blob {
  const std::string& bytes;
};
struct TextOrNull {  // "" binds NULL
  const std::string& text;
};

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    const int rc = sqlite3_prepare_v3(db, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                      &stmt_, nullptr);
    if (rc != SQLITE_OK) {
      throw DatabaseError(kindOf(rc), fmt::format("sqlite: cannot prepare: {} ({})", sqlite3_errmsg(db), sql));
    }
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(Statement&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Statement& operator=(Statement&& o) noexcept {
    std::swap(db_, o.db_);
    std::swap(stmt_, o.stmt_);
    return *this;
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, std::int64_t v) { return check(sqlite3_bind_int64(stmt_, i, v)); }
  Statement& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Statement& bind(int i, std::uint64_t v) { return bind(i, static_cast<std::int64_t>(v)); }
  Statement& bind(int i, std::uint32_t v) { return bind(i, static_cast<std::int64_t>(v)); }
  Statement& bind(int i, bool v) { return bind(i, static_cast<std::int64_t>(v ? 1 : 0)); }
  Statement& bind(int i, double v) { return check(sqlite3_bind_double(stmt_, i, v)); }
  Statement& bind(int i, const std::string& v) {
    return check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Statement& bind(int i, const char* v) { return bind(i, std::string(v)); }
  Statement& bindBlob(int i, const std::string& v) {
    return check(sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Statement& bindNull(int i) { return check(sqlite3_bind_null(stmt_, i)); }
  Statement& bindTextOrNull(int i, const std::string& v) { return v.empty() ? bindNull(i) : bind(i, v); }
  Statement& bind(int i, const std::optional<double>& v) { return v ? bind(i, *v) : bindNull(i); }
  Statement& bind(int i, const Blob& v) { return bindBlob(i, v.bytes); }
  Statement& bind(int i, const TextOrNull& v) { return bindTextOrNull(i, v.text); }
  // Binds every value in order, from parameter 1.
  template <class... T>
  Statement& bindAll(const T&... values) {
    int i = 0;
    (bind(++i, values), ...);
    return *this;
  }

  // Steps once: true when a row is available.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    const std::string msg = sqlite3_errmsg(db_);
    sqlite3_reset(stmt_);
    throw DatabaseError(kindOf(rc), "sqlite: " + msg);
  }
  // Runs to completion.
  void run() {
    while (step()) {
    }
    reset();
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }
  bool isNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p == nullptr ? std::string() : std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  std::string blob(int col) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
    return p == nullptr ? std::string() : std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
  }

 private:
  Statement& check(int rc) {
    if (rc != SQLITE_OK) throw DatabaseError(kindOf(rc), std::string("sqlite: bind: ") + sqlite3_errmsg(db_));
    return *this;
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

const char* kAlertColumns =
    "id, source_id, event_key, topic, message, received_unix_s";

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(DatabaseUrl url, OpenMode mode) : url_(std::move(url)), mode_(mode) {}
  ~SqliteDatabase() override { close(); }

  void connect() override {
    close();
    if (mode_ == OpenMode::kRead) {
      std::error_code ec;
      if (!std::filesystem::exists(url_.path, ec)) {
        throw DatabaseError(DatabaseError::Kind::kFatal,
                            "no archive at " + url_.path + " (emwin-archive --db " + url_.display + " creates it)");
      }
    }
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (mode_ == OpenMode::kWrite ? SQLITE_OPEN_CREATE : 0);
    const int rc = sqlite3_open_v2(url_.path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      const std::string msg = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      close();
      throw DatabaseError(kindOf(rc) == DatabaseError::Kind::kTransient ? DatabaseError::Kind::kFatal : kindOf(rc),
                          "cannot open " + url_.path + ": " + msg);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, 10000);
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("PRAGMA temp_store=MEMORY");
    exec("PRAGMA cache_size=-16000");
    // A file that is not a database fails here (SQLITE_NOTADB), not at the first write.
    exec("SELECT count(*) FROM sqlite_schema");
    const int v = schemaVersion();
    if (mode_ == OpenMode::kRead && v == 0) {
      throw DatabaseError(DatabaseError::Kind::kFatal, url_.path + " is not an emwin archive (no schema)");
    }
    checkVersion(v);
    if (v > 0) prepare();
  }

  bool connected() const override { return db_ != nullptr; }

  void lockWriter() override {
    if (lock_fd_ >= 0) return;
    const std::string path = url_.path + "-archive.lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      throw DatabaseError(DatabaseError::Kind::kFatal, "cannot create " + path + ": " + std::strerror(errno));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      throw DatabaseError(DatabaseError::Kind::kFatal,
                          "another emwin-archive writes to " + url_.path + " (" + path + " is locked)");
    }
    lock_fd_ = fd;
  }

  int migrate(std::vector<std::string>& notes) override {
    exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
         "applied_unix_s INTEGER NOT NULL)");
    int version = schemaVersion();
    checkVersion(version);
    for (const Migration& m : kMigrations) {
      if (m.version <= version) continue;
      exec("BEGIN IMMEDIATE");
      try {
        execScript(m.sql);
        Statement s(db_, "INSERT INTO schema_migrations (version, name, applied_unix_s) VALUES (?, ?, unixepoch())");
        s.bind(1, m.version).bind(2, m.name).run();
        exec("COMMIT");
      } catch (...) {
        exec("ROLLBACK", true);
        throw;
      }
      notes.push_back(fmt::format("schema migration {} applied: {}", m.version, m.name));
      version = m.version;
    }
    prepare();
    return version;
  }

  int schemaVersion() override {
    Statement t(db_, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'");
    t.step();
    if (t.integer(0) == 0) return 0;
    Statement s(db_, "SELECT coalesce(max(version), 0) FROM schema_migrations");
    s.step();
    return static_cast<int>(s.integer(0));
  }

  bool spatial() const override { return false; }

  void begin() override { exec("BEGIN IMMEDIATE"); }
  void commit() override { exec("COMMIT"); }
  void rollback() noexcept override {
    if (db_ != nullptr && !sqlite3_get_autocommit(db_)) exec("ROLLBACK", true);
  }

  std::unordered_set<std::string> knownAlerts(const std::vector<std::string>& ids) override {
    std::unordered_set<std::string> out;
    for (const std::string& id : ids) {
      known_alert_.bind(1, id);
      if (known_alert_.step()) out.insert(id);
      known_alert_.reset();
    }
    return out;
  }

  std::unordered_set<std::string> knownFiles(const std::vector<const FileRecord*>& files) override {
    std::unordered_set<std::string> out;
    for (const FileRecord* f : files) {
      known_file_.bind(1, f->name).bind(2, f->fd_unix_s).bind(3, f->sha256);
      if (known_file_.step()) out.insert(fileKey(*f));
      known_file_.reset();
    }
    return out;
  }

  void insertFile(const FileRecord& f) override {
    insert_file_
        .bindAll(f.name, f.fd_unix_s, f.sha256, f.size_bytes, f.path, f.ext, f.origin, f.archive_name,
                 f.archive_sha256, f.archive_entry, f.is_archive, f.source, f.block_count, f.raw_sha256,
                 f.first_segment_unix_us, f.last_segment_unix_us, f.producer, f.received_unix_s)
        .run();
  }

  void insertAlert(const AlertRecord& r, const std::string& event_key) override {
    const AlertColumns c = detail::alertColumns(r);
    Statement& s = insert_alert_;
    const std::optional<double> none;
    const auto box = [&](double BoundingBox::*m) { return c.box ? std::optional<double>((*c.box).*m) : none; };
    s.bindAll(r.source_id, event_key, r.topic, c.is_test, c.tier, c.office, c.office_code, c.phenomenon,
              c.significance, c.etn, c.action, c.vtec, c.vtec_product_class, c.hvtec, c.awips_id, c.product_code,
              c.wmo_ttaaii, c.wmo_cccc, c.wmo_ddhhmm, c.wmo_bbb, c.event_name, c.headline, c.filename,
              c.file_sha256, c.segment_index, c.issued, c.begin, c.end, c.expires, c.ugc,
              TextOrNull{c.polygon_json}, TextOrNull{c.polygon_wkt}, box(&BoundingBox::min_lat),
              box(&BoundingBox::max_lat), box(&BoundingBox::min_lon), box(&BoundingBox::max_lon),
              TextOrNull{c.motion_json}, TextOrNull{c.threats_json}, c.emergency_tags_json, c.is_pds,
              c.emergency_confirmed, c.test_reason, Blob{c.message}, r.received_unix_s);
    std::int64_t id = 0;
    if (s.step()) id = s.integer(0);
    s.reset();
    if (id == 0) return;  // already stored
    for (const std::string& code : c.ugc_codes) {
      insert_ugc_.bind(1, code).bind(2, id);
      insert_ugc_.run();
    }
  }

  void upsertEvent(const EventRecord& r, std::int64_t updated) override {
    const alerts::Event& e = r.event;
    Statement& s = upsert_event_;
    const std::string wkt = r.has_polygon ? polygonWkt(e.polygon) : std::string();
    const std::optional<double> none;
    const auto box = [&](double BoundingBox::*m) { return r.box ? std::optional<double>((*r.box).*m) : none; };
    s.bindAll(e.key.str(), e.key.office, e.key.phenomenon, e.key.significance, e.key.etn, e.key.year,
              cleanText(e.event_name), static_cast<int>(e.tier), e.last_action, e.first_issued_unix_s,
              e.last_issued_unix_s, r.has_polygon, TextOrNull{wkt}, box(&BoundingBox::min_lat),
              box(&BoundingBox::max_lat), box(&BoundingBox::min_lon), box(&BoundingBox::max_lon),
              r.keep_until_unix_s, updated, r.state_json, r.query_json);
    if (!s.step()) {
      s.reset();
      throw DatabaseError(DatabaseError::Kind::kTransient, "sqlite: event upsert returned no row");
    }
    const std::int64_t rowid = s.integer(0);
    s.reset();
    delete_box_.bind(1, rowid);
    delete_box_.run();
    if (r.box) {
      insert_box_.bind(1, rowid).bind(2, r.box->min_lat).bind(3, r.box->max_lat).bind(4, r.box->min_lon);
      insert_box_.bind(5, r.box->max_lon);
      insert_box_.run();
    }
    const std::string key = e.key.str();
    delete_windows_.bind(1, key);
    delete_windows_.run();
    for (const WindowRow& w : r.windows) {
      insert_window_.bind(1, key).bind(2, w.ugc).bind(3, w.begin_unix_s).bind(4, w.stop_unix_s);
      insert_window_.bind(5, w.lat).bind(6, w.lon).bind(7, r.has_polygon);
      insert_window_.run();
    }
  }

  void setMeta(const std::string& name, const std::string& value) override {
    set_meta_.bind(1, name).bind(2, value);
    set_meta_.run();
  }

  PruneCounts deleteOlderThan(std::int64_t received_before, std::int64_t latest_issued) override {
    PruneCounts n;
    // Files.
    n.files = inChunks([&] {
      Statement s(db_, fmt::format("DELETE FROM files WHERE id IN (SELECT id FROM files WHERE received_unix_s < ? "
                                   "LIMIT {})",
                                   kPruneChunk));
      s.bind(1, received_before).run();
      return static_cast<std::uint64_t>(sqlite3_changes(db_));
    });
    // Alerts and their UGC rows.
    n.alerts = inChunks([&] {
      exec("CREATE TEMP TABLE IF NOT EXISTS doomed (id INTEGER PRIMARY KEY)");
      exec("DELETE FROM doomed");
      Statement pick(db_, fmt::format("INSERT INTO doomed SELECT id FROM alerts WHERE received_unix_s < ? LIMIT {}",
                                      kPruneChunk));
      pick.bind(1, received_before).run();
      const auto picked = static_cast<std::uint64_t>(sqlite3_changes(db_));
      exec("DELETE FROM alert_ugc WHERE alert_id IN (SELECT id FROM doomed)");
      exec("DELETE FROM alerts WHERE id IN (SELECT id FROM doomed)");
      return picked;
    });
    // Events the active state has dropped, last written before the cut.
    n.events = inChunks([&] {
      exec("CREATE TEMP TABLE IF NOT EXISTS doomed_events (rid INTEGER PRIMARY KEY, key TEXT NOT NULL)");
      exec("DELETE FROM doomed_events");
      Statement pick(db_, fmt::format("INSERT INTO doomed_events SELECT rowid, key FROM events WHERE updated_unix_s < ? "
                                      "AND keep_until_unix_s <= ? LIMIT {}",
                                      kPruneChunk));
      pick.bind(1, received_before).bind(2, latest_issued).run();
      const auto picked = static_cast<std::uint64_t>(sqlite3_changes(db_));
      exec("DELETE FROM event_windows WHERE event_key IN (SELECT key FROM doomed_events)");
      exec("DELETE FROM events_box WHERE id IN (SELECT rid FROM doomed_events)");
      exec("DELETE FROM events WHERE rowid IN (SELECT rid FROM doomed_events)");
      return picked;
    });
    return n;
  }

  // Rows removed per transaction when pruning (short transactions: writers are not held long).
  static constexpr std::uint64_t kPruneChunk = 5000;

  // Runs `chunk` in one transaction after another until one removes fewer than
  // kPruneChunk rows; returns the rows removed.
  template <typename Chunk>
  std::uint64_t inChunks(Chunk chunk) {
    std::uint64_t total = 0;
    for (;;) {
      exec("BEGIN IMMEDIATE");
      std::uint64_t removed = 0;
      try {
        removed = chunk();
        exec("COMMIT");
      } catch (...) {
        rollback();
        throw;
      }
      total += removed;
      if (removed < kPruneChunk) return total;
    }
  }

  std::optional<std::string> meta(const std::string& name) override {
    Statement s(db_, "SELECT value FROM meta WHERE name = ?");
    s.bind(1, name);
    if (!s.step()) return std::nullopt;
    return s.text(0);
  }

  std::vector<std::string> liveEventStates(std::int64_t latest_issued) override {
    Statement s(db_, "SELECT state FROM events WHERE keep_until_unix_s > ? ORDER BY key");
    s.bind(1, latest_issued);
    std::vector<std::string> out;
    while (s.step()) out.push_back(s.text(0));
    return out;
  }

  std::vector<std::string> candidateEvents(const ActiveQuery& q) override {
    Statement s(db_, candidateSql(q));
    bindCandidate(s, q);
    std::vector<std::string> out;
    while (s.step()) out.push_back(s.text(0));
    return out;
  }

  std::optional<std::string> eventState(const std::string& key) override {
    Statement s(db_, "SELECT state FROM events WHERE key = ?");
    s.bind(1, key);
    if (!s.step()) return std::nullopt;
    return s.text(0);
  }

  std::vector<AlertRecord> alerts(const AlertQuery& q) override {
    std::string where = "1 = 1";
    std::vector<std::string> args;
    std::vector<std::int64_t> ints;
    const std::string tcol = detail::alertTimeColumn(q.time);
    if (q.since_unix_s) where += " AND " + tcol + " >= ?" + std::to_string(bindInt(ints, *q.since_unix_s));
    if (q.until_unix_s) where += " AND " + tcol + " < ?" + std::to_string(bindInt(ints, *q.until_unix_s));
    auto text = [&](const std::string& v) {
      args.push_back(v);
      return "?" + std::to_string(100 + args.size());
    };
    if (!q.office.empty()) {
      const std::string p = text(q.office);
      where += " AND (office = " + p + " OR office_code = " + p + " OR wmo_cccc = " + p + ")";
    }
    if (!q.phenomenon.empty()) where += " AND phenomenon = " + text(q.phenomenon);
    if (!q.significance.empty()) where += " AND significance = " + text(q.significance);
    if (!q.event_key.empty()) where += " AND event_key = " + text(q.event_key);
    if (!q.awips_id.empty()) where += " AND awips_id = " + text(q.awips_id);
    if (!q.ugc.empty()) where += " AND id IN (SELECT alert_id FROM alert_ugc WHERE ugc = " + text(q.ugc) + ")";
    if (q.only_tests) {
      where += " AND is_test = 1";
    } else if (!q.include_tests) {
      where += " AND is_test = 0";
    }
    std::string sql = std::string("SELECT ") + kAlertColumns + " FROM alerts WHERE " + where + " ORDER BY " + tcol +
                      (q.oldest_first ? " ASC, id ASC" : " DESC, id DESC");
    if (q.limit > 0) sql += " LIMIT " + std::to_string(q.limit);
    Statement s(db_, sql);
    for (std::size_t k = 0; k < ints.size(); ++k) s.bind(static_cast<int>(k + 1), ints[k]);
    for (std::size_t k = 0; k < args.size(); ++k) s.bind(static_cast<int>(101 + k), args[k]);
    std::vector<AlertRecord> out;
    while (s.step()) out.push_back(alertRow(s));
    return out;
  }

  std::vector<AlertRecord> latestAlerts(const std::vector<std::string>& keys) override {
    Statement s(db_, std::string("SELECT ") + kAlertColumns +
                         " FROM alerts WHERE event_key = ? ORDER BY issued_unix_s DESC, id DESC LIMIT 1");
    std::vector<AlertRecord> out;
    for (const std::string& k : keys) {
      s.bind(1, k);
      if (s.step()) out.push_back(alertRow(s));
      s.reset();
    }
    return out;
  }

  std::vector<FileRecord> files(const FileQuery& q) override {
    std::string where = "1 = 1";
    std::vector<std::int64_t> ints;
    std::vector<std::string> args;
    const std::string tcol = detail::fileTimeColumn(q.time);
    if (q.since_unix_s) where += " AND " + tcol + " >= ?" + std::to_string(bindInt(ints, *q.since_unix_s));
    if (q.until_unix_s) where += " AND " + tcol + " < ?" + std::to_string(bindInt(ints, *q.until_unix_s));
    auto text = [&](const std::string& v) {
      args.push_back(v);
      return "?" + std::to_string(100 + args.size());
    };
    if (!q.name_glob.empty()) where += " AND name GLOB " + text(detail::globToSqliteGlob(q.name_glob));
    if (!q.ext.empty()) where += " AND ext = " + text(q.ext);
    if (!q.sha256.empty()) where += " AND sha256 GLOB " + text(detail::globToSqliteGlob(q.sha256) + "*");
    std::string sql = "SELECT id, name, fd_unix_s, sha256, size_bytes, path, ext, origin, archive_name, archive_sha256, "
                      "archive_entry, is_archive, source, block_count, raw_sha256, first_segment_unix_us, "
                      "last_segment_unix_us, producer, received_unix_s FROM files WHERE " +
                      where + " ORDER BY " + tcol + " DESC, id DESC";
    if (q.limit > 0) sql += " LIMIT " + std::to_string(q.limit);
    Statement s(db_, sql);
    for (std::size_t k = 0; k < ints.size(); ++k) s.bind(static_cast<int>(k + 1), ints[k]);
    for (std::size_t k = 0; k < args.size(); ++k) s.bind(static_cast<int>(101 + k), args[k]);
    std::vector<FileRecord> out;
    while (s.step()) {
      FileRecord f;
      int c = 0;
      f.id = s.integer(c++);
      f.name = s.text(c++);
      f.fd_unix_s = s.integer(c++);
      f.sha256 = s.text(c++);
      f.size_bytes = static_cast<std::uint64_t>(s.integer(c++));
      f.path = s.text(c++);
      f.ext = s.text(c++);
      f.origin = s.text(c++);
      f.archive_name = s.text(c++);
      f.archive_sha256 = s.text(c++);
      f.archive_entry = s.text(c++);
      f.is_archive = s.integer(c++) != 0;
      f.source = s.text(c++);
      f.block_count = static_cast<std::uint32_t>(s.integer(c++));
      f.raw_sha256 = s.text(c++);
      f.first_segment_unix_us = s.integer(c++);
      f.last_segment_unix_us = s.integer(c++);
      f.producer = s.text(c++);
      f.received_unix_s = s.integer(c++);
      out.push_back(std::move(f));
    }
    return out;
  }

  Counts counts() override {
    Counts c;
    auto one = [&](const char* sql) {
      Statement s(db_, sql);
      s.step();
      return static_cast<std::uint64_t>(s.integer(0));
    };
    c.files = one("SELECT count(*) FROM files");
    c.alerts = one("SELECT count(*) FROM alerts");
    c.test_alerts = one("SELECT count(*) FROM alerts WHERE is_test = 1");
    c.events = one("SELECT count(*) FROM events");
    c.windows = one("SELECT count(*) FROM event_windows");
    return c;
  }

  std::string explainPoint(const ActiveQuery& q) override {
    Statement s(db_, "EXPLAIN QUERY PLAN " + candidateSql(q));
    bindCandidate(s, q);
    std::string plan;
    while (s.step()) plan += s.text(3) + "\n";
    return plan;
  }

  const DatabaseUrl& url() const override { return url_; }

 private:
  static std::size_t bindInt(std::vector<std::int64_t>& ints, std::int64_t v) {
    ints.push_back(v);
    return ints.size();
  }

  static std::string timeCondition(const ActiveQuery& q, const char* w) {
    // ?1 = at. Pending windows (begin > at) have stop 0 or stop > begin > at.
    if (q.include_pending) return fmt::format("({0}.stop_unix_s = 0 OR {0}.stop_unix_s > ?1)", w);
    return fmt::format("{0}.begin_unix_s <= ?1 AND ({0}.stop_unix_s = 0 OR {0}.stop_unix_s > ?1)", w);
  }

  static std::string candidateSql(const ActiveQuery& q) {
    const std::string tw = timeCondition(q, "w");
    switch (q.where) {
      case Where::kAll:
        return "SELECT query_state FROM events WHERE key IN (SELECT w.event_key FROM event_windows w WHERE " + tw + ")";
      case Where::kUgc:
        return "SELECT query_state FROM events WHERE key IN (SELECT w.event_key FROM event_windows w WHERE "
               "w.ugc = ?2 AND " + tw + ")";
      case Where::kPoint:
        // ?2 lat, ?3 lon; ?4..?7 the distance box (lat min/max, lon min/max).
        return "SELECT e.query_state FROM events e WHERE e.rowid IN (SELECT id FROM events_box WHERE min_lat <= ?2 "
               "AND max_lat >= ?2 AND min_lon <= ?3 AND max_lon >= ?3) AND EXISTS (SELECT 1 FROM event_windows w "
               "WHERE w.event_key = e.key AND " + tw + ") "
               "UNION ALL SELECT e.query_state FROM events e WHERE e.has_polygon = 0 AND e.key IN (SELECT w.event_key "
               "FROM event_windows w WHERE w.has_polygon = 0 AND w.lat BETWEEN ?4 AND ?5 AND w.lon BETWEEN ?6 AND ?7 "
               "AND " + tw + ")";
    }
    return {};
  }

  static void bindCandidate(Statement& s, const ActiveQuery& q) {
    s.bind(1, q.at_unix_s);
    if (q.where == Where::kUgc) s.bind(2, q.ugc);
    if (q.where == Where::kPoint) {
      s.bind(2, q.lat).bind(3, q.lon);
      // distance <= 0: polygons only (an empty box).
      const BoundingBox b = q.distance_km > 0 ? detail::distanceBox(q.lat, q.lon, q.distance_km)
                                              : BoundingBox{1, -1, 1, -1};
      s.bind(4, b.min_lat).bind(5, b.max_lat).bind(6, b.min_lon).bind(7, b.max_lon);
    }
  }

  static AlertRecord alertRow(const Statement& s) {
    AlertRecord r;
    r.id = s.integer(0);
    r.source_id = s.text(1);
    r.event_key = s.text(2);
    r.topic = s.text(3);
    if (!r.alert.ParseFromString(s.blob(4))) r.alert.Clear();
    r.received_unix_s = s.integer(5);
    return r;
  }

  void checkVersion(int version) const {
    if (version > kLatestVersion) {
      throw DatabaseError(DatabaseError::Kind::kFatal,
                          fmt::format("{} has schema version {}, newer than this program's {}: upgrade emwin-bus",
                                      url_.path, version, kLatestVersion));
    }
  }

  void prepare() {
    insert_file_ = Statement(db_,
                             "INSERT INTO files (name, fd_unix_s, sha256, size_bytes, path, ext, origin, archive_name, "
                             "archive_sha256, archive_entry, is_archive, source, block_count, raw_sha256, "
                             "first_segment_unix_us, last_segment_unix_us, producer, received_unix_s) VALUES "
                             "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING");
    insert_alert_ = Statement(
        db_,
        "INSERT INTO alerts (source_id, event_key, topic, is_test, tier, office, office_code, phenomenon, "
        "significance, etn, action, vtec, vtec_product_class, hvtec, awips_id, product_code, wmo_ttaaii, wmo_cccc, "
        "wmo_ddhhmm, wmo_bbb, event_name, headline, filename, file_sha256, segment_index, issued_unix_s, "
        "begin_unix_s, end_unix_s, expires_unix_s, ugc, polygon, polygon_wkt, min_lat, max_lat, min_lon, max_lon, "
        "motion, threats, emergency_tags, is_pds, emergency_confirmed, test_reason, message, received_unix_s) VALUES "
        "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT (source_id) DO NOTHING RETURNING id");
    insert_ugc_ = Statement(db_, "INSERT OR IGNORE INTO alert_ugc (ugc, alert_id) VALUES (?, ?)");
    upsert_event_ = Statement(
        db_,
        "INSERT INTO events (key, office, phenomenon, significance, etn, year, event_name, tier, last_action, "
        "first_issued_unix_s, last_issued_unix_s, has_polygon, polygon_wkt, min_lat, max_lat, min_lon, max_lon, "
        "keep_until_unix_s, updated_unix_s, state, query_state) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT (key) DO UPDATE SET event_name = excluded.event_name, tier = excluded.tier, "
        "last_action = excluded.last_action, first_issued_unix_s = excluded.first_issued_unix_s, "
        "last_issued_unix_s = excluded.last_issued_unix_s, has_polygon = excluded.has_polygon, "
        "polygon_wkt = excluded.polygon_wkt, min_lat = excluded.min_lat, max_lat = excluded.max_lat, "
        "min_lon = excluded.min_lon, max_lon = excluded.max_lon, keep_until_unix_s = excluded.keep_until_unix_s, "
        "updated_unix_s = excluded.updated_unix_s, state = excluded.state, query_state = excluded.query_state "
        "RETURNING rowid");
    delete_box_ = Statement(db_, "DELETE FROM events_box WHERE id = ?");
    insert_box_ = Statement(db_, "INSERT INTO events_box (id, min_lat, max_lat, min_lon, max_lon) VALUES (?,?,?,?,?)");
    delete_windows_ = Statement(db_, "DELETE FROM event_windows WHERE event_key = ?");
    insert_window_ = Statement(db_,
                               "INSERT INTO event_windows (event_key, ugc, begin_unix_s, stop_unix_s, lat, lon, "
                               "has_polygon) VALUES (?,?,?,?,?,?,?)");
    set_meta_ = Statement(db_, "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET "
                               "value = excluded.value");
    known_alert_ = Statement(db_, "SELECT 1 FROM alerts WHERE source_id = ?");
    known_file_ = Statement(db_, "SELECT 1 FROM files WHERE name = ? AND fd_unix_s = ? AND sha256 = ?");
  }

  void exec(const std::string& sql, bool quiet = false) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      if (quiet) return;
      throw DatabaseError(kindOf(sqlite3_extended_errcode(db_)), "sqlite: " + msg + " (" + sql.substr(0, 80) + ")");
    }
  }
  void exec(const char* sql, bool quiet = false) { exec(std::string(sql), quiet); }
  void execScript(const char* sql) { exec(std::string(sql)); }

  void close() noexcept {
    insert_file_ = {};
    insert_alert_ = {};
    insert_ugc_ = {};
    upsert_event_ = {};
    delete_box_ = {};
    insert_box_ = {};
    delete_windows_ = {};
    insert_window_ = {};
    set_meta_ = {};
    known_alert_ = {};
    known_file_ = {};
    if (db_ != nullptr) {
      sqlite3_close_v2(db_);
      db_ = nullptr;
    }
    if (lock_fd_ >= 0) {
      ::close(lock_fd_);
      lock_fd_ = -1;
    }
  }

  DatabaseUrl url_;
  OpenMode mode_;
  sqlite3* db_ = nullptr;
  int lock_fd_ = -1;
  Statement insert_file_, insert_alert_, insert_ugc_, upsert_event_, delete_box_, insert_box_, delete_windows_,
      insert_window_, set_meta_, known_alert_, known_file_;
};

}  // namespace

std::unique_ptr<Database> makeSqliteDatabase(const DatabaseUrl& url, OpenMode mode) {
  return std::make_unique<SqliteDatabase>(url, mode);
}

}  // namespace emwin::archive
