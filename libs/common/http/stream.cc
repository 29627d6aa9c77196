#include "http/stream.h"

#include <algorithm>

namespace emwin::http {
namespace {

namespace bhttp = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

bool clientGone(const asio::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted || ec == asio::error::not_connected ||
         ec == websocket::error::closed || ec == beast::error::timeout;
}

std::string remoteOf(const tcp::socket& socket) {
  asio::error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  return ec ? std::string() : ep.address().to_string() + ":" + std::to_string(ep.port());
}

// ---------------------------------------------------------------- SSE
class SseStream final : public StreamConnection {
 public:
  SseStream(tcp::socket socket, StreamOptions options, std::string remote)
      : StreamConnection(socket.get_executor(), options, std::move(remote)), socket_(std::move(socket)) {}

  void begin(std::string header) {
    asio::error_code ec;
    socket_.non_blocking(true, ec);
    socket_.set_option(tcp::no_delay(true), ec);
    if (options_.socket_send_buffer > 0) socket_.set_option(asio::socket_base::send_buffer_size(options_.socket_send_buffer), ec);
    send(shareText(std::move(header)));
    waitReadable();
  }

  StreamProtocol protocol() const noexcept override { return StreamProtocol::kSse; }

 private:
  std::shared_ptr<SseStream> self() { return std::static_pointer_cast<SseStream>(shared_from_this()); }

  void startWrite() override {
    if (closed_ || writing_ || pending_.empty()) return;
    const std::size_t n = std::min(pending_.size(), std::max<std::size_t>(options_.max_write_batch, 1));
    if (n == pending_.size()) {
      inflight_.swap(pending_);
    } else {
      inflight_.assign(std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.begin() + n));
      pending_.erase(pending_.begin(), pending_.begin() + n);
    }
    buffers_.clear();
    std::size_t bytes = 0;
    for (const auto& m : inflight_) {
      buffers_.push_back(asio::buffer(*m));
      bytes += m->size();
    }
    markWriting();
    asio::async_write(socket_, buffers_, [s = self(), n, bytes](const asio::error_code& ec, std::size_t) {
      s->inflight_.clear();
      s->writeFinished(ec, n, bytes);
    });
  }

  void heartbeat() override {
    static const SharedText kPing = shareText(sseComment("ping"));
    send(kPing);
  }

  void shutdownTransport(CloseReason) override {
    asio::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  // The client sends nothing after its request; readability means EOF (or
  // junk, which is discarded). No buffer is held while waiting.
  void waitReadable() {
    socket_.async_wait(tcp::socket::wait_read, [s = self()](const asio::error_code& ec) { s->onReadable(ec); });
  }

  void onReadable(const asio::error_code& wait_ec) {
    if (closed_) return;
    if (wait_ec) {
      close(CloseReason::kClientClosed);
      return;
    }
    char scratch[512];
    for (int i = 0; i < 16; ++i) {
      asio::error_code ec;
      const std::size_t n = socket_.read_some(asio::buffer(scratch), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec || n == 0) {
        close(CloseReason::kClientClosed);
        return;
      }
    }
    waitReadable();
  }

  tcp::socket socket_;
  std::vector<SharedText> inflight_;
  std::vector<asio::const_buffer> buffers_;
};

// ---------------------------------------------------------------- WebSocket
class WsStream final : public StreamConnection {
 public:
  WsStream(beast::tcp_stream&& stream, BeastRequest&& request, StreamOptions options, std::string remote)
      : StreamConnection(stream.get_executor(), options, std::move(remote)),
        ws_(std::move(stream)),
        request_(std::move(request)) {
    ready_ = false;
  }

  void begin(const HeaderList& headers) {
    beast::get_lowest_layer(ws_).expires_never();  // the websocket timeouts below take over
    if (options_.socket_send_buffer > 0) {
      asio::error_code ec;
      beast::get_lowest_layer(ws_).socket().set_option(
          asio::socket_base::send_buffer_size(options_.socket_send_buffer), ec);
    }
    websocket::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::seconds(10);
    t.idle_timeout = std::max<std::chrono::milliseconds>(options_.heartbeat * 2, std::chrono::seconds(2));
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.set_option(websocket::stream_base::decorator([headers](websocket::response_type& res) {
      res.set(bhttp::field::server, "emwin-bus");
      for (const auto& [k, v] : headers) res.set(k, v);
    }));
    ws_.read_message_max(options_.max_client_message);
    ws_.text(true);
    ws_.async_accept(request_, [s = self()](const beast::error_code& ec) { s->onAccepted(ec); });
  }

