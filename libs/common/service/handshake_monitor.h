#pragma once
// HandshakeMonitor: counts failed CURVE handshakes on one bound bus socket
// (a client with no key, a wrong key, or the wrong server key), through
// ZeroMQ's socket monitor, on the reactor. ZAP refusals (a valid key that is
// not allowed) are counted by the ZapHandler; these are the handshakes that
// never got that far. Thread-safety: the reactor's thread only.

#include <cstdint>
#include <memory>
#include <string>

#include <zmq.hpp>

#include "runtime/log.h"
#include "service/asio.h"

namespace emwin::service {

class ZmqWatch;

class HandshakeMonitor {
 public:
  HandshakeMonitor(asio::io_context& io, zmq::context_t& context, zmq::socket_ref target, std::string endpoint_name,
                   std::shared_ptr<spdlog::logger> log);
  ~HandshakeMonitor();
  HandshakeMonitor(const HandshakeMonitor&) = delete;
  HandshakeMonitor& operator=(const HandshakeMonitor&) = delete;

  std::uint64_t failures() const noexcept { return failures_; }

 private:
  void onReadable();

  zmq::socket_ref target_;
  std::string name_;
  std::shared_ptr<spdlog::logger> log_;
  zmq::socket_t pair_;
  std::unique_ptr<ZmqWatch> watch_;
  std::uint64_t failures_ = 0;
};

}  // namespace emwin::service
