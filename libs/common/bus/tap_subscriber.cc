#include "bus/tap_subscriber.h"

#include <set>

#include <zmq_addon.hpp>

#include "bus/detail/util.h"
#include "bus/topics.h"
#include "runtime/log.h"

namespace emwin::bus {

TapSubscriber::TapSubscriber(zmq::context_t& context, TapSubscriberOptions options)
    : options_(std::move(options)), socket_(context, zmq::socket_type::sub) {
  socket_.set(zmq::sockopt::rcvhwm, options_.receive_hwm);
  socket_.set(zmq::sockopt::linger, 0);
  // Filter at the producer by whole topic families, so a subscriber to
  // "stats." is not sent every segment; finer prefixes are applied here.
  std::set<std::string> subscriptions;
  for (const auto& prefix : options_.topic_prefixes) subscriptions.emplace(topicFamily(prefix));
  if (subscriptions.empty() || subscriptions.count("") != 0) subscriptions = {""};
  by_family_ = subscriptions.count("") == 0;
  for (const auto& sub : subscriptions) socket_.set(zmq::sockopt::subscribe, sub);
  if (options_.security != nullptr) {
    if (!options_.bind.empty()) {
      secureServer(socket_, *options_.security, options_.zap_domain);
    } else {
      secureClient(socket_, *options_.security);
    }
  }
  for (const auto& endpoint : options_.bind) socket_.bind(endpoint);
  for (const auto& endpoint : options_.endpoints) socket_.connect(endpoint);
}

bool TapSubscriber::trackSequence(const Received& r) {
  std::uint64_t seq = r.header.sequence();
  if (by_family_) {
    seq = r.header.topic_sequence();
    track_key_.assign(r.header.producer_id());
    track_key_.push_back('\x1f');
    track_key_.append(topicFamily(r.topic));
  }
  if (seq == 0) return true;  // a producer that does not number its families: no gap tracking
  Track& track = tracks_[by_family_ ? track_key_ : r.header.producer_id()];
  if (track.epoch == 0) {
    track.epoch = r.header.epoch();
  } else if (r.header.epoch() != track.epoch) {
    if (r.header.epoch() < track.epoch) {
      ++stats_.duplicates;  // a stale message from an older epoch
      return false;
    }
    ++stats_.epochs_seen;
    track.epoch = r.header.epoch();
    track.last = 0;
    if (seq > 1) {
      ++stats_.gaps;
      stats_.missed += seq - 1;
    }
  } else if (seq <= track.last) {
    ++stats_.duplicates;
    return false;
  } else if (seq > track.last + 1 && track.last != 0) {
    ++stats_.gaps;
    stats_.missed += seq - track.last - 1;
  }
  track.last = seq;
  return true;
}

std::optional<Received> TapSubscriber::tryReceive() {
  while (true) {
    frames_.clear();
    zmq::recv_result_t got;
    try {
      got = zmq::recv_multipart(socket_, std::back_inserter(frames_), zmq::recv_flags::dontwait);
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) runtime::logger("bus")->warn("tap receive failed: {}", e.what());
      return std::nullopt;
    }
    if (!got) return std::nullopt;
    if (frames_.size() < 2) {
      ++stats_.bad_payloads;
      continue;
    }
    Received r;
    r.topic = frames_[0].to_string();
    r.payload = frames_[1].to_string();
    if (!detail::parseHeader(r.payload, r.header)) {
      ++stats_.bad_payloads;
      continue;
    }
    if (!trackSequence(r)) continue;
    if (!topicMatches(r.topic, options_.topic_prefixes)) {
      ++stats_.filtered_out;
      continue;
    }
    ++stats_.received;
    return r;
  }
}

std::optional<Received> TapSubscriber::receive(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (auto r = tryReceive()) return r;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return std::nullopt;
    detail::pollIn(socket_.handle(), std::chrono::ceil<std::chrono::milliseconds>(deadline - now));
  }
}

}  // namespace emwin::bus
