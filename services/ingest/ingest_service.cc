#include "ingest_service.h"

#include <algorithm>

#include "bus/topics.h"
#include "emwin/bus/v1/segment.pb.h"
#include "emwin/bus/v1/server_list.pb.h"
#include "emwin/bus/v1/stats.pb.h"
#include "qbt/encoder.h"
#include "server_store.h"

namespace emwin::ingest {
namespace {

using Clock = std::chrono::steady_clock;
using asio::ip::tcp;

constexpr std::size_t kReadBufferBytes = 16 * 1024;
constexpr auto kPollPeriod = std::chrono::milliseconds(5);
constexpr auto kHealthyConnection = std::chrono::seconds(10);
constexpr std::uint64_t kBadLogLimit = 20;  // per connection at warn, then debug

std::int64_t nowUnixUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::uint64_t usSince(Clock::time_point t) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t).count());
}

std::string hostPort(const qbt::ServerAddress& a) { return a.host + ":" + std::to_string(a.port); }

emwin::bus::v1::ServiceState toProto(int state) {
  switch (state) {
    case 0: return emwin::bus::v1::SERVICE_STATE_STARTING;
    case 1: return emwin::bus::v1::SERVICE_STATE_CONNECTING;
    case 2: return emwin::bus::v1::SERVICE_STATE_RUNNING;
    default: return emwin::bus::v1::SERVICE_STATE_STOPPING;
  }
}

}  // namespace

IngestService::IngestService(asio::io_context& io, IngestOptions options, bus::Publisher& publisher)
    : io_(io),
      options_(std::move(options)),
      publisher_(publisher),
      log_(runtime::logger("ingest")),
      started_at_(Clock::now()),
      resolver_(io),
      connect_timer_(io),
      reconnect_timer_(io),
      logon_timer_(io),
      watchdog_timer_(io),
      poll_timer_(io),
      stats_timer_(io),
      replay_timer_(io),
      linger_timer_(io),
      backoff_(std::chrono::milliseconds(options_.backoff_min_ms), std::chrono::milliseconds(options_.backoff_max_ms),
               options_.seed),
      rbuf_(kReadBufferBytes) {}

IngestService::~IngestService() = default;

void IngestService::start() {
  if (options_.replay_file.empty()) loadServers();
  pollTick();
  statsTick();
  if (options_.wait_consumers > 0) {
    log_->info("waiting for {} pipeline consumer(s) on {}", options_.wait_consumers, publisher_.pipelineEndpoint());
  } else {
    beginInput();
  }
}

void IngestService::loadServers() {
  const std::string path = options_.state_dir + "/serverlist.json";
  if (!options_.servers.empty()) {
    active_ = options_.servers;
    log_->info("using {} server(s) from the command line", active_.size());
    return;
  }
  qbt::ServerList persisted;
  std::string error;
  switch (loadServerList(path, persisted, &error)) {
    case LoadResult::kLoaded:
      active_ = failoverOrder(persisted);
      log_->info("using the persisted server list {} ({} servers)", path, active_.size());
      return;
    case LoadResult::kCorrupt:
      ++counters_.state_file_corrupt;
      log_->warn("state file {} is corrupt ({}); using the default server list", path, error);
      break;
    case LoadResult::kMissing:
      log_->info("no persisted server list at {}; using the default server list", path);
      break;
  }
  active_ = defaultServers();
}

void IngestService::beginInput() {
  if (input_started_ || state_ == State::kStopping) return;
  input_started_ = true;
  if (!options_.replay_file.empty()) {
    replay_in_.open(options_.replay_file, std::ios::binary);
    if (!replay_in_) {
      log_->error("cannot open replay file {}", options_.replay_file);
      finish(1);
      return;
    }
    source_ = "replay:" + options_.replay_file;
    decoder_ = std::make_unique<qbt::Decoder>(*this);
    state_ = State::kRunning;
    log_->info("replaying {} (rate {})", options_.replay_file,
               options_.replay_rate > 0 ? std::to_string(options_.replay_rate) + " B/s" : std::string("max"));
    replayStep();
    return;
  }
  connectNext();
}

