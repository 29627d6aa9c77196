#pragma once
// Helpers shared by the bus tests: deadline waits and a test message.
// Not thread-safe beyond what each helper states.

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "bus/bus.h"
#include "emwin/bus/v1/segment.pb.h"

namespace emwin::bus::testing {

using namespace std::chrono_literals;

// Calls `step` until `done` holds or `limit` passes; returns done().
inline bool waitUntil(const std::function<bool()>& done, const std::function<void()>& step,
                      std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return done();
    step();
  }
  return true;
}

// A Segment with a recognisable block number and `size` bytes of data.
inline emwin::bus::v1::Segment segment(std::uint32_t n, std::size_t size = 16) {
  emwin::bus::v1::Segment s;
  s.set_filename("TEST" + std::to_string(n) + ".TXT");
  s.set_block_number(n);
  s.set_total_blocks(n);
  s.set_data(std::string(size, static_cast<char>('a' + n % 26)));
  return s;
}

inline PublisherOptions localPublisher(const std::string& id = "test.0") {
  PublisherOptions o;
  o.producer_id = id;
  o.tap_endpoint = "tcp://127.0.0.1:*";
  o.pipeline_endpoint = "tcp://127.0.0.1:*";
  return o;
}

inline SubscriberOptions pipelineConsumer(const Publisher& pub, const std::string& group,
                                          std::uint32_t window = 64) {
  SubscriberOptions o;
  o.mode = Mode::kPipeline;
  o.endpoints = {pub.pipelineEndpoint()};
  o.group = group;
  o.credit_window = window;
  o.heartbeat = 100ms;
  return o;
}

inline SubscriberOptions tapConsumer(const Publisher& pub, std::vector<std::string> prefixes = {}) {
  SubscriberOptions o;
  o.mode = Mode::kTap;
  o.endpoints = {pub.tapEndpoint()};
  o.topic_prefixes = std::move(prefixes);
  return o;
}

// Publishes tap-only probes until `sub` has seen one (the SUB is joined).
// A subscriber filtering by topic needs a probe topic of a family it takes.
inline bool joinTap(Publisher& pub, Subscriber& sub, const std::string& probe_topic = "probe") {
  return waitUntil([&] { auto s = sub.stats(); return s.received + s.filtered_out > 0; },
                   [&] {
                     auto probe = segment(0);
                     pub.publish(probe_topic, probe, Path::kTapOnly);
                     while (sub.receive(10ms)) {
                     }
                   });
}

}  // namespace emwin::bus::testing
