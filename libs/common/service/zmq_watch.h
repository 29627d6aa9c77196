#pragma once
// ZmqWatch: lets the process's Asio reactor wait for a ZeroMQ socket.
//
// ZeroMQ exposes one file descriptor per socket (ZMQ_FD) that is
// edge-triggered and only says "look again": the socket's real state is
// ZMQ_EVENTS, and any zmq call on the socket (a send, a receive) may consume
// the edge. So the watch (1) asks ZMQ_EVENTS before every wait and calls the
// handler while the socket is readable, (2) yields to other handlers between
// batches (post, not a loop), and (3) must be told after the owner sent on
// the socket (check()), which re-examines ZMQ_EVENTS soon.
//
// The descriptor belongs to ZeroMQ: the watch never closes it, and must be
// destroyed before its socket.
//
// Thread-safety: not thread-safe; the reactor's thread only.

#include <functional>
#include <memory>

#include "service/asio.h"
#include <zmq.hpp>

namespace emwin::service {

class ZmqWatch {
 public:
  // `on_readable` is called while the socket has a message to read; it should
  // read a bounded batch (each call is one turn of the reactor).
  ZmqWatch(asio::io_context& io, zmq::socket_ref socket, std::function<void()> on_readable);
  ~ZmqWatch();
  ZmqWatch(const ZmqWatch&) = delete;
  ZmqWatch& operator=(const ZmqWatch&) = delete;

  // Starts or stops calling the handler (a disabled watch reads nothing: the
  // peer's messages wait in ZeroMQ, which is the backpressure).
  void setEnabled(bool enabled);
  bool enabled() const noexcept;
  // Re-examines the socket soon (call after sending on it).
  void check();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace emwin::service
