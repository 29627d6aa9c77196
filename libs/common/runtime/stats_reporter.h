#pragma once
// StatsReporter: the one way every service builds its periodic
// emwin.bus.v1.ServiceStats for `stats.<service>.<instance>`. Holds named
// counters, gauges and labels, the service state and start time; due(now)
// says when the interval (default 2 s) has elapsed. Time is injected (pass
// `now`), so tests need no sleeps. Publishing is left to the caller
// (publisher.publish(topic(), reporter.build(now), Path::kTapOnly)).
// Thread-safety: not thread-safe; use from the service loop.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "emwin/bus/v1/stats.pb.h"

namespace emwin::runtime {

class StatsReporter {
 public:
  using Clock = std::chrono::steady_clock;

  StatsReporter(std::string service, std::string instance,
                std::chrono::milliseconds interval = std::chrono::seconds(2),
                Clock::time_point start = Clock::now());

  // Counters: set to an absolute value, or add to one.
  void setCounter(std::string_view name, std::uint64_t value);
  void addCounter(std::string_view name, std::uint64_t delta = 1);
  void setGauge(std::string_view name, double value);
  void setLabel(std::string_view name, std::string value);
  void setState(emwin::bus::v1::ServiceState state) noexcept { state_ = state; }

  std::uint64_t counter(std::string_view name) const;

  // True when `interval` has passed since the last build() (or start).
  bool due(Clock::time_point now) const noexcept { return now >= next_due_; }

  // Snapshot as ServiceStats (header left for the Publisher to fill) and
  // schedules the next due time.
  emwin::bus::v1::ServiceStats build(Clock::time_point now);

  // "stats.<service>.<instance>".
  std::string topic() const;
  const std::string& service() const noexcept { return service_; }
  const std::string& instance() const noexcept { return instance_; }

 private:
  std::string service_;
  std::string instance_;
  std::chrono::milliseconds interval_;
  Clock::time_point start_;
  Clock::time_point next_due_;
  emwin::bus::v1::ServiceState state_ = emwin::bus::v1::SERVICE_STATE_STARTING;
  std::map<std::string, std::uint64_t, std::less<>> counters_;
  std::map<std::string, double, std::less<>> gauges_;
  std::map<std::string, std::string, std::less<>> labels_;
};

}  // namespace emwin::runtime
