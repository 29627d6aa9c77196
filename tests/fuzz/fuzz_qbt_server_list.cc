// libFuzzer target: parseServerList on arbitrary text. Every kept entry must
// have a port in 1..65535 and a non-empty host, and encoding the parsed list
// and parsing it again must give the same list.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "qbt/encoder.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const emwin::qbt::ServerList list = emwin::qbt::parseServerList(text);
  for (const auto* part : {&list.regular, &list.satellite}) {
    for (const auto& a : *part) {
      if (a.port == 0 || a.host.empty()) std::abort();
    }
  }
  auto wire = emwin::qbt::encodeServerList(list);
  emwin::qbt::xorInPlace(wire);
  // Strip the 6-NUL sync and the NUL terminator.
  const std::string_view again(reinterpret_cast<const char*>(wire.data()) + 6, wire.size() - 7);
  const emwin::qbt::ServerList back = emwin::qbt::parseServerList(again);
  if (back.regular != list.regular || back.satellite != list.satellite) std::abort();
  return 0;
}
