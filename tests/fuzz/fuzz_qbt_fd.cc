// libFuzzer target: parseFd on arbitrary text. Whatever it accepts must format
// back (formatFd, plain and zero-padded as npemwin sends it) to text that parses
// to the same instant.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "qbt/encoder.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::int64_t t = 0;
  if (!emwin::qbt::parseFd(text, t)) return 0;
  std::int64_t back = -1;
  if (!emwin::qbt::parseFd(emwin::qbt::formatFd(t), back) || back != t) std::abort();
  back = -1;
  if (!emwin::qbt::parseFd(emwin::qbt::formatFd(t, true), back) || back != t) std::abort();
  return 0;
}
