#pragma once
// BlockEncoder: turns one relayed 1024-byte block into the wire frames the
// relay's downstream clients get — the V1 frame, and the frame a V2 client
// gets, which is V2 (zlib payload, /DL) only where compression pays and the V1
// frame otherwise, as npemwin does (qbt-protocol.md §3.3). Header layout is one
// of qbt::HeaderStyle. Every block is encoded once per layout and the bytes are
// shared by every client of that layout (see RelayServer), so this is the only
// per-block CPU cost of the relay that does not grow with the client count.
//
// Compression: libdeflate (the library the decoder inflates with) at level 1,
// zlib format: on the corpus's 1 KiB text blocks it is as small as level 6
// at two thirds of its CPU, half of zlib's (docs/performance.md, "Relay");
// compressing is most of the relay's CPU per block.
//
// Thread-safety: not thread-safe; one per thread.

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "qbt/encoder.h"
#include "qbt/types.h"

struct libdeflate_compressor;

namespace emwin::relay {

// When a V2 client gets a block in the V2 layout.
enum class V2Rule : std::uint8_t {
  // npemwin's rule: header + payload under 60 % of header + block
  // (100 * (80 + n) / 1104 < 60, i.e. n <= 582), else the V1 frame.
  kWhenPays,
  // Whenever the zlib form fits the frame (n <= 1024), as the spec style does.
  kWhenSmaller,
};

// "pays" / "smaller"; parseV2Rule returns false for anything else.
std::string_view v2RuleName(V2Rule rule) noexcept;
bool parseV2Rule(std::string_view name, V2Rule& rule) noexcept;

// What the encoder writes.
struct EncoderOptions {
  qbt::HeaderStyle style = qbt::HeaderStyle::kSpec;  // header layout (and the V2 suffix: none for npemwin)
  V2Rule v2_rule = V2Rule::kWhenPays;
};

// One block to relay; borrowed for the duration of a call.
struct BlockRef {
  std::string_view filename;       // /PF
  std::uint32_t block_number = 1;  // /PN
  std::uint32_t total_blocks = 1;  // /PT
  std::int64_t fd_unix_s = 0;      // /FD
  std::span<const std::uint8_t> data;  // the uncompressed block, at most 1024 bytes (NUL-padded)
};

class BlockEncoder {
 public:
  explicit BlockEncoder(EncoderOptions options = {});
  ~BlockEncoder();
  BlockEncoder(const BlockEncoder&) = delete;
  BlockEncoder& operator=(const BlockEncoder&) = delete;

  // Appends the V1 frame of `block` (wire bytes, XOR applied) to `out`.
  void appendV1(const BlockRef& block, std::vector<std::uint8_t>& out);
  // Appends the frame a V2 client gets to `out`; returns the layout written
  // (kV1 when compression does not pay under the rule).
  qbt::Version appendV2(const BlockRef& block, std::vector<std::uint8_t>& out);

  const EncoderOptions& options() const noexcept { return options_; }
  // Blocks compressed so far, and how many of them went out as V1 anyway.
  std::uint64_t deflated() const noexcept { return deflated_; }
  std::uint64_t notPaying() const noexcept { return not_paying_; }

 private:
  void append(const BlockRef& block, qbt::Version version, const std::vector<std::uint8_t>* payload,
              std::vector<std::uint8_t>& out);

  EncoderOptions options_;
  libdeflate_compressor* compressor_ = nullptr;
  std::vector<std::uint8_t> payload_;  // reused zlib buffer
  qbt::FrameSpec spec_;                // reused (its filename's capacity)
  std::uint64_t deflated_ = 0;
  std::uint64_t not_paying_ = 0;
};

}  // namespace emwin::relay
