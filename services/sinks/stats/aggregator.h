#pragma once
// StatsAggregator: keeps the latest ServiceStats of every service instance,
// derives per-counter rates, marks instances that went quiet as stale, and
// renders the whole picture as a StatsSummary message and as Prometheus text
// exposition (format 0.0.4).
//
// Counter naming: "bad_frames.checksum" becomes the metric family
// emwin_bad_frames_total with label kind="checksum"; a counter without a dot,
// e.g. "files_completed", becomes emwin_files_completed_total; a name that
// already ends in "_total" is not suffixed again. A counter "<family>_total"
// reported next to "<family>.<kind>" counters is their sum: it is left out of
// the Prometheus text (sum() over kind gives it, and a kind-less series in the
// same family would be counted twice) but kept in the summary. Gauges follow
// the same rule without the _total suffix. Families named "source_*" are per
// input of a service (the assembler's redundant ingests): their kind goes in
// the label source= instead ("source_blocks_only.a" becomes
// emwin_source_blocks_only_total{source="a"}). Every series carries service=
// and instance= labels.
//
// Lifecycle: an instance is known from its first ServiceStats; one whose last
// ServiceStats says STOPPING (a clean exit) is forgotten; one not heard from
// for `stale_after` is stale (a crash, a hang, a partition). Health is bad
// while any instance is stale or DEGRADED (e.g. a disk writer on a full disk).
//
// Thread-safety: not thread-safe; the stats service guards it with a mutex
// shared by the bus loop and the HTTP handlers.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "emwin/bus/v1/stats.pb.h"

namespace emwin::sinks {

class StatsAggregator {
 public:
  using Clock = std::chrono::steady_clock;

  // An instance not heard from for `stale_after` is reported stale (up=0).
  explicit StatsAggregator(std::chrono::milliseconds stale_after = std::chrono::seconds(10));

  // Takes a ServiceStats received at `now`. Rates are computed against the
  // previous snapshot of the same instance and epoch.
  void update(const emwin::bus::v1::ServiceStats& stats, Clock::time_point now);

  // Counters of the aggregator itself (gaps seen on the bus, bad payloads ...).
  void setOwnCounter(const std::string& name, std::uint64_t value);

  // Summary of all instances (the stats.summary payload, header left empty).
  emwin::bus::v1::StatsSummary summary(Clock::time_point now) const;

  // Prometheus text exposition of everything known.
  std::string prometheus(Clock::time_point now) const;

  // What /healthz answers: `ok` (HTTP 200) when at least one instance is known
  // and none is stale or DEGRADED, else 503; `text` is one line saying why,
  // e.g. "ok services=4" or "degraded services=4 degraded=disk-writer.w1".
  struct Health {
    bool ok = false;
    std::string text;
  };
  Health health(Clock::time_point now) const;

  // True when at least one instance is known and none is stale or DEGRADED (health().ok).
  bool healthy(Clock::time_point now) const;

  std::size_t instanceCount() const noexcept { return instances_.size(); }

 private:
  struct Instance {
    emwin::bus::v1::ServiceStats latest;
    Clock::time_point received{};
    std::map<std::string, double> rates;  // counter -> per second
  };
  bool isStale(const Instance& i, Clock::time_point now) const;

  std::chrono::milliseconds stale_after_;
  std::map<std::pair<std::string, std::string>, Instance> instances_;  // (service, instance)
  std::map<std::string, std::uint64_t> own_counters_;
};

// Makes a string safe as a Prometheus metric-name part: [a-zA-Z0-9_], others '_'.
std::string prometheusName(std::string_view raw);

// Escapes a Prometheus label value (backslash, quote, newline).
std::string prometheusLabelValue(std::string_view raw);

}  // namespace emwin::sinks
