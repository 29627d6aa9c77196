#include "archive_service.h"

#include <unistd.h>

#include <ctime>
#include <filesystem>

#include <fmt/format.h>

#include "products/product.h"

namespace emwin::sinks {
namespace {
namespace v1 = emwin::bus::v1;
using Clock = std::chrono::steady_clock;

std::int64_t wallNow() { return static_cast<std::int64_t>(std::time(nullptr)); }

double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// --db: a URL the archive can use (sqlite:PATH, postgresql://...).
CLI::Validator DatabaseUrlValidator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        std::string error;
        if (!archive::parseDatabaseUrl(value, error)) return error;
        return {};
      },
      "URL");
}

}  // namespace

void addArchiveOptions(runtime::Cli& cli, ArchiveOptions& o) {
  cli.option("--db", o.db, "database: sqlite:PATH (one file, WAL) or postgresql://user[:password]@host[:port]/dbname")
      ->check(DatabaseUrlValidator());
  cli.option("--connect", o.connect, "assembler pipeline endpoint (files; '' = do not archive files)")
      ->check(runtime::ConnectEndpoint(true));
  cli.option("--alerts-connect", o.alerts_connect,
             "alert-classifier pipeline endpoint (alerts and test alerts; '' = do not archive alerts)")
      ->check(runtime::ConnectEndpoint(true));
  cli.option("--group", o.group, "consumer group on both pipelines")->check(runtime::NonEmpty());
  cli.option("--replica", o.replica, "replica id in the group (default: the instance)");
  cli.option("--state-dir", o.state_dir, "directory of the replay positions (recovery after restart)")
      ->check(runtime::WritableDir());
  cli.option("--credit", o.credit, "messages in flight to the archive, per input")->check(runtime::UIntRange(1, 65536));
  cli.option("--batch-rows", o.batch_rows, "commit when this many rows wait")->check(runtime::UIntRange(1, 100'000));
  cli.option("--batch-ms", o.batch_ms, "commit at most this long after the first row of a batch arrived")
      ->check(runtime::IntRange(1, 60'000));
  cli.option("--keep-days", o.keep_days,
             "delete files and alerts received more than this many days ago (events once they are over); 0 = keep "
             "everything")
      ->check(runtime::IntRange(0, 36'500));
  cli.option("--retention-interval-s", o.retention_interval_s, "how often retention runs")
      ->check(runtime::IntRange(1, 86'400));
  cli.option("--retry-min-ms", o.retry_min_ms, "first delay before retrying after a database error")
      ->check(runtime::IntRange(1, 60'000));
  cli.option("--retry-max-ms", o.retry_max_ms, "longest delay between retries")->check(runtime::IntRange(1, 3'600'000));
  cli.option("--exit-after-commits", o.exit_after_commits,
             "test aid: exit with code 3 right after this many commits, before acknowledging the last batch")
      ->check(runtime::IntRange(0, 1'000'000'000));
}

void checkArchiveOptions(const ArchiveOptions& o) {
  std::string error;
  auto url = archive::parseDatabaseUrl(o.db, error);
  if (!url) throw runtime::ConfigError("--db", error);
  if (o.connect.empty() && o.alerts_connect.empty()) {
    throw runtime::ConfigError("--connect", "neither files (--connect) nor alerts (--alerts-connect): nothing to archive");
  }
  if (o.retry_max_ms < o.retry_min_ms) throw runtime::ConfigError("--retry-max-ms", "must not be below --retry-min-ms");
  runtime::checkWritableDir("--state-dir", o.state_dir);
  if (url->backend == archive::Backend::kSqlite) {
    const std::filesystem::path parent = std::filesystem::path(url->path).parent_path();
    runtime::checkWritableDir("--db", parent.empty() ? std::string(".") : parent.string());
    std::error_code ec;
    if (std::filesystem::is_directory(url->path, ec)) {
      throw runtime::ConfigError("--db", "'" + url->path + "' is a directory, not a database file");
    }
  }
}

ArchiveService::ArchiveService(ArchiveOptions options) : options_(std::move(options)) {}

ArchiveService::~ArchiveService() {
  worker_.reset();  // joins the thread before the writer it uses goes
}

void ArchiveService::start(service::Runtime& rt) {
  runtime_ = &rt;
  checkArchiveOptions(options_);
  std::string error;
  url_ = *archive::parseDatabaseUrl(options_.db, error);
  std::error_code ec;
  std::filesystem::create_directories(options_.state_dir, ec);
  if (ec) throw runtime::ConfigError("--state-dir", "cannot create '" + options_.state_dir + "': " + ec.message());
  if (options_.replica.empty()) options_.replica = rt.instance();
  writer_ = std::make_shared<archive::Writer>(archive::makeDatabase(url_, archive::OpenMode::kWrite));
  if (url_.backend == archive::Backend::kSqlite) {
    // A local file: open it now, so a path that cannot be used is bad configuration (exit 2).
    const std::filesystem::path parent = std::filesystem::path(url_.path).parent_path();
    std::filesystem::create_directories(parent.empty() ? "." : parent, ec);
    if (ec) throw runtime::ConfigError("--db", "cannot create '" + parent.string() + "': " + ec.message());
    try {
      applyOpened(writer_->open());
    } catch (const archive::DatabaseError& e) {
      throw runtime::ConfigError("--db", e.what());
    }
  }
  backoff_ms_ = options_.retry_min_ms;
  worker_ = std::make_unique<DbWorker>(rt.io());
  // Join both groups now (the producers hold our messages from here on); read once the database is ready.
  held_ = !ready_;
  rt.holdInputs(held_);
  auto input = [&](const std::string& endpoint, std::vector<std::string> prefixes, const std::string& state,
                   const char* option, auto handler) -> bus::PipelineSubscriber* {
    if (endpoint.empty()) return nullptr;
    bus::PipelineSubscriberOptions so;
    so.endpoint = endpoint;
    so.group = options_.group;
    so.replica = options_.replica;
    so.topic_prefixes = std::move(prefixes);
    so.credit_window = options_.credit;
    so.state_file = options_.state_dir + "/" + state;
    return &rt.pipelineInput(so, handler, option);
  };
  files_in_ = input(options_.connect, {"file."}, "files.state", "--connect",
                    [this](bus::Received&& m) { onFile(std::move(m)); });
  alerts_in_ = input(options_.alerts_connect, {"alert.", "test.alert."}, "alerts.state", "--alerts-connect",
                     [this](bus::Received&& m) { onAlert(std::move(m)); });
  rt.stats().setLabel("db", url_.display);
  rt.stats().setLabel("group", options_.group);
  if (!ready_) {
    rt.setState(v1::SERVICE_STATE_DEGRADED);
    openAsync();
  }
  if (options_.keep_days > 0) {
    rt.after(std::chrono::seconds(5), [this] { retention(); });
    rt.every(std::chrono::seconds(options_.retention_interval_s), [this] { retention(); });
  }
  rt.every(std::chrono::seconds(60), [this] { logSummary(false); });
  rt.log()->info("archive {} (group {}): files from {}, alerts from {} into {}", options_.replica, options_.group,
                 options_.connect.empty() ? "(none)" : options_.connect,
                 options_.alerts_connect.empty() ? "(none)" : options_.alerts_connect, url_.display);
}

void ArchiveService::applyOpened(const archive::OpenResult& r) {
  const auto& log = runtime_->log();
  for (const auto& note : r.notes) {
    if (note.rfind("warning:", 0) == 0) {
      log->warn("{}: {}", url_.display, note.substr(9));
    } else {
      log->info("{}: {}", url_.display, note);
    }
  }
  log->info("database {} ready: schema version {}, {}; active state restored: {} event(s), latest product {}",
            url_.display, r.schema_version,
            r.spatial ? "PostGIS geometry" : (url_.backend == archive::Backend::kSqlite ? "R*Tree boxes" : "boxes (no PostGIS)"),
            r.events_restored, r.latest_issued == 0 ? std::string("none") : products::isoUtc(r.latest_issued));
  active_events_ = r.events_restored;
  ready_ = true;
}

void ArchiveService::openAsync() {
  auto out = std::make_shared<Outcome>();
  auto writer = writer_;
  worker_->run(
      [writer, out] {
        try {
          out->open = writer->open();
          out->ok = true;
        } catch (const archive::DatabaseError& e) {
          out->kind = e.kind();
          out->error = e.what();
        } catch (const std::exception& e) {
          out->error = e.what();
        }
      },
      [this, out] { onOpened(*out); });
}

void ArchiveService::onOpened(const Outcome& o) {
  if (runtime_->stopping()) return;
  if (!o.ok) {
    failed(o, "cannot open the database");
    if (o.kind != archive::DatabaseError::Kind::kFatal) {
      runtime_->after(std::chrono::milliseconds(backoff_ms_), [this] { openAsync(); });
      backoff_ms_ = std::min(backoff_ms_ * 2, options_.retry_max_ms);
    }
    return;
  }
  applyOpened(o.open);
  if (degraded_) {
    runtime_->log()->info("database {} reachable after {:.1f} s", url_.display, msSince(degraded_since_) / 1000.0);
  }
  degraded_ = false;
  retries_ = 0;
  backoff_ms_ = options_.retry_min_ms;
  runtime_->setState(v1::SERVICE_STATE_RUNNING);
  updateHold();
}

void ArchiveService::onFile(bus::Received&& m) {
  if (m.header.payload_type() != v1::CompletedFile::descriptor()->full_name() || !file_.ParseFromString(m.payload)) {
    count("bad_messages");
    runtime_->log()->warn("ignoring message on {} that is not a CompletedFile (type '{}')", m.topic,
                          m.header.payload_type());
    files_in_->ack(m);
    return;
  }
  pending_.batch.files.push_back(archive::fileRecord(file_, wallNow()));
  pending_.acks.push_back({files_in_, m.ackToken()});
  added();
}

void ArchiveService::onAlert(bus::Received&& m) {
  if (m.header.payload_type() != v1::Alert::descriptor()->full_name() || !alert_.ParseFromString(m.payload)) {
    count("bad_messages");
    runtime_->log()->warn("ignoring message on {} that is not an Alert (type '{}')", m.topic, m.header.payload_type());
    alerts_in_->ack(m);
    return;
  }
  pending_.batch.alerts.push_back(archive::alertRecord(alert_, m.topic, wallNow()));
  pending_.acks.push_back({alerts_in_, m.ackToken()});
  added();
}

void ArchiveService::added() {
  if (pending_.batch.rows() == 1) {
    pending_since_ = Clock::now();
    runtime_->after(std::chrono::milliseconds(options_.batch_ms), [this, generation = generation_] {
      if (generation == generation_) flush();
    });
  }
  if (pending_.batch.rows() >= options_.batch_rows) flush();
  updateHold();
}

void ArchiveService::flush() {
  if (inflight_ || pending_.batch.empty() || !ready_) return;
  inflight_ = std::make_shared<Pending>(std::move(pending_));
  pending_ = Pending{};
  ++generation_;
  submit();
  updateHold();
}

void ArchiveService::submit() {
  auto out = std::make_shared<Outcome>();
  auto writer = writer_;
  auto batch = inflight_;
  const std::int64_t now = wallNow();
  worker_->run(
      [writer, batch, out, now] {
        const auto t0 = Clock::now();
        try {
          out->commit = writer->commit(batch->batch, now);
          out->ok = true;
        } catch (const archive::DatabaseError& e) {
          out->kind = e.kind();
          out->error = e.what();
        } catch (const std::exception& e) {
          out->error = e.what();
        }
        out->active_events = writer->activeState().stats().events;
        out->ms = msSince(t0);
      },
      [this, out] { onCommitted(*out); });
}

void ArchiveService::onCommitted(const Outcome& o) {
  if (!inflight_) return;
  const auto& log = runtime_->log();
  if (!o.ok) {
    failed(o, "cannot store a batch");
    if (o.kind == archive::DatabaseError::Kind::kFatal) return;
    runtime_->after(std::chrono::milliseconds(backoff_ms_), [this] {
      if (!inflight_ || runtime_->stopping()) return;
      ++retries_;
      count("db_retries");
      submit();
    });
    backoff_ms_ = std::min(backoff_ms_ * 2, options_.retry_max_ms);
    return;
  }
  const archive::CommitResult& r = o.commit;
  ++commits_;
  if (options_.exit_after_commits > 0 && commits_ >= static_cast<std::uint64_t>(options_.exit_after_commits)) {
    log->warn("test aid: exiting after commit {} without acknowledging its {} message(s)", commits_,
              inflight_->acks.size());
    log->flush();
    ::_exit(3);
  }
  for (const Ack& a : inflight_->acks) a.input->ack(a.token);
  count("commits");
  count("files_stored", r.files_new);
  count("files_duplicate", r.files_duplicate);
  count("alerts_stored", r.alerts_new);
  count("alerts_duplicate", r.alerts_duplicate);
  count("test_alerts_stored", r.alerts_test);
  count("events_written", r.events_written);
  summary_files_ += r.files_new;
  summary_alerts_ += r.alerts_new;
  summary_duplicates_ += r.files_duplicate + r.alerts_duplicate;
  for (const auto& why : r.rejected) {
    count("rows_rejected");
    log->error("row refused by the database, skipped (acknowledged; counted as rows_rejected): {}", why);
  }
  last_commit_ms_ = o.ms;
  active_events_ = o.active_events;
  if (log->should_log(spdlog::level::debug)) {
    log->debug("committed {} file(s) ({} already stored), {} alert(s) ({} already stored), {} event(s) in {:.1f} ms",
               r.files_new, r.files_duplicate, r.alerts_new, r.alerts_duplicate, r.events_written, o.ms);
  }
  if (degraded_) {
    log->info("database {} back: the held batch is stored after {:.1f} s and {} retr{}", url_.display,
              msSince(degraded_since_) / 1000.0, retries_, retries_ == 1 ? "y" : "ies");
    degraded_ = false;
    runtime_->setState(v1::SERVICE_STATE_RUNNING);
  }
  retries_ = 0;
  backoff_ms_ = options_.retry_min_ms;
  inflight_.reset();
  runtime_->afterWork();  // sends the acknowledgements
  if (!pending_.batch.empty() && (pending_.batch.rows() >= options_.batch_rows ||
                                  msSince(pending_since_) >= static_cast<double>(options_.batch_ms))) {
    flush();
  }
  updateHold();
}

void ArchiveService::failed(const Outcome& o, const char* what) {
  const auto& log = runtime_->log();
  count("db_errors");
  if (o.kind == archive::DatabaseError::Kind::kFatal) {
    log->critical("{}: {} (stopping; nothing unstored was acknowledged)", what, o.error);
    runtime_->requestStop(1);
    return;
  }
  if (!degraded_) {
    degraded_ = true;
    degraded_since_ = Clock::now();
    last_error_log_ = Clock::now();
    log->error("{}: {} — holding input and retrying (first in {} ms); nothing is acknowledged until it is stored",
               what, o.error, backoff_ms_);
  } else if (msSince(last_error_log_) >= 30'000) {
    last_error_log_ = Clock::now();
    log->warn("database still unavailable after {:.0f} s and {} retries: {}", msSince(degraded_since_) / 1000.0,
              retries_, o.error);
  }
  runtime_->setState(v1::SERVICE_STATE_DEGRADED);
  updateHold();
}

void ArchiveService::updateHold() {
  const bool hold = !ready_ || degraded_ || (inflight_ && pending_.batch.rows() >= options_.batch_rows);
  if (hold == held_) return;
  held_ = hold;
  runtime_->holdInputs(hold);
}

void ArchiveService::retention() {
  if (options_.keep_days <= 0 || !ready_ || pruning_ || runtime_->stopping()) return;
  pruning_ = true;
  const std::int64_t cutoff = wallNow() - static_cast<std::int64_t>(options_.keep_days) * 86400;
  auto out = std::make_shared<Outcome>();
  auto writer = writer_;
  worker_->run(
      [writer, out, cutoff] {
        try {
          out->pruned = writer->prune(cutoff);
          out->ok = true;
        } catch (const std::exception& e) {
          out->error = e.what();
        }
      },
      [this, out, cutoff] {
        pruning_ = false;
        if (!out->ok) {
          count("retention_errors");
          runtime_->log()->warn("retention failed (tried again in {} s): {}", options_.retention_interval_s, out->error);
          return;
        }
        const auto& p = out->pruned;
        count("retention_files_deleted", p.files);
        count("retention_alerts_deleted", p.alerts);
        count("retention_events_deleted", p.events);
        if (p.files + p.alerts + p.events > 0) {
          runtime_->log()->info("retention (--keep-days {}): deleted {} file(s), {} alert(s), {} event(s) received "
                                "before {}",
                                options_.keep_days, p.files, p.alerts, p.events, products::isoUtc(cutoff));
        }
      });
}

void ArchiveService::logSummary(bool force) {
  if (summary_files_ + summary_alerts_ + summary_duplicates_ == 0 && !force) {
    summary_since_ = Clock::now();
    return;
  }
  runtime_->log()->info("stored {} file(s) and {} alert(s) in the last {:.0f} s ({} delivered again, already stored)",
                        summary_files_, summary_alerts_, msSince(summary_since_) / 1000.0, summary_duplicates_);
  summary_files_ = summary_alerts_ = summary_duplicates_ = 0;
  summary_since_ = Clock::now();
}

void ArchiveService::report(runtime::StatsReporter& r) {
  for (const auto& [name, n] : counters_) r.setCounter(name, n);
  r.setGauge("pending_rows", static_cast<double>(pending_.batch.rows()));
  r.setGauge("inflight_rows", inflight_ ? static_cast<double>(inflight_->batch.rows()) : 0.0);
  r.setGauge("degraded", degraded_ || !ready_ ? 1.0 : 0.0);
  r.setGauge("last_commit_ms", last_commit_ms_);
  r.setGauge("active_events", static_cast<double>(active_events_));
}

void ArchiveService::stop(service::Runtime& rt) {
  // Store what is gathered and wait (at most --linger-ms) for it, so a clean
  // stop leaves little to be delivered again; what is not committed by then
  // is not acknowledged and comes back after a restart.
  if (ready_ && !degraded_ && !inflight_ && !pending_.batch.empty()) {
    inflight_ = std::make_shared<Pending>(std::move(pending_));
    pending_ = Pending{};
    submit();
  }
  if (worker_) worker_->drain(std::chrono::milliseconds(rt.options().linger_ms));
  if (files_in_) files_in_->flushAcks();
  if (alerts_in_) alerts_in_->flushAcks();
  logSummary(true);
  const std::size_t left = pending_.acks.size() + (inflight_ ? inflight_->acks.size() : 0);
  rt.log()->info("archive stopping: {} commit(s); {} message(s) not stored yet (not acknowledged: delivered again "
                 "after a restart)",
                 commits_, left);
}

}  // namespace emwin::sinks
