#include "archive/detail/columns.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

namespace emwin::archive::detail {
namespace v1 = emwin::bus::v1;

namespace {

std::string dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

}  // namespace

AlertColumns alertColumns(const AlertRecord& r) {
  const v1::Alert& a = r.alert;
  AlertColumns c;
  c.is_test = a.is_test() || a.tier() == v1::PRIORITY_TIER_TEST;
  c.tier = static_cast<int>(a.tier());
  c.office = cleanText(a.office());
  c.office_code = cleanText(a.office_code());
  c.phenomenon = cleanText(a.phenomenon());
  c.significance = cleanText(a.significance());
  c.etn = a.event_tracking_number();
  c.action = cleanText(a.action());
  c.vtec = cleanText(a.vtec());
  c.vtec_product_class = cleanText(a.vtec_product_class());
  c.hvtec = cleanText(a.hvtec());
  c.awips_id = cleanText(a.awips_id());
  c.product_code = cleanText(a.product_code());
  c.wmo_ttaaii = cleanText(a.wmo_ttaaii());
  c.wmo_cccc = cleanText(a.wmo_cccc());
  c.wmo_ddhhmm = cleanText(a.wmo_ddhhmm());
  c.wmo_bbb = cleanText(a.wmo_bbb());
  c.event_name = cleanText(a.event_name());
  c.headline = cleanText(a.headline());
  c.filename = cleanText(a.filename());
  c.file_sha256 = cleanText(a.file_sha256());
  c.segment_index = a.segment_index();
  c.issued = a.issued_unix_s();
  c.begin = a.begin_unix_s();
  c.end = a.end_unix_s();
  c.expires = a.expires_unix_s();
  for (const auto& code : a.ugc()) {
    std::string clean = cleanText(code);
    if (!c.ugc.empty()) c.ugc += ' ';
    c.ugc += clean;
    if (std::find(c.ugc_codes.begin(), c.ugc_codes.end(), clean) == c.ugc_codes.end()) {
      c.ugc_codes.push_back(std::move(clean));
    }
  }
  if (a.polygon_size() > 0) {
    nlohmann::json pts = nlohmann::json::array();
    std::vector<products::LatLon> ring;
    for (const auto& p : a.polygon()) {
      pts.push_back({p.lat_deg(), p.lon_deg()});
      ring.push_back({p.lat_deg(), p.lon_deg()});
    }
    c.polygon_json = dump(pts);
    c.polygon_wkt = polygonWkt(ring);
    c.box = boundingBox(ring);
  }
  if (a.has_motion()) {
    nlohmann::json locations = nlohmann::json::array();
    for (const auto& p : a.motion().locations()) locations.push_back({p.lat_deg(), p.lon_deg()});
    c.motion_json = dump({{"time_unix_s", a.motion().time_unix_s()},
                          {"direction_deg", a.motion().direction_deg()},
                          {"speed_kt", a.motion().speed_kt()},
                          {"locations", locations}});
  }
  if (a.has_threats()) {
    nlohmann::json threats = nlohmann::json::object();
    const auto* d = v1::ThreatTags::descriptor();
    const auto* refl = v1::ThreatTags::GetReflection();
    for (int i = 0; i < d->field_count(); ++i) {
      const auto* f = d->field(i);
      if (f->type() != google::protobuf::FieldDescriptor::TYPE_STRING) continue;
      std::string v = refl->GetString(a.threats(), f);
      if (!v.empty()) threats[f->name()] = cleanText(v);
    }
    c.threats_json = dump(threats);
  }
  nlohmann::json tags = nlohmann::json::array();
  for (const auto& t : a.emergency_tags()) tags.push_back(cleanText(t));
  c.emergency_tags_json = dump(tags);
  c.is_pds = a.is_pds();
  c.emergency_confirmed = a.emergency_confirmed();
  c.test_reason = cleanText(a.test_reason());
  c.message = a.SerializeAsString();
  return c;
}

std::string globToLike(const std::string& glob) {
  std::string out;
  for (char ch : glob) {
    switch (ch) {
      case '%': case '_': case '\\': out += '\\'; out += ch; break;
      case '*': out += '%'; break;
      case '?': out += '_'; break;
      default: out += ch;
    }
  }
  return out;
}

std::string globToSqliteGlob(const std::string& glob) {
  std::string out;
  for (char ch : glob) {
    if (ch == '[') {
      out += "[[]";
    } else {
      out += ch;
    }
  }
  return out;
}

BoundingBox distanceBox(double lat, double lon, double distance_km) {
  constexpr double kKmPerDegree = 111.19;  // on the library's 6371 km sphere
  const double d = distance_km * 1.02 + 0.5;
  const double dlat = d / kKmPerDegree;
  BoundingBox b{lat - dlat, lat + dlat, -180.0, 180.0};
  if (std::abs(lat) + dlat >= 90.0) return b;  // the circle holds a pole: every longitude
  const double c = std::cos((std::abs(lat) + dlat) * 3.14159265358979323846 / 180.0);
  if (c > 1e-6) {
    const double dlon = d / (kKmPerDegree * c);
    if (dlon < 180 && lon - dlon >= -180 && lon + dlon <= 180) {  // else: the whole circle of longitudes
      b.min_lon = lon - dlon;
      b.max_lon = lon + dlon;
    }
  }
  return b;
}

const char* alertTimeColumn(TimeField time) {
  return time == TimeField::kReceived ? "received_unix_s" : "issued_unix_s";
}

const char* fileTimeColumn(TimeField time) { return time == TimeField::kReceived ? "received_unix_s" : "fd_unix_s"; }

}  // namespace emwin::archive::detail
