#include "bus/stats_report.h"

namespace emwin::bus {

void reportPublisher(runtime::StatsReporter& reporter, const PublisherStats& stats) {
  const PipelineStats& p = stats.pipeline;
  reporter.setCounter("bus_published", stats.published);
  reporter.setCounter("bus_tap_sent", stats.tap_sent);
  reporter.setCounter("bus_sent", p.sent);
  reporter.setCounter("bus_redelivered", p.redelivered);
  reporter.setCounter("bus_replayed", p.replayed);
  reporter.setCounter("bus_replay_misses", p.replay_misses);
  reporter.setCounter("bus_settled", p.settled);
  reporter.setCounter("bus_groups_expired", p.groups_expired);
  reporter.setCounter("bus_groups_restored", p.groups_restored);
  reporter.setCounter("bus_replicas_lost", p.replicas_lost);
  reporter.setCounter("bus_bad_commands", p.bad_commands);
  reporter.setCounter("bus_unauthorized", p.unauthorized);
  reporter.setGauge("queue_depth", static_cast<double>(p.max_group_queue));
  reporter.setGauge("downstream_groups", static_cast<double>(p.groups));
  reporter.setGauge("downstream_replicas", static_cast<double>(p.replicas));
  reporter.setGauge("unacknowledged", static_cast<double>(p.unacknowledged));
  reporter.setGauge("retained", static_cast<double>(p.retained));
}

void reportSubscriber(runtime::StatsReporter& reporter, const SubscriberStats& stats) {
  reporter.setCounter("bus_received", stats.received);
  reporter.setCounter("bus_duplicates", stats.duplicates);
  reporter.setCounter("bus_gaps", stats.gaps);
  reporter.setCounter("bus_missed", stats.missed);
  reporter.setCounter("bus_bad_payloads", stats.bad_payloads);
  reporter.setCounter("bus_epochs_seen", stats.epochs_seen);
  reporter.setCounter("bus_replay_requests", stats.replay_requests);
  reporter.setCounter("bus_stale_acks", stats.stale_acks);
  reporter.setCounter("bus_stale_deliveries", stats.stale_deliveries);
}

void addSubscriberStats(SubscriberStats& total, const SubscriberStats& more) {
  total.received += more.received;
  total.filtered_out += more.filtered_out;
  total.gaps += more.gaps;
  total.missed += more.missed;
  total.duplicates += more.duplicates;
  total.epochs_seen += more.epochs_seen;
  total.bad_payloads += more.bad_payloads;
  total.replay_requests += more.replay_requests;
  total.replayed += more.replayed;
  total.acks_sent += more.acks_sent;
  total.stale_acks += more.stale_acks;
  total.stale_deliveries += more.stale_deliveries;
}

}  // namespace emwin::bus
