// emwin_http: Server-Sent Events and WebSocket streams over real loopback
// sockets (the server's reactor on a background thread, blocking clients in
// the test), their queue bounds and close reasons, SSE framing, static
// files with ETags, writeResponse, and the Prometheus text builder.
#include <sys/socket.h>

#include <chrono>
#include <future>
#include <thread>

#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include "http/metrics.h"
#include "http/server.h"
#include "http/static_files.h"
#include "http/stream.h"

namespace emwin::http {
namespace {

using namespace std::chrono_literals;
using tcp = asio::ip::tcp;
namespace websocket = beast::websocket;

// The server's reactor on its own thread; run(fn) executes fn there and waits.
class Reactor {
 public:
  Reactor() : guard_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~Reactor() { stop(); }
  // Drops the server and stops the thread (pending handlers are destroyed, not run).
  void stop() {
    if (!thread_.joinable()) return;
    run([this] { server.reset(); });
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  template <class F>
  auto run(F fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto f = task.get_future();
    asio::post(io_, [&task] { task(); });
    return f.get();
  }
  // Waits (polling on the reactor thread) until pred() holds or the deadline passes.
  template <class P>
  bool waitFor(P pred, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (run(pred)) return true;
      std::this_thread::sleep_for(2ms);
    }
    return false;
  }
  asio::io_context& io() { return io_; }
  std::unique_ptr<Server> server;

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// A blocking HTTP client socket.
struct Client {
  asio::io_context io;
  tcp::socket socket{io};
  explicit Client(int port, int rcvbuf = 0) {
    socket.open(tcp::v4());
    if (rcvbuf > 0) socket.set_option(asio::socket_base::receive_buffer_size(rcvbuf));
    socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  }
  void send(const std::string& text) { asio::write(socket, asio::buffer(text)); }
  // Reads until `needle` is in what was read (or 5 s).
  std::string readUntil(const std::string& needle) {
    socket.non_blocking(false);
    timeval tv{5, 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (buffer.find(needle) == std::string::npos) {
      char chunk[4096];
      asio::error_code ec;
      const std::size_t n = socket.read_some(asio::buffer(chunk), ec);
      if (ec || n == 0) break;
      buffer.append(chunk, n);
    }
    return buffer;
  }
  std::string buffer;
};

struct Captured {
  std::shared_ptr<StreamConnection> stream;
  std::optional<CloseReason> closed;
  std::vector<std::string> received;  // WebSocket client messages
  std::string path;
};

class StreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = reactor_.run([this] {
      ServerOptions o;
      o.listen = "127.0.0.1:0";
      o.headers = {{"Access-Control-Allow-Origin", "*"}};
      reactor_.server = std::make_unique<Server>(reactor_.io(), o);
      reactor_.server->takeOver("/sse", [this](beast::tcp_stream&& s, BeastRequest&& raw, const Request& req) {
        cap_.path = req.target;
        cap_.stream = startSse(std::move(s), raw, options_, {{"X-Test", "1"}}, 1500);
        cap_.stream->onClose([this](CloseReason r) { cap_.closed = r; });
      });
      reactor_.server->takeOver("/ws", [this](beast::tcp_stream&& s, BeastRequest&& raw, const Request&) {
        if (!isWebSocketUpgrade(raw)) {
          Response r;
          r.status = 426;
          r.body = "upgrade required\n";
          writeResponse(std::move(s), raw, std::move(r));
          return;
        }
        cap_.stream = startWebSocket(std::move(s), std::move(raw), options_);
        cap_.stream->onClose([this](CloseReason r) { cap_.closed = r; });
        cap_.stream->onMessage([this](std::string_view m) { cap_.received.emplace_back(m); });
      });
      return reactor_.server->port();
    });
  }

  void TearDown() override {
    reactor_.run([this] { cap_.stream.reset(); });
    reactor_.stop();
  }

  bool sendOnServer(const std::string& text) {
    return reactor_.run([this, text] { return cap_.stream->send(shareText(text)); });
  }

