#include "alert_classifier_service.h"

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "bus/bus.h"
#include "bus/consumer_options.h"
#include "bus/stats_report.h"
#include "emwin/bus/v1/alert.pb.h"
#include "emwin/bus/v1/file.pb.h"
#include "emwin/bus/v1/stats.pb.h"
#include "file_classifier.h"
#include "products/classify.h"
#include "runtime/log.h"
#include "runtime/options.h"
#include "runtime/signals.h"
#include "runtime/stats_reporter.h"

namespace emwin::sinks {
namespace {
namespace v1 = emwin::bus::v1;
using SteadyClock = std::chrono::steady_clock;

// Index 0 = unspecified / out of range; 1..7 = the tiers (7: test messages).
constexpr std::size_t kTierSlots = 8;

std::size_t tierSlot(v1::PriorityTier tier) {
  if (tier < v1::PRIORITY_TIER_EMERGENCY || tier > v1::PRIORITY_TIER_TEST) return 0;
  return static_cast<std::size_t>(tier);
}

// "alerts.<tier>" counter names, built once.
const std::array<std::string, kTierSlots>& tierCounters() {
  static const std::array<std::string, kTierSlots> names = [] {
    std::array<std::string, kTierSlots> out;
    out[0] = "alerts.unspecified";
    for (std::size_t i = 1; i < kTierSlots; ++i) {
      out[i] = "alerts." + std::string(products::tierName(static_cast<products::Tier>(static_cast<int>(i))));
    }
    return out;
  }();
  return names;
}
}  // namespace

struct AlertClassifierService::Impl {
  Impl(zmq::context_t& ctx, AlertClassifierOptions o)
      : context(ctx), options(std::move(o)), log(runtime::logger("alert-classifier")) {
    if (options.instance.empty()) options.instance = runtime::defaultInstance();
    FileClassifierOptions fo;
    fo.with_json = !options.alert_log.empty();
    classifier = FileClassifier(fo);
  }

  // Handles one received message; never throws. Publishes its alerts.
  void handle(const bus::Received& received) {
    reporter->addCounter("files_in");
    if (received.header.payload_type() != v1::CompletedFile::descriptor()->full_name() ||
        !file.ParseFromString(received.payload)) {
      reporter->addCounter("bad_messages");
      log->warn("ignoring unusable message on {} (type '{}')", received.topic, received.header.payload_type());
      return;
    }
    FileResult& result = result_;  // reused: its alerts keep their allocations
    classifier.classify(file, result);
    switch (result.outcome) {
      case FileOutcome::kNonText:
        reporter->addCounter("skipped_non_text");
        log->debug("skipping non-text file {} ({})", file.filename(), result.skip_reason);
        return;
      case FileOutcome::kError:
        reporter->addCounter("errors");
        log->error("cannot classify {}: {}", file.filename(), result.skip_reason);
        return;
      case FileOutcome::kClassified:
        break;
    }
    reporter->addCounter("products_parsed");
    if (result.issue_count > 0) {
      reporter->addCounter("products_with_issues");
      log->debug("{}: {} parse issue(s)", file.filename(), result.issue_count);
    }
    for (TopicAlert& a : result.alerts) {
      try {
        publisher->publish(a.topic, a.alert);
      } catch (const std::exception& e) {
        reporter->addCounter("errors");
        log->error("cannot publish alert {} of {}: {}", a.topic, file.filename(), e.what());
        continue;
      }
      reporter->addCounter("alerts_published");
      const std::size_t slot = tierSlot(a.alert.tier());
      reporter->addCounter(tierCounters()[slot]);
      ++summary_counts[slot];
      // Emergencies are rare and must reach operators at once; warnings (tens of
      // thousands a day on a busy feed) go to debug and into the periodic summary.
      const auto level = a.alert.tier() == v1::PRIORITY_TIER_EMERGENCY ? spdlog::level::info
                         : a.alert.tier() <= v1::PRIORITY_TIER_WARNING ? spdlog::level::debug
                                                                        : spdlog::level::trace;
      if (log->should_log(level)) {
        log->log(level, "{} {} {} ({}, {} zones) from {}", a.alert.event_name(), a.alert.action(), a.alert.office(),
                 a.topic, a.alert.ugc_size(), file.filename());
      }
      writeLog(a.json_line);
    }
  }

  // Logs at info how many alerts of each tier were published since the last
  // summary, every summary interval (nothing when there were none).
  void maybeLogSummary(SteadyClock::time_point now, bool force = false) {
    if (!force && now < next_summary) return;
    next_summary = now + std::chrono::seconds(options.summary_interval_s);
    std::uint64_t total = 0;
    for (std::uint64_t n : summary_counts) total += n;
    if (total == 0) return;
    std::string by_tier;
    for (std::size_t i = 1; i <= kTierSlots; ++i) {
      const std::size_t slot = i % kTierSlots;  // the tiers first, unspecified last
      if (summary_counts[slot] == 0) continue;
      if (!by_tier.empty()) by_tier += ", ";
      by_tier += fmt::format("{} {}", summary_counts[slot], tierCounters()[slot].substr(7));
    }
    log->info("{} alerts published in the last {:.0f} s ({})", total,
              std::chrono::duration<double>(now - summary_since).count(), by_tier);
    summary_counts.fill(0);
    summary_since = now;
  }

