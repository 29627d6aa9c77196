#pragma once
// IngestService: the emwin-ingest engine. Connects to ByteBlaster servers (or
// replays a wire capture), logs on and re-logs on, decodes QBT frames,
// publishes good segments and server lists on the bus, counts bad input by
// reason, watches for silence and too many bad frames, fails over with
// backoff, persists server lists, and pauses reading while the bus publisher
// would block (backpressure reaches the TCP server).
//
// Thread-safety: everything runs on the single thread running the given
// asio::io_context; no method may be called from another thread.

#include <chrono>
#include <cstdint>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <asio.hpp>

#include "backoff.h"
#include "bus/bus.h"
#include "options.h"
#include "qbt/decoder.h"
#include "runtime/log.h"

namespace emwin::ingest {

// Cumulative counters of one process (published in ServiceStats).
struct IngestCounters {
  std::uint64_t bytes_in = 0;
  std::uint64_t frames_v1 = 0;
  std::uint64_t frames_v2 = 0;
  std::uint64_t fill_frames = 0;
  std::uint64_t bad[qbt::kBadReasonCount] = {};
  std::uint64_t segments_published = 0;
  std::uint64_t server_lists = 0;
  std::uint64_t connect_attempts = 0;
  std::uint64_t connects = 0;
  std::uint64_t reconnects = 0;
  std::uint64_t logons_sent = 0;
  std::uint64_t watchdog_fired = 0;
  std::uint64_t bad_window_fired = 0;
  std::uint64_t state_file_corrupt = 0;
  std::uint64_t state_file_saves = 0;
  std::uint64_t state_file_save_errors = 0;
  std::uint64_t backpressure_pauses = 0;
  std::uint64_t backpressure_paused_us = 0;
};

class IngestService : public qbt::DecoderCallbacks {
 public:
  // `publisher` must outlive the service. Nothing happens before start().
  IngestService(asio::io_context& io, IngestOptions options, bus::Publisher& publisher);
  ~IngestService() override;
  IngestService(const IngestService&) = delete;
  IngestService& operator=(const IngestService&) = delete;

  // Loads the server list, starts timers, waits for --wait-consumers, then
  // connects (or starts the replay).
  void start();
  // Graceful stop (SIGINT/SIGTERM): stop reading, publish final stats,
  // linger, then stop the io_context. Exit code 0.
  void stop();
  // Exit code to return from main once the io_context has stopped.
  int exitCode() const noexcept { return exit_code_; }

  const IngestCounters& counters() const noexcept { return counters_; }
  // Active failover list (regular servers first).
  const std::vector<qbt::ServerAddress>& activeServers() const noexcept { return active_; }

  // DecoderCallbacks:
  void onSegment(const qbt::Segment& segment) override;
  void onServerList(const qbt::ServerList& list) override;
  void onBadInput(const qbt::BadInput& bad) override;

 private:
  enum class State { kStarting, kConnecting, kRunning, kStopping };

  void loadServers();
  void pollTick();
  void statsTick();
  void publishStats();
  void beginInput();
  // Live mode.
  void connectNext();
  void onConnected();
  void sendLogon();
  void scheduleLogon();
  void watchdogTick();
  void startRead();
  void afterFeed();
  void drop(const std::string& reason);
  // Replay mode.
  void replayStep();
  void finish(int exit_code);

  asio::io_context& io_;
  IngestOptions options_;
  bus::Publisher& publisher_;
  std::shared_ptr<spdlog::logger> log_;
  const std::chrono::steady_clock::time_point started_at_;

  State state_ = State::kStarting;
  std::vector<qbt::ServerAddress> active_;
  int index_ = -1;
  qbt::ServerAddress current_;
  std::string source_;
  std::uint64_t generation_ = 0;  // invalidates handlers of a closed connection

  asio::ip::tcp::resolver resolver_;
  std::unique_ptr<asio::ip::tcp::socket> socket_;
  asio::steady_timer connect_timer_;
  asio::steady_timer reconnect_timer_;
  asio::steady_timer logon_timer_;
  asio::steady_timer watchdog_timer_;
  asio::steady_timer poll_timer_;
  asio::steady_timer stats_timer_;
  asio::steady_timer replay_timer_;
  asio::steady_timer linger_timer_;
  Backoff backoff_;

  std::unique_ptr<qbt::Decoder> decoder_;
  std::vector<std::uint8_t> rbuf_;
  bool reading_ = false;
  bool paused_ = false;
  bool fail_pending_ = false;
  std::chrono::steady_clock::time_point paused_since_{};
  std::chrono::steady_clock::time_point connected_at_{};
  std::chrono::steady_clock::time_point last_alive_{};
  bool had_good_frame_ = false;
  bool have_frame_ = false;
  std::deque<std::chrono::steady_clock::time_point> bad_times_;
  std::uint64_t bad_logged_ = 0;

  std::ifstream replay_in_;
  bool replay_eof_ = false;
  bool input_started_ = false;
  int exit_code_ = 0;
  IngestCounters counters_;
};

}  // namespace emwin::ingest
