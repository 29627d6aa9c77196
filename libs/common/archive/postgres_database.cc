// The PostgreSQL backend of Database (libpqxx). A write transaction is
// buffered as SQL text (every value quoted by libpq) and sent in one round
// trip at commit, so a batch of hundreds of rows costs three round trips
// (known-alert look-up, the batch, COMMIT), not one per row. With PostGIS
// (migration 2) polygons are geometry with GiST indexes and the point query
// is ST_Covers / ST_DWithin in SQL; without it (the extension missing, or no
// right to create it) polygons are kept as boxes, as in SQLite, with a
// warning. The one-writer rule is a session advisory lock.
#include <pqxx/pqxx>

#include <cmath>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "archive/database.h"
#include "archive/detail/columns.h"

namespace emwin::archive {
namespace {

using detail::AlertColumns;

constexpr long kWriterLockKey = 0x656d77696e617263;  // "emwinarc"
constexpr int kLatestVersion = 2;

struct Migration {
  int version;
  const char* name;
  const char* sql;
  bool postgis;  // needs the PostGIS extension (skipped with a warning when it cannot be created)
};

const Migration kMigrations[] = {
    {1, "initial schema", R"SQL(
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files (
  id BIGSERIAL PRIMARY KEY,
  name TEXT NOT NULL, fd_unix_s BIGINT NOT NULL, sha256 TEXT NOT NULL,
  size_bytes BIGINT NOT NULL, path TEXT NOT NULL, ext TEXT NOT NULL, origin TEXT NOT NULL,
  archive_name TEXT NOT NULL, archive_sha256 TEXT NOT NULL, archive_entry TEXT NOT NULL,
  is_archive SMALLINT NOT NULL, source TEXT NOT NULL, block_count BIGINT NOT NULL, raw_sha256 TEXT NOT NULL,
  first_segment_unix_us BIGINT NOT NULL, last_segment_unix_us BIGINT NOT NULL,
  producer TEXT NOT NULL, received_unix_s BIGINT NOT NULL,
  UNIQUE (name, fd_unix_s, sha256));
CREATE INDEX files_received ON files (received_unix_s);
CREATE INDEX files_fd ON files (fd_unix_s);
CREATE INDEX files_sha256 ON files (sha256 text_pattern_ops);
CREATE INDEX files_name ON files (name text_pattern_ops);
CREATE TABLE alerts (
  id BIGSERIAL PRIMARY KEY,
  source_id TEXT NOT NULL UNIQUE, event_key TEXT NOT NULL, topic TEXT NOT NULL,
  is_test SMALLINT NOT NULL, tier INTEGER NOT NULL,
  office TEXT NOT NULL, office_code TEXT NOT NULL, phenomenon TEXT NOT NULL, significance TEXT NOT NULL,
  etn BIGINT NOT NULL, action TEXT NOT NULL, vtec TEXT NOT NULL, vtec_product_class TEXT NOT NULL,
  hvtec TEXT NOT NULL, awips_id TEXT NOT NULL, product_code TEXT NOT NULL,
  wmo_ttaaii TEXT NOT NULL, wmo_cccc TEXT NOT NULL, wmo_ddhhmm TEXT NOT NULL, wmo_bbb TEXT NOT NULL,
  event_name TEXT NOT NULL, headline TEXT NOT NULL, filename TEXT NOT NULL, file_sha256 TEXT NOT NULL,
  segment_index BIGINT NOT NULL,
  issued_unix_s BIGINT NOT NULL, begin_unix_s BIGINT NOT NULL, end_unix_s BIGINT NOT NULL,
  expires_unix_s BIGINT NOT NULL,
  ugc TEXT NOT NULL, polygon TEXT, polygon_wkt TEXT,
  min_lat DOUBLE PRECISION, max_lat DOUBLE PRECISION, min_lon DOUBLE PRECISION, max_lon DOUBLE PRECISION,
  motion TEXT, threats TEXT, emergency_tags TEXT NOT NULL,
  is_pds SMALLINT NOT NULL, emergency_confirmed SMALLINT NOT NULL, test_reason TEXT NOT NULL,
  message BYTEA NOT NULL,
  received_unix_s BIGINT NOT NULL);
CREATE INDEX alerts_received ON alerts (received_unix_s);
CREATE INDEX alerts_issued ON alerts (issued_unix_s);
CREATE INDEX alerts_event ON alerts (event_key, issued_unix_s);
CREATE INDEX alerts_kind ON alerts (phenomenon, significance, office);
CREATE TABLE alert_ugc (ugc TEXT NOT NULL, alert_id BIGINT NOT NULL, PRIMARY KEY (ugc, alert_id));
CREATE INDEX alert_ugc_alert ON alert_ugc (alert_id);
CREATE TABLE events (
  key TEXT PRIMARY KEY,
  office TEXT NOT NULL, phenomenon TEXT NOT NULL, significance TEXT NOT NULL, etn BIGINT NOT NULL,
  year INTEGER NOT NULL, event_name TEXT NOT NULL, tier INTEGER NOT NULL, last_action TEXT NOT NULL,
  first_issued_unix_s BIGINT NOT NULL, last_issued_unix_s BIGINT NOT NULL,
  has_polygon SMALLINT NOT NULL, polygon_wkt TEXT,
  min_lat DOUBLE PRECISION, max_lat DOUBLE PRECISION, min_lon DOUBLE PRECISION, max_lon DOUBLE PRECISION,
  keep_until_unix_s BIGINT NOT NULL, updated_unix_s BIGINT NOT NULL,
  state TEXT NOT NULL, query_state TEXT NOT NULL);
CREATE INDEX events_keep ON events (keep_until_unix_s);
CREATE INDEX events_updated ON events (updated_unix_s);
CREATE INDEX events_box ON events (min_lat, max_lat) WHERE has_polygon = 1;
CREATE TABLE event_windows (
  event_key TEXT NOT NULL, ugc TEXT NOT NULL,
  begin_unix_s BIGINT NOT NULL, stop_unix_s BIGINT NOT NULL,
  lat DOUBLE PRECISION, lon DOUBLE PRECISION, has_polygon SMALLINT NOT NULL);
CREATE INDEX event_windows_event ON event_windows (event_key);
CREATE INDEX event_windows_ugc ON event_windows (ugc, stop_unix_s);
CREATE INDEX event_windows_stop ON event_windows (stop_unix_s);
CREATE INDEX event_windows_point ON event_windows (lat, lon) WHERE has_polygon = 0;
)SQL",
     false},
    {2, "PostGIS geometry with GiST indexes", R"SQL(
ALTER TABLE alerts ADD COLUMN geom geometry(Geometry, 4326);
UPDATE alerts SET geom = ST_MakeValid(ST_GeomFromText(polygon_wkt, 4326)) WHERE polygon_wkt IS NOT NULL;
CREATE INDEX alerts_geom ON alerts USING GIST (geom);
ALTER TABLE events ADD COLUMN geom geometry(Geometry, 4326);
UPDATE events SET geom = ST_MakeValid(ST_GeomFromText(polygon_wkt, 4326)) WHERE polygon_wkt IS NOT NULL;
CREATE INDEX events_geom ON events USING GIST (geom);
ALTER TABLE event_windows ADD COLUMN centroid geography(Point, 4326);
UPDATE event_windows SET centroid = ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography WHERE lat IS NOT NULL;
CREATE INDEX event_windows_centroid ON event_windows USING GIST (centroid) WHERE has_polygon = 0;
)SQL",
     true},
};

