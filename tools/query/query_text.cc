#include "query_text.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include <google/protobuf/util/json_util.h>

#include "products/classify.h"
#include "products/product.h"

namespace emwin::query {
namespace {

bool allDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

// Days since 1970-01-01 of a civil date (Hinnant's days_from_civil).
std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::string ugcList(const std::vector<std::string>& codes, std::size_t max = 4) {
  std::string s;
  for (std::size_t i = 0; i < codes.size() && i < max; ++i) s += (i > 0 ? " " : "") + codes[i];
  if (codes.size() > max) s += " +" + std::to_string(codes.size() - max);
  return s.empty() ? "-" : s;
}

std::string tierOf(int tier) {
  if (tier < 1 || tier > 7) return "-";
  return std::string(products::tierName(static_cast<products::Tier>(tier)));
}

nlohmann::json timeOrNull(std::int64_t t) { return t == 0 ? nlohmann::json(nullptr) : nlohmann::json(products::isoUtc(t)); }

}  // namespace

std::optional<Instant> parseInstant(const std::string& text, bool durations_ago) {
  Instant out;
  if (text == "now") return out;
  if (text == "latest") {
    out.kind = Instant::Kind::kLatest;
    return out;
  }
  out.kind = Instant::Kind::kAbsolute;
  if (durations_ago && text.size() >= 2 && text.size() <= 13 && allDigits(text.substr(0, text.size() - 1))) {
    const char unit = text.back();
    const std::int64_t n = std::stoll(text.substr(0, text.size() - 1));
    std::int64_t scale = 0;
    switch (unit) {
      case 's': scale = 1; break;
      case 'm': scale = 60; break;
      case 'h': scale = 3600; break;
      case 'd': scale = 86400; break;
      case 'w': scale = 7 * 86400; break;
      default: return std::nullopt;
    }
    if (n > 100LL * 365 * 86400 / scale) return std::nullopt;
    out.kind = Instant::Kind::kNow;
    out.ago = true;
    out.unix_s = n * scale;
    return out;
  }
  if (allDigits(text)) {
    if (text.size() > 12) return std::nullopt;
    out.unix_s = std::stoll(text);
    return out;
  }
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  char z = 0, extra = 0;
  const char* t = text.c_str();
  bool ok = std::sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d%c%c", &y, &mo, &d, &h, &mi, &sec, &z, &extra) == 7 && z == 'Z';
  if (!ok) {
    sec = 0;
    ok = std::sscanf(t, "%4d-%2d-%2dT%2d:%2d%c%c", &y, &mo, &d, &h, &mi, &z, &extra) == 6 && z == 'Z';
  }
  if (!ok) {
    h = mi = 0;
    ok = std::sscanf(t, "%4d-%2d-%2d%c", &y, &mo, &d, &extra) == 3 && text.size() == 10;
  }
  if (!ok || y < 1970 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) {
    return std::nullopt;
  }
  out.unix_s = daysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 + mi * 60 + sec;
  return out;
}

std::int64_t resolve(const Instant& i, std::int64_t now, std::int64_t latest) {
  switch (i.kind) {
    case Instant::Kind::kNow: return i.ago ? now - i.unix_s : now;
    case Instant::Kind::kLatest: return latest;
    case Instant::Kind::kAbsolute: return i.unix_s;
  }
  return now;
}

std::optional<std::pair<double, double>> parsePoint(const std::string& text) {
  double lat = 0, lon = 0;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%lf,%lf%c", &lat, &lon, &extra) != 2) return std::nullopt;
  if (!(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180)) return std::nullopt;
  return std::make_pair(lat, lon);
}

std::string shortTime(std::int64_t t) {
  if (t == 0) return "-";
  std::string iso = products::isoUtc(t);  // 2025-05-23T05:21:00Z
  if (iso.size() == 20) return iso.substr(0, 10) + " " + iso.substr(11, 5) + "Z";
  return iso;
}

std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& r) {
    for (std::size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
  };
  measure(header);
  for (const auto& r : rows) measure(r);
  std::string out;
  auto line = [&](const std::vector<std::string>& r) {
    std::string l;
    for (std::size_t i = 0; i < r.size() && i < width.size(); ++i) {
      l += r[i];
      if (i + 1 < r.size()) l += std::string(width[i] - r[i].size() + 2, ' ');
    }
    out += l + "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
  return out;
}

std::string activeTable(const std::vector<archive::ActiveAlert>& events) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& a : events) {
    const alerts::ActiveEvent& e = a.event;
    std::string match(alerts::matchName(e.matched_by));
    if (e.matched_by == alerts::MatchKind::kCentroid) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s %.1f km", e.matched_ugc.c_str(), e.distance_km);
      match = buf;
    }
    rows.push_back({std::string(products::tierName(e.tier)), e.event_name.empty() ? "-" : e.event_name, e.key,
                    e.last_action.empty() ? "-" : e.last_action, shortTime(e.begin_unix_s),
                    e.end_unix_s == 0 ? "until further notice" : shortTime(e.end_unix_s),
                    (e.pending ? "pending " : "") + std::string(e.stale ? "stale " : "") + ugcList(e.ugc), match,
                    a.alert.awips_id().empty() ? e.awips_id : a.alert.awips_id()});
  }
  return table({"TIER", "EVENT", "KEY", "LAST", "BEGIN", "END", "UGC", "MATCH", "PRODUCT"}, rows) +
         std::to_string(events.size()) + " event(s)\n";
}

