#pragma once
// ActiveState: what is in effect, where and when — the answer to "what is in
// effect for me now?". It follows VTEC events through their lifecycle (NWS
// Directive 10-1703: NEW, CON, EXT, EXA, EXB, UPG, CAN, EXP, COR; ROU is not an
// event) with per-UGC membership, end times, expiry and upgrades, and also
// tracks warnings without VTEC (e.g. EVI, a Pago Pago FFW) until their UGC
// expiry. Feed it EventUpdates (event_update.h) in the order the products were
// issued; ask it which events are in effect for a UGC code, for a point
// (inside the event's polygon; for events without one, a county/zone centroid
// within a distance), or everywhere, at a given time; read one event's history.
// Semantics per action are documented in docs/alerts.md "Active state".
//
// Pure logic: no clock (every time-dependent call takes the time; automatic
// pruning uses the latest product time fed), no I/O, no bus. Replaying
// historical products and asking at the replay's own time gives the answer as
// it was then. Rebuilding by feeding the same alerts again in order gives the
// same state; snapshot()/restore() save and load it as JSON.
//
// Thread-safety: not synchronised. One writer at a time (apply, prune,
// restore); const member functions may run concurrently with each other, never
// with a writer. SharedActiveState (below) wraps one behind a shared mutex.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "alerts/event_update.h"
#include "products/classify.h"
#include "products/product.h"

namespace emwin::alerts {

// Identifies one event. VTEC: office, phenomenon, significance, ETN and the
// year the ETN belongs to (ETNs restart every year), written
// "KDMX.TO.W.0042.2025". Without VTEC: the product (AWIPS ID and WMO DDHHMM)
// instead of the ETN, written "KHGX.EVI.W.EVIHGX-211200.2025".
struct EventKey {
  std::string office;        // "KDMX"
  std::string phenomenon;    // "TO"
  std::string significance;  // "W"
  std::uint32_t etn = 0;     // 0 without VTEC
  std::string product;       // without VTEC: "<AWIPS ID>-<DDHHMM>"; empty with VTEC
  int year = 0;              // year of the issuing product (UTC)

