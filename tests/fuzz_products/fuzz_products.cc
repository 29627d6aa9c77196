// libFuzzer entry point: parse, classify and serialise arbitrary bytes as an
// NWS product. Any crash, sanitizer report or escaping exception is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "emwin/bus/v1/alert.pb.h"
#include "products/classify.h"
#include "products/product.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto product = emwin::products::parseProduct(text, 1700000000);
  emwin::bus::v1::Alert msg;
  for (const auto& c : emwin::products::classify(product)) {
    msg.Clear();
    emwin::products::toProto(c, product, msg);
    (void)emwin::products::alertToJson(c, product, "fuzz").dump(-1, ' ', false,
                                                                nlohmann::json::error_handler_t::replace);
  }
  return 0;
}
