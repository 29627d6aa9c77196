#include "filter.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

namespace emwin::gateway {
namespace {

constexpr std::size_t kMaxValues = 200;  // per parameter

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool allAlnum(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; });
}

bool validUgc(std::string_view s) {
  return s.size() == 6 && std::isalpha(static_cast<unsigned char>(s[0])) &&
         std::isalpha(static_cast<unsigned char>(s[1])) && (s[2] == 'C' || s[2] == 'Z') &&
         std::isdigit(static_cast<unsigned char>(s[3])) && std::isdigit(static_cast<unsigned char>(s[4])) &&
         std::isdigit(static_cast<unsigned char>(s[5]));
}

std::optional<double> number(const std::string& text) {
  double v = 0;
  const char* b = text.data();
  const char* e = b + text.size();
  auto r = std::from_chars(b, e, v);
  if (r.ec != std::errc() || r.ptr != e || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<bool> boolean(std::string_view text) {
  std::string l(text);
  for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (l == "1" || l == "true" || l == "yes") return true;
  if (l == "0" || l == "false" || l == "no") return false;
  return std::nullopt;
}

bool anyOf(const std::vector<std::string>& wanted, const std::string& have) {
  return std::find(wanted.begin(), wanted.end(), have) != wanted.end();
}

bool intersects(const std::vector<std::string>& wanted, const std::vector<std::string>& have) {
  for (const auto& h : have) {
    if (anyOf(wanted, h)) return true;
  }
  return false;
}

void join(std::string& out, std::string_view name, const std::vector<std::string>& v) {
  if (v.empty()) return;
  if (!out.empty()) out += ' ';
  out += name;
  out += '=';
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += v[i];
  }
}

}  // namespace

const std::vector<std::string>& filterParameters() {
  static const std::vector<std::string> kNames = {"topic",  "product", "awips",       "office",       "state",
                                                  "ugc",    "phenomenon", "significance", "action",   "min_tier",
                                                  "lat",    "lon",     "distance_km", "has_polygon", "test"};
  return kNames;
}

std::optional<Filter> Filter::parse(const http::Request& request, std::string& error,
                                    const std::vector<std::string>& also_allowed) {
  Filter f;
  const auto& known = filterParameters();
  for (const auto& [name, value] : request.query) {
    if (std::find(known.begin(), known.end(), name) == known.end() &&
        std::find(also_allowed.begin(), also_allowed.end(), name) == also_allowed.end()) {
      error = "unknown parameter '" + name + "' (known: topic, product, awips, office, state, ugc, phenomenon, "
              "significance, action, min_tier, lat, lon, distance_km, has_polygon, test)";
      return std::nullopt;
    }
    (void)value;
  }
  // Collects the values of a list parameter, checked and upper-cased.
  auto list = [&](const char* name, std::vector<std::string>& out, auto valid, const char* what) {
    for (const std::string& raw : request.params(name)) {
      std::string v = upper(raw);
      if (!valid(v)) {
        error = std::string("bad ") + name + " '" + raw + "': want " + what;
        return false;
      }
      if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(std::move(v));
      if (out.size() > kMaxValues) {
        error = std::string("too many values for ") + name + " (at most " + std::to_string(kMaxValues) + ")";
        return false;
      }
    }
    return true;
  };
  for (const std::string& t : request.params("topic")) {
    if (t.size() > 200 || std::any_of(t.begin(), t.end(), [](char c) {
          return static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e;
        })) {
      error = "bad topic '" + t + "': want a printable topic prefix such as alert.TO. or file.TXT.";
      return std::nullopt;
    }
    if (std::find(f.topics.begin(), f.topics.end(), t) == f.topics.end()) f.topics.push_back(t);
    if (f.topics.size() > kMaxValues) {
      error = "too many values for topic";
      return std::nullopt;
    }
  }
  if (!list("product", f.products, [](const std::string& v) { return v.size() >= 2 && v.size() <= 3 && allAlnum(v); },
            "a 3-character product code such as TOR") ||
      !list("awips", f.awips, [](const std::string& v) { return v.size() >= 4 && v.size() <= 6 && allAlnum(v); },
            "an AWIPS id such as TORDMX") ||
      !list("office", f.offices, [](const std::string& v) { return v.size() >= 3 && v.size() <= 4 && allAlnum(v); },
            "an office such as KDMX or DMX") ||
      !list("state", f.states,
            [](const std::string& v) {
              return v.size() == 2 && std::isalpha(static_cast<unsigned char>(v[0])) &&
                     std::isalpha(static_cast<unsigned char>(v[1]));
            },
            "a two-letter state such as IA") ||
      !list("ugc", f.ugc, [](const std::string& v) { return validUgc(v); },
            "a county or zone code such as IAC169 or IAZ048") ||
      !list("phenomenon", f.phenomena, [](const std::string& v) { return v.size() >= 2 && v.size() <= 3 && allAlnum(v); },
            "a VTEC phenomenon such as TO") ||
      !list("significance", f.significances, [](const std::string& v) { return v.size() == 1 && allAlnum(v); },
            "a VTEC significance such as W") ||
      !list("action", f.actions, [](const std::string& v) { return v.size() == 3 && allAlnum(v); },
            "a VTEC action such as NEW")) {
    return std::nullopt;
  }
  if (auto t = request.param("min_tier")) {
    auto tier = parseTier(*t);
    if (!tier || *tier > 6) {
      error = "bad min_tier '" + *t + "': want emergency, warning, watch, advisory, statement, routine or 1..6";
      return std::nullopt;
    }
    f.min_tier = *tier;
  }
  const auto lat = request.param("lat");
  const auto lon = request.param("lon");
  if (lat || lon) {
    if (!lat || !lon) {
      error = "lat and lon go together";
      return std::nullopt;
    }
    auto la = number(*lat);
    auto lo = number(*lon);
    if (!la || !lo || !validPoint({*la, *lo})) {
      error = "bad lat/lon '" + *lat + "," + *lon + "': want decimal degrees, lat -90..90, lon -180..180";
      return std::nullopt;
    }
    f.point = GeoPoint{*la, *lo};
  }
  if (auto d = request.param("distance_km")) {
    auto v = number(*d);
    if (!v || *v < 0 || *v > 2000) {
      error = "bad distance_km '" + *d + "': want 0..2000";
      return std::nullopt;
    }
    if (!f.point) {
      error = "distance_km needs lat and lon";
      return std::nullopt;
    }
    f.distance_km = *v;
  }
  if (auto h = request.param("has_polygon")) {
    f.has_polygon = boolean(*h);
    if (!f.has_polygon) {
      error = "bad has_polygon '" + *h + "': want true or false";
      return std::nullopt;
    }
  }
  if (auto t = request.param("test")) {
    auto b = boolean(*t);
    if (!b) {
      error = "bad test '" + *t + "': want true or false";
      return std::nullopt;
    }
    f.include_test = *b;
  }
  return f;
}

