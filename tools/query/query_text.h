#pragma once
// emwin-query's text in and out: times as people write them ("now",
// "latest", "24h", "2025-05-23T05:21Z"), points ("41.6,-93.6"), and the
// tables and JSON lines it prints for events, alerts and files.
// Thread-safety: pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "alerts/active_state.h"
#include "archive/records.h"
#include "archive/reader.h"

namespace emwin::query {

// An instant: "now", "latest" (the archive's latest product time), Unix
// seconds, "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS]Z"; or, when `durations_ago`,
// a duration back from now: "90s", "30m", "24h", "7d", "2w".
struct Instant {
  enum class Kind { kNow, kLatest, kAbsolute } kind = Kind::kNow;
  std::int64_t unix_s = 0;  // kAbsolute: the time; with a duration: seconds back from now (negative unix_s)
  bool ago = false;         // a duration back from now
};

// Parses `text`; nullopt when it is none of the forms above.
std::optional<Instant> parseInstant(const std::string& text, bool durations_ago);

// The Unix time of `i` given the current time and the archive's latest product time.
std::int64_t resolve(const Instant& i, std::int64_t now, std::int64_t latest);

// "LAT,LON" in range; nullopt otherwise.
std::optional<std::pair<double, double>> parsePoint(const std::string& text);

// "2025-05-23 05:21Z" ("-" for 0).
std::string shortTime(std::int64_t unix_s);

// A plain-text table: columns padded to the widest cell, two spaces apart.
std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

// Tables (with a trailing count line) and JSON lines of query results.
std::string activeTable(const std::vector<archive::ActiveAlert>& events);
std::string alertsTable(const std::vector<archive::AlertRecord>& alerts);
std::string filesTable(const std::vector<archive::FileRecord>& files);
std::string eventText(const std::string& key, const archive::EventHistory& history);

nlohmann::json activeJson(const archive::ActiveAlert& event, std::int64_t at);
nlohmann::json alertJson(const archive::AlertRecord& alert);
nlohmann::json fileJson(const archive::FileRecord& file);
nlohmann::json eventJson(const std::string& key, const archive::EventHistory& history);

}  // namespace emwin::query
