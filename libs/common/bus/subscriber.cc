#include "bus/subscriber.h"

#include <stdexcept>

namespace emwin::bus {

Subscriber::Subscriber(zmq::context_t& context, SubscriberOptions options) {
  if (options.mode == Mode::kTap) {
    TapSubscriberOptions t;
    t.endpoints = std::move(options.endpoints);
    t.topic_prefixes = std::move(options.topic_prefixes);
    t.receive_hwm = options.receive_hwm;
    t.security = options.security;
    tap_ = std::make_unique<TapSubscriber>(context, std::move(t));
    return;
  }
  if (options.endpoints.size() != 1) throw std::invalid_argument("pipeline subscriber needs exactly one endpoint");
  PipelineSubscriberOptions p;
  p.endpoint = std::move(options.endpoints.front());
  p.group = std::move(options.group);
  p.replica = std::move(options.replica);
  p.topic_prefixes = std::move(options.topic_prefixes);
  p.credit_window = options.credit_window;
  p.heartbeat = options.heartbeat;
  p.state_file = std::move(options.state_file);
  p.security = options.security;
  p.ephemeral = options.ephemeral;
  pipeline_ = std::make_unique<PipelineSubscriber>(context, std::move(p));
}

Subscriber::~Subscriber() = default;

std::optional<Received> Subscriber::receive(std::chrono::milliseconds timeout) {
  return tap_ ? tap_->receive(timeout) : pipeline_->receive(timeout);
}

void Subscriber::ack(const Received& message) {
  if (pipeline_) pipeline_->ack(message);
}

void Subscriber::ack(const AckToken& token) {
  if (pipeline_) pipeline_->ack(token);
}

void Subscriber::requestReplay(std::uint64_t epoch, std::uint64_t after_sequence) {
  if (pipeline_) pipeline_->requestReplay(epoch, after_sequence);
}

void Subscriber::keepAlive() {
  if (pipeline_) pipeline_->maintain();
}

void Subscriber::close() {
  if (pipeline_) pipeline_->close();
}

SubscriberStats Subscriber::stats() const { return tap_ ? tap_->stats() : pipeline_->stats(); }

zmq::socket_ref Subscriber::socket() { return tap_ ? tap_->socket() : pipeline_->socket(); }

}  // namespace emwin::bus
