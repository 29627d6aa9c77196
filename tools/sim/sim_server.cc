#include "sim_server.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <deque>
#include <optional>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "qbt/encoder.h"
#include "qbt/logon.h"
#include "runtime/sha256.h"

namespace emwin::sim {
namespace {

using Clock = std::chrono::steady_clock;
using asio::ip::tcp;

constexpr std::size_t kBatchBytes = 64 * 1024;

std::string versionName(qbt::Version v) { return v == qbt::Version::kV2 ? "V2" : "V1"; }

bool splitHostPort(const std::string& text, std::string& host, std::string& port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= text.size()) return false;
  host = text.substr(0, colon);
  port = text.substr(colon + 1);
  return true;
}

std::vector<qbt::ServerAddress> parseAddressList(const std::string& text, char sep) {
  std::vector<qbt::ServerAddress> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, sep)) {
    std::string host, port;
    if (!splitHostPort(item, host, port)) continue;
    try {
      int p = std::stoi(port);
      if (p >= 1 && p <= 65535) out.push_back({host, static_cast<std::uint16_t>(p)});
    } catch (const std::exception&) {
    }
  }
  return out;
}

// splitmix64: a well-mixed 64-bit step.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

bool dropsFrame(std::uint64_t seed, double percent, double offset, const std::string& name, std::int64_t fd,
                std::uint32_t block, bool retransmit) {
  if (percent <= 0) return false;
  std::uint64_t h = mix(seed);
  for (const char c : name) h = mix(h ^ static_cast<unsigned char>(c));
  h = mix(h ^ static_cast<std::uint64_t>(fd));
  h = mix(h ^ (static_cast<std::uint64_t>(block) << 1 | (retransmit ? 1u : 0u)));
  const double position = static_cast<double>(h >> 11) * 0x1.0p-53 * 100.0;  // [0, 100)
  double from_offset = position - offset;
  if (from_offset < 0) from_offset += 100.0;
  return from_offset < percent;
}

bool parseRate(const std::string& text, Rate& rate) {
  if (text == "max") {
    rate = Rate{};
    return true;
  }
  auto parseNum = [&](std::size_t suffix_len, Rate::Kind kind) {
    std::string num = text.substr(0, text.size() - suffix_len);
    if (num.empty()) return false;
    try {
      std::size_t used = 0;
      double v = std::stod(num, &used);
      if (used != num.size() || !(v > 0)) return false;
      rate.kind = kind;
      rate.value = v;
      return true;
    } catch (const std::exception&) {
      return false;
    }
  };
  if (text.size() > 3 && text.ends_with("fps")) return parseNum(3, Rate::Kind::kFramesPerSecond);
  if (text.size() > 3 && text.ends_with("Bps")) return parseNum(3, Rate::Kind::kBytesPerSecond);
  return false;
}

