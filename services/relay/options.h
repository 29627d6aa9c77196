#pragma once
// Options of emwin-relay: what the command line holds (RelayArgs, filled by
// the runtime's Cli from flags and EMWIN_* variables) and the checked
// configuration it becomes (RelayConfig). Every default is documented here and
// in docs/relay.md; bad values are one line naming the option, exit 2.
// Thread-safe (pure, but for name resolution of --listen).

#include <chrono>
#include <string>
#include <vector>

#include "http/access.h"
#include "relay_server.h"
#include "runtime/cli.h"

namespace emwin::relay {

// Where the relayed blocks come from.
enum class Feed : std::uint8_t {
  kSegments,  // ingest's tap (seg.*): every good block as it arrives, retransmissions included
  kFiles,     // the assembler's tap (file.*): completed, deduplicated files, re-cut into blocks
};

// The command line as given.
struct RelayArgs {
  std::string feed = "segments";           // --feed segments|files
  std::string connect;                     // --connect: tap endpoint; default ingest's :5601 (files: assembler's :5602)
  int hwm = 10000;                         // --hwm: messages the tap may queue for us before it drops (counted)
  std::string listen = "0.0.0.0:2211";     // --listen host:port (port 0 = any free port)
  std::string public_address;              // --public-address host:port: this relay as clients should reach it
  std::string server_list;                 // --server-list "host:port|host:port": further regular servers
  std::string sat_servers;                 // --sat-servers "host:port+host:port": satellite-fed servers
  bool include_upstream_list = false;      // --include-upstream-list: also list what ingest's servers list
  std::size_t max_clients = 100;           // --max-clients
  std::size_t client_queue_kb = 2048;      // --client-queue-kb: a client's unsent data before it is "slow"
  int logon_timeout_s = 10;                // --logon-timeout-s
  int relogon_timeout_s = 720;             // --relogon-timeout-s
  int fill_interval_ms = 5000;             // --fill-interval-ms: FILLFILE.TXT when idle this long
  int sndbuf = 0;                          // --sndbuf: SO_SNDBUF per client (0 = kernel default)
  std::vector<std::string> allow;          // --allow CIDR (repeatable; none = everyone)
  std::string header_style = "spec";       // --header-style spec|compact|npemwin
  std::string v2 = "pays";                 // --v2 pays|smaller: when a V2 client gets a compressed frame
  std::string http;                        // --http host:port: /metrics, /healthz, /clients ("" = none)
  http::AccessArgs http_access;            // --http-token, --http-token-healthz, --http-allow CIDR
  int upstream_timeout_s = 30;             // --upstream-timeout-s: tap silent this long = DEGRADED
};

// The checked configuration.
struct RelayConfig {
  ServerOptions server;
  Feed feed = Feed::kSegments;
  std::string connect;
  int hwm = 10000;
  std::string http;
  http::AccessArgs http_access;
  std::chrono::seconds upstream_timeout{30};
  std::string listen_text;  // --listen as given (messages)
};

// Adds emwin-relay's own options to `cli`.
void addRelayOptions(runtime::Cli& cli, RelayArgs& args);
// Checks across options and converts; throws runtime::ConfigError naming the option.
RelayConfig finishRelayOptions(const RelayArgs& args);

// Parses one "host:port" server-list entry strictly (port 1..65535; host
// letters, digits and . - _ [ ] :); false when bad.
bool parseServerEntry(std::string_view text, qbt::ServerAddress& out);

}  // namespace emwin::relay
