#pragma once
// Counters shared by the tap and pipeline subscribers. Plain data.

#include <cstdint>

namespace emwin::bus {

// Counters of a subscriber (fields a path does not use stay 0).
struct SubscriberStats {
  std::uint64_t received = 0;
  std::uint64_t filtered_out = 0;     // received but not matching topic_prefixes
  std::uint64_t gaps = 0;             // tap: gap events (sequence jumps per producer / topic family)
  std::uint64_t missed = 0;           // tap: messages missed according to sequences
  std::uint64_t duplicates = 0;       // sequences seen twice (dropped)
  std::uint64_t epochs_seen = 0;      // producer restarts observed
  std::uint64_t bad_payloads = 0;     // payloads without a parsable Header
  std::uint64_t replay_requests = 0;  // pipeline: REPLAY requests sent
  std::uint64_t replayed = 0;         // pipeline: replayed messages received (incl. duplicates)
  std::uint64_t acks_sent = 0;        // pipeline: sequences acknowledged to the producer
  std::uint64_t stale_acks = 0;       // pipeline: acks of an older producer epoch, not sent
  std::uint64_t stale_deliveries = 0; // pipeline: late deliveries of an older producer epoch, dropped
};

}  // namespace emwin::bus
