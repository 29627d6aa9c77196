#include "bus/detail/retention.h"

#include <algorithm>

namespace emwin::bus::detail {

void Retention::push(const MessagePtr& m) {
  messages_.push_back(m);
  bytes_ += m->payload.size() + m->topic.size();
  while (!messages_.empty() && (messages_.size() > max_messages_ || bytes_ > max_bytes_)) {
    const auto& old = messages_.front();
    bytes_ -= old->payload.size() + old->topic.size();
    evicted_through_ = old->sequence;
    messages_.pop_front();
  }
}

std::deque<MessagePtr>::const_iterator Retention::after(std::uint64_t sequence) const {
  return std::upper_bound(messages_.begin(), messages_.end(), sequence,
                          [](std::uint64_t s, const MessagePtr& m) { return s < m->sequence; });
}

}  // namespace emwin::bus::detail
