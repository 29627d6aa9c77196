#pragma once
// The rows of an archive, as plain values: what the writer stores and what
// the reader returns. Built from bus messages (CompletedFile, Alert) and from
// the active state's events. Text that goes into a database column is valid
// UTF-8 without NUL (cleanText); the whole Alert message is kept as bytes, so
// no field is lost.
//
// Thread-safety: plain values and pure functions, safe from any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alerts/active_state.h"
#include "emwin/bus/v1/alert.pb.h"
#include "emwin/bus/v1/file.pb.h"

namespace emwin::archive {

// `text` as valid UTF-8 without NUL: an invalid byte (or NUL) becomes "\xNN",
// so distinct inputs stay distinct and every database accepts the column.
std::string cleanText(std::string_view text);

// One completed file: its metadata (not its bytes) and where the disk writer put it.
struct FileRecord {
  std::int64_t id = 0;             // row id (0 before it is stored)
  std::string name;                // product name as received (cleanText)
  std::int64_t fd_unix_s = 0;      // /FD stamp
  std::string sha256;              // hex SHA-256 of the delivered bytes
  std::uint64_t size_bytes = 0;
  std::string path;                // relative to the disk writer's --out: <YYYY-MM-DD>/<EXT>/<HHMMSS>_<sha8>_<NAME>; "" when the name is rejected there
  std::string ext;                 // upper-case extension token ("TXT", "NONE")
  std::string origin;              // "blocks" or "archive_entry"
  std::string archive_name;        // archive entry: the ZIP it came from
  std::string archive_sha256;
  std::string archive_entry;
  bool is_archive = false;         // the file is a ZIP that was unpacked
  std::string source;              // "host:port" or "replay:<file>"
  std::uint32_t block_count = 0;
  std::string raw_sha256;
  std::int64_t first_segment_unix_us = 0;
  std::int64_t last_segment_unix_us = 0;
  std::string producer;            // Header.producer_id
  std::int64_t received_unix_s = 0;  // when the archive received it (wall clock)
  bool operator==(const FileRecord&) const = default;
};

// The row of `file`, received at `received_unix_s`.
FileRecord fileRecord(const emwin::bus::v1::CompletedFile& file, std::int64_t received_unix_s);

// One alert: the whole message plus the columns queries filter on.
struct AlertRecord {
  std::int64_t id = 0;             // row id (0 before it is stored)
  std::string source_id;           // file SHA-256 # segment # VTEC (alerts::EventUpdate::sourceId): one row per alert
  std::string event_key;           // "KDMX.TO.W.0042.2025"; "" when not an event (test, routine, ROU)
  std::string topic;               // the bus topic it came on (alert.… or test.alert.…)
  emwin::bus::v1::Alert alert;     // every field (stored as the serialised message)
  std::int64_t received_unix_s = 0;
};

// The row of `alert` received on `topic` at `received_unix_s` (event_key empty:
// the writer fills it from the active state).
AlertRecord alertRecord(const emwin::bus::v1::Alert& alert, std::string topic, std::int64_t received_unix_s);

// Bounding box of a polygon, degrees.
struct BoundingBox {
  double min_lat = 0, max_lat = 0, min_lon = 0, max_lon = 0;
};

// The box of `points`; nullopt when there are none.
std::optional<BoundingBox> boundingBox(const std::vector<products::LatLon>& points);
std::optional<BoundingBox> boundingBox(const google::protobuf::RepeatedPtrField<emwin::bus::v1::LatLon>& points);

// WKT "POLYGON((lon lat, ...))" of a ring (closed if it is not); "" with fewer than 3 distinct points.
std::string polygonWkt(const std::vector<products::LatLon>& ring);

// One UGC window of an event, flattened for SQL: in effect at t when
// begin <= t and (stop == 0 or t < stop) (alerts::windowStop).
struct WindowRow {
  std::string ugc;
  std::int64_t begin_unix_s = 0;
  std::int64_t stop_unix_s = 0;     // 0 = open
  std::optional<double> lat, lon;   // the UGC's centroid (reference table), when known
};

// One event of the active state, as stored.
struct EventRecord {
  alerts::Event event;
  bool has_polygon = false;          // the queries treat it by its polygon (>= 4 points)
  std::optional<BoundingBox> box;    // of the polygon, with has_polygon
  std::vector<WindowRow> windows;
  std::int64_t keep_until_unix_s = 0;  // product time after which the active state has surely dropped it
  std::string state_json;            // alerts::eventSnapshot (restore)
  std::string query_json;            // the same with only the last history entry (queries)
};

// The row of `event`, with the active state's retention options (for keep_until).
EventRecord eventRecord(const alerts::Event& event, const alerts::ActiveStateOptions& options);

// What the writer is handed per commit.
struct Batch {
  std::vector<FileRecord> files;
  std::vector<AlertRecord> alerts;
  std::size_t rows() const noexcept { return files.size() + alerts.size(); }
  bool empty() const noexcept { return files.empty() && alerts.empty(); }
};

}  // namespace emwin::archive
