#pragma once
// Helpers of the fault-injection suite: start the real pipeline processes
// (disk-writer, assembler, ingest; emwin-sim or a raw TCP server written here
// for input nobody else would send), watch every service's ServiceStats, read
// RSS from /proc, hash what landed on disk, craft hostile QBT frames.
// Thread-safety: test-thread only, except RawServer which runs its own thread
// and is stopped/joined by its destructor.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "bus/bus.h"
#include "emwin/bus/v1/stats.pb.h"
#include "support/process.h"

namespace emwin::test {

using namespace std::chrono_literals;

inline std::string productsDir(const std::string& category) {
  return std::string(EMWIN_CORPUS_DIR) + "/products/" + category;
}
inline std::string endpoint() { return "tcp://127.0.0.1:" + std::to_string(freeTcpPort()); }

// Resident set size of a process in KiB (0 if it is gone).
std::uint64_t rssKb(pid_t pid);

// A TCP server on 127.0.0.1 (kernel-chosen port) that runs `serve` for every
// accepted connection on its own thread, reading and discarding what the
// client sends (logons). `serve` gets the socket and a stop flag; it returns
// when done (the connection is then closed).
class RawServer {
 public:
  using Serve = std::function<void(int fd, const std::atomic<bool>& stop)>;
  explicit RawServer(Serve serve);
  ~RawServer();
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;
  int port() const noexcept { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int connections() const noexcept { return connections_.load(); }
  // Bytes read from clients so far (their logons), over all connections.
  std::uint64_t bytesReceived() const noexcept { return bytes_received_.load(); }

 private:
  void acceptLoop();
  Serve serve_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<std::uint64_t> bytes_received_{0};
  std::thread thread_;
  std::vector<std::thread> workers_;
};

// Writes all of `bytes` (false when the peer went away or `stop` was set).
bool writeAll(int fd, const std::vector<std::uint8_t>& bytes, const std::atomic<bool>& stop);

// Wire bytes (XOR-ed) of a hand-made frame: sync, `header` padded with spaces
// to 78 bytes plus CR LF (not truncated when longer), `body`, six-NUL suffix.
std::vector<std::uint8_t> rawFrame(const std::string& header, const std::vector<std::uint8_t>& body,
                                   bool suffix = true);
// Header text "/PF<name>/PN<pn> /PT<pt> /CS<cs> /FD<fd>" (+ " /DL<dl>" when dl >= 0): a
// well-formed header (values follow their markers directly, as the spec lays them out), so
// the frame is judged on its values, not refused as unparsable.
std::string headerText(const std::string& name, std::uint64_t pn, std::uint64_t pt, std::uint64_t cs,
                       long long dl = -1);
// Wire bytes of a whole file (V1 frames) with a fixed /FD stamp.
std::vector<std::uint8_t> fileFrames(const std::string& name, const std::string& content,
                                     std::int64_t fd = 1772550000);

// Latest ServiceStats of every service, from taps (ingest, assembler) and a
// bound intake socket (disk-writers publish there with --stats-connect).
class StatsWatch {
 public:
  StatsWatch(zmq::context_t& ctx, std::vector<std::string> taps, std::string intake);
  // Pumps messages until `pred(latest)` holds for the stats of `service`
  // (any instance, newest wins) or the deadline passes. Returns the last seen.
  emwin::bus::v1::ServiceStats waitFor(const std::string& service,
                                       const std::function<bool(const emwin::bus::v1::ServiceStats&)>& pred,
                                       std::chrono::milliseconds timeout);
  // Pumps for up to `timeout` and returns the latest stats of `service` (empty if none).
  emwin::bus::v1::ServiceStats latest(const std::string& service, std::chrono::milliseconds timeout = 0ms);

 private:
  void pump(std::chrono::milliseconds timeout);
  std::unique_ptr<bus::Subscriber> tap_;
  std::unique_ptr<zmq::socket_t> intake_;
  std::map<std::string, emwin::bus::v1::ServiceStats> latest_;
};

std::uint64_t counter(const emwin::bus::v1::ServiceStats& s, const std::string& name);
double gauge(const emwin::bus::v1::ServiceStats& s, const std::string& name);

// sha256 of every regular product file under `root` (sidecars and temp files excluded).
std::multiset<std::string> shasOnDisk(const std::string& root);
// Every regular file under `dir`, relative paths.
std::vector<std::string> filesUnder(const std::string& dir);
// sha256 values of the sim's "sent" lines.
std::set<std::string> sentShas(const Process& sim);

// The pipeline processes of one test, started in the documented order:
// disk-writer(s), assembler (--wait-consumers), then the input, then ingest.
struct Pipeline {
  std::string base;     // temp dir holding out/, state dirs
  std::string out;      // disk-writer --out
  std::string intake;   // stats intake (bound by StatsWatch)
  std::string asm_pub, asm_pipe, ing_pub, ing_pipe;
  std::string asm_state, writer_state;
  std::vector<std::string> assembler_args;  // extra
  std::vector<std::string> writer_args;     // extra
  std::unique_ptr<Process> writer, assembler, ingest;

  explicit Pipeline(const std::string& name);
  void startWriter(const std::string& name = "writer");
  void startAssembler(const std::string& name = "assembler");
  void startIngest(const std::string& server, std::vector<std::string> extra = {}, const std::string& name = "ingest");
  // Waits for the assembler's "taking segments" log line (its consumers joined).
  bool assemblerReady(std::chrono::milliseconds timeout = 10s);
};

}  // namespace emwin::test
