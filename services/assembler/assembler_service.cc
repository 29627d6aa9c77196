#include "assembler_service.h"

#include <algorithm>
#include <set>

#include "bus/publisher.h"
#include "bus/topics.h"
#include "mapping/mapping.h"

namespace emwin::services {
namespace v1 = emwin::bus::v1;

namespace {

constexpr std::size_t kMaxSourceName = 32;

// Why `name` cannot label a source ("" when it can).
std::string sourceNameReason(const std::string& name) {
  if (name.empty()) return "empty source name before '='";
  if (name.size() > kMaxSourceName) return "source name '" + name + "' is longer than 32 characters";
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return "source name '" + name + "' may only hold letters, digits, '_' and '-'";
  }
  return {};
}

// "[NAME=]ENDPOINT" -> source; the reason it is unusable in *why.
AssemblerSource parseSource(const std::string& text, std::string* why) {
  AssemblerSource s;
  const auto eq = text.find('=');
  const auto scheme = text.find("://");
  if (eq != std::string::npos && (scheme == std::string::npos || eq < scheme)) {
    s.name = text.substr(0, eq);
    s.endpoint = text.substr(eq + 1);
    *why = sourceNameReason(s.name);
    if (!why->empty()) return s;
  } else {
    s.endpoint = text;
    // Default label: what follows the scheme (host:port, an ipc path, an inproc name).
    s.name = scheme == std::string::npos ? text : text.substr(scheme + 3);
  }
  try {
    runtime::checkConnectEndpoint("--connect", s.endpoint);
  } catch (const runtime::ConfigError& e) {
    *why = std::string(e.what()).substr(std::string("--connect: ").size());
  }
  return s;
}

// A file name part made of the source name ([A-Za-z0-9._-]).
std::string fileSafe(const std::string& name) {
  std::string out;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    out.push_back(ok ? c : '_');
  }
  return out;
}

}  // namespace

std::vector<AssemblerSource> parseAssemblerSources(const std::vector<std::string>& connect) {
  if (connect.empty()) throw runtime::ConfigError("--connect", "no ingest pipeline given");
  if (connect.size() > assembly::kMaxSources) {
    throw runtime::ConfigError("--connect", std::to_string(connect.size()) + " pipelines given, at most " +
                                                std::to_string(assembly::kMaxSources) + " can be merged");
  }
  std::vector<AssemblerSource> out;
  std::set<std::string> names, endpoints, files;
  for (const auto& text : connect) {
    std::string why;
    AssemblerSource s = parseSource(text, &why);
    if (!why.empty()) throw runtime::ConfigError("--connect", "'" + text + "': " + why);
    if (!endpoints.insert(s.endpoint).second) {
      throw runtime::ConfigError("--connect", "'" + s.endpoint + "' is given twice");
    }
    if (!names.insert(s.name).second || !files.insert(fileSafe(s.name)).second) {
      throw runtime::ConfigError("--connect", "source name '" + s.name + "' is given twice (name them: NAME=ENDPOINT)");
    }
    out.push_back(std::move(s));
  }
  return out;
}

