#pragma once
// Options of emwin-ingest: one struct with documented defaults, filled from
// CLI11 flags and EMWIN_* environment variables (a flag wins over its
// variable) and validated once at start. Pure; thread-safe.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "qbt/types.h"

namespace emwin::ingest {

// Configuration error; carries the exit code main() returns.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(const std::string& what, int exit_code) : std::runtime_error(what), exit_code_(exit_code) {}
  int exitCode() const noexcept { return exit_code_; }

 private:
  int exit_code_;
};

struct IngestOptions {
  // Servers given with --server (EMWIN_SERVERS, comma-separated). When empty,
  // the persisted list is used, then the public default list.
  std::vector<qbt::ServerAddress> servers;
  std::string email;                         // --email / EMWIN_EMAIL, required
  qbt::Version protocol = qbt::Version::kV2;  // --protocol v1|v2
  std::string state_dir = "./var/ingest";    // --state-dir: holds serverlist.json
  int logon_interval_s = 115;                // re-logon period
  int watchdog_s = 60;                       // no good frame (FILLFILE counts) for this long -> failover
  int max_bad_frames = 50;                   // more bad frames than this ...
  int bad_window_s = 60;                     // ... within this window -> failover
  int connect_timeout_s = 10;                // TCP connect (incl. resolve) timeout
  int backoff_min_ms = 1000;                 // first delay before reconnecting
  int backoff_max_ms = 60000;                // cap of the exponential backoff
  std::string pub_endpoint = "tcp://*:5601";   // tap (PUB) bind endpoint
  std::string pipe_endpoint = "tcp://*:5611";  // pipeline (ROUTER) bind endpoint
  std::size_t hwm = 1000;                    // pipeline queue per group before backpressure
  std::size_t retention = 20000;             // segments kept for REPLAY (at most)
  std::size_t retention_mb = 8;              // bytes of segments kept for REPLAY (at most)
  int tap_hwm = 10000;                       // tap send HWM (drops beyond it)
  std::string instance = "0";                // stats.ingest.<instance>, serverlist.<instance>
  std::string producer_id;                   // empty = "ingest.<instance>"
  int stats_interval_ms = 2000;              // ServiceStats period
  std::string replay_file;                   // --replay: read a wire capture instead of servers
  double replay_rate = 0;                    // --rate bytes/s for replay (0 = as fast as possible)
  int linger_ms = 1000;                      // after replay/shutdown: keep servicing the publisher this long
  int wait_consumers = 0;                    // wait for N pipeline replicas before reading input
  int rcvbuf = 0;                            // SO_RCVBUF of the server socket in bytes (0 = kernel default)
  std::uint64_t seed = 0;                    // backoff jitter seed (0 = random)
  std::string log_level = "info";
};

// Parses argv (and the environment). Throws ConfigError (exit 2 for bad
// input, exit 0 for --help) when the process should exit.
IngestOptions parseOptions(int argc, const char* const* argv);

// Parses "host:port" (split on the last ':', port 1..65535).
bool parseHostPort(const std::string& text, qbt::ServerAddress& out);

// The public servers of the protocol spec, section 5.
std::vector<qbt::ServerAddress> defaultServers();

}  // namespace emwin::ingest
