#pragma once
// Long-lived streaming responses on the process's reactor — Server-Sent
// Events (text/event-stream) and WebSocket (Boost.Beast) — behind one
// interface, StreamConnection, that a broadcaster feeds with shared, pre-built
// messages: one buffer serves every client that gets it.
//
// Each connection has a bounded queue (messages and bytes, counting what is
// being written). A send() that would exceed it closes the connection with
// CloseReason::kQueueFull, so a client that cannot keep up never holds
// memory or the reactor; it is dropped and the reason counted by the owner.
// tick() (call it for every stream from one timer, e.g. each second) sends a
// heartbeat on an idle stream and closes one whose write has not finished
// within write_timeout. The close handler runs exactly once, posted to the
// reactor (never from inside send() or close()), with the reason.
//
// SSE streams are created from a connection that http::Server handed over
// (Server::takeOver); they keep only the socket (no per-client timer) and
// gather queued frames into one write. WebSocket streams complete the
// upgrade handshake themselves; their keep-alive pings and idle timeout are
// Beast's.
//
// Thread-safety: not thread-safe; everything on the io_context's thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "http/server.h"
#include "service/asio.h"

namespace emwin::http {

// A message shared by many streams (an SSE frame, a WebSocket text message).
using SharedText = std::shared_ptr<const std::string>;

// Makes a SharedText.
inline SharedText shareText(std::string text) { return std::make_shared<const std::string>(std::move(text)); }

// Why a stream ended.
enum class CloseReason : std::uint8_t {
  kClientClosed,   // the client went away (EOF, reset, WebSocket close)
  kQueueFull,      // the client could not keep up: its queue bound was reached
  kWriteTimeout,   // a write did not finish within StreamOptions::write_timeout
  kWriteError,     // the socket failed while writing
  kProtocolError,  // WebSocket handshake or framing error, oversized client message
  kShutdown,       // the server closed it (stopping, or the owner's decision)
};

// "client_closed", "queue_full", "write_timeout", "write_error", "protocol_error", "shutdown".
std::string_view closeReasonName(CloseReason reason) noexcept;

// Every CloseReason, for tables of counters.
inline constexpr CloseReason kCloseReasons[] = {CloseReason::kClientClosed, CloseReason::kQueueFull,
                                                CloseReason::kWriteTimeout, CloseReason::kWriteError,
                                                CloseReason::kProtocolError, CloseReason::kShutdown};

// Limits and timers of one stream.
struct StreamOptions {
  std::size_t max_queue_messages = 1024;          // queued + being written, before kQueueFull
  std::size_t max_queue_bytes = 4u << 20;         // same, in bytes
  std::chrono::milliseconds write_timeout{30000};  // a write pending this long closes the stream (tick)
  std::chrono::milliseconds heartbeat{15000};     // SSE: a comment after this long idle (tick); WS: ping period
  std::size_t max_write_batch = 64;               // SSE: queued frames gathered into one write
  std::size_t max_client_message = 4096;          // WS: larger client messages close the stream
  int socket_send_buffer = 0;                     // SO_SNDBUF in bytes (0 = the kernel's autotuning)
};

// The protocol of a stream.
enum class StreamProtocol : std::uint8_t { kSse, kWebSocket };

// One client stream. Created by startSse() / startWebSocket(); owned by
// whoever keeps the shared_ptr (pending operations keep it alive too).
class StreamConnection : public std::enable_shared_from_this<StreamConnection> {
 public:
  using Clock = std::chrono::steady_clock;
  using CloseHandler = std::function<void(CloseReason)>;

  virtual ~StreamConnection() = default;
  StreamConnection(const StreamConnection&) = delete;
  StreamConnection& operator=(const StreamConnection&) = delete;

  // Queues `message` for the client. Returns false when the stream is closed,
  // or when the message would exceed the queue bounds — the stream is then
  // closed with kQueueFull.
  bool send(SharedText message);
  // True when `bytes` more could be queued now without reaching a bound.
  bool hasRoom(std::size_t bytes) const noexcept;
  // Closes the stream (idempotent; the first reason wins).
  void close(CloseReason reason);
  // Heartbeat on an idle stream; kWriteTimeout for a stalled write.
  void tick(Clock::time_point now);

