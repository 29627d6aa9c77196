#pragma once
// RelayServer: the ByteBlaster (QBT) server side of emwin-relay, on one
// Asio io_context — the acceptor and every downstream client, with no thread
// per client. Fed block by block (relay()); knows nothing of the bus.
//
// A client connects; its address must pass the allow-list (else it is closed
// at once: "not_allowed"); over --max-clients it gets the server-list frame
// and is closed ("over_capacity"). Otherwise it must log on
// ("ByteBlast Client|NM-<email>|V1|V2") within the logon window
// ("logon_timeout"; a logon naming nobody: "bad_logon") and re-log on within
// the re-logon timeout ("relogon_timeout"). Once logged on it gets the
// server-list frame, then every relayed block as the frame of its version
// (V2: compressed only where it pays, see BlockEncoder), and FILLFILE.TXT
// when nothing was sent to it for the fill interval.
//
// Fan-out: relayed blocks are encoded once per layout into shared chunks
// (all blocks relayed in one reactor turn, up to 64 KiB); each client queues
// references to the chunks and writes them with scatter/gather writes, so a
// block costs one encoding however many clients there are, and a client
// costs a pointer per chunk. A client whose unsent bytes would exceed its
// budget (--client-queue-kb) is closed ("slow"): it never slows the feed or
// the other clients, and as chunks are shared, the relay's memory is bounded
// by the budget, not by budget x clients.
//
// Every accepted connection ends in exactly one counted disconnect reason:
// connections = open clients + sum(disconnects).
//
// Thread-safety: not thread-safe; everything on the io_context's thread.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "allow_list.h"
#include "block_encoder.h"
#include "qbt/types.h"
#include "runtime/log.h"
#include "service/asio.h"

