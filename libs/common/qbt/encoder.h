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

// How a sender lays out the 80-byte header and when it sends V2. Every style
// parses the same (fields are found by their markers, qbt-protocol.md §3.3).
enum class HeaderStyle : std::uint8_t {
  // Spec columns: "/PFZFPSFOCA.TXT/PN3     /PT5     /CS63366  /FD5/19/2016 5:24:26 PM",
  // " /DL<n>" right after /FD; V2 whenever the block deflates (zlib level 9) to <= 1024 bytes.
  kSpec,
  // No padding at all: "/PFSAHOURLY.TXT/PN1/PT1/CS6026/FD3/3/2026 3:17:36 PM/DL116"; V2 as kSpec.
  kCompact,
  // npemwin: "/PF%-12s/PN %-5d/PT %-5d/CS %-6d/FD" + "MM/DD/YYYY hh:mm:ss AM" (zero-padded), "/DL<n>"
  // written at offset 69; V2 frames carry no six-NUL suffix; V2 only when compression pays
  // (zlib default level, 100 * (80 + n) / 1104 < 60), else a V1 frame.
  kNpemwin,
};

// Stable name of a style ("spec", "compact", "npemwin").
std::string_view headerStyleName(HeaderStyle style) noexcept;
// Parses a style name; false when unknown.
bool parseHeaderStyle(std::string_view name, HeaderStyle& style) noexcept;

// Fields of one data frame to encode.
struct FrameSpec {
  std::string filename;
  std::uint32_t block_number = 1;
  std::uint32_t total_blocks = 1;
  std::int64_t fd_unix_s = 0;
  Version version = Version::kV1;
  bool suffix = true;  // append the six-NUL suffix after V2 (V1 always has it; kNpemwin never on V2)
  HeaderStyle style = HeaderStyle::kSpec;
  // Overrides for fault injection / tests: when set, used instead of the computed value.
  std::int64_t checksum_override = -1;
  // V2 only: the block's deflated form from deflateBlockV2() for the same style,
  // reused instead of compressing again (a sender repeating content saves most of
  // its CPU). Empty vector = the style sends this block in V1 layout.
  const std::vector<std::uint8_t>* v2_payload = nullptr;
};

// The zlib form a V2 frame of `style` carries for `block` (NUL-padded to 1024
// bytes), or empty when that style sends the block as V1 (it would exceed 1024
// bytes; kNpemwin: compression does not pay). Thread-safe (deflaters per thread).
std::vector<std::uint8_t> deflateBlockV2(std::span<const std::uint8_t> block,
                                         HeaderStyle style = HeaderStyle::kSpec);

// Unreduced checksum of a block: sum of its 1024 bytes.
std::uint32_t blockChecksum(std::span<const std::uint8_t> block) noexcept;

// Formats a Unix time as the /FD text "M/D/YYYY h:mm:ss AM|PM" (UTC), or with
// `zero_padded` "MM/DD/YYYY hh:mm:ss AM|PM" (npemwin, the live capture).
std::string formatFd(std::int64_t unix_s, bool zero_padded = false);

// Parses /FD text ("M/D/YYYY h:mm:ss AM|PM", leading zeros allowed) as UTC.
// Returns false on malformed input.
bool parseFd(std::string_view text, std::int64_t& unix_s) noexcept;

// Encodes one data frame. `block` holds up to 1024 bytes; shorter is NUL-padded.
// Output is wire bytes (XOR-ed). The header follows spec.style (kSpec: the spec
// columns when they fit, i.e. filenames up to 12 characters). A V2 block the
// style would not send compressed (see HeaderStyle) is encoded in V1 layout.
std::vector<std::uint8_t> encodeFrame(const FrameSpec& spec, std::span<const std::uint8_t> block);

// Appends the frames of a whole file (cut into 1024-byte blocks) to `out`.
// The last block is NUL-padded; an empty file is one block of NULs. V2 blocks
// the style would not send compressed are sent in V1 layout (as servers do).
// `v2_suffix` says whether V2 frames carry the six-NUL suffix (never for kNpemwin).
void encodeFile(std::string_view filename, std::span<const std::uint8_t> content,
                std::int64_t fd_unix_s, Version version, std::vector<std::uint8_t>& out,
                bool v2_suffix = true, HeaderStyle style = HeaderStyle::kSpec);

// Encodes a server-list frame (sync + text + terminating NUL), XOR-ed.
std::vector<std::uint8_t> encodeServerList(const ServerList& list);

// Parses the text of a server-list frame (without sync/terminator).
ServerList parseServerList(std::string_view text);

// Logon text "ByteBlast Client|NM-<email>|V2" (or |V1), XOR-ed for the wire.
std::vector<std::uint8_t> encodeLogon(std::string_view email, Version version);

// XOR-0xFF in place (the wire obfuscation is its own inverse).
void xorInPlace(std::span<std::uint8_t> bytes) noexcept;

}  // namespace emwin::qbt