void IngestService::pollTick() {
  publisher_.poll(std::chrono::milliseconds(0));
  if (!input_started_ && options_.wait_consumers > 0 &&
      publisher_.stats().replicas >= static_cast<std::size_t>(options_.wait_consumers)) {
    log_->info("{} pipeline consumer(s) present; starting", publisher_.stats().replicas);
    beginInput();
  }
  if (paused_ && !publisher_.wouldBlock()) {
    paused_ = false;
    counters_.backpressure_paused_us += usSince(paused_since_);
    last_alive_ = Clock::now();  // our own pause is not silence
    if (!options_.replay_file.empty()) {
      asio::post(io_, [this] { replayStep(); });
    } else {
      startRead();
    }
  }
  poll_timer_.expires_after(kPollPeriod);
  poll_timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec) pollTick();
  });
}

void IngestService::statsTick() {
  stats_timer_.expires_after(std::chrono::milliseconds(options_.stats_interval_ms));
  stats_timer_.async_wait([this](const asio::error_code& ec) {
    if (ec || state_ == State::kStopping) return;
    publishStats();
    statsTick();
  });
}

void IngestService::publishStats() {
  emwin::bus::v1::ServiceStats s;
  s.set_service("ingest");
  s.set_instance(options_.instance);
  s.set_state(toProto(static_cast<int>(state_)));
  s.set_uptime_s(std::chrono::duration<double>(Clock::now() - started_at_).count());
  auto& c = *s.mutable_counters();
  c["bytes_in"] = counters_.bytes_in;
  c["frames_v1"] = counters_.frames_v1;
  c["frames_v2"] = counters_.frames_v2;
  c["fill_frames"] = counters_.fill_frames;
  std::uint64_t bad_total = 0;
  for (std::size_t i = 0; i < qbt::kBadReasonCount; ++i) {
    c["bad_frames." + std::string(qbt::reasonName(static_cast<qbt::BadReason>(i)))] = counters_.bad[i];
    bad_total += counters_.bad[i];
  }
  c["bad_frames_total"] = bad_total;
  c["segments_published"] = counters_.segments_published;
  c["server_lists"] = counters_.server_lists;
  c["connect_attempts"] = counters_.connect_attempts;
  c["connects"] = counters_.connects;
  c["reconnects"] = counters_.reconnects;
  c["logons_sent"] = counters_.logons_sent;
  c["watchdog_fired"] = counters_.watchdog_fired;
  c["bad_window_fired"] = counters_.bad_window_fired;
  c["state_file_corrupt"] = counters_.state_file_corrupt;
  c["state_file_saves"] = counters_.state_file_saves;
  c["state_file_save_errors"] = counters_.state_file_save_errors;
  c["backpressure_pauses"] = counters_.backpressure_pauses;
  std::uint64_t paused_us = counters_.backpressure_paused_us + (paused_ ? usSince(paused_since_) : 0);
  c["backpressure_paused_ms"] = paused_us / 1000;
  const auto ps = publisher_.stats();
  c["publisher_blocked_ms"] = ps.blocked_us / 1000;
  c["publisher_blocked_count"] = ps.blocked_count;
  c["published"] = ps.published;
  auto& g = *s.mutable_gauges();
  g["last_frame_age_s"] = have_frame_ ? std::chrono::duration<double>(Clock::now() - last_alive_).count() : -1.0;
  g["paused"] = paused_ ? 1.0 : 0.0;
  g["pipeline_replicas"] = static_cast<double>(ps.replicas);
  g["pipeline_max_group_queue"] = static_cast<double>(ps.max_group_queue);
  (*s.mutable_labels())["current_server"] = source_;
  publisher_.publish(bus::topics::stats("ingest", options_.instance), s, bus::Path::kTapOnly);
}

// ---------------------------------------------------------------- live mode

