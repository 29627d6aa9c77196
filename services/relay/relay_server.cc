// The relay's ByteBlaster server: acceptor, sessions, shared-chunk fan-out
// (see relay_server.h).
#include "relay_server.h"

#include <algorithm>
#include <array>
#include <deque>
#include <span>

#include <fmt/format.h>

#include "qbt/encoder.h"
#include "qbt/logon.h"

namespace emwin::relay {

using asio::ip::tcp;
using Clock = RelayServer::Clock;

namespace {

constexpr std::size_t kChunkBytes = 64 * 1024;  // a chunk is sent once it holds this much
constexpr std::size_t kReadBytes = 512;         // clients only send logons
constexpr std::size_t kWriteBuffers = 16;       // chunks per scatter/gather write
constexpr auto kRefusalLinger = std::chrono::seconds(2);
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);
constexpr std::string_view kFillText = "FILLFILE: no products to send right now.\r\n";

std::size_t index(qbt::Version v) noexcept { return v == qbt::Version::kV2 ? 1 : 0; }

std::string peerText(const tcp::endpoint& e) {
  const auto a = e.address();
  return a.is_v6() ? fmt::format("[{}]:{}", a.to_string(), e.port()) : fmt::format("{}:{}", a.to_string(), e.port());
}

double secondsSince(Clock::time_point t, Clock::time_point now) {
  return std::chrono::duration<double>(now - t).count();
}

}  // namespace

std::string_view reasonName(DisconnectReason reason) noexcept {
  switch (reason) {
    case DisconnectReason::kClientClosed: return "client_closed";
    case DisconnectReason::kReadError: return "read_error";
    case DisconnectReason::kWriteError: return "write_error";
    case DisconnectReason::kSlow: return "slow";
    case DisconnectReason::kLogonTimeout: return "logon_timeout";
    case DisconnectReason::kRelogonTimeout: return "relogon_timeout";
    case DisconnectReason::kBadLogon: return "bad_logon";
    case DisconnectReason::kBadInput: return "bad_input";
    case DisconnectReason::kOverCapacity: return "over_capacity";
    case DisconnectReason::kNotAllowed: return "not_allowed";
    case DisconnectReason::kStopping: return "stopping";
  }
  return "unknown";
}

namespace detail {

// Frames sent to clients together; shared, never modified once queued.
struct Chunk {
  std::vector<std::uint8_t> bytes;  // wire bytes (XOR applied), whole frames
  std::uint32_t frames_v1 = 0;      // data frames in V1 layout
  std::uint32_t frames_v2 = 0;      // data frames in V2 layout
  std::uint32_t fill = 0;           // FILLFILE.TXT frames
  std::uint32_t server_lists = 0;   // server-list frames
};

// One downstream connection.
class Session : public std::enable_shared_from_this<Session> {
 public:
  using ChunkPtr = std::shared_ptr<const Chunk>;

  Session(RelayServer& server, tcp::socket socket, std::uint64_t id, std::string peer)
      : server_(server), socket_(std::move(socket)), id_(id), peer_(std::move(peer)) {
    connected_ = last_read_ = last_activity_ = Clock::now();
  }

  void start() { read(); }

  std::uint64_t id() const noexcept { return id_; }
  const std::string& peer() const noexcept { return peer_; }
  const std::string& email() const noexcept { return email_; }
  bool loggedOn() const noexcept { return logged_on_; }
  qbt::Version version() const noexcept { return version_; }
  std::size_t queued() const noexcept { return queued_; }
  bool closed() const noexcept { return closed_; }
  std::uint64_t bytesSent() const noexcept { return bytes_sent_; }
  std::uint64_t logons() const noexcept { return logons_; }
  Clock::time_point connectedAt() const noexcept { return connected_; }

  // Queues a chunk; over the budget the client is closed as slow.
  void enqueue(ChunkPtr chunk) {
    if (closed_) return;
    const std::size_t size = chunk->bytes.size();
    if (queued_ + size > server_.options_.client_queue_bytes) {
      close(DisconnectReason::kSlow);
      return;
    }
    queue_.push_back(std::move(chunk));
    queued_ += size;
    last_activity_ = Clock::now();
    if (!writing_) write();
  }

