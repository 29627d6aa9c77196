// ActiveState: VTEC event lifecycle, per-UGC membership and the queries.
#include "alerts/active_state.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>

#include "products/reference.h"

namespace emwin::alerts {
namespace {

using products::LatLon;
using products::Tier;

constexpr int kSnapshotVersion = 1;
constexpr double kEarthRadiusKm = 6371.0088;

// Gregorian year of a Unix time (Hinnant's civil_from_days).
int yearOf(std::int64_t t) {
  std::int64_t z = (t >= 0 ? t / 86400 : (t - 86399) / 86400) + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0));
}

bool isInEffectAction(std::string_view a) {
  return a == "NEW" || a == "CON" || a == "EXT" || a == "EXA" || a == "EXB" || a == "COR";
}
bool isAddAction(std::string_view a) { return a == "NEW" || a == "EXA" || a == "EXB"; }
bool isKnownAction(std::string_view a) {
  return isInEffectAction(a) || a == "CAN" || a == "EXP" || a == "UPG" || a == "ROU";
}

// The product a line came from (same for every line of one product).
std::string productIdOf(const EventUpdate& u) {
  return !u.file_sha256.empty() ? u.file_sha256 : u.awips_id + "-" + u.wmo_ddhhmm + "-" + u.wmo_bbb;
}

// End of window `w` of UGC `st`, clipped by a cancellation, upgrade or
// expiration; 0 = open.
std::int64_t stopOf(const Window& w, const UgcState& st) {
  if (st.status == UgcStatus::kInEffect) return w.end_unix_s;
  if (w.end_unix_s == 0) return st.ended_unix_s;
  return std::min(w.end_unix_s, st.ended_unix_s);
}

bool activeAt(const Window& w, const UgcState& st, std::int64_t at) {
  const std::int64_t stop = stopOf(w, st);
  return w.begin_unix_s <= at && (stop == 0 || at < stop);
}

bool pendingAt(const Window& w, const UgcState& st, std::int64_t at) {
  const std::int64_t stop = stopOf(w, st);
  return w.begin_unix_s > at && (stop == 0 || w.begin_unix_s < stop);
}

