#pragma once
// Options of emwin-ingest: one struct with documented defaults, filled from
// flags and EMWIN_* environment variables by the runtime's Cli (a flag wins
// over its variable), validated before anything starts. Thread-safe (pure).

#include <cstdint>
#include <string>
#include <vector>

#include "qbt/types.h"
#include "runtime/cli.h"
#include "service/runtime.h"

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
  // --pub, --pipe, --hwm, --tap-hwm, --retention, --retention-mb, --producer-id (empty = "ingest.<instance>").
  service::ProducerOptions producer = service::ProducerOptions::at("tcp://*:5601", "tcp://*:5611");
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