void IngestService::connectNext() {
  if (state_ == State::kStopping) return;
  if (active_.empty()) active_ = defaultServers();
  index_ = (index_ + 1) % static_cast<int>(active_.size());
  current_ = active_[static_cast<std::size_t>(index_)];
  source_ = hostPort(current_);
  state_ = State::kConnecting;
  ++counters_.connect_attempts;
  const std::uint64_t gen = ++generation_;
  log_->info("connecting to {}", source_);
  socket_ = std::make_unique<tcp::socket>(io_);
  connect_timer_.expires_after(std::chrono::seconds(options_.connect_timeout_s));
  connect_timer_.async_wait([this, gen](const asio::error_code& ec) {
    if (ec || gen != generation_ || state_ != State::kConnecting) return;
    drop("connect timeout");
  });
  resolver_.async_resolve(current_.host, std::to_string(current_.port),
                          [this, gen](const asio::error_code& ec, tcp::resolver::results_type results) {
                            if (gen != generation_ || state_ != State::kConnecting) return;
                            if (ec) {
                              drop("resolve failed: " + ec.message());
                              return;
                            }
                            asio::async_connect(*socket_, results,
                                                [this, gen](const asio::error_code& e, const tcp::endpoint&) {
                                                  if (gen != generation_ || state_ != State::kConnecting) return;
                                                  if (e) {
                                                    drop("connect failed: " + e.message());
                                                    return;
                                                  }
                                                  onConnected();
                                                });
                          });
}

void IngestService::onConnected() {
  connect_timer_.cancel();
  state_ = State::kRunning;
  ++counters_.connects;
  connected_at_ = Clock::now();
  last_alive_ = connected_at_;
  had_good_frame_ = false;
  bad_times_.clear();
  bad_logged_ = 0;
  fail_pending_ = false;
  asio::error_code ec;
  socket_->set_option(tcp::no_delay(true), ec);
  if (options_.rcvbuf > 0) socket_->set_option(asio::socket_base::receive_buffer_size(options_.rcvbuf), ec);
  decoder_ = std::make_unique<qbt::Decoder>(*this);
  log_->info("connected to {}", source_);
  sendLogon();
  scheduleLogon();
  watchdogTick();
  if (!paused_) startRead();
}

void IngestService::sendLogon() {
  auto buf = std::make_shared<std::vector<std::uint8_t>>(qbt::encodeLogon(options_.email, options_.protocol));
  const std::uint64_t gen = generation_;
  ++counters_.logons_sent;
  log_->info("logon sent to {} ({})", source_, options_.protocol == qbt::Version::kV2 ? "V2" : "V1");
  asio::async_write(*socket_, asio::buffer(*buf), [this, gen, buf](const asio::error_code& ec, std::size_t) {
    if (gen != generation_ || state_ != State::kRunning) return;
    if (ec) drop("logon write failed: " + ec.message());
  });
}

void IngestService::scheduleLogon() {
  const std::uint64_t gen = generation_;
  logon_timer_.expires_after(std::chrono::seconds(options_.logon_interval_s));
  logon_timer_.async_wait([this, gen](const asio::error_code& ec) {
    if (ec || gen != generation_ || state_ != State::kRunning) return;
    sendLogon();
    scheduleLogon();
  });
}

void IngestService::watchdogTick() {
  const std::uint64_t gen = generation_;
  const auto period = std::min<std::chrono::milliseconds>(std::chrono::milliseconds(250),
                                                          std::chrono::seconds(options_.watchdog_s) / 4);
  watchdog_timer_.expires_after(period);
  watchdog_timer_.async_wait([this, gen](const asio::error_code& ec) {
    if (ec || gen != generation_ || state_ != State::kRunning) return;
    if (paused_) {
      last_alive_ = Clock::now();  // reading is paused by our own backpressure: not the server's silence
    } else if (Clock::now() - last_alive_ > std::chrono::seconds(options_.watchdog_s)) {
      ++counters_.watchdog_fired;
      log_->warn("watchdog: no good frame from {} for {} s", source_, options_.watchdog_s);
      drop("watchdog");
      return;
    }
    watchdogTick();
  });
}

void IngestService::startRead() {
  if (reading_ || paused_ || state_ != State::kRunning || !socket_) return;
  reading_ = true;
  const std::uint64_t gen = generation_;
  socket_->async_read_some(asio::buffer(rbuf_), [this, gen](const asio::error_code& ec, std::size_t n) {
    reading_ = false;
    if (gen != generation_ || state_ != State::kRunning) return;
    if (ec) {
      drop(ec == asio::error::eof ? std::string("closed by server") : "read failed: " + ec.message());
      return;
    }
    counters_.bytes_in += n;
    decoder_->feed(std::span<const std::uint8_t>(rbuf_.data(), n));
    afterFeed();
  });
}

