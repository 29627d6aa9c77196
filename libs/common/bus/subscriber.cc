// Subscriber: tap (SUB, gap counting) and pipeline (DEALER, credit, acks,
// dedupe, state file + REPLAY). Protocol: see bus.h and control.proto.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <unordered_map>

#include <zmq_addon.hpp>

#include "bus/bus.h"
#include "bus/detail.h"
#include "emwin/bus/v1/control.pb.h"
#include "runtime/log.h"

namespace emwin::bus {
namespace {

using Clock = std::chrono::steady_clock;
using emwin::bus::v1::ConsumerCommand;

constexpr std::string_view kStateMagic = "emwin-bus-consumer-state-v1";
constexpr auto kStateWriteInterval = std::chrono::milliseconds(200);
constexpr std::size_t kMaxDedupeEntries = 1'000'000;

std::string randomReplicaName() {
  std::random_device rd;
  char host[64] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::ostringstream out;
  out << (host[0] != '\0' ? host : "replica") << '-' << getpid() << '-' << std::hex << rd();
  return out.str();
}

struct ProducerTrack {
  std::uint64_t epoch = 0;
  std::uint64_t last = 0;
};

}  // namespace

struct Subscriber::Impl {
  SubscriberOptions options;
  std::shared_ptr<spdlog::logger> log = runtime::logger("bus");
  zmq::socket_t socket;
  SubscriberStats stats;
  bool closed = false;
  // Tap: gap tracking per producer (subscribed to everything: by Header.sequence)
  // or per producer and topic family (filtered at the socket: by topic_sequence).
  std::unordered_map<std::string, ProducerTrack> tracks;
  bool by_family = false;
  std::string track_key;
  // Pipeline.
  Clock::time_point next_heartbeat;
  std::vector<std::uint64_t> pending_acks;
  std::size_t ack_batch = 1;
  std::uint64_t epoch = 0;          // producer epoch we track
  std::uint64_t floor = 0;          // everything <= floor is done (group-wide)
  std::set<std::uint64_t> seen;     // received sequences > floor
  std::set<std::uint64_t> acked;    // handled (acked) sequences > floor
  bool state_dirty = false;
  Clock::time_point next_state_write;
  std::vector<zmq::message_t> frames;  // reused by receive()

  void sendCommand(const ConsumerCommand& cmd) {
    const std::string bytes = cmd.SerializeAsString();
    try {
      (void)socket.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    } catch (const zmq::error_t& e) {
      log->warn("pipeline command send failed: {}", e.what());
    }
  }

  void sendHello() {
    ConsumerCommand cmd;
    cmd.set_kind(ConsumerCommand::KIND_HELLO);
    cmd.set_group(options.group);
    cmd.set_replica(options.replica);
    cmd.set_credit(options.credit_window);
    for (const auto& p : options.topic_prefixes) cmd.add_topic_prefixes(p);
    for (auto seq : pending_acks) cmd.add_ack_sequences(seq);
    stats.acks_sent += pending_acks.size();
    pending_acks.clear();
    sendCommand(cmd);
    next_heartbeat = Clock::now() + options.heartbeat;
  }

  void flushAcks() {
    if (pending_acks.empty()) return;
    ConsumerCommand cmd;
    cmd.set_kind(ConsumerCommand::KIND_CREDIT);
    for (auto seq : pending_acks) cmd.add_ack_sequences(seq);
    stats.acks_sent += pending_acks.size();
    pending_acks.clear();
    sendCommand(cmd);
  }

  void queueAck(std::uint64_t seq) {
    pending_acks.push_back(seq);
    if (pending_acks.size() >= ack_batch) flushAcks();
  }

  void maintain(Clock::time_point now) {
    if (options.mode != Mode::kPipeline || closed) return;
    if (now >= next_heartbeat) sendHello();
    if (state_dirty && now >= next_state_write) writeState();
  }

  void advanceFloor(std::uint64_t to) {
    if (to <= floor) return;
    floor = to;
    seen.erase(seen.begin(), seen.upper_bound(floor));
    acked.erase(acked.begin(), acked.upper_bound(floor));
  }

  void resetEpoch(std::uint64_t new_epoch) {
    epoch = new_epoch;
    floor = 0;
    seen.clear();
    acked.clear();
  }

  // State file: "<magic> <epoch> <floor> <n> <acked...>\n", written atomically.
  void writeState() {
    state_dirty = false;
    next_state_write = Clock::now() + kStateWriteInterval;
    if (options.state_file.empty() || epoch == 0) return;
    const std::string tmp = options.state_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << kStateMagic << ' ' << epoch << ' ' << floor << ' ' << acked.size();
      for (auto seq : acked) out << ' ' << seq;
      out << '\n';
      out.flush();
      if (!out) {
        log->warn("cannot write state file {}", tmp);
        return;
      }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, options.state_file, ec);
    if (ec) log->warn("cannot replace state file {}: {}", options.state_file, ec.message());
  }

