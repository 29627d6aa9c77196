#pragma once
// emwin::bus — the ZeroMQ message bus shared by every service.
//
// A producer owns one Publisher, which binds two endpoints:
//   * the TAP endpoint (ZeroMQ PUB, default port 560x): every message, for
//     monitors and custom subscribers in any language. Drops at its send HWM;
//     a slow tap can never stall the producer. Subscribers see the drop as a
//     gap in the header sequence and count it.
//   * the PIPELINE endpoint (ZeroMQ ROUTER, default port 561x): reliable,
//     credit-based delivery to consumer *groups* (one group per sink type,
//     e.g. "assembler", "disk-writer"). Replicas of a group share the work:
//     every message goes to exactly one live replica of every group. When a
//     group's queue is full, publish() blocks (backpressure) instead of
//     dropping. Unacknowledged messages of a replica that died are handed to
//     another replica. A bounded retention buffer answers REPLAY requests.
// A message is two frames, [topic, payload]; the payload is a protobuf
// message whose field 1 is emwin.bus.v1.Header (producer, epoch, sequence).
//
// Pipeline protocol (full text in proto/emwin/bus/v1/control.proto):
//   consumer DEALER -> producer ROUTER: one frame, a ConsumerCommand
//     HELLO{group, replica, credit window, topic_prefixes} (also the heartbeat),
//     CREDIT{acks}, REPLAY{epoch, after_sequence}, BYE.
//   producer -> consumer: [topic, payload, Delivery{sequence, replayed,
//     group_acked_through}].
//   A replica never has more than `window` unacknowledged messages. Per group
//   the producer keeps a FIFO queue (pipeline_hwm) of messages waiting for a
//   replica with free credit; a full queue blocks publish(). A consumer with a
//   state_file persists (epoch, group_acked_through, its own acks above it)
//   and asks for a REPLAY on start; it drops duplicates by sequence.
//   Delivery is at-least-once to the group and exactly-once to the handler of
//   a consumer that keeps its dedupe state (crash between handling and state
//   write can repeat a message: sinks must be idempotent).
//
// Thread-safety: Publisher and Subscriber are NOT thread-safe; each is used
// from one thread (the service loop). FileStream/CallbackSubscription in
// subscribe.h run their own thread and are safe to use from another.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "emwin/bus/v1/header.pb.h"

namespace emwin::bus {

// Which paths a message goes to.
enum class Path : std::uint8_t {
  kAll,      // tap and pipeline (data: segments, files, alerts)
  kTapOnly,  // tap only (stats, server lists for monitors)
};

// Publisher configuration. Every field has a documented default.
struct PublisherOptions {
  std::string producer_id = "producer";  // goes into every Header.producer_id
  std::string tap_endpoint;              // PUB bind endpoint; empty = no tap
  std::string pipeline_endpoint;         // ROUTER bind endpoint; empty = no pipeline
  int tap_send_hwm = 10000;              // messages queued per tap subscriber before drops
  std::size_t pipeline_hwm = 1000;       // messages queued per group before publish() blocks
  // Replay buffer (REPLAY after a consumer group was gone past group_timeout).
  // 8 MiB is hours of the real feed and keeps a producer under ~30 MB RSS.
  std::size_t retention_messages = 20000;          // replay buffer, messages
  std::size_t retention_bytes = 8u * 1024 * 1024;  // replay buffer, bytes
  std::chrono::milliseconds replica_timeout{3000};  // no heartbeat for this long = replica dead
  std::chrono::milliseconds group_timeout{60000};   // group with no replicas forgotten after this
};

// Counters of a Publisher.
struct PublisherStats {
  std::uint64_t published = 0;        // messages published (= last sequence)
  std::uint64_t bytes_published = 0;  // payload bytes
  std::uint64_t pipeline_sent = 0;    // deliveries to pipeline replicas (incl. redeliveries)
  std::uint64_t redelivered = 0;      // in-flight messages re-sent after a replica died
  std::uint64_t replayed = 0;         // messages re-sent for REPLAY requests
  std::uint64_t replay_misses = 0;    // REPLAY requests reaching before retention
  std::uint64_t blocked_us = 0;       // time publish() spent blocked on backpressure
  std::uint64_t blocked_count = 0;    // publish() calls that had to wait
  std::size_t groups = 0;             // known consumer groups
  std::size_t replicas = 0;           // live replicas over all groups
  std::size_t max_group_queue = 0;    // deepest group queue now
  std::size_t retained = 0;           // messages held for replay
  std::uint64_t tap_sent = 0;         // messages handed to the tap socket
  std::uint64_t groups_expired = 0;   // groups forgotten after group_timeout
  std::uint64_t replicas_lost = 0;    // replicas declared dead (timeout or unroutable)
  std::uint64_t bad_commands = 0;     // unparsable consumer commands
};

// Binds the tap and pipeline endpoints and publishes messages.
class Publisher {
 public:
  Publisher(zmq::context_t& context, PublisherOptions options);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Fills msg.header (producer_id, epoch, sequence, produced time, type) and
  // publishes. Blocks while a pipeline group's queue is full, servicing the
  // pipeline socket meanwhile, until room appears, stop() was called or a
  // process stop signal arrived (runtime::stopRequested(); then
  // the message is still retained and counted, and publish returns).
  // Returns the sequence number assigned.
  template <class M>
  std::uint64_t publish(std::string_view topic, M& msg, Path path = Path::kAll) {
    fillHeader(*msg.mutable_header(), M::descriptor()->full_name(), topic);
    return publishSerialized(topic, msg.SerializeAsString(), path);
  }

