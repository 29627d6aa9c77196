#include "archive/records.h"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "alerts/event_update.h"
#include "layout/file_layout.h"
#include "products/reference.h"
#include "runtime/names.h"

namespace emwin::archive {
namespace v1 = emwin::bus::v1;

std::string cleanText(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto escape = [&](unsigned char c) { out += fmt::format("\\x{:02X}", c); };
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) {
      escape(c);
      ++i;
      continue;
    }
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    // Length and lowest code point of a well-formed sequence starting with c.
    std::size_t n = 0;
    std::uint32_t min = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4, min = 0x10000;
    }
    bool ok = n != 0 && i + n <= s.size();
    std::uint32_t cp = n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (std::size_t k = 1; ok && k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
    if (!ok) {
      escape(c);
      ++i;
      continue;
    }
    out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

FileRecord fileRecord(const v1::CompletedFile& f, std::int64_t received_unix_s) {
  FileRecord r;
  r.name = cleanText(f.filename());
  r.fd_unix_s = f.fd_unix_s();
  r.sha256 = cleanText(f.sha256());
  r.size_bytes = f.data().empty() ? f.size_bytes() : f.data().size();
  r.path = layout::relativePath(f.filename(), f.fd_unix_s(), f.sha256()).value_or(std::string());
  r.ext = runtime::extensionToken(f.filename(), 8);
  r.origin = f.origin() == v1::FILE_ORIGIN_ARCHIVE_ENTRY ? "archive_entry" : "blocks";
  if (f.has_archive()) {
    r.archive_name = cleanText(f.archive().archive_name());
    r.archive_sha256 = cleanText(f.archive().archive_sha256());
    r.archive_entry = cleanText(f.archive().entry_name());
  }
  r.is_archive = f.is_archive();
  r.source = cleanText(f.source());
  r.block_count = f.block_count();
  r.raw_sha256 = cleanText(f.raw_sha256());
  r.first_segment_unix_us = f.first_segment_unix_us();
  r.last_segment_unix_us = f.last_segment_unix_us();
  r.producer = cleanText(f.header().producer_id());
  r.received_unix_s = received_unix_s;
  return r;
}

AlertRecord alertRecord(const v1::Alert& alert, std::string topic, std::int64_t received_unix_s) {
  AlertRecord r;
  r.source_id = cleanText(alerts::updateFromAlert(alert).sourceId());
  r.topic = cleanText(topic);
  r.alert = alert;
  r.received_unix_s = received_unix_s;
  return r;
}

std::optional<BoundingBox> boundingBox(const std::vector<products::LatLon>& points) {
  if (points.empty()) return std::nullopt;
  BoundingBox b{points[0].lat_deg, points[0].lat_deg, points[0].lon_deg, points[0].lon_deg};
  for (const auto& p : points) {
    b.min_lat = std::min(b.min_lat, p.lat_deg);
    b.max_lat = std::max(b.max_lat, p.lat_deg);
    b.min_lon = std::min(b.min_lon, p.lon_deg);
    b.max_lon = std::max(b.max_lon, p.lon_deg);
  }
  return b;
}

std::optional<BoundingBox> boundingBox(const google::protobuf::RepeatedPtrField<v1::LatLon>& points) {
  std::vector<products::LatLon> v;
  v.reserve(static_cast<std::size_t>(points.size()));
  for (const auto& p : points) v.push_back({p.lat_deg(), p.lon_deg()});
  return boundingBox(v);
}

std::string polygonWkt(const std::vector<products::LatLon>& ring) {
  std::vector<products::LatLon> pts;
  for (const auto& p : ring) {
    if (!(p.lat_deg >= -90 && p.lat_deg <= 90 && p.lon_deg >= -180 && p.lon_deg <= 180)) return {};
    if (pts.empty() || !(pts.back() == p)) pts.push_back(p);
  }
  if (pts.size() >= 2 && pts.front() == pts.back()) pts.pop_back();
  if (pts.size() < 3) return {};
  pts.push_back(pts.front());
  std::string wkt = "POLYGON((";
  for (std::size_t i = 0; i < pts.size(); ++i) {
    if (i > 0) wkt += ',';
    wkt += fmt::format("{} {}", pts[i].lon_deg, pts[i].lat_deg);
  }
  wkt += "))";
  return wkt;
}

EventRecord eventRecord(const alerts::Event& e, const alerts::ActiveStateOptions& options) {
  EventRecord r;
  r.event = e;
  r.has_polygon = e.polygon.size() >= 4;
  if (r.has_polygon) r.box = boundingBox(e.polygon);
  std::int64_t keep = e.last_issued_unix_s + options.retain_ended_s;
  for (const alerts::UgcState& st : e.ugcs) {
    const products::UgcPlace* place = products::findUgc(st.code);
    for (const alerts::Window& w : st.windows) {
      WindowRow row;
      row.ugc = st.code;
      row.begin_unix_s = w.begin_unix_s;
      row.stop_unix_s = alerts::windowStop(w, st);
      if (place != nullptr) {
        row.lat = place->lat_deg;
        row.lon = place->lon_deg;
      }
      if (row.stop_unix_s == 0) {
        const std::int64_t since = st.expires_unix_s != 0 ? st.expires_unix_s : st.last_issued_unix_s;
        keep = std::max(keep, since + options.abandon_open_s);
      } else {
        keep = std::max(keep, row.stop_unix_s + options.retain_ended_s);
      }
      r.windows.push_back(std::move(row));
    }
  }
  r.keep_until_unix_s = keep;
  nlohmann::json full = alerts::eventSnapshot(e);
  r.state_json = full.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto& history = full["history"];
  if (history.size() > 1) {
    nlohmann::json last = history.back();
    history = nlohmann::json::array({std::move(last)});
  }
  r.query_json = full.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

}  // namespace emwin::archive
