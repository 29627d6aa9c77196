#include "runtime/stats_reporter.h"

namespace emwin::runtime {

StatsReporter::StatsReporter(std::string service, std::string instance, std::chrono::milliseconds interval,
                             Clock::time_point start)
    : service_(std::move(service)),
      instance_(std::move(instance)),
      interval_(interval),
      start_(start),
      next_due_(start + interval) {}

void StatsReporter::setCounter(std::string_view name, std::uint64_t value) {
  auto it = counters_.find(name);
  if (it == counters_.end()) {
    counters_.emplace(std::string(name), value);
  } else {
    it->second = value;
  }
}

void StatsReporter::addCounter(std::string_view name, std::uint64_t delta) {
  auto it = counters_.find(name);
  if (it == counters_.end()) {
    counters_.emplace(std::string(name), delta);
  } else {
    it->second += delta;
  }
}

void StatsReporter::setGauge(std::string_view name, double value) {
  auto it = gauges_.find(name);
  if (it == gauges_.end()) {
    gauges_.emplace(std::string(name), value);
  } else {
    it->second = value;
  }
}

void StatsReporter::setLabel(std::string_view name, std::string value) {
  auto it = labels_.find(name);
  if (it == labels_.end()) {
    labels_.emplace(std::string(name), std::move(value));
  } else {
    it->second = std::move(value);
  }
}

std::uint64_t StatsReporter::counter(std::string_view name) const {
  auto it = counters_.find(name);
  return it == counters_.end() ? 0 : it->second;
}

emwin::bus::v1::ServiceStats StatsReporter::build(Clock::time_point now) {
  emwin::bus::v1::ServiceStats stats;
  stats.set_service(service_);
  stats.set_instance(instance_);
  stats.set_state(state_);
  stats.set_uptime_s(std::chrono::duration<double>(now - start_).count());
  for (const auto& [name, value] : counters_) (*stats.mutable_counters())[name] = value;
  for (const auto& [name, value] : gauges_) (*stats.mutable_gauges())[name] = value;
  for (const auto& [name, value] : labels_) (*stats.mutable_labels())[name] = value;
  next_due_ = now + interval_;
  return stats;
}

std::string StatsReporter::topic() const { return "stats." + service_ + "." + instance_; }

}  // namespace emwin::runtime