  // The written form (see above).
  std::string str() const;
  // Parses the written form; nullopt when malformed.
  static std::optional<EventKey> parse(std::string_view text);
  bool operator==(const EventKey&) const = default;
};

// Where an event stands in one UGC.
enum class UgcStatus {
  kInEffect,   // NEW/CON/EXT/EXA/EXB/COR: in effect inside its window
  kCancelled,  // CAN: ended at the cancelling product's issue time
  kExpired,    // EXP: ends at the VTEC end time (or the product's issue time)
  kUpgraded,   // UPG: replaced by a higher event (see Event::upgraded_to)
};

// "in_effect", "cancelled", "expired", "upgraded".
std::string_view statusName(UgcStatus s);

// A time window [begin, end) of an event in one UGC; end 0 = until further notice.
struct Window {
  std::int64_t begin_unix_s = 0;
  std::int64_t end_unix_s = 0;
  bool operator==(const Window&) const = default;
};

// An event's membership of one UGC.
struct UgcState {
  std::string code;
  std::vector<Window> windows;       // usually one; two when one product gives two periods
  UgcStatus status = UgcStatus::kInEffect;
  std::int64_t ended_unix_s = 0;     // when CAN/UPG/EXP ended it; 0 while in effect
  std::int64_t last_issued_unix_s = 0;  // issue time of the last product naming this UGC
  std::int64_t expires_unix_s = 0;   // UGC expiry of that product
  std::string last_action;
  std::string last_product;          // that product (file SHA-256, or AWIPS ID + DDHHMM + BBB)
  bool operator==(const UgcState&) const = default;
};

// One step of an event's lifecycle: one applied update.
struct HistoryEntry {
  std::int64_t issued_unix_s = 0;
  std::string action;  // empty for a product without VTEC
  std::vector<std::string> ugc;
  std::int64_t begin_unix_s = 0;
  std::int64_t end_unix_s = 0;
  std::int64_t expires_unix_s = 0;
  std::string awips_id;
  std::string wmo_ddhhmm;
  std::string wmo_bbb;
  std::string filename;
  std::string file_sha256;
  std::uint32_t segment_index = 0;
  std::string vtec;
  std::string source_id;  // EventUpdate::sourceId(), to recognise a redelivery
  bool operator==(const HistoryEntry&) const = default;
};

// Everything known about one event.
struct Event {
  EventKey key;
  std::string event_name;
  products::Tier tier = products::Tier::kRoutine;  // of the latest update that kept it in effect
  std::string headline;
  std::vector<std::string> emergency_tags;
  bool emergency_confirmed = false;
  bool is_pds = false;
  std::vector<products::LatLon> polygon;  // latest polygon of an update that kept it in effect
  std::vector<UgcState> ugcs;             // in the order first named
  std::vector<HistoryEntry> history;      // oldest first; bounded (the first entry is kept)
  std::vector<std::string> upgraded_to;   // keys of the events that replaced it (UPG)
  std::vector<std::string> upgraded_from; // keys of the events it replaced
  std::string last_action;
  std::int64_t first_issued_unix_s = 0;
  std::int64_t last_issued_unix_s = 0;
  bool operator==(const Event&) const = default;
};

// What apply() did with an update.
enum class ApplyOutcome {
  kCreated,          // a new event
  kUpdated,          // an existing event changed
  kDuplicate,        // this source line was applied before (redelivery): nothing changed
  kStale,            // older than what every named UGC already had: nothing changed
  kIgnoredTest,      // a test message: never part of the active state
  kIgnoredRoutine,   // ROU, ETN 0, or a product without VTEC below advisory tier
  kIgnoredNoExpiry,  // a product without VTEC and without UGC expiry: no end to rely on
  kInvalid,          // missing office, phenomenon, significance, UGC or time
};

// "created", "updated", "duplicate", "stale", "ignored_test", ...
std::string_view outcomeName(ApplyOutcome o);

// Result of apply().
struct ApplyResult {
  ApplyOutcome outcome = ApplyOutcome::kInvalid;
  std::string key;  // the event's key (empty when ignored or invalid)
};

// How a point query matched an event.
enum class MatchKind {
  kUgc,       // asked by UGC code
  kPolygon,   // the point lies inside the event's polygon
  kCentroid,  // no polygon: an in-effect UGC's centroid lies within the distance
  kAll,       // from all()
};

// "ugc", "polygon", "centroid", "all".
std::string_view matchName(MatchKind m);

// One event in effect at the query time, as returned by the queries (a copy:
// safe to keep after the state changes).
struct ActiveEvent {
  std::string key;
  EventKey event_key;
  std::string event_name;
  products::Tier tier = products::Tier::kRoutine;
  std::string headline;
  std::vector<std::string> emergency_tags;
  bool emergency_confirmed = false;
  bool is_pds = false;
  std::string last_action;
  std::int64_t first_issued_unix_s = 0;
  std::int64_t last_issued_unix_s = 0;
  std::int64_t begin_unix_s = 0;    // earliest begin of the matched UGCs' windows
  std::int64_t end_unix_s = 0;      // latest end of those windows; 0 = until further notice
  std::int64_t expires_unix_s = 0;  // latest UGC expiry of those UGCs
  bool pending = false;  // not yet begun at the query time (only with QueryOptions::include_pending)
  bool stale = false;    // open-ended, and its UGC expiry passed without a newer product
  std::vector<std::string> ugc;  // the UGCs in effect (or pending) at the query time
  std::vector<products::LatLon> polygon;
  MatchKind matched_by = MatchKind::kAll;
  std::string matched_ugc;     // kUgc / kCentroid: the UGC that matched
  double distance_km = 0;      // kCentroid: distance to that UGC's centroid
  std::string awips_id;        // latest product of the event
  std::string filename;
  std::string file_sha256;
};

// Options of the queries.
struct QueryOptions {
  bool include_pending = false;  // also events that begin later (a watch from 18Z asked at 16Z)
};

// Options of ActiveState, with their defaults.
struct ActiveStateOptions {
  // An event that is over (no UGC in effect or pending) is dropped this long
  // after its last change (its history with it). Default 2 days.
  std::int64_t retain_ended_s = 2 * 86400;
  // An open-ended UGC (until further notice) whose UGC expiry passed this long
  // ago without a newer product is dropped as abandoned. Default 10 days.
  std::int64_t abandon_open_s = 10 * 86400;
  // History entries kept per event (the first, NEW, is always kept). Default 256.
  std::size_t max_history = 256;
  // Events kept at most; beyond it the longest-finished (then the oldest) go.
  // Default 100,000.
  std::size_t max_events = 100000;
  // Prune automatically every this many applied updates, at the latest issue
  // time fed (deterministic for a replay). 0 = only when prune() is called.
  std::size_t auto_prune_every = 256;
};

// Counters since construction (or restore).
struct ActiveStateStats {
  std::uint64_t applied = 0;  // created + updated
  std::uint64_t created = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t stale = 0;
  std::uint64_t ignored = 0;  // test, routine, no expiry
  std::uint64_t invalid = 0;
  std::uint64_t pruned = 0;   // events dropped by prune (over, abandoned, over the cap)
  std::size_t events = 0;     // events held now
  std::size_t ugc_entries = 0;  // UGC memberships held now
};

class ActiveState {
 public:
  explicit ActiveState(ActiveStateOptions options = {});

  // Applies one update; updates must come in product issue order (an update
  // older than what a UGC already has is stale for that UGC). Never throws on
  // bad input: it is reported as kInvalid.
  ApplyResult apply(const EventUpdate& update);

  // Applies every update of a product in order.
  std::vector<ApplyResult> apply(const std::vector<EventUpdate>& updates);

  // Events in effect at `at_unix_s` in UGC `code` ("IAC169"), most urgent tier first.
  std::vector<ActiveEvent> forUgc(std::string_view code, std::int64_t at_unix_s, QueryOptions options = {}) const;

