// Alert classification, protobuf and JSON conversion.
#include "products/classify.h"

#include <algorithm>
#include <exception>

#include "emwin/bus/v1/alert.pb.h"
#include "products/catalog.h"

namespace emwin::products {
namespace {

std::string topicToken(std::string_view s) {
  if (s.empty()) return "UNKNOWN";
  std::string out(s);
  for (char& c : out) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ok) c = '_';
  }
  return out;
}

Tier tierFromSignificance(std::string_view sig) {
  if (sig == "W") return Tier::kWarning;
  if (sig == "A") return Tier::kWatch;
  if (sig == "Y") return Tier::kAdvisory;
  if (sig == "S") return Tier::kStatement;
  return Tier::kRoutine;
}

bool tagApplies(std::string_view tag, std::string_view phenomenon) {
  if (tag == kTornadoEmergency) return phenomenon == "TO";
  if (tag == kFlashFloodEmergency) return phenomenon == "FF";
  if (tag == kParticularlyDangerous) return phenomenon == "TO" || phenomenon == "SV" || phenomenon == "FF";
  return false;
}

// Products without VTEC whose emergency wording counts.
bool tagAppliesToProduct(std::string_view tag, std::string_view code) {
  if (tag == kTornadoEmergency) return code == "TOR" || code == "SVS";
  if (tag == kFlashFloodEmergency) return code == "FFW" || code == "FFS";
  if (tag == kParticularlyDangerous) return code == "TOR" || code == "SVS" || code == "SVR" || code == "SEL" ||
                                            code == "WOU" || code == "FFW" || code == "FFS";
  return false;
}

void fillLatLon(const LatLon& p, emwin::bus::v1::LatLon& out) {
  out.set_lat_deg(p.lat_deg);
  out.set_lon_deg(p.lon_deg);
}

nlohmann::json latLonJson(const std::vector<LatLon>& pts) {
  nlohmann::json a = nlohmann::json::array();
  for (const LatLon& p : pts) a.push_back({p.lat_deg, p.lon_deg});
  return a;
}

nlohmann::json timeJson(std::int64_t t) { return t == 0 ? nlohmann::json(nullptr) : nlohmann::json(isoUtc(t)); }

std::vector<Classified> classifyImpl(const ParsedProduct& p) {
  std::vector<Classified> out;
  for (std::size_t si = 0; si < p.segments.size(); ++si) {
    const Segment& s = p.segments[si];
    for (std::size_t vi = 0; vi < s.vtec.size(); ++vi) {
      const Vtec& v = s.vtec[vi];
      Classified c;
      c.segment_index = si;
      c.vtec_index = static_cast<int>(vi);
      c.phenomenon = v.phenomenon;
      c.significance = v.significance;
      c.phenomenon_name = std::string(phenomenonName(v.phenomenon));
      c.significance_name = std::string(significanceName(v.significance));
      c.event_name = eventName(v.phenomenon, v.significance);
      c.action = v.action;
      c.office = v.office;
      c.event_number = v.event_number;
      c.issued_unix_s = p.issued_unix_s;
      c.begin_unix_s = v.begin_unix_s;
      c.end_unix_s = v.end_unix_s;
      c.expires_unix_s = s.expires_unix_s;
      c.is_cancellation = v.action == "CAN";
      c.is_expiration = v.action == "EXP";
      c.tier = tierFromSignificance(v.significance);
      if (!c.is_cancellation && !c.is_expiration) {
        for (const std::string& tag : s.emergency_tags) {
          if (tagApplies(tag, v.phenomenon)) c.emergency_tags.push_back(tag);
        }
      }
      if (!c.emergency_tags.empty()) c.tier = Tier::kEmergency;
      c.topic = "alert." + topicToken(c.phenomenon) + "." + topicToken(c.significance) + "." + topicToken(c.office);
      out.push_back(std::move(c));
    }
  }
  if (!out.empty()) return out;

  Classified c;
  const bool alert = isAlertProduct(p.product_code);
  c.phenomenon = p.product_code;
  c.significance = alert ? "S" : "R";
  c.phenomenon_name = p.product_name;
  c.significance_name = alert ? "Statement" : "Routine";
  c.event_name = p.product_name.empty() ? p.product_code : p.product_name;
  c.office = p.wmo.cccc;
  c.issued_unix_s = p.issued_unix_s;
  c.tier = alert ? Tier::kStatement : Tier::kRoutine;
  if (!p.segments.empty()) {
    c.expires_unix_s = p.segments.front().expires_unix_s;
    for (const Segment& s : p.segments) {
      for (const std::string& tag : s.emergency_tags) {
        if (alert && tagAppliesToProduct(tag, p.product_code) &&
            std::find(c.emergency_tags.begin(), c.emergency_tags.end(), tag) == c.emergency_tags.end()) {
          c.emergency_tags.push_back(tag);
        }
      }
    }
  }
  if (!c.emergency_tags.empty()) c.tier = Tier::kEmergency;
  c.topic = "alert." + topicToken(c.phenomenon) + "." + c.significance + "." + topicToken(c.office);
  out.push_back(std::move(c));
  return out;
}