  // Called once when the stream has closed (posted to the reactor).
  void onClose(CloseHandler handler) { on_close_ = std::move(handler); }
  // Called (posted) whenever the queue becomes empty after a write.
  void onDrained(std::function<void()> handler) { on_drained_ = std::move(handler); }
  // WebSocket only: called with each text message the client sends.
  void onMessage(std::function<void(std::string_view)> handler) { on_message_ = std::move(handler); }

  bool isOpen() const noexcept { return !closed_; }
  std::size_t queuedMessages() const noexcept { return queued_messages_; }
  std::size_t queuedBytes() const noexcept { return queued_bytes_; }
  std::uint64_t messagesSent() const noexcept { return messages_sent_; }
  std::uint64_t bytesSent() const noexcept { return bytes_sent_; }
  const std::string& remote() const noexcept { return remote_; }
  const StreamOptions& options() const noexcept { return options_; }
  virtual StreamProtocol protocol() const noexcept = 0;

 protected:
  StreamConnection(asio::any_io_executor executor, StreamOptions options, std::string remote);

  // Starts writing from pending_ (called when nothing is being written).
  virtual void startWrite() = 0;
  // Queues a heartbeat (SSE comment) or does nothing (WebSocket: Beast pings).
  virtual void heartbeat() = 0;
  // Ends the transport after close() decided to.
  virtual void shutdownTransport(CloseReason reason) = 0;

  // For subclasses: a write of `messages` messages / `bytes` bytes finished.
  void writeFinished(const asio::error_code& ec, std::size_t messages, std::size_t bytes);
  void markWriting() {
    writing_ = true;
    write_started_ = Clock::now();
  }
  void deliverClose();

  asio::any_io_executor executor_;
  StreamOptions options_;
  std::string remote_;
  std::vector<SharedText> pending_;  // queued, not yet handed to a write
  bool writing_ = false;
  bool closed_ = false;
  bool ready_ = true;  // false until a WebSocket handshake completed
  CloseReason reason_ = CloseReason::kClientClosed;
  Clock::time_point write_started_{};
  Clock::time_point last_activity_{};
  std::size_t queued_messages_ = 0;  // pending + being written
  std::size_t queued_bytes_ = 0;
  std::uint64_t messages_sent_ = 0;
  std::uint64_t bytes_sent_ = 0;
  CloseHandler on_close_;
  std::function<void()> on_drained_;
  std::function<void(std::string_view)> on_message_;
};

// Extra response headers of a stream (e.g. CORS).
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Turns a connection handed over by Server::takeOver into an SSE stream: the
// 200 response header (text/event-stream, no-cache, plus `headers`) is
// queued first. `retry_ms` > 0 adds a `retry:` line (the client's reconnect delay).
std::shared_ptr<StreamConnection> startSse(beast::tcp_stream&& stream, const BeastRequest& request,
                                           StreamOptions options, const HeaderList& headers = {},
                                           int retry_ms = 0);

// True when `request` asks for a WebSocket upgrade.
bool isWebSocketUpgrade(const BeastRequest& request);

// Completes a WebSocket upgrade on a handed-over connection (text messages;
// `headers` added to the handshake response). Messages sent before the
// handshake completes are queued.
std::shared_ptr<StreamConnection> startWebSocket(beast::tcp_stream&& stream, BeastRequest&& request,
                                                 StreamOptions options, const HeaderList& headers = {});

// One SSE frame: optional `event:` and `id:` lines, the data split into
// `data:` lines at each line break (CR, LF or CRLF), and the blank line.
std::string sseFrame(std::string_view event, std::string_view id, std::string_view data);

// One SSE comment frame (": text"), e.g. a heartbeat.
std::string sseComment(std::string_view text);

}  // namespace emwin::http
