#include "service/runtime.h"

#include <malloc.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <cstdio>

#include "bus/stats_report.h"
#include "bus/topics.h"
#include "runtime/names.h"
#include "service/handshake_monitor.h"
#include "service/zap_handler.h"
#include "service/zmq_watch.h"

namespace emwin::service {
namespace {

constexpr int kInputBatch = 64;  // messages per input per reactor turn
constexpr auto kMaintainPeriod = std::chrono::milliseconds(50);
constexpr auto kDrainPeriod = std::chrono::milliseconds(10);

std::uint64_t usSince(std::chrono::steady_clock::time_point t) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t).count());
}

}  // namespace

void addCommonOptions(runtime::Cli& cli, CommonOptions& o) {
  cli.option("--log-level", o.log_level, "trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  cli.option("--instance", o.instance, "instance name in stats and producer ids (default: host name)");
  cli.option("--stats-interval-ms", o.stats_interval_ms, "period of the ServiceStats this process publishes")
      ->check(runtime::IntRange(10, 3'600'000));
  cli.option("--stats-connect", o.stats_connect, "also push ServiceStats to this intake (emwin-stats --intake; '' = no)")
      ->check(runtime::ConnectEndpoint(true));
  cli.option("--linger-ms", o.linger_ms, "on stop, keep delivering queued messages at most this long")
      ->check(runtime::IntRange(0, 60'000));
  cli.option("--keys", o.keys, "keys directory: CURVE encryption and authentication on every bus endpoint")
      ->check(runtime::ReadableDir());
  cli.option("--key-name", o.key_name, "this process's key pair in --keys (<name>.key; default: the service name)");
}

void addProducerOptions(runtime::Cli& cli, ProducerOptions& o, const std::string& what) {
  cli.option("--pub", o.pub, "tap endpoint (PUB bind)")->check(runtime::BindEndpoint());
  cli.option("--pipe", o.pipe, "pipeline endpoint (ROUTER bind)")->check(runtime::BindEndpoint());
  cli.option("--hwm", o.hwm, what + " queued per consumer group before input pauses")
      ->check(runtime::UIntRange(1, 1'000'000));
  cli.option("--tap-hwm", o.tap_hwm, "tap send high-water mark (" + what + " per subscriber before drops)")
      ->check(runtime::IntRange(1, 10'000'000));
  cli.option("--retention", o.retention, what + " kept for REPLAY (at most)")->check(runtime::UIntRange(1, 10'000'000));
  cli.option("--retention-mb", o.retention_mb, "megabytes of " + what + " kept for REPLAY (at most)")
      ->check(runtime::UIntRange(1, 65536));
}

bus::BusSecurity loadBusSecurity(const CommonOptions& o, const std::string& service) {
  namespace fs = std::filesystem;
  bus::BusSecurity s;
  std::string error;
  const fs::path dir(o.keys);
  auto pub = bus::readKeyFile((dir / "bus.pub").string(), &error);
  if (!pub) throw runtime::ConfigError("--keys", error + " (every process needs the bus's public key)");
  s.server.public_key = pub->public_key;
  std::error_code ec;
  if (fs::exists(dir / "bus.key", ec)) {
    auto pair = bus::readKeyFile((dir / "bus.key").string(), &error);
    if (!pair || pair->secret_key.empty()) throw runtime::ConfigError("--keys", error);
    if (pair->public_key != s.server.public_key) throw runtime::ConfigError("--keys", "bus.key does not match bus.pub");
    s.server = *pair;
  }
  const std::string name = o.key_name.empty() ? service : o.key_name;
  if (fs::exists(dir / (name + ".key"), ec)) {
    auto own = bus::readKeyFile((dir / (name + ".key")).string(), &error);
    if (!own || own->secret_key.empty()) throw runtime::ConfigError("--key-name", error);
    s.own = *own;
  }
  return s;
}

struct Runtime::Output {
  std::unique_ptr<bus::Publisher> publisher;
  std::unique_ptr<ZmqWatch> watch;  // the pipeline socket (consumer commands)
};

struct Runtime::Input {
  std::unique_ptr<bus::PipelineSubscriber> pipeline;
  std::unique_ptr<bus::TapSubscriber> tap;
  std::unique_ptr<ZmqWatch> watch;
  Handler handler;
};

struct Runtime::Timer {
  explicit Timer(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  std::function<void()> fn;
  std::chrono::milliseconds period{0};  // 0 = once
};

Runtime::Runtime(std::string service, CommonOptions options)
    : service_name_(std::move(service)),
      options_(std::move(options)),
      log_(runtime::logger(service_name_)),
      zmq_(1),
      stats_(service_name_, options_.instance.empty() ? runtime::defaultInstance() : options_.instance,
             std::chrono::milliseconds(options_.stats_interval_ms)),
      signals_(io_) {
  if (options_.instance.empty()) options_.instance = runtime::defaultInstance();
}

Runtime::~Runtime() {
  // Watches before their sockets: the descriptors are ZeroMQ's.
  for (auto& in : inputs_) in->watch.reset();
  for (auto& out : outputs_) out->watch.reset();
}

bus::Publisher& Runtime::publisher(const ProducerOptions& o, const std::string& state_dir) {
  bus::PublisherOptions po;
  po.producer_id = o.producer_id.empty() ? service_name_ + "." + options_.instance : o.producer_id;
  po.tap_endpoint = o.pub;
  po.pipeline_endpoint = o.pipe;
  po.pipeline_hwm = o.hwm;
  po.tap_send_hwm = o.tap_hwm;
  po.retention_messages = o.retention;
  po.retention_bytes = o.retention_mb << 20;
  po.state_dir = state_dir;
  return publisher(std::move(po));
}

const std::string& Runtime::stateDir(const std::string& option, const std::string& path) {
  runtime::checkWritableDir(option, path);
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) throw runtime::ConfigError(option, "cannot create '" + path + "': " + ec.message());
  return path;
}

void Runtime::monitor(zmq::socket_ref socket, const std::string& name) {
  monitors_.push_back(std::make_unique<HandshakeMonitor>(io_, zmq_, socket, name, runtime::logger("auth")));
}

void Runtime::noteBind(const std::string& endpoint) {
  if (security_) return;
  const auto host_start = endpoint.find("://");
  if (endpoint.rfind("tcp://", 0) != 0 || host_start == std::string::npos) return;
  const std::string rest = endpoint.substr(host_start + 3);
  const std::string host = rest.substr(0, rest.rfind(':'));
  const bool loopback = host.rfind("127.", 0) == 0 || host == "localhost" || host == "[::1]" || host == "lo";
  if (!loopback) open_endpoints_.push_back(endpoint);
}

const bus::BusSecurity* Runtime::clientSecurity(std::string_view option) {
  if (!security_) return nullptr;
  if (security_->own.secret_key.empty()) {
    throw runtime::ConfigError("--key-name", "no key pair '" +
                                                 (options_.key_name.empty() ? service_name_ : options_.key_name) +
                                                 ".key' in --keys to connect to " + std::string(option));
  }
  return &*security_;
}

bus::Publisher& Runtime::publisher(bus::PublisherOptions options, std::string_view tap_option,
                                   std::string_view pipe_option) {
  if (!options.tap_endpoint.empty()) runtime::checkBindEndpoint(std::string(tap_option), options.tap_endpoint);
  if (!options.pipeline_endpoint.empty()) {
    runtime::checkBindEndpoint(std::string(pipe_option), options.pipeline_endpoint);
  }
  if (!options.tap_endpoint.empty()) noteBind(options.tap_endpoint);
  if (!options.pipeline_endpoint.empty()) noteBind(options.pipeline_endpoint);
  if (security_) {
    if (!security_->canServe()) {
      throw runtime::ConfigError("--keys", "bus.key (the producers' key pair) is missing: this process binds " +
                                               std::string(tap_option) + "/" + std::string(pipe_option));
    }
    options.security = &*security_;
    options.service = service_name_;
    options.authorize = [this](const std::string& user, const std::string& group) {
      return zap_ && zap_->mayJoin(user, group);
    };
  }
  auto out = std::make_unique<Output>();
  try {
    out->publisher = std::make_unique<bus::Publisher>(zmq_, std::move(options));
  } catch (const bus::EndpointError& e) {
    throw runtime::ConfigError(
        std::string(e.transport() == bus::EndpointError::Transport::kTap ? tap_option : pipe_option), e.what());
  }
  if (security_) {
    if (auto* tap = out->publisher->tap(); tap != nullptr && !tap->endpoint().empty()) {
      monitor(tap->socket(), std::string(tap_option));
    }
    if (auto* pipe = out->publisher->pipeline()) monitor(pipe->socket(), std::string(pipe_option));
  }
  if (bus::PipelinePublisher* pipe = out->publisher->pipeline()) {
    Output* raw = out.get();
    out->watch = std::make_unique<ZmqWatch>(io_, pipe->socket(), [this, raw] {
      raw->publisher->service();
      afterWork();
    });
    out->watch->setEnabled(true);
  }
  outputs_.push_back(std::move(out));
  return *outputs_.back()->publisher;
}

bus::PipelineSubscriber& Runtime::pipelineInput(bus::PipelineSubscriberOptions options, Handler handler,
                                                std::string_view option) {
  runtime::checkConnectEndpoint(std::string(option), options.endpoint);
  options.security = clientSecurity(option);
  auto in = std::make_unique<Input>();
  try {
    in->pipeline = std::make_unique<bus::PipelineSubscriber>(zmq_, std::move(options));
  } catch (const std::exception& e) {
    throw runtime::ConfigError(std::string(option), e.what());
  }
  in->handler = std::move(handler);
  Input* raw = in.get();
  in->watch = std::make_unique<ZmqWatch>(io_, in->pipeline->socket(), [this, raw] { readInput(*raw); });
  in->watch->setEnabled(flowing_ && !stopping_);
  inputs_.push_back(std::move(in));
  return *inputs_.back()->pipeline;
}

bus::TapSubscriber& Runtime::tapInput(bus::TapSubscriberOptions options, Handler handler, std::string_view option) {
  for (const auto& e : options.endpoints) runtime::checkConnectEndpoint(std::string(option), e);
  for (const auto& e : options.bind) noteBind(e);
  if (security_) {
    if (!options.bind.empty()) {
      if (!security_->canServe()) {
        throw runtime::ConfigError("--keys", "bus.key is missing: this process binds " + std::string(option));
      }
      options.security = &*security_;
    } else {
      options.security = clientSecurity(option);
    }
  }
  auto in = std::make_unique<Input>();
  try {
    in->tap = std::make_unique<bus::TapSubscriber>(zmq_, std::move(options));
  } catch (const std::exception& e) {
    throw runtime::ConfigError(std::string(option), e.what());
  }
  in->handler = std::move(handler);
  if (security_ && !in->tap->options().bind.empty()) {
    monitor(in->tap->socket(), std::string(option));  // a bound input (an intake) is a CURVE server
  }
  Input* raw = in.get();
  in->watch = std::make_unique<ZmqWatch>(io_, in->tap->socket(), [this, raw] { readInput(*raw); });
  in->watch->setEnabled(flowing_ && !stopping_);
  inputs_.push_back(std::move(in));
  return *inputs_.back()->tap;
}

void Runtime::readInput(Input& in) {
  for (int i = 0; i < kInputBatch && flowing_ && !stopping_; ++i) {
    if (i > 0 && !outputsHaveRoom()) break;  // what the last message produced filled an output
    std::optional<bus::Received> m = in.pipeline ? in.pipeline->tryReceive() : in.tap->tryReceive();
    if (!m) break;
    const bus::AckToken token = m->ackToken();
    try {
      in.handler(std::move(*m));
    } catch (const std::exception& e) {
      // A message that makes the handler throw would come back forever:
      // it is logged, counted and acknowledged.
      ++handler_errors_;
      log_->error("error handling a message: {} (acknowledged; counted as handler_errors)", e.what());
      if (in.pipeline) in.pipeline->ack(token);
    }
  }
  afterWork();
}

void Runtime::afterWork() {
  for (auto& out : outputs_) {
    out->publisher->service();
    if (out->watch) out->watch->check();  // sends may have consumed the socket's edge
  }
  for (auto& in : inputs_) {
    if (in->pipeline) {
      in->pipeline->flushAcks();
      in->watch->check();
    }
  }
  updateFlow();
}

bool Runtime::outputsHaveRoom() const {
  for (const auto& out : outputs_) {
    if (!out->publisher->hasRoom()) return false;
  }
  return true;
}

void Runtime::holdInputs(bool hold) {
  held_ = hold;
  updateFlow();
}

void Runtime::updateFlow() {
  const bool room = !held_ && outputsHaveRoom();
  if (room == flowing_) return;
  flowing_ = room;
  for (auto& in : inputs_) in->watch->setEnabled(flowing_ && !stopping_);
  if (flowing_) {
    paused_us_ += usSince(paused_since_);
    log_->debug("outputs have room again: taking input");
    if (!stopping_) {
      for (auto& cb : on_flowing_) cb();
    }
  } else {
    ++pauses_;
    paused_since_ = Clock::now();
    log_->debug("an output is full: input paused (backpressure)");
  }
}

void Runtime::every(std::chrono::milliseconds period, std::function<void()> fn) {
  auto t = std::make_shared<Timer>(io_);
  t->fn = std::move(fn);
  t->period = std::max(period, std::chrono::milliseconds(1));
  timers_.push_back(t);
  arm(t);
}

void Runtime::arm(const std::shared_ptr<Timer>& t) {
  t->timer.expires_after(t->period);
  t->timer.async_wait([this, weak = std::weak_ptr<Timer>(t)](const asio::error_code& ec) {
    auto timer = weak.lock();
    if (ec || !timer || finished_) return;
    timer->fn();
    arm(timer);
  });
}

void Runtime::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  auto t = std::make_shared<Timer>(io_);
  t->fn = std::move(fn);
  timers_.push_back(t);
  t->timer.expires_after(delay);
  std::weak_ptr<Timer> weak = t;
  t->timer.async_wait([this, weak](const asio::error_code& ec) {
    auto timer = weak.lock();
    if (ec || !timer || finished_) return;
    timers_.erase(std::remove(timers_.begin(), timers_.end(), timer), timers_.end());
    timer->fn();
  });
}

void Runtime::maintain() {
  const auto now = Clock::now();
  for (auto& in : inputs_) {
    if (in->pipeline) in->pipeline->maintain(now);
  }
  afterWork();
}

std::size_t Runtime::unacknowledgedDownstream() const {
  std::size_t n = 0;
  for (const auto& out : outputs_) n += out->publisher->stats().pipeline.unacknowledged;
  return n;
}

void Runtime::publishStats() {
  const auto now = Clock::now();
  if (service_ != nullptr) service_->report(stats_);
  bus::SubscriberStats in_total;
  for (const auto& in : inputs_) bus::addSubscriberStats(in_total, in->pipeline ? in->pipeline->stats() : in->tap->stats());
  if (!inputs_.empty()) bus::reportSubscriber(stats_, in_total);
  for (const auto& out : outputs_) bus::reportPublisher(stats_, out->publisher->stats());
  stats_.setCounter("backpressure_pauses", pauses_);
  stats_.setCounter("backpressure_paused_ms", (paused_us_ + (flowing_ ? 0 : usSince(paused_since_))) / 1000);
  stats_.setGauge("paused", flowing_ ? 0.0 : 1.0);
  stats_.setCounter("handler_errors", handler_errors_);
  if (zap_) {
    stats_.setCounter("auth_allowed", zap_->allowed());
    stats_.setCounter("auth_denied", zap_->denied());
    std::uint64_t failed = 0;
    for (const auto& m : monitors_) failed += m->failures();
    stats_.setCounter("auth_handshake_failures", failed);
  }
  emwin::bus::v1::ServiceStats message = stats_.build(now);
  const std::string topic = stats_.topic();
  for (auto& out : outputs_) {
    if (out->publisher->tap() != nullptr) {
      emwin::bus::v1::ServiceStats copy = message;
      out->publisher->publish(topic, copy, bus::Path::kTapOnly);
    }
  }
  if (stats_push_) stats_push_->publish(topic, message, bus::Path::kTapOnly);
  // Bursts leave freed blocks and buffers in the heap; hand them back so RSS
  // tracks live memory (partials, retention), not the peak.
  ::malloc_trim(0);
}

void Runtime::requestStop(int exit_code) {
  if (stopping_) return;
  stopping_ = true;
  exit_code_ = exit_code;
  for (auto& in : inputs_) in->watch->setEnabled(false);
  const std::size_t held = unacknowledgedDownstream();
  log_->info("stopping with {} message(s) queued or unacknowledged downstream", held);
  if (service_ != nullptr) service_->stop(*this);
  stats_.setState(emwin::bus::v1::SERVICE_STATE_STOPPING);
  publishStats();
  drain_deadline_ = Clock::now() + std::chrono::milliseconds(options_.linger_ms);
  drainTick();
}

void Runtime::drainTick() {
  for (auto& out : outputs_) {
    out->publisher->service();
    if (out->watch) out->watch->check();
  }
  for (auto& in : inputs_) {
    if (in->pipeline) in->pipeline->maintain();
  }
  if (unacknowledgedDownstream() == 0 || Clock::now() >= drain_deadline_) {
    finish();
    return;
  }
  auto t = std::make_shared<asio::steady_timer>(io_, kDrainPeriod);
  t->async_wait([this, t](const asio::error_code& ec) {
    if (!ec) drainTick();
  });
}

void Runtime::finish() {
  if (finished_) return;
  finished_ = true;
  const std::size_t left = unacknowledgedDownstream();
  if (left > 0) {
    log_->warn("stopped with {} message(s) still unacknowledged downstream after {} ms", left, options_.linger_ms);
  }
  for (auto& in : inputs_) {
    if (in->pipeline) in->pipeline->close();  // BYE: what we held goes to another replica or waits for us
  }
  for (auto& t : timers_) t->timer.cancel();
  asio::error_code ec;
  signals_.cancel(ec);
  log_->info("{} stopped", service_name_);
  io_.stop();
}

int Runtime::run(Service& service) {
  if (!runtime::setLogLevel(options_.log_level)) {
    std::fprintf(stderr, "%s: --log-level: unknown level '%s'\n", service_name_.c_str(), options_.log_level.c_str());
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  service_ = &service;
  stats_.setState(emwin::bus::v1::SERVICE_STATE_STARTING);
  try {
    if (!options_.keys.empty()) {
      security_ = loadBusSecurity(options_, service_name_);
      std::vector<std::string> warnings;
      auto rules = bus::AccessRules::load(options_.keys, &warnings);
      for (const auto& w : warnings) log_->warn("keys: {}", w);
      zap_ = std::make_unique<ZapHandler>(io_, zmq_, std::move(rules), runtime::logger("auth"));
    }
    if (!options_.stats_connect.empty()) {
      bus::PublisherOptions po;
      po.producer_id = service_name_ + "." + options_.instance;
      po.tap_connect = {options_.stats_connect};
      po.tap_send_hwm = 100;
      po.security = clientSecurity("--stats-connect");
      stats_push_ = std::make_unique<bus::Publisher>(zmq_, std::move(po));
    }
    service.start(*this);
    if (!open_endpoints_.empty()) {
      std::string list;
      for (const auto& e : open_endpoints_) list += (list.empty() ? "" : ", ") + e;
      log_->warn("{} bound on a non-loopback address without authentication: anyone who can reach it may read or "
                 "join it (set --keys, see docs/security.md)",
                 list);
    }
  } catch (const runtime::ConfigError& e) {
    std::fprintf(stderr, "emwin-%s: %s\n", service_name_.c_str(), e.what());
    return 2;
  } catch (const bus::EndpointError& e) {
    std::fprintf(stderr, "emwin-%s: --stats-connect: %s\n", service_name_.c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    log_->critical("cannot start: {}", e.what());
    return 1;
  }
  signals_.add(SIGINT);
  signals_.add(SIGTERM);
  signals_.async_wait([this](const asio::error_code& ec, int sig) {
    if (ec) return;
    log_->info("signal {} received", sig);
    requestStop(0);
  });
  stats_.setState(emwin::bus::v1::SERVICE_STATE_RUNNING);
  every(kMaintainPeriod, [this] { maintain(); });
  every(std::chrono::milliseconds(options_.stats_interval_ms), [this] {
    if (!stopping_) publishStats();
  });
  try {
    io_.run();
  } catch (const std::exception& e) {
    log_->critical("fatal: {}", e.what());
    return 1;
  }
  return exit_code_;
}

}  // namespace emwin::service
