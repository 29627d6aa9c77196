#pragma once
// Value types produced by the QBT codec: data segments, server lists and
// bad-input events. Plain data, no behaviour; safe to copy between threads.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace emwin::qbt {

// Size of one QBT data block (uncompressed).
inline constexpr std::size_t kBlockSize = 1024;

// Frame layout of a data block.
enum class Version : std::uint8_t { kV1 = 1, kV2 = 2 };

// One good data block: header fields plus the 1024 uncompressed bytes.
struct Segment {
  std::string filename;             // /PF, as sent
  std::uint32_t block_number = 0;   // /PN, 1-based
  std::uint32_t total_blocks = 0;   // /PT
  std::uint32_t declared_checksum = 0;  // /CS as sent (not reduced)
  std::int64_t fd_unix_s = 0;       // /FD parsed as UTC
  std::string fd_text;              // /FD text as sent
  Version version = Version::kV1;
  std::array<std::uint8_t, kBlockSize> data{};  // uncompressed block
  std::uint64_t stream_offset = 0;  // offset of the frame start (its "/PF" header) in the fed stream
  bool is_fill = false;             // FILLFILE.TXT keep-alive block
  std::uint32_t payload_bytes = 0;  // bytes of the body on the wire: 1024 (V1) or /DL (V2)

  // Extension of filename without the dot ("TXT"), or "" if none. A view into
  // `filename`, so it has the case it was sent in (EMWIN names are upper case).
  std::string_view extension() const noexcept;
};

// host:port entry of a server list.
struct ServerAddress {
  std::string host;
  std::uint16_t port = 0;
  friend bool operator==(const ServerAddress&, const ServerAddress&) = default;
};

// Parsed /ServerList/.../SatServers/... frame.
struct ServerList {
  std::vector<ServerAddress> regular;    // '|'-separated part
  std::vector<ServerAddress> satellite;  // '+'-separated part
  std::uint32_t skipped_entries = 0;     // malformed entries dropped
  std::uint64_t stream_offset = 0;
};

// Why a piece of input was rejected. Closed set; each has a stable name
// (see reasonName) used in logs, counters and metrics.
enum class BadReason : std::uint8_t {
  kBadHeader,          // header unparsable (missing/garbled fields, bad /FD)
  kChecksum,           // /CS does not match the block (low 16 bits)
  kInflate,            // V2 payload not zlib or does not inflate to 1024 bytes
  kBlockRange,         // PN < 1, PT < 1 or PN > PT
  kBadLength,          // V2 /DL outside 1..1024
  kGarbage,            // bytes skipped while looking for a frame start
  kServerListTooLong,  // server-list frame exceeded the size cap
  kTruncated,          // stream ended inside a frame (reported by finish())
};
inline constexpr std::size_t kBadReasonCount = 8;

// Stable snake_case name of a reason ("checksum", "bad_header", ...).
std::string_view reasonName(BadReason r) noexcept;

// One rejected piece of input.
struct BadInput {
  BadReason reason;
  std::uint64_t stream_offset = 0;  // where the rejected bytes start
  std::uint64_t byte_count = 0;     // bytes skipped/rejected (garbage length, frame length)
  std::string detail;               // short human text (e.g. the header, truncated)
};

}  // namespace emwin::qbt
