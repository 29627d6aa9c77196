#include "bus/stats_report.h"

namespace emwin::bus {

void reportPublisher(runtime::StatsReporter& reporter, const PublisherStats& stats) {
  reporter.setCounter("bus_published", stats.published);
  reporter.setCounter("bus_redelivered", stats.redelivered);
  reporter.setCounter("bus_replayed", stats.replayed);
  reporter.setCounter("bus_blocked_us", stats.blocked_us);
  reporter.setGauge("queue_depth", static_cast<double>(stats.max_group_queue));
  reporter.setGauge("downstream_replicas", static_cast<double>(stats.replicas));
}

void reportSubscriber(runtime::StatsReporter& reporter, const SubscriberStats& stats) {
  reporter.setCounter("bus_received", stats.received);
  reporter.setCounter("bus_duplicates", stats.duplicates);
  reporter.setCounter("bus_gaps", stats.gaps);
  reporter.setCounter("bus_bad_payloads", stats.bad_payloads);
}

}  // namespace emwin::bus
