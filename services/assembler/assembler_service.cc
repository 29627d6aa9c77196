#include "assembler_service.h"

#include "bus/publisher.h"
#include "bus/topics.h"
#include "mapping/mapping.h"

namespace emwin::services {
namespace v1 = emwin::bus::v1;

void addAssemblerOptions(runtime::Cli& cli, AssemblerOptions& o) {
  cli.option("--connect", o.connect, "ingest's pipeline endpoint")->check(runtime::ConnectEndpoint());
  service::addProducerOptions(cli, o.producer, "files");
  cli.option("--group", o.group, "our consumer group at ingest (replicas share the segments)")
      ->check(runtime::NonEmpty());
  cli.option("--state-dir", o.state_dir, "replay position and the downstream groups known (kept across restarts)")
      ->check(runtime::WritableDir());
  cli.option("--credit", o.credit,
             "segments in flight from ingest; also bounds partial files (the largest products need ~400)")
      ->check(runtime::UIntRange(64, 1u << 20));
  cli.option("--wait-consumers", o.wait_consumers,
             "take no segments until this many downstream replicas joined (first start only)")
      ->check(runtime::UIntRange(0, 10'000));
  cli.option("--partial-timeout-s", o.partial_timeout_s, "give up a partial file idle this long")
      ->check(runtime::IntRange(1, 86'400 * 7));
  cli.option("--max-partial-mb", o.max_partial_mb, "memory cap of partial files")
      ->check(runtime::UIntRange(1, 1 << 20));
  cli.option("--dedupe-window-s", o.dedupe_window_s, "suppress identical retransmissions within this window (0 = off)")
      ->check(runtime::IntRange(0, 86'400 * 7));
}

AssemblerService::AssemblerService(AssemblerOptions options) : options_(std::move(options)) {}
AssemblerService::~AssemblerService() = default;

std::string AssemblerService::tapEndpoint() const { return publisher_ ? publisher_->tapEndpoint() : std::string(); }
std::string AssemblerService::pipelineEndpoint() const {
  return publisher_ ? publisher_->pipelineEndpoint() : std::string();
}

void AssemblerService::start(service::Runtime& rt) {
  runtime_ = &rt;
  const auto& log = rt.log();
  publisher_ = &rt.publisher(options_.producer, rt.stateDir("--state-dir", options_.state_dir));
  publisher_->setSettledHandler([this](std::uint64_t seq) { onSettled(seq); });

  assembly::Options ao;
  ao.partial_timeout = std::chrono::seconds(options_.partial_timeout_s);
  ao.max_partial_bytes = options_.max_partial_mb << 20;
  ao.dedupe_window = std::chrono::seconds(options_.dedupe_window_s);
  // Segments of partial files stay unacknowledged, so they count against the
  // credit ingest grants us: keep the partial-file memory cap below that, or
  // the pipeline would wait for blocks it can no longer be sent.
  const std::size_t credit_blocks = options_.credit > 128 ? options_.credit - 64 : options_.credit / 2;
  const std::size_t credit_cap = credit_blocks * assembly::Assembler::kBlockCost;
  if (credit_blocks < 400) {
    log->warn("--credit {} leaves room for {} blocks of partial files: products larger than that (the feed's "
              "images reach ~375 blocks) will be given up and counted as evictions.memory",
              options_.credit, credit_blocks);
  }
  if (ao.max_partial_bytes > credit_cap) {
    log->info("partial-file memory cap lowered to {} bytes to fit the credit window of {} segments", credit_cap,
              options_.credit);
    ao.max_partial_bytes = credit_cap;
  }
  assembler_ = std::make_unique<assembly::Assembler>(ao, *this);

  bus::PipelineSubscriberOptions so;
  so.endpoint = options_.connect;
  so.group = options_.group;
  so.replica = rt.instance();
  so.topic_prefixes = {"seg."};
  so.credit_window = options_.credit;
  so.state_file = options_.state_dir + "/pipeline.state";
  input_ = &rt.pipelineInput(so, [this](bus::Received&& m) { onSegment(std::move(m)); });
  rt.stats().setLabel("upstream", options_.connect);

  rt.every(std::chrono::seconds(1), [this] { assembler_->expire(); });
  if (options_.wait_consumers > 0) {
    waiting_for_consumers_ = true;
    rt.holdInputs(true);
    log->info("waiting for {} downstream consumer(s) before taking segments", options_.wait_consumers);
    rt.every(std::chrono::milliseconds(20), [this, &rt] {
      if (!waiting_for_consumers_) return;
      const std::size_t replicas = publisher_->stats().pipeline.replicas;
      if (replicas < options_.wait_consumers) return;
      waiting_for_consumers_ = false;
      rt.log()->info("{} downstream consumer(s) present; taking segments", replicas);
      rt.holdInputs(false);
    });
  }
  log->info("assembler {}: segments from {}, files on tap {} and pipeline {}", rt.instance(), options_.connect,
            publisher_->tapEndpoint(), publisher_->pipelineEndpoint());
}

void AssemblerService::onSegment(bus::Received&& m) {
  if (m.header.payload_type() != v1::Segment::descriptor()->full_name() || !segment_msg_.ParseFromString(m.payload) ||
      !mapping::fromMessage(segment_msg_, segment_)) {
    ++bad_messages_;
    runtime_->log()->warn("ignoring unusable message on {} (type '{}')", m.topic, m.header.payload_type());
    input_->ack(m);
    return;
  }
  published_now_.clear();
  const assembly::AddResult r = assembler_->add(segment_, segment_msg_.source());
  ++outcomes_[std::string(assembly::addOutcomeName(r.outcome))];
  switch (r.outcome) {
    case assembly::AddOutcome::kStored:
      held_[FileKey{segment_.filename, segment_.fd_unix_s, segment_.total_blocks}].push_back(m.ackToken());
      ++held_count_;
      return;
    case assembly::AddOutcome::kCompleted: {
      auto c = std::make_shared<Completion>();
      auto it = held_.find(FileKey{segment_.filename, segment_.fd_unix_s, segment_.total_blocks});
      if (it != held_.end()) {
        held_count_ -= it->second.size();
        c->tokens = std::move(it->second);
        held_.erase(it);
      }
      c->tokens.push_back(m.ackToken());
      c->unsettled = static_cast<std::uint32_t>(published_now_.size());
      awaiting_segments_ += c->tokens.size();
      for (std::uint64_t seq : published_now_) awaiting_.emplace(seq, c);
      if (c->unsettled == 0) {  // defensive: a completion always publishes
        awaiting_segments_ -= c->tokens.size();
        release(c->tokens);
      }
      return;
    }
    case assembly::AddOutcome::kSuppressed: {
      // A retransmission of a product delivered within the window: done.
      auto it = held_.find(FileKey{segment_.filename, segment_.fd_unix_s, segment_.total_blocks});
      if (it != held_.end()) {
        held_count_ -= it->second.size();
        release(it->second);
        held_.erase(it);
      }
      input_->ack(m);
      return;
    }
    case assembly::AddOutcome::kDuplicateBlock:
    case assembly::AddOutcome::kFill:
    case assembly::AddOutcome::kRejected:
    case assembly::AddOutcome::kEvicted:  // its file's other segments were released by onEviction()
      input_->ack(m);
      return;
  }
}

void AssemblerService::onFile(assembly::CompletedFile&& file) {
  mapping::toMessage(std::move(file), file_msg_);
  const std::uint64_t seq = publisher_->publish(bus::topics::file(file_msg_.filename()), file_msg_);
  published_now_.push_back(seq);
  runtime_->stats().addCounter("files_published");
  runtime_->stats().addCounter("bytes_published", file_msg_.size_bytes());
}

void AssemblerService::onSettled(std::uint64_t sequence) {
  auto it = awaiting_.find(sequence);
  if (it == awaiting_.end()) return;
  std::shared_ptr<Completion> c = std::move(it->second);
  awaiting_.erase(it);
  if (--c->unsettled == 0) {
    awaiting_segments_ -= c->tokens.size();
    release(c->tokens);
  }
}

void AssemblerService::onEviction(const assembly::Eviction& e) {
  runtime_->log()->warn("gave up partial file {} (fd {}): {} of {} blocks held, reason {}", e.name, e.fd_unix_s,
                        e.blocks_held, e.total_blocks, assembly::evictionReasonName(e.reason));
  runtime_->stats().addCounter("evictions." + std::string(assembly::evictionReasonName(e.reason)));
  auto it = held_.find(FileKey{e.name, e.fd_unix_s, e.total_blocks});
  if (it == held_.end()) return;
  held_count_ -= it->second.size();
  release(it->second);
  held_.erase(it);
}

void AssemblerService::release(std::vector<bus::AckToken>& tokens) {
  for (const auto& t : tokens) input_->ack(t);
  tokens.clear();
}

void AssemblerService::report(runtime::StatsReporter& r) {
  const auto& st = assembler_->stats();
  r.setCounter("segments_in", st.segments_in);
  r.setCounter("duplicate_blocks", st.duplicate_blocks);
  r.setCounter("fill_dropped", st.fill_dropped);
  r.setCounter("files_completed", st.files_completed);
  r.setCounter("retransmissions_suppressed", st.retransmissions_suppressed);
  r.setCounter("archives_opened", st.archives_opened);
  r.setCounter("archive_entries", st.archive_entries);
  r.setCounter("bad_messages", bad_messages_);
  for (std::size_t i = 0; i < assembly::kArchiveErrorCount; ++i) {
    r.setCounter("archive_errors." + std::string(assembly::archiveErrorName(static_cast<assembly::ArchiveError>(i))),
                 st.archive_errors[i]);
  }
  for (std::size_t i = 0; i < assembly::kRejectReasonCount; ++i) {
    r.setCounter(
        "rejected_segments." + std::string(assembly::rejectReasonName(static_cast<assembly::RejectReason>(i))),
        st.rejected_segments[i]);
  }
  for (const auto& [outcome, n] : outcomes_) r.setCounter("segment_outcomes." + outcome, n);
  r.setGauge("partial_files", static_cast<double>(st.partial_files));
  r.setGauge("partial_bytes", static_cast<double>(st.partial_bytes));
  r.setGauge("unacked_segments", static_cast<double>(held_count_ + awaiting_segments_));
  r.setGauge("segments_awaiting_downstream", static_cast<double>(awaiting_segments_));
}

void AssemblerService::stop(service::Runtime& rt) {
  const auto partials = assembler_->partials();
  rt.log()->info(
      "stopping with {} partial file(s) ({} segments) and {} completed file(s)' segments ({}) not yet acknowledged "
      "downstream; none of them is acknowledged to ingest, which hands them to the next assembler",
      partials.size(), held_count_, awaiting_.size(), awaiting_segments_);
}

}  // namespace emwin::services
