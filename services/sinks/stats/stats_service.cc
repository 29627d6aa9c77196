#include "stats_service.h"

#include "bus/topics.h"
#include "emwin/bus/v1/stats.pb.h"

namespace emwin::sinks {
namespace {
using Clock = std::chrono::steady_clock;
namespace v1 = emwin::bus::v1;
}  // namespace

void addStatsOptions(runtime::Cli& cli, StatsOptions& o) {
  cli.option("--connect", o.connect, "producer tap endpoint to follow (repeatable; env comma-separated)")
      ->delimiter(',')
      ->check(runtime::ConnectEndpoint());
  cli.option("--intake", o.intake, "SUB endpoint to bind for pushed stats ('' = none)")
      ->check(CLI::Validator(
          [](std::string& v) {
            std::string copy = v;
            return v.empty() ? std::string() : runtime::BindEndpoint()(copy);
          },
          "ENDPOINT", "BindEndpoint"));
  cli.option("--pub", o.pub, "tap endpoint for stats.summary")->check(runtime::BindEndpoint());
  cli.option("--http", o.http, "host:port for /metrics and /healthz ('' = none)")
      ->check(CLI::Validator(
          [](std::string& v) {
            std::string copy = v;
            return v.empty() ? std::string() : runtime::HostPort(true)(copy);
          },
          "HOST:PORT", "HostPort"));
  http::addAccessOptions(cli, o.http_access, "bearer token required on HTTP (repeatable; env comma-separated)");
  cli.option("--summary-interval-ms", o.summary_interval_ms, "period of stats.summary (0 = --stats-interval-ms)")
      ->check(runtime::IntRange(0, 3'600'000));
  cli.option("--stale-after-ms", o.stale_after_ms, "a service silent this long is reported down")
      ->check(runtime::IntRange(100, 86'400'000));
}

StatsService::StatsService(StatsOptions options)
    : options_(std::move(options)), aggregator_(std::chrono::milliseconds(options_.stale_after_ms)) {}

StatsService::~StatsService() = default;

int StatsService::httpPort() const { return http_ ? http_->port() : 0; }

void StatsService::take(const bus::Received& m) {
  if (m.topic.rfind("stats.", 0) != 0 || m.topic == bus::topics::kStatsSummary) return;
  v1::ServiceStats s;
  if (!s.ParseFromString(m.payload) || s.service().empty()) {
    ++bad_payloads_;
    runtime_->log()->warn("ignoring unparsable stats message on {}", m.topic);
    return;
  }
  aggregator_.update(s, Clock::now());
  ++stats_received_;
}

void StatsService::start(service::Runtime& rt) {
  runtime_ = &rt;
  // HTTP first: what can fail on configuration fails before anything is bound or logged.
  if (!options_.http.empty()) {
    http::ServerOptions ho;
    ho.listen = options_.http;
    try {
      http_ = std::make_unique<http::Server>(rt.io(), ho);
    } catch (const std::exception& e) {
      throw runtime::ConfigError("--http", e.what());
    }
    if (options_.http_access.enabled()) {
      guard_ = std::make_unique<http::AccessGuard>(options_.http_access.guardOptions());
      http_->guard([this](const http::Request& r) { return guard_->check(r); });
    }
    http_->get("/metrics", [this](const http::Request&) {
      aggregator_.setOwnCounter("bad_payloads", bad_payloads_);
      aggregator_.setOwnCounter("messages_received", stats_received_);
      http::Response res;
      res.content_type = "text/plain; version=0.0.4";
      res.body = aggregator_.prometheus(Clock::now());
      return res;
    });
    http_->get("/healthz", [this](const http::Request&) {
      const StatsAggregator::Health h = aggregator_.health(Clock::now());
      http::Response res;
      res.status = h.ok ? 200 : 503;
      res.body = h.text + "\n";
      return res;
    });
  }
  if (!options_.connect.empty()) {
    bus::TapSubscriberOptions t;
    t.endpoints = options_.connect;
    t.topic_prefixes = {"stats."};
    rt.tapInput(t, [this](bus::Received&& m) { take(m); }, "--connect");
  }
  if (!options_.intake.empty()) {
    bus::TapSubscriberOptions t;
    t.bind = {options_.intake};
    t.topic_prefixes = {"stats."};
    rt.tapInput(t, [this](bus::Received&& m) { take(m); }, "--intake");
  }
  bus::PublisherOptions po;
  po.producer_id = "stats." + rt.instance();
  po.tap_endpoint = options_.pub;
  publisher_ = &rt.publisher(po, "--pub");
  const int summary_ms = options_.summary_interval_ms > 0 ? options_.summary_interval_ms : rt.options().stats_interval_ms;
  rt.every(std::chrono::milliseconds(std::max(summary_ms, 10)), [this] {
    v1::StatsSummary summary = aggregator_.summary(Clock::now());
    publisher_->publish(bus::topics::kStatsSummary, summary, bus::Path::kTapOnly);
  });
  rt.log()->info("stats: following {} tap(s), intake {}, summary on {}, http {}", options_.connect.size(),
                 options_.intake.empty() ? "-" : options_.intake, publisher_->tapEndpoint(),
                 http_ ? http_->address() : std::string("-"));
}

void StatsService::report(runtime::StatsReporter& r) {
  r.setCounter("stats_received", stats_received_);
  r.setCounter("bad_payloads", bad_payloads_);
  r.setGauge("services_known", static_cast<double>(aggregator_.instanceCount()));
  if (http_) {
    const auto hs = http_->stats();
    r.setCounter("http_requests", hs.requests);
    r.setCounter("http_over_capacity", hs.over_capacity);
  }
}

void StatsService::stop(service::Runtime&) {
  if (http_) http_->close();
}

}  // namespace emwin::sinks