// One connected client: reads logons, streams frames on its own schedule.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(SimServer& server, tcp::socket socket, int id)
      : server_(server),
        opt_(server.options()),
        socket_(std::move(socket)),
        id_(id),
        logon_timer_(socket_.get_executor()),
        pace_timer_(socket_.get_executor()),
        relogon_timer_(socket_.get_executor()),
        rng_(opt_.seed + static_cast<std::uint64_t>(id)),
        faults_on_(opt_.fault_clients <= 0 || id <= opt_.fault_clients) {}

  void start() {
    asio::error_code ec;
    socket_.non_blocking(true, ec);
    socket_.set_option(tcp::no_delay(true), ec);
    if (opt_.sndbuf > 0) socket_.set_option(asio::socket_base::send_buffer_size(opt_.sndbuf), ec);
    auto remote = socket_.remote_endpoint(ec);
    server_.emit("connect client=" + std::to_string(id_) + " peer=" + remote.address().to_string() + ":" +
                 std::to_string(remote.port()));
    last_logon_ = Clock::now();
    read();
    auto self = shared_from_this();
    logon_timer_.expires_after(std::chrono::milliseconds(opt_.logon_wait_ms));
    logon_timer_.async_wait([self](const asio::error_code& e) {
      if (e || self->closed_ || self->streaming_) return;
      self->server_.emit("logon-timeout client=" + std::to_string(self->id_) + " version=V1");
      self->startStreaming(qbt::Version::kV1);
    });
    checkRelogon();
  }

  void close(const std::string& reason) {
    if (closed_) return;
    closed_ = true;
    noteUnblocked();
    asio::error_code ec;
    logon_timer_.cancel();
    pace_timer_.cancel();
    relogon_timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    server_.emit("disconnect client=" + std::to_string(id_) + " reason=" + reason +
                 " bytes=" + std::to_string(bytes_sent_) + " frames=" + std::to_string(frames_sent_));
    server_.sessionClosed(id_);
  }

  // Time this client's socket is blocked right now (not yet added to stats).
  std::uint64_t ongoingBlockedUs() const {
    if (!blocked_) return 0;
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - blocked_since_).count());
  }

 private:
  struct Tx {
    std::size_t product = 0;
    std::int64_t fd = 0;
    std::uint32_t next_block = 1;
    std::uint32_t blocks = 0;
    bool retransmit = false;
    std::uint32_t bad_blocks = 0;
    std::uint32_t dropped_blocks = 0;  // --drop-frames-percent
    // Content of this transmission when it differs from the product's
    // (--vary-rounds, rounds after the first); shared by its retransmission.
    std::shared_ptr<const std::vector<std::uint8_t>> varied;
    std::string varied_sha256;
  };

  // Bytes and hash of what a transmission sends.
  static const std::vector<std::uint8_t>& contentOf(const Tx& tx, const Product& p) {
    return tx.varied ? *tx.varied : p.content;
  }
  static const std::string& sha256Of(const Tx& tx, const Product& p) {
    return tx.varied ? tx.varied_sha256 : p.sha256;
  }

  void read() {
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(rbuf_), [self](const asio::error_code& ec, std::size_t n) {
      if (self->closed_) return;
      if (ec) {
        self->close(ec == asio::error::eof ? "client_closed" : "read_error");
        return;
      }
      std::vector<qbt::Logon> logons;
      self->logon_parser_.feed(std::span<const std::uint8_t>(self->rbuf_.data(), n), logons);
      for (const auto& logon : logons) self->onLogon(logon);
      self->read();
    });
  }

  void onLogon(const qbt::Logon& logon) {
    ++logons_;
    ++server_.stats().logons;
    last_logon_ = Clock::now();
    std::string printable;
    for (char c : logon.text) printable.push_back((c >= 0x20 && c < 0x7f && c != '"') ? c : '?');
    server_.emit("logon client=" + std::to_string(id_) + " n=" + std::to_string(logons_) + " text=\"" + printable +
                 "\"");
    if (!streaming_) startStreaming(logon.version);
  }

  void checkRelogon() {
    auto self = shared_from_this();
    relogon_timer_.expires_after(std::chrono::seconds(1));
    relogon_timer_.async_wait([self](const asio::error_code& e) {
      if (e || self->closed_) return;
      if (Clock::now() - self->last_logon_ > std::chrono::seconds(self->opt_.relogon_timeout_s)) {
        self->close("relogon_timeout");
        return;
      }
      self->checkRelogon();
    });
  }

  void startStreaming(qbt::Version version) {
    streaming_ = true;
    version_ = version;
    logon_timer_.cancel();
    server_.emit("streaming client=" + std::to_string(id_) + " version=" + versionName(version));
    next_send_ = Clock::now();
    next_fill_ = Clock::now();
    const auto& sl = server_.serverListFrame();
    if (!sl.empty()) {
      pending_.insert(pending_.end(), sl.begin(), sl.end());
      ++server_.stats().server_lists;
    }
    pump();
  }

  bool hasNext() const {
    if (server_.order().empty()) return false;
    if (opt_.count > 0) return started_ < opt_.count;  // wraps into new rounds as needed
    if (opt_.loop) return true;
    return next_order_ < server_.order().size();
  }

  std::size_t peekNext() const { return server_.order()[next_order_ % server_.order().size()]; }

  Tx takeNext() {
    if (next_order_ >= server_.order().size()) {
      next_order_ = 0;
      ++round_;
    }
    Tx tx;
    tx.product = server_.order()[next_order_++];
    tx.fd = server_.fdBase() + static_cast<std::int64_t>(round_);
    const auto& p = server_.products()[tx.product];
    if (opt_.vary_rounds && round_ > 0) {
      // A distinct product per round: the text gets a trailing marker line.
      auto varied = std::make_shared<std::vector<std::uint8_t>>(p.content);
      const std::string marker = "\r\r\nEMWIN-SIM ROUND " + std::to_string(round_) + "\r\r\n";
      varied->insert(varied->end(), marker.begin(), marker.end());
      tx.varied_sha256 = runtime::sha256Hex(std::span<const std::uint8_t>(*varied));
      tx.varied = std::move(varied);
    }
    tx.blocks = static_cast<std::uint32_t>((contentOf(tx, p).size() + qbt::kBlockSize - 1) / qbt::kBlockSize);
    ++started_;
    return tx;
  }

  // Appends the next frame to pending_; false when nothing is due now.
  bool appendNextFrame(Clock::time_point now) {
    if (!high_) {
      if (!retransmits_.empty() && retransmits_.front().first <= now) {
        high_ = retransmits_.front().second;
        retransmits_.pop_front();
      } else if (hasNext() && server_.products()[peekNext()].high_priority) {
        high_ = takeNext();
      }
    }
    Tx* tx = high_ ? &*high_ : nullptr;
    if (tx == nullptr) {
      if (!low_ && hasNext()) low_ = takeNext();
      if (low_) tx = &*low_;
    }
    if (tx == nullptr) {
      if (!done_ && retransmits_.empty() && !hasNext()) {
        done_ = true;
        server_.emit("done client=" + std::to_string(id_) + " products=" + std::to_string(products_done_) +
                     " frames=" + std::to_string(good_frames_) + " bad_frames=" + std::to_string(bad_frames_) +
                     " dropped_frames=" + std::to_string(dropped_frames_));
      }
      if (now < next_fill_) return false;
      next_fill_ = now + std::chrono::milliseconds(opt_.fill_interval_ms);
      static constexpr std::string_view kFill = "FILLFILE: no products to send right now.\r\n";
      std::vector<std::uint8_t> frame;
      qbt::encodeFile("FILLFILE.TXT",
                      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(kFill.data()), kFill.size()),
                      static_cast<std::int64_t>(std::time(nullptr)), version_, frame, true, opt_.header_style);
      ++server_.stats().fill_frames;
      countFrame();
      queue(frame, false);
      return true;
    }
    appendBlock(*tx);
    if (tx->next_block > tx->blocks) finishTx(*tx, tx == (high_ ? &*high_ : nullptr));
    return true;
  }

  void appendBlock(Tx& tx) {
    const Product& p = server_.products()[tx.product];
    if (faults_on_ && dropsFrame(opt_.seed, opt_.drop_frames_percent, opt_.drop_frames_offset, p.name, tx.fd,
                                 tx.next_block, tx.retransmit)) {
      // Lost upstream: never sent (its pacing slot passes as if it had been).
      ++tx.dropped_blocks;
      ++dropped_frames_;
      ++server_.stats().frames_dropped;
      fault("kind=dropped_frame client=" + std::to_string(id_) + " file=" + p.name + " block=" +
            std::to_string(tx.next_block) + " fd=" + std::to_string(tx.fd) + " retransmit=" + (tx.retransmit ? "1" : "0"));
      ++tx.next_block;
      return;
    }
    const std::size_t off = static_cast<std::size_t>(tx.next_block - 1) * qbt::kBlockSize;
    const auto& content = contentOf(tx, p);
    const std::size_t len = std::min(qbt::kBlockSize, content.size() - off);
    std::array<std::uint8_t, qbt::kBlockSize> block{};
    std::copy_n(content.begin() + static_cast<std::ptrdiff_t>(off), len, block.begin());
    qbt::FrameSpec spec;
    spec.filename = p.name;
    spec.block_number = tx.next_block;
    spec.total_blocks = tx.blocks;
    spec.fd_unix_s = tx.fd;
    spec.version = version_;
    spec.style = opt_.header_style;
    ++data_frames_;
    const std::uint64_t n = data_frames_;
    bool bad = false;
    const std::string where = " client=" + std::to_string(id_) + " frame=" + std::to_string(n) + " file=" + p.name +
                              " block=" + std::to_string(tx.next_block);
    if (faults_on_ && opt_.corrupt_checksum_every > 0 && n % opt_.corrupt_checksum_every == 0) {
      spec.checksum_override = static_cast<std::int64_t>(qbt::blockChecksum(block)) + 1;
      fault("kind=checksum" + where);
      bad = true;
    }
    // Blocks wholly inside the product's original content are deflated once
    // and reused (a varied round only changes its tail); the others are new.
    if (version_ == qbt::Version::kV2 && off + qbt::kBlockSize <= p.content.size()) {
      spec.v2_payload = &server_.deflatedBlock(tx.product, tx.next_block);
    }
    std::vector<std::uint8_t> frame = qbt::encodeFrame(spec, block);
    if (faults_on_ && opt_.corrupt_header_every > 0 && n % opt_.corrupt_header_every == 0) {
      // Garble the /PN marker (XOR-ed on the wire): the header no longer parses.
      const std::uint8_t slash = '/' ^ 0xFF, pch = 'P' ^ 0xFF, nch = 'N' ^ 0xFF;
      for (std::size_t i = 6; i + 2 < std::min<std::size_t>(frame.size(), 6 + 80); ++i) {
        if (frame[i] == slash && frame[i + 1] == pch && frame[i + 2] == nch) {
          frame[i + 2] = static_cast<std::uint8_t>('X' ^ 0xFF);
          break;
        }
      }
      fault("kind=header" + where);
      bad = true;
    }
    if (bad) {
      ++tx.bad_blocks;
      ++bad_frames_;
    }
    (version_ == qbt::Version::kV2 ? server_.stats().frames_v2 : server_.stats().frames_v1)++;
    countFrame();
    const bool complete = queue(frame, true);
    if (complete && !bad) ++good_frames_;
    ++tx.next_block;
    if (faults_on_ && opt_.garbage_every > 0 && n % opt_.garbage_every == 0 && !drop_pending_) {
      std::uniform_int_distribution<int> len_dist(16, 256), byte_dist(1, 255);
      std::vector<std::uint8_t> garbage(static_cast<std::size_t>(len_dist(rng_)));
      for (auto& b : garbage) b = static_cast<std::uint8_t>(byte_dist(rng_));  // never 0x00: no sync inside
      qbt::xorInPlace(garbage);
      fault("kind=garbage client=" + std::to_string(id_) + " frame=" + std::to_string(n) +
            " bytes=" + std::to_string(garbage.size()));
      queue(garbage, false);
    }
  }

  void finishTx(Tx& tx, bool is_high) {
    const Product& p = server_.products()[tx.product];
    ++products_done_;
    ++server_.stats().products_sent;
    server_.emit("sent client=" + std::to_string(id_) + " file=" + p.name + " size=" +
                 std::to_string(contentOf(tx, p).size()) + " sha256=" + sha256Of(tx, p) + " blocks=" + std::to_string(tx.blocks) +
                 " fd=" + std::to_string(tx.fd) + " retransmit=" + (tx.retransmit ? "1" : "0") +
                 " bad_blocks=" + std::to_string(tx.bad_blocks) + " dropped_blocks=" + std::to_string(tx.dropped_blocks) +
                 " source=" + p.path);
    nlohmann::json j = {{"client", id_},          {"file", p.name},       {"size", contentOf(tx, p).size()},
                        {"sha256", sha256Of(tx, p)},     {"blocks", tx.blocks},  {"fd", tx.fd},
                        {"retransmit", tx.retransmit}, {"bad_blocks", tx.bad_blocks},
                        {"dropped_blocks", tx.dropped_blocks}, {"source", p.path}};
    if (server_.hasManifest()) {
      // Written once the frame's last byte has left through the socket (tryWrite), stamped then.
      manifest_pending_.push_back({pending_.size(), std::move(j)});
    }
    if (p.high_priority && !tx.retransmit && opt_.retransmit_delay_s > 0) {
      Tx again = tx;
      again.next_block = 1;
      again.retransmit = true;
      again.bad_blocks = 0;
      again.dropped_blocks = 0;
      retransmits_.emplace_back(Clock::now() + std::chrono::seconds(opt_.retransmit_delay_s), again);
    }
    if (is_high) {
      high_.reset();
    } else {
      low_.reset();
    }
  }

  void countFrame() {
    ++frames_sent_;
    if (faults_on_ && opt_.stall_after_frames > 0 && frames_sent_ >= opt_.stall_after_frames && !stalled_) {
      stalled_ = true;
      fault("kind=stall client=" + std::to_string(id_) + " frame=" + std::to_string(frames_sent_));
    }
  }

  void fault(const std::string& what) {
    ++server_.stats().faults;
    server_.emit("fault " + what);
  }

  // Queues bytes, applying --drop-after-bytes. Returns false if cut short.
  bool queue(const std::vector<std::uint8_t>& bytes, bool is_frame) {
    if (drop_pending_) return false;
    std::size_t take = bytes.size();
    if (faults_on_ && opt_.drop_after_bytes > 0 && queued_bytes_ + take > opt_.drop_after_bytes) {
      take = static_cast<std::size_t>(opt_.drop_after_bytes - queued_bytes_);
      drop_pending_ = true;
      fault("kind=drop client=" + std::to_string(id_) + " bytes=" + std::to_string(opt_.drop_after_bytes) +
            " in_frame=" + (is_frame ? "1" : "0") + " complete_frames=" + std::to_string(good_frames_));
    }
    pending_.insert(pending_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(take));
    queued_bytes_ += take;
    return take == bytes.size();
  }

  bool paceAllows(Clock::time_point now) const {
    return opt_.rate.kind == Rate::Kind::kMax || now >= next_send_;
  }

  void advancePace(std::size_t bytes, Clock::time_point now) {
    if (opt_.rate.kind == Rate::Kind::kMax) return;
    double seconds = opt_.rate.kind == Rate::Kind::kFramesPerSecond ? 1.0 / opt_.rate.value
                                                                    : static_cast<double>(bytes) / opt_.rate.value;
    if (next_send_ < now - std::chrono::seconds(1)) next_send_ = now;  // no catch-up bursts after a stall
    next_send_ += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }

  void pump() {
    if (closed_ || writing_ || !streaming_) return;
    const auto now = Clock::now();
    while (!stalled_ && !drop_pending_ && pending_.size() < kBatchBytes && paceAllows(now)) {
      const std::size_t before = pending_.size();
      if (!appendNextFrame(now)) break;
      advancePace(pending_.size() - before, now);
    }
    if (!pending_.empty()) {
      out_.swap(pending_);
      pending_.clear();
      out_off_ = 0;
      manifest_out_.swap(manifest_pending_);
      manifest_pending_.clear();
      manifest_next_ = 0;
      writing_ = true;
      tryWrite();
      return;
    }
    if (stalled_) return;
    // Nothing to send now: wake at the next pacing slot, fill time or retransmission.
    auto wake = next_fill_;
    if (!paceAllows(now)) wake = std::max(wake, next_send_);
    if (!retransmits_.empty()) wake = std::min(wake, std::max(retransmits_.front().first, next_send_));
    if (wake <= now) wake = now + std::chrono::milliseconds(1);
    auto self = shared_from_this();
    pace_timer_.expires_at(wake);
    pace_timer_.async_wait([self](const asio::error_code& e) {
      if (!e) self->pump();
    });
  }

  // Writes the manifest lines of products whose last frame is now wholly in the
  // kernel's socket buffer, with that time (system clock, for cross-process latency).
  void flushManifest() {
    if (manifest_next_ >= manifest_out_.size() || manifest_out_[manifest_next_].first > out_off_) return;
    const auto sent_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    while (manifest_next_ < manifest_out_.size() && manifest_out_[manifest_next_].first <= out_off_) {
      auto& j = manifest_out_[manifest_next_++].second;
      j["last_block_sent_unix_us"] = sent_us;
      server_.writeManifest(j.dump());
    }
  }

  void noteUnblocked() {
    if (!blocked_) return;
    blocked_ = false;
    server_.stats().send_blocked_us += static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - blocked_since_).count());
  }

  void tryWrite() {
    while (out_off_ < out_.size()) {
      asio::error_code ec;
      std::size_t n = socket_.write_some(asio::buffer(out_.data() + out_off_, out_.size() - out_off_), ec);
      out_off_ += n;
      bytes_sent_ += n;
      server_.stats().bytes += n;
      if (n > 0) flushManifest();
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        if (!blocked_) {
          blocked_ = true;
          blocked_since_ = Clock::now();
          ++server_.stats().send_blocked_events;
        }
        auto self = shared_from_this();
        socket_.async_wait(tcp::socket::wait_write, [self](const asio::error_code& e) {
          if (self->closed_) return;
          if (e) {
            self->close("write_error");
            return;
          }
          self->tryWrite();
        });
        return;
      }
      if (ec) {
        close("write_error");
        return;
      }
    }
    noteUnblocked();
    writing_ = false;
    out_.clear();
    if (drop_pending_) {
      close("fault_drop");
      return;
    }
    auto self = shared_from_this();
    asio::post(socket_.get_executor(), [self] { self->pump(); });
  }

  SimServer& server_;
  const SimOptions& opt_;
  tcp::socket socket_;
  const int id_;
  asio::steady_timer logon_timer_;
  asio::steady_timer pace_timer_;
  asio::steady_timer relogon_timer_;
  std::mt19937_64 rng_;
  const bool faults_on_;
  std::array<std::uint8_t, 4096> rbuf_{};
  qbt::LogonParser logon_parser_;
  Clock::time_point last_logon_{};
  std::uint64_t logons_ = 0;
  bool streaming_ = false;
  bool closed_ = false;
  bool writing_ = false;
  bool stalled_ = false;
  bool drop_pending_ = false;
  bool done_ = false;
  bool blocked_ = false;
  Clock::time_point blocked_since_{};
  qbt::Version version_ = qbt::Version::kV1;
  std::size_t next_order_ = 0;
  std::uint64_t round_ = 0;
  std::uint64_t started_ = 0;
  std::optional<Tx> low_, high_;
  std::deque<std::pair<Clock::time_point, Tx>> retransmits_;
  Clock::time_point next_send_{};
  Clock::time_point next_fill_{};
  std::vector<std::uint8_t> pending_;
  std::vector<std::uint8_t> out_;
  std::size_t out_off_ = 0;
  // Manifest entries waiting for their bytes to be written: (end offset in the buffer, entry).
  std::vector<std::pair<std::size_t, nlohmann::json>> manifest_pending_, manifest_out_;
  std::size_t manifest_next_ = 0;
  std::uint64_t queued_bytes_ = 0;
  std::uint64_t bytes_sent_ = 0;
  std::uint64_t frames_sent_ = 0;
  std::uint64_t data_frames_ = 0;
  std::uint64_t good_frames_ = 0;
  std::uint64_t bad_frames_ = 0;
  std::uint64_t dropped_frames_ = 0;
  std::uint64_t products_done_ = 0;
};

