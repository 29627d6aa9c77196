#pragma once
// Safe ZIP/ZIS unpacking with libzip, for archives reassembled from blocks.
// Every limit is checked on bytes actually inflated (never trusting sizes the
// archive declares): total uncompressed size, compression ratio, entry count,
// and entry names (no paths, no "..", no NUL, not empty, not overlong).
// Never throws; every refusal is returned as a counted reason.
// Pure functions; thread-safe (each call has its own libzip handle).

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "assembly/types.h"

namespace emwin::assembly {

// One extracted entry.
struct ArchiveEntry {
  std::string name;  // validated: a bare file name
  std::string data;  // inflated bytes
};

// What unpacking an archive gave.
struct UnpackResult {
  bool opened = false;                 // libzip could read the archive structure
  std::vector<ArchiveEntry> entries;   // entries that passed every check, in archive order
  std::array<std::uint64_t, kArchiveErrorCount> errors{};  // refusals by ArchiveError
  std::string detail;                  // human text of the first refusal (for logs)
};

// True when `name` is a bare, safe file name (see the header comment).
bool isSafeEntryName(std::string_view name, std::size_t max_length) noexcept;

// Unpacks `archive` (the ZIP bytes up to their end record) within `limits`.
UnpackResult unpackArchive(std::span<const std::uint8_t> archive, const ArchiveLimits& limits);

}  // namespace emwin::assembly