  StreamProtocol protocol() const noexcept override { return StreamProtocol::kWebSocket; }

 private:
  std::shared_ptr<WsStream> self() { return std::static_pointer_cast<WsStream>(shared_from_this()); }

  void onAccepted(const beast::error_code& ec) {
    request_ = {};
    if (closed_) return;
    if (ec) {
      close(CloseReason::kProtocolError);
      return;
    }
    ready_ = true;
    last_activity_ = Clock::now();
    read();
    startWrite();
  }

  void read() {
    ws_.async_read(read_buffer_, [s = self()](const beast::error_code& ec, std::size_t) { s->onRead(ec); });
  }

  void onRead(const beast::error_code& ec) {
    if (closed_) return;
    if (ec) {
      close(clientGone(ec) ? CloseReason::kClientClosed : CloseReason::kProtocolError);
      return;
    }
    if (on_message_) {
      const auto data = read_buffer_.cdata();
      on_message_(std::string_view(static_cast<const char*>(data.data()), data.size()));
    }
    read_buffer_.consume(read_buffer_.size());
    read();
  }

  void startWrite() override {
    if (closed_ || writing_ || !ready_ || pending_.empty()) return;
    // One message per write (WebSocket frames); the queue is bounded, so
    // taking from its front is cheap enough.
    inflight_ = std::move(pending_.front());
    pending_.erase(pending_.begin());
    const std::size_t bytes = inflight_->size();
    markWriting();
    ws_.async_write(asio::buffer(*inflight_), [s = self(), bytes](const beast::error_code& ec, std::size_t) {
      s->inflight_.reset();
      s->writeFinished(ec, 1, bytes);
    });
  }

  void heartbeat() override {}  // Beast's keep-alive pings (stream_base::timeout)

  void shutdownTransport(CloseReason reason) override {
    auto& tcp_layer = beast::get_lowest_layer(ws_);
    if (ready_ && !writing_ && ws_.is_open() && (reason == CloseReason::kShutdown)) {
      ws_.async_close(websocket::close_reason(websocket::close_code::going_away, closeReasonName(reason)),
                      [s = self()](const beast::error_code&) {
                        beast::get_lowest_layer(s->ws_).close();
                      });
      return;
    }
    tcp_layer.close();
  }

