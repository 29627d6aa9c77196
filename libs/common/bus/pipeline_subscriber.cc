#include "bus/pipeline_subscriber.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include <zmq_addon.hpp>

#include "bus/detail/util.h"
#include "bus/topics.h"
#include "emwin/bus/v1/control.pb.h"
#include "runtime/log.h"

namespace emwin::bus {
namespace {

using emwin::bus::v1::ConsumerCommand;
constexpr std::string_view kStateMagic = "emwin-bus-consumer-state-v1";
constexpr auto kStateWriteInterval = std::chrono::milliseconds(200);
constexpr std::size_t kMaxDedupeEntries = 1'000'000;
constexpr int kMaxOlderInARow = 64;  // deliveries of an older epoch dropped before it is adopted

std::string randomReplicaName() {
  std::random_device rd;
  char host[64] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::ostringstream out;
  out << (host[0] != '\0' ? host : "replica") << '-' << getpid() << '-' << std::hex << rd();
  return out.str();
}

}  // namespace

PipelineSubscriber::PipelineSubscriber(zmq::context_t& context, PipelineSubscriberOptions options)
    : options_(std::move(options)), socket_(context, zmq::socket_type::dealer) {
  if (options_.endpoint.empty()) throw std::invalid_argument("pipeline subscriber needs an endpoint");
  if (options_.group.empty()) throw std::invalid_argument("pipeline subscriber needs a group");
  if (options_.replica.empty()) options_.replica = randomReplicaName();
  if (options_.credit_window == 0) options_.credit_window = 1;
  ack_batch_ = std::max<std::size_t>(1, options_.credit_window / 8);
  socket_.set(zmq::sockopt::rcvhwm, 0);  // bounded by the credit window
  socket_.set(zmq::sockopt::linger, 200);
  if (options_.security != nullptr) secureClient(socket_, *options_.security);
  socket_.connect(options_.endpoint);
  sendHello();
  if (!options_.state_file.empty() && loadState()) {
    requestReplay(epoch_, floor_);
    // A producer that restarted since answers this with everything it retained.
    replay_covers_new_epoch_ = true;
  }
}

PipelineSubscriber::~PipelineSubscriber() {
  try {
    close();
  } catch (...) {
    // never throw from a destructor
  }
}

void PipelineSubscriber::sendCommand(const std::string& bytes) {
  try {
    (void)socket_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    runtime::logger("bus")->warn("pipeline command send failed: {}", e.what());
  }
}

void PipelineSubscriber::sendHello() {
  ConsumerCommand cmd;
  cmd.set_kind(ConsumerCommand::KIND_HELLO);
  cmd.set_group(options_.group);
  cmd.set_replica(options_.replica);
  cmd.set_credit(options_.credit_window);
  for (const auto& p : options_.topic_prefixes) cmd.add_topic_prefixes(p);
  for (auto seq : pending_acks_) cmd.add_ack_sequences(seq);
  stats_.acks_sent += pending_acks_.size();
  pending_acks_.clear();
  sendCommand(cmd.SerializeAsString());
  next_heartbeat_ = Clock::now() + options_.heartbeat;
}

void PipelineSubscriber::flushAcks() {
  if (pending_acks_.empty() || closed_) return;
  ConsumerCommand cmd;
  cmd.set_kind(ConsumerCommand::KIND_CREDIT);
  for (auto seq : pending_acks_) cmd.add_ack_sequences(seq);
  stats_.acks_sent += pending_acks_.size();
  pending_acks_.clear();
  sendCommand(cmd.SerializeAsString());
}

void PipelineSubscriber::queueAck(std::uint64_t seq) {
  pending_acks_.push_back(seq);
  if (pending_acks_.size() >= ack_batch_) flushAcks();
}

void PipelineSubscriber::maintain(Clock::time_point now) {
  if (closed_) return;
  if (now >= next_heartbeat_) sendHello();
  flushAcks();
  if (state_dirty_ && now >= next_state_write_) writeState();
}

void PipelineSubscriber::advanceFloor(std::uint64_t to) {
  if (to <= floor_) return;
  floor_ = to;
  seen_.erase(seen_.begin(), seen_.upper_bound(floor_));
  acked_.erase(acked_.begin(), acked_.upper_bound(floor_));
}

void PipelineSubscriber::resetEpoch(std::uint64_t epoch) {
  epoch_ = epoch;
  floor_ = 0;
  seen_.clear();
  acked_.clear();
  replayed_seen_.clear();
  replay_floor_ = 0;
  replay_known_.clear();
}

// State file: "<magic> <epoch> <floor> <n> <acked...>\n", written atomically.
void PipelineSubscriber::writeState() {
  state_dirty_ = false;
  next_state_write_ = Clock::now() + kStateWriteInterval;
  if (options_.state_file.empty() || epoch_ == 0) return;
  const std::string tmp = options_.state_file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << kStateMagic << ' ' << epoch_ << ' ' << floor_ << ' ' << acked_.size();
    for (auto seq : acked_) out << ' ' << seq;
    out << '\n';
    out.flush();
    if (!out) {
      runtime::logger("bus")->warn("cannot write state file {}", tmp);
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, options_.state_file, ec);
  if (ec) runtime::logger("bus")->warn("cannot replace state file {}: {}", options_.state_file, ec.message());
}

bool PipelineSubscriber::loadState() {
  std::ifstream in(options_.state_file);
  if (!in) return false;
  std::string magic;
  std::uint64_t file_epoch = 0;
  std::uint64_t file_floor = 0;
  std::size_t n = 0;
  if (!(in >> magic >> file_epoch >> file_floor >> n) || magic != kStateMagic || file_epoch == 0) {
    runtime::logger("bus")->warn("ignoring unreadable state file {}", options_.state_file);
    return false;
  }
  resetEpoch(file_epoch);
  floor_ = file_floor;
  replay_floor_ = file_floor;
  for (std::size_t i = 0; i < n && i < kMaxDedupeEntries; ++i) {
    std::uint64_t seq = 0;
    if (!(in >> seq)) break;
    if (seq > floor_) {
      acked_.insert(seq);
      seen_.insert(seq);
      replay_known_.insert(seq);
    }
  }
  return true;
}

std::optional<Received> PipelineSubscriber::process() {
  emwin::bus::v1::Delivery delivery;
  if (frames_.size() != 3 || !delivery.ParseFromArray(frames_[2].data(), static_cast<int>(frames_[2].size()))) {
    ++stats_.bad_payloads;  // not our protocol: cannot even ack it
    return std::nullopt;
  }
  const std::uint64_t seq = delivery.sequence();
  Received r;
  r.replayed = delivery.replayed();
  r.delivery_sequence = seq;
  if (r.replayed) ++stats_.replayed;
  if (!detail::parseHeader(frames_[1].to_string_view(), r.header)) {
    ++stats_.bad_payloads;
    queueAck(seq);
    return std::nullopt;
  }
  if (epoch_ != 0 && r.header.epoch() < epoch_ && ++older_in_a_row_ <= kMaxOlderInARow) {
    // A late delivery of a producer incarnation we already saw replaced: it
    // cannot be acknowledged (its sequences now name other messages). (A long
    // run of them means the producer's clock went back: then it is adopted.)
    ++stats_.stale_deliveries;
    return std::nullopt;
  }
  older_in_a_row_ = 0;
  if (r.header.epoch() != epoch_) {
    const bool restarted = epoch_ != 0 && r.header.epoch() > epoch_;
    if (epoch_ != 0) ++stats_.epochs_seen;
    resetEpoch(r.header.epoch());
    state_dirty_ = true;
    if (restarted && !replay_covers_new_epoch_) {
      // The producer restarted: what it published before our HELLO reached it
      // is retained there; ask for the new epoch from its start.
      runtime::logger("bus")->info("producer {} restarted (epoch {}); asking for its messages since then",
                                   r.header.producer_id(), epoch_);
      requestReplay(epoch_, 0);
    }
  }
  replay_covers_new_epoch_ = false;
  if (r.replayed) {
    // Replayed messages were never routed to our (current) group: the group
    // floor of live deliveries says nothing about them. They are duplicates
    // when this replica handled them before its restart (its state file) or
    // already received them.
    const bool handled_before = seq <= replay_floor_ || replay_known_.count(seq) != 0 || seen_.count(seq) != 0;
    if (handled_before || !replayed_seen_.insert(seq).second) {
      ++stats_.duplicates;
      queueAck(seq);
      return std::nullopt;
    }
    if (replayed_seen_.size() > kMaxDedupeEntries) replayed_seen_.erase(replayed_seen_.begin());
  } else {
    advanceFloor(delivery.group_acked_through());
    if (seq <= floor_ || seen_.count(seq) != 0) {
      ++stats_.duplicates;
      queueAck(seq);
      return std::nullopt;
    }
    seen_.insert(seq);
    if (seen_.size() > kMaxDedupeEntries) advanceFloor(*seen_.begin());
  }
  r.topic = frames_[0].to_string();
  if (!topicMatches(r.topic, options_.topic_prefixes)) {
    ++stats_.filtered_out;
    queueAck(seq);
    return std::nullopt;
  }
  r.payload = frames_[1].to_string();
  ++stats_.received;
  return r;
}

std::optional<Received> PipelineSubscriber::tryReceive() {
  while (!closed_) {
    frames_.clear();
    zmq::recv_result_t got;
    try {
      got = zmq::recv_multipart(socket_, std::back_inserter(frames_), zmq::recv_flags::dontwait);
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) runtime::logger("bus")->warn("pipeline receive failed: {}", e.what());
      return std::nullopt;
    }
    if (!got) return std::nullopt;
    if (auto r = process()) return r;
  }
  return std::nullopt;
}

