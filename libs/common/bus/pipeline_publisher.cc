#include "bus/pipeline_publisher.h"

#include <algorithm>

#include <zmq_addon.hpp>

#include "bus/detail/util.h"
#include "emwin/bus/v1/control.pb.h"
#include "runtime/log.h"

namespace emwin::bus {
namespace {

using emwin::bus::v1::ConsumerCommand;
constexpr auto kTimeoutCheckPeriod = std::chrono::milliseconds(50);

// Topic prefixes must be printable ASCII (they are persisted tab-separated).
bool validPrefixes(const ConsumerCommand& cmd) {
  for (const auto& p : cmd.topic_prefixes()) {
    for (char c : p) {
      if (c < 0x21 || c > 0x7E) return false;
    }
  }
  return true;
}

}  // namespace

PipelinePublisher::PipelinePublisher(zmq::context_t& context, PipelineOptions options, std::uint64_t epoch)
    : options_(std::move(options)),
      epoch_(epoch),
      log_(runtime::logger("bus")),
      router_(context, zmq::socket_type::router),
      retention_(options_.retention_messages, options_.retention_bytes),
      store_(options_.state_dir, log_),
      next_timeout_check_(Clock::now()) {
  if (options_.hwm == 0) options_.hwm = 1;
  router_.set(zmq::sockopt::router_mandatory, 1);
  router_.set(zmq::sockopt::sndhwm, 0);  // bounded by credit windows
  router_.set(zmq::sockopt::rcvhwm, 0);
  router_.set(zmq::sockopt::linger, 100);
  if (options_.security != nullptr) secureServer(router_, *options_.security, options_.zap_domain);
  router_.bind(options_.endpoint);
  endpoint_ = detail::connectableEndpoint(router_.get(zmq::sockopt::last_endpoint));
  const auto now = Clock::now();
  for (auto& [name, prefixes] : store_.load()) {
    groupFor(name, prefixes, now, true);
    ++stats_.groups_restored;
  }
  if (stats_.groups_restored > 0) {
    log_->info("holding messages for {} consumer group(s) known from {} until they re-join", stats_.groups_restored,
               store_.path());
  }
}

PipelinePublisher::~PipelinePublisher() = default;

detail::ConsumerGroup& PipelinePublisher::groupFor(const std::string& name, const std::vector<std::string>& prefixes,
                                                   Clock::time_point now, bool restored) {
  auto it = groups_.find(name);
  if (it != groups_.end()) {
    if (it->second.prefixes() != prefixes) {
      it->second.setPrefixes(prefixes);
      saveGroups();
    }
    return it->second;
  }
  it = groups_.emplace(name, detail::ConsumerGroup(name, prefixes, now)).first;
  if (!restored) {
    log_->info("new consumer group {}", name);
    saveGroups();
  }
  return it->second;
}

void PipelinePublisher::saveGroups() {
  if (!store_.enabled()) return;
  std::map<std::string, std::vector<std::string>> all;
  for (const auto& [name, group] : groups_) all[name] = group.prefixes();
  store_.save(all);
}

void PipelinePublisher::enqueue(std::uint64_t sequence, std::string_view topic, std::string payload) {
  auto m = std::make_shared<detail::Message>();
  m->sequence = sequence;
  m->topic.assign(topic);
  m->payload = std::move(payload);
  detail::MessagePtr message = std::move(m);
  retention_.push(message);
  std::uint32_t routed = 0;
  const auto now = Clock::now();
  for (auto& [name, group] : groups_) {
    if (!group.wants(message->topic)) continue;
    group.enqueue(message);
    ++routed;
    dispatch(group, now);
  }
  if (routed == 0) {
    settled_.push_back(sequence);  // no group wants it: retained for replay only
  } else {
    pending_[sequence] = routed;
  }
}

bool PipelinePublisher::hasRoom() const {
  for (const auto& [name, group] : groups_) {
    if (group.queued() >= options_.hwm) return false;
  }
  return true;
}

bool PipelinePublisher::send(const detail::Replica& replica, const detail::Message& m, bool replayed,
                             std::uint64_t acked_through) {
  emwin::bus::v1::Delivery delivery;
  delivery.set_sequence(m.sequence);
  delivery.set_replayed(replayed);
  delivery.set_group_acked_through(acked_through);
  const std::string meta = delivery.SerializeAsString();
  try {
    auto sent = router_.send(zmq::buffer(replica.identity), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    if (!sent) return false;
    router_.send(zmq::buffer(m.topic), zmq::send_flags::sndmore);
    router_.send(zmq::buffer(m.payload), zmq::send_flags::sndmore);
    router_.send(zmq::buffer(meta), zmq::send_flags::none);
  } catch (const zmq::error_t& e) {
    log_->debug("pipeline send to {} failed: {}", replica.name, e.what());
    return false;
  }
  return true;
}

void PipelinePublisher::dispatch(detail::ConsumerGroup& group, Clock::time_point now) {
  lost_.clear();
  group.dispatch([this](const detail::Replica& r, const detail::Message& m, bool replayed,
                        std::uint64_t acked) { return send(r, m, replayed, acked); },
                 counters_, lost_, now);
  for (const auto& identity : lost_) {
    ++stats_.replicas_lost;
    group_of_.erase(identity);
    log_->warn("replica of group {} unroutable; its deliveries go to another replica", group.name());
  }
}

void PipelinePublisher::settle(const std::vector<std::uint64_t>& sequences) {
  for (std::uint64_t seq : sequences) {
    auto it = pending_.find(seq);
    if (it == pending_.end()) continue;
    if (--it->second == 0) {
      pending_.erase(it);
      settled_.push_back(seq);
    }
  }
}

detail::Replica* PipelinePublisher::replicaOf(const std::string& identity, detail::ConsumerGroup** group) {
  auto g = group_of_.find(identity);
  if (g == group_of_.end()) return nullptr;
  auto it = groups_.find(g->second);
  if (it == groups_.end()) return nullptr;
  detail::Replica* r = it->second.find(identity);
  if (r != nullptr) *group = &it->second;
  return r;
}

void PipelinePublisher::dropReplica(detail::ConsumerGroup& group, const std::string& identity, bool lost,
                                    Clock::time_point now) {
  detail::Replica* r = group.find(identity);
  if (r == nullptr) return;
  const std::string name = r->name;
  const std::size_t requeued = group.remove(identity, now);
  group_of_.erase(identity);
  if (lost) {
    ++stats_.replicas_lost;
    log_->warn("replica {} of group {} lost; {} unacknowledged message(s) requeued", name, group.name(), requeued);
  } else {
    log_->info("replica {} of group {} left; {} unacknowledged message(s) requeued", name, group.name(), requeued);
  }
}

void PipelinePublisher::handleCommand(const std::string& identity, const zmq::message_t& frame,
                                      Clock::time_point now) {
  ConsumerCommand cmd;
  if (!cmd.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
    ++stats_.bad_commands;
    return;
  }
  detail::ConsumerGroup* group = nullptr;
  detail::Replica* replica = nullptr;
  const bool joins = cmd.kind() == ConsumerCommand::KIND_HELLO ||
                     (cmd.kind() == ConsumerCommand::KIND_REPLAY && !cmd.group().empty());
  if (joins) {
    if (!detail::validGroupName(cmd.group()) || !validPrefixes(cmd)) {
      ++stats_.bad_commands;
      log_->warn("refusing a consumer with an invalid group name or topic prefix ('{}')", cmd.group().substr(0, 64));
      return;
    }
    if (options_.authorize) {
      std::string user;
      try {
        const char* u = const_cast<zmq::message_t&>(frame).gets("User-Id");
        if (u != nullptr) user = u;
      } catch (const zmq::error_t&) {
        user.clear();  // no authenticated identity on this connection
      }
      if (!options_.authorize(user, cmd.group())) {
        if (refused_.insert(user + "\x1f" + cmd.group()).second) {
          log_->warn("refusing '{}': its key may not join consumer group {}", user.empty() ? "?" : user, cmd.group());
        }
        ++stats_.unauthorized;
        return;
      }
    }
    // A replica moving to another group leaves its old one first.
    auto known = group_of_.find(identity);
    if (known != group_of_.end() && known->second != cmd.group()) {
      auto old = groups_.find(known->second);
      if (old != groups_.end()) dropReplica(old->second, identity, false, now);
    }
    std::vector<std::string> prefixes(cmd.topic_prefixes().begin(), cmd.topic_prefixes().end());
    group = &groupFor(cmd.group(), prefixes, now, false);
    bool created = false;
    replica = &group->join(identity, cmd.replica(), cmd.credit(), now, &created);
    if (created) {
      group_of_[identity] = group->name();
      log_->info("replica {} joined group {} (window {})", replica->name, group->name(), replica->window);
    }
  } else {
    replica = replicaOf(identity, &group);
    if (replica == nullptr) return;  // forgotten; its next HELLO re-registers it
    replica->last_seen = now;
  }
  switch (cmd.kind()) {
    case ConsumerCommand::KIND_HELLO:
    case ConsumerCommand::KIND_CREDIT:
      if (cmd.credit() > 0) replica->window = cmd.credit();
      scratch_.clear();
      group->acknowledge(*replica, cmd.ack_sequences(), scratch_);
      settle(scratch_);
      break;
    case ConsumerCommand::KIND_REPLAY: {
      const std::uint64_t after = cmd.epoch() == epoch_ ? cmd.replay_after_sequence() : 0;
      if (after < retention_.evictedThrough()) {
        ++stats_.replay_misses;
        log_->warn("replay for {}/{} after {} reaches before retention (oldest kept after {})", group->name(),
                   replica->name, after, retention_.evictedThrough());
      }
      const std::size_t n = group->replay(*replica, retention_, after);
      log_->info("replaying {} message(s) after {}:{} to {}/{}", n, cmd.epoch(), after, group->name(), replica->name);
      break;
    }
    case ConsumerCommand::KIND_BYE:
      dropReplica(*group, identity, false, now);
      if (cmd.leave_group() && group->replicaCount() == 0) {
        log_->info("consumer group {} ended by its last replica; {} unacknowledged message(s) given up",
                   group->name(), group->outstanding());
        scratch_.clear();
        group->abandon(scratch_);
        settle(scratch_);
        const std::string name = group->name();
        groups_.erase(name);
        saveGroups();
        return;
      }
      break;
    default:
      ++stats_.bad_commands;
      return;
  }
  dispatch(*group, now);
}

void PipelinePublisher::checkTimeouts(Clock::time_point now) {
  if (now < next_timeout_check_) return;
  next_timeout_check_ = now + kTimeoutCheckPeriod;
  bool expired = false;
  for (auto it = groups_.begin(); it != groups_.end();) {
    detail::ConsumerGroup& group = it->second;
    const auto dead = group.silentSince(now - options_.replica_timeout);
    for (const auto& identity : dead) dropReplica(group, identity, true, now);
    if (!dead.empty()) dispatch(group, now);
    if (group.replicaCount() == 0 && now - group.emptySince() > options_.group_timeout) {
      log_->warn("consumer group {} expired with {} unacknowledged message(s) (kept in retention for a REPLAY)",
                 group.name(), group.outstanding());
      scratch_.clear();
      group.abandon(scratch_);
      settle(scratch_);
      ++stats_.groups_expired;
      it = groups_.erase(it);
      expired = true;
    } else {
      ++it;
    }
  }
  if (expired) saveGroups();
}

void PipelinePublisher::service(Clock::time_point now) {
  while (true) {
    frames_.clear();
    zmq::recv_result_t got;
    try {
      got = zmq::recv_multipart(router_, std::back_inserter(frames_), zmq::recv_flags::dontwait);
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) log_->warn("pipeline receive failed: {}", e.what());
      break;
    }
    if (!got) break;
    if (frames_.size() != 2) {
      ++stats_.bad_commands;
      continue;
    }
    handleCommand(frames_[0].to_string(), frames_[1], now);
  }
  checkTimeouts(now);
  if (!settled_.empty()) {
    // Swap first: the handler may publish, which may settle more at once.
    std::vector<std::uint64_t> done;
    done.swap(settled_);
    stats_.settled += done.size();
    if (settled_handler_) {
      for (std::uint64_t seq : done) settled_handler_(seq);
    }
  }
}

PipelineStats PipelinePublisher::stats() const {
  PipelineStats out = stats_;
  out.sent = counters_.sent;
  out.redelivered = counters_.redelivered;
  out.replayed = counters_.replayed;
  out.groups = groups_.size();
  for (const auto& [name, group] : groups_) {
    out.replicas += group.replicaCount();
    out.max_group_queue = std::max(out.max_group_queue, group.queued());
    out.unacknowledged += group.outstanding();
  }
  out.retained = retention_.size();
  return out;
}

}  // namespace emwin::bus
