#include "assembler_service.h"

#include <malloc.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <tuple>
#include <vector>

#include "assembly/assembler.h"
#include "bus/bus.h"
#include "bus/consumer_options.h"
#include "bus/stats_report.h"
#include "bus/topics.h"
#include "emwin/bus/v1/file.pb.h"
#include "emwin/bus/v1/segment.pb.h"
#include "runtime/log.h"
#include "runtime/options.h"
#include "runtime/signals.h"
#include "runtime/stats_reporter.h"

namespace emwin::services {
namespace {
namespace v1 = emwin::bus::v1;

std::uint64_t rejectedCount(const assembly::Stats& st) {
  std::uint64_t n = 0;
  for (auto v : st.rejected_segments) n += v;
  return n;
}
using SteadyClock = std::chrono::steady_clock;

std::int64_t toUnixUs(assembly::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
}  // namespace

struct AssemblerService::Impl : assembly::AssemblerCallbacks {
  Impl(zmq::context_t& ctx, AssemblerOptions o)
      : context(ctx), options(std::move(o)), log(runtime::logger("assembler")) {
    if (options.instance.empty()) options.instance = runtime::defaultInstance();
  }

  // Identity of one transmission, as the assembler keys it.
  using FileKey = std::tuple<std::string, std::int64_t, std::uint32_t>;

  // Acknowledges every segment held for `key` (its file completed or was given up).
  void release(const FileKey& key) {
    auto it = held.find(key);
    if (it == held.end()) return;
    for (const auto& delivery : it->second) subscriber->ack(delivery);
    held_count -= it->second.size();
    held.erase(it);
  }

  void onFile(assembly::CompletedFile&& file) override {
    const bool from_blocks = file.origin == assembly::Origin::kBlocks;
    const FileKey key{file.name, file.fd_unix_s, file.block_count};
    v1::CompletedFile msg;
    msg.set_filename(file.name);
    msg.set_size_bytes(file.data.size());
    msg.set_sha256(std::move(file.sha256));
    msg.set_raw_sha256(std::move(file.raw_sha256));
    msg.set_fd_unix_s(file.fd_unix_s);
    msg.set_first_segment_unix_us(toUnixUs(file.first_segment_time));
    msg.set_last_segment_unix_us(toUnixUs(file.last_segment_time));
    msg.set_block_count(file.block_count);
    msg.set_source(std::move(file.source));
    msg.set_is_archive(file.is_archive);
    if (file.origin == assembly::Origin::kArchiveEntry) {
      msg.set_origin(v1::FILE_ORIGIN_ARCHIVE_ENTRY);
      auto* link = msg.mutable_archive();
      link->set_archive_name(std::move(file.archive.archive_name));
      link->set_archive_sha256(std::move(file.archive.archive_sha256));
      link->set_entry_name(std::move(file.archive.entry_name));
    } else {
      msg.set_origin(v1::FILE_ORIGIN_BLOCKS);
    }
    msg.set_data(std::move(file.data));
    publisher->publish(bus::topics::file(msg.filename()), msg);
    reporter->addCounter("files_published");
    reporter->addCounter("bytes_published", msg.size_bytes());
    // Only now, with the file handed on, are its segments acknowledged upstream.
    if (from_blocks) release(key);
  }

  void onEviction(const assembly::Eviction& e) override {
    log->warn("gave up partial file {} (fd {}): {} of {} blocks held, reason {}", e.name, e.fd_unix_s,
              e.blocks_held, e.total_blocks, assembly::evictionReasonName(e.reason));
    reporter->addCounter("evictions." + std::string(assembly::evictionReasonName(e.reason)));
    release(FileKey{e.name, e.fd_unix_s, e.total_blocks});
  }

  // Converts a Segment message; false if it is not usable.
  bool toSegment(const v1::Segment& m, qbt::Segment& out) {
    if (m.data().size() != qbt::kBlockSize) return false;
    out.filename = m.filename();
    out.block_number = m.block_number();
    out.total_blocks = m.total_blocks();
    out.declared_checksum = m.declared_checksum();
    out.fd_unix_s = m.fd_unix_s();
    out.fd_text = m.fd_text();
    out.version = m.version() == v1::PROTOCOL_VERSION_V2 ? qbt::Version::kV2 : qbt::Version::kV1;
    std::memcpy(out.data.data(), m.data().data(), qbt::kBlockSize);
    out.stream_offset = m.stream_offset();
    out.is_fill = m.filename() == "FILLFILE.TXT";
    return true;
  }