DatabaseError::Kind kindOfState(const std::string& sqlstate) {
  const std::string cls = sqlstate.substr(0, 2);
  if (cls == "22" || cls == "23") return DatabaseError::Kind::kData;
  return DatabaseError::Kind::kTransient;  // 08 connection, 53 resources (disk full), 57 shutdown, 40 rollback, ...
}

std::string num(double v) { return std::isfinite(v) ? fmt::format("{}", v) : std::string("NULL"); }
std::string num(const std::optional<double>& v) { return v ? num(*v) : std::string("NULL"); }

// "a,b,c".
std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += ',';
    out += p;
  }
  return out;
}

std::string boxValues(const std::optional<BoundingBox>& b) {
  if (!b) return "NULL,NULL,NULL,NULL";
  return join({num(b->min_lat), num(b->max_lat), num(b->min_lon), num(b->max_lon)});
}

class PostgresDatabase final : public Database {
 public:
  PostgresDatabase(DatabaseUrl url, OpenMode mode) : url_(std::move(url)), mode_(mode) {}
  ~PostgresDatabase() override { close(); }

  void connect() override {
    close();
    guard([&] {
      conn_ = std::make_unique<pqxx::connection>(url_.conninfo);
      pqxx::nontransaction n(*conn_);
      n.exec("SET statement_timeout = '120s'");
      n.exec("SET client_min_messages = warning");
    });
    backend_pid_ = conn_->backendpid();
    const int v = schemaVersion();  // also learns whether PostGIS is in use
    if (mode_ == OpenMode::kRead && v == 0) {
      throw DatabaseError(DatabaseError::Kind::kFatal, url_.display + " is not an emwin archive (no schema)");
    }
    checkVersion(v);
  }

  bool connected() const override { return conn_ != nullptr && conn_->is_open(); }

