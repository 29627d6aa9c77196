#include "fault_harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "qbt/encoder.h"
#include "runtime/sha256.h"

namespace emwin::test {

std::uint64_t rssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

RawServer::RawServer(Serve serve) : serve_(std::move(serve)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket failed");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 8) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("bind/listen failed");
  }
  socklen_t len = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { acceptLoop(); });
}

RawServer::~RawServer() {
  stop_.store(true);
  thread_.join();
  for (auto& w : workers_) w.join();
  ::close(listen_fd_);
}

void RawServer::acceptLoop() {
  while (!stop_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    ++connections_;
    workers_.emplace_back([this, fd] {
      std::atomic<bool> reader_stop{false};
      std::thread reader([this, fd, &reader_stop] {  // discard logons so the client never blocks
        char buf[4096];
        while (!reader_stop.load()) {
          pollfd p{fd, POLLIN, 0};
          if (::poll(&p, 1, 20) <= 0) continue;
          const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
          if (n <= 0) break;
          bytes_received_ += static_cast<std::uint64_t>(n);
        }
      });
      serve_(fd, stop_);
      ::shutdown(fd, SHUT_RDWR);
      reader_stop.store(true);
      reader.join();
      ::close(fd);
    });
  }
}

bool writeAll(int fd, const std::vector<std::uint8_t>& bytes, const std::atomic<bool>& stop) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    if (stop.load()) return false;
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    const ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return false;
    }
    off += static_cast<std::size_t>(n);
  }
  return true;
}

std::vector<std::uint8_t> rawFrame(const std::string& header, const std::vector<std::uint8_t>& body, bool suffix) {
  std::vector<std::uint8_t> out(6, 0);
  std::string h = header;
  if (h.size() < 78) h.append(78 - h.size(), ' ');
  h += "\r\n";
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), body.begin(), body.end());
  if (suffix) out.insert(out.end(), 6, 0);
  qbt::xorInPlace(out);
  return out;
}

std::string headerText(const std::string& name, std::uint64_t pn, std::uint64_t pt, std::uint64_t cs, long long dl) {
  std::string h = "/PF" + name + "/PN" + std::to_string(pn) + " /PT" + std::to_string(pt) + " /CS" +
                  std::to_string(cs) + " /FD" + qbt::formatFd(1772550000);
  if (dl >= 0) h += " /DL" + std::to_string(dl);
  return h;
}

std::vector<std::uint8_t> fileFrames(const std::string& name, const std::string& content, std::int64_t fd) {
  std::vector<std::uint8_t> out;
  qbt::encodeFile(name,
                  std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(content.data()), content.size()),
                  fd, qbt::Version::kV1, out);
  return out;
}

StatsWatch::StatsWatch(zmq::context_t& ctx, std::vector<std::string> taps, std::string intake) {
  if (!taps.empty()) {
    bus::SubscriberOptions o;
    o.mode = bus::Mode::kTap;
    o.endpoints = std::move(taps);
    o.topic_prefixes = {"stats."};
    tap_ = std::make_unique<bus::Subscriber>(ctx, o);
  }
  if (!intake.empty()) {
    intake_ = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::sub);
    intake_->set(zmq::sockopt::subscribe, "stats.");
    intake_->set(zmq::sockopt::linger, 0);
    intake_->bind(intake);
  }
}

void StatsWatch::pump(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    if (tap_) {
      while (auto m = tap_->receive(intake_ ? 5ms : 20ms)) {
        emwin::bus::v1::ServiceStats s;
        if (s.ParseFromString(m->payload)) latest_[s.service()] = s;
      }
    }
    if (intake_) {
      zmq::pollitem_t item{intake_->handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(5));
      while (true) {
        zmq::message_t topic, payload;
        if (!intake_->recv(topic, zmq::recv_flags::dontwait)) break;
        if (!topic.more() || !intake_->recv(payload, zmq::recv_flags::dontwait)) continue;
        emwin::bus::v1::ServiceStats s;
        if (s.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) latest_[s.service()] = s;
      }
    }
  } while (std::chrono::steady_clock::now() < deadline);
}

