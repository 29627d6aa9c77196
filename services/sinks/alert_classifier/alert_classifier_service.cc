#include "alert_classifier_service.h"

#include <filesystem>

#include "bus/publisher.h"
#include "emwin/bus/v1/alert.pb.h"
#include "products/classify.h"

namespace emwin::sinks {
namespace {
namespace v1 = emwin::bus::v1;

std::size_t tierSlot(v1::PriorityTier tier) {
  if (tier < v1::PRIORITY_TIER_EMERGENCY || tier > v1::PRIORITY_TIER_TEST) return 0;
  return static_cast<std::size_t>(tier);
}

// "alerts.<tier>" counter names, built once.
// Slot 0 = unspecified / out of range; 1..7 = the tiers (7: test messages).
constexpr std::size_t kTierCounterSlots = static_cast<std::size_t>(v1::PRIORITY_TIER_TEST) + 1;

const std::array<std::string, kTierCounterSlots>& tierCounters() {
  static const std::array<std::string, kTierCounterSlots> names = [] {
    std::array<std::string, kTierCounterSlots> out;
    out[0] = "alerts.unspecified";
    for (std::size_t i = 1; i < out.size(); ++i) {
      out[i] = "alerts." + std::string(products::tierName(static_cast<products::Tier>(static_cast<int>(i))));
    }
    return out;
  }();
  return names;
}

}  // namespace

void addAlertClassifierOptions(runtime::Cli& cli, AlertClassifierOptions& o) {
  cli.option("--connect", o.connect, "assembler pipeline endpoint")->check(runtime::ConnectEndpoint());
  service::addProducerOptions(cli, o.producer, "alerts");
  cli.option("--group", o.group, "consumer group at the assembler (replicas share files)")->check(runtime::NonEmpty());
  cli.option("--alert-log", o.alert_log, "append one JSON line per alert to this file (its directory must exist)")
      ->check(runtime::WritableFile());
  cli.option("--state-dir", o.state_dir, "replay position and the downstream groups known")
      ->check(runtime::WritableDir());
  cli.option("--credit", o.credit, "files in flight from the assembler")->check(runtime::UIntRange(1, 65536));
  cli.option("--summary-interval-s", o.summary_interval_s,
             "seconds between info summaries of the alerts published per tier (warnings are logged one by one at "
             "debug, emergencies at info)")
      ->check(runtime::IntRange(1, 86'400));
}

AlertClassifierService::AlertClassifierService(AlertClassifierOptions options) : options_(std::move(options)) {
  FileClassifierOptions fo;
  fo.with_json = !options_.alert_log.empty();
  classifier_ = FileClassifier(fo);
}

void AlertClassifierService::start(service::Runtime& rt) {
  runtime_ = &rt;
  rt.stateDir("--state-dir", options_.state_dir);
  if (!options_.alert_log.empty()) {
    alert_log_.open(options_.alert_log, std::ios::out | std::ios::app);
    if (!alert_log_.is_open()) throw runtime::ConfigError("--alert-log", "cannot open " + options_.alert_log);
  }
  publisher_ = &rt.publisher(options_.producer, options_.state_dir);
  publisher_->setSettledHandler([this](std::uint64_t seq) { onSettled(seq); });
  bus::PipelineSubscriberOptions so;
  so.endpoint = options_.connect;
  so.group = options_.group;
  so.replica = rt.instance();
  so.topic_prefixes = {"file."};
  so.credit_window = options_.credit;
  so.state_file = options_.state_dir + "/pipeline.state";
  input_ = &rt.pipelineInput(so, [this](bus::Received&& m) { onFile(std::move(m)); });
  rt.stats().setLabel("upstream", options_.connect);
  rt.every(std::chrono::seconds(options_.summary_interval_s), [this] { logSummary(false); });
  rt.log()->info("alert-classifier {}: files from {} (group {}), alerts on tap {} and pipeline {}", rt.instance(),
                 options_.connect, options_.group, publisher_->tapEndpoint(), publisher_->pipelineEndpoint());
}

void AlertClassifierService::onFile(bus::Received&& m) {
  auto& stats = runtime_->stats();
  const auto& log = runtime_->log();
  stats.addCounter("files_in");
  if (m.header.payload_type() != v1::CompletedFile::descriptor()->full_name() || !file_.ParseFromString(m.payload)) {
    stats.addCounter("bad_messages");
    log->warn("ignoring unusable message on {} (type '{}')", m.topic, m.header.payload_type());
    input_->ack(m);
    return;
  }
  classifier_.classify(file_, result_);
  switch (result_.outcome) {
    case FileOutcome::kNonText:
      stats.addCounter("skipped_non_text");
      log->debug("skipping non-text file {} ({})", file_.filename(), result_.skip_reason);
      input_->ack(m);
      return;
    case FileOutcome::kError:
      stats.addCounter("errors");
      log->error("cannot classify {}: {}", file_.filename(), result_.skip_reason);
      input_->ack(m);
      return;
    case FileOutcome::kClassified:
      break;
  }
  stats.addCounter("products_parsed");
  if (result_.issue_count > 0) {
    stats.addCounter("products_with_issues");
    log->debug("{}: {} parse issue(s)", file_.filename(), result_.issue_count);
  }
  auto pending = std::make_shared<Pending>();
  pending->token = m.ackToken();
  for (TopicAlert& a : result_.alerts) {
    const std::uint64_t seq = publisher_->publish(a.topic, a.alert);
    awaiting_.emplace(seq, pending);
    ++pending->unsettled;
    stats.addCounter("alerts_published");
    const std::size_t slot = tierSlot(a.alert.tier());
    stats.addCounter(tierCounters()[slot]);
    ++summary_counts_[slot];
    // Emergencies are rare and must reach operators at once; warnings (tens of
    // thousands a day on a busy feed) go to debug and into the periodic summary.
    const auto level = a.alert.tier() == v1::PRIORITY_TIER_EMERGENCY ? spdlog::level::info
                       : a.alert.tier() <= v1::PRIORITY_TIER_WARNING ? spdlog::level::debug
                                                                      : spdlog::level::trace;
    if (log->should_log(level)) {
      log->log(level, "{} {} {} ({}, {} zones) from {}", a.alert.event_name(), a.alert.action(), a.alert.office(),
               a.topic, a.alert.ugc_size(), file_.filename());
    }
    writeLog(a.json_line);
  }
  if (pending->unsettled == 0) input_->ack(m);  // no alert in it: done
}

void AlertClassifierService::onSettled(std::uint64_t sequence) {
  auto it = awaiting_.find(sequence);
  if (it == awaiting_.end()) return;
  std::shared_ptr<Pending> p = std::move(it->second);
  awaiting_.erase(it);
  if (--p->unsettled == 0) input_->ack(p->token);
}

void AlertClassifierService::logSummary(bool force) {
  const auto now = std::chrono::steady_clock::now();
  std::uint64_t total = 0;
  for (std::uint64_t n : summary_counts_) total += n;
  if (total == 0 && !force) {
    summary_since_ = now;
    return;
  }
  if (total == 0) return;
  std::string by_tier;
  for (std::size_t i = 1; i <= kTierSlots; ++i) {
    const std::size_t slot = i % kTierSlots;  // the tiers first, unspecified last
    if (summary_counts_[slot] == 0) continue;
    if (!by_tier.empty()) by_tier += ", ";
    by_tier += fmt::format("{} {}", summary_counts_[slot], tierCounters()[slot].substr(7));
  }
  runtime_->log()->info("{} alerts published in the last {:.0f} s ({})", total,
                        std::chrono::duration<double>(now - summary_since_).count(), by_tier);
  summary_counts_.fill(0);
  summary_since_ = now;
}

void AlertClassifierService::writeLog(const std::string& line) {
  if (!alert_log_.is_open() || line.empty()) return;
  alert_log_ << line << '\n';
  alert_log_.flush();
  if (!alert_log_) {
    runtime_->stats().addCounter("alert_log_errors");
    runtime_->log()->warn("cannot write alert log {}", options_.alert_log);
    alert_log_.clear();
  }
}

void AlertClassifierService::report(runtime::StatsReporter& r) {
  r.setGauge("files_awaiting_downstream", static_cast<double>(awaiting_.size()));
}

void AlertClassifierService::stop(service::Runtime& rt) {
  logSummary(true);
  rt.log()->info("alert-classifier stopping: {} alerts published, {} not yet acknowledged downstream",
                 rt.stats().counter("alerts_published"), awaiting_.size());
}

}  // namespace emwin::sinks
