#include "ingest_service.h"

#include <algorithm>
#include <filesystem>

#include "bus/topics.h"
#include "emwin/bus/v1/server_list.pb.h"
#include "mapping/mapping.h"
#include "qbt/encoder.h"
#include "server_store.h"

namespace emwin::ingest {
namespace {

using Clock = std::chrono::steady_clock;
using asio::ip::tcp;

constexpr std::size_t kReadBufferBytes = 16 * 1024;
constexpr auto kHealthyConnection = std::chrono::seconds(10);
constexpr auto kMaxLogonDeferral = std::chrono::seconds(60);  // then it is sent anyway
constexpr std::uint64_t kBadLogLimit = 20;  // per connection at warn, then debug

std::int64_t nowUnixUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string hostPort(const qbt::ServerAddress& a) { return a.host + ":" + std::to_string(a.port); }

}  // namespace

IngestService::IngestService(IngestOptions options)
    : options_(std::move(options)), log_(runtime::logger("ingest")), rbuf_(kReadBufferBytes) {}

IngestService::~IngestService() = default;

void IngestService::start(service::Runtime& rt) {
  runtime_ = &rt;
  asio::io_context& io = rt.io();
  resolver_ = std::make_unique<tcp::resolver>(io);
  for (auto* t : {&connect_timer_, &reconnect_timer_, &logon_timer_, &watchdog_timer_, &replay_timer_}) {
    *t = std::make_unique<asio::steady_timer>(io);
  }
  backoff_ = std::make_unique<Backoff>(std::chrono::milliseconds(options_.backoff_min_ms),
                                       std::chrono::milliseconds(options_.backoff_max_ms), options_.seed);
  publisher_ = &rt.publisher(options_.producer, rt.stateDir("--state-dir", options_.state_dir));
  log_->info("publishing on tap {} and pipeline {}", publisher_->tapEndpoint(), publisher_->pipelineEndpoint());

  rt.onFlowing([this] { resume(); });
  if (options_.replay_file.empty()) loadServers();
  if (options_.wait_consumers > 0) {
    log_->info("waiting for {} pipeline consumer(s) on {}", options_.wait_consumers, publisher_->pipelineEndpoint());
    rt.every(std::chrono::milliseconds(20), [this] {
      if (input_started_ || state_ == State::kStopping) return;
      const std::size_t replicas = publisher_->stats().pipeline.replicas;
      if (replicas < static_cast<std::size_t>(options_.wait_consumers)) return;
      log_->info("{} pipeline consumer(s) present; starting", replicas);
      beginInput();
    });
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
      runtime_->requestStop(1);
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

void IngestService::resume() {
  if (!paused_ || state_ == State::kStopping) return;
  paused_ = false;
  last_alive_ = Clock::now();  // our own pause is not silence
  if (!options_.replay_file.empty()) {
    asio::post(runtime_->io(), [this] { replayStep(); });
  } else {
    startRead();
  }
}

void IngestService::report(runtime::StatsReporter& r) {
  r.setCounter("bytes_in", counters_.bytes_in);
  r.setCounter("frames_v1", counters_.frames_v1);
  r.setCounter("frames_v2", counters_.frames_v2);
  r.setCounter("fill_frames", counters_.fill_frames);
  std::uint64_t bad_total = 0;
  for (std::size_t i = 0; i < qbt::kBadReasonCount; ++i) {
    r.setCounter("bad_frames." + std::string(qbt::reasonName(static_cast<qbt::BadReason>(i))), counters_.bad[i]);
    bad_total += counters_.bad[i];
  }
  r.setCounter("bad_frames_total", bad_total);  // in stats.summary; /metrics derives it from the kinds
  r.setCounter("segments_published", counters_.segments_published);
  r.setCounter("server_lists", counters_.server_lists);
  r.setCounter("connect_attempts", counters_.connect_attempts);
  r.setCounter("connects", counters_.connects);
  r.setCounter("reconnects", counters_.reconnects);
  r.setCounter("logons_sent", counters_.logons_sent);
  r.setCounter("logons_deferred", counters_.logons_deferred);
  r.setCounter("watchdog_fired", counters_.watchdog_fired);
  r.setCounter("bad_window_fired", counters_.bad_window_fired);
  r.setCounter("state_file_corrupt", counters_.state_file_corrupt);
  r.setCounter("state_file_saves", counters_.state_file_saves);
  r.setCounter("state_file_save_errors", counters_.state_file_save_errors);
  r.setGauge("last_frame_age_s",
             have_frame_ ? std::chrono::duration<double>(Clock::now() - last_alive_).count() : -1.0);
  r.setLabel("current_server", source_);
  switch (state_) {
    case State::kConnecting: r.setState(emwin::bus::v1::SERVICE_STATE_CONNECTING); break;
    case State::kRunning: r.setState(emwin::bus::v1::SERVICE_STATE_RUNNING); break;
    default: break;
  }
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
  socket_ = std::make_unique<tcp::socket>(runtime_->io());
  connect_timer_->expires_after(std::chrono::seconds(options_.connect_timeout_s));
  connect_timer_->async_wait([this, gen](const asio::error_code& ec) {
    if (ec || gen != generation_ || state_ != State::kConnecting) return;
    drop("connect timeout");
  });
  resolver_->async_resolve(current_.host, std::to_string(current_.port),
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
  connect_timer_->cancel();
  state_ = State::kRunning;
  ++counters_.connects;
  connected_at_ = Clock::now();
  last_alive_ = connected_at_;
  had_good_frame_ = false;
  bad_times_.clear();
  bad_logged_ = 0;
  fail_pending_ = false;
  logon_due_ = false;
  asio::error_code ec;
  socket_->set_option(tcp::no_delay(true), ec);
  if (options_.rcvbuf > 0) socket_->set_option(asio::socket_base::receive_buffer_size(options_.rcvbuf), ec);
  decoder_ = std::make_unique<qbt::Decoder>(*this);
  log_->info("connected to {}", source_);
  sendLogon();
  scheduleLogon();
  watchdogTick();
  paused_ = !runtime_->flowing();
  if (!paused_) startRead();
}

void IngestService::sendLogon() {
  auto buf = std::make_shared<std::vector<std::uint8_t>>(qbt::encodeLogon(options_.email, options_.protocol));
  const std::uint64_t gen = generation_;
  ++counters_.logons_sent;
  logon_due_ = false;
  log_->debug("logon sent to {} ({})", source_, options_.protocol == qbt::Version::kV2 ? "V2" : "V1");
  asio::async_write(*socket_, asio::buffer(*buf), [this, gen, buf](const asio::error_code& ec, std::size_t) {
    if (gen != generation_ || state_ != State::kRunning) return;
    if (ec) drop("logon write failed: " + ec.message());
  });
}

void IngestService::scheduleLogon() {
  const std::uint64_t gen = generation_;
  logon_timer_->expires_after(std::chrono::seconds(options_.logon_interval_s));
  logon_timer_->async_wait([this, gen](const asio::error_code& ec) {
    if (ec || gen != generation_ || state_ != State::kRunning) return;
    if (paused_) {
      // Writing now could meet a server that closed while we were not
      // reading; its reset would throw away what it still had for us.
      if (!logon_due_) logon_due_since_ = Clock::now();
      logon_due_ = true;
      ++counters_.logons_deferred;
      log_->debug("re-logon to {} held back while reading is paused", source_);
    } else {
      sendLogon();
    }
    scheduleLogon();
  });
}

void IngestService::maybeSendDeferredLogon() {
  if (!logon_due_ || paused_ || state_ != State::kRunning || !socket_) return;
  asio::error_code ec;
  const std::size_t unread = socket_->available(ec);
  // Once what the server sent while we were paused has been read, or after a while anyway.
  if ((!ec && unread == 0) || Clock::now() - logon_due_since_ > kMaxLogonDeferral) {
    sendLogon();
  }
}

void IngestService::watchdogTick() {
  const std::uint64_t gen = generation_;
  const auto period = std::min<std::chrono::milliseconds>(std::chrono::milliseconds(250),
                                                          std::chrono::seconds(options_.watchdog_s) / 4);
  watchdog_timer_->expires_after(period);
  watchdog_timer_->async_wait([this, gen](const asio::error_code& ec) {
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
    runtime_->afterWork();
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
  if (!runtime_->flowing()) {
    paused_ = true;  // the runtime calls resume() when the pipeline has room again
    return;
  }
  maybeSendDeferredLogon();
  startRead();
}

void IngestService::closeSocket() {
  asio::error_code ec;
  if (socket_) {
    socket_->shutdown(tcp::socket::shutdown_both, ec);
    socket_->close(ec);
  }
}

void IngestService::drop(const std::string& reason) {
  if (state_ == State::kStopping) return;
  const bool was_running = state_ == State::kRunning;
  ++generation_;
  connect_timer_->cancel();
  logon_timer_->cancel();
  watchdog_timer_->cancel();
  closeSocket();
  if (decoder_) {
    decoder_->finish();  // a frame in flight is counted as truncated
    decoder_.reset();
    runtime_->afterWork();
  }
  reading_ = false;
  paused_ = false;
  logon_due_ = false;
  if (was_running && had_good_frame_ && Clock::now() - connected_at_ >= kHealthyConnection) backoff_->reset();
  const auto delay = backoff_->next();
  ++counters_.reconnects;
  state_ = State::kConnecting;
  log_->info("disconnected from {} ({}); next server in {} ms", source_, reason, delay.count());
  reconnect_timer_->expires_after(delay);
  reconnect_timer_->async_wait([this](const asio::error_code& e) {
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
  mapping::toMessage(segment, source_, nowUnixUs(), msg_);
  publisher_->publish(bus::topics::segment(segment.filename), msg_, bus::Path::kAll);
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
  publisher_->publish(bus::topics::serverList(runtime_->instance()), msg, bus::Path::kTapOnly);
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
    runtime_->afterWork();
    log_->info("replay done: {} bytes, {} segments published; exiting once the pipeline took them",
               counters_.bytes_in, counters_.segments_published);
    runtime_->every(std::chrono::milliseconds(20), [this] {
      if (!runtime_->stopping() && publisher_->stats().pipeline.unacknowledged == 0) runtime_->requestStop(0);
    });
    return;
  }
  runtime_->afterWork();
  if (!runtime_->flowing()) {
    paused_ = true;
    return;  // resume() goes on
  }
  if (period.count() > 0) {
    replay_timer_->expires_after(period);
    replay_timer_->async_wait([this](const asio::error_code& ec) {
      if (!ec) replayStep();
    });
  } else {
    asio::post(runtime_->io(), [this] { replayStep(); });
  }
}

// ----------------------------------------------------------------- shutdown

void IngestService::stop(service::Runtime&) {
  if (state_ == State::kStopping) return;
  ++generation_;
  closeSocket();
  resolver_->cancel();
  for (auto* t : {&connect_timer_, &reconnect_timer_, &logon_timer_, &watchdog_timer_, &replay_timer_}) (*t)->cancel();
  if (decoder_ && options_.replay_file.empty()) decoder_->finish();
  decoder_.reset();
  state_ = State::kStopping;
  const auto ps = publisher_->stats().pipeline;
  log_->info("stopped reading; {} segment(s) still queued or unacknowledged by {} consumer group(s)",
             ps.unacknowledged, ps.groups);
}

}  // namespace emwin::ingest
