#pragma once
// TapPublisher: the monitoring path of a producer — a ZeroMQ PUB socket that
// every subscriber may read (any language, prefix-filtered by topic family).
// It never blocks and never slows the producer: at its send high-water mark
// ZeroMQ drops, and subscribers see the drop as a gap in Header.sequence /
// Header.topic_sequence. It normally binds (a producer's tap); with
// `connect` endpoints it connects instead (a process without a tap of its own
// pushing its stats to emwin-stats' intake, which binds a SUB).
//
// Thread-safety: not thread-safe; one thread (the process's reactor).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "bus/security.h"

namespace emwin::bus {

// Configuration of a TapPublisher.
struct TapOptions {
  std::vector<std::string> bind;     // endpoints to bind (a producer's tap)
  std::vector<std::string> connect;  // endpoints to connect to (a stats intake)
  int send_hwm = 10000;              // messages queued per subscriber before drops
  const BusSecurity* security = nullptr;  // CURVE (bound: server in `zap_domain`; connected: client); null = none
  std::string zap_domain = "tap";         // ZAP domain of the bound endpoint ("tap.<service>")
};

class TapPublisher {
 public:
  // Binds/connects now; throws zmq::error_t when an endpoint cannot be used.
  TapPublisher(zmq::context_t& context, const TapOptions& options);

  // Sends [topic, payload]; never blocks (drops at the HWM).
  void send(std::string_view topic, std::string_view payload);

  // Connectable form of the first bound endpoint ("" when only connecting).
  const std::string& endpoint() const noexcept { return endpoint_; }
  // Messages handed to the socket.
  std::uint64_t sent() const noexcept { return sent_; }
  // The socket (for a monitor).
  zmq::socket_ref socket() noexcept { return socket_; }

 private:
  zmq::socket_t socket_;
  std::string endpoint_;
  std::uint64_t sent_ = 0;
};

}  // namespace emwin::bus
