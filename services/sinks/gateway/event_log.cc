#include "event_log.h"

#include <algorithm>

namespace emwin::gateway {

EventLog::EventLog(std::size_t max_events, std::size_t max_bytes)
    : max_events_(std::max<std::size_t>(max_events, 1)), max_bytes_(max_bytes) {}

void EventLog::push(EventPtr event) {
  if (!event) return;
  if (events_.empty()) first_seq_ = event->seq;
  bytes_ += event->bytes();
  events_.push_back(std::move(event));
  while (events_.size() > 1 && (events_.size() > max_events_ || bytes_ > max_bytes_)) {
    bytes_ -= std::min(bytes_, events_.front()->bytes());
    events_.pop_front();
    ++first_seq_;
    ++evicted_;
  }
}

const EventPtr& EventLog::at(std::uint64_t seq) const noexcept {
  static const EventPtr kNone;
  if (events_.empty() || seq < first_seq_ || seq - first_seq_ >= events_.size()) return kNone;
  return events_[seq - first_seq_];
}

}  // namespace emwin::gateway