const Segment* segmentOf(const Classified& c, const ParsedProduct& p) {
  return c.segment_index < p.segments.size() ? &p.segments[c.segment_index] : nullptr;
}

const Vtec* vtecOf(const Classified& c, const Segment* s) {
  if (s == nullptr || c.vtec_index < 0 || static_cast<std::size_t>(c.vtec_index) >= s->vtec.size()) return nullptr;
  return &s->vtec[static_cast<std::size_t>(c.vtec_index)];
}

}  // namespace

std::string_view tierName(Tier tier) {
  switch (tier) {
    case Tier::kEmergency: return "emergency";
    case Tier::kWarning: return "warning";
    case Tier::kWatch: return "watch";
    case Tier::kAdvisory: return "advisory";
    case Tier::kStatement: return "statement";
    case Tier::kRoutine: return "routine";
  }
  return "routine";
}

std::vector<Classified> classify(const ParsedProduct& product) {
  try {
    return classifyImpl(product);
  } catch (const std::exception&) {
    Classified c;
    c.phenomenon = "UNKNOWN";
    c.significance = "R";
    c.topic = "alert.UNKNOWN.R.UNKNOWN";
    return {c};
  }
}

void toProto(const Classified& c, const ParsedProduct& p, emwin::bus::v1::Alert& out) {
  out.set_wmo_ttaaii(p.wmo.ttaaii);
  out.set_wmo_cccc(p.wmo.cccc);
  out.set_wmo_ddhhmm(p.wmo.ddhhmm);
  out.set_wmo_bbb(p.wmo.bbb);
  out.set_awips_id(p.awips_id);
  out.set_product_code(p.product_code);
  out.set_product_name(p.product_name);
  const Segment* s = segmentOf(c, p);
  const Vtec* v = vtecOf(c, s);
  if (v != nullptr) {
    out.set_vtec(v->raw);
    out.set_vtec_product_class(std::string(1, v->product_class));
  }
  out.set_action(c.action);
  out.set_office(c.office);
  out.set_phenomenon(c.phenomenon);
  out.set_significance(c.significance);
  out.set_phenomenon_name(c.phenomenon_name);
  out.set_significance_name(c.significance_name);
  out.set_event_name(c.event_name);
  out.set_event_tracking_number(c.event_number);
  out.set_issued_unix_s(c.issued_unix_s);
  out.set_begin_unix_s(c.begin_unix_s);
  out.set_end_unix_s(c.end_unix_s);
  out.set_expires_unix_s(c.expires_unix_s);
  out.set_tier(static_cast<emwin::bus::v1::PriorityTier>(static_cast<int>(c.tier)));
  for (const std::string& tag : c.emergency_tags) out.add_emergency_tags(tag);
  out.set_is_cancellation(c.is_cancellation);
  out.set_is_expiration(c.is_expiration);
  for (const std::string& issue : p.issues) out.add_parse_issues(issue);
  out.set_segment_index(static_cast<std::uint32_t>(c.segment_index));
  if (s == nullptr) return;
  for (const std::string& code : s->ugc) out.add_ugc(code);
  for (const LatLon& pt : s->polygon) fillLatLon(pt, *out.add_polygon());
  if (s->motion.present) {
    auto* m = out.mutable_motion();
    m->set_time_unix_s(s->motion.time_unix_s);
    m->set_direction_deg(s->motion.direction_deg);
    m->set_speed_kt(s->motion.speed_kt);
    for (const LatLon& pt : s->motion.locations) fillLatLon(pt, *m->add_locations());
  }
  if (!s->threats.empty()) {
    auto* t = out.mutable_threats();
    t->set_tornado(s->threats.tornado);
    t->set_tornado_damage_threat(s->threats.tornado_damage_threat);
    t->set_thunderstorm_damage_threat(s->threats.thunderstorm_damage_threat);
    t->set_flash_flood(s->threats.flash_flood);
    t->set_flash_flood_damage_threat(s->threats.flash_flood_damage_threat);
    t->set_hail(s->threats.hail);
    t->set_hail_threat(s->threats.hail_threat);
    t->set_wind(s->threats.wind);
    t->set_wind_threat(s->threats.wind_threat);
  }
  out.set_headline(s->headline);
  if (!s->hvtec.empty()) out.set_hvtec(s->hvtec.front().raw);
}

