#pragma once
// What a bus subscriber hands to its user: one received message, the token a
// pipeline consumer keeps to acknowledge it later, and the path a message is
// published to. Plain data; safe to move between threads.

#include <cstdint>
#include <string>

#include "emwin/bus/v1/header.pb.h"

namespace emwin::bus {

// Which paths a message goes to.
enum class Path : std::uint8_t {
  kAll,      // tap and pipeline (data: segments, files, alerts)
  kTapOnly,  // tap only (stats, server lists for monitors)
};

// What a pipeline consumer needs to acknowledge a message: a consumer that
// holds deliveries before acknowledging them (e.g. until a file completes)
// keeps this 16-byte token instead of the whole message.
struct AckToken {
  std::uint64_t epoch = 0;              // producer epoch the delivery belongs to
  std::uint64_t delivery_sequence = 0;  // the sequence the producer tracks it by
};

// One received message.
struct Received {
  std::string topic;
  std::string payload;                  // serialised protobuf (field 1 = Header)
  emwin::bus::v1::Header header;        // parsed from payload
  bool replayed = false;                // pipeline: came from a REPLAY
  std::uint64_t delivery_sequence = 0;  // pipeline: the sequence ack() acknowledges
  AckToken ackToken() const { return {header.epoch(), delivery_sequence}; }
};

}  // namespace emwin::bus
