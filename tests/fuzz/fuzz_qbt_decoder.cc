// libFuzzer target: the QBT decoder fed the input in chunks whose sizes come
// from the input itself. Checks that the buffer stays bounded and that the
// chunked run reports exactly what a single feed() of the same bytes reports.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "qbt/decoder.h"

namespace {

// Appends a compact description of every event to `log`.
class Signature : public emwin::qbt::DecoderCallbacks {
 public:
  void onSegment(const emwin::qbt::Segment& s) override {
    log += "S" + s.filename + "/" + std::to_string(s.block_number) + "/" +
           std::to_string(s.stream_offset) + "/" + std::to_string(s.data[0] + s.data[1023]) + ";";
  }
  void onServerList(const emwin::qbt::ServerList& l) override {
    log += "L" + std::to_string(l.regular.size()) + "/" + std::to_string(l.stream_offset) + ";";
  }
  void onBadInput(const emwin::qbt::BadInput& b) override {
    log += "B" + std::to_string(static_cast<int>(b.reason)) + "/" +
           std::to_string(b.stream_offset) + "/" + std::to_string(b.byte_count) + ";";
  }
  std::string log;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t step_seed = data[0];
  const std::span<const std::uint8_t> wire(data + 1, size - 1);

  Signature whole;
  {
    emwin::qbt::Decoder d(whole);
    d.feed(wire);
    if (d.buffered() > emwin::qbt::Decoder::kMaxBuffered) std::abort();
    d.finish();
  }
  Signature chunked;
  {
    emwin::qbt::Decoder d(chunked);
    std::size_t at = 0;
    std::size_t k = 0;
    while (at < wire.size()) {
      // Chunk sizes 1..64 cycling through bytes of the input.
      const std::size_t n =
          std::min<std::size_t>(wire.size() - at, 1 + (wire[(k++ * 31 + step_seed) % wire.size()] % 64));
      d.feed(wire.subspan(at, n));
      if (d.buffered() > emwin::qbt::Decoder::kMaxBuffered) std::abort();
      at += n;
    }
    d.finish();
  }
  if (whole.log != chunked.log) std::abort();
  return 0;
}
