#include "bus/detail/consumer_group.h"

#include "bus/topics.h"

namespace emwin::bus::detail {

ConsumerGroup::ConsumerGroup(std::string name, std::vector<std::string> prefixes, Clock::time_point now)
    : name_(std::move(name)), prefixes_(std::move(prefixes)), empty_since_(now) {}

bool ConsumerGroup::wants(std::string_view topic) const noexcept { return topicMatches(topic, prefixes_); }

void ConsumerGroup::enqueue(const MessagePtr& m) {
  queue_.push_back(Pending{m, false});
  outstanding_.insert(m->sequence);
  last_routed_ = m->sequence;
  if (first_routed_ == 0) first_routed_ = m->sequence;
}

Replica& ConsumerGroup::join(const std::string& identity, const std::string& replica_name, std::uint32_t window,
                             Clock::time_point now, bool* created) {
  auto [it, fresh] = replicas_.try_emplace(identity);
  Replica& r = it->second;
  if (fresh) {
    r.identity = identity;
    r.name = replica_name;
    r.window = std::max<std::uint32_t>(1, window);
  }
  r.last_seen = now;
  if (created != nullptr) *created = fresh;
  return r;
}

Replica* ConsumerGroup::find(const std::string& identity) {
  auto it = replicas_.find(identity);
  return it == replicas_.end() ? nullptr : &it->second;
}

void ConsumerGroup::acknowledgeOne(Replica& replica, std::uint64_t seq, std::vector<std::uint64_t>& settled) {
  auto [first, last] = replica.in_flight.equal_range(seq);
  if (first == last) return;  // not ours (already acknowledged, or requeued after a timeout)
  auto chosen = first;
  for (auto it = first; it != last; ++it) {
    if (!it->second.replayed) {
      chosen = it;
      break;
    }
  }
  if (!chosen->second.replayed && outstanding_.erase(seq) == 1) settled.push_back(seq);
  replica.in_flight.erase(chosen);
}

std::size_t ConsumerGroup::remove(const std::string& identity, Clock::time_point now) {
  auto it = replicas_.find(identity);
  if (it == replicas_.end()) return 0;
  std::size_t requeued = 0;
  const Replica& r = it->second;
  for (auto rit = r.in_flight.rbegin(); rit != r.in_flight.rend(); ++rit) {
    if (rit->second.replayed) continue;
    queue_.push_front(Pending{rit->second.message, true});
    ++requeued;
  }
  replicas_.erase(it);
  if (replicas_.empty()) empty_since_ = now;
  return requeued;
}

std::size_t ConsumerGroup::replay(Replica& replica, const Retention& retention, std::uint64_t after) {
  std::size_t count = 0;
  for (auto it = retention.after(after); it != retention.end(); ++it) {
    const MessagePtr& m = *it;
    if (first_routed_ != 0 && m->sequence >= first_routed_) break;  // routed to the group: not replayed
    if (!wants(m->topic)) continue;
    replica.replay.push_back(m);
    ++count;
  }
  return count;
}

void ConsumerGroup::dispatch(const Sender& send, GroupCounters& counters, std::vector<std::string>& lost,
                             Clock::time_point now) {
  while (true) {
    Replica* best = nullptr;
    for (auto& [identity, replica] : replicas_) {
      if (replica.freeCredit() == 0) continue;
      if (!replica.replay.empty()) {
        best = &replica;
        break;
      }
      if (!queue_.empty() && (best == nullptr || replica.freeCredit() > best->freeCredit())) best = &replica;
    }
    if (best == nullptr) return;
    if (!best->replay.empty()) {
      MessagePtr m = std::move(best->replay.front());
      best->replay.pop_front();
      // A replayed message was never routed to the group: the group's floor says nothing about it.
      if (!send(*best, *m, true, 0)) {
        lost.push_back(best->identity);
        remove(std::string(best->identity), now);
        continue;
      }
      const std::uint64_t seq = m->sequence;
      best->in_flight.emplace(seq, InFlight{std::move(m), true});
      ++counters.sent;
      ++counters.replayed;
      continue;
    }
    Pending pending = std::move(queue_.front());
    queue_.pop_front();
    if (!send(*best, *pending.message, false, ackedThrough())) {
      queue_.push_front(std::move(pending));
      lost.push_back(best->identity);
      remove(std::string(best->identity), now);
      continue;
    }
    ++counters.sent;
    if (pending.redelivery) ++counters.redelivered;
    const std::uint64_t seq = pending.message->sequence;
    best->in_flight.emplace(seq, InFlight{std::move(pending.message), false});
  }
}

std::vector<std::string> ConsumerGroup::silentSince(Clock::time_point deadline) const {
  std::vector<std::string> out;
  for (const auto& [identity, replica] : replicas_) {
    if (replica.last_seen < deadline) out.push_back(identity);
  }
  return out;
}

void ConsumerGroup::abandon(std::vector<std::uint64_t>& settled) {
  settled.insert(settled.end(), outstanding_.begin(), outstanding_.end());
  outstanding_.clear();
  queue_.clear();
}

}  // namespace emwin::bus::detail