  void tick(Clock::time_point now) {
    if (closed_) return;
    auto self = shared_from_this();
    if (parser_.pending() && now - last_read_ >= server_.options_.suffixless_logon_wait) {
      if (auto logon = parser_.flush()) onLogon(*logon);
      if (closed_) return;
    }
    if (!logged_on_) {
      if (now - connected_ >= server_.options_.logon_timeout) close(DisconnectReason::kLogonTimeout);
      return;
    }
    if (now - last_logon_ >= server_.options_.relogon_timeout) {
      close(DisconnectReason::kRelogonTimeout);
      return;
    }
    if (now - last_activity_ >= server_.options_.fill_interval) enqueue(server_.fillChunk(version_));
  }

  void close(DisconnectReason reason) {
    if (closed_) return;
    auto self = shared_from_this();  // the server drops its reference in onClosed()
    closed_ = true;
    asio::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    queue_.clear();
    queued_ = 0;
    server_.onClosed(*this, reason);
  }

  ClientInfo info(Clock::time_point now) const {
    ClientInfo i;
    i.id = id_;
    i.peer = peer_;
    i.email = email_;
    i.logged_on = logged_on_;
    i.version = version_;
    i.connected_s = secondsSince(connected_, now);
    i.logons = logons_;
    i.bytes_sent = bytes_sent_;
    i.frames_sent = frames_sent_;
    i.queued_bytes = queued_;
    return i;
  }

 private:
  void read() {
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(rbuf_), [self](const asio::error_code& ec, std::size_t n) {
      if (self->closed_) return;
      if (ec) {
        self->close(ec == asio::error::eof ? DisconnectReason::kClientClosed : DisconnectReason::kReadError);
        return;
      }
      self->onRead(n);
    });
  }

  void onRead(std::size_t n) {
    last_read_ = Clock::now();
    const std::uint64_t junk_before = parser_.junkBytes();
    logons_in_.clear();
    parser_.feed(std::span<const std::uint8_t>(rbuf_.data(), n), logons_in_);
    server_.counters_.junk_bytes += parser_.junkBytes() - junk_before;
    for (const qbt::Logon& logon : logons_in_) {
      onLogon(logon);
      if (closed_) return;
    }
    if (parser_.junkBytes() > server_.options_.max_junk_bytes) {
      server_.log_->warn("client #{} {} sent {} bytes that are not logons; closing", id_, peer_,
                         parser_.junkBytes());
      close(DisconnectReason::kBadInput);
      return;
    }
    read();
  }

  void onLogon(const qbt::Logon& logon) {
    ++logons_;
    ++server_.counters_.logons;
    if (!logon.valid()) {
      ++server_.counters_.logons_bad;
      if (!logged_on_) {
        server_.log_->info("client #{} {}: logon names nobody (\"{}\"); closing", id_, peer_,
                           printable(logon.text));
        close(DisconnectReason::kBadLogon);
      }
      return;
    }
    last_logon_ = Clock::now();
    if (logged_on_) return;  // a re-logon: the first one chose the version
    logged_on_ = true;
    email_ = logon.email;
    version_ = logon.version;
    server_.onLoggedOn(*this);
  }