  bool loadState() {
    std::ifstream in(options.state_file);
    if (!in) return false;
    std::string magic;
    std::uint64_t file_epoch = 0;
    std::uint64_t file_floor = 0;
    std::size_t n = 0;
    if (!(in >> magic >> file_epoch >> file_floor >> n) || magic != kStateMagic || file_epoch == 0) {
      log->warn("ignoring unreadable state file {}", options.state_file);
      return false;
    }
    resetEpoch(file_epoch);
    floor = file_floor;
    for (std::size_t i = 0; i < n && i < kMaxDedupeEntries; ++i) {
      std::uint64_t seq = 0;
      if (!(in >> seq)) break;
      if (seq > floor) {
        acked.insert(seq);
        seen.insert(seq);
      }
    }
    return true;
  }

  std::optional<Received> processTap(std::vector<zmq::message_t>& frames) {
    if (frames.size() < 2) {
      ++stats.bad_payloads;
      return std::nullopt;
    }
    Received r;
    r.topic = frames[0].to_string();
    r.payload = frames[1].to_string();
    if (!detail::parseHeader(r.payload, r.header)) {
      ++stats.bad_payloads;
      log->debug("bad payload on topic {}", r.topic);
      return std::nullopt;
    }
    std::uint64_t seq = r.header.sequence();
    if (by_family) {
      seq = r.header.topic_sequence();
      track_key.assign(r.header.producer_id());
      track_key.push_back('\x1f');
      track_key.append(topicFamily(r.topic));
    }
    if (seq == 0) {  // a producer that does not number its families: no gap tracking
      if (!topicMatches(r.topic, options.topic_prefixes)) {
        ++stats.filtered_out;
        return std::nullopt;
      }
      ++stats.received;
      return r;
    }
    auto& track = tracks[by_family ? track_key : r.header.producer_id()];
    if (track.epoch == 0) {
      track.epoch = r.header.epoch();
    } else if (r.header.epoch() != track.epoch) {
      if (r.header.epoch() < track.epoch) {
        ++stats.duplicates;  // a stale message from an older epoch
        return std::nullopt;
      }
      ++stats.epochs_seen;
      track.epoch = r.header.epoch();
      track.last = 0;
      if (seq > 1) {
        ++stats.gaps;
        stats.missed += seq - 1;
      }
    } else if (seq <= track.last) {
      ++stats.duplicates;
      return std::nullopt;
    } else if (seq > track.last + 1 && track.last != 0) {
      ++stats.gaps;
      stats.missed += seq - track.last - 1;
    }
    track.last = seq;
    if (!topicMatches(r.topic, options.topic_prefixes)) {
      ++stats.filtered_out;
      return std::nullopt;
    }
    ++stats.received;
    return r;
  }

  std::optional<Received> processPipeline(std::vector<zmq::message_t>& frames) {
    emwin::bus::v1::Delivery delivery;
    if (frames.size() != 3 || !delivery.ParseFromArray(frames[2].data(), static_cast<int>(frames[2].size()))) {
      ++stats.bad_payloads;  // not our protocol: cannot even ack it
      return std::nullopt;
    }
    const std::uint64_t seq = delivery.sequence();
    Received r;
    r.topic = frames[0].to_string();
    r.replayed = delivery.replayed();
    r.delivery_sequence = seq;
    if (r.replayed) ++stats.replayed;
    if (!detail::parseHeader(frames[1].to_string_view(), r.header)) {
      ++stats.bad_payloads;
      queueAck(seq);
      return std::nullopt;
    }
    if (r.header.epoch() != epoch) {
      if (epoch != 0) ++stats.epochs_seen;
      resetEpoch(r.header.epoch());
      state_dirty = true;
    }
    advanceFloor(delivery.group_acked_through());
    if (seq <= floor || seen.count(seq) != 0) {
      ++stats.duplicates;
      queueAck(seq);
      return std::nullopt;
    }
    seen.insert(seq);
    if (seen.size() > kMaxDedupeEntries) advanceFloor(*seen.begin());
    if (!topicMatches(r.topic, options.topic_prefixes)) {
      ++stats.filtered_out;
      queueAck(seq);
      return std::nullopt;
    }
    r.payload = frames[1].to_string();
    ++stats.received;
    return r;
  }
};

