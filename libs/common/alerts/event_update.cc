// Builds EventUpdates from classified products and from bus Alert messages.
#include "alerts/event_update.h"

#include "emwin/bus/v1/alert.pb.h"

namespace emwin::alerts {

std::string EventUpdate::sourceId() const {
  std::string id = !file_sha256.empty() ? file_sha256 : awips_id + "-" + wmo_ddhhmm + "-" + wmo_bbb;
  id += '#';
  id += std::to_string(segment_index);
  id += '#';
  id += vtec;
  return id;
}

std::vector<EventUpdate> updatesFromProduct(const products::ParsedProduct& p,
                                            const std::vector<products::Classified>& classified,
                                            const std::string& filename, const std::string& file_sha256) {
  std::vector<EventUpdate> out;
  out.reserve(classified.size());
  for (const products::Classified& c : classified) {
    EventUpdate u;
    u.office = c.office;
    u.phenomenon = c.phenomenon;
    u.significance = c.significance;
    u.etn = c.event_number;
    u.action = c.action;
    u.is_test = c.is_test;
    u.issued_unix_s = c.issued_unix_s;
    u.begin_unix_s = c.begin_unix_s;
    u.end_unix_s = c.end_unix_s;
    u.expires_unix_s = c.expires_unix_s;
    u.event_name = c.event_name;
    u.tier = c.tier;
    u.emergency_tags = c.emergency_tags;
    u.emergency_confirmed = c.emergency_confirmed;
    u.is_pds = c.is_pds;
    u.awips_id = p.awips_id;
    u.wmo_ddhhmm = p.wmo.ddhhmm;
    u.wmo_bbb = p.wmo.bbb;
    u.filename = filename;
    u.file_sha256 = file_sha256;
    u.segment_index = static_cast<std::uint32_t>(c.segment_index);
    if (c.segment_index < p.segments.size()) {
      const products::Segment& s = p.segments[c.segment_index];
      u.headline = s.headline;
      u.polygon = s.polygon;
      if (c.vtec_index >= 0 && static_cast<std::size_t>(c.vtec_index) < s.vtec.size()) {
        const products::Vtec& v = s.vtec[static_cast<std::size_t>(c.vtec_index)];
        u.product_class = v.product_class;
        u.vtec = v.raw;
      }
    }
    if (c.vtec_index >= 0) {
      if (c.segment_index < p.segments.size()) u.ugc = p.segments[c.segment_index].ugc;
    } else {
      // A product without VTEC covers every segment, each until its own expiry.
      for (const products::Segment& s : p.segments) {
        for (const std::string& code : s.ugc) {
          u.ugc.push_back(code);
          u.ugc_expires_unix_s.push_back(s.expires_unix_s);
        }
      }
    }
    out.push_back(std::move(u));
  }
  return out;
}

EventUpdate updateFromAlert(const emwin::bus::v1::Alert& a) {
  EventUpdate u;
  u.office = a.office();
  u.phenomenon = a.phenomenon();
  u.significance = a.significance();
  u.etn = a.event_tracking_number();
  u.action = a.action();
  u.product_class = a.vtec_product_class().empty() ? 'O' : a.vtec_product_class()[0];
  u.is_test = a.is_test() || a.tier() == emwin::bus::v1::PRIORITY_TIER_TEST;
  u.issued_unix_s = a.issued_unix_s();
  u.begin_unix_s = a.begin_unix_s();
  u.end_unix_s = a.end_unix_s();
  u.expires_unix_s = a.expires_unix_s();
  if (a.segments_size() > 0) {
    for (const auto& seg : a.segments()) {
      for (const auto& area : seg.ugc()) {
        u.ugc.push_back(area.code());
        u.ugc_expires_unix_s.push_back(seg.expires_unix_s());
      }
    }
  } else {
    u.ugc.assign(a.ugc().begin(), a.ugc().end());
  }
  u.polygon.reserve(static_cast<std::size_t>(a.polygon_size()));
  for (const auto& pt : a.polygon()) u.polygon.push_back({pt.lat_deg(), pt.lon_deg()});
  u.event_name = a.event_name();
  const int tier = static_cast<int>(a.tier());
  u.tier = tier >= 1 && tier <= 7 ? static_cast<products::Tier>(tier) : products::Tier::kRoutine;
  u.headline = a.headline();
  u.emergency_tags.assign(a.emergency_tags().begin(), a.emergency_tags().end());
  u.emergency_confirmed = a.emergency_confirmed();
  u.is_pds = a.is_pds();
  u.awips_id = a.awips_id();
  u.wmo_ddhhmm = a.wmo_ddhhmm();
  u.wmo_bbb = a.wmo_bbb();
  u.filename = a.filename();
  u.file_sha256 = a.file_sha256();
  u.segment_index = a.segment_index();
  u.vtec = a.vtec();
  return u;
}

}  // namespace emwin::alerts