  StreamOptions options_;
  Reactor reactor_;
  Captured cap_;
  int port_ = 0;
};

TEST(SseFrame, SplitsDataAtEveryLineBreakAndKeepsEventAndIdOnOneLine) {
  EXPECT_EQ(sseFrame("alert", "5-1", "{\"a\":1}"), "event: alert\nid: 5-1\ndata: {\"a\":1}\n\n");
  EXPECT_EQ(sseFrame("", "", "one\ntwo\r\nthree\rfour"), "data: one\ndata: two\ndata: three\ndata: four\n\n");
  EXPECT_EQ(sseFrame("x\ny", "1\r2", "d"), "event: x\nid: 1\ndata: d\n\n");
  EXPECT_EQ(sseFrame("", "", ""), "data: \n\n");
  EXPECT_EQ(sseComment("ping\nevil"), ": ping\n\n");
}

TEST_F(StreamTest, SseClientGetsHeaderRetryAndFramesInOrder) {
  Client c(port_);
  c.send("GET /sse?x=1 HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(reactor_.waitFor([this] { return cap_.stream != nullptr; }));
  EXPECT_EQ(cap_.path, "/sse?x=1");
  const std::string head = c.readUntil("retry: 1500\n\n");
  EXPECT_NE(head.find("HTTP/1.1 200 OK\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Type: text/event-stream"), std::string::npos) << head;
  EXPECT_NE(head.find("Cache-Control: no-cache"), std::string::npos) << head;
  EXPECT_NE(head.find("X-Test: 1\r\n"), std::string::npos) << head;
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(sendOnServer(sseFrame("n", std::to_string(i), "payload")));
  const std::string all = c.readUntil("id: 49\n");
  std::size_t pos = 0;
  for (int i = 0; i < 50; ++i) {
    const std::size_t at = all.find("id: " + std::to_string(i) + "\n", pos);
    ASSERT_NE(at, std::string::npos) << "frame " << i << " missing or out of order";
    pos = at;
  }
  EXPECT_TRUE(reactor_.waitFor([this] { return cap_.stream->queuedMessages() == 0; }));
  EXPECT_GE(reactor_.run([this] { return cap_.stream->messagesSent(); }), 51u);
}

TEST_F(StreamTest, SseClientThatLeavesIsClosedAsClientClosed) {
  {
    Client c(port_);
    c.send("GET /sse HTTP/1.1\r\nHost: t\r\n\r\n");
    c.readUntil("retry:");
  }
  ASSERT_TRUE(reactor_.waitFor([this] { return cap_.closed.has_value(); }));
  EXPECT_EQ(*cap_.closed, CloseReason::kClientClosed);
  EXPECT_FALSE(sendOnServer("late"));
}

TEST_F(StreamTest, SseClientThatStopsReadingIsDroppedWhenItsQueueIsFull) {
  options_.max_queue_messages = 64;
  options_.max_queue_bytes = 1u << 20;
  Client c(port_, 4096);  // small receive window; never read after the header
  c.send("GET /sse HTTP/1.1\r\nHost: t\r\n\r\n");
  c.readUntil("retry:");
  const std::string big(16 * 1024, 'x');
  int accepted = 0;
  // The kernel buffers some megabytes; after that the queue fills and the
  // stream is closed with kQueueFull (never blocks, never grows).
  for (int i = 0; i < 5000 && sendOnServer(sseFrame("big", std::to_string(i), big)); ++i) ++accepted;
  EXPECT_LT(accepted, 5000);
  ASSERT_TRUE(reactor_.waitFor([this] { return cap_.closed.has_value(); }));
  EXPECT_EQ(*cap_.closed, CloseReason::kQueueFull);
  EXPECT_TRUE(reactor_.waitFor([this] { return cap_.stream->queuedMessages() == 0; }));  // nothing held
}

TEST_F(StreamTest, SseWriteThatNeverFinishesIsAWriteTimeout) {
  options_.max_queue_messages = 1000000;
  options_.max_queue_bytes = 1u << 30;
  options_.write_timeout = 200ms;
  Client c(port_, 4096);
  c.send("GET /sse HTTP/1.1\r\nHost: t\r\n\r\n");
  c.readUntil("retry:");
  const std::string big(64 * 1024, 'y');
  // Enough to fill every kernel buffer: the write then stays pending.
  for (int i = 0; i < 400; ++i) ASSERT_TRUE(sendOnServer(big));
  ASSERT_TRUE(reactor_.waitFor([this] {
    cap_.stream->tick(std::chrono::steady_clock::now());
    return cap_.closed.has_value();
  }));
  EXPECT_EQ(*cap_.closed, CloseReason::kWriteTimeout);
}

TEST_F(StreamTest, IdleSseStreamGetsAHeartbeatComment) {
  options_.heartbeat = 50ms;
  Client c(port_);
  c.send("GET /sse HTTP/1.1\r\nHost: t\r\n\r\n");
  c.readUntil("retry:");
  ASSERT_TRUE(reactor_.waitFor([this] { return cap_.stream != nullptr; }));
  std::this_thread::sleep_for(60ms);  // the stream must have been idle for the heartbeat period
  reactor_.run([this] {
    cap_.stream->tick(std::chrono::steady_clock::now());
    return 0;
  });
  EXPECT_NE(c.readUntil(": ping\n\n").find(": ping\n\n"), std::string::npos);
}

TEST_F(StreamTest, WebSocketClientGetsTextMessagesAndCanTalk) {
  asio::io_context io;
  websocket::stream<tcp::socket> ws(io);
  ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)});
  ws.handshake("127.0.0.1", "/ws");
  ASSERT_TRUE(reactor_.waitFor([this] { return cap_.stream != nullptr; }));
  EXPECT_EQ(cap_.stream->protocol(), StreamProtocol::kWebSocket);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(sendOnServer("{\"n\":" + std::to_string(i) + "}"));
  for (int i = 0; i < 20; ++i) {
    beast::flat_buffer b;
    ws.read(b);
    EXPECT_TRUE(ws.got_text());
    EXPECT_EQ(beast::buffers_to_string(b.data()), "{\"n\":" + std::to_string(i) + "}");
  }
  ws.write(asio::buffer(std::string("hello server")));
  ASSERT_TRUE(reactor_.waitFor([this] { return !cap_.received.empty(); }));
  EXPECT_EQ(reactor_.run([this] { return cap_.received.front(); }), "hello server");
  ws.close(websocket::close_code::normal);
  ASSERT_TRUE(reactor_.waitFor([this] { return cap_.closed.has_value(); }));
  EXPECT_EQ(*cap_.closed, CloseReason::kClientClosed);
}

