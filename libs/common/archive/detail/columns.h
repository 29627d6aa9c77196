#pragma once
// The column values of an alert row, computed once from its Alert message
// for either backend, and small SQL helpers the backends share.
// Thread-safety: pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archive/database.h"
#include "archive/records.h"

namespace emwin::archive::detail {

// Every column of the alerts table but id, source_id, event_key, topic and received_unix_s.
struct AlertColumns {
  bool is_test = false;
  int tier = 0;
  std::string office, office_code, phenomenon, significance;
  std::int64_t etn = 0;
  std::string action, vtec, vtec_product_class, hvtec;
  std::string awips_id, product_code, wmo_ttaaii, wmo_cccc, wmo_ddhhmm, wmo_bbb;
  std::string event_name, headline, filename, file_sha256;
  std::int64_t segment_index = 0;
  std::int64_t issued = 0, begin = 0, end = 0, expires = 0;
  std::string ugc;                     // codes separated by spaces
  std::vector<std::string> ugc_codes;  // distinct, for alert_ugc
  std::string polygon_json;            // [[lat,lon],...] or "" when none
  std::string polygon_wkt;             // "" when none (or unusable)
  std::optional<BoundingBox> box;
  std::string motion_json, threats_json, emergency_tags_json;
  bool is_pds = false, emergency_confirmed = false;
  std::string test_reason;
  std::string message;                 // the serialised Alert
};

AlertColumns alertColumns(const AlertRecord& record);

// The SQL LIKE pattern (escape character '\') of a '*'/'?' glob.
std::string globToLike(const std::string& glob);
// The SQLite GLOB pattern of a '*'/'?' glob ('[' made literal).
std::string globToSqliteGlob(const std::string& glob);

// Box of the circle of `distance_km` around (lat, lon), a little larger
// (a prefilter: the exact distance is computed after).
BoundingBox distanceBox(double lat, double lon, double distance_km);

// Newest-first alert query helpers: the column of `time`.
const char* alertTimeColumn(TimeField time);
const char* fileTimeColumn(TimeField time);

}  // namespace emwin::archive::detail
