// Publisher: tap PUB + pipeline ROUTER with per-group credit queues,
// retention and replay. Protocol: see bus.h and control.proto.
#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <set>
#include <thread>
#include <unordered_map>

#include <zmq_addon.hpp>

#include "bus/bus.h"
#include "runtime/signals.h"
#include "bus/detail.h"
#include "emwin/bus/v1/control.pb.h"
#include "runtime/log.h"

namespace emwin::bus {
namespace {

using Clock = std::chrono::steady_clock;
using emwin::bus::v1::ConsumerCommand;

struct Message {
  std::uint64_t sequence = 0;
  std::string topic;
  std::string payload;
};
using MessagePtr = std::shared_ptr<const Message>;

struct Pending {
  MessagePtr message;
  bool redelivery = false;
};

struct InFlight {
  MessagePtr message;
  bool replayed = false;
};

struct Replica {
  std::string identity;
  std::string name;
  std::uint32_t window = 1;
  std::multimap<std::uint64_t, InFlight> in_flight;
  std::deque<MessagePtr> replay;  // answer to REPLAY, sent before the group queue
  Clock::time_point last_seen;
  std::size_t freeCredit() const {
    return in_flight.size() >= window ? 0 : window - in_flight.size();
  }
};

struct Group {
  std::string name;
  std::vector<std::string> prefixes;
  std::deque<Pending> queue;
  std::set<std::uint64_t> outstanding;  // routed to the group, not yet acked
  std::uint64_t last_routed = 0;
  std::map<std::string, Replica> replicas;  // by routing identity
  Clock::time_point empty_since;
  std::uint64_t ackedThrough() const {
    return outstanding.empty() ? last_routed : *outstanding.begin() - 1;
  }
};

// Epochs are unix microseconds, strictly increasing within the process.
std::uint64_t nextEpoch() {
  static std::atomic<std::uint64_t> last{0};
  std::uint64_t now = static_cast<std::uint64_t>(detail::unixMicros());
  std::uint64_t prev = last.load();
  std::uint64_t chosen = 0;
  do {
    chosen = std::max(now, prev + 1);
  } while (!last.compare_exchange_weak(prev, chosen));
  return chosen;
}

}  // namespace

struct Publisher::Impl {
  PublisherOptions options;
  std::shared_ptr<spdlog::logger> log = runtime::logger("bus");
  std::optional<zmq::socket_t> tap;
  std::optional<zmq::socket_t> router;
  std::string tap_endpoint;
  std::string pipeline_endpoint;
  std::uint64_t epoch = nextEpoch();
  std::uint64_t sequence = 0;
  std::map<std::string, std::uint64_t, std::less<>> family_sequence;  // topic family -> last topic_sequence
  bool stopped = false;
  std::deque<MessagePtr> retention;
  std::size_t retention_bytes = 0;
  std::uint64_t evicted_through = 0;  // highest sequence dropped from retention
  std::map<std::string, Group> groups;
  std::unordered_map<std::string, std::string> group_of;  // identity -> group
  PublisherStats stats;
  Clock::time_point next_timeout_check = Clock::now();
  static constexpr int kDrainEvery = 64;
  static constexpr auto kDrainPeriod = std::chrono::milliseconds(1);
  int publishes_since_drain = 0;
  Clock::time_point last_drain = Clock::now();

  void retain(const MessagePtr& m) {
    retention.push_back(m);
    retention_bytes += m->payload.size() + m->topic.size();
    while (!retention.empty() && (retention.size() > options.retention_messages ||
                                  retention_bytes > options.retention_bytes)) {
      const auto& old = retention.front();
      retention_bytes -= old->payload.size() + old->topic.size();
      evicted_through = old->sequence;
      retention.pop_front();
    }
  }

  bool anyQueued() const {
    for (const auto& [name, group] : groups) {
      if (!group.queue.empty()) return true;
    }
    return false;
  }