TEST_F(StreamTest, WebSocketClientMessageOverTheLimitIsAProtocolError) {
  options_.max_client_message = 64;
  asio::io_context io;
  websocket::stream<tcp::socket> ws(io);
  ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)});
  ws.handshake("127.0.0.1", "/ws");
  ws.write(asio::buffer(std::string(1000, 'z')));
  beast::flat_buffer b;
  beast::error_code ec;
  ws.read(b, ec);  // the server's close frame
  EXPECT_EQ(ec, websocket::error::closed) << ec.message();
  EXPECT_EQ(ws.reason().code, websocket::close_code::too_big);
  ASSERT_TRUE(reactor_.waitFor([this] { return cap_.closed.has_value(); }));
  EXPECT_EQ(*cap_.closed, CloseReason::kProtocolError);
}

TEST_F(StreamTest, PlainGetOnAWebSocketRouteGets426FromWriteResponse) {
  Client c(port_);
  c.send("GET /ws HTTP/1.1\r\nHost: t\r\n\r\n");
  const std::string r = c.readUntil("upgrade required\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 426", 0), 0u) << r;
  EXPECT_NE(r.find("Connection: close"), std::string::npos) << r;
}

TEST_F(StreamTest, ServerShutdownClosesAWebSocketWithGoingAway) {
  asio::io_context io;
  websocket::stream<tcp::socket> ws(io);
  ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)});
  ws.handshake("127.0.0.1", "/ws");
  ASSERT_TRUE(reactor_.waitFor([this] { return cap_.stream != nullptr; }));
  reactor_.run([this] {
    cap_.stream->close(CloseReason::kShutdown);
    return 0;
  });
  beast::flat_buffer b;
  beast::error_code ec;
  ws.read(b, ec);
  EXPECT_EQ(ec, websocket::error::closed) << ec.message();
  EXPECT_EQ(ws.reason().code, websocket::close_code::going_away);
}

TEST(StaticFiles, ServesWithETagAndAnswers304ToAMatchingIfNoneMatch) {
  static const StaticFile kFile{"/app.js", "text/javascript; charset=utf-8", "console.log(1)", "\"abc\""};
  Request req;
  Response r = staticResponse(kFile, req, "no-cache");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "console.log(1)");
  EXPECT_EQ(r.content_type, "text/javascript; charset=utf-8");
  req.headers["if-none-match"] = "\"abc\"";
  r = staticResponse(kFile, req, "no-cache");
  EXPECT_EQ(r.status, 304);
  EXPECT_TRUE(r.body.empty());
  req.headers["if-none-match"] = "\"old\"";
  EXPECT_EQ(staticResponse(kFile, req, "no-cache").status, 200);
}

TEST(MetricsText, OneHelpAndTypePerFamilyLabelsEscapedNumbersPlain) {
  MetricsText m("emwin_x_");
  m.counter("closed_total", "closed\nstreams", 3, {{"reason", "queue_full"}});
  m.counter("closed_total", "closed streams", 0, {{"reason", "a\"b\\c\nd"}});
  m.gauge("ratio", "a ratio", 0.25);
  const std::string t = m.take();
  EXPECT_EQ(t,
            "# HELP emwin_x_closed_total closed streams\n"
            "# TYPE emwin_x_closed_total counter\n"
            "emwin_x_closed_total{reason=\"queue_full\"} 3\n"
            "emwin_x_closed_total{reason=\"a\\\"b\\\\c\\nd\"} 0\n"
            "# HELP emwin_x_ratio a ratio\n"
            "# TYPE emwin_x_ratio gauge\n"
            "emwin_x_ratio 0.25\n");
  EXPECT_TRUE(m.text().empty());
}

TEST(OpenFileLimit, RaisesTheSoftLimitUpToTheHardOne) {
  const std::uint64_t now = raiseOpenFileLimit(0);
  EXPECT_GT(now, 0u);
  EXPECT_GE(raiseOpenFileLimit(now + 16), now);
}

}  // namespace
}  // namespace emwin::http
