#include "active_alerts.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>

#include "alerts/event_update.h"
#include "archive/reader.h"
#include "products/reference.h"

namespace emwin::gateway {
namespace {

void addUnique(std::vector<std::string>& v, std::string s) {
  if (!s.empty() && std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
}

void addOfficeInfo(Json& j, const std::string& office) {
  j["office"] = office;
  if (const products::OfficeInfo* o = products::findOffice(office)) {
    j["office_name"] = std::string(o->name);
    j["office_state"] = std::string(o->state);
  } else {
    j["office_name"] = nullptr;
    j["office_state"] = nullptr;
  }
}

}  // namespace

Json areaJson(const std::string& code) {
  Json a = Json::object();
  a["code"] = code;
  if (const products::UgcPlace* p = products::findUgc(code)) {
    a["name"] = std::string(p->name);
    a["kind"] = p->county ? "county" : "zone";
    a["state"] = code.substr(0, 2);
    a["lat"] = p->lat_deg;
    a["lon"] = p->lon_deg;
  } else {
    a["name"] = nullptr;
    a["kind"] = code.size() > 2 && code[2] == 'C' ? "county" : "zone";
    a["state"] = code.substr(0, 2);
    a["lat"] = nullptr;
    a["lon"] = nullptr;
  }
  return a;
}

EventFacts activeFacts(const alerts::ActiveEvent& e) {
  EventFacts f;
  const alerts::EventKey& k = e.event_key;
  f.topic = "alert." + k.phenomenon + "." + k.significance + "." + k.office;
  f.awips_id = e.awips_id;
  f.product_code = e.awips_id.substr(0, std::min<std::size_t>(3, e.awips_id.size()));
  addUnique(f.offices, k.office);
  if (k.office.size() == 4) addUnique(f.offices, k.office.substr(1));
  if (e.awips_id.size() > 3) addUnique(f.offices, e.awips_id.substr(3));
  for (const auto& u : e.ugc) {
    if (u.size() >= 2) addUnique(f.states, u.substr(0, 2));
    f.ugc.push_back(u);
    if (const products::UgcPlace* p = products::findUgc(u)) f.centroids.push_back({p->lat_deg, p->lon_deg});
  }
  f.phenomenon = k.phenomenon;
  f.significance = k.significance;
  f.action = e.last_action;
  f.tier = static_cast<int>(e.tier);
  for (const auto& p : e.polygon) f.polygon.push_back({p.lat_deg, p.lon_deg});
  return f;
}

ActiveAlerts::ActiveAlerts(alerts::ActiveStateOptions options) : state_(options) {}

std::string ActiveAlerts::apply(const emwin::bus::v1::Alert& alert) {
  const alerts::ApplyResult r = state_.apply(alerts::updateFromAlert(alert));
  switch (r.outcome) {
    case alerts::ApplyOutcome::kCreated:
    case alerts::ApplyOutcome::kUpdated:
    case alerts::ApplyOutcome::kDuplicate:
    case alerts::ApplyOutcome::kStale:
      ++applied_;
      return r.key;
    default:
      ++ignored_;
      return {};
  }
}

Json ActiveAlerts::query(const Filter& filter, std::int64_t at, bool pending,
                         const std::function<std::string(const std::string&)>& file_url) const {
  alerts::QueryOptions qo;
  qo.include_pending = pending;
  Filter rest = filter;
  std::vector<alerts::ActiveEvent> events;
  if (filter.point) {
    // The library's point query: inside the polygon, or (no polygon) an
    // in-effect county/zone centroid within the distance.
    events = state_.forPoint(filter.point->lat, filter.point->lon, filter.distance_km, at, qo);
    rest.point.reset();
  } else if (filter.ugc.size() == 1) {
    events = state_.forUgc(filter.ugc.front(), at, qo);
    rest.ugc.clear();
  } else {
    events = state_.all(at, qo);
  }
  Json out = Json::array();
  for (const alerts::ActiveEvent& e : events) {
    if (!rest.matches(activeFacts(e))) continue;
    Json j = alerts::activeEventToJson(e);
    j["tier_level"] = static_cast<int>(e.tier);
    addOfficeInfo(j, e.event_key.office);
    j["phenomenon"] = e.event_key.phenomenon;
    j["significance"] = e.event_key.significance;
    Json areas = Json::array();
    for (const auto& u : e.ugc) areas.push_back(areaJson(u));
    j["areas"] = std::move(areas);
    j["url"] = "/alerts/" + e.key;
    const std::string f = e.filename.empty() ? std::string() : file_url(e.filename);
    j["file_url"] = f.empty() ? Json(nullptr) : Json(f);
    out.push_back(std::move(j));
  }
  return out;
}

std::optional<Json> ActiveAlerts::event(const std::string& key, std::int64_t at) const {
  const auto e = state_.event(key);
  if (!e) return std::nullopt;
  Json j = alerts::eventToJson(*e);
  j["tier_level"] = static_cast<int>(e->tier);
  j["headline"] = e->headline;
  addOfficeInfo(j, e->key.office);
  Json polygon = Json::array();
  for (const auto& p : e->polygon) polygon.push_back(Json::array({p.lat_deg, p.lon_deg}));
  j["polygon"] = std::move(polygon);
  Json areas = Json::array();
  for (const auto& u : e->ugcs) areas.push_back(areaJson(u.code));
  j["areas"] = std::move(areas);
  bool in_effect = false;
  for (const auto& a : state_.all(at)) in_effect = in_effect || a.key == key;
  j["in_effect"] = in_effect;
  j["at"] = isoTime(at);
  return j;
}

bool ActiveAlerts::save(const std::string& path, std::string& error) const {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << state_.snapshot().dump();
    out.flush();
    if (!out) {
      error = "cannot write " + tmp;
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    error = "cannot rename " + tmp + ": " + ec.message();
    return false;
  }
  return true;
}

bool ActiveAlerts::load(const std::string& path, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = "no snapshot at " + path;
    return false;
  }
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) {
    error = path + " is not JSON";
    return false;
  }
  return state_.restore(j, error);
}

bool ActiveAlerts::loadArchive(archive::Reader& reader, std::string& error) {
  return reader.loadActiveState(state_, error);  // restore(): unchanged on failure
}

}  // namespace emwin::gateway
