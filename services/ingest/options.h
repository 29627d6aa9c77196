#pragma once
// Options of emwin-ingest: one struct with documented defaults, filled from
// flags and EMWIN_* environment variables by the runtime's Cli (a flag wins
// over its variable), validated before anything starts. Thread-safe (pure).

#include <cstdint>
#include <string>
#include <vector>

#include "qbt/types.h"
#include "runtime/cli.h"

namespace emwin::ingest {

struct IngestOptions {
  // Servers given with --server (repeatable; EMWIN_SERVERS, comma-separated).
  // When empty, the persisted list is used, then the public default list.
  std::vector<qbt::ServerAddress> servers;
  std::string email;                          // --email / EMWIN_EMAIL, required (but for --replay)
  qbt::Version protocol = qbt::Version::kV2;  // --protocol v1|v2
  std::string state_dir = "./var/ingest";     // --state-dir: serverlist.json and the known consumer groups
  int logon_interval_s = 115;                 // re-logon period
  int watchdog_s = 60;                        // no good frame (FILLFILE counts) for this long -> failover
  int max_bad_frames = 50;                    // more bad frames than this ... (0 = never fail over for them)
  int bad_window_s = 60;                      // ... within this window -> failover
  int connect_timeout_s = 10;                 // TCP connect (incl. resolve) timeout
  int backoff_min_ms = 1000;                  // first delay before reconnecting
  int backoff_max_ms = 60000;                 // cap of the exponential backoff
  std::string pub_endpoint = "tcp://*:5601";   // tap (PUB) bind endpoint
  std::string pipe_endpoint = "tcp://*:5611";  // pipeline (ROUTER) bind endpoint
  std::size_t hwm = 1000;                     // pipeline queue per group before reading pauses
  std::size_t retention = 20000;              // segments kept for REPLAY (at most)
  std::size_t retention_mb = 8;               // megabytes of segments kept for REPLAY (at most)
  int tap_hwm = 10000;                        // tap send HWM (drops beyond it)
  std::string producer_id;                    // empty = "ingest.<instance>"
  std::string replay_file;                    // --replay: read a wire capture instead of servers
  double replay_rate = 0;                     // --rate bytes/s for replay (0 = as fast as possible)
  int wait_consumers = 0;                     // wait for N pipeline replicas before reading input
  int rcvbuf = 0;                             // SO_RCVBUF of the server socket in bytes (0 = kernel default)
  std::uint64_t seed = 0;                     // backoff jitter seed (0 = random)
};

// What the command line holds before it is turned into IngestOptions.
struct IngestArgs {
  IngestOptions options;
  std::vector<std::string> servers;  // host:port texts
  std::string protocol = "v2";
};

// Adds emwin-ingest's own options to `cli`.
void addIngestOptions(runtime::Cli& cli, IngestArgs& args);
// Checks across options and converts; throws runtime::ConfigError naming the option.
IngestOptions finishIngestOptions(IngestArgs args);

// Parses "host:port" (split on the last ':', port 1..65535).
bool parseHostPort(const std::string& text, qbt::ServerAddress& out);

// The public servers of the protocol spec, section 5.
std::vector<qbt::ServerAddress> defaultServers();

}  // namespace emwin::ingest
