#pragma once
// PipelinePublisher: the reliable path of a producer — a ZeroMQ ROUTER that
// delivers every message to each consumer *group* (one per sink type, e.g.
// "disk-writer") with credit-based flow control, redelivery and replay.
//
// Protocol (full text in proto/emwin/bus/v1/control.proto):
//   consumer DEALER -> producer ROUTER: one frame, a ConsumerCommand
//     HELLO{group, replica, credit window, topic_prefixes} (also the heartbeat),
//     CREDIT{acks}, REPLAY{epoch, after_sequence}, BYE.
//   producer -> consumer: [topic, payload, Delivery{sequence, replayed, group_acked_through}].
// Replicas of a group share its messages: each goes to exactly one live
// replica, which never has more than its window unacknowledged. A replica
// that leaves (BYE) or falls silent (replica_timeout) has its unacknowledged
// deliveries handed to another. A bounded retention buffer answers REPLAY.
//
// Never blocks. enqueue() always takes the message; when a group's queue
// reaches `hwm`, hasRoom() turns false and the producer must stop taking
// input (not reading is the backpressure) until acks make room again.
//
// No loss across restarts: with a state_dir, the groups are remembered there.
// A restarted producer recreates them at once and holds messages for them
// from its first publish until their replicas re-join (or group_timeout).
//
// Settlement: a message is *settled* once every group it was routed to has
// acknowledged it (or the group expired); at once when no group wants it.
// A settled handler lets a transforming service acknowledge its own input
// only then, so a crash anywhere downstream loses nothing.
//
// Thread-safety: not thread-safe; one thread (the process's reactor).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "bus/detail/consumer_group.h"
#include "bus/detail/group_store.h"
#include "bus/detail/retention.h"
#include "bus/security.h"

namespace emwin::bus {

// Configuration of a PipelinePublisher. Every field has a documented default.
struct PipelineOptions {
  std::string endpoint;                             // ROUTER bind endpoint
  std::size_t hwm = 1000;                           // messages queued per group before hasRoom() is false
  std::size_t retention_messages = 20000;           // replay buffer, messages
  std::size_t retention_bytes = 8u * 1024 * 1024;   // replay buffer, bytes (hours of the real feed)
  std::chrono::milliseconds replica_timeout{3000};  // no heartbeat for this long = replica dead
  std::chrono::milliseconds group_timeout{60000};   // group with no replicas forgotten after this
  std::string state_dir;                            // where known groups are kept; empty = not kept
  const BusSecurity* security = nullptr;            // CURVE server in `zap_domain`; null = none
  std::string zap_domain = "pipe";                  // ZAP domain ("pipe.<service>")
  // With security: may the authenticated client `user` (its ZAP User-Id) join `group`?
  std::function<bool(const std::string& user, const std::string& group)> authorize;
};

// Counters of a PipelinePublisher.
struct PipelineStats {
  std::uint64_t sent = 0;            // deliveries (incl. redeliveries and replays)
  std::uint64_t redelivered = 0;     // deliveries re-sent after a replica left or died
  std::uint64_t replayed = 0;        // deliveries answering REPLAY requests
  std::uint64_t replay_misses = 0;   // REPLAY requests reaching before retention
  std::uint64_t settled = 0;         // messages settled (acknowledged by every group)
  std::uint64_t groups_expired = 0;  // groups forgotten after group_timeout
  std::uint64_t groups_restored = 0; // groups reloaded from the state dir at start
  std::uint64_t replicas_lost = 0;   // replicas declared dead (timeout or unroutable)
  std::uint64_t bad_commands = 0;    // unparsable or invalid consumer commands
  std::uint64_t unauthorized = 0;    // joins refused: the client's key may not join that group
  std::size_t groups = 0;            // known consumer groups
  std::size_t replicas = 0;          // live replicas over all groups
  std::size_t max_group_queue = 0;   // deepest group queue now
  std::size_t unacknowledged = 0;    // messages outstanding over all groups
  std::size_t retained = 0;          // messages held for replay
};

class PipelinePublisher {
 public:
  using SettledHandler = std::function<void(std::uint64_t sequence)>;
  using Clock = detail::Clock;

  // Binds now (throws zmq::error_t); loads the groups kept in state_dir.
  // `epoch` is the producer's epoch (REPLAY requests name it).
  PipelinePublisher(zmq::context_t& context, PipelineOptions options, std::uint64_t epoch);
  ~PipelinePublisher();
  PipelinePublisher(const PipelinePublisher&) = delete;
  PipelinePublisher& operator=(const PipelinePublisher&) = delete;

  // Retains a published message and routes it to every group that wants its
  // topic, sending at once where credit allows. Never blocks.
  void enqueue(std::uint64_t sequence, std::string_view topic, std::string payload);

  // False while a group's queue is at or above the high-water mark.
  bool hasRoom() const;

  // Takes consumer commands (HELLO, acks, REPLAY, BYE), sends what credit
  // allows, declares silent replicas dead, expires abandoned groups, then
  // reports settled messages to the handler. Never blocks.
  void service(Clock::time_point now = Clock::now());

  // Called from service() with the sequence of every settled message.
  void setSettledHandler(SettledHandler handler) { settled_handler_ = std::move(handler); }

  // The ROUTER socket (for a reactor to watch for readability).
  zmq::socket_ref socket() noexcept { return router_; }
  // Connectable form of the bound endpoint.
  const std::string& endpoint() const noexcept { return endpoint_; }
  PipelineStats stats() const;

 private:
  void handleCommand(const std::string& identity, const zmq::message_t& frame, Clock::time_point now);
  detail::ConsumerGroup& groupFor(const std::string& name, const std::vector<std::string>& prefixes,
                                  Clock::time_point now, bool restored);
  detail::Replica* replicaOf(const std::string& identity, detail::ConsumerGroup** group);
  void dropReplica(detail::ConsumerGroup& group, const std::string& identity, bool lost, Clock::time_point now);
  void dispatch(detail::ConsumerGroup& group, Clock::time_point now);
  bool send(const detail::Replica& replica, const detail::Message& m, bool replayed, std::uint64_t acked_through);
  void settle(const std::vector<std::uint64_t>& sequences);
  void checkTimeouts(Clock::time_point now);
  void saveGroups();

  PipelineOptions options_;
  std::uint64_t epoch_;
  std::shared_ptr<spdlog::logger> log_;
  zmq::socket_t router_;
  std::string endpoint_;
  detail::Retention retention_;
  detail::GroupStore store_;
  std::map<std::string, detail::ConsumerGroup> groups_;           // by name
  std::unordered_map<std::string, std::string> group_of_;        // routing id -> group name
  std::unordered_map<std::uint64_t, std::uint32_t> pending_;     // sequence -> groups yet to acknowledge
  std::vector<std::uint64_t> settled_;                            // to report at the end of service()
  std::vector<std::uint64_t> scratch_;
  std::vector<std::string> lost_;
  SettledHandler settled_handler_;
  detail::GroupCounters counters_;
  PipelineStats stats_;
  Clock::time_point next_timeout_check_;
  std::vector<zmq::message_t> frames_;
  std::set<std::string> refused_;  // (user, group) pairs already logged
};

}  // namespace emwin::bus
