// Alert classification, protobuf and JSON conversion.
#include "products/classify.h"

#include <algorithm>
#include <exception>

#include "bus/topics.h"
#include "emwin/bus/v1/alert.pb.h"
#include "products/catalog.h"
#include "products/reference.h"

namespace emwin::products {
namespace {

// `s` as one topic token: "UNKNOWN" when empty, characters outside [A-Z0-9]
// replaced by '_'. Returns `s` itself when it is already a token (no copy).
std::string_view topicToken(std::string_view s, std::string& scratch) {
  if (s.empty()) return "UNKNOWN";
  const auto ok = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (std::all_of(s.begin(), s.end(), ok)) return s;
  scratch.assign(s);
  for (char& c : scratch) {
    if (!ok(c)) c = '_';
  }
  return scratch;
}

std::string topicOf(const Classified& c) {
  std::string a;
  std::string b;
  std::string d;
  const std::string_view ph = topicToken(c.phenomenon, a);
  const std::string_view sig = topicToken(c.significance, b);
  const std::string_view office = topicToken(c.office, d);
  return c.is_test ? bus::topics::testAlert(ph, sig, office) : bus::topics::alert(ph, sig, office);
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

// The VTEC phenomenon and significance a product's emergency wording is judged
// as, for a product without VTEC.
std::pair<std::string_view, std::string_view> productHazard(std::string_view tag, std::string_view code) {
  if (tag == kTornadoEmergency) return {"TO", "W"};
  if (tag == kFlashFloodEmergency) return {"FF", "W"};
  if (code == "TOR" || code == "SVS") return {"TO", "W"};
  if (code == "SVR") return {"SV", "W"};
  if (code == "FFW" || code == "FFS") return {"FF", "W"};
  return {"TO", "A"};  // SEL, WOU: watches
}

bool containsUpper(std::string_view text, std::string_view upper) {
  if (upper.size() > text.size()) return false;
  for (std::size_t i = 0; i + upper.size() <= text.size(); ++i) {
    std::size_t k = 0;
    while (k < upper.size()) {
      char c = text[i + k];
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      if (c != upper[k]) break;
      ++k;
    }
    if (k == upper.size()) return true;
  }
  return false;
}

// How emergency wording `tag` stands for a (phenomenon, significance) event in
// segment `s`: whether it raises the tier and whether the tags confirm it.
struct Judgement {
  bool raises = false;
  bool confirmed = false;
};

Judgement judge(std::string_view tag, std::string_view phenomenon, std::string_view significance,
                const Segment& s) {
  const ThreatTags& t = s.threats;
  std::string_view damage;
  bool ibw = false;  // the segment carries impact-based warning tags for this hazard
  if (phenomenon == "TO") {
    damage = t.tornado_damage_threat;
    ibw = !t.tornado.empty() || !damage.empty();
  } else if (phenomenon == "FF") {
    damage = t.flash_flood_damage_threat;
    ibw = !t.flash_flood.empty() || !damage.empty();
  } else if (phenomenon == "SV") {
    damage = t.thunderstorm_damage_threat;
    ibw = !damage.empty() || !t.hail.empty() || !t.wind.empty();
  }
  const bool headline = containsUpper(s.headline, tag);
  Judgement j;
  if (tag == kParticularlyDangerous) {
    // PDS warnings carry a CONSIDERABLE (or higher) damage threat; SPC PDS
    // watches carry no tags.
    j.confirmed = !damage.empty() || significance == "A";
    j.raises = j.confirmed || headline || !ibw;
    return j;
  }
  j.confirmed = damage == "CATASTROPHIC";
  j.raises = j.confirmed || headline || !ibw;
  return j;
}

nlohmann::json timeJson(std::int64_t t) { return t == 0 ? nlohmann::json(nullptr) : nlohmann::json(isoUtc(t)); }

void markTest(Classified& c, std::string reason) {
  c.is_test = true;
  c.test_reason = std::move(reason);
  c.tier = Tier::kTest;
}

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
      bool raised = false;
      if (!c.is_cancellation && !c.is_expiration) {
        for (const std::string& tag : s.emergency_tags) {
          if (!tagApplies(tag, v.phenomenon)) continue;
          c.emergency_tags.push_back(tag);
          const Judgement j = judge(tag, v.phenomenon, v.significance, s);
          raised = raised || j.raises;
          if (tag == kParticularlyDangerous) {
            c.is_pds = j.raises;
          } else {
            c.emergency_confirmed = c.emergency_confirmed || j.confirmed;
          }
        }
      }
      if (raised) c.tier = Tier::kEmergency;
      if (v.product_class == 'T') {
        markTest(c, "VTEC class T");
      } else if (!p.test_reason.empty()) {
        markTest(c, p.test_reason);
      }
      c.topic = topicOf(c);
      out.push_back(std::move(c));
    }
  }
  if (!out.empty()) return out;