  websocket::stream<beast::tcp_stream> ws_;
  BeastRequest request_;
  beast::flat_buffer read_buffer_;
  SharedText inflight_;
};

}  // namespace

std::string_view closeReasonName(CloseReason reason) noexcept {
  switch (reason) {
    case CloseReason::kClientClosed: return "client_closed";
    case CloseReason::kQueueFull: return "queue_full";
    case CloseReason::kWriteTimeout: return "write_timeout";
    case CloseReason::kWriteError: return "write_error";
    case CloseReason::kProtocolError: return "protocol_error";
    case CloseReason::kShutdown: return "shutdown";
  }
  return "unknown";
}

StreamConnection::StreamConnection(asio::any_io_executor executor, StreamOptions options, std::string remote)
    : executor_(std::move(executor)), options_(options), remote_(std::move(remote)), last_activity_(Clock::now()) {}

bool StreamConnection::hasRoom(std::size_t bytes) const noexcept {
  return !closed_ && queued_messages_ + 1 <= options_.max_queue_messages &&
         queued_bytes_ + bytes <= options_.max_queue_bytes;
}

bool StreamConnection::send(SharedText message) {
  if (closed_ || !message) return false;
  if (!hasRoom(message->size())) {
    close(CloseReason::kQueueFull);
    return false;
  }
  ++queued_messages_;
  queued_bytes_ += message->size();
  pending_.push_back(std::move(message));
  if (!writing_) startWrite();
  return true;
}

void StreamConnection::close(CloseReason reason) {
  if (closed_) return;
  closed_ = true;
  reason_ = reason;
  for (const auto& m : pending_) {
    queued_bytes_ -= std::min(m->size(), queued_bytes_);
  }
  queued_messages_ -= std::min(pending_.size(), queued_messages_);
  pending_.clear();
  shutdownTransport(reason);
  deliverClose();
}

void StreamConnection::deliverClose() {
  // Posted: the owner may be iterating its streams (send() closed this one),
  // and may register onClose() right after creating a stream that closed at once.
  asio::post(executor_, [self = shared_from_this()] {
    auto handler = std::move(self->on_close_);
    self->on_close_ = nullptr;
    self->on_drained_ = nullptr;
    self->on_message_ = nullptr;
    if (handler) handler(self->reason_);
  });
}

void StreamConnection::tick(Clock::time_point now) {
  if (closed_) return;
  if (writing_) {
    if (now - write_started_ >= options_.write_timeout) close(CloseReason::kWriteTimeout);
    return;
  }
  if (ready_ && pending_.empty() && now - last_activity_ >= options_.heartbeat) {
    last_activity_ = now;
    heartbeat();
  }
}

void StreamConnection::writeFinished(const asio::error_code& ec, std::size_t messages, std::size_t bytes) {
  writing_ = false;
  queued_messages_ -= std::min(messages, queued_messages_);
  queued_bytes_ -= std::min(bytes, queued_bytes_);
  if (closed_) return;
  if (ec) {
    close(clientGone(ec) ? CloseReason::kClientClosed : CloseReason::kWriteError);
    return;
  }
  messages_sent_ += messages;
  bytes_sent_ += bytes;
  last_activity_ = Clock::now();
  if (queued_messages_ > 0) {
    startWrite();
  } else if (on_drained_) {
    on_drained_();
  }
}

std::shared_ptr<StreamConnection> startSse(beast::tcp_stream&& stream, const BeastRequest& request,
                                           StreamOptions options, const HeaderList& headers, int retry_ms) {
  tcp::socket socket = stream.release_socket();
  std::string remote = remoteOf(socket);
  std::string head = request.version() == 10 ? "HTTP/1.0 200 OK\r\n" : "HTTP/1.1 200 OK\r\n";
  head +=
      "Server: emwin-bus\r\n"
      "Content-Type: text/event-stream; charset=utf-8\r\n"
      "Cache-Control: no-cache\r\n"
      "Connection: keep-alive\r\n"
      "X-Accel-Buffering: no\r\n";
  for (const auto& [k, v] : headers) {
    // Header values come from configuration; CR/LF would split the response.
    if (k.find_first_of("\r\n:") != std::string::npos || v.find_first_of("\r\n") != std::string::npos) continue;
    head += k + ": " + v + "\r\n";
  }
  head += "\r\n";
  if (retry_ms > 0) head += "retry: " + std::to_string(retry_ms) + "\n\n";
  auto s = std::make_shared<SseStream>(std::move(socket), options, std::move(remote));
  s->begin(std::move(head));
  return s;
}

bool isWebSocketUpgrade(const BeastRequest& request) { return websocket::is_upgrade(request); }

std::shared_ptr<StreamConnection> startWebSocket(beast::tcp_stream&& stream, BeastRequest&& request,
                                                 StreamOptions options, const HeaderList& headers) {
  std::string remote = remoteOf(stream.socket());
  auto s = std::make_shared<WsStream>(std::move(stream), std::move(request), options, std::move(remote));
  s->begin(headers);
  return s;
}

std::string sseFrame(std::string_view event, std::string_view id, std::string_view data) {
  std::string out;
  out.reserve(data.size() + event.size() + id.size() + 24);
  auto oneLine = [](std::string_view v) {  // event/id may not contain line breaks
    const auto cut = v.find_first_of("\r\n");
    return cut == std::string_view::npos ? v : v.substr(0, cut);
  };
  if (!event.empty()) {
    out += "event: ";
    out += oneLine(event);
    out += '\n';
  }
  if (!id.empty()) {
    out += "id: ";
    out += oneLine(id);
    out += '\n';
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t cut = data.find_first_of("\r\n", start);
    out += "data: ";
    out += data.substr(start, cut == std::string_view::npos ? std::string_view::npos : cut - start);
    out += '\n';
    if (cut == std::string_view::npos) break;
    start = cut + 1;
    if (data[cut] == '\r' && start < data.size() && data[start] == '\n') ++start;
    if (start >= data.size()) break;
  }
  out += '\n';
  return out;
}

std::string sseComment(std::string_view text) {
  std::string out = ": ";
  const auto cut = text.find_first_of("\r\n");
  out += cut == std::string_view::npos ? text : text.substr(0, cut);
  out += "\n\n";
  return out;
}

}  // namespace emwin::http
