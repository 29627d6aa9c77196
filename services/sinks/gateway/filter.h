#pragma once
// Filter: what one client asked to see, from the query parameters of
// /events, /ws and /alerts/active (documented in docs/gateway.md):
//
//   topic=alert.TO.,file.TXT.   topic prefixes            product=TOR    product code
//   awips=TORDMX                AWIPS id                  office=KDMX    office (4 or 3 letters)
//   state=IA                    two-letter state          ugc=IAC169     county or zone code
//   phenomenon=TO significance=W action=NEW,CON           VTEC fields
//   min_tier=warning            tier at least this urgent (name or 1..6)
//   lat=41.6&lon=-93.6&distance_km=25   an alert with a polygon matches when
//                               the point is inside it; one without, when a
//                               listed county/zone centroid is within distance_km
//   has_polygon=true|false      test=true (also test messages; default never)
//
// Every parameter may repeat or hold a comma-separated list (any value
// matches); different parameters must all match. A criterion an event cannot
// satisfy excludes it (a file has no UGC: `ugc=` passes only alerts). Unknown
// parameters and bad values are errors (HTTP 400), so a typo never silently
// widens a stream.
//
// Thread-safety: a plain value; matches() is const and safe to call concurrently.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "event.h"
#include "http/server.h"

namespace emwin::gateway {

struct Filter {
  std::vector<std::string> topics;
  std::vector<std::string> products;
  std::vector<std::string> awips;
  std::vector<std::string> offices;
  std::vector<std::string> states;
  std::vector<std::string> ugc;
  std::vector<std::string> phenomena;
  std::vector<std::string> significances;
  std::vector<std::string> actions;
  int min_tier = 0;                    // 0 = any tier (and events without one)
  std::optional<GeoPoint> point;       // lat/lon
  double distance_km = 0;              // with point: centroid distance (0 = polygon only)
  std::optional<bool> has_polygon;
  bool include_test = false;

  // Parses the query of `request`. Parameters in `also_allowed` are accepted
  // and ignored (e.g. "last_event_id"). nullopt and `error` set on a bad one.
  static std::optional<Filter> parse(const http::Request& request, std::string& error,
                                     const std::vector<std::string>& also_allowed = {});

  // True when the event passes every criterion.
  bool matches(const EventFacts& facts) const;

  // True when no criterion is set (test messages are still excluded).
  bool empty() const;

  // Canonical text of the filter, e.g. "office=DMX state=IA min_tier=2" ("" = everything).
  std::string describe() const;
};

// The query parameters a Filter understands.
const std::vector<std::string>& filterParameters();

}  // namespace emwin::gateway
