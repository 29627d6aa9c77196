#pragma once
// IngestService: the emwin-ingest handlers on the service runtime. Connects
// to ByteBlaster servers (or replays a wire capture), logs on and re-logs on,
// decodes QBT frames, publishes good segments (pipeline + tap) and server
// lists (tap), counts bad input by reason, watches for silence and for too
// many bad frames, fails over with backoff, and persists server lists.
//
// Backpressure: while a consumer group of the pipeline is full the runtime
// stops flowing and ingest stops reading its socket; TCP then pushes back on
// the server. While paused nothing is written to the server (a re-logon is
// held back until the socket's received bytes were read), so a server that
// closes meanwhile cannot answer with a reset that would discard what it
// already sent: the connection is read to its end, then ingest reconnects.
//
// Thread-safety: the runtime's thread only.

#include <chrono>
#include <cstdint>
#include <deque>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "service/asio.h"

#include "backoff.h"
#include "bus/publisher.h"
#include "emwin/bus/v1/segment.pb.h"
#include "options.h"
#include "qbt/decoder.h"
#include "service/runtime.h"

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
  std::uint64_t logons_deferred = 0;  // re-logons held back while paused or unread bytes were waiting
  std::uint64_t watchdog_fired = 0;
  std::uint64_t bad_window_fired = 0;
  std::uint64_t state_file_corrupt = 0;
  std::uint64_t state_file_saves = 0;
  std::uint64_t state_file_save_errors = 0;
};

class IngestService : public service::Service, public qbt::DecoderCallbacks {
 public:
  explicit IngestService(IngestOptions options);
  ~IngestService() override;

  void start(service::Runtime& runtime) override;
  void report(runtime::StatsReporter& stats) override;
  void stop(service::Runtime& runtime) override;

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
  void beginInput();
  void resume();
  // Live mode.
  void connectNext();
  void onConnected();
  void sendLogon();
  void scheduleLogon();
  void maybeSendDeferredLogon();
  void watchdogTick();
  void startRead();
  void afterFeed();
  void drop(const std::string& reason);
  void closeSocket();
  // Replay mode.
  void replayStep();

  IngestOptions options_;
  service::Runtime* runtime_ = nullptr;
  bus::Publisher* publisher_ = nullptr;
  std::shared_ptr<spdlog::logger> log_;

  State state_ = State::kStarting;
  std::vector<qbt::ServerAddress> active_;
  int index_ = -1;
  qbt::ServerAddress current_;
  std::string source_;
  std::uint64_t generation_ = 0;  // invalidates handlers of a closed connection

  std::unique_ptr<asio::ip::tcp::resolver> resolver_;
  std::unique_ptr<asio::ip::tcp::socket> socket_;
  std::unique_ptr<asio::steady_timer> connect_timer_, reconnect_timer_, logon_timer_, watchdog_timer_, replay_timer_;
  std::unique_ptr<Backoff> backoff_;

  std::unique_ptr<qbt::Decoder> decoder_;
  std::vector<std::uint8_t> rbuf_;
  emwin::bus::v1::Segment msg_;  // reused for every segment
  bool reading_ = false;
  bool paused_ = false;
  bool logon_due_ = false;        // a re-logon waits for a safe moment to be written
  std::chrono::steady_clock::time_point logon_due_since_{};
  bool input_started_ = false;
  bool fail_pending_ = false;
  std::chrono::steady_clock::time_point connected_at_{};
  std::chrono::steady_clock::time_point last_alive_{};
  bool had_good_frame_ = false;
  bool have_frame_ = false;
  std::deque<std::chrono::steady_clock::time_point> bad_times_;
  std::uint64_t bad_logged_ = 0;

  std::ifstream replay_in_;
  bool replay_eof_ = false;
  IngestCounters counters_;
};

}  // namespace emwin::ingest