  static std::string printable(std::string_view text) {
    std::string out;
    for (const char c : text.substr(0, 200)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
    return out;
  }

  void write() {
    std::size_t n = 0;
    std::size_t offset = front_offset_;
    for (const ChunkPtr& c : queue_) {
      bufs_[n++] = asio::const_buffer(c->bytes.data() + offset, c->bytes.size() - offset);
      offset = 0;
      if (n == bufs_.size()) break;
    }
    writing_ = true;
    auto self = shared_from_this();
    socket_.async_write_some(std::span<const asio::const_buffer>(bufs_.data(), n),
                             [self](const asio::error_code& ec, std::size_t written) {
                               self->writing_ = false;
                               if (self->closed_) return;
                               if (ec) {
                                 self->close(DisconnectReason::kWriteError);
                                 return;
                               }
                               self->consume(written);
                               if (!self->queue_.empty()) self->write();
                             });
  }

  // `n` bytes left: drop finished chunks and count what they held.
  void consume(std::size_t n) {
    ServerCounters& c = server_.counters_;
    c.bytes_sent += n;
    bytes_sent_ += n;
    queued_ -= n;
    while (n > 0 && !queue_.empty()) {
      const Chunk& front = *queue_.front();
      const std::size_t rest = front.bytes.size() - front_offset_;
      if (n < rest) {
        front_offset_ += n;
        return;
      }
      n -= rest;
      c.frames_v1 += front.frames_v1;
      c.frames_v2 += front.frames_v2;
      c.fill_frames += front.fill;
      c.server_lists += front.server_lists;
      frames_sent_ += front.frames_v1 + front.frames_v2;
      queue_.pop_front();
      front_offset_ = 0;
    }
  }

  RelayServer& server_;
  tcp::socket socket_;
  const std::uint64_t id_;
  const std::string peer_;
  std::array<std::uint8_t, kReadBytes> rbuf_{};
  qbt::LogonParser parser_;
  std::vector<qbt::Logon> logons_in_;
  std::deque<ChunkPtr> queue_;
  std::size_t front_offset_ = 0;
  std::size_t queued_ = 0;
  std::array<asio::const_buffer, kWriteBuffers> bufs_{};
  bool writing_ = false;
  bool closed_ = false;
  bool logged_on_ = false;
  qbt::Version version_ = qbt::Version::kV1;
  std::string email_;
  Clock::time_point connected_, last_read_, last_activity_, last_logon_{};
  std::uint64_t logons_ = 0;
  std::uint64_t bytes_sent_ = 0;
  std::uint64_t frames_sent_ = 0;
};

// An over-capacity client: gets the server list, then a clean close (FIN, not
// a reset that could discard the list), after its logon was read or a linger.
class Refusal : public std::enable_shared_from_this<Refusal> {
 public:
  Refusal(tcp::socket socket, std::shared_ptr<const Chunk> list)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), list_(std::move(list)) {}

  void start() {
    auto self = shared_from_this();
    timer_.expires_after(kRefusalLinger);
    timer_.async_wait([self](const asio::error_code& ec) {
      if (!ec) self->finish();
    });
    if (list_) {
      asio::async_write(socket_, asio::buffer(list_->bytes), [self](const asio::error_code& ec, std::size_t) {
        if (ec) {
          self->finish();
          return;
        }
        self->shutdownAndDrain();
      });
    } else {
      shutdownAndDrain();
    }
  }

 private:
  void shutdownAndDrain() {
    asio::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    drain();
  }
  void drain() {
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(buf_), [self](const asio::error_code& ec, std::size_t) {
      if (ec) {
        self->finish();
        return;
      }
      self->drain();
    });
  }
  void finish() {
    asio::error_code ec;
    timer_.cancel();
    socket_.close(ec);
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  std::shared_ptr<const Chunk> list_;
  std::array<std::uint8_t, 256> buf_{};
};

}  // namespace detail

RelayServer::RelayServer(asio::io_context& io, ServerOptions options)
    : io_(io),
      options_(std::move(options)),
      encoder_(options_.encoder),
      acceptor_(io),
      tick_timer_(io),
      accept_retry_(io),
      log_(runtime::logger("relay")) {
  acceptor_.open(options_.listen.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(options_.listen);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  bound_ = acceptor_.local_endpoint();
  rebuildServerList();
}

RelayServer::~RelayServer() {
  stop();
  alive_.reset();
}

void RelayServer::start() {
  if (started_ || stopped_) return;
  started_ = true;
  accept();
  scheduleTick();
}

void RelayServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  asio::error_code ec;
  acceptor_.close(ec);
  tick_timer_.cancel();
  accept_retry_.cancel();
  const std::size_t open = sessions_.size();
  auto sessions = sessions_;
  for (auto& [id, s] : sessions) s->close(DisconnectReason::kStopping);
  if (open > 0) log_->info("closed {} client connection(s)", open);
}

