// emwin-classify: parses NWS text product files offline and prints one JSON
// object per line: {"event":"product",...} per file, then {"event":"alert",...}
// per classified event, so users can check what an alert filter will match.
// With --active (or --event), the files are also fed to the active-state
// library in issue-time order and the events in effect (or one event's
// lifecycle) are printed after them.
// Exit codes: 0 all files read (even malformed ones), 2 a file could not be
// read or an option value is bad, 1 bad command line.
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "alerts/active_state.h"
#include "alerts/event_update.h"
#include "products/classify.h"
#include "products/product.h"
#include "runtime/cli.h"

namespace {

bool readFile(const std::string& path, std::string& out, std::int64_t& mtime) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return false;
  out = ss.str();
  mtime = static_cast<std::int64_t>(st.st_mtime);
  return true;
}

// "latest", Unix seconds, or YYYY-MM-DDTHH:MM[:SS]Z. nullopt when malformed;
// 0 for "latest".
std::optional<std::int64_t> parseWhen(const std::string& s) {
  if (s == "latest") return 0;
  if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::stoll(s);
  }
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  char z = 0;
  const int n = std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &sec, &z);
  if (n != 7 || z != 'Z') {
    sec = 0;
    if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d%c", &y, &mo, &d, &h, &mi, &z) != 6 || z != 'Z') return std::nullopt;
  }
  char vtec[16];
  std::snprintf(vtec, sizeof vtec, "%02d%02d%02dT%02d%02dZ", y % 100, mo, d, h, mi);
  const std::int64_t t = emwin::products::parseVtecTime(vtec);
  if (t <= 0 || y < 1970 || y > 2069) return std::nullopt;
  return t + sec;
}

}  // namespace

int main(int argc, char** argv) {
  emwin::runtime::Cli cli("emwin-classify",
                          "emwin-classify: parse NWS text products and print their alert classification as JSON lines");
  CLI::App& app = cli.app();
  std::vector<std::string> files;
  std::int64_t reference = -1;
  bool pretty = false;
  std::string active;
  std::string ugc;
  std::string point;
  double distance_km = 25;
  std::string eventKey;
  bool pending = false;
  app.add_option("files", files, "Product files to classify")->required();
  app.add_option("--reference-time", reference,
                 "Unix seconds supplying month/year for DDHHMM fields when a product has no VTEC "
                 "(default: each file's modification time)");
  app.add_flag("--pretty", pretty, "Indent the JSON (one object per block instead of per line)");
  bool wantActive = false;
  app.add_flag("--active", wantActive, "After the files, print the events in effect (at --at)");
  app.add_option("--at", active,
                 "With --active: the time to evaluate at: 'latest' (the latest product time of the files), "
                 "Unix seconds or YYYY-MM-DDTHH:MMZ")
      ->default_str("latest");
  app.add_option("--ugc", ugc, "With --active: only events in effect in this UGC (e.g. IAC169)");
  app.add_option("--point", point,
                 "With --active: only events at LAT,LON (inside the event's polygon, else a UGC centroid "
                 "within --distance-km)");
  app.add_option("--distance-km", distance_km, "With --point: centroid distance for events without a polygon")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 20000.0));
  app.add_flag("--pending", pending, "With --active: also events that begin later");
  app.add_option("--event", eventKey, "Print this event's lifecycle, e.g. KDMX.TO.W.0042.2025");
  if (auto code = cli.parse(argc, argv)) return *code;

  std::optional<std::int64_t> at;
  if (wantActive) {
    at = parseWhen(active.empty() ? "latest" : active);
    if (!at) {
      std::cerr << "emwin-classify: --at: bad time '" << active << "' (latest, Unix seconds or YYYY-MM-DDTHH:MMZ)\n";
      return 2;
    }
  }
  std::optional<std::pair<double, double>> latLon;
  if (!point.empty()) {
    double lat = 0, lon = 0;
    char extra = 0;
    if (std::sscanf(point.c_str(), "%lf,%lf%c", &lat, &lon, &extra) != 2 || lat < -90 || lat > 90 || lon < -180 ||
        lon > 180) {
      std::cerr << "emwin-classify: --point: expected LAT,LON in degrees, got '" << point << "'\n";
      return 2;
    }
    latLon = std::make_pair(lat, lon);
  }

  int rc = 0;
  const int indent = pretty ? 2 : -1;
  const auto dump = [&](const nlohmann::json& j) {
    std::cout << j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  };
  std::vector<std::vector<emwin::alerts::EventUpdate>> updates;
  for (const std::string& path : files) {
    std::string text;
    std::int64_t mtime = 0;
    if (!readFile(path, text, mtime)) {
      std::cerr << "emwin-classify: cannot read '" << path << "'\n";
      rc = 2;
      continue;
    }
    const std::int64_t ref = reference >= 0 ? reference : mtime;
    const emwin::products::ParsedProduct product = emwin::products::parseProduct(text, ref);
    const auto classified = emwin::products::classify(product);
    dump(emwin::products::productToJson(product, path));
    for (const auto& c : classified) dump(emwin::products::alertToJson(c, product, path));
    if (wantActive || !eventKey.empty()) {
      updates.push_back(emwin::alerts::updatesFromProduct(product, classified, path));
    }
  }
  if (!wantActive && eventKey.empty()) {
    std::cout.flush();
    return rc;
  }

  // Feed in issue order (files may be given in any order); ties keep the given order.
  std::stable_sort(updates.begin(), updates.end(), [](const auto& a, const auto& b) {
    const std::int64_t ta = a.empty() ? 0 : a.front().issued_unix_s;
    const std::int64_t tb = b.empty() ? 0 : b.front().issued_unix_s;
    return ta < tb;
  });
  emwin::alerts::ActiveState state;
  for (const auto& product : updates) state.apply(product);
  if (wantActive) {
    const std::int64_t when = *at != 0 ? *at : state.latestIssued();
    emwin::alerts::QueryOptions options;
    options.include_pending = pending;
    std::vector<emwin::alerts::ActiveEvent> events;
    if (!ugc.empty()) {
      events = state.forUgc(ugc, when, options);
    } else if (latLon) {
      events = state.forPoint(latLon->first, latLon->second, distance_km, when, options);
    } else {
      events = state.all(when, options);
    }
    for (const auto& e : events) {
      nlohmann::json j = emwin::alerts::activeEventToJson(e);
      j["event"] = "active";
      j["at"] = when == 0 ? nlohmann::json(nullptr) : nlohmann::json(emwin::products::isoUtc(when));
      dump(j);
    }
  }
  if (!eventKey.empty()) {
    const auto e = state.event(eventKey);
    if (!e) {
      std::cerr << "emwin-classify: --event: no event '" << eventKey << "' in these files\n";
      rc = 2;
    } else {
      nlohmann::json j = emwin::alerts::eventToJson(*e);
      j["event"] = "lifecycle";
      dump(j);
    }
  }
  std::cout.flush();
  return rc;
}
