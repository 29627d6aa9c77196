#include "bus/publisher.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "bus/detail/util.h"
#include "bus/topics.h"
#include "runtime/log.h"

namespace emwin::bus {
namespace {

// Epochs are unix microseconds, strictly increasing within the process.
std::uint64_t nextEpoch() {
  static std::atomic<std::uint64_t> last{0};
  const auto now = static_cast<std::uint64_t>(detail::unixMicros());
  std::uint64_t prev = last.load();
  std::uint64_t chosen = 0;
  do {
    chosen = std::max(now, prev + 1);
  } while (!last.compare_exchange_weak(prev, chosen));
  return chosen;
}

}  // namespace

Publisher::Publisher(zmq::context_t& context, PublisherOptions options)
    : options_(std::move(options)), epoch_(nextEpoch()) {
  if (!options_.tap_endpoint.empty() || !options_.tap_connect.empty()) {
    TapOptions t;
    if (!options_.tap_endpoint.empty()) t.bind = {options_.tap_endpoint};
    t.connect = options_.tap_connect;
    t.send_hwm = options_.tap_send_hwm;
    t.security = options_.security;
    t.zap_domain = "tap." + options_.service;
    try {
      tap_ = std::make_unique<TapPublisher>(context, t);
    } catch (const zmq::error_t& e) {
      throw EndpointError(EndpointError::Transport::kTap,
                          options_.tap_endpoint.empty() ? options_.tap_connect.front() : options_.tap_endpoint,
                          e.what());
    }
  }
  if (!options_.pipeline_endpoint.empty()) {
    PipelineOptions p;
    p.endpoint = options_.pipeline_endpoint;
    p.hwm = options_.pipeline_hwm;
    p.retention_messages = options_.retention_messages;
    p.retention_bytes = options_.retention_bytes;
    p.replica_timeout = options_.replica_timeout;
    p.group_timeout = options_.group_timeout;
    p.state_dir = options_.state_dir;
    p.security = options_.security;
    p.zap_domain = "pipe." + options_.service;
    p.authorize = options_.authorize;
    try {
      pipeline_ = std::make_unique<PipelinePublisher>(context, std::move(p), epoch_);
    } catch (const zmq::error_t& e) {
      throw EndpointError(EndpointError::Transport::kPipeline, options_.pipeline_endpoint, e.what());
    }
  }
  runtime::logger("bus")->info("publisher {} epoch {} tap={} pipeline={}", options_.producer_id, epoch_,
                               tapEndpoint().empty() ? "-" : tapEndpoint(),
                               pipelineEndpoint().empty() ? "-" : pipelineEndpoint());
}

Publisher::~Publisher() = default;

void Publisher::fillHeader(emwin::bus::v1::Header& header, std::string_view payload_type, std::string_view topic) {
  header.set_producer_id(options_.producer_id);
  header.set_epoch(epoch_);
  header.set_sequence(++sequence_);
  header.set_produced_unix_us(detail::unixMicros());
  header.set_payload_type(std::string(payload_type));
  if (!topic.empty()) {
    const std::string_view family = topicFamily(topic);
    auto it = family_sequence_.find(family);
    if (it == family_sequence_.end()) it = family_sequence_.emplace(std::string(family), 0).first;
    header.set_topic_sequence(++it->second);
  }
}

std::uint64_t Publisher::publishSerialized(std::string_view topic, std::string payload, Path path) {
  if (sequence_ == 0) sequence_ = 1;  // header not filled: still give it a number
  const std::uint64_t seq = sequence_;
  ++published_;
  bytes_published_ += payload.size();
  if (tap_) tap_->send(topic, payload);
  if (path == Path::kAll && pipeline_) pipeline_->enqueue(seq, topic, std::move(payload));
  return seq;
}

void Publisher::poll(std::chrono::milliseconds timeout) {
  if (!pipeline_) {
    if (timeout.count() > 0) std::this_thread::sleep_for(timeout);
    return;
  }
  if (timeout.count() > 0) detail::pollIn(pipeline_->socket().handle(), timeout);
  pipeline_->service();
}

void Publisher::setSettledHandler(PipelinePublisher::SettledHandler handler) {
  if (pipeline_) pipeline_->setSettledHandler(std::move(handler));
}

PublisherStats Publisher::stats() const {
  PublisherStats out;
  out.published = published_;
  out.bytes_published = bytes_published_;
  out.tap_sent = tap_ ? tap_->sent() : 0;
  if (pipeline_) out.pipeline = pipeline_->stats();
  return out;
}

}  // namespace emwin::bus