std::optional<Received> PipelineSubscriber::receive(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    auto now = Clock::now();
    if (now >= next_heartbeat_) sendHello();
    if (auto r = tryReceive()) return r;
    flushAcks();  // idle: give credit back now
    if (state_dirty_ && now >= next_state_write_) writeState();
    now = Clock::now();
    if (now >= deadline || closed_) return std::nullopt;
    auto wait = std::min<Clock::duration>(deadline - now, next_heartbeat_ - now);
    auto wait_ms = std::max(std::chrono::ceil<std::chrono::milliseconds>(wait), std::chrono::milliseconds(0));
    detail::pollIn(socket_.handle(), wait_ms);
  }
}

void PipelineSubscriber::ack(const AckToken& token) {
  if (token.delivery_sequence == 0 || closed_) return;
  if (token.epoch != epoch_) {
    // The producer restarted since: its sequences now name other messages.
    ++stats_.stale_acks;
    return;
  }
  const std::uint64_t seq = token.delivery_sequence;
  if (seq > floor_) {
    acked_.insert(seq);
    state_dirty_ = true;
  }
  queueAck(seq);
}

void PipelineSubscriber::requestReplay(std::uint64_t epoch, std::uint64_t after_sequence) {
  ConsumerCommand cmd;
  cmd.set_kind(ConsumerCommand::KIND_REPLAY);
  cmd.set_group(options_.group);
  cmd.set_replica(options_.replica);
  cmd.set_credit(options_.credit_window);
  for (const auto& p : options_.topic_prefixes) cmd.add_topic_prefixes(p);
  cmd.set_epoch(epoch);
  cmd.set_replay_after_sequence(after_sequence);
  sendCommand(cmd.SerializeAsString());
  ++stats_.replay_requests;
}

void PipelineSubscriber::close() {
  if (closed_) return;
  flushAcks();
  closed_ = true;
  ConsumerCommand bye;
  bye.set_kind(ConsumerCommand::KIND_BYE);
  bye.set_group(options_.group);
  bye.set_replica(options_.replica);
  bye.set_leave_group(options_.ephemeral);
  sendCommand(bye.SerializeAsString());
  writeState();
}

}  // namespace emwin::bus
