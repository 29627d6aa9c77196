#pragma once
// EventLog: the gateway's bounded retention of recent events, by sequence
// number, for clients that resume with Last-Event-ID (and for catching up
// clients, which read it at their own pace). Bounded by a count and a byte
// total; the oldest events go first.
//
// Thread-safety: not thread-safe; the gateway's reactor thread.

#include <cstdint>
#include <deque>

#include "event.h"

namespace emwin::gateway {

class EventLog {
 public:
  // Keeps at most `max_events` events and `max_bytes` bytes (at least one event).
  EventLog(std::size_t max_events, std::size_t max_bytes);

  // Appends the next event (its seq must be newest() + 1, or anything when empty).
  void push(EventPtr event);

  // The event with `seq`, or nullptr when it is not (or no longer) retained.
  const EventPtr& at(std::uint64_t seq) const noexcept;

  // Sequence of the oldest retained event (newest() + 1 when empty).
  std::uint64_t oldest() const noexcept { return first_seq_; }
  // Sequence of the newest event ever pushed (0 before the first).
  std::uint64_t newest() const noexcept { return first_seq_ + events_.size() - 1; }

  std::size_t size() const noexcept { return events_.size(); }
  std::size_t bytes() const noexcept { return bytes_; }
  // Events dropped to stay within the bounds.
  std::uint64_t evicted() const noexcept { return evicted_; }

 private:
  std::size_t max_events_;
  std::size_t max_bytes_;
  std::deque<EventPtr> events_;
  std::uint64_t first_seq_ = 1;
  std::size_t bytes_ = 0;
  std::uint64_t evicted_ = 0;
};

}  // namespace emwin::gateway
