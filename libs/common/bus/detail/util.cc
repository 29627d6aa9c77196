#include <cerrno>
#include "bus/detail/util.h"

#include <chrono>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

namespace emwin::bus::detail {

std::int64_t unixMicros() noexcept {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string connectableEndpoint(std::string_view bound) {
  std::string out(bound);
  const std::string_view any4 = "tcp://0.0.0.0:";
  const std::string_view any6 = "tcp://[::]:";
  if (bound.substr(0, any4.size()) == any4) {
    out = "tcp://127.0.0.1:" + std::string(bound.substr(any4.size()));
  } else if (bound.substr(0, any6.size()) == any6) {
    out = "tcp://[::1]:" + std::string(bound.substr(any6.size()));
  }
  return out;
}

bool parseHeader(std::string_view payload, emwin::bus::v1::Header& header) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(payload.data()),
                                            static_cast<int>(payload.size()));
  while (true) {
    const std::uint32_t tag = in.ReadTag();
    if (tag == 0) return false;  // end of input (or malformed tag) without a header
    if (WireFormatLite::GetTagFieldNumber(tag) == 1 &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      std::uint32_t length = 0;
      if (!in.ReadVarint32(&length)) return false;
      std::string bytes;
      if (!in.ReadString(&bytes, static_cast<int>(length))) return false;
      if (!header.ParseFromString(bytes)) return false;
      return header.sequence() != 0;
    }
    if (!WireFormatLite::SkipField(&in, tag)) return false;
  }
}

void pollIn(void* socket, std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{socket, 0, ZMQ_POLLIN, 0};
  try {
    zmq::poll(&item, 1, timeout);
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) throw;
  }
}

}  // namespace emwin::bus::detail
