#include "event.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "products/product.h"

namespace emwin::gateway {
namespace v1 = emwin::bus::v1;
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

void addUnique(std::vector<std::string>& v, std::string s) {
  if (s.empty()) return;
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
}

// "KDMX" -> also "DMX"; "DMX" stays.
void addOffice(std::vector<std::string>& offices, std::string_view code) {
  std::string u = upper(code);
  if (u.empty()) return;
  if (u.size() == 4) addUnique(offices, u.substr(1));
  addUnique(offices, std::move(u));
}

bool isAlpha2(std::string_view s) {
  return s.size() >= 2 && std::isalpha(static_cast<unsigned char>(s[0])) &&
         std::isalpha(static_cast<unsigned char>(s[1]));
}

Json timeField(std::int64_t unix_s) { return unix_s == 0 ? Json(nullptr) : Json(isoTime(unix_s)); }

Json polygonJson(const google::protobuf::RepeatedPtrField<v1::LatLon>& points) {
  Json out = Json::array();
  for (const auto& p : points) out.push_back(Json::array({p.lat_deg(), p.lon_deg()}));
  return out;
}

// [{"code","name","lat","lon"}]; name/lat/lon null for codes the reference table does not know.
Json areasJson(const google::protobuf::RepeatedPtrField<v1::UgcArea>& areas) {
  Json out = Json::array();
  for (const auto& a : areas) {
    out.push_back(Json{{"code", a.code()},
                       {"name", a.known() ? Json(a.name()) : Json(nullptr)},
                       {"lat", a.known() ? Json(a.lat_deg()) : Json(nullptr)},
                       {"lon", a.known() ? Json(a.lon_deg()) : Json(nullptr)}});
  }
  return out;
}

}  // namespace

std::string_view kindName(EventKind kind) noexcept {
  switch (kind) {
    case EventKind::kAlert: return "alert";
    case EventKind::kFile: return "file";
    case EventKind::kStats: return "stats";
  }
  return "unknown";
}

std::size_t Event::bytes() const noexcept {
  std::size_t n = sizeof(Event) + (json ? json->capacity() : 0) + (sse ? sse->capacity() : 0);
  n += facts.topic.capacity() + facts.product_code.capacity() + facts.awips_id.capacity();
  for (const auto& s : facts.offices) n += sizeof(s) + s.capacity();
  for (const auto& s : facts.states) n += sizeof(s) + s.capacity();
  for (const auto& s : facts.ugc) n += sizeof(s) + s.capacity();
  n += (facts.polygon.capacity() + facts.centroids.capacity()) * sizeof(GeoPoint);
  return n;
}

std::string eventId(std::uint64_t epoch, std::uint64_t seq) {
  return std::to_string(epoch) + "-" + std::to_string(seq);
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> parseEventId(std::string_view id) {
  const auto dash = id.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 >= id.size()) return std::nullopt;
  std::uint64_t epoch = 0;
  std::uint64_t seq = 0;
  const char* b = id.data();
  auto r1 = std::from_chars(b, b + dash, epoch);
  if (r1.ec != std::errc() || r1.ptr != b + dash) return std::nullopt;
  auto r2 = std::from_chars(b + dash + 1, b + id.size(), seq);
  if (r2.ec != std::errc() || r2.ptr != b + id.size()) return std::nullopt;
  return std::make_pair(epoch, seq);
}

EventPtr makeEvent(EventKind kind, std::uint64_t epoch, std::uint64_t seq, EventFacts facts, const Json& body) {
  auto e = std::make_shared<Event>();
  e->seq = seq;
  e->kind = kind;
  e->facts = std::move(facts);
  const std::string id = eventId(epoch, seq);
  Json full = Json::object();
  full["type"] = kindName(kind);
  full["id"] = id;
  for (const auto& [k, v] : body.items()) full[k] = v;
  std::string text = full.dump(-1, ' ', false, Json::error_handler_t::replace);
  e->sse = http::shareText(http::sseFrame(kindName(kind), id, text));
  e->json = http::shareText(std::move(text));
  return e;
}

Notice makeNotice(std::string_view type, const Json& body) {
  Json full = Json::object();
  full["type"] = type;
  for (const auto& [k, v] : body.items()) full[k] = v;
  std::string text = full.dump(-1, ' ', false, Json::error_handler_t::replace);
  Notice n;
  n.sse = http::shareText(http::sseFrame(type, "", text));
  n.json = http::shareText(std::move(text));
  return n;
}

