#pragma once
// Helpers shared by the QBT codec tests: a recording DecoderCallbacks, capture
// loading, chunked feeding and a digest of decoded segments. Not thread-safe.

#include <cstdint>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include "qbt/decoder.h"
#include "qbt/encoder.h"
#include "runtime/sha256.h"

namespace emwin::qbt::testing {

// Records everything a Decoder reports.
class Recorder : public DecoderCallbacks {
 public:
  void onSegment(const Segment& s) override { segments.push_back(s); }
  void onServerList(const ServerList& l) override { lists.push_back(l); }
  void onBadInput(const BadInput& b) override { bad.push_back(b); }

  std::size_t countBad(BadReason r) const {
    std::size_t n = 0;
    for (const auto& b : bad) n += b.reason == r ? 1 : 0;
    return n;
  }

  std::vector<Segment> segments;
  std::vector<ServerList> lists;
  std::vector<BadInput> bad;
};

inline std::vector<std::uint8_t> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
}

inline std::vector<std::uint8_t> loadCapture() {
  return readFile(std::string(EMWIN_CORPUS_DIR) + "/live/stream0-20260303.bin");
}

// Feeds `wire` in chunks of `chunk` bytes (0 = whole), then finish().
inline void feedChunked(Decoder& d, std::span<const std::uint8_t> wire, std::size_t chunk) {
  if (chunk == 0) chunk = wire.size() ? wire.size() : 1;
  for (std::size_t at = 0; at < wire.size(); at += chunk) {
    d.feed(wire.subspan(at, std::min(chunk, wire.size() - at)));
  }
  d.finish();
}

// Digest over every segment: name, PN, PT, fd and SHA-256 of the data.
inline std::string digest(const std::vector<Segment>& segs) {
  std::string all;
  for (const auto& s : segs) {
    all += s.filename + '|' + std::to_string(s.block_number) + '|' +
           std::to_string(s.total_blocks) + '|' + std::to_string(s.fd_unix_s) + '|' +
           runtime::sha256Hex(std::span<const std::uint8_t>(s.data)) + '\n';
  }
  return runtime::sha256Hex(all);
}

// Decoded (XOR-ed back) copy of wire bytes.
inline std::vector<std::uint8_t> decoded(std::span<const std::uint8_t> wire) {
  std::vector<std::uint8_t> out(wire.begin(), wire.end());
  xorInPlace(out);
  return out;
}

}  // namespace emwin::qbt::testing
