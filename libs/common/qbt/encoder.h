#pragma once
// QBT encoder: builds wire bytes (XOR-0xFF applied) for data frames (V1, V2),
// server-list frames and logon strings. Used by the simulator and by tests.
// Pure functions; thread-safe.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "qbt/types.h"

namespace emwin::qbt {

// Fields of one data frame to encode.
struct FrameSpec {
  std::string filename;
  std::uint32_t block_number = 1;
  std::uint32_t total_blocks = 1;
  std::int64_t fd_unix_s = 0;
  Version version = Version::kV1;
  bool suffix = true;  // append the six-NUL suffix (V1 always has it)
  // Overrides for fault injection / tests: when set, used instead of the computed value.
  std::int64_t checksum_override = -1;
  // V2 only: the block's deflated form from deflateBlockV2(), reused instead of
  // compressing again (a sender repeating content saves most of its CPU). Empty
  // vector = the block does not compress below 1024 bytes (sent in V1 layout).
  const std::vector<std::uint8_t>* v2_payload = nullptr;
};

// The zlib form a V2 frame carries for `block` (NUL-padded to 1024 bytes), or
// empty when it would exceed 1024 bytes. Thread-safe (one deflater per thread).
std::vector<std::uint8_t> deflateBlockV2(std::span<const std::uint8_t> block);

// Unreduced checksum of a block: sum of its 1024 bytes.
std::uint32_t blockChecksum(std::span<const std::uint8_t> block) noexcept;

// Formats a Unix time as the /FD text "M/D/YYYY h:mm:ss AM|PM" (UTC).
std::string formatFd(std::int64_t unix_s);

// Parses /FD text ("M/D/YYYY h:mm:ss AM|PM", leading zeros allowed) as UTC.
// Returns false on malformed input.
bool parseFd(std::string_view text, std::int64_t& unix_s) noexcept;

// Encodes one data frame. `block` holds up to 1024 bytes; shorter is NUL-padded.
// Output is wire bytes (XOR-ed). Header fields use the spec columns when they fit
// (filenames up to 12 characters). A V2 block whose zlib form exceeds 1024 bytes
// is encoded in V1 layout instead.
std::vector<std::uint8_t> encodeFrame(const FrameSpec& spec, std::span<const std::uint8_t> block);

// Appends the frames of a whole file (cut into 1024-byte blocks) to `out`.
// The last block is NUL-padded; an empty file is one block of NULs. V2 blocks
// that would not compress to <= 1024 bytes are sent in V1 layout (as servers do).
// `v2_suffix` says whether V2 frames carry the six-NUL suffix.
void encodeFile(std::string_view filename, std::span<const std::uint8_t> content,
                std::int64_t fd_unix_s, Version version, std::vector<std::uint8_t>& out,
                bool v2_suffix = true);

// Encodes a server-list frame (sync + text + terminating NUL), XOR-ed.
std::vector<std::uint8_t> encodeServerList(const ServerList& list);

// Parses the text of a server-list frame (without sync/terminator).
ServerList parseServerList(std::string_view text);

// Logon text "ByteBlast Client|NM-<email>|V2" (or |V1), XOR-ed for the wire.
std::vector<std::uint8_t> encodeLogon(std::string_view email, Version version);

// XOR-0xFF in place (the wire obfuscation is its own inverse).
void xorInPlace(std::span<std::uint8_t> bytes) noexcept;

}  // namespace emwin::qbt
