#pragma once
// The service runtime: what every emwin-bus process is run by. It owns the
// process's one reactor (an asio::io_context on the main thread: TCP sockets,
// timers, signals, and — through ZmqWatch — every ZeroMQ socket), the ZeroMQ
// context, the common options (log level, instance, stats interval), the
// publishers and subscribers, the periodic ServiceStats (one path for every
// service), backpressure, and the stop sequence. A service is a set of
// handlers (class Service): on start, on each message (acknowledge now or
// keep the AckToken), on timers, on stop. Nothing blocks inside a handler.
//
// Backpressure: inputs are read only while every publisher has room (and the
// service does not hold them). A full pipeline group therefore stops a
// service from *reading* — pipeline credit then stops its producer, and
// ingest stops reading its TCP socket (onFlowing() tells it when to go on).
//
// Stop (SIGINT, SIGTERM or requestStop()): inputs stop, Service::stop() runs,
// final stats go out, then the publishers keep delivering what is queued
// until it is acknowledged or --linger-ms passes; inputs leave their groups
// (what is unacknowledged goes to another replica or waits for our restart),
// and run() returns. A process held by backpressure stops within linger.
//
// Thread-safety: everything runs on the thread that calls run(); no method
// may be called from another thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/asio.h"
#include <zmq.hpp>

#include "bus/pipeline_subscriber.h"
#include "bus/publisher.h"
#include "bus/tap_subscriber.h"
#include "emwin/bus/v1/stats.pb.h"
#include "runtime/cli.h"
#include "runtime/log.h"
#include "runtime/stats_reporter.h"

namespace emwin::service {

// Options every service takes; addCommonOptions() puts them on its Cli.
struct CommonOptions {
  std::string log_level = "info";  // --log-level: trace, debug, info, warn, error, critical, off
  std::string instance;            // --instance: default $EMWIN_INSTANCE, else the host name
  int stats_interval_ms = 2000;    // --stats-interval-ms: ServiceStats period
  std::string stats_connect;       // --stats-connect: also push ServiceStats to this intake (emwin-stats)
  int linger_ms = 500;             // --linger-ms: on stop, keep delivering queued messages at most this long
  std::string keys;                // --keys: keys directory; CURVE on every bus endpoint (docs/security.md); '' = off
  std::string key_name;            // --key-name: this process's key pair <keys>/<name>.key; default: the service name
};

// Adds --log-level, --instance, --stats-interval-ms, --stats-connect, --linger-ms, --keys and --key-name.
void addCommonOptions(runtime::Cli& cli, CommonOptions& options);

// What a producing service configures about its two endpoints (bus/publisher.h).
struct ProducerOptions {
  std::string pub;                // --pub: tap endpoint (PUB bind)
  std::string pipe;               // --pipe: pipeline endpoint (ROUTER bind)
  std::size_t hwm = 1000;         // --hwm: messages queued per consumer group before input pauses
  int tap_hwm = 10000;            // --tap-hwm: tap send high-water mark (drops beyond it)
  std::size_t retention = 20000;  // --retention: messages kept for REPLAY (at most)
  std::size_t retention_mb = 8;   // --retention-mb: megabytes kept for REPLAY (at most)
  std::string producer_id;        // Header.producer_id; empty = "<service>.<instance>"
  // Defaults with these two endpoints.
  static ProducerOptions at(std::string pub, std::string pipe) {
    ProducerOptions o;
    o.pub = std::move(pub);
    o.pipe = std::move(pipe);
    return o;
  }
};

// Adds --pub, --pipe, --hwm, --tap-hwm, --retention and --retention-mb; `what`
// names the messages in the help ("segments", "files", "alerts").
void addProducerOptions(runtime::Cli& cli, ProducerOptions& options, const std::string& what);

class Runtime;
class ZapHandler;
class HandshakeMonitor;

// Loads the CURVE keys of `options.keys` for a process named `service`:
// bus.pub (required), bus.key (when present), <key-name>.key (when present).
// Throws runtime::ConfigError naming --keys or --key-name.
bus::BusSecurity loadBusSecurity(const CommonOptions& options, const std::string& service);

// A service: handlers the runtime calls on its one thread.
class Service {
 public:
  virtual ~Service() = default;
  // Creates inputs, outputs and timers. Throw runtime::ConfigError for bad
  // configuration found here (exit code 2, nothing started).
  virtual void start(Runtime& runtime) = 0;
  // Fills the service's counters and gauges just before each ServiceStats.
  virtual void report(runtime::StatsReporter& stats) { (void)stats; }
  // A stop was requested: stop taking input from anything the runtime does
  // not own (e.g. a TCP socket) and log what is still held.
  virtual void stop(Runtime& runtime) { (void)runtime; }
};

class Runtime {
 public:
  using Clock = std::chrono::steady_clock;
  // Called for every message of an input while the runtime is flowing.
  using Handler = std::function<void(bus::Received&& message)>;