  bool anyMatchingFull(std::string_view topic) const {
    for (const auto& [name, group] : groups) {
      if (group.queue.size() >= options.pipeline_hwm && topicMatches(topic, group.prefixes)) return true;
    }
    return false;
  }

  // Sends one delivery; false if the peer is unroutable.
  bool send(Group& group, Replica& replica, const MessagePtr& m, bool replayed) {
    emwin::bus::v1::Delivery delivery;
    delivery.set_sequence(m->sequence);
    delivery.set_replayed(replayed);
    delivery.set_group_acked_through(group.ackedThrough());
    const std::string meta = delivery.SerializeAsString();
    try {
      auto sent = router->send(zmq::buffer(replica.identity), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
      if (!sent) return false;
      router->send(zmq::buffer(m->topic), zmq::send_flags::sndmore);
      router->send(zmq::buffer(m->payload), zmq::send_flags::sndmore);
      router->send(zmq::buffer(meta), zmq::send_flags::none);
    } catch (const zmq::error_t& e) {
      log->debug("pipeline send to {}/{} failed: {}", group.name, replica.name, e.what());
      return false;
    }
    replica.in_flight.emplace(m->sequence, InFlight{m, replayed});
    ++stats.pipeline_sent;
    if (replayed) ++stats.replayed;
    return true;
  }

  void removeReplica(Group& group, const std::string& identity, bool lost) {
    auto it = group.replicas.find(identity);
    if (it == group.replicas.end()) return;
    Replica& replica = it->second;
    // Unacked regular deliveries go back to the front of the queue, in order.
    for (auto rit = replica.in_flight.rbegin(); rit != replica.in_flight.rend(); ++rit) {
      if (!rit->second.replayed) group.queue.push_front(Pending{rit->second.message, true});
    }
    if (lost) {
      ++stats.replicas_lost;
      log->warn("replica {} of group {} lost; {} in-flight messages requeued", replica.name, group.name,
                replica.in_flight.size());
    } else {
      log->info("replica {} of group {} left", replica.name, group.name);
    }
    group_of.erase(identity);
    group.replicas.erase(it);
    if (group.replicas.empty()) group.empty_since = Clock::now();
  }

  void dispatch(Group& group) {
    while (true) {
      Replica* best = nullptr;
      for (auto& [identity, replica] : group.replicas) {
        if (replica.freeCredit() == 0) continue;
        if (!replica.replay.empty()) {
          best = &replica;
          break;
        }
        if (!group.queue.empty() && (best == nullptr || replica.freeCredit() > best->freeCredit())) best = &replica;
      }
      if (best == nullptr) return;
      if (!best->replay.empty()) {
        MessagePtr m = best->replay.front();
        best->replay.pop_front();
        if (!send(group, *best, m, true)) removeReplica(group, std::string(best->identity), true);
        continue;
      }
      Pending pending = std::move(group.queue.front());
      group.queue.pop_front();
      if (!send(group, *best, pending.message, false)) {
        group.queue.push_front(std::move(pending));
        removeReplica(group, std::string(best->identity), true);
        continue;
      }
      if (pending.redelivery) ++stats.redelivered;
    }
  }

  Replica* findReplica(const std::string& identity, Group** group_out) {
    auto g = group_of.find(identity);
    if (g == group_of.end()) return nullptr;
    auto group = groups.find(g->second);
    if (group == groups.end()) return nullptr;
    auto r = group->second.replicas.find(identity);
    if (r == group->second.replicas.end()) return nullptr;
    *group_out = &group->second;
    r->second.last_seen = Clock::now();
    return &r->second;
  }

  Replica& ensureReplica(const std::string& identity, const ConsumerCommand& cmd, bool set_prefixes,
                         Group** group_out) {
    auto known = group_of.find(identity);
    if (known != group_of.end() && known->second != cmd.group()) {
      auto old = groups.find(known->second);
      if (old != groups.end()) removeReplica(old->second, identity, false);
    }
    auto [git, created] = groups.try_emplace(cmd.group());
    Group& group = git->second;
    if (created) {
      group.name = cmd.group();
      group.empty_since = Clock::now();
      group.prefixes.assign(cmd.topic_prefixes().begin(), cmd.topic_prefixes().end());
      log->info("new consumer group {}", group.name);
    } else if (set_prefixes) {
      group.prefixes.assign(cmd.topic_prefixes().begin(), cmd.topic_prefixes().end());
    }
    auto [rit, new_replica] = group.replicas.try_emplace(identity);
    Replica& replica = rit->second;
    if (new_replica) {
      replica.identity = identity;
      replica.name = cmd.replica();
      replica.window = std::max<std::uint32_t>(1, cmd.credit());
      group_of[identity] = group.name;
      log->info("replica {} joined group {} (window {})", replica.name, group.name, replica.window);
    }
    replica.last_seen = Clock::now();
    *group_out = &group;
    return replica;
  }

  static void applyAcks(Group& group, Replica& replica, const ConsumerCommand& cmd) {
    for (std::uint64_t seq : cmd.ack_sequences()) {
      auto [first, last] = replica.in_flight.equal_range(seq);
      if (first == last) continue;
      auto chosen = first;
      for (auto it = first; it != last; ++it) {
        if (!it->second.replayed) {
          chosen = it;
          break;
        }
      }
      if (!chosen->second.replayed) group.outstanding.erase(seq);
      replica.in_flight.erase(chosen);
    }
  }

  void startReplay(Group& group, Replica& replica, const ConsumerCommand& cmd) {
    const std::uint64_t after = cmd.epoch() == epoch ? cmd.replay_after_sequence() : 0;
    if (after < evicted_through) {
      ++stats.replay_misses;
      log->warn("replay for {}/{} after {} reaches before retention (oldest kept after {})", group.name,
                replica.name, after, evicted_through);
    }
    auto it = std::upper_bound(retention.begin(), retention.end(), after,
                               [](std::uint64_t s, const MessagePtr& m) { return s < m->sequence; });
    std::size_t count = 0;
    for (; it != retention.end(); ++it) {
      if (!topicMatches((*it)->topic, group.prefixes)) continue;
      replica.replay.push_back(*it);
      ++count;
    }
    log->info("replaying {} messages after {}:{} to {}/{}", count, cmd.epoch(), after, group.name, replica.name);
  }

  void handleCommand(const std::string& identity, const zmq::message_t& frame) {
    ConsumerCommand cmd;
    if (!cmd.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
      ++stats.bad_commands;
      return;
    }
    Group* group = nullptr;
    switch (cmd.kind()) {
      case ConsumerCommand::KIND_HELLO: {
        Replica& replica = ensureReplica(identity, cmd, true, &group);
        if (cmd.credit() > 0) replica.window = cmd.credit();
        applyAcks(*group, replica, cmd);
        break;
      }
      case ConsumerCommand::KIND_CREDIT: {
        Replica* replica = findReplica(identity, &group);
        if (replica == nullptr) return;  // forgotten; its next HELLO re-registers it
        if (cmd.credit() > 0) replica->window = cmd.credit();
        applyAcks(*group, *replica, cmd);
        break;
      }
      case ConsumerCommand::KIND_REPLAY: {
        Replica* replica = nullptr;
        if (!cmd.group().empty()) {
          replica = &ensureReplica(identity, cmd, false, &group);
        } else {
          replica = findReplica(identity, &group);
        }
        if (replica == nullptr) return;
        startReplay(*group, *replica, cmd);
        break;
      }
      case ConsumerCommand::KIND_BYE: {
        Replica* replica = findReplica(identity, &group);
        if (replica == nullptr) return;
        removeReplica(*group, identity, false);
        break;
      }
      default:
        ++stats.bad_commands;
        return;
    }
    if (group != nullptr) dispatch(*group);
  }

  void drainCommands() {
    std::vector<zmq::message_t> frames;
    while (true) {
      frames.clear();
      zmq::recv_result_t got;
      try {
        got = zmq::recv_multipart(*router, std::back_inserter(frames), zmq::recv_flags::dontwait);
      } catch (const zmq::error_t& e) {
        log->warn("pipeline receive failed: {}", e.what());
        return;
      }
      if (!got) return;
      if (frames.size() != 2) {
        ++stats.bad_commands;
        continue;
      }
      handleCommand(frames[0].to_string(), frames[1]);
    }
  }

  void checkTimeouts(Clock::time_point now) {
    if (now < next_timeout_check) return;
    next_timeout_check = now + std::chrono::milliseconds(50);
    for (auto git = groups.begin(); git != groups.end();) {
      Group& group = git->second;
      std::vector<std::string> dead;
      for (const auto& [identity, replica] : group.replicas) {
        if (now - replica.last_seen > options.replica_timeout) dead.push_back(identity);
      }
      for (const auto& identity : dead) removeReplica(group, identity, true);
      if (!dead.empty()) dispatch(group);
      if (group.replicas.empty() && now - group.empty_since > options.group_timeout) {
        log->warn("consumer group {} expired with {} queued messages (kept in retention)", group.name,
                  group.queue.size());
        for (const auto& [identity, r] : group.replicas) group_of.erase(identity);
        ++stats.groups_expired;
        git = groups.erase(git);
      } else {
        ++git;
      }
    }
  }

  void service(std::chrono::milliseconds timeout) {
    if (!router) {
      if (timeout.count() > 0) std::this_thread::sleep_for(timeout);
      return;
    }
    // With no wait, the non-blocking receives in drainCommands() suffice: a
    // zmq_poll here would cost a poll(2) per call of a busy service loop.
    if (timeout.count() > 0) detail::pollIn(router->handle(), timeout);
    drainCommands();
    checkTimeouts(Clock::now());
  }
};

Publisher::Publisher(zmq::context_t& context, PublisherOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  auto& o = impl_->options;
  if (o.pipeline_hwm == 0) o.pipeline_hwm = 1;
  if (!o.tap_endpoint.empty()) {
    impl_->tap.emplace(context, zmq::socket_type::pub);
    impl_->tap->set(zmq::sockopt::sndhwm, o.tap_send_hwm);
    impl_->tap->set(zmq::sockopt::linger, 0);
    impl_->tap->bind(o.tap_endpoint);
    impl_->tap_endpoint = detail::connectableEndpoint(impl_->tap->get(zmq::sockopt::last_endpoint));
  }
  if (!o.pipeline_endpoint.empty()) {
    impl_->router.emplace(context, zmq::socket_type::router);
    impl_->router->set(zmq::sockopt::router_mandatory, 1);
    impl_->router->set(zmq::sockopt::sndhwm, 0);  // bounded by credit windows
    impl_->router->set(zmq::sockopt::rcvhwm, 0);
    impl_->router->set(zmq::sockopt::linger, 100);
    impl_->router->bind(o.pipeline_endpoint);
    impl_->pipeline_endpoint = detail::connectableEndpoint(impl_->router->get(zmq::sockopt::last_endpoint));
  }
  impl_->log->info("publisher {} epoch {} tap={} pipeline={}", o.producer_id, impl_->epoch,
                   impl_->tap_endpoint.empty() ? "-" : impl_->tap_endpoint,
                   impl_->pipeline_endpoint.empty() ? "-" : impl_->pipeline_endpoint);
}

Publisher::~Publisher() = default;

void Publisher::fillHeader(emwin::bus::v1::Header& header, std::string_view payload_type, std::string_view topic) {
  header.set_producer_id(impl_->options.producer_id);
  header.set_epoch(impl_->epoch);
  header.set_sequence(++impl_->sequence);
  header.set_produced_unix_us(detail::unixMicros());
  header.set_payload_type(std::string(payload_type));
  if (!topic.empty()) {
    const std::string_view family = topicFamily(topic);
    auto it = impl_->family_sequence.find(family);
    if (it == impl_->family_sequence.end()) it = impl_->family_sequence.emplace(std::string(family), 0).first;
    header.set_topic_sequence(++it->second);
  }
}

std::uint64_t Publisher::publishSerialized(std::string_view topic, std::string payload, Path path) {
  Impl& s = *impl_;
  if (s.sequence == 0) s.sequence = 1;  // header not filled: still give it a number
  auto m = std::make_shared<Message>();
  m->sequence = s.sequence;
  m->topic.assign(topic);
  m->payload = std::move(payload);
  ++s.stats.published;
  s.stats.bytes_published += m->payload.size();
  if (s.tap) {
    // PUB never blocks: at the HWM it drops (subscribers see the gap).
    s.tap->send(zmq::buffer(m->topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    s.tap->send(zmq::buffer(m->payload), zmq::send_flags::dontwait);
    ++s.stats.tap_sent;
  }
  if (path != Path::kAll) return m->sequence;
  s.retain(m);
  if (!s.router) return m->sequence;
  // Take commands (acks, HELLOs) when a group is waiting for credit, else
  // every 64th publish or 1 ms: a non-blocking receive that finds nothing
  // costs a system call, and the service loop's poll() drains the rest. So a
  // new consumer's HELLO waits at most that long. Replica timeouts are only
  // judged right after a drain, so a busy publisher never misses heartbeats.
  const auto now = Clock::now();
  if (++s.publishes_since_drain >= Impl::kDrainEvery || now - s.last_drain >= Impl::kDrainPeriod ||
      s.anyQueued()) {
    s.publishes_since_drain = 0;
    s.last_drain = now;
    s.drainCommands();
    s.checkTimeouts(now);
  }
  if (!s.stopped && s.anyMatchingFull(m->topic)) {
    const auto start = Clock::now();
    ++s.stats.blocked_count;
    while (!s.stopped && s.anyMatchingFull(m->topic)) {
      // A stop signal must not wait for a stalled consumer: the message stays retained.
      if (runtime::stopRequested()) {
        s.stopped = true;
        break;
      }
      s.service(std::chrono::milliseconds(20));
    }
    s.stats.blocked_us += static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
  }
  for (auto& [name, group] : s.groups) {
    if (!topicMatches(m->topic, group.prefixes)) continue;
    group.queue.push_back(Pending{m, false});
    group.outstanding.insert(m->sequence);
    group.last_routed = m->sequence;
    s.dispatch(group);
  }
  return m->sequence;
}

void Publisher::poll(std::chrono::milliseconds timeout) {
  impl_->service(timeout);
  for (auto& [name, group] : impl_->groups) impl_->dispatch(group);
}

bool Publisher::wouldBlock() const {
  if (impl_->stopped) return false;
  for (const auto& [name, group] : impl_->groups) {
    if (group.queue.size() >= impl_->options.pipeline_hwm) return true;
  }
  return false;
}

void Publisher::stop() { impl_->stopped = true; }

std::uint64_t Publisher::epoch() const noexcept { return impl_->epoch; }
const std::string& Publisher::producerId() const noexcept { return impl_->options.producer_id; }

PublisherStats Publisher::stats() const {
  PublisherStats out = impl_->stats;
  out.groups = impl_->groups.size();
  out.replicas = 0;
  out.max_group_queue = 0;
  for (const auto& [name, group] : impl_->groups) {
    out.replicas += group.replicas.size();
    out.max_group_queue = std::max(out.max_group_queue, group.queue.size());
  }
  out.retained = impl_->retention.size();
  return out;
}

std::string Publisher::tapEndpoint() const { return impl_->tap_endpoint; }
std::string Publisher::pipelineEndpoint() const { return impl_->pipeline_endpoint; }

std::string_view topicFamily(std::string_view topic) noexcept {
  const auto dot = topic.find('.');
  return dot == std::string_view::npos ? topic : topic.substr(0, dot + 1);
}

bool topicMatches(std::string_view topic, const std::vector<std::string>& prefixes) noexcept {
  if (prefixes.empty()) return true;
  for (const auto& prefix : prefixes) {
    if (topic.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

}  // namespace emwin::bus
