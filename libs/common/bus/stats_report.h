#pragma once
// Copies a Publisher's and a Subscriber's counters into a service's
// StatsReporter under the same names in every service ("bus_published",
// "bus_gaps", "queue_depth", ...), so /metrics reads alike everywhere.
// Thread-safety: as the StatsReporter passed in (service loop only).

#include "bus/bus.h"
#include "runtime/stats_reporter.h"

namespace emwin::bus {

// bus_published, bus_redelivered, bus_replayed, bus_blocked_us; gauges
// queue_depth (deepest group queue) and downstream_replicas.
void reportPublisher(runtime::StatsReporter& reporter, const PublisherStats& stats);

// bus_received, bus_duplicates, bus_gaps, bus_bad_payloads.
void reportSubscriber(runtime::StatsReporter& reporter, const SubscriberStats& stats);

}  // namespace emwin::bus
