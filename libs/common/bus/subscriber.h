#pragma once
// Subscriber: one object for either path, for code that lets its user choose
// (tools, examples, tests): a facade over TapSubscriber (tap_subscriber.h) and
// PipelineSubscriber (pipeline_subscriber.h). Services built on the runtime
// use those classes directly.
//
// Thread-safety: not thread-safe; one thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "bus/message.h"
#include "bus/pipeline_subscriber.h"
#include "bus/subscriber_stats.h"
#include "bus/tap_subscriber.h"

namespace emwin::bus {

// How a Subscriber attaches to a producer.
enum class Mode : std::uint8_t {
  kTap,       // SUB to a tap endpoint; may drop, gaps counted
  kPipeline,  // DEALER to a pipeline endpoint; reliable, acked, shared in a group
};

// Subscriber configuration (fields of the other path are ignored).
struct SubscriberOptions {
  Mode mode = Mode::kTap;
  std::vector<std::string> endpoints;       // connect endpoints (tap: several allowed; pipeline: exactly one)
  std::vector<std::string> topic_prefixes;  // empty = everything
  int receive_hwm = 10000;                  // tap: ZMQ_RCVHWM
  std::string group;                        // pipeline: e.g. "disk-writer"
  std::string replica;                      // pipeline: unique in group; empty = random
  std::uint32_t credit_window = 256;        // pipeline: max unacked messages in flight to us
  std::chrono::milliseconds heartbeat{500}; // pipeline
  std::string state_file;                   // pipeline: replay position kept here; empty = none
  const BusSecurity* security = nullptr;    // CURVE client; null = none
  bool ephemeral = false;                   // pipeline: closing ends the group when we are its last replica
};

class Subscriber {
 public:
  // Connects now. Throws std::invalid_argument on unusable options (a
  // pipeline needs exactly one endpoint and a group) and zmq::error_t when an
  // endpoint cannot be used.
  Subscriber(zmq::context_t& context, SubscriberOptions options);
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  // Next message, waiting up to `timeout`; nullopt on timeout.
  std::optional<Received> receive(std::chrono::milliseconds timeout);
  // Pipeline: the message was fully handled; frees its credit. Tap: no-op.
  void ack(const Received& message);
  void ack(const AckToken& token);
  // Pipeline: asks the producer for retained messages after `sequence` of `epoch`.
  void requestReplay(std::uint64_t epoch, std::uint64_t after_sequence);
  // Pipeline: heartbeat if due and pending acks, without receiving.
  void keepAlive();
  // Pipeline: leaves the group cleanly; the destructor does it too.
  void close();

  SubscriberStats stats() const;
  zmq::socket_ref socket();

 private:
  std::unique_ptr<TapSubscriber> tap_;
  std::unique_ptr<PipelineSubscriber> pipeline_;
};

}  // namespace emwin::bus
