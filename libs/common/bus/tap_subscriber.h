#pragma once
// TapSubscriber: reads a producer's tap (ZeroMQ SUB). It may miss messages
// (the producer drops at its HWM rather than wait); every miss is counted
// from the sequence numbers: Header.sequence per producer when subscribed to
// everything, Header.topic_sequence per producer and topic family when
// filtered by prefix (the socket is subscribed to whole families, finer
// prefixes are applied here). Normally connects to taps; with `bind`
// endpoints it binds instead (emwin-stats' intake, where processes without a
// tap push their stats).
//
// Thread-safety: not thread-safe; one thread.

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "bus/message.h"
#include "bus/security.h"
#include "bus/subscriber_stats.h"

namespace emwin::bus {

// Configuration of a TapSubscriber.
struct TapSubscriberOptions {
  std::vector<std::string> endpoints;       // taps to connect to
  std::vector<std::string> bind;            // endpoints to bind (an intake)
  std::vector<std::string> topic_prefixes;  // empty = everything
  int receive_hwm = 10000;                  // ZMQ_RCVHWM
  const BusSecurity* security = nullptr;    // CURVE (bound: server in `zap_domain`; connected: client)
  std::string zap_domain = "intake";        // ZAP domain of bound endpoints
};

class TapSubscriber {
 public:
  // Connects/binds now; throws zmq::error_t when an endpoint cannot be used.
  TapSubscriber(zmq::context_t& context, TapSubscriberOptions options);

  // Next message if one is waiting now (never blocks).
  std::optional<Received> tryReceive();
  // Next message, waiting up to `timeout`; nullopt on timeout.
  std::optional<Received> receive(std::chrono::milliseconds timeout);

  const SubscriberStats& stats() const noexcept { return stats_; }
  const TapSubscriberOptions& options() const noexcept { return options_; }
  // The socket, for a reactor or zmq::poll to watch.
  zmq::socket_ref socket() noexcept { return socket_; }

 private:
  struct Track {
    std::uint64_t epoch = 0;
    std::uint64_t last = 0;
  };
  // Gap/duplicate accounting; false when the message is a duplicate or stale.
  bool trackSequence(const Received& r);

  TapSubscriberOptions options_;
  zmq::socket_t socket_;
  SubscriberStats stats_;
  std::unordered_map<std::string, Track> tracks_;
  bool by_family_ = false;
  std::string track_key_;
  std::vector<zmq::message_t> frames_;
};

}  // namespace emwin::bus