void RelayServer::accept() {
  std::weak_ptr<bool> alive = alive_;
  acceptor_.async_accept([this, alive](const asio::error_code& ec, tcp::socket socket) {
    if (alive.expired() || stopped_) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      ++counters_.accept_errors;
      log_->warn("accept failed: {} (retrying in {} ms)", ec.message(), kAcceptRetry.count());
      accept_retry_.expires_after(kAcceptRetry);
      accept_retry_.async_wait([this, alive](const asio::error_code& e) {
        if (!e && !alive.expired() && !stopped_) accept();
      });
      return;
    }
    onAccepted(std::move(socket));
    accept();
  });
}

void RelayServer::onAccepted(tcp::socket socket) {
  ++counters_.connections;
  asio::error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) {  // gone already
    ++counters_.disconnects[static_cast<std::size_t>(DisconnectReason::kClientClosed)];
    return;
  }
  const std::string peer = peerText(remote);
  if (!options_.allow.allows(remote.address())) {
    ++counters_.disconnects[static_cast<std::size_t>(DisconnectReason::kNotAllowed)];
    log_->info("connection from {} refused: not in --allow", peer);
    socket.close(ec);
    return;
  }
  if (sessions_.size() >= options_.max_clients) {
    log_->info("connection from {} refused: {} clients (--max-clients); sent the server list", peer,
               sessions_.size());
    refuse(std::move(socket), DisconnectReason::kOverCapacity);
    return;
  }
  socket.set_option(tcp::no_delay(true), ec);
  if (options_.sndbuf > 0) socket.set_option(asio::socket_base::send_buffer_size(options_.sndbuf), ec);
  const std::uint64_t id = next_id_++;
  auto session = std::make_shared<detail::Session>(*this, std::move(socket), id, peer);
  sessions_.emplace(id, session);
  log_->debug("client #{} connected from {}", id, peer);
  session->start();
}

void RelayServer::refuse(tcp::socket socket, DisconnectReason reason) {
  ++counters_.disconnects[static_cast<std::size_t>(reason)];
  if (server_list_chunk_) ++counters_.server_lists;
  std::make_shared<detail::Refusal>(std::move(socket), server_list_chunk_)->start();
}

void RelayServer::scheduleTick() {
  std::weak_ptr<bool> alive = alive_;
  tick_timer_.expires_after(options_.tick);
  tick_timer_.async_wait([this, alive](const asio::error_code& ec) {
    if (ec || alive.expired() || stopped_) return;
    tick();
    scheduleTick();
  });
}

void RelayServer::tick() {
  const auto now = Clock::now();
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    auto session = it->second;  // tick() may close it, which erases it
    ++it;
    session->tick(now);
  }
}

void RelayServer::relay(const BlockRef& block) {
  ++counters_.blocks_in;
  if (clientsStreaming() == 0) {
    ++counters_.blocks_unwanted;
    return;
  }
  bool full = false;
  for (std::size_t v = 0; v < 2; ++v) {
    if (streaming_[v] == 0) continue;
    if (!open_[v]) open_[v] = std::make_unique<detail::Chunk>();
    detail::Chunk& c = *open_[v];
    if (v == 0) {
      encoder_.appendV1(block, c.bytes);
      ++c.frames_v1;
    } else {
      (encoder_.appendV2(block, c.bytes) == qbt::Version::kV2 ? c.frames_v2 : c.frames_v1)++;
    }
    full = full || c.bytes.size() >= kChunkBytes;
  }
  if (full) {
    flush();
  } else if (!flush_posted_) {
    flush_posted_ = true;
    std::weak_ptr<bool> alive = alive_;
    asio::post(io_, [this, alive] {
      if (!alive.expired()) flush();
    });
  }
}

void RelayServer::flush() {
  flush_posted_ = false;
  for (std::size_t v = 0; v < 2; ++v) {
    if (!open_[v] || open_[v]->bytes.empty()) continue;
    ChunkPtr chunk(std::move(open_[v]));
    ++counters_.chunks;
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      detail::Session& s = *it->second;
      ++it;  // enqueue() may close the session, which erases it
      if (s.loggedOn() && index(s.version()) == v) s.enqueue(chunk);
    }
  }
}