Subscriber::Subscriber(zmq::context_t& context, SubscriberOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.options = std::move(options);
  auto& o = s.options;
  if (o.mode == Mode::kTap) {
    s.socket = zmq::socket_t(context, zmq::socket_type::sub);
    s.socket.set(zmq::sockopt::rcvhwm, o.receive_hwm);
    s.socket.set(zmq::sockopt::linger, 0);
    // Filter at the producer by whole topic families, so a subscriber to
    // "stats." is not sent every segment; finer prefixes are applied here.
    std::set<std::string> subscriptions;
    for (const auto& prefix : o.topic_prefixes) subscriptions.emplace(topicFamily(prefix));
    if (subscriptions.empty() || subscriptions.count("") != 0) subscriptions = {""};
    s.by_family = subscriptions.count("") == 0;
    for (const auto& sub : subscriptions) s.socket.set(zmq::sockopt::subscribe, sub);
    for (const auto& endpoint : o.endpoints) s.socket.connect(endpoint);
    return;
  }
  if (o.endpoints.size() != 1) throw std::invalid_argument("pipeline subscriber needs exactly one endpoint");
  if (o.group.empty()) throw std::invalid_argument("pipeline subscriber needs a group");
  if (o.replica.empty()) o.replica = randomReplicaName();
  if (o.credit_window == 0) o.credit_window = 1;
  s.ack_batch = std::max<std::size_t>(1, o.credit_window / 8);
  s.socket = zmq::socket_t(context, zmq::socket_type::dealer);
  s.socket.set(zmq::sockopt::rcvhwm, 0);  // bounded by the credit window
  s.socket.set(zmq::sockopt::linger, 200);
  s.socket.connect(o.endpoints.front());
  s.sendHello();
  if (!o.state_file.empty() && s.loadState()) {
    requestReplay(s.epoch, s.floor);
  }
}

Subscriber::~Subscriber() {
  try {
    close();
  } catch (...) {
    // never throw from a destructor
  }
}

std::optional<Received> Subscriber::receive(std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  const auto deadline = Clock::now() + timeout;
  std::vector<zmq::message_t>& frames = s.frames;
  while (true) {
    auto now = Clock::now();
    s.maintain(now);
    frames.clear();
    zmq::recv_result_t got;
    try {
      got = zmq::recv_multipart(s.socket, std::back_inserter(frames), zmq::recv_flags::dontwait);
    } catch (const zmq::error_t& e) {
      s.log->warn("receive failed: {}", e.what());
      return std::nullopt;
    }
    if (got) {
      auto r = s.options.mode == Mode::kTap ? s.processTap(frames) : s.processPipeline(frames);
      if (r) return r;
      continue;
    }
    if (s.options.mode == Mode::kPipeline) s.flushAcks();  // idle: give credit back now
    now = Clock::now();
    if (now >= deadline) return std::nullopt;
    auto wait = deadline - now;
    if (s.options.mode == Mode::kPipeline) wait = std::min<Clock::duration>(wait, s.next_heartbeat - now);
    auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(wait);
    if (wait_ms.count() < 0) wait_ms = std::chrono::milliseconds(0);
    detail::pollIn(s.socket.handle(), wait_ms);
  }
}

void Subscriber::ack(const Received& message) { ack(message.ackToken()); }

void Subscriber::ack(const AckToken& token) {
  Impl& s = *impl_;
  if (s.options.mode != Mode::kPipeline || token.delivery_sequence == 0) return;
  const std::uint64_t seq = token.delivery_sequence;
  if (token.epoch == s.epoch && seq > s.floor) {
    s.acked.insert(seq);
    s.state_dirty = true;
  }
  s.queueAck(seq);
}

void Subscriber::requestReplay(std::uint64_t epoch, std::uint64_t after_sequence) {
  Impl& s = *impl_;
  if (s.options.mode != Mode::kPipeline) return;
  ConsumerCommand cmd;
  cmd.set_kind(ConsumerCommand::KIND_REPLAY);
  cmd.set_group(s.options.group);
  cmd.set_replica(s.options.replica);
  cmd.set_credit(s.options.credit_window);
  for (const auto& p : s.options.topic_prefixes) cmd.add_topic_prefixes(p);
  cmd.set_epoch(epoch);
  cmd.set_replay_after_sequence(after_sequence);
  s.sendCommand(cmd);
  ++s.stats.replay_requests;
}

void Subscriber::keepAlive() {
  Impl& s = *impl_;
  if (s.options.mode != Mode::kPipeline) return;
  s.maintain(Clock::now());
  s.flushAcks();
}

void Subscriber::close() {
  Impl& s = *impl_;
  if (s.closed) return;
  s.closed = true;
  if (s.options.mode != Mode::kPipeline) return;
  s.flushAcks();
  ConsumerCommand bye;
  bye.set_kind(ConsumerCommand::KIND_BYE);
  bye.set_group(s.options.group);
  bye.set_replica(s.options.replica);
  s.sendCommand(bye);
  s.writeState();
}

SubscriberStats Subscriber::stats() const { return impl_->stats; }

zmq::socket_ref Subscriber::socket() { return impl_->socket; }

}  // namespace emwin::bus