  // `service` names the stats topic (stats.<service>.<instance>) and the logger.
  Runtime(std::string service, CommonOptions options);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Applies the log level, starts `service`, runs the reactor until the stop
  // sequence ends. Returns the exit code: 0 after a clean stop (or the code
  // given to requestStop), 2 when start() found bad configuration, 1 on a
  // fatal error.
  int run(Service& service);

  // --- outputs and inputs (call from Service::start) ---

  // Binds a publisher now (a ConfigError naming `tap_option` or `pipe_option`
  // when an endpoint cannot be bound); watched by the reactor; its fullness
  // gates every input; its counters go into the stats; its tap carries them.
  bus::Publisher& publisher(bus::PublisherOptions options, std::string_view tap_option = "--pub",
                            std::string_view pipe_option = "--pipe");
  // The same from the standard producer options; consumer groups are kept in `state_dir`.
  bus::Publisher& publisher(const ProducerOptions& options, const std::string& state_dir);
  // Checks that `path` is (or can be made) a writable directory and creates
  // it; a ConfigError naming `option` otherwise. Returns `path`.
  const std::string& stateDir(const std::string& option, const std::string& path);
  // A pipeline input: `handler` gets each message; acknowledge it with
  // input.ack(message) now, or keep message.ackToken() and ack it later.
  bus::PipelineSubscriber& pipelineInput(bus::PipelineSubscriberOptions options, Handler handler,
                                         std::string_view option = "--connect");
  // A tap input (may miss messages, counted).
  bus::TapSubscriber& tapInput(bus::TapSubscriberOptions options, Handler handler,
                               std::string_view option = "--connect");

  // --- flow ---

  // True while every publisher has room and inputs are not held.
  bool flowing() const noexcept { return flowing_; }
  // Called each time input may flow again (e.g. ingest resumes reading).
  void onFlowing(std::function<void()> callback) { on_flowing_.push_back(std::move(callback)); }
  // Holds (true) or releases the inputs, e.g. while a write is retried.
  void holdInputs(bool hold);
  // Re-checks outputs and flow now (after publishing outside an input handler).
  void afterWork();

  // --- timers, state, stop ---

  // Calls `fn` every `period` until the runtime stops.
  void every(std::chrono::milliseconds period, std::function<void()> fn);
  // Calls `fn` once after `delay` (unless the runtime stopped by then).
  void after(std::chrono::milliseconds delay, std::function<void()> fn);
  // The state reported in ServiceStats (RUNNING, DEGRADED ...).
  void setState(emwin::bus::v1::ServiceState state) noexcept { stats_.setState(state); }
  // Starts the stop sequence, as a signal does; run() returns `exit_code`.
  void requestStop(int exit_code = 0);
  bool stopping() const noexcept { return stopping_; }

  // --- what services use ---
  asio::io_context& io() noexcept { return io_; }
  zmq::context_t& zmq() noexcept { return zmq_; }
  runtime::StatsReporter& stats() noexcept { return stats_; }
  const CommonOptions& options() const noexcept { return options_; }
  const std::string& instance() const noexcept { return options_.instance; }
  const std::string& serviceName() const noexcept { return service_name_; }
  const std::shared_ptr<spdlog::logger>& log() const noexcept { return log_; }
  // The process's CURVE settings (nullptr without --keys): for sockets a service makes itself.
  const bus::BusSecurity* security() const noexcept { return security_ ? &*security_ : nullptr; }

 private:
  struct Output;
  struct Input;
  struct Timer;

  void readInput(Input& input);
  void arm(const std::shared_ptr<Timer>& timer);
  bool outputsHaveRoom() const;
  void updateFlow();
  void maintain();
  void publishStats();
  void drainTick();
  void finish();
  void noteBind(const std::string& endpoint);
  void monitor(zmq::socket_ref socket, const std::string& name);
  const bus::BusSecurity* clientSecurity(std::string_view option);
  std::size_t unacknowledgedDownstream() const;

  std::string service_name_;
  CommonOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  asio::io_context io_;
  zmq::context_t zmq_;
  runtime::StatsReporter stats_;
  asio::signal_set signals_;
  std::vector<std::unique_ptr<Output>> outputs_;
  std::vector<std::unique_ptr<Input>> inputs_;
  std::vector<std::shared_ptr<Timer>> timers_;
  std::unique_ptr<bus::Publisher> stats_push_;  // --stats-connect
  std::optional<bus::BusSecurity> security_;    // --keys
  std::unique_ptr<ZapHandler> zap_;
  std::vector<std::string> open_endpoints_;     // bound to a non-loopback address without --keys
  std::vector<std::unique_ptr<HandshakeMonitor>> monitors_;  // failed CURVE handshakes per bound socket
  std::vector<std::function<void()>> on_flowing_;
  Service* service_ = nullptr;
  bool flowing_ = true;
  bool held_ = false;
  bool stopping_ = false;
  bool finished_ = false;
  int exit_code_ = 0;
  Clock::time_point paused_since_{};
  std::uint64_t pauses_ = 0;
  std::uint64_t paused_us_ = 0;
  std::uint64_t handler_errors_ = 0;
  Clock::time_point drain_deadline_{};
};

}  // namespace emwin::service
