#pragma once
// The gateway's events: what it received from the bus (an Alert, a
// CompletedFile, the stats summary), turned once into the JSON that every
// client gets (as SSE `data:` and as the WebSocket message) and the facts
// its filters look at. An event is immutable once built and shared by the
// retention log and every client queue that holds it.
//
// Event ids are "<epoch>-<sequence>": the gateway's start time in
// microseconds and a number growing by one per event, so a client resuming
// with the id of an earlier gateway process is recognised.
//
// Thread-safety: builders are pure functions; an Event is immutable.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "emwin/bus/v1/alert.pb.h"
#include "emwin/bus/v1/file.pb.h"
#include "emwin/bus/v1/stats.pb.h"
#include "geo.h"
#include "http/stream.h"

namespace emwin::gateway {

using Json = nlohmann::ordered_json;

// What an event is about.
enum class EventKind : std::uint8_t { kAlert, kFile, kStats };

// "alert", "file", "stats" (the SSE event name and the JSON "type").
std::string_view kindName(EventKind kind) noexcept;

// What filters match on (codes upper-case).
struct EventFacts {
  std::string topic;                  // bus topic, e.g. "alert.TO.W.KDMX"
  std::string product_code;           // "TOR"
  std::string awips_id;               // "TORDMX"
  std::vector<std::string> offices;   // "KDMX", "DMX" (VTEC office, WMO CCCC, AWIPS office)
  std::vector<std::string> states;    // "IA" (from UGC codes and the office)
  std::vector<std::string> ugc;       // "IAC169", "IAZ048"
  std::string phenomenon;             // "TO"
  std::string significance;           // "W"
  std::string action;                 // "NEW"
  int tier = 0;                       // emwin.bus.v1.PriorityTier number; 0 = none (files, stats)
  bool is_test = false;               // a test message (never shown unless asked for)
  std::vector<GeoPoint> polygon;      // the alert's polygon (closed ring) or empty
  std::vector<GeoPoint> centroids;    // centroids of its known counties/zones
};

// One event, as every client gets it.
struct Event {
  std::uint64_t seq = 0;   // gateway sequence (the id's second part)
  EventKind kind = EventKind::kAlert;
  EventFacts facts;
  http::SharedText json;   // the JSON object (WebSocket message; SSE data)
  http::SharedText sse;    // the SSE frame: event, id, data
  // Approximate memory held (for the retention bound).
  std::size_t bytes() const noexcept;
};
using EventPtr = std::shared_ptr<const Event>;

// "<epoch>-<seq>".
std::string eventId(std::uint64_t epoch, std::uint64_t seq);
// Parses an event id; nullopt when malformed.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parseEventId(std::string_view id);

// Finishes an event: adds "type" and "id" in front of `body`, serialises it
// once, and builds the SSE frame.
EventPtr makeEvent(EventKind kind, std::uint64_t epoch, std::uint64_t seq, EventFacts facts, const Json& body);

// A notice that is not an event (no id): `type` and `body` fields, as SSE
// frame (event: <type>) or WebSocket message.
struct Notice {
  http::SharedText json;
  http::SharedText sse;
};
Notice makeNotice(std::string_view type, const Json& body);

// Tier name: "emergency", "warning", "watch", "advisory", "statement",
// "routine", "test"; "" for 0 or unknown.
std::string_view tierName(int tier) noexcept;
// Tier number from a name or a number text ("warning" or "2"); nullopt when unknown.
std::optional<int> parseTier(std::string_view text) noexcept;

// --- Alerts ---------------------------------------------------------------

// Filter facts of an alert published on `topic`.
EventFacts alertFacts(const emwin::bus::v1::Alert& alert, std::string_view topic);
// JSON of an alert (documented in docs/gateway.md). `event_key` is the key of
// its event in the active state ("KDMX.TO.W.0042.2025"; may be empty).
Json alertJson(const emwin::bus::v1::Alert& alert, std::string_view topic, std::string_view event_key);

// --- Files ----------------------------------------------------------------

// What the gateway reads from the start of a text product.
struct FileHeading {
  std::string wmo_ttaaii, wmo_cccc, wmo_ddhhmm, wmo_bbb;
  std::string awips_id;      // "TORDMX"; empty when not a text product
  std::string product_code;  // "TOR"
  std::string product_name;  // "Tornado Warning" when known
};
// Reads the WMO heading and AWIPS ID of a text product (from its first
// bytes; empty fields for binaries and unrecognised text).
FileHeading readHeading(const emwin::bus::v1::CompletedFile& file);

// Filter facts of a completed file.
EventFacts fileFacts(const emwin::bus::v1::CompletedFile& file, std::string_view topic, const FileHeading& heading);
// JSON of a completed file: metadata only, with its download URL (the bytes
// are at /files/<name>). `downloadable` false when the name was refused.
Json fileJson(const emwin::bus::v1::CompletedFile& file, std::string_view topic, const FileHeading& heading,
              bool downloadable);

// --- Stats ----------------------------------------------------------------

// JSON of a stats summary (every service's state, counters, gauges, rates, stale list).
Json statsJson(const emwin::bus::v1::StatsSummary& summary);

// ISO-8601 UTC ("2025-05-23T05:21:00Z"), or "" for 0.
std::string isoTime(std::int64_t unix_s);

}  // namespace emwin::gateway