const std::vector<std::uint8_t>& SimServer::deflatedBlock(std::size_t product, std::uint32_t block) {
  if (deflated_.size() != products_.size()) deflated_.resize(products_.size());
  auto& blocks = deflated_[product];
  const auto& content = products_[product].content;
  const std::size_t off = static_cast<std::size_t>(block - 1) * qbt::kBlockSize;
  if (blocks.size() < block) blocks.resize(block);
  auto& slot = blocks[block - 1];
  if (!slot) {
    const std::size_t len = off < content.size() ? std::min(qbt::kBlockSize, content.size() - off) : 0;
    slot = qbt::deflateBlockV2(std::span<const std::uint8_t>(content.data() + off, len), options_.header_style);
  }
  return *slot;
}

SimServer::SimServer(asio::io_context& io, SimOptions options, std::vector<Product> products)
    : io_(io), options_(std::move(options)), products_(std::move(products)), acceptor_(io), stats_timer_(io) {
  order_.resize(products_.size());
  for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = i;
  std::mt19937_64 rng(options_.seed);
  std::shuffle(order_.begin(), order_.end(), rng);
  fd_base_ = options_.fd_base != 0 ? options_.fd_base : static_cast<std::int64_t>(std::time(nullptr));
  if (!options_.manifest_path.empty()) {
    manifest_.open(options_.manifest_path, std::ios::out | std::ios::trunc);
    if (!manifest_) throw std::runtime_error("cannot open manifest " + options_.manifest_path);
  }
}