RelayServer::ChunkPtr RelayServer::fillChunk(qbt::Version version) {
  const std::size_t v = index(version);
  const auto now = Clock::now();
  if (!fill_[v] || now - fill_made_[v] >= std::chrono::seconds(1)) {
    auto chunk = std::make_shared<detail::Chunk>();
    BlockRef fill;
    fill.filename = "FILLFILE.TXT";
    fill.fd_unix_s = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    fill.data = std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(kFillText.data()),
                                              kFillText.size());
    if (v == 0) {
      encoder_.appendV1(fill, chunk->bytes);
    } else {
      encoder_.appendV2(fill, chunk->bytes);
    }
    chunk->fill = 1;
    fill_[v] = std::move(chunk);
    fill_made_[v] = now;
  }
  return fill_[v];
}

void RelayServer::rebuildServerList() {
  qbt::ServerList list = options_.server_list;
  if (options_.list_listen_address) {
    const qbt::ServerAddress self{bound_.address().to_string(), bound_.port()};
    if (std::find(list.regular.begin(), list.regular.end(), self) == list.regular.end()) {
      list.regular.insert(list.regular.begin(), self);
    }
  }
  if (options_.include_upstream_list) {
    auto add = [](std::vector<qbt::ServerAddress>& to, const std::vector<qbt::ServerAddress>& from) {
      for (const auto& a : from) {
        if (std::find(to.begin(), to.end(), a) == to.end()) to.push_back(a);
      }
    };
    add(list.regular, upstream_.regular);
    add(list.satellite, upstream_.satellite);
  }
  list_ = std::move(list);
  if (list_.regular.empty() && list_.satellite.empty()) {
    server_list_chunk_.reset();
    return;
  }
  auto chunk = std::make_shared<detail::Chunk>();
  chunk->bytes = qbt::encodeServerList(list_);
  chunk->server_lists = 1;
  server_list_chunk_ = std::move(chunk);
}

void RelayServer::setUpstreamList(const qbt::ServerList& list) {
  upstream_ = list;
  upstream_.stream_offset = 0;
  if (!options_.include_upstream_list) return;
  const qbt::ServerList before = list_;
  rebuildServerList();
  if (before.regular == list_.regular && before.satellite == list_.satellite) return;
  log_->info("server list now {} regular, {} satellite server(s); sending it to {} client(s)", list_.regular.size(),
             list_.satellite.size(), clientsStreaming());
  if (!server_list_chunk_) return;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    detail::Session& s = *it->second;
    ++it;
    if (s.loggedOn()) s.enqueue(server_list_chunk_);
  }
}

void RelayServer::onLoggedOn(detail::Session& session) {
  ++streaming_[index(session.version())];
  ++counters_.clients_logged_on;
  log_->info("client #{} {} logged on as {} ({}); {} client(s) streaming", session.id(), session.peer(),
             session.email(), session.version() == qbt::Version::kV2 ? "V2" : "V1", clientsStreaming());
  if (server_list_chunk_) session.enqueue(server_list_chunk_);
}

void RelayServer::onClosed(detail::Session& session, DisconnectReason reason) {
  ++counters_.disconnects[static_cast<std::size_t>(reason)];
  if (session.loggedOn()) --streaming_[index(session.version())];
  const auto level = reason == DisconnectReason::kSlow || reason == DisconnectReason::kWriteError ||
                             reason == DisconnectReason::kReadError
                         ? spdlog::level::warn
                         : spdlog::level::info;
  log_->log(level, "client #{} {} ({}) closed: {}; {} bytes in {:.1f} s", session.id(), session.peer(),
            session.email().empty() ? "not logged on" : session.email(), reasonName(reason), session.bytesSent(),
            secondsSince(session.connectedAt(), Clock::now()));
  sessions_.erase(session.id());
}

std::size_t RelayServer::queuedBytes() const noexcept {
  std::size_t n = 0;
  for (const auto& [id, s] : sessions_) n += s->queued();
  return n;
}

std::size_t RelayServer::maxQueuedBytes() const noexcept {
  std::size_t n = 0;
  for (const auto& [id, s] : sessions_) n = std::max(n, s->queued());
  return n;
}

std::vector<ClientInfo> RelayServer::clients() const {
  std::vector<ClientInfo> out;
  const auto now = Clock::now();
  out.reserve(sessions_.size());
  for (const auto& [id, s] : sessions_) out.push_back(s->info(now));
  return out;
}

}  // namespace emwin::relay