std::string alertsTable(const std::vector<archive::AlertRecord>& alerts) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : alerts) {
    const auto& a = r.alert;
    std::vector<std::string> ugc(a.ugc().begin(), a.ugc().end());
    rows.push_back({shortTime(a.issued_unix_s()), shortTime(r.received_unix_s),
                    a.is_test() ? "TEST" : tierOf(static_cast<int>(a.tier())), a.action().empty() ? "-" : a.action(),
                    a.event_name().empty() ? (a.product_name().empty() ? "-" : a.product_name()) : a.event_name(),
                    a.office().empty() ? "-" : a.office(), a.awips_id().empty() ? "-" : a.awips_id(),
                    r.event_key.empty() ? "-" : r.event_key, ugcList(ugc)});
  }
  return table({"ISSUED", "RECEIVED", "TIER", "ACTION", "EVENT", "OFFICE", "AWIPS", "EVENT KEY", "UGC"}, rows) +
         std::to_string(alerts.size()) + " alert(s)\n";
}

std::string filesTable(const std::vector<archive::FileRecord>& files) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& f : files) {
    rows.push_back({shortTime(f.received_unix_s), shortTime(f.fd_unix_s), std::to_string(f.size_bytes), f.name,
                    f.sha256.substr(0, 8), f.path.empty() ? "(name rejected by the disk writer)" : f.path});
  }
  return table({"RECEIVED", "FD", "BYTES", "NAME", "SHA256", "PATH (under the disk writer's --out)"}, rows) +
         std::to_string(files.size()) + " file(s)\n";
}

