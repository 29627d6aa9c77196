// Small helpers of the QBT value types (see types.h).
#include "qbt/types.h"

#include "runtime/names.h"

namespace emwin::qbt {

std::string_view reasonName(BadReason r) noexcept {
  switch (r) {
    case BadReason::kBadHeader: return "bad_header";
    case BadReason::kChecksum: return "checksum";
    case BadReason::kInflate: return "inflate";
    case BadReason::kBlockRange: return "block_range";
    case BadReason::kBadLength: return "bad_length";
    case BadReason::kGarbage: return "garbage";
    case BadReason::kServerListTooLong: return "server_list_too_long";
    case BadReason::kTruncated: return "truncated";
  }
  return "unknown";
}

std::string_view Segment::extension() const noexcept { return runtime::extensionOf(filename); }

}  // namespace emwin::qbt
