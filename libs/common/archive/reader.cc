#include "archive/reader.h"

#include <algorithm>

namespace emwin::archive {
namespace {

// An ActiveState that keeps whatever it is given (queries only).
alerts::ActiveStateOptions queryStateOptions() {
  alerts::ActiveStateOptions o;
  o.auto_prune_every = 0;
  o.max_events = static_cast<std::size_t>(-1);
  return o;
}

bool matchesOffice(const alerts::ActiveEvent& e, const std::string& office) {
  if (office.empty()) return true;
  const std::string& o = e.event_key.office;
  return o == office || (o.size() == 4 && o.substr(1) == office);
}

}  // namespace

std::unique_ptr<Reader> Reader::open(const std::string& url) {
  std::string error;
  auto parsed = parseDatabaseUrl(url, error);
  if (!parsed) throw DatabaseError(DatabaseError::Kind::kFatal, error);
  auto reader = std::make_unique<Reader>(makeDatabase(*parsed, OpenMode::kRead));
  reader->connectIfNeeded();
  return reader;
}

Reader::Reader(std::unique_ptr<Database> database) : db_(std::move(database)) {}

void Reader::connectIfNeeded() {
  if (!db_->connected()) db_->connect();
}

std::vector<alerts::ActiveEvent> Reader::active(const ActiveFilter& f) {
  connectIfNeeded();
  const std::vector<std::string> candidates = db_->candidateEvents(f.query);
  nlohmann::json events = nlohmann::json::array();
  for (const std::string& text : candidates) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_discarded()) events.push_back(std::move(j));
  }
  alerts::ActiveState state(queryStateOptions());
  std::string error;
  if (!state.restore(alerts::makeSnapshot(std::move(events), 0), error)) {
    throw DatabaseError(DatabaseError::Kind::kFatal, "unreadable event rows: " + error);
  }
  const alerts::QueryOptions options{f.query.include_pending};
  std::vector<alerts::ActiveEvent> out;
  switch (f.query.where) {
    case Where::kAll: out = state.all(f.query.at_unix_s, options); break;
    case Where::kUgc: out = state.forUgc(f.query.ugc, f.query.at_unix_s, options); break;
    case Where::kPoint:
      out = state.forPoint(f.query.lat, f.query.lon, f.query.distance_km, f.query.at_unix_s, options);
      break;
  }
  std::erase_if(out, [&](const alerts::ActiveEvent& e) {
    return !matchesOffice(e, f.office) || (!f.phenomenon.empty() && e.event_key.phenomenon != f.phenomenon) ||
           (!f.significance.empty() && e.event_key.significance != f.significance) ||
           (f.max_tier > 0 && static_cast<int>(e.tier) > f.max_tier);
  });
  return out;
}

std::vector<ActiveAlert> Reader::activeAlerts(const ActiveFilter& f) {
  std::vector<alerts::ActiveEvent> events = active(f);
  std::vector<std::string> keys;
  keys.reserve(events.size());
  for (const auto& e : events) keys.push_back(e.key);
  std::vector<AlertRecord> latest = db_->latestAlerts(keys);
  std::vector<ActiveAlert> out;
  out.reserve(events.size());
  for (auto& e : events) {
    ActiveAlert a;
    auto it = std::find_if(latest.begin(), latest.end(), [&](const AlertRecord& r) { return r.event_key == e.key; });
    if (it != latest.end()) {
      a.alert = std::move(it->alert);
      a.received_unix_s = it->received_unix_s;
    }
    a.event = std::move(e);
    out.push_back(std::move(a));
  }
  return out;
}

std::optional<EventHistory> Reader::event(const std::string& key) {
  connectIfNeeded();
  EventHistory h;
  if (auto text = db_->eventState(key)) {
    alerts::ActiveState state(queryStateOptions());
    std::string error;
    nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
    if (!j.is_discarded() && state.restore(alerts::makeSnapshot(nlohmann::json::array({j}), 0), error)) {
      h.event = state.event(key);
    }
  }
  AlertQuery q;
  q.event_key = key;
  q.include_tests = true;
  q.limit = 0;
  q.oldest_first = true;
  q.time = TimeField::kProduct;
  h.alerts = db_->alerts(q);
  if (!h.event && h.alerts.empty()) return std::nullopt;
  return h;
}

bool Reader::loadActiveState(alerts::ActiveState& state, std::string& error) {
  connectIfNeeded();
  const std::int64_t latest = latestIssued();
  nlohmann::json events = nlohmann::json::array();
  for (const std::string& text : db_->liveEventStates(latest)) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) {
      error = "an event row is not JSON";
      return false;
    }
    events.push_back(std::move(j));
  }
  if (!state.restore(alerts::makeSnapshot(std::move(events), latest), error)) return false;
  state.prune(latest);
  return true;
}

std::int64_t Reader::latestIssued() {
  connectIfNeeded();
  const auto m = db_->meta("latest_issued");
  if (!m) return 0;
  try {
    return std::stoll(*m);
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace emwin::archive
