#include "stats_service.h"

#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <thread>

#include <httplib.h>

#include "aggregator.h"
#include "bus/bus.h"
#include "bus/topics.h"
#include "emwin/bus/v1/stats.pb.h"
#include "runtime/log.h"
#include "runtime/options.h"
#include "runtime/signals.h"

namespace emwin::sinks {
namespace {
using Clock = std::chrono::steady_clock;
namespace v1 = emwin::bus::v1;
}  // namespace

struct StatsService::Impl {
  Impl(zmq::context_t& ctx, StatsOptions o)
      : context(ctx),
        options(std::move(o)),
        aggregator(std::chrono::milliseconds(options.stale_after_ms)),
        log(runtime::logger("stats")) {
    if (options.instance.empty()) options.instance = runtime::defaultInstance();
  }

  void take(const std::string& topic, const std::string& payload) {
    v1::ServiceStats s;
    if (topic.rfind("stats.", 0) != 0 || topic == bus::topics::kStatsSummary) return;
    if (!s.ParseFromString(payload) || s.service().empty()) {
      ++bad_payloads;
      log->warn("ignoring unparsable stats message on {}", topic);
      return;
    }
    std::lock_guard lock(mutex);
    aggregator.update(s, Clock::now());
    ++stats_received;
  }

  zmq::context_t& context;
  StatsOptions options;
  std::mutex mutex;  // guards aggregator
  StatsAggregator aggregator;
  std::shared_ptr<spdlog::logger> log;
  std::unique_ptr<bus::Subscriber> taps;
  std::unique_ptr<zmq::socket_t> intake;
  std::unique_ptr<bus::Publisher> publisher;
  httplib::Server http;
  std::thread http_thread;
  int http_port = 0;
  std::uint64_t bad_payloads = 0;
  std::uint64_t stats_received = 0;
};

StatsService::StatsService(zmq::context_t& context, StatsOptions options)
    : impl_(std::make_unique<Impl>(context, std::move(options))) {}

StatsService::~StatsService() {
  if (impl_->http_thread.joinable()) {
    impl_->http.stop();
    impl_->http_thread.join();
  }
}

int StatsService::httpPort() const { return impl_->http_port; }

void StatsService::start() {
  Impl& s = *impl_;
  if (!s.options.connect.empty()) {
    bus::SubscriberOptions so;
    so.mode = bus::Mode::kTap;
    so.endpoints = s.options.connect;
    so.topic_prefixes = {"stats."};
    s.taps = std::make_unique<bus::Subscriber>(s.context, so);
  }
  if (!s.options.intake.empty()) {
    s.intake = std::make_unique<zmq::socket_t>(s.context, zmq::socket_type::sub);
    s.intake->set(zmq::sockopt::subscribe, "stats.");
    s.intake->set(zmq::sockopt::linger, 0);
    s.intake->bind(s.options.intake);
  }
  bus::PublisherOptions po;
  po.producer_id = "stats." + s.options.instance;
  po.tap_endpoint = s.options.pub;
  s.publisher = std::make_unique<bus::Publisher>(s.context, po);
  if (!s.options.http.empty()) {
    auto colon = s.options.http.rfind(':');
    if (colon == std::string::npos) throw std::invalid_argument("--http wants host:port, got " + s.options.http);
    std::string host = s.options.http.substr(0, colon);
    int port = std::stoi(s.options.http.substr(colon + 1));
    s.http.Get("/metrics", [&s](const httplib::Request&, httplib::Response& res) {
      std::string body;
      {
        std::lock_guard lock(s.mutex);
        s.aggregator.setOwnCounter("bad_payloads", s.bad_payloads);
        s.aggregator.setOwnCounter("messages_received", s.stats_received);
        body = s.aggregator.prometheus(Clock::now());
      }
      res.set_content(body, "text/plain; version=0.0.4");
    });
    s.http.Get("/healthz", [&s](const httplib::Request&, httplib::Response& res) {
      bool ok;
      std::size_t n;
      {
        std::lock_guard lock(s.mutex);
        ok = s.aggregator.healthy(Clock::now());
        n = s.aggregator.instanceCount();
      }
      res.status = ok ? 200 : 503;
      res.set_content(std::string(ok ? "ok" : "degraded") + " services=" + std::to_string(n) + "\n", "text/plain");
    });
    if (port == 0) {
      s.http_port = s.http.bind_to_any_port(host);
    } else {
      if (!s.http.bind_to_port(host, port)) throw std::runtime_error("cannot listen on " + s.options.http);
      s.http_port = port;
    }
    if (s.http_port <= 0) throw std::runtime_error("cannot listen on " + s.options.http);
    s.http_thread = std::thread([&s] { s.http.listen_after_bind(); });
  }
  s.log->info("stats: following {} tap(s), intake {}, summary on {}, http port {}", s.options.connect.size(),
              s.options.intake.empty() ? "-" : s.options.intake, s.publisher->tapEndpoint(), s.http_port);
}

int StatsService::run() {
  Impl& s = *impl_;
  auto next_summary = Clock::now();
  while (!stop_.load() && !runtime::stopRequested()) {
    std::vector<zmq::pollitem_t> items;
    if (s.taps) items.push_back({s.taps->socket().handle(), 0, ZMQ_POLLIN, 0});
    if (s.intake) items.push_back({s.intake->handle(), 0, ZMQ_POLLIN, 0});
    if (items.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } else {
      try {
        zmq::poll(items.data(), items.size(), std::chrono::milliseconds(100));
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;  // a stop signal interrupted the wait
        continue;
      }
    }
    if (s.taps) {
      while (auto m = s.taps->receive(std::chrono::milliseconds(0))) s.take(m->topic, m->payload);
    }
    if (s.intake) {
      for (;;) {
        zmq::message_t topic, payload;
        if (!s.intake->recv(topic, zmq::recv_flags::dontwait)) break;
        if (!topic.more()) {
          ++s.bad_payloads;
          continue;
        }
        if (!s.intake->recv(payload, zmq::recv_flags::dontwait)) break;
        while (payload.more()) {  // drop unexpected extra frames
          zmq::message_t extra;
          if (!s.intake->recv(extra, zmq::recv_flags::dontwait)) break;
          payload.swap(extra);
        }
        s.take(topic.to_string(), payload.to_string());
      }
    }
    if (Clock::now() >= next_summary) {
      v1::StatsSummary summary;
      {
        std::lock_guard lock(s.mutex);
        summary = s.aggregator.summary(Clock::now());
      }
      s.publisher->publish(bus::topics::kStatsSummary, summary, bus::Path::kTapOnly);
      next_summary = Clock::now() + std::chrono::milliseconds(s.options.summary_interval_ms);
    }
  }
  s.log->info("stats stopped");
  return 0;
}

}  // namespace emwin::sinks
