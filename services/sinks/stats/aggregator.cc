#include "aggregator.h"

#include <cmath>
#include <set>
#include <sstream>
#include <vector>

#include <fmt/format.h>

namespace emwin::sinks {
namespace {

using emwin::bus::v1::ServiceStats;

// Splits "family.kind" into ("family", "kind"); kind empty when there is no dot.
std::pair<std::string, std::string> splitName(const std::string& name) {
  auto dot = name.find('.');
  if (dot == std::string::npos) return {name, ""};
  return {name.substr(0, dot), name.substr(dot + 1)};
}

// The label a family's kinds go in: "source" for per-source families
// ("source_blocks_only.a" -> source="a"), "kind" otherwise.
const char* kindLabel(const std::string& family) { return family.starts_with("source_") ? "source" : "kind"; }

// ",<label>=\"<kind>\"" for a kinded sample, "" without a kind.
std::string kindLabels(const std::string& family, const std::string& kind) {
  if (kind.empty()) return {};
  return fmt::format(",{}=\"{}\"", kindLabel(family), prometheusLabelValue(kind));
}

std::string formatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{:.6g}", v);
}

// One sample line: family name, labels, value.
struct Sample {
  std::string labels;
  double value;
};

}  // namespace

std::string prometheusName(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    out.push_back(ok ? c : '_');
  }
  if (out.empty() || (out[0] >= '0' && out[0] <= '9')) out.insert(out.begin(), '_');
  return out;
}

std::string prometheusLabelValue(std::string_view raw) {
  std::string out;
  for (char c : raw) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

StatsAggregator::StatsAggregator(std::chrono::milliseconds stale_after) : stale_after_(stale_after) {}

void StatsAggregator::update(const ServiceStats& stats, Clock::time_point now) {
  if (stats.state() == emwin::bus::v1::SERVICE_STATE_STOPPING) {
    // Its final snapshot: the instance left cleanly and is no longer expected.
    instances_.erase({stats.service(), stats.instance()});
    return;
  }
  auto& inst = instances_[{stats.service(), stats.instance()}];
  bool same_epoch = inst.received != Clock::time_point{} &&
                    inst.latest.header().epoch() == stats.header().epoch();
  if (same_epoch) {
    double dt = std::chrono::duration<double>(now - inst.received).count();
    if (dt > 0) {
      for (const auto& [name, value] : stats.counters()) {
        auto prev = inst.latest.counters().find(name);
        std::uint64_t before = prev == inst.latest.counters().end() ? 0 : prev->second;
        inst.rates[name] = value >= before ? static_cast<double>(value - before) / dt : 0.0;
      }
    }
  } else {
    inst.rates.clear();
  }
  inst.latest = stats;
  inst.received = now;
}

void StatsAggregator::setOwnCounter(const std::string& name, std::uint64_t value) { own_counters_[name] = value; }

bool StatsAggregator::isStale(const Instance& i, Clock::time_point now) const {
  return now - i.received > stale_after_;
}

StatsAggregator::Health StatsAggregator::health(Clock::time_point now) const {
  Health h;
  if (instances_.empty()) {
    h.text = "degraded services=0 (no service reports)";
    return h;
  }
  std::string stale, degraded;
  for (const auto& [key, inst] : instances_) {
    const std::string name = key.first + "." + key.second;
    if (isStale(inst, now)) {
      stale += (stale.empty() ? "" : ",") + name;
    } else if (inst.latest.state() == emwin::bus::v1::SERVICE_STATE_DEGRADED) {
      degraded += (degraded.empty() ? "" : ",") + name;
    }
  }
  h.ok = stale.empty() && degraded.empty();
  h.text = std::string(h.ok ? "ok" : "degraded") + " services=" + std::to_string(instances_.size());
  if (!stale.empty()) h.text += " stale=" + stale;
  if (!degraded.empty()) h.text += " degraded=" + degraded;
  return h;
}

bool StatsAggregator::healthy(Clock::time_point now) const { return health(now).ok; }

emwin::bus::v1::StatsSummary StatsAggregator::summary(Clock::time_point now) const {
  emwin::bus::v1::StatsSummary out;
  for (const auto& [key, inst] : instances_) {
    *out.add_services() = inst.latest;
    std::string prefix = key.first + "." + key.second + ".";
    for (const auto& [name, rate] : inst.rates) (*out.mutable_rates())[prefix + name + "_per_s"] = rate;
    if (isStale(inst, now)) out.add_stale(key.first + "." + key.second);
  }
  return out;
}

std::string StatsAggregator::prometheus(Clock::time_point now) const {
  // family -> (type, samples); std::map keeps the output stable.
  std::map<std::string, std::pair<std::string, std::vector<Sample>>> families;
  auto add = [&](const std::string& family, const char* type, std::string labels, double value) {
    auto& f = families[family];
    f.first = type;
    f.second.push_back({std::move(labels), value});
  };
  for (const auto& [key, inst] : instances_) {
    std::string base = fmt::format("service=\"{}\",instance=\"{}\"", prometheusLabelValue(key.first),
                                   prometheusLabelValue(key.second));
    add("emwin_up", "gauge", base, isStale(inst, now) ? 0 : 1);
    add("emwin_uptime_seconds", "gauge", base, inst.latest.uptime_s());
    add("emwin_state", "gauge", base, static_cast<double>(inst.latest.state()));
    add("emwin_last_report_age_seconds", "gauge", base,
        std::chrono::duration<double>(now - inst.received).count());
    // Families reported by kind ("bad_frames.checksum" -> "bad_frames").
    std::set<std::string> kinded;
    for (const auto& [name, value] : inst.latest.counters()) {
      auto [family, kind] = splitName(name);
      if (!kind.empty()) kinded.insert(family);
    }
    for (const auto& [name, value] : inst.latest.counters()) {
      auto [family, kind] = splitName(name);
      const bool has_suffix = family.size() > 6 && family.ends_with("_total");
      if (kind.empty() && has_suffix && kinded.count(family.substr(0, family.size() - 6))) continue;  // their sum
      add("emwin_" + prometheusName(family) + (has_suffix ? "" : "_total"), "counter", base + kindLabels(family, kind),
          static_cast<double>(value));
    }
    for (const auto& [name, value] : inst.latest.gauges()) {
      auto [family, kind] = splitName(name);
      add("emwin_" + prometheusName(family), "gauge", base + kindLabels(family, kind), value);
    }
    for (const auto& [name, rate] : inst.rates) {
      add("emwin_rate_per_second", "gauge",
          base + fmt::format(",counter=\"{}\"", prometheusLabelValue(name)), rate);
    }
    for (const auto& [name, value] : inst.latest.labels()) {
      add("emwin_info", "gauge",
          base + fmt::format(",key=\"{}\",value=\"{}\"", prometheusLabelValue(name), prometheusLabelValue(value)), 1);
    }
  }
  for (const auto& [name, value] : own_counters_) {
    const bool has_suffix = name.size() > 6 && name.ends_with("_total");
    add("emwin_stats_" + prometheusName(name) + (has_suffix ? "" : "_total"), "counter", "",
        static_cast<double>(value));
  }
  std::ostringstream out;
  for (const auto& [family, entry] : families) {
    out << "# TYPE " << family << ' ' << entry.first << '\n';
    for (const auto& s : entry.second) {
      out << family;
      if (!s.labels.empty()) out << '{' << s.labels << '}';
      out << ' ' << formatValue(s.value) << '\n';
    }
  }
  return out.str();
}

}  // namespace emwin::sinks
