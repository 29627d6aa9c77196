#pragma once
// Copies a Publisher's and subscribers' counters into a service's
// StatsReporter under the same names in every service ("bus_published",
// "bus_gaps", "queue_depth", ...), so /metrics reads alike everywhere.
// Thread-safety: as the StatsReporter passed in (the reactor thread).

#include "bus/publisher.h"
#include "bus/subscriber_stats.h"
#include "runtime/stats_reporter.h"

namespace emwin::bus {

// bus_published, bus_tap_sent, bus_sent, bus_redelivered, bus_replayed,
// bus_replay_misses, bus_settled, bus_groups_expired, bus_groups_restored,
// bus_replicas_lost, bus_bad_commands; gauges queue_depth (deepest group
// queue), downstream_groups, downstream_replicas, unacknowledged, retained.
void reportPublisher(runtime::StatsReporter& reporter, const PublisherStats& stats);

// bus_received, bus_duplicates, bus_gaps, bus_missed, bus_bad_payloads,
// bus_epochs_seen, bus_replay_requests, bus_stale_acks.
void reportSubscriber(runtime::StatsReporter& reporter, const SubscriberStats& stats);

// Adds `more` to `total` field by field (several inputs of one service).
void addSubscriberStats(SubscriberStats& total, const SubscriberStats& more);

}  // namespace emwin::bus
