#include "disk_writer_service.h"

#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "bus/bus.h"
#include "bus/consumer_options.h"
#include "bus/topics.h"
#include "emwin/bus/v1/file.pb.h"
#include "emwin/bus/v1/stats.pb.h"
#include "runtime/log.h"
#include "runtime/options.h"
#include "runtime/signals.h"
#include "runtime/sha256.h"

namespace emwin::sinks {
namespace {

using Clock = std::chrono::steady_clock;
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

// SHA-256 re-check of each file with one fetched digest and one reused
// context (runtime::sha256Hex fetches and allocates both per call); falls
// back to runtime::sha256Hex if OpenSSL refuses.
class Sha256Hasher {
 public:
  Sha256Hasher() : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)), ctx_(EVP_MD_CTX_new()) {}
  ~Sha256Hasher() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
  }
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  std::string hex(std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (md_ == nullptr || ctx_ == nullptr || EVP_DigestInit_ex2(ctx_, md_, nullptr) != 1 ||
        EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()) != 1 || EVP_DigestFinal_ex(ctx_, digest, &len) != 1 ||
        len != 32) {
      return runtime::sha256Hex(bytes);
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(64, '0');
    for (unsigned int i = 0; i < len; ++i) {
      out[2 * i] = kHex[digest[i] >> 4];
      out[2 * i + 1] = kHex[digest[i] & 0xF];
    }
    return out;
  }

 private:
  EVP_MD* md_;
  EVP_MD_CTX* ctx_;
};

}  // namespace

struct DiskWriterService::Impl {
  Impl(zmq::context_t& ctx, DiskWriterOptions o)
      : context(ctx), options(std::move(o)), store(options.out, options.fsync), log(runtime::logger("disk-writer")) {
    if (options.instance.empty()) options.instance = runtime::defaultInstance();
    if (options.replica.empty()) options.replica = options.instance + "-" + std::to_string(::getpid());
  }

  void count(const std::string& name, std::uint64_t n = 1) {
    std::lock_guard lock(mutex);
    counters[name] += n;
  }