  Classified c;
  const ProductClass* warning = warningProductClass(p.product_code);
  const bool alert = warning != nullptr || isAlertProduct(p.product_code);
  const std::string productLabel = p.product_name.empty() ? p.product_code : p.product_name;
  if (warning != nullptr) {
    c.phenomenon = std::string(warning->phenomenon);
    c.significance = std::string(warning->significance);
    c.significance_name = std::string(significanceName(c.significance));
    if (c.phenomenon.size() == 2) {  // a VTEC phenomenon: named like the VTEC event
      c.phenomenon_name = std::string(phenomenonName(c.phenomenon));
      c.event_name = eventName(c.phenomenon, c.significance);
    } else {
      c.phenomenon_name = p.product_name;
      c.event_name = productLabel;
    }
    c.tier = tierFromSignificance(c.significance);
  } else {
    c.phenomenon = p.product_code;
    c.significance = alert ? "S" : "R";
    c.phenomenon_name = p.product_name;
    c.significance_name = alert ? "Statement" : "Routine";
    c.event_name = productLabel;
    c.tier = alert ? Tier::kStatement : Tier::kRoutine;
  }
  c.office = p.wmo.cccc;
  c.issued_unix_s = p.issued_unix_s;
  bool raised = false;
  for (const Segment& s : p.segments) {
    c.expires_unix_s = std::max(c.expires_unix_s, s.expires_unix_s);
    if (!alert) continue;
    for (const std::string& tag : s.emergency_tags) {
      if (!tagAppliesToProduct(tag, p.product_code)) continue;
      if (std::find(c.emergency_tags.begin(), c.emergency_tags.end(), tag) == c.emergency_tags.end()) {
        c.emergency_tags.push_back(tag);
      }
      const auto [ph, sig] = productHazard(tag, p.product_code);
      const Judgement j = judge(tag, ph, sig, s);
      raised = raised || j.raises;
      if (tag == kParticularlyDangerous) {
        c.is_pds = c.is_pds || j.raises;
      } else {
        c.emergency_confirmed = c.emergency_confirmed || j.confirmed;
      }
    }
  }
  if (raised) c.tier = Tier::kEmergency;
  if (!p.test_reason.empty()) markTest(c, p.test_reason);
  c.topic = topicOf(c);
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

// Calls `f(code)` for each UGC code an alert covers: its segment's, or for a
// product without VTEC every segment's (first appearance order, no repeats).
template <typename F>
void forEachAlertUgc(const Classified& c, const ParsedProduct& p, F f) {
  if (c.vtec_index >= 0 || p.segments.size() <= 1) {
    if (const Segment* s = segmentOf(c, p)) {
      for (const std::string& code : s->ugc) f(std::string_view(code));
    }
    return;
  }
  for (std::size_t si = 0; si < p.segments.size(); ++si) {
    const auto& codes = p.segments[si].ugc;
    for (std::size_t ci = 0; ci < codes.size(); ++ci) {
      // Named before (an earlier segment, or earlier in this one)?
      bool seen = std::find(codes.begin(), codes.begin() + static_cast<std::ptrdiff_t>(ci), codes[ci]) !=
                  codes.begin() + static_cast<std::ptrdiff_t>(ci);
      for (std::size_t sj = 0; sj < si && !seen; ++sj) {
        const auto& earlier = p.segments[sj].ugc;
        seen = std::find(earlier.begin(), earlier.end(), codes[ci]) != earlier.end();
      }
      if (!seen) f(std::string_view(codes[ci]));
    }
  }
}

std::vector<std::string_view> alertUgc(const Classified& c, const ParsedProduct& p) {
  std::vector<std::string_view> out;
  forEachAlertUgc(c, p, [&](std::string_view code) { out.push_back(code); });
  return out;
}

void fillLatLon(const LatLon& p, emwin::bus::v1::LatLon& out) {
  out.set_lat_deg(p.lat_deg);
  out.set_lon_deg(p.lon_deg);
}

void fillUgcArea(std::string_view code, emwin::bus::v1::UgcArea& out) {
  out.mutable_code()->assign(code);
  const UgcPlace* place = findUgc(code);
  out.set_known(place != nullptr);
  if (place == nullptr) return;
  out.mutable_name()->assign(place->name);
  out.set_lat_deg(place->lat_deg);
  out.set_lon_deg(place->lon_deg);
}

void fillHvtec(const Hvtec& h, emwin::bus::v1::HydroVtec& out) {
  out.set_raw(h.raw);
  out.set_nwsli(h.nwsli);
  out.set_severity(h.severity);
  out.mutable_severity_name()->assign(hvtecSeverityName(h.severity));
  out.set_immediate_cause(h.immediate_cause);
  out.mutable_immediate_cause_name()->assign(hvtecCauseName(h.immediate_cause));
  out.set_begin_unix_s(h.begin_unix_s);
  out.set_crest_unix_s(h.crest_unix_s);
  out.set_end_unix_s(h.end_unix_s);
  out.set_flood_record(h.flood_record);
  out.mutable_flood_record_name()->assign(hvtecRecordName(h.flood_record));
  const RiverPoint* rp = findRiverPoint(h.nwsli);
  out.set_point_known(rp != nullptr);
  if (rp == nullptr) return;
  out.mutable_stream()->assign(rp->stream);
  out.mutable_proximity()->assign(rp->proximity);
  out.mutable_place()->assign(rp->place);
  out.mutable_state()->assign(rp->state);
  auto* pt = out.mutable_point();
  pt->set_lat_deg(rp->lat_deg);
  pt->set_lon_deg(rp->lon_deg);
}

void fillThreats(const ThreatTags& t, emwin::bus::v1::ThreatTags& out) {
  out.set_tornado(t.tornado);
  out.set_tornado_damage_threat(t.tornado_damage_threat);
  out.set_thunderstorm_damage_threat(t.thunderstorm_damage_threat);
  out.set_flash_flood(t.flash_flood);
  out.set_flash_flood_damage_threat(t.flash_flood_damage_threat);
  out.set_hail(t.hail);
  out.set_hail_threat(t.hail_threat);
  out.set_wind(t.wind);
  out.set_wind_threat(t.wind_threat);
  out.set_waterspout(t.waterspout);
  out.set_landspout(t.landspout);
  out.set_snow_squall(t.snow_squall);
  out.set_snow_squall_impact(t.snow_squall_impact);
  out.set_expected_rainfall(t.expected_rainfall);
  out.set_dam_failure(t.dam_failure);
  out.set_levee_failure(t.levee_failure);
}

nlohmann::json latLonJson(const std::vector<LatLon>& pts) {
  nlohmann::json a = nlohmann::json::array();
  for (const LatLon& p : pts) a.push_back({p.lat_deg, p.lon_deg});
  return a;
}

// {"code": "IAC169", "name": "Story", "centroid": [42.0362, -93.4651]}; name
// and centroid null when the code is unknown. Built member by member (an
// initializer list of pairs costs several times more, per UGC of every alert).
nlohmann::json ugcAreaJson(std::string_view code) {
  nlohmann::json o(nlohmann::json::value_t::object);
  auto& m = o.get_ref<nlohmann::json::object_t&>();
  m.emplace("code", code);
  const UgcPlace* place = findUgc(code);
  if (place == nullptr) {
    m.emplace("name", nullptr);
    m.emplace("centroid", nullptr);
    return o;
  }
  m.emplace("name", place->name);
  nlohmann::json pt(nlohmann::json::value_t::array);
  auto& a = pt.get_ref<nlohmann::json::array_t&>();
  a.reserve(2);
  a.emplace_back(place->lat_deg);
  a.emplace_back(place->lon_deg);
  m.emplace("centroid", std::move(pt));
  return o;
}

template <typename Codes>
nlohmann::json ugcAreasJson(const Codes& codes) {
  nlohmann::json a(nlohmann::json::value_t::array);
  auto& v = a.get_ref<nlohmann::json::array_t&>();
  v.reserve(codes.size());
  for (std::string_view code : codes) v.push_back(ugcAreaJson(code));
  return a;
}

// {"code": "DMX", "name": ..., "city": ..., "state": ...}, or null when unknown.
nlohmann::json officeJson(std::string_view cccc) {
  const OfficeInfo* o = findOffice(cccc);
  if (o == nullptr) return nullptr;
  nlohmann::json j(nlohmann::json::value_t::object);
  auto& m = j.get_ref<nlohmann::json::object_t&>();
  m.emplace("code", o->code);
  m.emplace("name", o->name);
  m.emplace("city", o->city);
  m.emplace("state", o->state);
  return j;
}

nlohmann::json hvtecJson(const Hvtec& h) {
  nlohmann::json j(nlohmann::json::value_t::object);
  auto& m = j.get_ref<nlohmann::json::object_t&>();
  m.emplace("raw", h.raw);
  m.emplace("nwsli", h.nwsli);
  m.emplace("severity", h.severity);
  m.emplace("severity_name", hvtecSeverityName(h.severity));
  m.emplace("immediate_cause", h.immediate_cause);
  m.emplace("immediate_cause_name", hvtecCauseName(h.immediate_cause));
  m.emplace("begin", timeJson(h.begin_unix_s));
  m.emplace("crest", timeJson(h.crest_unix_s));
  m.emplace("end", timeJson(h.end_unix_s));
  m.emplace("flood_record", h.flood_record);
  m.emplace("flood_record_name", hvtecRecordName(h.flood_record));
  const RiverPoint* rp = findRiverPoint(h.nwsli);
  if (rp == nullptr) {
    m.emplace("point", nullptr);
    return j;
  }
  nlohmann::json point(nlohmann::json::value_t::object);
  auto& pm = point.get_ref<nlohmann::json::object_t&>();
  pm.emplace("stream", rp->stream);
  pm.emplace("proximity", rp->proximity);
  pm.emplace("place", rp->place);
  pm.emplace("state", rp->state);
  pm.emplace("lat_lon", nlohmann::json::array({rp->lat_deg, rp->lon_deg}));
  m.emplace("point", std::move(point));
  return j;
}

nlohmann::json threatsJson(const ThreatTags& t) {
  nlohmann::json threats = nlohmann::json::object();
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
  put("landspout", t.landspout);
  put("snow_squall", t.snow_squall);
  put("snow_squall_impact", t.snow_squall_impact);
  put("expected_rainfall", t.expected_rainfall);
  put("dam_failure", t.dam_failure);
  put("levee_failure", t.levee_failure);
  return threats;
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
    case Tier::kTest: return "test";
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
  out.set_product_title(p.product_title);
  const Segment* s = segmentOf(c, p);
  const Vtec* v = vtecOf(c, s);
  if (v != nullptr) {
    out.set_vtec(v->raw);
    out.set_vtec_product_class(std::string(1, v->product_class));
  }
  out.set_action(c.action);
  out.set_office(c.office);
  if (const OfficeInfo* o = findOffice(c.office)) {
    out.mutable_office_code()->assign(o->code);
    out.mutable_office_name()->assign(o->name);
    out.mutable_office_city()->assign(o->city);
    out.mutable_office_state()->assign(o->state);
  }
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
  out.set_emergency_confirmed(c.emergency_confirmed);
  out.set_is_pds(c.is_pds);
  out.set_is_cancellation(c.is_cancellation);
  out.set_is_expiration(c.is_expiration);
  out.set_is_test(c.is_test);
  out.set_test_reason(c.test_reason);
  for (const std::string& issue : p.issues) out.add_parse_issues(issue);
  out.set_segment_index(static_cast<std::uint32_t>(c.segment_index));
  forEachAlertUgc(c, p, [&](std::string_view code) {
    out.add_ugc()->assign(code);
    fillUgcArea(code, *out.add_ugc_areas());
  });
  if (c.vtec_index < 0 && p.segments.size() > 1) {
    for (std::size_t i = 0; i < p.segments.size(); ++i) {
      const Segment& seg = p.segments[i];
      auto* m = out.add_segments();
      m->set_index(static_cast<std::uint32_t>(i));
      for (const std::string& code : seg.ugc) fillUgcArea(code, *m->add_ugc());
      m->set_expires_unix_s(seg.expires_unix_s);
      m->set_headline(seg.headline);
      for (const LatLon& pt : seg.polygon) fillLatLon(pt, *m->add_polygon());
    }
  }
  if (s == nullptr) return;
  for (const LatLon& pt : s->polygon) fillLatLon(pt, *out.add_polygon());
  if (s->motion.present) {
    auto* m = out.mutable_motion();
    m->set_time_unix_s(s->motion.time_unix_s);
    m->set_direction_deg(s->motion.direction_deg);
    m->set_speed_kt(s->motion.speed_kt);
    for (const LatLon& pt : s->motion.locations) fillLatLon(pt, *m->add_locations());
  }
  if (!s->threats.empty()) fillThreats(s->threats, *out.mutable_threats());
  out.set_headline(s->headline);
  if (!s->hvtec.empty()) out.set_hvtec(s->hvtec.front().raw);
  for (const Hvtec& h : s->hvtec) fillHvtec(h, *out.add_hvtec_records());
}

nlohmann::json productToJson(const ParsedProduct& p, std::string_view file) {
  nlohmann::json j;
  j["event"] = "product";
  j["file"] = std::string(file);
  j["wmo"] = {{"ttaaii", p.wmo.ttaaii}, {"cccc", p.wmo.cccc}, {"ddhhmm", p.wmo.ddhhmm}, {"bbb", p.wmo.bbb}};
  j["awips_id"] = p.awips_id;
  j["product_code"] = p.product_code;
  j["product_name"] = p.product_name;
  j["product_title"] = p.product_title;
  j["office"] = officeJson(p.wmo.cccc);
  j["issued"] = timeJson(p.issued_unix_s);
  j["segments"] = p.segments.size();
  j["routine_fast_path"] = p.routine_fast_path;
  j["test_reason"] = p.test_reason;
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
  j["product_title"] = p.product_title;
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
  j["office_info"] = officeJson(c.office);
  j["event_tracking_number"] = c.event_number;
  j["issued"] = timeJson(c.issued_unix_s);
  j["begin"] = timeJson(c.begin_unix_s);
  j["end"] = timeJson(c.end_unix_s);
  j["expires"] = timeJson(c.expires_unix_s);
  j["tier"] = std::string(tierName(c.tier));
  j["is_test"] = c.is_test;
  j["test_reason"] = c.test_reason;
  j["emergency_tags"] = c.emergency_tags;
  j["emergency_confirmed"] = c.emergency_confirmed;
  j["is_pds"] = c.is_pds;
  j["is_cancellation"] = c.is_cancellation;
  j["is_expiration"] = c.is_expiration;
  const std::vector<std::string_view> ugc = alertUgc(c, p);
  j["ugc"] = ugc;
  j["ugc_areas"] = ugcAreasJson(ugc);
  nlohmann::json segments = nlohmann::json::array();
  if (c.vtec_index < 0 && p.segments.size() > 1) {
    for (std::size_t i = 0; i < p.segments.size(); ++i) {
      const Segment& seg = p.segments[i];
      segments.push_back({{"index", i},
                          {"ugc", ugcAreasJson(seg.ugc)},
                          {"expires", timeJson(seg.expires_unix_s)},
                          {"headline", seg.headline},
                          {"polygon", latLonJson(seg.polygon)}});
    }
  }
  j["segments"] = segments;
  j["polygon"] = s != nullptr ? latLonJson(s->polygon) : nlohmann::json::array();
  nlohmann::json motion = nullptr;
  nlohmann::json hvtecRecords = nlohmann::json::array();
  std::string headline;
  std::string hvtec;
  if (s != nullptr) {
    if (s->motion.present) {
      motion = {{"time", timeJson(s->motion.time_unix_s)},
                {"direction_deg", s->motion.direction_deg},
                {"speed_kt", s->motion.speed_kt},
                {"locations", latLonJson(s->motion.locations)}};
    }
    headline = s->headline;
    if (!s->hvtec.empty()) hvtec = s->hvtec.front().raw;
    for (const Hvtec& h : s->hvtec) hvtecRecords.push_back(hvtecJson(h));
  }
  j["threats"] = s != nullptr ? threatsJson(s->threats) : nlohmann::json::object();
  j["motion"] = motion;
  j["headline"] = headline;
  j["hvtec"] = hvtec;
  j["hvtec_records"] = hvtecRecords;
  j["issues"] = p.issues;
  return j;
}

}  // namespace emwin::products