  void lockWriter() override {
    bool got = false;
    guard([&] {
      pqxx::nontransaction n(*conn_);
      got = n.exec1(fmt::format("SELECT pg_try_advisory_lock({})", kWriterLockKey))[0].as<bool>();
    });
    if (!got) {
      throw DatabaseError(DatabaseError::Kind::kTransient,
                          "another emwin-archive writes to " + url_.display + " (its advisory lock is held)");
    }
    locked_pid_ = backend_pid_;
  }

  int migrate(std::vector<std::string>& notes) override {
    int version = 0;
    guard([&] {
      {
        pqxx::work w(*conn_);
        w.exec(fmt::format("SELECT pg_advisory_xact_lock({})", kWriterLockKey + 1));
        w.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
               "applied_unix_s BIGINT NOT NULL)");
        w.commit();
      }
      std::set<int> applied = appliedVersions();
      const int newest = applied.empty() ? 0 : *applied.rbegin();
      checkVersion(newest);
      for (const Migration& m : kMigrations) {
        if (applied.count(m.version) != 0) continue;
        if (m.postgis && !ensurePostgis(notes)) continue;
        pqxx::work w(*conn_);
        w.exec(fmt::format("SELECT pg_advisory_xact_lock({})", kWriterLockKey + 1));
        if (!w.exec(fmt::format("SELECT 1 FROM schema_migrations WHERE version = {}", m.version)).empty()) continue;
        w.exec(m.sql);
        w.exec(fmt::format("INSERT INTO schema_migrations (version, name, applied_unix_s) VALUES ({}, {}, "
                           "extract(epoch FROM now())::bigint)",
                           m.version, w.quote(std::string(m.name))));
        w.commit();
        notes.push_back(fmt::format("schema migration {} applied: {}", m.version, m.name));
      }
      applied = appliedVersions();
      version = applied.empty() ? 0 : *applied.rbegin();
      spatial_ = applied.count(2) != 0;
    });
    return version;
  }

  int schemaVersion() override {
    int v = 0;
    guard([&] {
      const std::set<int> applied = appliedVersions();
      v = applied.empty() ? 0 : *applied.rbegin();
      spatial_ = applied.count(2) != 0;
    });
    return v;
  }

  bool spatial() const override { return spatial_; }

  void begin() override {
    guard([&] {
      work_.reset();
      work_ = std::make_unique<pqxx::work>(*conn_);
    });
    if (locked_pid_ != 0 && conn_->backendpid() != locked_pid_) {
      // libpq reconnected behind our back: the session (and its writer lock) is new.
      work_.reset();
      conn_.reset();
      throw DatabaseError(DatabaseError::Kind::kTransient, "the connection to " + url_.display + " was re-established");
    }
    buffer_.clear();
  }

  void commit() override {
    guard([&] {
      if (!buffer_.empty()) work_->exec(buffer_);
      work_->commit();
    });
    work_.reset();
    buffer_.clear();
  }

  void rollback() noexcept override {
    try {
      work_.reset();  // aborts
    } catch (...) {
    }
    buffer_.clear();
  }

  std::unordered_set<std::string> knownAlerts(const std::vector<std::string>& ids) override {
    std::unordered_set<std::string> out;
    if (ids.empty()) return out;
    std::string list;
    for (const auto& id : ids) list += (list.empty() ? "" : ",") + work_->quote(id);
    guard([&] {
      for (const auto& row : work_->exec("SELECT source_id FROM alerts WHERE source_id IN (" + list + ")")) {
        out.insert(row[0].as<std::string>());
      }
    });
    return out;
  }

  std::unordered_set<std::string> knownFiles(const std::vector<const FileRecord*>& files) override {
    std::unordered_set<std::string> out;
    if (files.empty()) return out;
    std::string list;
    for (const FileRecord* f : files) {
      list += fmt::format("{}({},{},{})", list.empty() ? "" : ",", work_->quote(f->name), f->fd_unix_s,
                          work_->quote(f->sha256));
    }
    guard([&] {
      for (const auto& row : work_->exec("SELECT name, fd_unix_s, sha256 FROM files WHERE (name, fd_unix_s, sha256) IN (" +
                                         list + ")")) {
        FileRecord k;
        k.name = row[0].as<std::string>();
        k.fd_unix_s = row[1].as<std::int64_t>();
        k.sha256 = row[2].as<std::string>();
        out.insert(fileKey(k));
      }
    });
    return out;
  }

  void insertFile(const FileRecord& f) override {
    auto q = [&](const std::string& v) { return work_->quote(v); };
    auto n = [](auto v) { return std::to_string(v); };
    buffer_ += "INSERT INTO files (name, fd_unix_s, sha256, size_bytes, path, ext, origin, archive_name, "
               "archive_sha256, archive_entry, is_archive, source, block_count, raw_sha256, first_segment_unix_us, "
               "last_segment_unix_us, producer, received_unix_s) VALUES (" +
               join({q(f.name), n(f.fd_unix_s), q(f.sha256), n(f.size_bytes), q(f.path), q(f.ext), q(f.origin),
                     q(f.archive_name), q(f.archive_sha256), q(f.archive_entry), n(f.is_archive ? 1 : 0), q(f.source),
                     n(f.block_count), q(f.raw_sha256), n(f.first_segment_unix_us), n(f.last_segment_unix_us),
                     q(f.producer), n(f.received_unix_s)}) +
               ") ON CONFLICT DO NOTHING;\n";
  }

  void insertAlert(const AlertRecord& r, const std::string& event_key) override {
    const AlertColumns c = detail::alertColumns(r);
    auto q = [&](const std::string& v) { return work_->quote(v); };
    auto qn = [&](const std::string& v) { return v.empty() ? std::string("NULL") : work_->quote(v); };
    auto n = [](auto v) { return std::to_string(v); };
    std::vector<std::string> ugcs;
    for (const auto& u : c.ugc_codes) ugcs.push_back(q(u));
    const bool geom = spatial_ && !c.polygon_wkt.empty();
    std::vector<std::string> values = {
        q(r.source_id), q(event_key), q(r.topic), n(c.is_test ? 1 : 0), n(c.tier), q(c.office), q(c.office_code),
        q(c.phenomenon), q(c.significance), n(c.etn), q(c.action), q(c.vtec), q(c.vtec_product_class), q(c.hvtec),
        q(c.awips_id), q(c.product_code), q(c.wmo_ttaaii), q(c.wmo_cccc), q(c.wmo_ddhhmm), q(c.wmo_bbb),
        q(c.event_name), q(c.headline), q(c.filename), q(c.file_sha256), n(c.segment_index), n(c.issued),
        n(c.begin), n(c.end), n(c.expires), q(c.ugc), qn(c.polygon_json), qn(c.polygon_wkt), boxValues(c.box),
        qn(c.motion_json), qn(c.threats_json), q(c.emergency_tags_json), n(c.is_pds ? 1 : 0),
        n(c.emergency_confirmed ? 1 : 0), q(c.test_reason),
        work_->quote_raw(reinterpret_cast<const unsigned char*>(c.message.data()), c.message.size()),
        n(r.received_unix_s)};
    if (geom) values.push_back("ST_MakeValid(ST_GeomFromText(" + q(c.polygon_wkt) + ", 4326))");
    buffer_ += std::string(
                   "WITH a AS (INSERT INTO alerts (source_id, event_key, topic, is_test, tier, office, office_code, "
                   "phenomenon, significance, etn, action, vtec, vtec_product_class, hvtec, awips_id, product_code, "
                   "wmo_ttaaii, wmo_cccc, wmo_ddhhmm, wmo_bbb, event_name, headline, filename, file_sha256, "
                   "segment_index, issued_unix_s, begin_unix_s, end_unix_s, expires_unix_s, ugc, polygon, "
                   "polygon_wkt, min_lat, max_lat, min_lon, max_lon, motion, threats, emergency_tags, is_pds, "
                   "emergency_confirmed, test_reason, message, received_unix_s") +
               (geom ? ", geom" : "") + ") VALUES (" + join(values) +
               ") ON CONFLICT (source_id) DO NOTHING RETURNING id) INSERT INTO alert_ugc (ugc, alert_id) SELECT u, "
               "a.id FROM a, unnest(ARRAY[" + join(ugcs) + "]::text[]) AS u ON CONFLICT DO NOTHING;\n";
  }

  void upsertEvent(const EventRecord& r, std::int64_t updated) override {
    const alerts::Event& e = r.event;
    auto q = [&](const std::string& v) { return work_->quote(v); };
    auto n = [](auto v) { return std::to_string(v); };
    const std::string key = q(e.key.str());
    const std::string wkt = r.has_polygon ? polygonWkt(e.polygon) : std::string();
    std::vector<std::string> values = {
        key, q(e.key.office), q(e.key.phenomenon), q(e.key.significance), n(e.key.etn), n(e.key.year),
        q(cleanText(e.event_name)), n(static_cast<int>(e.tier)), q(e.last_action), n(e.first_issued_unix_s),
        n(e.last_issued_unix_s), n(r.has_polygon ? 1 : 0), wkt.empty() ? std::string("NULL") : q(wkt),
        boxValues(r.box), n(r.keep_until_unix_s), n(updated), q(r.state_json), q(r.query_json)};
    if (spatial_) values.push_back(wkt.empty() ? std::string("NULL") : "ST_MakeValid(ST_GeomFromText(" + q(wkt) + ", 4326))");
    buffer_ += std::string(
                   "INSERT INTO events (key, office, phenomenon, significance, etn, year, event_name, tier, "
                   "last_action, first_issued_unix_s, last_issued_unix_s, has_polygon, polygon_wkt, min_lat, "
                   "max_lat, min_lon, max_lon, keep_until_unix_s, updated_unix_s, state, query_state") +
               (spatial_ ? ", geom" : "") + ") VALUES (" + join(values) +
               ") ON CONFLICT (key) DO UPDATE SET event_name = excluded.event_name, tier = excluded.tier, "
               "last_action = excluded.last_action, first_issued_unix_s = excluded.first_issued_unix_s, "
               "last_issued_unix_s = excluded.last_issued_unix_s, has_polygon = excluded.has_polygon, "
               "polygon_wkt = excluded.polygon_wkt, min_lat = excluded.min_lat, max_lat = excluded.max_lat, "
               "min_lon = excluded.min_lon, max_lon = excluded.max_lon, keep_until_unix_s = "
               "excluded.keep_until_unix_s, updated_unix_s = excluded.updated_unix_s, state = excluded.state, "
               "query_state = excluded.query_state" +
               (spatial_ ? ", geom = excluded.geom" : "") + ";\n";
    buffer_ += "DELETE FROM event_windows WHERE event_key = " + key + ";\n";
    if (r.windows.empty()) return;
    std::vector<std::string> rows;
    for (const WindowRow& w : r.windows) {
      std::vector<std::string> v = {key, q(w.ugc), n(w.begin_unix_s), n(w.stop_unix_s), num(w.lat), num(w.lon),
                                    n(r.has_polygon ? 1 : 0)};
      if (spatial_) {
        v.push_back(w.lat && w.lon && std::isfinite(*w.lat) && std::isfinite(*w.lon)
                        ? "ST_SetSRID(ST_MakePoint(" + num(*w.lon) + "," + num(*w.lat) + "),4326)::geography"
                        : std::string("NULL"));
      }
      rows.push_back("(" + join(v) + ")");
    }
    buffer_ += std::string("INSERT INTO event_windows (event_key, ugc, begin_unix_s, stop_unix_s, lat, lon, has_polygon") +
               (spatial_ ? ", centroid" : "") + ") VALUES " + join(rows) + ";\n";
  }

  void setMeta(const std::string& name, const std::string& value) override {
    buffer_ += fmt::format("INSERT INTO meta (name, value) VALUES ({}, {}) ON CONFLICT (name) DO UPDATE SET value = "
                           "excluded.value;\n",
                           work_->quote(name), work_->quote(value));
  }

  PruneCounts deleteOlderThan(std::int64_t received_before, std::int64_t latest_issued) override {
    PruneCounts n;
    constexpr int kChunk = 5000;
    auto chunks = [&](const std::string& sql) {
      std::uint64_t total = 0;
      for (;;) {
        std::uint64_t done = 0;
        guard([&] {
          pqxx::work w(*conn_);
          done = static_cast<std::uint64_t>(w.exec(sql).affected_rows());
          w.commit();
        });
        total += done;
        if (done < static_cast<std::uint64_t>(kChunk)) return total;
      }
    };
    n.files = chunks(fmt::format("DELETE FROM files WHERE id IN (SELECT id FROM files WHERE received_unix_s < {} "
                                 "LIMIT {})",
                                 received_before, kChunk));
    n.alerts = chunks(fmt::format(
        "WITH d AS (DELETE FROM alerts WHERE id IN (SELECT id FROM alerts WHERE received_unix_s < {} LIMIT {}) "
        "RETURNING id), u AS (DELETE FROM alert_ugc WHERE alert_id IN (SELECT id FROM d)) SELECT id FROM d",
        received_before, kChunk));
    n.events = chunks(fmt::format(
        "WITH d AS (DELETE FROM events WHERE key IN (SELECT key FROM events WHERE updated_unix_s < {} AND "
        "keep_until_unix_s <= {} LIMIT {}) RETURNING key), w AS (DELETE FROM event_windows WHERE event_key IN "
        "(SELECT key FROM d)) SELECT key FROM d",
        received_before, latest_issued, kChunk));
    return n;
  }

  std::optional<std::string> meta(const std::string& name) override {
    std::optional<std::string> out;
    read([&](pqxx::transaction_base& t) {
      const auto r = t.exec("SELECT value FROM meta WHERE name = " + t.quote(name));
      if (!r.empty()) out = r[0][0].as<std::string>();
    });
    return out;
  }

  std::vector<std::string> liveEventStates(std::int64_t latest_issued) override {
    std::vector<std::string> out;
    read([&](pqxx::transaction_base& t) {
      for (const auto& row : t.exec(fmt::format("SELECT state FROM events WHERE keep_until_unix_s > {} ORDER BY key",
                                                latest_issued))) {
        out.push_back(row[0].as<std::string>());
      }
    });
    return out;
  }

  std::vector<std::string> candidateEvents(const ActiveQuery& query) override {
    std::vector<std::string> out;
    read([&](pqxx::transaction_base& t) {
      for (const auto& row : t.exec(candidateSql(t, query))) out.push_back(row[0].as<std::string>());
    });
    return out;
  }

  std::optional<std::string> eventState(const std::string& key) override {
    std::optional<std::string> out;
    read([&](pqxx::transaction_base& t) {
      const auto r = t.exec("SELECT state FROM events WHERE key = " + t.quote(key));
      if (!r.empty()) out = r[0][0].as<std::string>();
    });
    return out;
  }

  std::vector<AlertRecord> alerts(const AlertQuery& q) override {
    std::vector<AlertRecord> out;
    read([&](pqxx::transaction_base& t) {
      const std::string tcol = detail::alertTimeColumn(q.time);
      std::string where = "TRUE";
      if (q.since_unix_s) where += fmt::format(" AND {} >= {}", tcol, *q.since_unix_s);
      if (q.until_unix_s) where += fmt::format(" AND {} < {}", tcol, *q.until_unix_s);
      if (!q.office.empty()) {
        const std::string o = t.quote(q.office);
        where += " AND (office = " + o + " OR office_code = " + o + " OR wmo_cccc = " + o + ")";
      }
      if (!q.phenomenon.empty()) where += " AND phenomenon = " + t.quote(q.phenomenon);
      if (!q.significance.empty()) where += " AND significance = " + t.quote(q.significance);
      if (!q.event_key.empty()) where += " AND event_key = " + t.quote(q.event_key);
      if (!q.awips_id.empty()) where += " AND awips_id = " + t.quote(q.awips_id);
      if (!q.ugc.empty()) where += " AND id IN (SELECT alert_id FROM alert_ugc WHERE ugc = " + t.quote(q.ugc) + ")";
      if (q.only_tests) {
        where += " AND is_test = 1";
      } else if (!q.include_tests) {
        where += " AND is_test = 0";
      }
      std::string sql = "SELECT id, source_id, event_key, topic, message, received_unix_s FROM alerts WHERE " + where +
                        " ORDER BY " + tcol + (q.oldest_first ? " ASC, id ASC" : " DESC, id DESC");
      if (q.limit > 0) sql += fmt::format(" LIMIT {}", q.limit);
      for (const auto& row : t.exec(sql)) out.push_back(alertRow(row));
    });
    return out;
  }

  std::vector<AlertRecord> latestAlerts(const std::vector<std::string>& keys) override {
    std::vector<AlertRecord> out;
    if (keys.empty()) return out;
    read([&](pqxx::transaction_base& t) {
      std::string list;
      for (const auto& k : keys) list += (list.empty() ? "" : ",") + t.quote(k);
      const std::string sql =
          "SELECT DISTINCT ON (event_key) id, source_id, event_key, topic, message, received_unix_s FROM alerts "
          "WHERE event_key IN (" + list + ") ORDER BY event_key, issued_unix_s DESC, id DESC";
      std::unordered_map<std::string, AlertRecord> by_key;
      for (const auto& row : t.exec(sql)) {
        AlertRecord r = alertRow(row);
        by_key.emplace(r.event_key, std::move(r));
      }
      for (const auto& k : keys) {
        auto it = by_key.find(k);
        if (it != by_key.end()) out.push_back(std::move(it->second));
      }
    });
    return out;
  }

  std::vector<FileRecord> files(const FileQuery& q) override {
    std::vector<FileRecord> out;
    read([&](pqxx::transaction_base& t) {
      const std::string tcol = detail::fileTimeColumn(q.time);
      std::string where = "TRUE";
      if (q.since_unix_s) where += fmt::format(" AND {} >= {}", tcol, *q.since_unix_s);
      if (q.until_unix_s) where += fmt::format(" AND {} < {}", tcol, *q.until_unix_s);
      if (!q.name_glob.empty()) where += " AND name LIKE " + t.quote(detail::globToLike(q.name_glob)) + " ESCAPE '\\'";
      if (!q.ext.empty()) where += " AND ext = " + t.quote(q.ext);
      if (!q.sha256.empty()) where += " AND sha256 LIKE " + t.quote(detail::globToLike(q.sha256) + "%") + " ESCAPE '\\'";
      std::string sql = "SELECT id, name, fd_unix_s, sha256, size_bytes, path, ext, origin, archive_name, "
                        "archive_sha256, archive_entry, is_archive, source, block_count, raw_sha256, "
                        "first_segment_unix_us, last_segment_unix_us, producer, received_unix_s FROM files WHERE " +
                        where + " ORDER BY " + tcol + " DESC, id DESC";
      if (q.limit > 0) sql += fmt::format(" LIMIT {}", q.limit);
      for (const auto& row : t.exec(sql)) {
        FileRecord f;
        int c = 0;
        f.id = row[c++].as<std::int64_t>();
        f.name = row[c++].as<std::string>();
        f.fd_unix_s = row[c++].as<std::int64_t>();
        f.sha256 = row[c++].as<std::string>();
        f.size_bytes = row[c++].as<std::uint64_t>();
        f.path = row[c++].as<std::string>();
        f.ext = row[c++].as<std::string>();
        f.origin = row[c++].as<std::string>();
        f.archive_name = row[c++].as<std::string>();
        f.archive_sha256 = row[c++].as<std::string>();
        f.archive_entry = row[c++].as<std::string>();
        f.is_archive = row[c++].as<int>() != 0;
        f.source = row[c++].as<std::string>();
        f.block_count = row[c++].as<std::uint32_t>();
        f.raw_sha256 = row[c++].as<std::string>();
        f.first_segment_unix_us = row[c++].as<std::int64_t>();
        f.last_segment_unix_us = row[c++].as<std::int64_t>();
        f.producer = row[c++].as<std::string>();
        f.received_unix_s = row[c++].as<std::int64_t>();
        out.push_back(std::move(f));
      }
    });
    return out;
  }

  Counts counts() override {
    Counts c;
    read([&](pqxx::transaction_base& t) {
      const auto r = t.exec1(
          "SELECT (SELECT count(*) FROM files), (SELECT count(*) FROM alerts), (SELECT count(*) FROM alerts WHERE "
          "is_test = 1), (SELECT count(*) FROM events), (SELECT count(*) FROM event_windows)");
      c.files = r[0].as<std::uint64_t>();
      c.alerts = r[1].as<std::uint64_t>();
      c.test_alerts = r[2].as<std::uint64_t>();
      c.events = r[3].as<std::uint64_t>();
      c.windows = r[4].as<std::uint64_t>();
    });
    return c;
  }

  std::string explainPoint(const ActiveQuery& query) override {
    std::string plan;
    read([&](pqxx::transaction_base& t) {
      for (const auto& row : t.exec("EXPLAIN " + candidateSql(t, query))) plan += row[0].as<std::string>() + "\n";
    });
    return plan;
  }

  const DatabaseUrl& url() const override { return url_; }

 private:
  // Runs `f`, turning libpqxx errors into DatabaseError (and dropping a broken connection).
  template <class F>
  void guard(F&& f) {
    try {
      f();
    } catch (const pqxx::broken_connection& e) {
      work_.reset();
      conn_.reset();
      throw DatabaseError(DatabaseError::Kind::kTransient, "postgresql " + url_.display + ": " + oneLine(e.what()));
    } catch (const pqxx::sql_error& e) {
      work_.reset();
      const auto kind = kindOfState(e.sqlstate());
      if (e.sqlstate().rfind("08", 0) == 0 || e.sqlstate().rfind("57", 0) == 0) conn_.reset();
      throw DatabaseError(kind, "postgresql " + url_.display + ": " + oneLine(e.what()) + " [" + e.sqlstate() + "]");
    } catch (const pqxx::in_doubt_error& e) {
      work_.reset();
      conn_.reset();
      throw DatabaseError(DatabaseError::Kind::kTransient,
                          "postgresql " + url_.display + ": commit outcome unknown: " + oneLine(e.what()));
    } catch (const DatabaseError&) {
      throw;
    } catch (const std::exception& e) {
      work_.reset();
      if (conn_ && !conn_->is_open()) conn_.reset();
      throw DatabaseError(DatabaseError::Kind::kTransient, "postgresql " + url_.display + ": " + oneLine(e.what()));
    }
  }

  template <class F>
  void read(F&& f) {
    if (!conn_) connect();
    guard([&] {
      pqxx::read_transaction t(*conn_);
      f(t);
    });
  }

  static std::string oneLine(std::string s) {
    for (char& c : s) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
  }

  std::set<int> appliedVersions() {
    std::set<int> out;
    pqxx::nontransaction n(*conn_);
    if (n.exec("SELECT to_regclass('schema_migrations')")[0][0].is_null()) return out;
    for (const auto& row : n.exec("SELECT version FROM schema_migrations")) out.insert(row[0].as<int>());
    return out;
  }

  // Creates the PostGIS extension if it is not there; false (and a note) when it cannot.
  bool ensurePostgis(std::vector<std::string>& notes) {
    {
      pqxx::nontransaction n(*conn_);
      if (!n.exec("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").empty()) return true;
      if (n.exec("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").empty()) {
        notes.push_back("warning: PostGIS is not installed on the server (Debian: postgresql-15-postgis-3): "
                        "polygons are kept as boxes and point queries test them in C++");
        return false;
      }
    }
    try {
      pqxx::work w(*conn_);
      w.exec("CREATE EXTENSION IF NOT EXISTS postgis");
      w.commit();
      notes.push_back("PostGIS extension created");
      return true;
    } catch (const pqxx::sql_error& e) {
      notes.push_back("warning: cannot create the PostGIS extension (" + oneLine(e.what()) +
                      "; a superuser can run CREATE EXTENSION postgis in this database): polygons are kept as boxes "
                      "and point queries test them in C++");
      return false;
    }
  }

  void checkVersion(int version) const {
    if (version > kLatestVersion) {
      throw DatabaseError(DatabaseError::Kind::kFatal,
                          fmt::format("{} has schema version {}, newer than this program's {}: upgrade emwin-bus",
                                      url_.display, version, kLatestVersion));
    }
  }

  std::string timeCondition(const ActiveQuery& q, const char* w) const {
    if (q.include_pending) return fmt::format("({0}.stop_unix_s = 0 OR {0}.stop_unix_s > {1})", w, q.at_unix_s);
    return fmt::format("{0}.begin_unix_s <= {1} AND ({0}.stop_unix_s = 0 OR {0}.stop_unix_s > {1})", w, q.at_unix_s);
  }

  std::string candidateSql(pqxx::transaction_base& t, const ActiveQuery& q) const {
    const std::string tw = timeCondition(q, "w");
    switch (q.where) {
      case Where::kAll:
        return "SELECT query_state FROM events WHERE key IN (SELECT w.event_key FROM event_windows w WHERE " + tw + ")";
      case Where::kUgc:
        return "SELECT query_state FROM events WHERE key IN (SELECT w.event_key FROM event_windows w WHERE w.ugc = " +
               t.quote(q.ugc) + " AND " + tw + ")";
      case Where::kPoint:
        break;
    }
    const std::string lat = num(q.lat);
    const std::string lon = num(q.lon);
    std::string polygons;
    std::string centroids;
    if (spatial_) {
      const std::string point = fmt::format("ST_SetSRID(ST_MakePoint({}, {}), 4326)", lon, lat);
      polygons = "SELECT e.key FROM events e WHERE e.geom IS NOT NULL AND ST_Covers(e.geom, " + point +
                 ") AND EXISTS (SELECT 1 FROM event_windows w WHERE w.event_key = e.key AND " + tw + ")";
      // Geodesic distance on the spheroid, a little wider than asked: the
      // exact test (haversine, as the library) follows in C++.
      centroids = fmt::format(
          "SELECT w.event_key FROM event_windows w WHERE w.has_polygon = 0 AND w.centroid IS NOT NULL AND "
          "ST_DWithin(w.centroid, {}::geography, {}) AND {}",
          point, num((q.distance_km * 1.01 + 0.5) * 1000.0), tw);
    } else {
      polygons = fmt::format(
          "SELECT e.key FROM events e WHERE e.has_polygon = 1 AND e.min_lat <= {0} AND e.max_lat >= {0} AND "
          "e.min_lon <= {1} AND e.max_lon >= {1} AND EXISTS (SELECT 1 FROM event_windows w WHERE w.event_key = e.key "
          "AND {2})",
          lat, lon, tw);
      const BoundingBox b = detail::distanceBox(q.lat, q.lon, std::max(q.distance_km, 0.0));
      centroids = fmt::format(
          "SELECT w.event_key FROM event_windows w WHERE w.has_polygon = 0 AND w.lat BETWEEN {} AND {} AND w.lon "
          "BETWEEN {} AND {} AND {}",
          num(b.min_lat), num(b.max_lat), num(b.min_lon), num(b.max_lon), tw);
    }
    if (!(q.distance_km > 0)) return "SELECT query_state FROM events WHERE key IN (" + polygons + ")";
    return "SELECT query_state FROM events WHERE key IN (" + polygons + " UNION " + centroids + ")";
  }

  static AlertRecord alertRow(const pqxx::row& row) {
    AlertRecord r;
    r.id = row[0].as<std::int64_t>();
    r.source_id = row[1].as<std::string>();
    r.event_key = row[2].as<std::string>();
    r.topic = row[3].as<std::string>();
    const pqxx::binarystring bytes(row[4]);
    if (!r.alert.ParseFromString(bytes.str())) r.alert.Clear();
    r.received_unix_s = row[5].as<std::int64_t>();
    return r;
  }

  void close() noexcept {
    try {
      work_.reset();
      conn_.reset();
    } catch (...) {
    }
    locked_pid_ = 0;
  }

  DatabaseUrl url_;
  OpenMode mode_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<pqxx::work> work_;
  std::string buffer_;
  bool spatial_ = false;
  int backend_pid_ = 0;
  int locked_pid_ = 0;
};

}  // namespace

std::unique_ptr<Database> makePostgresDatabase(const DatabaseUrl& url, OpenMode mode) {
  return std::make_unique<PostgresDatabase>(url, mode);
}

}  // namespace emwin::archive
