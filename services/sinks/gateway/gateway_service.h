#pragma once
// GatewayService: the emwin-gateway handlers on the service runtime — the bus
// for browsers, curl and any HTTP client. It follows three taps (never a
// consumer group: it can never slow the pipeline, and every message it
// misses is counted from the sequence numbers): the alert classifier's
// (`alert.`, `test.alert.`), the assembler's (`file.`) and emwin-stats'
// (`stats.summary`). It turns each message into an event (event.h), keeps
// the recent ones (EventLog), fans them out to SSE and WebSocket clients with
// their own filters (Hub), keeps recent files in memory (FileIndex) and the
// active alerts (alerts::ActiveState; at start from its --state-dir snapshot
// and/or an emwin-archive database, --archive-db), and serves on one Beast
// server:
//
//   GET /events (SSE)  /ws (WebSocket)  /alerts/active  /alerts/<key>
//   GET /files  /files/<name>  /stats  /healthz  /metrics  / (the live page)
//
// Losses on its side are counted and visible in /metrics and its
// ServiceStats: bus gaps per tap, client disconnects by reason, gap notices.
//
// Thread-safety: the runtime's thread only.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "active_alerts.h"
#include "event.h"
#include "file_index.h"
#include "http/access.h"
#include "http/server.h"
#include "http/stream.h"
#include "hub.h"
#include "runtime/cli.h"
#include "service/runtime.h"

namespace emwin::gateway {

// Options of emwin-gateway (flags; env EMWIN_<FLAG>).
struct GatewayOptions {
  std::string alerts = "tcp://127.0.0.1:5603";  // alert classifier tap ('' = none)
  std::string files = "tcp://127.0.0.1:5602";   // assembler tap ('' = none)
  std::string stats = "tcp://127.0.0.1:5604";   // emwin-stats tap, for stats.summary ('' = none)
  std::string http = "127.0.0.1:8080";          // host:port to serve on (port 0 = any)
  std::string clock = "now";                    // /alerts/active at: now | feed (latest product seen)
  std::size_t max_clients = 10000;              // SSE + WebSocket streams at once
  std::size_t client_queue = 1024;              // messages queued per client before it is dropped
  std::size_t client_queue_kb = 4096;           // kilobytes queued per client before it is dropped
  int write_timeout_ms = 30000;                 // a client write pending this long drops the client
  std::size_t client_sndbuf_kb = 0;             // SO_SNDBUF of client sockets, KiB (0 = kernel autotuning)
  int heartbeat_ms = 15000;                     // SSE comment / WebSocket ping on idle streams
  std::size_t retention = 10000;                // events kept for Last-Event-ID resume
  std::size_t retention_mb = 32;                // megabytes of events kept
  std::size_t files_max = 500;                  // files kept in memory for /files
  std::size_t files_mb = 64;                    // megabytes of files kept
  std::size_t file_max_mb = 16;                 // largest single file kept
  std::string state_dir;                        // active alerts saved here across restarts ('' = not kept)
  int snapshot_interval_s = 60;                 // active alerts saved this often (and at stop)
  std::string archive_db;                       // emwin-archive database read at start for the active alerts ('' = none)
  std::string cors = "*";                       // Access-Control-Allow-Origin ('' = none)
  http::AccessArgs http_access;                 // --http-token, --http-token-healthz, --http-allow
  int stale_after_s = 30;                       // /healthz: a tap silent this long is unhealthy
  int tap_hwm = 100000;                         // receive high-water mark of each tap
  int sse_retry_ms = 2000;                      // SSE reconnect delay told to browsers
};

// Adds the gateway's options to `cli`.
void addGatewayOptions(runtime::Cli& cli, GatewayOptions& options);

class GatewayService : public service::Service {
 public:
  explicit GatewayService(GatewayOptions options);
  ~GatewayService() override;

  void start(service::Runtime& runtime) override;
  void report(runtime::StatsReporter& stats) override;
  void stop(service::Runtime& runtime) override;

  // The bound HTTP port (useful with port 0).
  int httpPort() const;

 private:
  struct Input;

  void onAlert(Input& input, const bus::Received& message);
  void onFile(Input& input, const bus::Received& message);
  void onStats(Input& input, const bus::Received& message);
  void routes();
  void openStream(http::beast::tcp_stream&& stream, http::BeastRequest&& raw, const http::Request& request, bool websocket);
  http::Response metrics();
  http::Response health();
  http::Response activeAlerts(const http::Request& request);
  http::Response alertByKey(const http::Request& request);
  http::Response fileList(const http::Request& request);
  http::Response fileDownload(const http::Request& request);
  std::int64_t clockNow() const;
  std::string snapshotPath() const;
  void saveSnapshot();
  void loadSnapshot();
  // Takes the active alerts from --archive-db, when given (after the snapshot: the archive wins).
  void loadArchive();
  void countBad(Input& input, const char* what, const std::string& topic);

  GatewayOptions options_;
  service::Runtime* runtime_ = nullptr;
  std::uint64_t epoch_ = 0;
  std::unique_ptr<Hub> hub_;
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<http::AccessGuard> guard_;
  FileIndex files_;
  std::unique_ptr<ActiveAlerts> active_;
  std::vector<std::unique_ptr<Input>> inputs_;
  Json latest_stats_;                     // the last stats.summary as JSON (GET /stats)
  std::uint64_t files_bad_name_ = 0;
  std::uint64_t files_too_large_ = 0;
  std::uint64_t files_stored_ = 0;
  std::uint64_t refused_full_ = 0;        // streams refused at max_clients
  std::uint64_t bad_requests_ = 0;        // bad filters, bad names, refused upgrades
  std::uint64_t open_file_limit_ = 0;
  std::uint64_t snapshot_errors_ = 0;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace emwin::gateway