void IngestService::afterFeed() {
  if (state_ != State::kRunning) return;
  if (fail_pending_) {
    ++counters_.bad_window_fired;
    log_->warn("too many bad frames from {} ({} within {} s)", source_, bad_times_.size(), options_.bad_window_s);
    drop("too many bad frames");
    return;
  }
  if (publisher_.wouldBlock()) {
    paused_ = true;
    paused_since_ = Clock::now();
    ++counters_.backpressure_pauses;
    log_->debug("bus backpressure: pausing input");
    return;  // pollTick() resumes
  }
  startRead();
}

void IngestService::drop(const std::string& reason) {
  if (state_ == State::kStopping) return;
  const bool was_running = state_ == State::kRunning;
  ++generation_;
  connect_timer_.cancel();
  logon_timer_.cancel();
  watchdog_timer_.cancel();
  asio::error_code ec;
  if (socket_) {
    socket_->shutdown(tcp::socket::shutdown_both, ec);
    socket_->close(ec);
  }
  if (decoder_) {
    decoder_->finish();  // a frame in flight is counted as truncated
    decoder_.reset();
  }
  reading_ = false;
  if (paused_) {
    paused_ = false;
    counters_.backpressure_paused_us += usSince(paused_since_);
  }
  if (was_running && had_good_frame_ && Clock::now() - connected_at_ >= kHealthyConnection) backoff_.reset();
  const auto delay = backoff_.next();
  ++counters_.reconnects;
  state_ = State::kConnecting;
  log_->info("disconnected from {} ({}); next server in {} ms", source_, reason, delay.count());
  reconnect_timer_.expires_after(delay);
  reconnect_timer_.async_wait([this](const asio::error_code& e) {
    if (!e) connectNext();
  });
}

// ------------------------------------------------------------ decoder output

void IngestService::onSegment(const qbt::Segment& segment) {
  (segment.version == qbt::Version::kV2 ? counters_.frames_v2 : counters_.frames_v1)++;
  last_alive_ = Clock::now();
  have_frame_ = true;
  had_good_frame_ = true;
  if (segment.is_fill) {
    ++counters_.fill_frames;
    return;
  }
  emwin::bus::v1::Segment msg;
  msg.set_filename(segment.filename);
  msg.set_block_number(segment.block_number);
  msg.set_total_blocks(segment.total_blocks);
  msg.set_fd_unix_s(segment.fd_unix_s);
  msg.set_fd_text(segment.fd_text);
  msg.set_version(segment.version == qbt::Version::kV2 ? emwin::bus::v1::PROTOCOL_VERSION_V2
                                                       : emwin::bus::v1::PROTOCOL_VERSION_V1);
  msg.set_declared_checksum(segment.declared_checksum);
  msg.set_data(segment.data.data(), segment.data.size());
  msg.set_received_unix_us(nowUnixUs());
  msg.set_source(source_);
  msg.set_stream_offset(segment.stream_offset);
  publisher_.publish(bus::topics::segment(segment.filename), msg, bus::Path::kAll);
  ++counters_.segments_published;
}

void IngestService::onServerList(const qbt::ServerList& list) {
  ++counters_.server_lists;
  last_alive_ = Clock::now();
  auto order = failoverOrder(list);
  log_->info("server list from {}: {} regular, {} satellite, {} skipped", source_, list.regular.size(),
             list.satellite.size(), list.skipped_entries);
  emwin::bus::v1::ServerList msg;
  for (const auto& a : list.regular) {
    auto* e = msg.add_regular();
    e->set_host(a.host);
    e->set_port(a.port);
  }
  for (const auto& a : list.satellite) {
    auto* e = msg.add_satellite();
    e->set_host(a.host);
    e->set_port(a.port);
  }
  msg.set_source(source_);
  msg.set_skipped_entries(list.skipped_entries);
  publisher_.publish(bus::topics::serverList(options_.instance), msg, bus::Path::kTapOnly);
  if (order.empty() || !options_.replay_file.empty()) return;  // nothing usable / not from a live server
  if (order != active_) {
    active_ = order;
    auto it = std::find(active_.begin(), active_.end(), current_);
    index_ = it == active_.end() ? -1 : static_cast<int>(it - active_.begin());
  }
  std::string error;
  const std::string path = options_.state_dir + "/serverlist.json";
  if (saveServerList(path, list, &error)) {
    ++counters_.state_file_saves;
  } else {
    ++counters_.state_file_save_errors;
    log_->warn("cannot persist the server list: {}", error);
  }
}

