#include "service/zmq_watch.h"

#include <cerrno>

#include "runtime/log.h"

namespace emwin::service {

struct ZmqWatch::State : std::enable_shared_from_this<ZmqWatch::State> {
  State(asio::io_context& io, zmq::socket_ref s, std::function<void()> fn)
      : io(io), socket(s), descriptor(io), on_readable(std::move(fn)) {}

  asio::io_context& io;
  zmq::socket_ref socket;
  asio::posix::stream_descriptor descriptor;
  std::function<void()> on_readable;
  bool enabled = false;
  bool waiting = false;       // an async_wait is pending
  bool check_posted = false;  // an examine() is posted
  bool closed = false;

  bool readable() {
    try {
      return (socket.get(zmq::sockopt::events) & ZMQ_POLLIN) != 0;
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) runtime::logger("service")->warn("ZMQ_EVENTS failed: {}", e.what());
      return false;
    }
  }

  void post() {
    if (check_posted || closed) return;
    check_posted = true;
    asio::post(io, [weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        self->check_posted = false;
        self->examine();
      }
    });
  }

  void examine() {
    if (!enabled || closed) return;
    if (readable()) {
      on_readable();
      post();  // more may be waiting: look again after other handlers had a turn
      return;
    }
    if (waiting) return;
    waiting = true;
    descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                          [weak = weak_from_this()](const asio::error_code& ec) {
                            auto self = weak.lock();
                            if (!self) return;
                            self->waiting = false;
                            if (!ec) self->examine();
                          });
  }
};

ZmqWatch::ZmqWatch(asio::io_context& io, zmq::socket_ref socket, std::function<void()> on_readable)
    : state_(std::make_shared<State>(io, socket, std::move(on_readable))) {
  const int fd = socket.get(zmq::sockopt::fd);
  state_->descriptor.assign(fd);
}

ZmqWatch::~ZmqWatch() {
  state_->closed = true;
  asio::error_code ec;
  state_->descriptor.cancel(ec);
  state_->descriptor.release();  // the descriptor is ZeroMQ's: never close it
}

void ZmqWatch::setEnabled(bool enabled) {
  if (state_->enabled == enabled) return;
  state_->enabled = enabled;
  if (enabled) state_->post();
}

bool ZmqWatch::enabled() const noexcept { return state_->enabled; }

void ZmqWatch::check() { state_->post(); }

}  // namespace emwin::service
