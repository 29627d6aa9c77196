#pragma once
// PipelineSubscriber: one replica of a consumer group on a producer's
// pipeline (ZeroMQ DEALER; protocol in pipeline_publisher.h and
// proto/emwin/bus/v1/control.proto). Reliable: the producer sends at most
// `credit_window` unacknowledged messages and holds the rest; what this
// replica does not acknowledge goes to another replica if it dies. Delivery
// is at-least-once; duplicates are dropped here by sequence per epoch.
//
// Recovery:
//   * with a state_file, (epoch, group floor, own acks above it) is persisted
//     and a REPLAY is requested at start, so a restarted replica gets what it
//     missed;
//   * when the producer restarts (a delivery of a new epoch), a REPLAY of the
//     new epoch from its start is requested, so what it published before our
//     group re-formed there is not lost;
//   * acknowledgements of an older epoch are never sent (sequence numbers
//     restart with each epoch; such an ack would hit another message).
//
// Thread-safety: not thread-safe; one thread.

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "bus/message.h"
#include "bus/security.h"
#include "bus/subscriber_stats.h"

namespace emwin::bus {

// Configuration of a PipelineSubscriber.
struct PipelineSubscriberOptions {
  std::string endpoint;                     // the producer's pipeline endpoint
  std::string group;                        // e.g. "disk-writer" ([A-Za-z0-9._-], 1..64)
  std::string replica;                      // unique in the group; empty = <host>-<pid>-<random>
  std::vector<std::string> topic_prefixes;  // empty = everything
  std::uint32_t credit_window = 256;        // max unacknowledged messages in flight to us
  std::chrono::milliseconds heartbeat{500};
  std::string state_file;                   // replay position kept here; empty = none
  const BusSecurity* security = nullptr;    // CURVE client; null = none
  bool ephemeral = false;                   // close() ends the group when we are its last replica (ad hoc streams)
};

class PipelineSubscriber {
 public:
  using Clock = std::chrono::steady_clock;

  // Connects and says HELLO (and REPLAY when a state file names a position).
  // Throws std::invalid_argument on an empty endpoint or group.
  PipelineSubscriber(zmq::context_t& context, PipelineSubscriberOptions options);
  ~PipelineSubscriber();
  PipelineSubscriber(const PipelineSubscriber&) = delete;
  PipelineSubscriber& operator=(const PipelineSubscriber&) = delete;

  // Next message if one is waiting now (never blocks).
  std::optional<Received> tryReceive();
  // Next message, waiting up to `timeout` (heartbeats kept); nullopt on timeout.
  std::optional<Received> receive(std::chrono::milliseconds timeout);

  // The message was fully handled; frees its credit.
  void ack(const AckToken& token);
  void ack(const Received& message) { ack(message.ackToken()); }

  // Asks the producer for retained messages after `after_sequence` of `epoch`.
  void requestReplay(std::uint64_t epoch, std::uint64_t after_sequence);

  // Heartbeat when due, pending acks sent, state written when due. Call it at
  // least every heartbeat interval, also while not receiving (e.g. paused).
  void maintain(Clock::time_point now = Clock::now());
  // Sends batched acknowledgements now.
  void flushAcks();

  // Leaves the group (BYE) and writes the state; the destructor does it too.
  void close();

  const SubscriberStats& stats() const noexcept { return stats_; }
  std::chrono::milliseconds heartbeatInterval() const noexcept { return options_.heartbeat; }
  const PipelineSubscriberOptions& options() const noexcept { return options_; }
  // The socket, for a reactor or zmq::poll to watch.
  zmq::socket_ref socket() noexcept { return socket_; }

 private:
  void sendCommand(const std::string& bytes);
  void sendHello();
  void queueAck(std::uint64_t seq);
  void advanceFloor(std::uint64_t to);
  void resetEpoch(std::uint64_t epoch);
  void writeState();
  bool loadState();
  std::optional<Received> process();

  PipelineSubscriberOptions options_;
  zmq::socket_t socket_;
  SubscriberStats stats_;
  bool closed_ = false;
  Clock::time_point next_heartbeat_;
  std::vector<std::uint64_t> pending_acks_;
  std::size_t ack_batch_ = 1;
  std::uint64_t epoch_ = 0;       // producer epoch we track
  std::uint64_t floor_ = 0;       // everything <= floor is done (group-wide)
  std::set<std::uint64_t> seen_;  // received sequences > floor
  std::set<std::uint64_t> acked_; // handled (acked) sequences > floor
  std::set<std::uint64_t> replayed_seen_;  // replayed sequences received (this epoch)
  std::uint64_t replay_floor_ = 0;         // from the state file: everything <= it was handled
  std::set<std::uint64_t> replay_known_;   // from the state file: handled sequences above that
  int older_in_a_row_ = 0;        // deliveries of an older epoch dropped in a row
  bool replay_covers_new_epoch_ = false;  // the start-up REPLAY asked for all a restarted producer kept
  bool state_dirty_ = false;
  Clock::time_point next_state_write_;
  std::vector<zmq::message_t> frames_;
};

}  // namespace emwin::bus
