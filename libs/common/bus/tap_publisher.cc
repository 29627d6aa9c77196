#include "bus/tap_publisher.h"

#include "bus/detail/util.h"

namespace emwin::bus {

TapPublisher::TapPublisher(zmq::context_t& context, const TapOptions& options)
    : socket_(context, zmq::socket_type::pub) {
  socket_.set(zmq::sockopt::sndhwm, options.send_hwm);
  socket_.set(zmq::sockopt::linger, options.bind.empty() ? 200 : 0);  // a pushed final stats message gets out
  if (options.security != nullptr) {
    if (!options.bind.empty()) {
      secureServer(socket_, *options.security, options.zap_domain);
    } else {
      secureClient(socket_, *options.security);
    }
  }
  for (const auto& endpoint : options.bind) {
    socket_.bind(endpoint);
    if (endpoint_.empty()) endpoint_ = detail::connectableEndpoint(socket_.get(zmq::sockopt::last_endpoint));
  }
  for (const auto& endpoint : options.connect) socket_.connect(endpoint);
}

void TapPublisher::send(std::string_view topic, std::string_view payload) {
  // PUB never blocks: at the HWM it drops (subscribers see the gap).
  socket_.send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
  socket_.send(zmq::buffer(payload), zmq::send_flags::dontwait);
  ++sent_;
}

}  // namespace emwin::bus