double distanceKm(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kRad = 3.14159265358979323846 / 180.0;
  const double dlat = (lat2 - lat1) * kRad;
  const double dlon = (lon2 - lon1) * kRad;
  const double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(lat1 * kRad) * std::cos(lat2 * kRad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kEarthRadiusKm * std::asin(std::min(1.0, std::sqrt(a)));
}

// Even-odd rule, longitude as x and latitude as y (warning polygons are small).
bool insidePolygon(const std::vector<LatLon>& ring, double lat, double lon) {
  if (ring.size() < 4) return false;
  bool inside = false;
  for (std::size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++) {
    const LatLon& a = ring[i];
    const LatLon& b = ring[j];
    if ((a.lat_deg > lat) != (b.lat_deg > lat)) {
      const double x = a.lon_deg + (lat - a.lat_deg) * (b.lon_deg - a.lon_deg) / (b.lat_deg - a.lat_deg);
      if (lon < x) inside = !inside;
    }
  }
  return inside;
}

template <typename T>
void addUnique(std::vector<T>& v, const T& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

void sortResults(std::vector<ActiveEvent>& out) {
  std::sort(out.begin(), out.end(), [](const ActiveEvent& a, const ActiveEvent& b) {
    if (a.tier != b.tier) return a.tier < b.tier;
    if (a.distance_km != b.distance_km) return a.distance_km < b.distance_km;
    return a.key < b.key;
  });
}

nlohmann::json timeJson(std::int64_t t) {
  return t == 0 ? nlohmann::json(nullptr) : nlohmann::json(products::isoUtc(t));
}

nlohmann::json pointsJson(const std::vector<LatLon>& pts) {
  nlohmann::json a = nlohmann::json::array();
  for (const LatLon& p : pts) a.push_back({p.lat_deg, p.lon_deg});
  return a;
}

std::vector<LatLon> pointsFrom(const nlohmann::json& a) {
  std::vector<LatLon> out;
  for (const auto& p : a) out.push_back({p.at(0).get<double>(), p.at(1).get<double>()});
  return out;
}

// --- snapshot (exact numbers, no derived fields) ---

nlohmann::json snapshotOf(const Event& e) {
  nlohmann::json ugcs = nlohmann::json::array();
  for (const UgcState& st : e.ugcs) {
    nlohmann::json windows = nlohmann::json::array();
    for (const Window& w : st.windows) windows.push_back({w.begin_unix_s, w.end_unix_s});
    ugcs.push_back({{"code", st.code},
                    {"windows", windows},
                    {"status", statusName(st.status)},
                    {"ended", st.ended_unix_s},
                    {"last_issued", st.last_issued_unix_s},
                    {"expires", st.expires_unix_s},
                    {"last_action", st.last_action},
                    {"last_product", st.last_product}});
  }
  nlohmann::json history = nlohmann::json::array();
  for (const HistoryEntry& h : e.history) {
    history.push_back({{"issued", h.issued_unix_s},
                       {"action", h.action},
                       {"ugc", h.ugc},
                       {"begin", h.begin_unix_s},
                       {"end", h.end_unix_s},
                       {"expires", h.expires_unix_s},
                       {"awips_id", h.awips_id},
                       {"wmo_ddhhmm", h.wmo_ddhhmm},
                       {"wmo_bbb", h.wmo_bbb},
                       {"filename", h.filename},
                       {"file_sha256", h.file_sha256},
                       {"segment", h.segment_index},
                       {"vtec", h.vtec},
                       {"source_id", h.source_id}});
  }
  return {{"key", e.key.str()},
          {"event_name", e.event_name},
          {"tier", static_cast<int>(e.tier)},
          {"headline", e.headline},
          {"emergency_tags", e.emergency_tags},
          {"emergency_confirmed", e.emergency_confirmed},
          {"is_pds", e.is_pds},
          {"polygon", pointsJson(e.polygon)},
          {"ugcs", ugcs},
          {"history", history},
          {"upgraded_to", e.upgraded_to},
          {"upgraded_from", e.upgraded_from},
          {"last_action", e.last_action},
          {"first_issued", e.first_issued_unix_s},
          {"last_issued", e.last_issued_unix_s}};
}

UgcStatus statusFrom(const std::string& s) {
  if (s == "in_effect") return UgcStatus::kInEffect;
  if (s == "cancelled") return UgcStatus::kCancelled;
  if (s == "expired") return UgcStatus::kExpired;
  if (s == "upgraded") return UgcStatus::kUpgraded;
  throw std::invalid_argument("unknown UGC status '" + s + "'");
}

Event eventFrom(const nlohmann::json& j) {
  Event e;
  const auto key = EventKey::parse(j.at("key").get<std::string>());
  if (!key) throw std::invalid_argument("bad event key '" + j.at("key").get<std::string>() + "'");
  e.key = *key;
  e.event_name = j.at("event_name").get<std::string>();
  const int tier = j.at("tier").get<int>();
  if (tier < 1 || tier > 7) throw std::invalid_argument("bad tier");
  e.tier = static_cast<Tier>(tier);
  e.headline = j.at("headline").get<std::string>();
  e.emergency_tags = j.at("emergency_tags").get<std::vector<std::string>>();
  e.emergency_confirmed = j.at("emergency_confirmed").get<bool>();
  e.is_pds = j.at("is_pds").get<bool>();
  e.polygon = pointsFrom(j.at("polygon"));
  for (const auto& u : j.at("ugcs")) {
    UgcState st;
    st.code = u.at("code").get<std::string>();
    for (const auto& w : u.at("windows")) {
      st.windows.push_back({w.at(0).get<std::int64_t>(), w.at(1).get<std::int64_t>()});
    }
    st.status = statusFrom(u.at("status").get<std::string>());
    st.ended_unix_s = u.at("ended").get<std::int64_t>();
    st.last_issued_unix_s = u.at("last_issued").get<std::int64_t>();
    st.expires_unix_s = u.at("expires").get<std::int64_t>();
    st.last_action = u.at("last_action").get<std::string>();
    st.last_product = u.at("last_product").get<std::string>();
    e.ugcs.push_back(std::move(st));
  }
  for (const auto& h : j.at("history")) {
    HistoryEntry x;
    x.issued_unix_s = h.at("issued").get<std::int64_t>();
    x.action = h.at("action").get<std::string>();
    x.ugc = h.at("ugc").get<std::vector<std::string>>();
    x.begin_unix_s = h.at("begin").get<std::int64_t>();
    x.end_unix_s = h.at("end").get<std::int64_t>();
    x.expires_unix_s = h.at("expires").get<std::int64_t>();
    x.awips_id = h.at("awips_id").get<std::string>();
    x.wmo_ddhhmm = h.at("wmo_ddhhmm").get<std::string>();
    x.wmo_bbb = h.at("wmo_bbb").get<std::string>();
    x.filename = h.at("filename").get<std::string>();
    x.file_sha256 = h.at("file_sha256").get<std::string>();
    x.segment_index = h.at("segment").get<std::uint32_t>();
    x.vtec = h.at("vtec").get<std::string>();
    x.source_id = h.at("source_id").get<std::string>();
    e.history.push_back(std::move(x));
  }
  e.upgraded_to = j.at("upgraded_to").get<std::vector<std::string>>();
  e.upgraded_from = j.at("upgraded_from").get<std::vector<std::string>>();
  e.last_action = j.at("last_action").get<std::string>();
  e.first_issued_unix_s = j.at("first_issued").get<std::int64_t>();
  e.last_issued_unix_s = j.at("last_issued").get<std::int64_t>();
  return e;
}

}  // namespace

// --- names ------------------------------------------------------------------

std::string_view statusName(UgcStatus s) {
  switch (s) {
    case UgcStatus::kInEffect: return "in_effect";
    case UgcStatus::kCancelled: return "cancelled";
    case UgcStatus::kExpired: return "expired";
    case UgcStatus::kUpgraded: return "upgraded";
  }
  return "in_effect";
}

std::string_view outcomeName(ApplyOutcome o) {
  switch (o) {
    case ApplyOutcome::kCreated: return "created";
    case ApplyOutcome::kUpdated: return "updated";
    case ApplyOutcome::kDuplicate: return "duplicate";
    case ApplyOutcome::kStale: return "stale";
    case ApplyOutcome::kIgnoredTest: return "ignored_test";
    case ApplyOutcome::kIgnoredRoutine: return "ignored_routine";
    case ApplyOutcome::kIgnoredNoExpiry: return "ignored_no_expiry";
    case ApplyOutcome::kInvalid: return "invalid";
  }
  return "invalid";
}

std::string_view matchName(MatchKind m) {
  switch (m) {
    case MatchKind::kUgc: return "ugc";
    case MatchKind::kPolygon: return "polygon";
    case MatchKind::kCentroid: return "centroid";
    case MatchKind::kAll: return "all";
  }
  return "all";
}

// --- EventKey ---------------------------------------------------------------

std::string EventKey::str() const {
  std::string out;
  out.reserve(office.size() + phenomenon.size() + significance.size() + product.size() + 16);
  out.append(office).append(".").append(phenomenon).append(".").append(significance).append(".");
  if (product.empty()) {
    char etnBuf[16];
    std::snprintf(etnBuf, sizeof etnBuf, "%04u", etn);
    out.append(etnBuf);
  } else {
    out.append(product);
  }
  out.append(".").append(std::to_string(year));
  return out;
}

std::optional<EventKey> EventKey::parse(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t pos = 0;
  while (true) {
    const std::size_t dot = text.find('.', pos);
    parts.push_back(text.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos));
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  if (parts.size() != 5) return std::nullopt;
  for (std::string_view p : parts) {
    if (p.empty()) return std::nullopt;
  }
  auto digits = [](std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (parts[4].size() != 4 || !digits(parts[4])) return std::nullopt;
  EventKey k;
  k.office = std::string(parts[0]);
  k.phenomenon = std::string(parts[1]);
  k.significance = std::string(parts[2]);
  if (digits(parts[3])) {
    if (parts[3].size() > 6) return std::nullopt;
    k.etn = static_cast<std::uint32_t>(std::stoul(std::string(parts[3])));
  } else {
    k.product = std::string(parts[3]);
  }
  k.year = std::stoi(std::string(parts[4]));
  return k;
}

// --- ActiveState ------------------------------------------------------------

ActiveState::ActiveState(ActiveStateOptions options) : options_(options) {}

Event* ActiveState::findEvent(const std::string& key) {
  auto it = events_.find(key);
  return it == events_.end() ? nullptr : &it->second;
}

void ActiveState::index(Event& e, const std::string& code) {
  auto& v = by_ugc_[code];
  if (std::find(v.begin(), v.end(), &e) == v.end()) v.push_back(&e);
}

void ActiveState::unindex(const Event& e) {
  for (const UgcState& st : e.ugcs) {
    auto it = by_ugc_.find(st.code);
    if (it == by_ugc_.end()) continue;
    auto& v = it->second;
    v.erase(std::remove(v.begin(), v.end(), &e), v.end());
    if (v.empty()) by_ugc_.erase(it);
  }
}

std::vector<ApplyResult> ActiveState::apply(const std::vector<EventUpdate>& updates) {
  std::vector<ApplyResult> out;
  out.reserve(updates.size());
  for (const EventUpdate& u : updates) out.push_back(apply(u));
  return out;
}

ApplyResult ActiveState::apply(const EventUpdate& u) {
  auto count = [&](ApplyOutcome o) {
    switch (o) {
      case ApplyOutcome::kCreated: ++stats_.created; ++stats_.applied; break;
      case ApplyOutcome::kUpdated: ++stats_.applied; break;
      case ApplyOutcome::kDuplicate: ++stats_.duplicates; break;
      case ApplyOutcome::kStale: ++stats_.stale; break;
      case ApplyOutcome::kInvalid: ++stats_.invalid; break;
      default: ++stats_.ignored; break;
    }
  };
  const std::int64_t t = u.issued_unix_s != 0 ? u.issued_unix_s
                         : u.begin_unix_s != 0 ? u.begin_unix_s
                                               : latest_issued_;
  if (u.office.empty() || u.phenomenon.empty() || u.significance.empty() || t <= 0) {
    count(ApplyOutcome::kInvalid);
    return {ApplyOutcome::kInvalid, {}};
  }
  latest_issued_ = std::max(latest_issued_, t);
  if (u.is_test || u.product_class == 'T') {
    count(ApplyOutcome::kIgnoredTest);
    return {ApplyOutcome::kIgnoredTest, {}};
  }
  if (u.hasVtec() && !isKnownAction(u.action)) {
    count(ApplyOutcome::kInvalid);
    return {ApplyOutcome::kInvalid, {}};
  }
  if (u.hasVtec() && (u.action == "ROU" || u.etn == 0)) {
    count(ApplyOutcome::kIgnoredRoutine);
    return {ApplyOutcome::kIgnoredRoutine, {}};
  }
  if (u.ugc.empty()) {
    count(ApplyOutcome::kInvalid);
    return {ApplyOutcome::kInvalid, {}};
  }
  ApplyResult r;
  try {
    r = u.hasVtec() ? applyVtec(u, t) : applyProductEvent(u, t);
  } catch (const std::exception&) {  // allocation failure: report, keep what was applied
    r = {ApplyOutcome::kInvalid, {}};
  }
  count(r.outcome);
  if (r.outcome == ApplyOutcome::kCreated || r.outcome == ApplyOutcome::kUpdated) pruneIfDue();
  return r;
}

std::string ActiveState::resolveKey(const EventUpdate& u, std::int64_t t, EventKey& out) const {
  out = EventKey{u.office, u.phenomenon, u.significance, u.etn, {}, yearOf(t)};
  std::string key = out.str();
  if (u.action == "NEW" || events_.count(key) != 0) return key;
  // Not the year of issue: an event issued last year (e.g. a CON on 1 January
  // of an advisory issued on 31 December).
  EventKey previous = out;
  previous.year -= 1;
  std::string previousKey = previous.str();
  if (events_.count(previousKey) != 0) {
    out = previous;
    return previousKey;
  }
  // Never seen (its NEW was missed): the year of its begin time if it has one.
  if (u.begin_unix_s != 0 && yearOf(u.begin_unix_s) != out.year) {
    out.year = yearOf(u.begin_unix_s);
    key = out.str();
  }
  return key;
}

ApplyResult ActiveState::applyVtec(const EventUpdate& u, std::int64_t t) {
  EventKey ek;
  const std::string key = resolveKey(u, t, ek);
  Event* e = findEvent(key);
  const std::string source = u.sourceId();
  if (e != nullptr) {
    for (const HistoryEntry& h : e->history) {
      if (h.source_id == source) return {ApplyOutcome::kDuplicate, key};
    }
  }
  const bool created = e == nullptr;
  if (created) {
    e = &events_[key];
    e->key = ek;
  }
  const std::string product = productIdOf(u);
  const bool inEffect = isInEffectAction(u.action);
  bool changed = false;
  for (std::size_t i = 0; i < u.ugc.size(); ++i) {
    const std::string& code = u.ugc[i];
    auto it = std::find_if(e->ugcs.begin(), e->ugcs.end(), [&](const UgcState& s) { return s.code == code; });
    if (it != e->ugcs.end() && t < it->last_issued_unix_s) continue;  // older than what this UGC has
    if (it == e->ugcs.end()) {
      e->ugcs.push_back(UgcState{code, {}, UgcStatus::kInEffect, 0, 0, 0, {}, {}});
      it = e->ugcs.end() - 1;
      index(*e, code);
    }
    UgcState& st = *it;
    const std::int64_t expires =
        i < u.ugc_expires_unix_s.size() ? u.ugc_expires_unix_s[i] : u.expires_unix_s;
    const bool sameProduct = st.last_product == product && st.last_issued_unix_s == t;
    if (inEffect) {
      if (st.windows.empty()) {
        st.windows.push_back({u.begin_unix_s != 0 ? u.begin_unix_s : t, u.end_unix_s});
      } else {
        auto same = std::find_if(st.windows.begin(), st.windows.end(), [&](const Window& w) {
          return u.begin_unix_s != 0 && w.begin_unix_s == u.begin_unix_s;
        });
        if (same != st.windows.end()) {
          same->end_unix_s = u.end_unix_s;
        } else if (isAddAction(u.action) && sameProduct && u.begin_unix_s != 0) {
          st.windows.push_back({u.begin_unix_s, u.end_unix_s});  // a second period in the same product
        } else {
          // The window this line continues: the only one, else the one in
          // effect at t, else the first that has not ended.
          Window* target = &st.windows.front();
          if (st.windows.size() > 1) {
            auto running = std::find_if(st.windows.begin(), st.windows.end(),
                                        [&](const Window& w) { return activeAt(w, st, t); });
            if (running == st.windows.end()) {
              running = std::find_if(st.windows.begin(), st.windows.end(),
                                     [&](const Window& w) { return w.end_unix_s == 0 || w.end_unix_s > t; });
            }
            if (running != st.windows.end()) target = &*running;
          }
          Window w{u.begin_unix_s != 0 ? u.begin_unix_s : target->begin_unix_s, u.end_unix_s};
          if (isAddAction(u.action) && !sameProduct) {
            st.windows.assign(1, w);  // a later product's NEW/EXA/EXB defines the UGC's period
          } else {
            *target = w;
          }
        }
      }
      st.status = UgcStatus::kInEffect;
      st.ended_unix_s = 0;
    } else {
      if (st.windows.empty()) st.windows.push_back({u.begin_unix_s != 0 ? u.begin_unix_s : t, u.end_unix_s});
      if (u.action == "EXP") {
        st.status = UgcStatus::kExpired;
        st.ended_unix_s = u.end_unix_s != 0 ? u.end_unix_s : t;
      } else {
        st.status = u.action == "UPG" ? UgcStatus::kUpgraded : UgcStatus::kCancelled;
        st.ended_unix_s = t;
      }
    }
    st.last_issued_unix_s = t;
    st.expires_unix_s = expires;
    st.last_action = u.action;
    st.last_product = product;
    changed = true;
  }
  if (!changed) {
    if (created) {
      events_.erase(key);
      return {ApplyOutcome::kInvalid, {}};
    }
    return {ApplyOutcome::kStale, key};
  }
  if (inEffect || created) {
    if (!u.event_name.empty()) e->event_name = u.event_name;
    e->tier = u.tier;
    if (!u.headline.empty()) e->headline = u.headline;
    e->emergency_tags = u.emergency_tags;
    e->emergency_confirmed = u.emergency_confirmed;
    e->is_pds = u.is_pds;
    if (!u.polygon.empty()) e->polygon = u.polygon;
  }
  e->last_action = u.action;
  if (e->first_issued_unix_s == 0 || t < e->first_issued_unix_s) e->first_issued_unix_s = t;
  e->last_issued_unix_s = std::max(e->last_issued_unix_s, t);
  HistoryEntry h{t,           u.action,   u.ugc,         u.begin_unix_s, u.end_unix_s,        u.expires_unix_s,
                 u.awips_id,  u.wmo_ddhhmm, u.wmo_bbb,   u.filename,     u.file_sha256,       u.segment_index,
                 u.vtec,      source};
  if (options_.max_history > 1 && e->history.size() >= options_.max_history) e->history.erase(e->history.begin() + 1);
  e->history.push_back(std::move(h));
  linkUpgrades(u, key);
  return {created ? ApplyOutcome::kCreated : ApplyOutcome::kUpdated, key};
}

void ActiveState::linkUpgrades(const EventUpdate& u, const std::string& key) {
  const std::string segment = productIdOf(u) + "#" + std::to_string(u.segment_index);
  if (segment != segment_source_) {
    segment_source_ = segment;
    segment_upgraded_.clear();
    segment_new_.clear();
    segment_links_.clear();
  }
  if (u.action == "UPG") {
    addUnique(segment_upgraded_, key);
  } else if (isAddAction(u.action)) {
    addUnique(segment_new_, key);
  } else {
    return;
  }
  // Re-link the segment from scratch (lines may come in any order): an
  // upgraded event is replaced by the new events of its own phenomenon (WS.A
  // -> WS.W), else by those of another phenomenon that are at least as urgent
  // (WS.A -> BZ.W; not WS.A -> WW.Y).
  auto erase = [](std::vector<std::string>& v, const std::string& x) { v.erase(std::remove(v.begin(), v.end(), x), v.end()); };
  for (const auto& [from, to] : segment_links_) {
    if (Event* a = findEvent(from)) erase(a->upgraded_to, to);
    if (Event* b = findEvent(to)) erase(b->upgraded_from, from);
  }
  segment_links_.clear();
  for (const std::string& from : segment_upgraded_) {
    const Event* old = findEvent(from);
    if (old == nullptr) continue;
    std::vector<std::string> same;
    std::vector<std::string> other;
    for (const std::string& to : segment_new_) {
      const Event* replacement = findEvent(to);
      if (replacement == nullptr || to == from) continue;
      if (replacement->key.phenomenon == old->key.phenomenon) {
        same.push_back(to);
      } else if (replacement->tier <= old->tier) {
        other.push_back(to);
      }
    }
    for (const std::string& to : same.empty() ? other : same) segment_links_.emplace_back(from, to);
  }
  for (const auto& [from, to] : segment_links_) {
    if (Event* a = findEvent(from)) addUnique(a->upgraded_to, to);
    if (Event* b = findEvent(to)) addUnique(b->upgraded_from, from);
  }
}

ApplyResult ActiveState::applyProductEvent(const EventUpdate& u, std::int64_t t) {
  if (u.tier > Tier::kAdvisory) return {ApplyOutcome::kIgnoredRoutine, {}};
  bool anyExpiry = u.expires_unix_s != 0;
  for (std::int64_t x : u.ugc_expires_unix_s) anyExpiry = anyExpiry || x != 0;
  if (!anyExpiry) return {ApplyOutcome::kIgnoredNoExpiry, {}};
  EventKey ek{u.office, u.phenomenon, u.significance, 0, u.awips_id + "-" + u.wmo_ddhhmm, yearOf(t)};
  if (u.awips_id.empty() || u.wmo_ddhhmm.empty()) ek.product = "UNKNOWN-" + std::to_string(t);
  const std::string key = ek.str();
  Event* e = findEvent(key);
  const std::string source = u.sourceId();
  if (e != nullptr) {
    for (const HistoryEntry& h : e->history) {
      if (h.source_id == source) return {ApplyOutcome::kDuplicate, key};
    }
  }
  const bool created = e == nullptr;
  if (created) {
    e = &events_[key];
    e->key = ek;
  }
  const std::string product = productIdOf(u);
  // A correction (same AWIPS ID and DDHHMM) replaces the areas and times.
  for (std::size_t i = 0; i < u.ugc.size(); ++i) {
    const std::int64_t expires = i < u.ugc_expires_unix_s.size() ? u.ugc_expires_unix_s[i] : u.expires_unix_s;
    if (expires == 0) continue;
    const std::string& code = u.ugc[i];
    auto it = std::find_if(e->ugcs.begin(), e->ugcs.end(), [&](const UgcState& s) { return s.code == code; });
    if (it == e->ugcs.end()) {
      e->ugcs.push_back(UgcState{code, {}, UgcStatus::kInEffect, 0, 0, 0, {}, {}});
      it = e->ugcs.end() - 1;
      index(*e, code);
    }
    it->windows.assign(1, Window{t, expires});
    it->status = UgcStatus::kInEffect;
    it->ended_unix_s = 0;
    it->last_issued_unix_s = t;
    it->expires_unix_s = expires;
    it->last_action.clear();
    it->last_product = product;
  }
  e->event_name = u.event_name;
  e->tier = u.tier;
  e->headline = u.headline;
  e->emergency_tags = u.emergency_tags;
  e->emergency_confirmed = u.emergency_confirmed;
  e->is_pds = u.is_pds;
  e->polygon = u.polygon;
  e->last_action.clear();
  if (e->first_issued_unix_s == 0) e->first_issued_unix_s = t;
  e->last_issued_unix_s = std::max(e->last_issued_unix_s, t);
  HistoryEntry h{t,          {},         u.ugc,       u.begin_unix_s, u.end_unix_s,  u.expires_unix_s,
                 u.awips_id, u.wmo_ddhhmm, u.wmo_bbb, u.filename,     u.file_sha256, u.segment_index,
                 u.vtec,     source};
  if (options_.max_history > 1 && e->history.size() >= options_.max_history) e->history.erase(e->history.begin() + 1);
  e->history.push_back(std::move(h));
  return {created ? ApplyOutcome::kCreated : ApplyOutcome::kUpdated, key};
}

void ActiveState::pruneIfDue() {
  if (options_.auto_prune_every == 0) return;
  if (++since_prune_ < options_.auto_prune_every) return;
  since_prune_ = 0;
  prune(latest_issued_);
}

std::size_t ActiveState::prune(std::int64_t now) {
  // When each event stops mattering: 0 while it is (or will be) in effect.
  auto finishedAt = [&](const Event& e) -> std::int64_t {
    std::int64_t last = e.last_issued_unix_s;
    for (const UgcState& st : e.ugcs) {
      for (const Window& w : st.windows) {
        const std::int64_t stop = stopOf(w, st);
        if (stop == 0) {
          // Open-ended: alive until abandoned (no product past its UGC expiry).
          const std::int64_t since = st.expires_unix_s != 0 ? st.expires_unix_s : st.last_issued_unix_s;
          if (since + options_.abandon_open_s > now) return 0;
          last = std::max(last, since + options_.abandon_open_s - options_.retain_ended_s);
          continue;
        }
        if (stop > now) return 0;
        last = std::max(last, stop);
      }
    }
    return last;
  };
  std::size_t dropped = 0;
  std::vector<std::pair<std::int64_t, std::string>> candidates;  // (finished at or max, key) for the cap
  for (auto it = events_.begin(); it != events_.end();) {
    const std::int64_t finished = finishedAt(it->second);
    if (finished != 0 && finished + options_.retain_ended_s <= now) {
      unindex(it->second);
      it = events_.erase(it);
      ++dropped;
      continue;
    }
    ++it;
  }
  if (events_.size() > options_.max_events) {
    for (const auto& [key, e] : events_) {
      const std::int64_t finished = finishedAt(e);
      // Finished events first (by when), then live ones (by last product).
      candidates.emplace_back(finished != 0 ? finished : e.last_issued_unix_s + (std::int64_t{1} << 40), key);
    }
    std::sort(candidates.begin(), candidates.end());
    const std::size_t excess = events_.size() - options_.max_events;
    for (std::size_t i = 0; i < excess; ++i) {
      auto it = events_.find(candidates[i].second);
      unindex(it->second);
      events_.erase(it);
      ++dropped;
    }
  }
  stats_.pruned += dropped;
  return dropped;
}

ActiveEvent ActiveState::view(const Event& e, std::int64_t at, const QueryOptions& options, bool& include) const {
  ActiveEvent v;
  include = false;
  bool anyActive = false;
  bool open = false;
  for (const UgcState& st : e.ugcs) {
    bool active = false;
    bool pending = false;
    for (const Window& w : st.windows) {
      if (activeAt(w, st, at)) {
        active = true;
      } else if (options.include_pending && pendingAt(w, st, at)) {
        pending = true;
      } else {
        continue;
      }
      const std::int64_t stop = stopOf(w, st);
      if (v.begin_unix_s == 0 || w.begin_unix_s < v.begin_unix_s) v.begin_unix_s = w.begin_unix_s;
      if (stop == 0) {
        open = true;
        if (st.expires_unix_s != 0 && at > st.expires_unix_s) v.stale = true;
      } else {
        v.end_unix_s = std::max(v.end_unix_s, stop);
      }
    }
    if (!active && !pending) continue;
    anyActive = anyActive || active;
    v.ugc.push_back(st.code);
    v.expires_unix_s = std::max(v.expires_unix_s, st.expires_unix_s);
  }
  if (v.ugc.empty()) return v;
  include = true;
  if (open) v.end_unix_s = 0;
  v.pending = !anyActive;
  v.key = e.key.str();
  v.event_key = e.key;
  v.event_name = e.event_name;
  v.tier = e.tier;
  v.headline = e.headline;
  v.emergency_tags = e.emergency_tags;
  v.emergency_confirmed = e.emergency_confirmed;
  v.is_pds = e.is_pds;
  v.last_action = e.last_action;
  v.first_issued_unix_s = e.first_issued_unix_s;
  v.last_issued_unix_s = e.last_issued_unix_s;
  v.polygon = e.polygon;
  if (!e.history.empty()) {
    v.awips_id = e.history.back().awips_id;
    v.filename = e.history.back().filename;
    v.file_sha256 = e.history.back().file_sha256;
  }
  return v;
}

std::vector<ActiveEvent> ActiveState::forUgc(std::string_view code, std::int64_t at, QueryOptions options) const {
  std::vector<ActiveEvent> out;
  auto it = by_ugc_.find(std::string(code));
  if (it == by_ugc_.end()) return out;
  for (const Event* e : it->second) {
    bool include = false;
    ActiveEvent v = view(*e, at, options, include);
    if (!include || std::find(v.ugc.begin(), v.ugc.end(), code) == v.ugc.end()) continue;
    v.matched_by = MatchKind::kUgc;
    v.matched_ugc = std::string(code);
    out.push_back(std::move(v));
  }
  sortResults(out);
  return out;
}

std::vector<ActiveEvent> ActiveState::forPoint(double lat, double lon, double distance_km, std::int64_t at,
                                               QueryOptions options) const {
  std::vector<ActiveEvent> out;
  if (!(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180)) return out;  // also rejects NaN
  for (const auto& [key, e] : events_) {
    bool include = false;
    ActiveEvent v = view(e, at, options, include);
    if (!include) continue;
    if (v.polygon.size() >= 4) {
      if (!insidePolygon(v.polygon, lat, lon)) continue;
      v.matched_by = MatchKind::kPolygon;
      out.push_back(std::move(v));
      continue;
    }
    if (!(distance_km > 0)) continue;
    double best = -1;
    for (const std::string& code : v.ugc) {
      const products::UgcPlace* place = products::findUgc(code);
      if (place == nullptr) continue;
      const double d = distanceKm(lat, lon, place->lat_deg, place->lon_deg);
      if (d <= distance_km && (best < 0 || d < best)) {
        best = d;
        v.matched_ugc = code;
      }
    }
    if (best < 0) continue;
    v.matched_by = MatchKind::kCentroid;
    v.distance_km = best;
    out.push_back(std::move(v));
  }
  sortResults(out);
  return out;
}

std::vector<ActiveEvent> ActiveState::all(std::int64_t at, QueryOptions options) const {
  std::vector<ActiveEvent> out;
  for (const auto& [key, e] : events_) {
    bool include = false;
    ActiveEvent v = view(e, at, options, include);
    if (include) out.push_back(std::move(v));
  }
  sortResults(out);
  return out;
}

std::optional<Event> ActiveState::event(std::string_view key) const {
  auto it = events_.find(std::string(key));
  if (it == events_.end()) return std::nullopt;
  return it->second;
}

ActiveStateStats ActiveState::stats() const {
  ActiveStateStats s = stats_;
  s.events = events_.size();
  s.ugc_entries = 0;
  for (const auto& [key, e] : events_) s.ugc_entries += e.ugcs.size();
  return s;
}

nlohmann::json ActiveState::snapshot() const {
  nlohmann::json events = nlohmann::json::array();
  for (const auto& [key, e] : events_) events.push_back(snapshotOf(e));
  return {{"version", kSnapshotVersion}, {"latest_issued", latest_issued_}, {"events", events}};
}

bool ActiveState::restore(const nlohmann::json& snapshot, std::string& error) {
  try {
    if (snapshot.at("version").get<int>() != kSnapshotVersion) {
      error = "unsupported snapshot version";
      return false;
    }
    std::map<std::string, Event> events;
    for (const auto& j : snapshot.at("events")) {
      Event e = eventFrom(j);
      std::string key = e.key.str();
      if (!events.emplace(key, std::move(e)).second) {
        error = "duplicate event " + key;
        return false;
      }
    }
    const std::int64_t latest = snapshot.at("latest_issued").get<std::int64_t>();
    events_ = std::move(events);
    latest_issued_ = latest;
    by_ugc_.clear();
    for (auto& [key, e] : events_) {
      for (const UgcState& st : e.ugcs) index(e, st.code);
    }
    stats_ = {};
    since_prune_ = 0;
    segment_source_.clear();
    segment_upgraded_.clear();
    segment_new_.clear();
    segment_links_.clear();
    return true;
  } catch (const std::exception& ex) {
    error = std::string("bad snapshot: ") + ex.what();
    return false;
  }
}

// --- SharedActiveState ------------------------------------------------------

ApplyResult SharedActiveState::apply(const EventUpdate& update) {
  std::unique_lock lock(mutex_);
  return state_.apply(update);
}

std::vector<ActiveEvent> SharedActiveState::forUgc(std::string_view code, std::int64_t at, QueryOptions o) const {
  std::shared_lock lock(mutex_);
  return state_.forUgc(code, at, o);
}

std::vector<ActiveEvent> SharedActiveState::forPoint(double lat, double lon, double distance_km, std::int64_t at,
                                                     QueryOptions o) const {
  std::shared_lock lock(mutex_);
  return state_.forPoint(lat, lon, distance_km, at, o);
}

std::vector<ActiveEvent> SharedActiveState::all(std::int64_t at, QueryOptions o) const {
  std::shared_lock lock(mutex_);
  return state_.all(at, o);
}

std::optional<Event> SharedActiveState::event(std::string_view key) const {
  std::shared_lock lock(mutex_);
  return state_.event(key);
}

std::int64_t SharedActiveState::latestIssued() const {
  std::shared_lock lock(mutex_);
  return state_.latestIssued();
}

// --- JSON views -------------------------------------------------------------

nlohmann::json activeEventToJson(const ActiveEvent& e) {
  nlohmann::json j = {{"key", e.key},
                      {"event_name", e.event_name},
                      {"tier", products::tierName(e.tier)},
                      {"headline", e.headline},
                      {"emergency_tags", e.emergency_tags},
                      {"emergency_confirmed", e.emergency_confirmed},
                      {"is_pds", e.is_pds},
                      {"last_action", e.last_action},
                      {"first_issued", timeJson(e.first_issued_unix_s)},
                      {"last_issued", timeJson(e.last_issued_unix_s)},
                      {"begin", timeJson(e.begin_unix_s)},
                      {"end", timeJson(e.end_unix_s)},
                      {"expires", timeJson(e.expires_unix_s)},
                      {"pending", e.pending},
                      {"stale", e.stale},
                      {"ugc", e.ugc},
                      {"polygon", pointsJson(e.polygon)},
                      {"matched_by", matchName(e.matched_by)},
                      {"awips_id", e.awips_id},
                      {"filename", e.filename}};
  if (!e.matched_ugc.empty()) j["matched_ugc"] = e.matched_ugc;
  if (e.matched_by == MatchKind::kCentroid) j["distance_km"] = std::round(e.distance_km * 10) / 10;
  return j;
}

nlohmann::json eventToJson(const Event& e) {
  nlohmann::json ugcs = nlohmann::json::array();
  for (const UgcState& st : e.ugcs) {
    nlohmann::json windows = nlohmann::json::array();
    for (const Window& w : st.windows) windows.push_back({timeJson(w.begin_unix_s), timeJson(w.end_unix_s)});
    ugcs.push_back({{"code", st.code},
                    {"status", statusName(st.status)},
                    {"windows", windows},
                    {"ended", timeJson(st.ended_unix_s)},
                    {"expires", timeJson(st.expires_unix_s)},
                    {"last_action", st.last_action}});
  }
  nlohmann::json history = nlohmann::json::array();
  for (const HistoryEntry& h : e.history) {
    history.push_back({{"issued", timeJson(h.issued_unix_s)},
                       {"action", h.action},
                       {"ugc", h.ugc},
                       {"begin", timeJson(h.begin_unix_s)},
                       {"end", timeJson(h.end_unix_s)},
                       {"awips_id", h.awips_id},
                       {"filename", h.filename},
                       {"segment", h.segment_index},
                       {"vtec", h.vtec}});
  }
  return {{"key", e.key.str()},
          {"event_name", e.event_name},
          {"tier", products::tierName(e.tier)},
          {"last_action", e.last_action},
          {"first_issued", timeJson(e.first_issued_unix_s)},
          {"last_issued", timeJson(e.last_issued_unix_s)},
          {"upgraded_to", e.upgraded_to},
          {"upgraded_from", e.upgraded_from},
          {"ugcs", ugcs},
          {"history", history}};
}

// --- Pieces of a snapshot ----------------------------------------------------

nlohmann::json eventSnapshot(const Event& e) { return snapshotOf(e); }

nlohmann::json makeSnapshot(nlohmann::json events, std::int64_t latest_issued) {
  return {{"version", kSnapshotVersion}, {"latest_issued", latest_issued}, {"events", std::move(events)}};
}

std::int64_t windowStop(const Window& w, const UgcState& st) { return stopOf(w, st); }

}  // namespace emwin::alerts
