// libFuzzer target: arbitrary bytes unpacked as a ZIP archive with small limits.
// Whatever comes out must respect the limits: safe entry names, no more entries
// than allowed, never more inflated bytes than the cap.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "assembly/archive.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  emwin::assembly::ArchiveLimits limits;
  limits.max_entries = 8;
  limits.max_uncompressed_bytes = 256 * 1024;
  limits.max_ratio = 50;
  limits.ratio_min_bytes = 4096;
  limits.max_entry_name = 32;
  const auto result = emwin::assembly::unpackArchive(std::span<const std::uint8_t>(data, size), limits);
  if (result.entries.size() > limits.max_entries) std::abort();
  std::uint64_t total = 0;
  for (const auto& e : result.entries) {
    if (!emwin::assembly::isSafeEntryName(e.name, limits.max_entry_name)) std::abort();
    total += e.data.size();
  }
  if (total > limits.max_uncompressed_bytes) std::abort();
  if (!result.opened && !result.entries.empty()) std::abort();
  return 0;
}
