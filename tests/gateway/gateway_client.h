#pragma once
// Test clients of emwin-gateway: a Server-Sent Events client on a raw
// socket (request headers of our choosing, a receive buffer of our choosing,
// reads only when pumped — so a test can also play a client that stops
// reading), a blocking HTTP GET, and helpers to start the gateway process and
// wait for its port. Thread-safety: test-thread only.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/process.h"

namespace emwin::test {

using namespace std::chrono_literals;
using Json = nlohmann::json;

// One SSE event as received.
struct SseEvent {
  std::string event;  // "alert", "file", "stats", "hello", "gap"
  std::string id;
  std::string data;
  Json json() const { return Json::parse(data, nullptr, false); }
};

class SseClient {
 public:
  // Connects to 127.0.0.1:`port` and sends GET `target` (with `headers`).
  // `rcvbuf` > 0 sets SO_RCVBUF before connecting.
  SseClient(int port, const std::string& target, const std::vector<std::string>& headers = {}, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
    for (const auto& h : headers) req += h + "\r\n";
    req += "\r\n";
    if (connected_) (void)::send(fd_, req.data(), req.size(), MSG_NOSIGNAL);
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
  }
  ~SseClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  // Reads what is there now and parses complete events. False once closed.
  bool pump() {
    if (fd_ < 0 || closed_) return false;
    char buf[65536];
    while (true) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        raw_.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) closed_ = true;
      break;
    }
    parse();
    return !closed_;
  }
  // Pumps until `pred()` or the timeout.
  template <class P>
  bool waitFor(P pred, std::chrono::milliseconds timeout = 20s) {
    return waitUntil(
        [&] {
          pump();
          return pred();
        },
        timeout);
  }
  // Pumps until an event of type `event` has arrived.
  bool waitForEvent(const std::string& event, std::chrono::milliseconds timeout = 20s) {
    return waitFor([&] { return count(event) > 0; }, timeout);
  }
  std::size_t count(const std::string& event) const {
    std::size_t n = 0;
    for (const auto& e : events_) n += e.event == event;
    return n;
  }
  // Events of type `event` (all when empty).
  std::vector<SseEvent> of(const std::string& event = {}) const {
    std::vector<SseEvent> out;
    for (const auto& e : events_) {
      if (event.empty() || e.event == event) out.push_back(e);
    }
    return out;
  }
  int status() const { return status_; }
  const std::string& head() const { return head_; }
  const std::string& body() const { return raw_; }
  bool closed() const { return closed_; }
  bool connected() const { return connected_; }

 private:
  void parse() {
    if (status_ == 0) {
      const auto end = raw_.find("\r\n\r\n");
      if (end == std::string::npos) return;
      head_ = raw_.substr(0, end);
      raw_.erase(0, end + 4);
      std::smatch m;
      if (std::regex_search(head_, m, std::regex("^HTTP/1\\.[01] ([0-9]{3})"))) status_ = std::stoi(m[1]);
      if (status_ != 200) return;
    }
    if (status_ != 200) return;
    while (true) {
      const auto end = raw_.find("\n\n");
      if (end == std::string::npos) return;
      const std::string frame = raw_.substr(0, end + 1);
      raw_.erase(0, end + 2);
      SseEvent e;
      std::size_t pos = 0;
      bool any = false;
      while (pos < frame.size()) {
        const auto nl = frame.find('\n', pos);
        const std::string line = frame.substr(pos, nl - pos);
        pos = nl + 1;
        if (line.empty() || line[0] == ':') continue;
        const auto colon = line.find(':');
        const std::string field = line.substr(0, colon);
        std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.erase(0, 1);
        if (field == "event") e.event = value, any = true;
        if (field == "id") e.id = value;
        if (field == "data") {
          if (!e.data.empty()) e.data += '\n';
          e.data += value;
          any = true;
        }
      }
      if (any) {
        if (e.event.empty()) e.event = "message";
        events_.push_back(std::move(e));
      }
    }
  }

  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  int status_ = 0;
  std::string head_;
  std::string raw_;
  std::vector<SseEvent> events_;
};

// A blocking GET on 127.0.0.1:`port`: status and body (status 0 on failure).
struct HttpReply {
  int status = 0;
  std::string head;
  std::string body;
  Json json() const { return Json::parse(body, nullptr, false); }
};

inline HttpReply httpGet(int port, const std::string& target, std::chrono::milliseconds timeout = 10s) {
  HttpReply r;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return r;
  }
  const std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string all;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    all.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto end = all.find("\r\n\r\n");
  if (end == std::string::npos) return r;
  r.head = all.substr(0, end);
  r.body = all.substr(end + 4);
  std::smatch m;
  if (std::regex_search(r.head, m, std::regex("^HTTP/1\\.[01] ([0-9]{3})"))) r.status = std::stoi(m[1]);
  return r;
}

// Value of a Prometheus sample (`name{labels}` exactly as printed), or -1.
inline double metric(const std::string& text, const std::string& sample) {
  std::size_t pos = 0;
  while ((pos = text.find(sample + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') return std::stod(text.substr(pos + sample.size() + 1));
    pos += sample.size();
  }
  return -1;
}

inline std::string gatewayBinary() { return binaryPath("services/sinks/gateway/emwin-gateway"); }

// Starts emwin-gateway with `args` (plus --http 127.0.0.1:0) and returns its port (0 if it did not start).
inline int startGateway(std::unique_ptr<Process>& out, std::vector<std::string> args, const std::string& dir,
                        const std::string& name = "gateway") {
  args.insert(args.end(), {"--http", "127.0.0.1:0", "--stats-interval-ms", "300"});
  out = std::make_unique<Process>(ProcessSpec{gatewayBinary(), args, {}, {}, dir, name});
  auto line = out->waitForLine(std::regex("listening on http://127\\.0\\.0\\.1:([0-9]+)/"), 15s, Stream::kStderr);
  if (!line) return 0;
  std::smatch m;
  std::regex_search(*line, m, std::regex("127\\.0\\.0\\.1:([0-9]+)/"));
  return std::stoi(m[1]);
}

}  // namespace emwin::test