std::string_view tierName(int tier) noexcept {
  switch (tier) {
    case 1: return "emergency";
    case 2: return "warning";
    case 3: return "watch";
    case 4: return "advisory";
    case 5: return "statement";
    case 6: return "routine";
    case 7: return "test";
    default: return "";
  }
}

std::optional<int> parseTier(std::string_view text) noexcept {
  if (text.size() == 1 && text[0] >= '1' && text[0] <= '7') return text[0] - '0';
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (int t = 1; t <= 7; ++t) {
    if (lower == tierName(t)) return t;
  }
  return std::nullopt;
}

std::string isoTime(std::int64_t unix_s) { return unix_s == 0 ? std::string() : products::isoUtc(unix_s); }

// ---------------------------------------------------------------- alerts

EventFacts alertFacts(const v1::Alert& a, std::string_view topic) {
  EventFacts f;
  f.topic = std::string(topic);
  f.product_code = upper(a.product_code());
  f.awips_id = upper(a.awips_id());
  addOffice(f.offices, a.office());
  addOffice(f.offices, a.office_code());
  addOffice(f.offices, a.wmo_cccc());
  if (a.awips_id().size() > 3) addOffice(f.offices, std::string_view(a.awips_id()).substr(3));
  f.ugc.reserve(a.ugc_size());
  for (const auto& code : a.ugc()) {
    std::string u = upper(code);
    if (isAlpha2(u)) addUnique(f.states, u.substr(0, 2));
    f.ugc.push_back(std::move(u));
  }
  f.phenomenon = upper(a.phenomenon());
  f.significance = upper(a.significance());
  f.action = upper(a.action());
  f.tier = static_cast<int>(a.tier());
  f.is_test = a.is_test() || topic.rfind("test.", 0) == 0 || a.vtec_product_class() == "T";
  f.polygon.reserve(a.polygon_size());
  for (const auto& p : a.polygon()) f.polygon.push_back({p.lat_deg(), p.lon_deg()});
  // County/zone centres from the reference table (the classifier fills ugc_areas).
  for (const auto& area : a.ugc_areas()) {
    if (area.known()) f.centroids.push_back({area.lat_deg(), area.lon_deg()});
  }
  return f;
}