namespace emwin::relay {

// Why a client connection ended. Closed set; names are stable (stats, logs).
enum class DisconnectReason : std::uint8_t {
  kClientClosed,    // the client closed the connection
  kReadError,       // reading failed (reset, ...)
  kWriteError,      // writing failed (reset, broken pipe, ...)
  kSlow,            // its unsent bytes exceeded the send budget
  kLogonTimeout,    // no logon within the logon window
  kRelogonTimeout,  // stopped re-sending its logon
  kBadLogon,        // first logon named nobody (no email)
  kBadInput,        // sent too many bytes that are not logons
  kOverCapacity,    // --max-clients reached (sent the server list first)
  kNotAllowed,      // address outside the --allow networks
  kStopping,        // the relay is stopping
};
inline constexpr std::size_t kDisconnectReasonCount = 11;

// Stable snake_case name ("slow", "logon_timeout", ...).
std::string_view reasonName(DisconnectReason reason) noexcept;

// Configuration of a RelayServer; every field has its default here.
struct ServerOptions {
  asio::ip::tcp::endpoint listen{asio::ip::make_address("0.0.0.0"), 2211};
  std::size_t max_clients = 100;                      // open connections served (logged on or not)
  std::size_t client_queue_bytes = 2u << 20;          // a client's unsent bytes before it is "slow"
  std::chrono::milliseconds logon_timeout{10'000};    // first logon within this
  std::chrono::milliseconds relogon_timeout{720'000}; // a logon at least this often (spec: relays use 720 s)
  std::chrono::milliseconds fill_interval{5'000};     // FILLFILE.TXT after this long without a frame
  std::chrono::milliseconds suffixless_logon_wait{300};  // a logon without |V1/|V2 ends after this quiet time
  std::chrono::milliseconds tick{100};                // housekeeping period (timeouts, fill)
  int sndbuf = 0;                                     // SO_SNDBUF per client (0 = kernel default)
  AllowList allow;                                    // empty = every client network
  EncoderOptions encoder;                             // header style, V2 rule
  qbt::ServerList server_list;                        // configured entries (public address, --server-list, --sat-servers)
  bool list_listen_address = false;                   // list the bound listen address first (no --public-address)
  bool include_upstream_list = false;                 // append the upstream server list (setUpstreamList)
  std::size_t max_junk_bytes = 64 * 1024;             // non-logon bytes from a client before "bad_input"
};

// Cumulative counters of a RelayServer.
struct ServerCounters {
  std::uint64_t connections = 0;        // TCP connections accepted
  std::uint64_t logons = 0;             // logons received (first ones and re-logons)
  std::uint64_t logons_bad = 0;         // logons naming nobody
  std::uint64_t clients_logged_on = 0;  // connections that logged on
  std::uint64_t bytes_sent = 0;         // bytes written to clients
  std::uint64_t frames_v1 = 0;          // data frames written in V1 layout (to V1 and V2 clients)
  std::uint64_t frames_v2 = 0;          // data frames written in V2 layout
  std::uint64_t fill_frames = 0;        // FILLFILE.TXT frames written
  std::uint64_t server_lists = 0;       // server-list frames written
  std::uint64_t blocks_in = 0;          // blocks given to relay()
  std::uint64_t blocks_unwanted = 0;    // ... while no client was logged on
  std::uint64_t chunks = 0;             // shared chunks built
  std::uint64_t junk_bytes = 0;         // bytes from clients that were not logons
  std::uint64_t accept_errors = 0;      // accept() failures (e.g. out of descriptors)
  std::uint64_t disconnects[kDisconnectReasonCount] = {};
};

// What /clients and the per-client metrics show about one connection.
struct ClientInfo {
  std::uint64_t id = 0;
  std::string peer;           // "address:port"
  std::string email;          // from the first logon ("" before it)
  bool logged_on = false;
  qbt::Version version = qbt::Version::kV1;
  double connected_s = 0;     // seconds since accepted
  std::uint64_t logons = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t frames_sent = 0;  // data frames (both layouts)
  std::size_t queued_bytes = 0;   // accepted for sending, not yet written
};

namespace detail {
class Session;
struct Chunk;
}  // namespace detail

class RelayServer {
 public:
  using Clock = std::chrono::steady_clock;

  // Binds and listens now; throws asio::system_error (address in use,
  // no such address, no permission).
  RelayServer(asio::io_context& io, ServerOptions options);
  ~RelayServer();
  RelayServer(const RelayServer&) = delete;
  RelayServer& operator=(const RelayServer&) = delete;

  // Starts accepting and the housekeeping tick.
  void start();
  // Closes the listener and every client ("stopping"). Idempotent.
  void stop();

  // Relays one block to every logged-on client (sent at the end of this
  // reactor turn, with the other blocks relayed in it).
  void relay(const BlockRef& block);
  // The upstream server list (ingest's serverlist.* message); used in the
  // frame clients get when include_upstream_list is set.
  void setUpstreamList(const qbt::ServerList& list);

  // The bound address (useful with port 0).
  asio::ip::tcp::endpoint endpoint() const noexcept { return bound_; }
  const ServerCounters& counters() const noexcept { return counters_; }
  const BlockEncoder& encoder() const noexcept { return encoder_; }
  // The server list clients get (empty lists: none is sent).
  const qbt::ServerList& serverList() const noexcept { return list_; }
  // Open connections; logged-on clients, all and by version.
  std::size_t clientsOpen() const noexcept { return sessions_.size(); }
  std::size_t clientsStreaming() const noexcept { return streaming_[0] + streaming_[1]; }
  std::size_t clientsStreaming(qbt::Version v) const noexcept { return streaming_[v == qbt::Version::kV2 ? 1 : 0]; }
  // Unsent bytes over all clients, and the largest of one client.
  std::size_t queuedBytes() const noexcept;
  std::size_t maxQueuedBytes() const noexcept;
  // One entry per open connection.
  std::vector<ClientInfo> clients() const;

 private:
  friend class detail::Session;
  using ChunkPtr = std::shared_ptr<const detail::Chunk>;

  void accept();
  void onAccepted(asio::ip::tcp::socket socket);
  void refuse(asio::ip::tcp::socket socket, DisconnectReason reason);
  void scheduleTick();
  void tick();
  void flush();
  void rebuildServerList();
  ChunkPtr fillChunk(qbt::Version version);
  // Session callbacks.
  void onLoggedOn(detail::Session& session);
  void onClosed(detail::Session& session, DisconnectReason reason);

  asio::io_context& io_;
  ServerOptions options_;
  BlockEncoder encoder_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer tick_timer_;
  asio::steady_timer accept_retry_;
  asio::ip::tcp::endpoint bound_;
  std::map<std::uint64_t, std::shared_ptr<detail::Session>> sessions_;
  std::uint64_t next_id_ = 1;
  std::size_t streaming_[2] = {0, 0};
  std::unique_ptr<detail::Chunk> open_[2];  // chunks being filled this turn (V1, V2)
  bool flush_posted_ = false;
  ChunkPtr server_list_chunk_;
  ChunkPtr fill_[2];
  Clock::time_point fill_made_[2]{};
  qbt::ServerList list_;
  qbt::ServerList upstream_;
  ServerCounters counters_;
  bool started_ = false;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // posted handlers check it
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace emwin::relay