  void writeLog(const std::string& line) {
    if (!alert_log.is_open() || line.empty()) return;
    alert_log << line << '\n';
    alert_log.flush();
    if (!alert_log) {
      reporter->addCounter("alert_log_errors");
      log->warn("cannot write alert log {}", options.alert_log);
      alert_log.clear();
    }
  }

  void refreshStats() {
    bus::reportPublisher(*reporter, publisher->stats());
    bus::reportSubscriber(*reporter, subscriber->stats());
  }

  void publishStats(SteadyClock::time_point now) {
    refreshStats();
    v1::ServiceStats stats = reporter->build(now);
    publisher->publish(reporter->topic(), stats, bus::Path::kTapOnly);
  }

  zmq::context_t& context;
  AlertClassifierOptions options;
  std::shared_ptr<spdlog::logger> log;
  FileClassifier classifier;
  v1::CompletedFile file;  // reused between messages
  FileResult result_;      // reused between messages
  std::array<std::uint64_t, kTierSlots> summary_counts{};  // alerts per tier slot since the last summary
  SteadyClock::time_point summary_since = SteadyClock::now();
  SteadyClock::time_point next_summary = SteadyClock::now();
  std::ofstream alert_log;
  std::unique_ptr<bus::Publisher> publisher;
  std::unique_ptr<bus::Subscriber> subscriber;
  std::unique_ptr<runtime::StatsReporter> reporter;
};

AlertClassifierService::AlertClassifierService(zmq::context_t& context, AlertClassifierOptions options)
    : impl_(std::make_unique<Impl>(context, std::move(options))) {}

AlertClassifierService::~AlertClassifierService() = default;

std::string AlertClassifierService::tapEndpoint() const { return impl_->publisher->tapEndpoint(); }
std::string AlertClassifierService::pipelineEndpoint() const { return impl_->publisher->pipelineEndpoint(); }

void AlertClassifierService::start() {
  Impl& s = *impl_;
  s.reporter = std::make_unique<runtime::StatsReporter>("alert-classifier", s.options.instance,
                                                        std::chrono::milliseconds(s.options.stats_interval_ms));
  if (!s.options.alert_log.empty()) {
    std::filesystem::path path(s.options.alert_log);
    std::error_code ec;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    s.alert_log.open(path, std::ios::out | std::ios::app);
    if (!s.alert_log.is_open()) throw std::runtime_error("cannot open alert log " + s.options.alert_log);
  }
  bus::PublisherOptions po;
  po.producer_id = "alert-classifier." + s.options.instance;
  po.tap_endpoint = s.options.pub;
  po.pipeline_endpoint = s.options.pipe;
  po.pipeline_hwm = s.options.hwm;
  po.tap_send_hwm = s.options.tap_hwm;
  po.retention_messages = s.options.retention;
  po.retention_bytes = s.options.retention_mb << 20;
  s.publisher = std::make_unique<bus::Publisher>(s.context, po);
  auto so = bus::pipelineConsumerOptions(s.options.connect, s.options.group, s.options.instance,
                                         {"file."}, s.options.credit, s.options.state_dir);
  s.subscriber = std::make_unique<bus::Subscriber>(s.context, so);
  s.reporter->setLabel("upstream", s.options.connect);
  s.log->info("alert-classifier {}: files from {} (group {}), alerts on tap {} and pipeline {}", s.options.instance,
              s.options.connect, s.options.group, s.publisher->tapEndpoint(), s.publisher->pipelineEndpoint());
}

int AlertClassifierService::run() {
  Impl& s = *impl_;
  s.reporter->setState(v1::SERVICE_STATE_RUNNING);
  s.summary_since = SteadyClock::now();
  s.next_summary = s.summary_since + std::chrono::seconds(s.options.summary_interval_s);
  auto stopping = [&] { return stop_.load() || runtime::stopRequested(); };
  bool idle = true;
  int turns_since_poll = 0;
  while (!stopping()) {
    auto now = SteadyClock::now();
    if (s.reporter->due(now)) s.publishStats(now);
    s.maybeLogSummary(now);
    // Serve downstream (credits, heartbeats, replays), then upstream; while
    // files stream in, only every 16th turn (an empty non-blocking receive
    // costs a system call; publish() takes pending acks too).
    if (idle || ++turns_since_poll >= 16) {
      s.publisher->poll(std::chrono::milliseconds(0));
      turns_since_poll = 0;
    }
    if (s.publisher->wouldBlock()) {
      s.subscriber->keepAlive();
      s.publisher->poll(std::chrono::milliseconds(20));
      continue;
    }
    auto received = s.subscriber->receive(std::chrono::milliseconds(20));
    idle = !received;
    if (!received) continue;
    try {
      s.handle(*received);
    } catch (const std::exception& e) {
      s.reporter->addCounter("errors");
      s.log->error("error handling {}: {}", received->topic, e.what());
    }
    s.subscriber->ack(*received);
  }
  s.reporter->setState(v1::SERVICE_STATE_STOPPING);
  s.maybeLogSummary(SteadyClock::now(), true);
  s.publishStats(SteadyClock::now());
  // Give downstream consumers a moment to take what is queued for them.
  auto deadline = SteadyClock::now() + std::chrono::milliseconds(500);
  while (SteadyClock::now() < deadline && s.publisher->stats().max_group_queue > 0) {
    s.publisher->poll(std::chrono::milliseconds(20));
  }
  s.subscriber->close();
  s.publisher->stop();
  s.log->info("alert-classifier stopped: {} alerts published", s.reporter->counter("alerts_published"));
  return 0;
}

}  // namespace emwin::sinks
