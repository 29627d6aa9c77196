#pragma once
// ConsumerGroup: one sink type on a pipeline publisher (e.g. "disk-writer").
// Holds the group's FIFO of messages waiting for a replica with free credit,
// the sequences routed to the group and not yet acknowledged ("outstanding"),
// and its replicas (DEALER connections) with their in-flight deliveries.
// Every message goes to exactly one live replica; a replica that leaves or
// dies has its unacknowledged deliveries put back at the front of the queue.
// Internal to emwin::bus (see pipeline_publisher.h for the protocol).
// Thread-safety: not thread-safe (the publisher's thread).

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bus/detail/retention.h"

namespace emwin::bus::detail {

using Clock = std::chrono::steady_clock;

// A delivery sent to a replica and not yet acknowledged.
struct InFlight {
  MessagePtr message;
  bool replayed = false;
};

// One replica of a group: a consumer connection with a credit window.
struct Replica {
  std::string identity;  // ROUTER routing id
  std::string name;      // the consumer's replica name (logs)
  std::uint32_t window = 1;
  std::multimap<std::uint64_t, InFlight> in_flight;
  std::deque<MessagePtr> replay;  // answer to REPLAY, sent before the group queue
  Clock::time_point last_seen;
  std::size_t freeCredit() const { return in_flight.size() >= window ? 0 : window - in_flight.size(); }
};

// Counters a group adds to its publisher's.
struct GroupCounters {
  std::uint64_t sent = 0;         // deliveries (incl. redeliveries and replays)
  std::uint64_t redelivered = 0;  // regular deliveries re-sent after a replica left
  std::uint64_t replayed = 0;     // deliveries answering a REPLAY
};

// Sends one delivery to `replica`; false when the replica is unroutable.
using Sender =
    std::function<bool(const Replica& replica, const Message& m, bool replayed, std::uint64_t acked_through)>;

class ConsumerGroup {
 public:
  ConsumerGroup(std::string name, std::vector<std::string> prefixes, Clock::time_point now);

  const std::string& name() const noexcept { return name_; }
  const std::vector<std::string>& prefixes() const noexcept { return prefixes_; }
  // Replaces the topic prefixes (a replica's HELLO states them).
  void setPrefixes(std::vector<std::string> prefixes) { prefixes_ = std::move(prefixes); }
  // True when the group takes messages of `topic`.
  bool wants(std::string_view topic) const noexcept;

  // A newly published message for this group.
  void enqueue(const MessagePtr& m);

  // Registers a replica or refreshes it; *created tells which.
  Replica& join(const std::string& identity, const std::string& replica_name, std::uint32_t window,
                Clock::time_point now, bool* created);
  // The replica with this routing id, or nullptr.
  Replica* find(const std::string& identity);
  // Acknowledgements from `replica`. Sequences that are no longer outstanding
  // for the group (acknowledged by one of its replicas) are appended to `settled`.
  template <class Sequences>
  void acknowledge(Replica& replica, const Sequences& sequences, std::vector<std::uint64_t>& settled) {
    for (std::uint64_t seq : sequences) acknowledgeOne(replica, seq, settled);
  }
  // Removes a replica; its unacknowledged regular deliveries go back to the
  // front of the queue, in order. Returns how many.
  std::size_t remove(const std::string& identity, Clock::time_point now);
  // Queues for `replica` the retained messages after `after` that this group
  // wants and that were never routed to it (published before the group
  // existed here): what was routed is outstanding (it will be delivered) or
  // was acknowledged by the group. Returns how many.
  std::size_t replay(Replica& replica, const Retention& retention, std::uint64_t after);
  // Sends while replicas have free credit. Replicas found unroutable are
  // removed; their routing ids are appended to `lost`.
  void dispatch(const Sender& send, GroupCounters& counters, std::vector<std::string>& lost, Clock::time_point now);
  // Routing ids of replicas not heard from since `deadline`.
  std::vector<std::string> silentSince(Clock::time_point deadline) const;
  // Gives up everything outstanding (the group expired): appended to `settled`.
  void abandon(std::vector<std::uint64_t>& settled);

  std::size_t queued() const noexcept { return queue_.size(); }
  std::size_t replicaCount() const noexcept { return replicas_.size(); }
  // Messages routed to the group and not yet acknowledged (queued or in flight).
  std::size_t outstanding() const noexcept { return outstanding_.size(); }
  // Since when the group has had no replica (meaningful while replicaCount() == 0).
  Clock::time_point emptySince() const noexcept { return empty_since_; }
  // Every message of the group with a sequence <= this is acknowledged.
  std::uint64_t ackedThrough() const { return outstanding_.empty() ? last_routed_ : *outstanding_.begin() - 1; }

 private:
  struct Pending {
    MessagePtr message;
    bool redelivery = false;
  };
  void acknowledgeOne(Replica& replica, std::uint64_t seq, std::vector<std::uint64_t>& settled);

  std::string name_;
  std::vector<std::string> prefixes_;
  std::deque<Pending> queue_;
  std::set<std::uint64_t> outstanding_;
  std::uint64_t last_routed_ = 0;
  std::uint64_t first_routed_ = 0;  // 0 = nothing routed yet
  std::map<std::string, Replica> replicas_;  // by routing id
  Clock::time_point empty_since_;
};

}  // namespace emwin::bus::detail