emwin::bus::v1::ServiceStats StatsWatch::waitFor(const std::string& service,
                                                 const std::function<bool(const emwin::bus::v1::ServiceStats&)>& pred,
                                                 std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    pump(20ms);
    auto it = latest_.find(service);
    if (it != latest_.end() && pred(it->second)) return it->second;
    if (std::chrono::steady_clock::now() >= deadline) return it == latest_.end() ? emwin::bus::v1::ServiceStats{} : it->second;
  }
}

emwin::bus::v1::ServiceStats StatsWatch::latest(const std::string& service, std::chrono::milliseconds timeout) {
  pump(timeout);
  auto it = latest_.find(service);
  return it == latest_.end() ? emwin::bus::v1::ServiceStats{} : it->second;
}

std::uint64_t counter(const emwin::bus::v1::ServiceStats& s, const std::string& name) {
  auto it = s.counters().find(name);
  return it == s.counters().end() ? 0 : it->second;
}

double gauge(const emwin::bus::v1::ServiceStats& s, const std::string& name) {
  auto it = s.gauges().find(name);
  return it == s.gauges().end() ? 0.0 : it->second;
}

std::multiset<std::string> shasOnDisk(const std::string& root) {
  std::multiset<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    const std::string name = it->path().filename().string();
    if (name.ends_with(".json") || name.starts_with(".")) continue;
    out.insert(runtime::sha256Hex(readFile(it->path().string())));
  }
  return out;
}

std::vector<std::string> filesUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_directory()) out.push_back(std::filesystem::relative(it->path(), dir).string());
  }
  return out;
}

std::set<std::string> sentShas(const Process& sim) {
  std::set<std::string> out;
  for (const auto& l : sim.lines()) {
    if (l.rfind("sent ", 0) == 0) out.insert(fieldOf(l, "sha256"));
  }
  return out;
}

Pipeline::Pipeline(const std::string& name)
    : base(makeTempDir("faults-" + name)),
      out(base + "/out"),
      intake(endpoint()),
      asm_pub(endpoint()),
      asm_pipe(endpoint()),
      ing_pub(endpoint()),
      ing_pipe(endpoint()),
      asm_state(base + "/asm-state"),
      writer_state(base + "/writer-state") {}

void Pipeline::startWriter(const std::string& name) {
  std::vector<std::string> a = {"--connect", asm_pipe, "--out", out, "--state-dir", writer_state, "--stats-connect",
                                intake, "--stats-interval-ms", "200", "--replica", "w1"};
  a.insert(a.end(), writer_args.begin(), writer_args.end());
  writer = std::make_unique<Process>(
      ProcessSpec{binaryPath("services/sinks/disk_writer/emwin-disk-writer"), a, {}, {}, base, name});
}

void Pipeline::startAssembler(const std::string& name) {
  std::vector<std::string> a = {"--connect", ing_pipe, "--pub", asm_pub, "--pipe", asm_pipe, "--state-dir", asm_state,
                                "--stats-interval-ms", "200", "--wait-consumers", "1", "--instance", "asm"};
  a.insert(a.end(), assembler_args.begin(), assembler_args.end());
  assembler = std::make_unique<Process>(
      ProcessSpec{binaryPath("services/assembler/emwin-assembler"), a, {}, {}, base, name});
}

void Pipeline::startIngest(const std::string& server, std::vector<std::string> extra, const std::string& name) {
  std::vector<std::string> a = {"--server", server, "--pub", ing_pub, "--pipe", ing_pipe, "--email",
                                "faults@example.org", "--stats-interval-ms", "200", "--wait-consumers", "1",
                                "--state-dir", base + "/ingest-state", "--backoff-min-ms", "100",
                                "--backoff-max-ms", "300", "--instance", "ing"};
  a.insert(a.end(), extra.begin(), extra.end());
  ingest = std::make_unique<Process>(ProcessSpec{binaryPath("services/ingest/emwin-ingest"), a, {}, {}, base, name});
}

bool Pipeline::assemblerReady(std::chrono::milliseconds timeout) {
  return assembler->waitForLine(std::regex("consumer\\(s\\) present"), timeout, Stream::kStderr).has_value();
}

}  // namespace emwin::test