  void refreshStats() {
    const auto& st = assembler->stats();
    reporter->setCounter("segments_in", st.segments_in);
    reporter->setCounter("duplicate_blocks", st.duplicate_blocks);
    reporter->setCounter("fill_dropped", st.fill_dropped);
    reporter->setCounter("files_completed", st.files_completed);
    reporter->setCounter("retransmissions_suppressed", st.retransmissions_suppressed);
    reporter->setCounter("archives_opened", st.archives_opened);
    reporter->setCounter("archive_entries", st.archive_entries);
    for (std::size_t i = 0; i < assembly::kArchiveErrorCount; ++i) {
      reporter->setCounter(
          "archive_errors." + std::string(assembly::archiveErrorName(static_cast<assembly::ArchiveError>(i))),
          st.archive_errors[i]);
    }
    for (std::size_t i = 0; i < assembly::kRejectReasonCount; ++i) {
      reporter->setCounter(
          "rejected_segments." + std::string(assembly::rejectReasonName(static_cast<assembly::RejectReason>(i))),
          st.rejected_segments[i]);
    }
    reporter->setGauge("partial_files", static_cast<double>(st.partial_files));
    reporter->setGauge("partial_bytes", static_cast<double>(st.partial_bytes));
    reporter->setGauge("unacked_segments", static_cast<double>(held_count));
    bus::reportPublisher(*reporter, publisher->stats());
    bus::reportSubscriber(*reporter, subscriber->stats());
  }