  // Events in effect at `at_unix_s` at the point (lat, lon): an event with a
  // polygon matches when the point is inside it; an event without one when
  // one of its in-effect UGCs has its centroid within `distance_km` (<= 0:
  // polygons only). Most urgent tier first, then nearest.
  std::vector<ActiveEvent> forPoint(double lat_deg, double lon_deg, double distance_km, std::int64_t at_unix_s,
                                    QueryOptions options = {}) const;

  // Every event in effect at `at_unix_s`, most urgent tier first.
  std::vector<ActiveEvent> all(std::int64_t at_unix_s, QueryOptions options = {}) const;

  // The event with `key` ("KDMX.TO.W.0042.2025"), history included; nullopt
  // when unknown (never seen, or pruned).
  std::optional<Event> event(std::string_view key) const;

  // Latest product issue time fed (0 before any): "now" of a replayed feed.
  std::int64_t latestIssued() const { return latest_issued_; }

  // Drops events that are over, abandoned or over the cap, judged at
  // `now_unix_s`. Returns how many were dropped.
  std::size_t prune(std::int64_t now_unix_s);

  // Counters and sizes.
  ActiveStateStats stats() const;

  // The whole state as JSON (events, UGC windows, history, latest time).
  nlohmann::json snapshot() const;

  // Replaces the state with a snapshot(). Returns false (state unchanged) and
  // sets `error` when `snapshot` is not a valid snapshot.
  bool restore(const nlohmann::json& snapshot, std::string& error);

 private:
  Event* findEvent(const std::string& key);
  std::string resolveKey(const EventUpdate& u, std::int64_t t, EventKey& out) const;
  ApplyResult applyVtec(const EventUpdate& u, std::int64_t t);
  ApplyResult applyProductEvent(const EventUpdate& u, std::int64_t t);
  void linkUpgrades(const EventUpdate& u, const std::string& key);
  void index(Event& e, const std::string& code);
  void unindex(const Event& e);
  void pruneIfDue();
  ActiveEvent view(const Event& e, std::int64_t at, const QueryOptions& options, bool& include) const;

  ActiveStateOptions options_;
  std::map<std::string, Event> events_;  // by key string
  std::unordered_map<std::string, std::vector<const Event*>> by_ugc_;
  std::int64_t latest_issued_ = 0;
  std::size_t since_prune_ = 0;
  ActiveStateStats stats_;
  // The product segment being applied (for UPG -> NEW links).
  std::string segment_source_;
  std::vector<std::string> segment_upgraded_;
  std::vector<std::string> segment_new_;
  std::vector<std::pair<std::string, std::string>> segment_links_;  // (upgraded, replacement) made for it
};

// An ActiveState shared between threads: one writer, many readers.
class SharedActiveState {
 public:
  explicit SharedActiveState(ActiveStateOptions options = {}) : state_(options) {}
  // apply() under the exclusive lock.
  ApplyResult apply(const EventUpdate& update);
  // forUgc() under the shared lock.
  std::vector<ActiveEvent> forUgc(std::string_view code, std::int64_t at_unix_s, QueryOptions options = {}) const;
  // forPoint() under the shared lock.
  std::vector<ActiveEvent> forPoint(double lat_deg, double lon_deg, double distance_km, std::int64_t at_unix_s,
                                    QueryOptions options = {}) const;
  // all() under the shared lock.
  std::vector<ActiveEvent> all(std::int64_t at_unix_s, QueryOptions options = {}) const;
  // event() under the shared lock.
  std::optional<Event> event(std::string_view key) const;
  // latestIssued() under the shared lock.
  std::int64_t latestIssued() const;
  // Runs `f(ActiveState&)` under the exclusive lock (prune, restore, batches).
  template <typename F>
  auto withWriter(F&& f) {
    std::unique_lock lock(mutex_);
    return f(state_);
  }
  // Runs `f(const ActiveState&)` under the shared lock (snapshot, stats).
  template <typename F>
  auto withReader(F&& f) const {
    std::shared_lock lock(mutex_);
    return f(static_cast<const ActiveState&>(state_));
  }

 private:
  mutable std::shared_mutex mutex_;
  ActiveState state_;
};

// JSON of a query result (times ISO-8601 UTC), as emwin-classify prints it.
nlohmann::json activeEventToJson(const ActiveEvent& e);

// JSON of an event with its UGC states and history, as emwin-classify prints it.
nlohmann::json eventToJson(const Event& e);

// --- Pieces of a snapshot, for stores that keep events one by one (emwin-archive) ---

// One event in the exact form snapshot() lists it under "events" (exact
// numbers, no derived fields).
nlohmann::json eventSnapshot(const Event& e);

// A snapshot() document made of `events` (eventSnapshot() forms, an array) and
// the latest product time fed; restore() reads it.
nlohmann::json makeSnapshot(nlohmann::json events, std::int64_t latest_issued);

// Where window `w` of UGC state `st` stops, clipped by the cancellation,
// upgrade or expiration that ended it (0 = open, until further notice): the
// stop every query uses. A window is in effect at t when begin <= t and
// (stop == 0 or t < stop); pending when t < begin and (stop == 0 or begin < stop).
std::int64_t windowStop(const Window& w, const UgcState& st);

}  // namespace emwin::alerts
