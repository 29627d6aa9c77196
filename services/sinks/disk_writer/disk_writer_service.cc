#include "disk_writer_service.h"

#include <cerrno>

#include <nlohmann/json.hpp>

namespace emwin::sinks {
namespace {
namespace v1 = emwin::bus::v1;

std::string sidecarFor(const v1::CompletedFile& file, const std::string& sha) {
  nlohmann::json j;
  j["filename"] = file.filename();
  j["size_bytes"] = file.data().size();
  j["sha256"] = sha;
  j["raw_sha256"] = file.raw_sha256();
  j["fd_unix_s"] = file.fd_unix_s();
  j["first_segment_unix_us"] = file.first_segment_unix_us();
  j["last_segment_unix_us"] = file.last_segment_unix_us();
  j["block_count"] = file.block_count();
  j["source"] = file.source();
  j["origin"] = v1::FileOrigin_Name(file.origin());
  j["is_archive"] = file.is_archive();
  if (file.has_archive()) {
    j["archive"] = {{"archive_name", file.archive().archive_name()},
                    {"archive_sha256", file.archive().archive_sha256()},
                    {"entry_name", file.archive().entry_name()}};
  }
  j["producer"] = file.header().producer_id();
  j["epoch"] = file.header().epoch();
  j["sequence"] = file.header().sequence();
  return j.dump();
}

std::string errnoName(int e) {
  switch (e) {
    case ENOSPC: return "enospc";
    case EACCES: return "eacces";
    case EROFS: return "erofs";
    default: return "other";
  }
}

}  // namespace

void addDiskWriterOptions(runtime::Cli& cli, DiskWriterOptions& o) {
  cli.option("--connect", o.connect, "assembler pipeline endpoint")->check(runtime::ConnectEndpoint());
  cli.option("--out", o.out, "output root directory")->check(runtime::WritableDir());
  cli.option("--group", o.group, "consumer group (replicas of one group share the files)")
      ->check(runtime::NonEmpty());
  cli.option("--replica", o.replica, "replica id, unique in the group (default: <instance>-<pid>)");
  cli.option("--state-dir", o.state_dir, "directory of the replay position (recovery after restart)")
      ->check(runtime::WritableDir());
  cli.flag("--sidecar", o.sidecar, "write <file>.json metadata beside each file");
  cli.flag("!--no-fsync", o.fsync, "skip fsync (faster, less durable)", "EMWIN_NO_FSYNC");
  cli.option("--credit", o.credit, "files in flight to this replica")->check(runtime::UIntRange(1, 65536));
  cli.option("--slow-ms", o.slow_ms, "test aid: every file takes at least this long")
      ->check(runtime::IntRange(0, 60'000));
  cli.option("--retry-min-ms", o.retry_min_ms, "first delay before retrying a failed write")
      ->check(runtime::IntRange(1, 60'000));
  cli.option("--retry-max-ms", o.retry_max_ms, "longest delay between retries")->check(runtime::IntRange(1, 3'600'000));
}

DiskWriterService::DiskWriterService(DiskWriterOptions options) : options_(std::move(options)) {}

void DiskWriterService::start(service::Runtime& rt) {
  runtime_ = &rt;
  runtime::checkWritableDir("--out", options_.out);
  rt.stateDir("--state-dir", options_.state_dir);
  if (options_.retry_max_ms < options_.retry_min_ms) {
    throw runtime::ConfigError("--retry-max-ms", "must not be below --retry-min-ms");
  }
  store_.emplace(options_.out, options_.fsync);
  bus::PipelineSubscriberOptions so;
  so.endpoint = options_.connect;
  so.group = options_.group;
  so.replica = options_.replica;
  so.topic_prefixes = {"file."};
  so.credit_window = options_.credit;
  so.state_file = options_.state_dir + "/pipeline.state";
  input_ = &rt.pipelineInput(so, [this](bus::Received&& m) { onFile(std::move(m)); });
  rt.stats().setLabel("out", store_->root().string());
  rt.stats().setLabel("group", options_.group);
  rt.log()->info("disk-writer replica {} of group {}: {} -> {}", options_.replica, options_.group, options_.connect,
                 store_->root().string());
}

void DiskWriterService::onFile(bus::Received&& m) {
  if (m.header.payload_type() != v1::CompletedFile::descriptor()->full_name() || !file_.ParseFromString(m.payload)) {
    count("bad_messages");
    runtime_->log()->warn("ignoring message on {} that is not a CompletedFile (type '{}')", m.topic,
                          m.header.payload_type());
    input_->ack(m);
    return;
  }
  held_ = m.ackToken();
  backoff_ms_ = options_.retry_min_ms;
  if (options_.slow_ms > 0) {  // test aid: a slow disk, without blocking the reactor
    runtime_->holdInputs(true);
    runtime_->after(std::chrono::milliseconds(options_.slow_ms), [this] {
      if (writeHeld()) runtime_->holdInputs(false);
    });
    return;
  }
  if (!writeHeld()) runtime_->holdInputs(true);
}

bool DiskWriterService::writeHeld() {
  const auto& data = file_.data();
  sha_.reset();
  sha_.update(data);
  const std::string sha = sha_.finishHex();
  StoredFileInfo info;
  info.name = file_.filename();
  info.fd_unix_s = file_.fd_unix_s();
  info.sha256 = sha;
  if (options_.sidecar) info.sidecar_json = sidecarFor(file_, sha);
  const WriteResult r =
      store_->write(info, std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
  if (r.name_verdict == NameVerdict::kRewritten) count("names_rewritten");
  switch (r.status) {
    case WriteStatus::kWritten:
      count("files_written");
      count("bytes_written", data.size());
      if (!file_.sha256().empty() && file_.sha256() != sha) {
        count("sha256_mismatch");
        runtime_->log()->warn("{}: sha256 in message {} does not match its bytes {}; stored by the computed hash",
                              file_.filename(), file_.sha256(), sha);
      }
      if (runtime_->log()->should_log(spdlog::level::debug)) runtime_->log()->debug("wrote {}", r.path.string());
      break;
    case WriteStatus::kAlreadyPresent:
      count("files_already_present");
      break;
    case WriteStatus::kRejectedName:
      count("names_rejected");
      runtime_->log()->warn("rejected file name '{}' ({}): not written", file_.filename(), r.error);
      break;
    case WriteStatus::kIoError:
      count("io_errors." + errnoName(r.error_code));
      runtime_->log()->error("{} (retrying in {} ms)", r.error, backoff_ms_);
      runtime_->setState(v1::SERVICE_STATE_DEGRADED);
      retryLater();
      return false;
  }
  input_->ack(*held_);
  held_.reset();
  runtime_->setState(v1::SERVICE_STATE_RUNNING);
  return true;
}

void DiskWriterService::retryLater() {
  const int delay = backoff_ms_;
  backoff_ms_ = std::min(backoff_ms_ * 2, options_.retry_max_ms);
  runtime_->after(std::chrono::milliseconds(delay), [this] {
    count("write_retries");
    if (writeHeld()) runtime_->holdInputs(false);
  });
}

void DiskWriterService::report(runtime::StatsReporter& r) {
  for (const auto& [name, n] : counters_) r.setCounter(name, n);
  r.setGauge("retrying", held_ && backoff_ms_ > options_.retry_min_ms ? 1.0 : 0.0);
}

}  // namespace emwin::sinks