SimServer::~SimServer() = default;

void SimServer::start() {
  std::string host, port;
  if (!splitHostPort(options_.listen, host, port)) throw std::runtime_error("bad --listen " + options_.listen);
  tcp::resolver resolver(io_);
  asio::error_code ec;
  auto results = resolver.resolve(host, port, ec);
  if (ec || results.empty()) throw std::runtime_error("cannot resolve " + options_.listen + ": " + ec.message());
  tcp::endpoint ep = results.begin()->endpoint();
  acceptor_.open(ep.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(ep, ec);
  if (ec) throw std::runtime_error("cannot bind " + options_.listen + ": " + ec.message());
  acceptor_.listen();
  bound_ = acceptor_.local_endpoint();
  if (!options_.no_server_list) {
    qbt::ServerList list;
    list.regular = options_.server_list.empty()
                       ? std::vector<qbt::ServerAddress>{{host, bound_.port()}}
                       : parseAddressList(options_.server_list, '|');
    list.satellite = parseAddressList(options_.sat_servers, '+');
    server_list_frame_ = qbt::encodeServerList(list);
  }
  emit("listening " + host + ":" + std::to_string(bound_.port()) + " products=" + std::to_string(products_.size()) +
       " header_style=" + std::string(qbt::headerStyleName(options_.header_style)));
  accept();
  scheduleStats();
}

void SimServer::accept() {
  acceptor_.async_accept([this](const asio::error_code& ec, tcp::socket socket) {
    if (stopped_) return;
    if (!ec) {
      int id = next_id_++;
      ++stats_.clients_total;
      auto session = std::make_shared<Session>(*this, std::move(socket), id);
      sessions_[id] = session;
      session->start();
    }
    accept();
  });
}

void SimServer::scheduleStats() {
  if (options_.stats_interval_ms <= 0) return;
  stats_timer_.expires_after(std::chrono::milliseconds(options_.stats_interval_ms));
  stats_timer_.async_wait([this](const asio::error_code& ec) {
    if (ec || stopped_) return;
    emit(statsLine());
    scheduleStats();
  });
}

std::string SimServer::statsLine() {
  std::uint64_t blocked_us = stats_.send_blocked_us;
  for (auto& [id, weak] : sessions_) {
    if (auto s = weak.lock()) blocked_us += s->ongoingBlockedUs();
  }
  std::ostringstream ss;
  ss << "stats clients=" << sessions_.size() << " clients_total=" << stats_.clients_total
     << " logons=" << stats_.logons << " frames_v1=" << stats_.frames_v1 << " frames_v2=" << stats_.frames_v2
     << " fill_frames=" << stats_.fill_frames << " server_lists=" << stats_.server_lists
     << " products_sent=" << stats_.products_sent << " bytes=" << stats_.bytes << " faults=" << stats_.faults
     << " frames_dropped=" << stats_.frames_dropped
     << " send_blocked_ms=" << blocked_us / 1000 << " send_blocked_events=" << stats_.send_blocked_events;
  return ss.str();
}

void SimServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  asio::error_code ec;
  acceptor_.close(ec);
  stats_timer_.cancel();
  auto sessions = sessions_;
  for (auto& [id, weak] : sessions) {
    if (auto s = weak.lock()) s->close("server_stop");
  }
  emit(statsLine());
}

void SimServer::emit(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void SimServer::writeManifest(const std::string& json_line) {
  if (!manifest_.is_open()) return;
  manifest_ << json_line << '\n';
  manifest_.flush();
}

void SimServer::sessionClosed(int id) { sessions_.erase(id); }

}  // namespace emwin::sim
