#pragma once
// A downstream ByteBlaster client for the relay tests: a blocking POSIX TCP
// socket on 127.0.0.1, reads with deadlines (poll), everything received fed
// to the real QBT decoder. Segments are kept, or handed to `on_segment`
// instead (100 clients x 1,000 blocks need not be kept).
// Thread-safety: one thread per TestClient.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "qbt/decoder.h"
#include "qbt/encoder.h"

namespace emwin::test {

class TestClient : public qbt::DecoderCallbacks {
 public:
  using Clock = std::chrono::steady_clock;

  // Connects to 127.0.0.1:port; `rcvbuf` > 0 sets SO_RCVBUF first (a slow reader's small window).
  explicit TestClient(int port, int rcvbuf = 0) : decoder_(*this) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect to port " + std::to_string(port) + " failed: " + std::strerror(errno));
    }
  }
  ~TestClient() override {
    if (fd_ >= 0) ::close(fd_);
  }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  // Sends "ByteBlast Client|NM-<email>|V1|V2" (XOR-ed).
  bool logon(std::string_view email, qbt::Version version) { return sendWire(qbt::encodeLogon(email, version)); }
  // Sends decoded text, XOR-ed for the wire.
  bool sendText(std::string_view text) {
    std::vector<std::uint8_t> b(text.begin(), text.end());
    qbt::xorInPlace(b);
    return sendWire(b);
  }
  bool sendWire(const std::vector<std::uint8_t>& bytes) {
    std::size_t at = 0;
    while (at < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
      if (n <= 0) return false;
      at += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Reads until `done()` holds, the server closes, or `timeout`; true when done() held.
  bool readUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!done()) {
      if (eof_) return false;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      if (!readOnce(static_cast<int>(std::min<long long>(left, 100)))) continue;
    }
    return true;
  }
  // Reads until the server closes the connection (or `timeout`); true when it did.
  bool readUntilClosed(std::chrono::milliseconds timeout) {
    readUntil([this] { return eof_; }, timeout);
    return eof_;
  }
  // Reads whatever arrives within `wait_ms` (one poll), false when nothing did.
  bool readOnce(int wait_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, wait_ms) <= 0) return false;
    std::uint8_t buf[64 * 1024];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      if (n == 0 || (errno != EAGAIN && errno != EINTR)) eof_ = true;
      return false;
    }
    bytes_ += static_cast<std::size_t>(n);
    decoder_.feed(std::span<const std::uint8_t>(buf, static_cast<std::size_t>(n)));
    return true;
  }

  // DecoderCallbacks:
  void onSegment(const qbt::Segment& s) override {
    (s.version == qbt::Version::kV2 ? frames_v2 : frames_v1)++;
    if (s.is_fill) {
      ++fill;
      return;
    }
    ++data_segments;
    if (on_segment) {
      on_segment(s);
    } else {
      segments.push_back(s);
    }
  }
  void onServerList(const qbt::ServerList& l) override {
    lists.push_back(l);
    if (data_segments == 0 && fill == 0) list_first = true;
  }
  void onBadInput(const qbt::BadInput& b) override { bad.push_back(b); }

  bool closed() const noexcept { return eof_; }
  std::size_t bytes() const noexcept { return bytes_; }
  int fd() const noexcept { return fd_; }

  std::function<void(const qbt::Segment&)> on_segment;  // instead of keeping segments
  std::vector<qbt::Segment> segments;
  std::vector<qbt::ServerList> lists;
  std::vector<qbt::BadInput> bad;
  std::size_t data_segments = 0;
  std::size_t fill = 0;
  std::size_t frames_v1 = 0;  // decoded frames in V1 layout (fill included)
  std::size_t frames_v2 = 0;
  bool list_first = false;    // a server list came before any other frame

 private:
  int fd_ = -1;
  bool eof_ = false;
  std::size_t bytes_ = 0;
  qbt::Decoder decoder_;
};

}  // namespace emwin::test
