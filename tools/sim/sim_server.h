#pragma once
// emwin-sim server: a ByteBlaster (QBT) TCP server that streams products as
// V1/V2 frames to every client (each client gets its own schedule), honours
// logons, sends a server list, interleaves warnings, retransmits them, sends
// FILLFILE when idle and injects faults on request. Everything observable is
// printed as one stdout line per event (see docs/simulator.md).
//
// Thread-safety: SimServer runs on one asio::io_context thread; all methods
// must be called from that thread (run() from the owning thread).

#include <chrono>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "service/asio.h"

#include "products.h"
#include "qbt/encoder.h"
#include "qbt/types.h"

namespace emwin::sim {

// How fast to send to each client.
struct Rate {
  enum class Kind { kMax, kFramesPerSecond, kBytesPerSecond } kind = Kind::kMax;
  double value = 0;
};

// Parses "max", "<n>fps" or "<n>Bps". Returns false on malformed text.
bool parseRate(const std::string& text, Rate& rate);

// Whether --drop-frames-percent drops block `block` of transmission (name,
// fd, retransmit): a position in [0, 100) from a hash of the arguments and
// `seed`, inside [offset, offset + percent) modulo 100. Deterministic.
bool dropsFrame(std::uint64_t seed, double percent, double offset, const std::string& name, std::int64_t fd,
                std::uint32_t block, bool retransmit);

// Options of emwin-sim; every field has its default here.
struct SimOptions {
  std::string listen = "127.0.0.1:2211";          // host:port; port 0 = any free port
  std::string products_dir = "../shared/corpus/products";
  Rate rate{};                                     // default: as fast as possible
  bool loop = false;                               // repeat the products forever (new /FD per round)
  bool vary_rounds = false;                        // rounds after the first send distinct content (marker line)
  int sndbuf = 0;                                  // SO_SNDBUF per client socket (0 = kernel default)
  qbt::HeaderStyle header_style = qbt::HeaderStyle::kSpec;  // header layout, V2 suffix and V2 choice
  std::uint64_t count = 0;                         // stop after this many products (0 = each once)
  std::uint64_t seed = 1;                          // ordering, garbage bytes and which frames --drop-frames-percent drops
  std::int64_t fd_base = 0;                        // /FD stamp of round 0 (Unix s); 0 = the start time
  int logon_wait_ms = 3000;                        // no logon by then -> V1
  int relogon_timeout_s = 300;                     // no logon re-sent for this long -> disconnect
  int retransmit_delay_s = 6;                      // warnings sent again this much later (0 = never)
  int fill_interval_ms = 1000;                     // FILLFILE period while idle
  int stats_interval_ms = 5000;                    // periodic "stats" line (0 = only at exit)
  std::string server_list;                         // "host:port|host:port"; empty = this server
  std::string sat_servers;                         // "host:port+host:port"
  bool no_server_list = false;                     // send no server list at all
  std::string manifest_path;                       // JSON lines of sent products; empty = none
  // Fault injection (0 = off). Frame numbers count product data frames per client.
  std::uint64_t corrupt_checksum_every = 0;
  std::uint64_t corrupt_header_every = 0;
  std::uint64_t garbage_every = 0;
  std::uint64_t drop_after_bytes = 0;              // close mid-stream after this many bytes
  std::uint64_t stall_after_frames = 0;            // stop sending (socket stays open) after this many frames
  // Drop this share (percent) of product data frames: never sent, as if lost
  // upstream; FILLFILE and server lists are never dropped. Which frames is a
  // hash of (seed, name, /FD, block, retransmission) -- the same for every
  // client and run -- falling in [offset, offset + percent) modulo 100: two
  // sims with the same seed and offsets 0 and P drop disjoint shares.
  double drop_frames_percent = 0;
  double drop_frames_offset = 0;
  int fault_clients = 0;                           // faults apply to the first N clients only (0 = all)
};

// Server-wide counters.
struct SimStats {
  std::uint64_t clients_total = 0;
  std::uint64_t frames_v1 = 0;
  std::uint64_t frames_v2 = 0;
  std::uint64_t fill_frames = 0;
  std::uint64_t server_lists = 0;
  std::uint64_t bytes = 0;
  std::uint64_t faults = 0;
  std::uint64_t frames_dropped = 0;        // --drop-frames-percent
  std::uint64_t logons = 0;
  std::uint64_t products_sent = 0;
  std::uint64_t send_blocked_us = 0;       // time clients' sockets refused data (TCP backpressure)
  std::uint64_t send_blocked_events = 0;
};

class Session;

// The listening server. Construct, then start(); run the io_context.
class SimServer {
 public:
  SimServer(asio::io_context& io, SimOptions options, std::vector<Product> products);
  ~SimServer();
  SimServer(const SimServer&) = delete;
  SimServer& operator=(const SimServer&) = delete;

  // Binds and starts accepting; prints "listening host:port". Throws
  // std::runtime_error when the address cannot be bound.
  void start();
  // Closes the listener and every client; prints the final stats line.
  void stop();

  const asio::ip::tcp::endpoint& boundEndpoint() const noexcept { return bound_; }
  SimStats& stats() noexcept { return stats_; }
  const SimOptions& options() const noexcept { return options_; }
  const std::vector<Product>& products() const noexcept { return products_; }
  // Product indices in sending order (shuffled with the seed).
  const std::vector<std::size_t>& order() const noexcept { return order_; }
  std::int64_t fdBase() const noexcept { return fd_base_; }
  // Server-list frame sent after logon (empty = none).
  const std::vector<std::uint8_t>& serverListFrame() const noexcept { return server_list_frame_; }

  // V2 (deflated) form of block `block` (1-based) of a product's original
  // content under the header style, compressed once and then reused by every
  // session and round (empty: the style sends that block as V1).
  const std::vector<std::uint8_t>& deflatedBlock(std::size_t product, std::uint32_t block);

  // Prints one line on stdout and flushes (used by sessions).
  void emit(const std::string& line);
  // Appends a JSON line to the manifest file, if any.
  void writeManifest(const std::string& json_line);
  bool hasManifest() const noexcept { return manifest_.is_open(); }
  void sessionClosed(int id);
  std::string statsLine();

 private:
  void accept();
  void scheduleStats();

  asio::io_context& io_;
  SimOptions options_;
  std::vector<Product> products_;
  // deflated_[product][block - 1], filled on first use (has_value: computed).
  std::vector<std::vector<std::optional<std::vector<std::uint8_t>>>> deflated_;
  std::vector<std::size_t> order_;
  std::int64_t fd_base_ = 0;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer stats_timer_;
  asio::ip::tcp::endpoint bound_;
  std::vector<std::uint8_t> server_list_frame_;
  std::map<int, std::weak_ptr<Session>> sessions_;
  int next_id_ = 1;
  SimStats stats_;
  std::ofstream manifest_;
  bool stopped_ = false;
};

}  // namespace emwin::sim