void addAssemblerOptions(runtime::Cli& cli, AssemblerOptions& o) {
  cli.option("--connect", o.connect,
             "ingest pipeline [NAME=]ENDPOINT (default tcp://127.0.0.1:5611); repeat it (EMWIN_CONNECT: "
             "comma-separated) to merge redundant ingests, NAME labels their counters")
      ->delimiter(',')
      ->check(CLI::Validator(
          [](std::string& v) {
            std::string why;
            parseSource(v, &why);
            return why.empty() ? why : "'" + v + "': " + why;
          },
          "[NAME=]ENDPOINT", "ConnectSource"));
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
  cli.option("--source-window-s", o.source_window_s,
             "with several --connect: per-source counters settle this long after a file is delivered")
      ->check(runtime::IntRange(0, 86'400));
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
  const std::vector<AssemblerSource> sources = parseAssemblerSources(options_.connect);
  publisher_ = &rt.publisher(options_.producer, rt.stateDir("--state-dir", options_.state_dir));
  publisher_->setSettledHandler([this](std::uint64_t seq) { onSettled(seq); });

  assembly::Options ao;
  ao.partial_timeout = std::chrono::seconds(options_.partial_timeout_s);
  ao.max_partial_bytes = options_.max_partial_mb << 20;
  ao.dedupe_window = std::chrono::seconds(options_.dedupe_window_s);
  ao.source_count = sources.size();
  ao.source_window = std::chrono::seconds(options_.source_window_s);
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

  // One input per ingest. Its replay position is its own (one pipeline keeps
  // the file name it always had, so an upgrade keeps its position).
  sources_.reserve(sources.size());
  std::string upstream;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const auto index = static_cast<assembly::SourceIndex>(i);
    bus::PipelineSubscriberOptions so;
    so.endpoint = sources[i].endpoint;
    so.group = options_.group;
    so.replica = rt.instance();
    so.topic_prefixes = {"seg."};
    so.credit_window = options_.credit;
    so.state_file = options_.state_dir +
                    (sources.size() == 1 ? "/pipeline.state" : "/pipeline-" + fileSafe(sources[i].name) + ".state");
    Source& source = sources_.emplace_back();
    source.config = sources[i];
    source.last = std::chrono::steady_clock::now();
    source.input = &rt.pipelineInput(so, [this, index](bus::Received&& m) { onSegment(index, std::move(m)); });
    rt.stats().setLabel("source." + sources[i].name, sources[i].endpoint);
    upstream += (upstream.empty() ? "" : ",") + sources[i].endpoint;
  }
  rt.stats().setLabel("upstream", upstream);

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
  std::string from;
  for (const auto& src : sources_) from += (from.empty() ? "" : ", ") + src.config.name + "=" + src.config.endpoint;
  log->info("assembler {}: segments from {}{}, files on tap {} and pipeline {}", rt.instance(), from,
            sources_.size() > 1 ? " (redundant ingest: merged)" : "", publisher_->tapEndpoint(),
            publisher_->pipelineEndpoint());
}

void AssemblerService::onSegment(assembly::SourceIndex index, bus::Received&& m) {
  Source& source = sources_[index];
  ++source.segments;
  source.last = std::chrono::steady_clock::now();
  if (source.producer != m.header.producer_id()) {
    source.producer = m.header.producer_id();
    runtime_->log()->info("source {} ({}) is {}", source.config.name, source.config.endpoint, source.producer);
    runtime_->stats().setLabel("source_producer." + source.config.name, source.producer);
  }
  if (m.header.payload_type() != v1::Segment::descriptor()->full_name() || !segment_msg_.ParseFromString(m.payload) ||
      !mapping::fromMessage(segment_msg_, segment_)) {
    ++bad_messages_;
    runtime_->log()->warn("ignoring unusable message on {} from {} (type '{}')", m.topic, source.config.name,
                          m.header.payload_type());
    source.input->ack(m);
    return;
  }
  published_now_.clear();
  const assembly::AddResult r = assembler_->add(segment_, segment_msg_.source(), index);
  ++outcomes_[static_cast<std::size_t>(r.outcome)];
  const FileKey key{segment_.filename, segment_.fd_unix_s, segment_.total_blocks};
  const HeldToken token{index, m.ackToken()};
  const bool mine_released = (r.released & assembly::sourceBit(index)) != 0;
  switch (r.outcome) {
    case assembly::AddOutcome::kStored:
      held_[key].push_back(token);
      ++held_count_;
      return;
    case assembly::AddOutcome::kCompleted: {
      auto c = std::make_shared<Completion>();
      take(key, r.released, c->tokens);
      if (mine_released) {
        c->tokens.push_back(token);
      } else {  // this input's own version of the key is still open: its segment stays held
        held_[key].push_back(token);
        ++held_count_;
      }
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
      std::vector<HeldToken> done;
      take(key, r.released, done);
      release(done);
      if (mine_released) {
        source.input->ack(m);
      } else {
        held_[key].push_back(token);
        ++held_count_;
      }
      return;
    }
    case assembly::AddOutcome::kDuplicateBlock:
    case assembly::AddOutcome::kFill:
    case assembly::AddOutcome::kRejected:
    case assembly::AddOutcome::kConflict:
    case assembly::AddOutcome::kEvicted:  // its file's other segments were released by onEviction()
      source.input->ack(m);
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
  runtime_->log()->warn("gave up partial file {} (fd {}): {} of {} blocks held, reason {}, from {}", e.name, e.fd_unix_s,
                        e.blocks_held, e.total_blocks, assembly::evictionReasonName(e.reason), e.source);
  runtime_->stats().addCounter("evictions." + std::string(assembly::evictionReasonName(e.reason)));
  std::vector<HeldToken> given_up;
  take(FileKey{e.name, e.fd_unix_s, e.total_blocks}, e.sources, given_up);
  release(given_up);
}

void AssemblerService::take(const FileKey& key, assembly::SourceMask sources, std::vector<HeldToken>& out) {
  auto it = held_.find(key);
  if (it == held_.end()) return;
  auto& tokens = it->second;
  const auto keep = std::stable_partition(tokens.begin(), tokens.end(), [sources](const HeldToken& t) {
    return (sources & assembly::sourceBit(t.source)) == 0;
  });
  held_count_ -= static_cast<std::size_t>(tokens.end() - keep);
  out.insert(out.end(), keep, tokens.end());
  tokens.erase(keep, tokens.end());
  if (tokens.empty()) held_.erase(it);
}

void AssemblerService::release(std::vector<HeldToken>& tokens) {
  for (const auto& t : tokens) sources_[t.source].input->ack(t.token);
  tokens.clear();
}

void AssemblerService::report(runtime::StatsReporter& r) {
  const auto& st = assembler_->stats();
  r.setCounter("segments_in", st.segments_in);
  r.setCounter("duplicate_blocks", st.duplicate_blocks);
  r.setCounter("fill_dropped", st.fill_dropped);
  r.setCounter("files_completed", st.files_completed);
  r.setCounter("files_merged", st.files_merged);
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
  for (std::size_t o = 0; o < outcomes_.size(); ++o) {
    if (outcomes_[o] == 0) continue;  // only outcomes seen, as before
    r.setCounter("segment_outcomes." + std::string(assembly::addOutcomeName(static_cast<assembly::AddOutcome>(o))),
                 outcomes_[o]);
  }
  // Per source: which upstream is worse (docs/deploy.md, "Redundant ingest").
  const auto now = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    const Source& src = sources_[i];
    const assembly::SourceStats& ss = st.sources[i];
    const std::string& name = src.config.name;
    r.setCounter("source_segments." + name, src.segments);
    r.setCounter("source_blocks_contributed." + name, ss.blocks_contributed);
    r.setCounter("source_blocks_only." + name, ss.blocks_only);
    r.setCounter("source_files_alone." + name, ss.files_alone);
    r.setCounter("source_conflicting_blocks." + name, ss.conflicting_blocks);
    r.setGauge("source_idle_seconds." + name, std::chrono::duration<double>(now - src.last).count());
  }
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