  // Publishes an already-serialised payload whose header was filled by
  // fillHeader() (the sequence must be the one just assigned).
  std::uint64_t publishSerialized(std::string_view topic, std::string payload, Path path);

  // Assigns the next sequence number and fills a header; with a topic, also
  // the next topic_sequence of the topic's family (see topicFamily()).
  void fillHeader(emwin::bus::v1::Header& header, std::string_view payload_type, std::string_view topic = {});

  // Services the pipeline socket (credits, acks, heartbeats, replays,
  // replica timeouts) for up to `timeout`. Call it from the service loop.
  void poll(std::chrono::milliseconds timeout);

  // True when a publish(kAll) now would block (a group queue is full).
  bool wouldBlock() const;

  // Makes a blocked publish() return; later publishes do not block.
  void stop();

  std::uint64_t epoch() const noexcept;
  const std::string& producerId() const noexcept;
  PublisherStats stats() const;

  // Actual bound endpoints (resolves port 0 / wildcard to a connectable address).
  std::string tapEndpoint() const;
  std::string pipelineEndpoint() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// How a Subscriber attaches to a producer.
enum class Mode : std::uint8_t {
  kTap,       // SUB to a tap endpoint; may drop, gaps counted
  kPipeline,  // DEALER to a pipeline endpoint; reliable, acked, shared in a group
};

// Subscriber configuration.
struct SubscriberOptions {
  Mode mode = Mode::kTap;
  std::vector<std::string> endpoints;       // connect endpoints (tap: several allowed)
  std::vector<std::string> topic_prefixes;  // empty = everything
  int receive_hwm = 10000;                  // tap: ZMQ_RCVHWM
  // Pipeline only:
  std::string group;                        // e.g. "disk-writer"
  std::string replica;                      // unique in group; empty = random
  std::uint32_t credit_window = 256;        // max unacked messages in flight to us
  std::chrono::milliseconds heartbeat{500};
  // If set, (epoch, last acked contiguous sequence) is persisted here and a
  // REPLAY is requested on start, so a restarted consumer recovers what it missed.
  std::string state_file;
};

// What Subscriber::ack() needs of a pipeline message: a consumer that holds
// deliveries before acknowledging them (e.g. until a file completes) keeps
// this 16-byte token instead of the whole message.
struct AckToken {
  std::uint64_t epoch = 0;
  std::uint64_t delivery_sequence = 0;
};

// One received message.
struct Received {
  std::string topic;
  std::string payload;             // serialised protobuf (field 1 = Header)
  emwin::bus::v1::Header header;   // parsed from payload
  bool replayed = false;           // came from a REPLAY
  std::uint64_t delivery_sequence = 0;  // pipeline: the sequence ack() acknowledges
  AckToken ackToken() const { return {header.epoch(), delivery_sequence}; }
};

// Counters of a Subscriber.
struct SubscriberStats {
  std::uint64_t received = 0;
  std::uint64_t filtered_out = 0;   // tap: received but not matching topic_prefixes
  std::uint64_t gaps = 0;           // gap events (tap: sequence jumps per producer)
  std::uint64_t missed = 0;         // messages missed according to sequences
  std::uint64_t duplicates = 0;     // sequences seen twice (dropped)
  std::uint64_t epochs_seen = 0;    // producer restarts observed
  std::uint64_t bad_payloads = 0;   // payloads without a parsable Header
  std::uint64_t replay_requests = 0;
  std::uint64_t replayed = 0;       // pipeline: replayed messages received (incl. duplicates)
  std::uint64_t acks_sent = 0;      // pipeline: sequences acknowledged to the producer
};

// Connects to producers and receives messages.
class Subscriber {
 public:
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

  // Pipeline: sends a heartbeat if due and flushes batched acks without
  // receiving. Call it when not calling receive() for a while (e.g. while a
  // bounded queue downstream is full) so the producer keeps us alive.
  void keepAlive();

  // Leaves the group cleanly (pipeline); called by the destructor too.
  void close();

  SubscriberStats stats() const;

  // The underlying socket, for zmq::poll in multi-input loops.
  zmq::socket_ref socket();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The family of a topic: the text up to and including its first '.'
// ("seg.TXT.A.TXT" -> "seg."), or the whole topic if it has no '.'.
std::string_view topicFamily(std::string_view topic) noexcept;

// True if `topic` starts with one of `prefixes` (or prefixes is empty).
bool topicMatches(std::string_view topic, const std::vector<std::string>& prefixes) noexcept;

}  // namespace emwin::bus
