// emwin-relay-load: many ByteBlaster clients in one process for the relay
// benchmark (bench/relay/run). One thread, one epoll set, non-blocking
// sockets: connects N clients, logs each on (a share of them asking for V2),
// re-logs on every 115 s, reads everything as fast as the relay sends it and
// counts the bytes; client 0's stream is also decoded with the real QBT
// decoder so a broken stream cannot pass as throughput.
//
//   emwin-relay-load --connect 127.0.0.1:2212 --clients 100 --v2-share 0.5 --seconds 20
//
// Prints "ready clients=N" once every client logged on, then (at the end or on
// SIGINT/SIGTERM) one line: "result clients=.. connected=.. closed=.. bytes=..
// seconds=.. decoded_segments=.. decoded_fill=.. bad_frames=.. cpu_s=..".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "qbt/decoder.h"
#include "qbt/encoder.h"

namespace {

std::atomic<bool> g_stop{false};

struct Counter : emwin::qbt::DecoderCallbacks {
  void onSegment(const emwin::qbt::Segment& s) override { (s.is_fill ? fill : segments)++; }
  void onServerList(const emwin::qbt::ServerList&) override { ++lists; }
  void onBadInput(const emwin::qbt::BadInput&) override { ++bad; }
  std::uint64_t segments = 0, fill = 0, lists = 0, bad = 0;
};

struct Client {
  int fd = -1;
  bool open = false;
  std::uint64_t bytes = 0;
};

double cpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  std::string connect = "127.0.0.1:2212";
  int clients = 10;
  double v2_share = 0.5;
  double seconds = 0;
  int rcvbuf = 0;
  CLI::App app{"emwin-relay-load: N ByteBlaster clients reading from emwin-relay (benchmark)"};
  app.add_option("--connect", connect, "relay address, IPv4 host:port")->capture_default_str();
  app.add_option("--clients", clients, "connections")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--v2-share", v2_share, "share of clients logging on with |V2")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--seconds", seconds, "stop after this long once ready (0 = until SIGTERM)");
  app.add_option("--rcvbuf", rcvbuf, "SO_RCVBUF per client (0 = kernel default)");
  CLI11_PARSE(app, argc, argv);

  const auto colon = connect.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(connect.substr(colon + 1))));
  if (colon == std::string::npos || ::inet_pton(AF_INET, connect.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "emwin-relay-load: --connect: want an IPv4 host:port\n");
    return 2;
  }
  std::signal(SIGINT, [](int) { g_stop = true; });
  std::signal(SIGTERM, [](int) { g_stop = true; });
  std::signal(SIGPIPE, SIG_IGN);
  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &nofile);

  const int ep = ::epoll_create1(0);
  std::vector<Client> conns(static_cast<std::size_t>(clients));
  const int v2_clients = static_cast<int>(v2_share * clients + 0.5);
  for (int i = 0; i < clients; ++i) {
    Client& c = conns[static_cast<std::size_t>(i)];
    c.fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0) ::setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (::connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      std::fprintf(stderr, "emwin-relay-load: connect %d: %s\n", i, std::strerror(errno));
      return 1;
    }
    const auto logon = emwin::qbt::encodeLogon("load" + std::to_string(i) + "@example.org",
                                               i < v2_clients ? emwin::qbt::Version::kV2 : emwin::qbt::Version::kV1);
    if (::send(c.fd, logon.data(), logon.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(logon.size())) return 1;
    ::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL) | O_NONBLOCK);
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.u32 = static_cast<std::uint32_t>(i);
    ::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &e);
    c.open = true;
  }
  std::printf("ready clients=%d v2=%d\n", clients, v2_clients);
  std::fflush(stdout);

  Counter counter;
  emwin::qbt::Decoder decoder(counter);
  const double cpu0 = cpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  auto next_logon = t0 + std::chrono::seconds(115);
  std::vector<std::uint8_t> buf(256 * 1024);
  std::vector<epoll_event> events(1024);
  int open = clients;
  while (!g_stop && open > 0) {
    const auto now = std::chrono::steady_clock::now();
    if (seconds > 0 && std::chrono::duration<double>(now - t0).count() >= seconds) break;
    if (now >= next_logon) {
      next_logon = now + std::chrono::seconds(115);
      for (int i = 0; i < clients; ++i) {
        if (!conns[static_cast<std::size_t>(i)].open) continue;
        const auto logon = emwin::qbt::encodeLogon("load" + std::to_string(i) + "@example.org",
                                                   i < v2_clients ? emwin::qbt::Version::kV2 : emwin::qbt::Version::kV1);
        (void)::send(conns[static_cast<std::size_t>(i)].fd, logon.data(), logon.size(), MSG_NOSIGNAL);
      }
    }
    const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    for (int k = 0; k < n; ++k) {
      const std::uint32_t i = events[static_cast<std::size_t>(k)].data.u32;
      Client& c = conns[i];
      while (c.open) {
        const ssize_t got = ::recv(c.fd, buf.data(), buf.size(), 0);
        if (got > 0) {
          c.bytes += static_cast<std::uint64_t>(got);
          if (i == 0) decoder.feed(std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(got)));
          if (static_cast<std::size_t>(got) < buf.size()) break;
          continue;
        }
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) break;
        ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
        ::close(c.fd);
        c.open = false;
        --open;
      }
    }
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::uint64_t bytes = 0;
  for (const Client& c : conns) bytes += c.bytes;
  std::printf("result clients=%d connected=%d closed=%d bytes=%llu seconds=%.3f decoded_segments=%llu "
              "decoded_fill=%llu bad_frames=%llu cpu_s=%.3f\n",
              clients, open, clients - open, static_cast<unsigned long long>(bytes), elapsed,
              static_cast<unsigned long long>(counter.segments), static_cast<unsigned long long>(counter.fill),
              static_cast<unsigned long long>(counter.bad), cpuSeconds() - cpu0);
  std::fflush(stdout);
  for (Client& c : conns) {
    if (c.open) ::close(c.fd);
  }
  ::close(ep);
  return 0;
}
