#pragma once
// Retention: the bounded replay buffer of a pipeline publisher — the most
// recent messages, by count and by bytes, in sequence order, so a consumer
// that was gone can ask for what it missed (REPLAY). Internal to emwin::bus.
// Thread-safety: not thread-safe (the publisher's thread).

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

namespace emwin::bus::detail {

// One published message, shared by the retention buffer, group queues and
// in-flight maps (never copied per consumer).
struct Message {
  std::uint64_t sequence = 0;
  std::string topic;
  std::string payload;
};
using MessagePtr = std::shared_ptr<const Message>;

class Retention {
 public:
  Retention(std::size_t max_messages, std::size_t max_bytes) : max_messages_(max_messages), max_bytes_(max_bytes) {}

  // Appends `m` (sequences must grow) and evicts the oldest beyond the bounds.
  void push(const MessagePtr& m);

  // Iterator range of the retained messages with sequence > `after`.
  std::deque<MessagePtr>::const_iterator after(std::uint64_t sequence) const;
  std::deque<MessagePtr>::const_iterator end() const { return messages_.end(); }

  // Highest sequence evicted so far (0 = none): a replay after a smaller
  // sequence cannot be complete.
  std::uint64_t evictedThrough() const noexcept { return evicted_through_; }
  std::size_t size() const noexcept { return messages_.size(); }
  std::size_t bytes() const noexcept { return bytes_; }

 private:
  std::size_t max_messages_;
  std::size_t max_bytes_;
  std::deque<MessagePtr> messages_;
  std::size_t bytes_ = 0;
  std::uint64_t evicted_through_ = 0;
};

}  // namespace emwin::bus::detail
