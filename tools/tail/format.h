#pragma once
// Formatting of bus messages for emwin-tail: one human-readable line or one
// JSON object per message, decoded by the header's payload_type through the
// generated protobuf descriptors (any emwin.bus.v1 type). Bytes fields are
// replaced by their length so lines stay short. Thread-safe (pure functions).

#include <string>

#include "bus/bus.h"

namespace emwin::tail {

// "2026-03-03T15:17:36.123Z seg.TXT.A.TXT ingest.0#42 Segment A.TXT 1/3".
std::string humanLine(const emwin::bus::Received& message);

// {"topic":..,"replayed":..,"message":{..proto JSON..}}; bytes fields become
// "<field>_bytes": length. Unknown types give the header only.
std::string jsonLine(const emwin::bus::Received& message);

}  // namespace emwin::tail