Json alertJson(const v1::Alert& a, std::string_view topic, std::string_view event_key) {
  Json j = Json::object();
  j["topic"] = topic;
  j["event_key"] = event_key;
  j["event_name"] = a.event_name();
  j["tier"] = tierName(static_cast<int>(a.tier()));
  j["tier_level"] = static_cast<int>(a.tier());
  j["headline"] = a.headline();
  j["office"] = a.office();
  j["office_code"] = a.office_code();
  j["office_name"] = a.office_name();
  j["office_city"] = a.office_city();
  j["office_state"] = a.office_state();
  j["awips_id"] = a.awips_id();
  j["product_code"] = a.product_code();
  j["product_name"] = a.product_name();
  j["product_title"] = a.product_title();
  j["phenomenon"] = a.phenomenon();
  j["significance"] = a.significance();
  j["phenomenon_name"] = a.phenomenon_name();
  j["significance_name"] = a.significance_name();
  j["action"] = a.action();
  j["etn"] = a.event_tracking_number();
  j["vtec"] = a.vtec();
  j["vtec_class"] = a.vtec_product_class();
  j["issued"] = timeField(a.issued_unix_s());
  j["begins"] = timeField(a.begin_unix_s());
  j["ends"] = timeField(a.end_unix_s());
  j["expires"] = timeField(a.expires_unix_s());
  j["issued_unix_s"] = a.issued_unix_s();
  j["begins_unix_s"] = a.begin_unix_s();
  j["ends_unix_s"] = a.end_unix_s();
  j["expires_unix_s"] = a.expires_unix_s();
  j["ugc"] = Json::array();
  for (const auto& u : a.ugc()) j["ugc"].push_back(u);
  j["areas"] = areasJson(a.ugc_areas());
  j["polygon"] = polygonJson(a.polygon());
  if (a.segments_size() > 0) {
    Json segments = Json::array();
    for (const auto& seg : a.segments()) {
      segments.push_back(Json{{"index", seg.index()},
                              {"areas", areasJson(seg.ugc())},
                              {"expires", timeField(seg.expires_unix_s())},
                              {"headline", seg.headline()},
                              {"polygon", polygonJson(seg.polygon())}});
    }
    j["segments"] = std::move(segments);
  }
  if (a.has_motion() && (a.motion().speed_kt() > 0 || a.motion().locations_size() > 0)) {
    Json m = Json::object();
    m["time"] = timeField(a.motion().time_unix_s());
    m["direction_deg"] = a.motion().direction_deg();
    m["speed_kt"] = a.motion().speed_kt();
    m["locations"] = polygonJson(a.motion().locations());
    j["motion"] = std::move(m);
  }
  Json threats = Json::object();
  const auto& t = a.threats();
  const auto* desc = t.GetDescriptor();
  const auto* refl = t.GetReflection();
  for (int i = 0; i < desc->field_count(); ++i) {
    const auto* field = desc->field(i);
    if (field->type() != google::protobuf::FieldDescriptor::TYPE_STRING) continue;
    const std::string value = refl->GetString(t, field);
    if (!value.empty()) threats[field->name()] = value;
  }
  j["threats"] = std::move(threats);
  j["emergency_tags"] = Json::array();
  for (const auto& e : a.emergency_tags()) j["emergency_tags"].push_back(e);
  j["emergency_confirmed"] = a.emergency_confirmed();
  j["is_pds"] = a.is_pds();
  j["is_cancellation"] = a.is_cancellation();
  j["is_expiration"] = a.is_expiration();
  j["is_test"] = a.is_test() || topic.rfind("test.", 0) == 0 || a.vtec_product_class() == "T";
  j["test_reason"] = a.test_reason();
  j["hvtec"] = a.hvtec();
  if (a.hvtec_records_size() > 0) {
    Json records = Json::array();
    for (const auto& h : a.hvtec_records()) {
      Json r{{"raw", h.raw()},
             {"nwsli", h.nwsli()},
             {"severity", h.severity()},
             {"severity_name", h.severity_name()},
             {"immediate_cause", h.immediate_cause_name()},
             {"begins", timeField(h.begin_unix_s())},
             {"crest", timeField(h.crest_unix_s())},
             {"ends", timeField(h.end_unix_s())},
             {"flood_record", h.flood_record_name()}};
      if (h.point_known()) {
        r["point"] = Json{{"stream", h.stream()}, {"proximity", h.proximity()}, {"place", h.place()},
                          {"state", h.state()}, {"lat", h.point().lat_deg()}, {"lon", h.point().lon_deg()}};
      }
      records.push_back(std::move(r));
    }
    j["hvtec_records"] = std::move(records);
  }
  j["segment_index"] = a.segment_index();
  j["wmo"] = Json{{"ttaaii", a.wmo_ttaaii()}, {"cccc", a.wmo_cccc()}, {"ddhhmm", a.wmo_ddhhmm()}, {"bbb", a.wmo_bbb()}};
  j["filename"] = a.filename();
  j["file_sha256"] = a.file_sha256();
  j["parse_issues"] = Json::array();
  for (const auto& p : a.parse_issues()) j["parse_issues"].push_back(p);
  j["bus"] = Json{{"producer", a.header().producer_id()},
                  {"epoch", a.header().epoch()},
                  {"sequence", a.header().sequence()},
                  {"produced_unix_us", a.header().produced_unix_us()}};
  return j;
}

// ---------------------------------------------------------------- files

FileHeading readHeading(const v1::CompletedFile& file) {
  FileHeading h;
  if (file.is_archive()) return h;
  const std::string& data = file.data();
  const std::size_t sniff = std::min<std::size_t>(data.size(), 512);
  if (sniff == 0) return h;
  std::size_t odd = 0;
  for (std::size_t i = 0; i < sniff; ++i) {
    const auto c = static_cast<unsigned char>(data[i]);
    if (c == 0) return h;  // binary
    if (c < 0x20 && c != '\r' && c != '\n' && c != '\t' && c != 0x01 && c != 0x03) ++odd;
    if (c >= 0x7f) ++odd;
  }
  if (odd * 20 > sniff) return h;  // more than 5% unusual bytes: not a text product
  const products::ParsedProduct p =
      products::parseProduct(std::string_view(data).substr(0, std::min<std::size_t>(data.size(), 2048)),
                             file.fd_unix_s());
  h.wmo_ttaaii = p.wmo.ttaaii;
  h.wmo_cccc = p.wmo.cccc;
  h.wmo_ddhhmm = p.wmo.ddhhmm;
  h.wmo_bbb = p.wmo.bbb;
  h.awips_id = p.awips_id;
  h.product_code = p.product_code;
  h.product_name = p.product_name;
  return h;
}

