#pragma once
// Internal helpers of emwin::bus shared by the publisher and subscriber
// implementations (not part of the public API). Thread-safe (pure functions).

#include <cstdint>
#include <string>
#include <string_view>

#include <chrono>

#include <zmq.hpp>

#include "emwin/bus/v1/header.pb.h"

namespace emwin::bus::detail {

// zmq::poll on one socket for POLLIN that treats an interrupting signal
// (EINTR) as "nothing ready", so a SIGTERM never escapes as an exception.
void pollIn(void* socket, std::chrono::milliseconds timeout);

// Current Unix time in microseconds (UTC).
std::int64_t unixMicros() noexcept;

// Turns a bound endpoint ("tcp://0.0.0.0:41234") into one a local peer can
// connect to ("tcp://127.0.0.1:41234"); other endpoints are returned as is.
std::string connectableEndpoint(std::string_view bound);

// Reads field 1 (Header) of a bus payload without parsing the rest.
// False when the payload is not a protobuf message with a usable header
// (missing, malformed, or sequence 0).
bool parseHeader(std::string_view payload, emwin::bus::v1::Header& header);

}  // namespace emwin::bus::detail
