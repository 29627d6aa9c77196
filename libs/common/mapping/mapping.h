#pragma once
// Mapping between the bus messages (proto/emwin/bus/v1) and the domain types
// of the codec and the assembler, in one place: ingest publishes segments
// with it, the assembler reads them back and publishes files with it, and
// the fuzz targets test exactly this code. Pure functions; thread-safe.

#include <cstdint>
#include <string_view>

#include "assembly/types.h"
#include "emwin/bus/v1/file.pb.h"
#include "emwin/bus/v1/segment.pb.h"
#include "qbt/types.h"

namespace emwin::mapping {

// Fills `out` (its header untouched) from a decoded segment received at
// `received_unix_us` from `source` ("host:port", "replay:FILE").
void toMessage(const qbt::Segment& segment, std::string_view source, std::int64_t received_unix_us,
               emwin::bus::v1::Segment& out);

// A Segment message as the assembler takes it; false when it is unusable
// (its data is not exactly one 1024-byte block).
bool fromMessage(const emwin::bus::v1::Segment& message, qbt::Segment& out);

// Moves a completed file into `out` (its header untouched).
void toMessage(assembly::CompletedFile&& file, emwin::bus::v1::CompletedFile& out);

}  // namespace emwin::mapping