EventFacts fileFacts(const v1::CompletedFile& file, std::string_view topic, const FileHeading& h) {
  (void)file;
  EventFacts f;
  f.topic = std::string(topic);
  f.product_code = upper(h.product_code);
  f.awips_id = upper(h.awips_id);
  addOffice(f.offices, h.wmo_cccc);
  if (h.awips_id.size() > 3) addOffice(f.offices, std::string_view(h.awips_id).substr(3));
  return f;
}

Json fileJson(const v1::CompletedFile& file, std::string_view topic, const FileHeading& h, bool downloadable) {
  Json j = Json::object();
  j["topic"] = topic;
  j["name"] = file.filename();
  j["size"] = file.size_bytes();
  j["sha256"] = file.sha256();
  j["fd"] = timeField(file.fd_unix_s());
  j["fd_unix_s"] = file.fd_unix_s();
  j["received_unix_us"] = file.last_segment_unix_us();
  j["blocks"] = file.block_count();
  j["source"] = file.source();
  j["is_archive"] = file.is_archive();
  if (file.origin() == v1::FILE_ORIGIN_ARCHIVE_ENTRY) j["archive"] = file.archive().archive_name();
  j["awips_id"] = h.awips_id;
  j["product_code"] = h.product_code;
  j["product_name"] = h.product_name;
  j["wmo"] = Json{{"ttaaii", h.wmo_ttaaii}, {"cccc", h.wmo_cccc}, {"ddhhmm", h.wmo_ddhhmm}, {"bbb", h.wmo_bbb}};
  j["url"] = downloadable ? Json("/files/" + file.filename()) : Json(nullptr);
  j["bus"] = Json{{"producer", file.header().producer_id()},
                  {"epoch", file.header().epoch()},
                  {"sequence", file.header().sequence()},
                  {"produced_unix_us", file.header().produced_unix_us()}};
  return j;
}

// ---------------------------------------------------------------- stats

Json statsJson(const v1::StatsSummary& s) {
  Json j = Json::object();
  j["produced_unix_us"] = s.header().produced_unix_us();
  Json services = Json::array();
  for (const auto& svc : s.services()) {
    Json o = Json::object();
    o["service"] = svc.service();
    o["instance"] = svc.instance();
    std::string state = v1::ServiceState_Name(svc.state());
    if (state.rfind("SERVICE_STATE_", 0) == 0) state = state.substr(14);
    for (char& c : state) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    o["state"] = state;
    o["uptime_s"] = svc.uptime_s();
    // Sorted (protobuf maps have no order).
    std::vector<std::pair<std::string, std::uint64_t>> counters(svc.counters().begin(), svc.counters().end());
    std::sort(counters.begin(), counters.end());
    Json c = Json::object();
    for (const auto& [k, v] : counters) c[k] = v;
    o["counters"] = std::move(c);
    std::vector<std::pair<std::string, double>> gauges(svc.gauges().begin(), svc.gauges().end());
    std::sort(gauges.begin(), gauges.end());
    Json g = Json::object();
    for (const auto& [k, v] : gauges) g[k] = v;
    o["gauges"] = std::move(g);
    services.push_back(std::move(o));
  }
  j["services"] = std::move(services);
  std::vector<std::pair<std::string, double>> rates(s.rates().begin(), s.rates().end());
  std::sort(rates.begin(), rates.end());
  Json r = Json::object();
  for (const auto& [k, v] : rates) r[k] = v;
  j["rates"] = std::move(r);
  j["stale"] = Json::array();
  for (const auto& x : s.stale()) j["stale"].push_back(x);
  return j;
}

}  // namespace emwin::gateway
