#include "service/handshake_monitor.h"

#include <atomic>
#include <cstring>

#include <zmq_addon.hpp>

#include "service/zmq_watch.h"

namespace emwin::service {
namespace {
std::string nextAddress() {
  static std::atomic<int> n{0};
  return "inproc://emwin-handshake-monitor-" + std::to_string(n++);
}
}  // namespace

HandshakeMonitor::HandshakeMonitor(asio::io_context& io, zmq::context_t& context, zmq::socket_ref target,
                                   std::string endpoint_name, std::shared_ptr<spdlog::logger> log)
    : target_(target), name_(std::move(endpoint_name)), log_(std::move(log)), pair_(context, zmq::socket_type::pair) {
  const std::string address = nextAddress();
  const int events = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
  if (zmq_socket_monitor(target_.handle(), address.c_str(), events) != 0) throw zmq::error_t();
  pair_.set(zmq::sockopt::linger, 0);
  pair_.connect(address);
  watch_ = std::make_unique<ZmqWatch>(io, pair_, [this] { onReadable(); });
  watch_->setEnabled(true);
}

HandshakeMonitor::~HandshakeMonitor() {
  watch_.reset();
  zmq_socket_monitor(target_.handle(), nullptr, 0);
}

void HandshakeMonitor::onReadable() {
  for (int i = 0; i < 64; ++i) {
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(pair_, std::back_inserter(frames), zmq::recv_flags::dontwait)) return;
    if (frames.size() < 2 || frames[0].size() < 6) continue;
    std::uint16_t event = 0;
    std::memcpy(&event, frames[0].data(), sizeof event);
    ++failures_;
    if (failures_ <= 20) {
      log_->warn("refused a connection to {} from {}: CURVE handshake failed ({})", name_, frames[1].to_string(),
                 event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? "authentication" : "no key, wrong key or wrong server key");
    }
  }
}

}  // namespace emwin::service