  void publishStats(bus::Subscriber& sub, v1::ServiceState state) {
    if (!stats_socket) return;
    v1::ServiceStats s;
    s.set_service("disk-writer");
    s.set_instance(options.replica);
    s.set_state(state);
    s.set_uptime_s(std::chrono::duration<double>(Clock::now() - started).count());
    {
      std::lock_guard lock(mutex);
      for (const auto& [k, v] : counters) (*s.mutable_counters())[k] = v;
    }
    auto sub_stats = sub.stats();
    (*s.mutable_counters())["bus_received"] = sub_stats.received;
    (*s.mutable_counters())["bus_duplicates"] = sub_stats.duplicates;
    (*s.mutable_counters())["bus_bad_payloads"] = sub_stats.bad_payloads;
    (*s.mutable_counters())["bus_gaps"] = sub_stats.gaps;
    (*s.mutable_labels())["out"] = store.root().string();
    (*s.mutable_labels())["group"] = options.group;
    auto* h = s.mutable_header();
    h->set_producer_id("disk-writer." + options.replica);
    h->set_epoch(epoch);
    h->set_sequence(++stats_sequence);
    h->set_produced_unix_us(std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
    h->set_payload_type(v1::ServiceStats::descriptor()->full_name());
    std::string topic = bus::topics::stats("disk-writer", options.replica);
    std::string payload = s.SerializeAsString();
    stats_socket->send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    stats_socket->send(zmq::buffer(payload), zmq::send_flags::dontwait);
  }

  // Publishes stats when the interval has passed.
  void maybePublishStats(bus::Subscriber& sub, v1::ServiceState state) {
    if (Clock::now() < next_stats) return;
    publishStats(sub, state);
    next_stats = Clock::now() + std::chrono::milliseconds(options.stats_interval_ms);
  }

  // Handles one message; returns true when it may be acked.
  bool handle(const bus::Received& msg, bus::Subscriber& sub, const std::atomic<bool>& stop) {
    v1::CompletedFile& file = file_;  // reused: its data buffer keeps its capacity
    if (msg.header.payload_type() != v1::CompletedFile::descriptor()->full_name() ||
        !file.ParseFromString(msg.payload)) {
      count("bad_messages");
      log->warn("ignoring message on {} that is not a CompletedFile (type '{}')", msg.topic,
                msg.header.payload_type());
      return true;
    }
    if (options.slow_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(options.slow_ms));
    const auto& data = file.data();
    std::string sha = hasher.hex(std::string_view(data));
    if (!file.sha256().empty() && file.sha256() != sha) {
      count("sha256_mismatch");
      log->warn("{}: sha256 in message {} does not match its bytes {}; storing by the computed hash",
                file.filename(), file.sha256(), sha);
    }
    StoredFileInfo info;
    info.name = file.filename();
    info.fd_unix_s = file.fd_unix_s();
    info.sha256 = sha;
    if (options.sidecar) info.sidecar_json = sidecarFor(file, sha);
    auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
    int backoff = options.retry_min_ms;
    for (;;) {
      WriteResult r = store.write(info, bytes);
      if (r.name_verdict == NameVerdict::kRewritten) count("names_rewritten");
      switch (r.status) {
        case WriteStatus::kWritten:
          count("files_written");
          count("bytes_written", data.size());
          if (log->should_log(spdlog::level::debug)) log->debug("wrote {}", r.path.string());
          return true;
        case WriteStatus::kAlreadyPresent:
          count("files_already_present");
          return true;
        case WriteStatus::kRejectedName:
          count("names_rejected");
          log->warn("rejected file name '{}' ({}): not written", file.filename(), r.error);
          return true;
        case WriteStatus::kIoError:
          count("io_errors." + std::string(r.error_code == ENOSPC   ? "enospc"
                                           : r.error_code == EACCES ? "eacces"
                                           : r.error_code == EROFS  ? "erofs"
                                                                    : "other"));
          log->error("{} (retrying in {} ms)", r.error, backoff);
          break;
      }
      // Wait with backoff, keeping our pipeline membership alive.
      auto until = Clock::now() + std::chrono::milliseconds(backoff);
      while (Clock::now() < until) {
        if (stop.load() || runtime::stopRequested()) return false;  // not acked: the producer redelivers it
        sub.keepAlive();
        maybePublishStats(sub, v1::SERVICE_STATE_DEGRADED);  // the errors must be visible while we wait
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(backoff, 50)));
      }
      count("write_retries");
      backoff = std::min(backoff * 2, options.retry_max_ms);
    }
  }

  zmq::context_t& context;
  DiskWriterOptions options;
  FileStore store;
  Sha256Hasher hasher;
  v1::CompletedFile file_;
  std::shared_ptr<spdlog::logger> log;
  std::unique_ptr<zmq::socket_t> stats_socket;
  std::uint64_t epoch = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                       std::chrono::system_clock::now().time_since_epoch())
                                                       .count());
  std::uint64_t stats_sequence = 0;
  Clock::time_point started = Clock::now();
  Clock::time_point next_stats = Clock::now();
  mutable std::mutex mutex;
  std::map<std::string, std::uint64_t> counters;
};

DiskWriterService::DiskWriterService(zmq::context_t& context, DiskWriterOptions options)
    : impl_(std::make_unique<Impl>(context, std::move(options))) {}

DiskWriterService::~DiskWriterService() = default;

std::map<std::string, std::uint64_t> DiskWriterService::counters() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->counters;
}

int DiskWriterService::run() {
  Impl& s = *impl_;
  auto so = bus::pipelineConsumerOptions(s.options.connect, s.options.group, s.options.replica,
                                         {"file."}, s.options.credit, s.options.state_dir);
  bus::Subscriber sub(s.context, so);
  if (!s.options.stats_connect.empty()) {
    s.stats_socket = std::make_unique<zmq::socket_t>(s.context, zmq::socket_type::pub);
    s.stats_socket->set(zmq::sockopt::linger, 200);
    s.stats_socket->set(zmq::sockopt::sndhwm, 100);
    s.stats_socket->connect(s.options.stats_connect);
  }
  s.log->info("disk-writer replica {} of group {}: {} -> {}", s.options.replica, s.options.group, s.options.connect,
              s.store.root().string());
  s.started = Clock::now();
  s.next_stats = s.started;
  while (!stop_.load() && !runtime::stopRequested()) {
    s.maybePublishStats(sub, v1::SERVICE_STATE_RUNNING);
    auto msg = sub.receive(std::chrono::milliseconds(100));
    if (!msg) continue;
    if (s.handle(*msg, sub, stop_)) sub.ack(*msg);
  }
  s.publishStats(sub, v1::SERVICE_STATE_STOPPING);
  sub.close();
  s.log->info("disk-writer replica {} stopped", s.options.replica);
  return 0;
}

}  // namespace emwin::sinks