bool Filter::matches(const EventFacts& e) const {
  if (e.is_test && !include_test) return false;
  if (!topics.empty()) {
    bool any = false;
    for (const auto& t : topics) {
      if (e.topic.compare(0, t.size(), t) == 0) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  if (!products.empty() && !anyOf(products, e.product_code)) return false;
  if (!awips.empty() && !anyOf(awips, e.awips_id)) return false;
  if (!offices.empty() && !intersects(offices, e.offices)) return false;
  if (!states.empty() && !intersects(states, e.states)) return false;
  if (!ugc.empty() && !intersects(ugc, e.ugc)) return false;
  if (!phenomena.empty() && !anyOf(phenomena, e.phenomenon)) return false;
  if (!significances.empty() && !anyOf(significances, e.significance)) return false;
  if (!actions.empty() && !anyOf(actions, e.action)) return false;
  if (min_tier > 0 && (e.tier < 1 || e.tier > min_tier)) return false;
  if (has_polygon && *has_polygon != (e.polygon.size() >= 3)) return false;
  if (point) {
    if (e.polygon.size() >= 3) {
      if (!pointInPolygon(*point, e.polygon)) return false;
    } else {
      bool near = false;
      if (distance_km > 0) {
        for (const auto& c : e.centroids) {
          if (distanceKm(*point, c) <= distance_km) {
            near = true;
            break;
          }
        }
      }
      if (!near) return false;
    }
  }
  return true;
}

bool Filter::empty() const {
  return topics.empty() && products.empty() && awips.empty() && offices.empty() && states.empty() && ugc.empty() &&
         phenomena.empty() && significances.empty() && actions.empty() && min_tier == 0 && !point && !has_polygon;
}

std::string Filter::describe() const {
  std::string out;
  join(out, "topic", topics);
  join(out, "product", products);
  join(out, "awips", awips);
  join(out, "office", offices);
  join(out, "state", states);
  join(out, "ugc", ugc);
  join(out, "phenomenon", phenomena);
  join(out, "significance", significances);
  join(out, "action", actions);
  auto add = [&](const std::string& s) {
    if (!out.empty()) out += ' ';
    out += s;
  };
  if (min_tier) add("min_tier=" + std::string(tierName(min_tier)));
  if (point) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "lat=%.4f lon=%.4f distance_km=%g", point->lat, point->lon, distance_km);
    add(buf);
  }
  if (has_polygon) add(std::string("has_polygon=") + (*has_polygon ? "true" : "false"));
  if (include_test) add("test=true");
  return out;
}

}  // namespace emwin::gateway