  zmq::context_t& context;
  AssemblerOptions options;
  std::shared_ptr<spdlog::logger> log;
  std::unique_ptr<bus::Publisher> publisher;
  std::unique_ptr<bus::Subscriber> subscriber;
  std::unique_ptr<assembly::Assembler> assembler;
  std::unique_ptr<runtime::StatsReporter> reporter;
  std::uint64_t bad_messages = 0;
  // Deliveries of segments stored in partial files, not yet acknowledged:
  // if this process dies, ingest hands them to the next assembler.
  std::map<FileKey, std::vector<bus::AckToken>> held;  // deliveries of open files, unacked
  std::size_t held_count = 0;
};

AssemblerService::AssemblerService(zmq::context_t& context, AssemblerOptions options)
    : impl_(std::make_unique<Impl>(context, std::move(options))) {}

AssemblerService::~AssemblerService() = default;

std::string AssemblerService::tapEndpoint() const { return impl_->publisher->tapEndpoint(); }
std::string AssemblerService::pipelineEndpoint() const { return impl_->publisher->pipelineEndpoint(); }

void AssemblerService::start() {
  Impl& s = *impl_;
  s.reporter = std::make_unique<runtime::StatsReporter>("assembler", s.options.instance,
                                                        std::chrono::milliseconds(s.options.stats_interval_ms));
  bus::PublisherOptions po;
  po.producer_id = "assembler." + s.options.instance;
  po.tap_endpoint = s.options.pub;
  po.pipeline_endpoint = s.options.pipe;
  po.pipeline_hwm = s.options.hwm;
  po.tap_send_hwm = s.options.tap_hwm;
  po.retention_messages = s.options.retention;
  po.retention_bytes = s.options.retention_mb << 20;
  s.publisher = std::make_unique<bus::Publisher>(s.context, po);
  // Segments of partial files stay unacknowledged, so they count against the
  // credit ingest grants us: keep the partial-file memory cap below that, or
  // the pipeline would wait for blocks it can no longer be sent.
  const std::size_t credit_blocks = s.options.credit > 128 ? s.options.credit - 64 : s.options.credit / 2;
  const std::size_t credit_cap = credit_blocks * assembly::Assembler::kBlockCost;
  if (s.options.assembly.max_partial_bytes > credit_cap) {
    s.log->info("partial-file memory cap lowered to {} bytes to fit the credit window of {} segments", credit_cap,
                s.options.credit);
    s.options.assembly.max_partial_bytes = credit_cap;
  }
  s.assembler = std::make_unique<assembly::Assembler>(s.options.assembly, s);
  auto so = bus::pipelineConsumerOptions(s.options.connect, s.options.group, s.options.instance,
                                         {"seg."}, s.options.credit, s.options.state_dir);
  s.subscriber = std::make_unique<bus::Subscriber>(s.context, so);
  s.reporter->setLabel("upstream", s.options.connect);
  s.log->info("assembler {}: segments from {}, files on tap {} and pipeline {}", s.options.instance,
              s.options.connect, s.publisher->tapEndpoint(), s.publisher->pipelineEndpoint());
}

int AssemblerService::run() {
  Impl& s = *impl_;
  s.reporter->setState(v1::SERVICE_STATE_RUNNING);
  auto next_expire = SteadyClock::now();
  qbt::Segment segment;
  v1::Segment msg;
  auto stopping = [&] { return stop_.load() || runtime::stopRequested(); };
  bool waiting = s.options.wait_consumers > 0;
  bool idle = true;
  int turns_since_poll = 0;
  if (waiting) s.log->info("waiting for {} downstream consumer(s) before taking segments", s.options.wait_consumers);
  while (!stopping()) try {
    auto now = SteadyClock::now();
    if (s.reporter->due(now)) {
      s.refreshStats();
      v1::ServiceStats stats = s.reporter->build(now);
      s.publisher->publish(s.reporter->topic(), stats, bus::Path::kTapOnly);
      // Bursts leave freed 1 KiB blocks and file buffers in the heap; hand
      // them back so RSS tracks live memory (partials, retention), not the peak.
      ::malloc_trim(0);
    }
    if (now >= next_expire) {
      s.assembler->expire();
      next_expire = now + std::chrono::seconds(1);
    }
    // Serve downstream (credits, heartbeats, replays) and upstream in turn;
    // while segments stream in, only every 16th turn (each empty non-blocking
    // receive costs a system call; publish() takes pending acks too).
    if (idle || ++turns_since_poll >= 16) {
      s.publisher->poll(std::chrono::milliseconds(0));
      turns_since_poll = 0;
    }
    if (waiting) {
      if (s.publisher->stats().replicas < s.options.wait_consumers) {
        s.subscriber->keepAlive();
        s.publisher->poll(std::chrono::milliseconds(20));
        continue;
      }
      waiting = false;
      s.log->info("{} downstream consumer(s) present; taking segments", s.publisher->stats().replicas);
    }
    if (s.publisher->wouldBlock()) {
      s.subscriber->keepAlive();
      s.publisher->poll(std::chrono::milliseconds(20));
      continue;
    }
    auto received = s.subscriber->receive(std::chrono::milliseconds(20));
    idle = !received;
    if (!received) continue;
    if (received->header.payload_type() != v1::Segment::descriptor()->full_name() ||
        !msg.ParseFromString(received->payload) || !s.toSegment(msg, segment)) {
      s.reporter->addCounter("bad_messages");
      s.log->warn("ignoring unusable message on {} (type '{}')", received->topic, received->header.payload_type());
      s.subscriber->ack(*received);
      continue;
    }
    // Hold the delivery with its file; it is acknowledged when the file completes
    // or is evicted (release()). What the assembler does not keep is acked now.
    const auto& st = s.assembler->stats();
    const std::uint64_t dropped_before = st.duplicate_blocks + st.fill_dropped + rejectedCount(st);
    const std::uint64_t suppressed_before = st.retransmissions_suppressed;
    const Impl::FileKey key{segment.filename, segment.fd_unix_s, segment.total_blocks};
    s.held[key].push_back(received->ackToken());
    ++s.held_count;
    s.assembler->add(segment, msg.source());
    if (st.duplicate_blocks + st.fill_dropped + rejectedCount(st) != dropped_before) {
      // Not stored (duplicate block, fill or rejected): nothing to keep it for.
      auto it = s.held.find(key);
      if (it != s.held.end() && !it->second.empty()) {
        s.subscriber->ack(it->second.back());
        it->second.pop_back();
        --s.held_count;
        if (it->second.empty()) s.held.erase(it);
      }
    } else if (st.retransmissions_suppressed != suppressed_before) {
      s.release(key);  // the file completed as a known retransmission: nothing was published
    }
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) throw;  // a signal interrupted a zmq call: loop to check the stop flag
  }
  s.reporter->setState(v1::SERVICE_STATE_STOPPING);
  s.refreshStats();
  auto partials = s.assembler->partials();
  if (!partials.empty()) {
    s.log->info("stopping with {} partial file(s); their segments are unacknowledged, so ingest hands them to "
                "the next assembler", partials.size());
  }
  v1::ServiceStats final_stats = s.reporter->build(SteadyClock::now());
  s.publisher->publish(s.reporter->topic(), final_stats, bus::Path::kTapOnly);
  // Give downstream consumers a moment to take what is queued for them.
  auto deadline = SteadyClock::now() + std::chrono::milliseconds(500);
  while (SteadyClock::now() < deadline && s.publisher->stats().max_group_queue > 0) {
    s.publisher->poll(std::chrono::milliseconds(20));
  }
  s.subscriber->close();
  s.publisher->stop();
  s.log->info("assembler stopped");
  return 0;
}

}  // namespace emwin::services