nlohmann::json productToJson(const ParsedProduct& p, std::string_view file) {
  nlohmann::json j;
  j["event"] = "product";
  j["file"] = std::string(file);
  j["wmo"] = {{"ttaaii", p.wmo.ttaaii}, {"cccc", p.wmo.cccc}, {"ddhhmm", p.wmo.ddhhmm}, {"bbb", p.wmo.bbb}};
  j["awips_id"] = p.awips_id;
  j["product_code"] = p.product_code;
  j["product_name"] = p.product_name;
  j["issued"] = timeJson(p.issued_unix_s);
  j["segments"] = p.segments.size();
  j["routine_fast_path"] = p.routine_fast_path;
  j["issues"] = p.issues;
  return j;
}

nlohmann::json alertToJson(const Classified& c, const ParsedProduct& p, std::string_view file) {
  const Segment* s = segmentOf(c, p);
  const Vtec* v = vtecOf(c, s);
  nlohmann::json j;
  j["event"] = "alert";
  j["file"] = std::string(file);
  j["topic"] = c.topic;
  j["awips_id"] = p.awips_id;
  j["product_code"] = p.product_code;
  j["segment"] = c.segment_index;
  j["vtec"] = v != nullptr ? v->raw : std::string();
  j["vtec_product_class"] = v != nullptr ? std::string(1, v->product_class) : std::string();
  j["phenomenon"] = c.phenomenon;
  j["significance"] = c.significance;
  j["phenomenon_name"] = c.phenomenon_name;
  j["significance_name"] = c.significance_name;
  j["event_name"] = c.event_name;
  j["action"] = c.action;
  j["office"] = c.office;
  j["event_tracking_number"] = c.event_number;
  j["issued"] = timeJson(c.issued_unix_s);
  j["begin"] = timeJson(c.begin_unix_s);
  j["end"] = timeJson(c.end_unix_s);
  j["expires"] = timeJson(c.expires_unix_s);
  j["tier"] = std::string(tierName(c.tier));
  j["emergency_tags"] = c.emergency_tags;
  j["is_cancellation"] = c.is_cancellation;
  j["is_expiration"] = c.is_expiration;
  j["ugc"] = s != nullptr ? s->ugc : std::vector<std::string>{};
  j["polygon"] = s != nullptr ? latLonJson(s->polygon) : nlohmann::json::array();
  nlohmann::json threats = nlohmann::json::object();
  nlohmann::json motion = nullptr;
  std::string headline;
  std::string hvtec;
  if (s != nullptr) {
    const ThreatTags& t = s->threats;
    auto put = [&](const char* key, const std::string& value) {
      if (!value.empty()) threats[key] = value;
    };
    put("tornado", t.tornado);
    put("tornado_damage_threat", t.tornado_damage_threat);
    put("thunderstorm_damage_threat", t.thunderstorm_damage_threat);
    put("flash_flood", t.flash_flood);
    put("flash_flood_damage_threat", t.flash_flood_damage_threat);
    put("hail", t.hail);
    put("hail_threat", t.hail_threat);
    put("wind", t.wind);
    put("wind_threat", t.wind_threat);
    put("waterspout", t.waterspout);
    if (s->motion.present) {
      motion = {{"time", timeJson(s->motion.time_unix_s)},
                {"direction_deg", s->motion.direction_deg},
                {"speed_kt", s->motion.speed_kt},
                {"locations", latLonJson(s->motion.locations)}};
    }
    headline = s->headline;
    if (!s->hvtec.empty()) hvtec = s->hvtec.front().raw;
  }
  j["threats"] = threats;
  j["motion"] = motion;
  j["headline"] = headline;
  j["hvtec"] = hvtec;
  j["issues"] = p.issues;
  return j;
}

}  // namespace emwin::products