void IngestService::onBadInput(const qbt::BadInput& bad) {
  const auto i = static_cast<std::size_t>(bad.reason);
  if (i < qbt::kBadReasonCount) ++counters_.bad[i];
  if (bad_logged_++ < kBadLogLimit) {
    log_->warn("bad input from {} at offset {}: {} ({} bytes) {}", source_, bad.stream_offset,
               qbt::reasonName(bad.reason), bad.byte_count, bad.detail);
  } else {
    log_->debug("bad input from {} at offset {}: {} ({} bytes)", source_, bad.stream_offset,
                qbt::reasonName(bad.reason), bad.byte_count);
  }
  if (!options_.replay_file.empty() || options_.max_bad_frames <= 0) return;
  const auto now = Clock::now();
  bad_times_.push_back(now);
  while (!bad_times_.empty() && now - bad_times_.front() > std::chrono::seconds(options_.bad_window_s)) {
    bad_times_.pop_front();
  }
  if (bad_times_.size() > static_cast<std::size_t>(options_.max_bad_frames)) fail_pending_ = true;
}

// -------------------------------------------------------------- replay mode

void IngestService::replayStep() {
  if (state_ != State::kRunning || paused_ || replay_eof_) return;
  std::size_t want = rbuf_.size();
  auto period = std::chrono::milliseconds(0);
  if (options_.replay_rate > 0) {
    period = std::chrono::milliseconds(10);
    want = std::clamp<std::size_t>(static_cast<std::size_t>(options_.replay_rate / 100.0), 1, rbuf_.size());
  }
  replay_in_.read(reinterpret_cast<char*>(rbuf_.data()), static_cast<std::streamsize>(want));
  const auto n = static_cast<std::size_t>(replay_in_.gcount());
  if (n > 0) {
    counters_.bytes_in += n;
    decoder_->feed(std::span<const std::uint8_t>(rbuf_.data(), n));
  }
  if (n < want || replay_in_.eof()) {
    replay_eof_ = true;
    decoder_->finish();
    log_->info("replay done: {} bytes, {} segments published", counters_.bytes_in, counters_.segments_published);
    finish(0);
    return;
  }
  if (publisher_.wouldBlock()) {
    paused_ = true;
    paused_since_ = Clock::now();
    ++counters_.backpressure_pauses;
    return;  // pollTick() resumes
  }
  if (period.count() > 0) {
    replay_timer_.expires_after(period);
    replay_timer_.async_wait([this](const asio::error_code& ec) {
      if (!ec) replayStep();
    });
  } else {
    asio::post(io_, [this] { replayStep(); });
  }
}

// ----------------------------------------------------------------- shutdown

void IngestService::stop() {
  if (state_ == State::kStopping) return;
  log_->info("stopping");
  finish(0);
}

void IngestService::finish(int exit_code) {
  exit_code_ = exit_code;
  ++generation_;
  asio::error_code ec;
  if (socket_) {
    socket_->shutdown(tcp::socket::shutdown_both, ec);
    socket_->close(ec);
  }
  resolver_.cancel();
  connect_timer_.cancel();
  reconnect_timer_.cancel();
  logon_timer_.cancel();
  watchdog_timer_.cancel();
  replay_timer_.cancel();
  stats_timer_.cancel();
  if (decoder_ && options_.replay_file.empty()) decoder_->finish();
  decoder_.reset();
  state_ = State::kStopping;
  publishStats();  // final snapshot
  // Keep servicing the publisher (pollTick keeps running) so consumers get what was published.
  linger_timer_.expires_after(std::chrono::milliseconds(options_.linger_ms));
  linger_timer_.async_wait([this](const asio::error_code&) {
    publisher_.stop();
    poll_timer_.cancel();
    io_.stop();
  });
}

}  // namespace emwin::ingest
