#pragma once
// Publisher: what a producing service publishes through. A thin facade that
// numbers every message (Header: producer, epoch, sequence, topic_sequence)
// and hands it to the producer's two transports:
//   * TapPublisher (tap_publisher.h): PUB, every message, may drop, gaps counted;
//   * PipelinePublisher (pipeline_publisher.h): ROUTER, reliable consumer
//     groups with credit, redelivery, replay and settlement.
// A message is two frames, [topic, payload]; the payload is a protobuf
// message whose field 1 is emwin.bus.v1.Header.
//
// publish() never blocks. Backpressure is the caller's: while hasRoom() is
// false it stops taking input (the service runtime does this for every
// service), which stops acks upstream or reading a socket.
//
// Thread-safety: not thread-safe; one thread (the process's reactor).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "bus/message.h"
#include "bus/pipeline_publisher.h"
#include "bus/tap_publisher.h"
#include "emwin/bus/v1/header.pb.h"

namespace emwin::bus {

// Publisher configuration. Every field has a documented default.
struct PublisherOptions {
  std::string producer_id = "producer";         // goes into every Header.producer_id
  std::string tap_endpoint;                     // PUB bind endpoint; empty = no bound tap
  std::vector<std::string> tap_connect;         // PUB connect endpoints (e.g. a stats intake)
  std::string pipeline_endpoint;                // ROUTER bind endpoint; empty = no pipeline
  int tap_send_hwm = 10000;                     // messages queued per tap subscriber before drops
  std::size_t pipeline_hwm = 1000;              // messages queued per group before hasRoom() is false
  std::size_t retention_messages = 20000;       // replay buffer, messages
  std::size_t retention_bytes = 8u * 1024 * 1024;  // replay buffer, bytes
  std::chrono::milliseconds replica_timeout{3000};  // no heartbeat for this long = replica dead
  std::chrono::milliseconds group_timeout{60000};   // group with no replicas forgotten after this
  std::string state_dir;                        // consumer groups kept here across restarts; empty = not kept
  const BusSecurity* security = nullptr;        // CURVE on both transports; null = none
  std::string service;                          // ZAP domains "tap.<service>", "pipe.<service>"
  // With security: may the authenticated client `user` join `group` (pipeline HELLO)?
  std::function<bool(const std::string& user, const std::string& group)> authorize;
};

// An endpoint of the publisher could not be bound (address in use, bad
// address, no permission): which transport, which endpoint, and why.
class EndpointError : public std::runtime_error {
 public:
  enum class Transport { kTap, kPipeline };
  EndpointError(Transport transport, std::string endpoint, const std::string& reason)
      : std::runtime_error("cannot bind " + endpoint + ": " + reason),
        transport_(transport),
        endpoint_(std::move(endpoint)) {}
  Transport transport() const noexcept { return transport_; }
  const std::string& endpoint() const noexcept { return endpoint_; }

 private:
  Transport transport_;
  std::string endpoint_;
};

// Counters of a Publisher (its transports' included).
struct PublisherStats {
  std::uint64_t published = 0;        // messages published (= last sequence)
  std::uint64_t bytes_published = 0;  // payload bytes
  std::uint64_t tap_sent = 0;         // messages handed to the tap socket
  PipelineStats pipeline;             // zero when there is no pipeline
};

class Publisher {
 public:
  // Binds/connects now; throws EndpointError when an endpoint cannot be used.
  Publisher(zmq::context_t& context, PublisherOptions options);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Fills msg.header and publishes; returns the sequence assigned.
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

  // False while a pipeline group's queue is full: stop taking input.
  bool hasRoom() const { return !pipeline_ || pipeline_->hasRoom(); }
  // Services the pipeline socket (see PipelinePublisher::service). Never blocks.
  void service() {
    if (pipeline_) pipeline_->service();
  }
  // For code with a loop of its own (tools, tests): waits up to `timeout`
  // for consumer commands, then service().
  void poll(std::chrono::milliseconds timeout);
  // Called from service() for every settled message (see pipeline_publisher.h).
  void setSettledHandler(PipelinePublisher::SettledHandler handler);

  std::uint64_t epoch() const noexcept { return epoch_; }
  const std::string& producerId() const noexcept { return options_.producer_id; }
  PublisherStats stats() const;
  // Connectable tap endpoint ("" when none is bound).
  std::string tapEndpoint() const { return tap_ ? tap_->endpoint() : std::string(); }
  // Connectable pipeline endpoint ("" when none).
  std::string pipelineEndpoint() const { return pipeline_ ? pipeline_->endpoint() : std::string(); }
  // The transports (nullptr when not configured).
  PipelinePublisher* pipeline() noexcept { return pipeline_.get(); }
  TapPublisher* tap() noexcept { return tap_.get(); }

 private:
  PublisherOptions options_;
  std::uint64_t epoch_;
  std::uint64_t sequence_ = 0;
  std::map<std::string, std::uint64_t, std::less<>> family_sequence_;  // topic family -> last topic_sequence
  std::unique_ptr<TapPublisher> tap_;
  std::unique_ptr<PipelinePublisher> pipeline_;
  std::uint64_t published_ = 0;
  std::uint64_t bytes_published_ = 0;
};

}  // namespace emwin::bus