std::string eventText(const std::string& key, const archive::EventHistory& h) {
  std::string out = "event " + key + "\n";
  if (h.event) {
    const alerts::Event& e = *h.event;
    out += "  " + (e.event_name.empty() ? std::string("-") : e.event_name) + ", tier " +
           std::string(products::tierName(e.tier)) + ", last action " + e.last_action + "\n";
    out += "  first issued " + shortTime(e.first_issued_unix_s) + ", last issued " + shortTime(e.last_issued_unix_s) +
           "\n";
    if (!e.upgraded_from.empty()) out += "  upgraded from " + ugcList(e.upgraded_from, 8) + "\n";
    if (!e.upgraded_to.empty()) out += "  upgraded to " + ugcList(e.upgraded_to, 8) + "\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& st : e.ugcs) {
      std::string windows;
      for (const auto& w : st.windows) {
        if (!windows.empty()) windows += ", ";
        windows += shortTime(w.begin_unix_s) + " .. " + (w.end_unix_s == 0 ? "open" : shortTime(w.end_unix_s));
      }
      rows.push_back({st.code, std::string(alerts::statusName(st.status)), windows,
                      st.ended_unix_s == 0 ? "-" : shortTime(st.ended_unix_s), st.last_action});
    }
    out += "\n" + table({"UGC", "STATUS", "WINDOWS", "ENDED", "LAST"}, rows);
  } else {
    out += "  (its event row was deleted by retention; the stored alerts follow)\n";
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : h.alerts) {
    const auto& a = r.alert;
    std::vector<std::string> ugc(a.ugc().begin(), a.ugc().end());
    rows.push_back({shortTime(a.issued_unix_s()), a.action().empty() ? "-" : a.action(), ugcList(ugc, 6),
                    shortTime(a.begin_unix_s()), a.end_unix_s() == 0 ? "open" : shortTime(a.end_unix_s()),
                    a.awips_id().empty() ? "-" : a.awips_id(), a.filename(), a.vtec().empty() ? "-" : a.vtec()});
  }
  out += "\nlifecycle (" + std::to_string(h.alerts.size()) + " stored alert(s)):\n" +
         table({"ISSUED", "ACTION", "UGC", "BEGIN", "END", "AWIPS", "FILE", "VTEC"}, rows);
  return out;
}

nlohmann::json activeJson(const archive::ActiveAlert& a, std::int64_t at) {
  nlohmann::json j = alerts::activeEventToJson(a.event);
  j["event"] = "active";
  j["at"] = timeOrNull(at);
  j["file_sha256"] = a.event.file_sha256;
  if (a.alert.ByteSizeLong() > 0) j["latest_alert"] = alertJson({0, {}, a.event.key, {}, a.alert, a.received_unix_s})["alert"];
  return j;
}

nlohmann::json alertJson(const archive::AlertRecord& r) {
  std::string text;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  nlohmann::json alert = nullptr;
  if (google::protobuf::util::MessageToJsonString(r.alert, &text, o).ok()) {
    alert = nlohmann::json::parse(text, nullptr, false);
    if (alert.is_discarded()) alert = nullptr;
  }
  return {{"event", "alert"},         {"id", r.id},
          {"received", timeOrNull(r.received_unix_s)}, {"event_key", r.event_key},
          {"topic", r.topic},         {"source_id", r.source_id},
          {"alert", alert}};
}

nlohmann::json fileJson(const archive::FileRecord& f) {
  return {{"event", "file"},
          {"id", f.id},
          {"name", f.name},
          {"fd", timeOrNull(f.fd_unix_s)},
          {"fd_unix_s", f.fd_unix_s},
          {"sha256", f.sha256},
          {"size_bytes", f.size_bytes},
          {"path", f.path},
          {"ext", f.ext},
          {"origin", f.origin},
          {"archive_name", f.archive_name},
          {"archive_sha256", f.archive_sha256},
          {"archive_entry", f.archive_entry},
          {"is_archive", f.is_archive},
          {"source", f.source},
          {"block_count", f.block_count},
          {"raw_sha256", f.raw_sha256},
          {"first_segment_unix_us", f.first_segment_unix_us},
          {"last_segment_unix_us", f.last_segment_unix_us},
          {"producer", f.producer},
          {"received", timeOrNull(f.received_unix_s)}};
}

nlohmann::json eventJson(const std::string& key, const archive::EventHistory& h) {
  nlohmann::json j = h.event ? alerts::eventToJson(*h.event) : nlohmann::json{{"key", key}};
  j["event"] = "lifecycle";
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : h.alerts) list.push_back(alertJson(r));
  j["alerts"] = list;
  return j;
}

}  // namespace emwin::query
