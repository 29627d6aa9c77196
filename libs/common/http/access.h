#pragma once
// Access gate for HTTP endpoints that face users: optional bearer tokens and
// an optional allow-list of client networks (CIDR). Plug it into
// Server::guard(). Paths listed as open skip the token (e.g. /healthz for a
// container health check) but not the allow-list.
//
// Thread-safety: immutable after construction; check() is const.

#include <optional>
#include <string>
#include <vector>

#include "http/server.h"
#include "runtime/cli.h"

namespace emwin::http {

struct AccessOptions {
  std::vector<std::string> tokens;      // accepted "Authorization: Bearer <token>" values; empty = no token needed
  std::vector<std::string> allow;       // client networks, e.g. "10.0.0.0/8", "::1/128"; empty = everyone
  std::vector<std::string> open_paths;  // paths that need no token
};

// The options every HTTP service that faces users takes: --http-token (repeatable),
// --http-token-healthz and --http-allow CIDR (repeatable).
struct AccessArgs {
  std::vector<std::string> tokens;  // bearer tokens required on HTTP (none = open)
  bool token_healthz = false;       // /healthz needs the token too (default: open for health checks)
  std::vector<std::string> allow;   // client networks allowed (CIDR; none = everyone)
  // True when a gate was asked for (a token or an allow-list).
  bool enabled() const noexcept { return !tokens.empty() || !allow.empty(); }
  // The guard's options: these tokens and networks, /healthz open unless token_healthz.
  AccessOptions guardOptions() const;
};

// Adds --http-token (described by `token_help`), --http-token-healthz and --http-allow to `cli`.
void addAccessOptions(runtime::Cli& cli, AccessArgs& args, const std::string& token_help);

class AccessGuard {
 public:
  // Throws std::invalid_argument naming a bad CIDR.
  explicit AccessGuard(AccessOptions options);
  // nullopt when the request may go on; else the 401/403 response.
  std::optional<Response> check(const Request& request) const;
  // True when `cidr` parses ("10.0.0.0/8", "192.168.1.7", "::1/128").
  static bool validCidr(const std::string& cidr);

 private:
  AccessOptions options_;
  std::vector<std::pair<asio::ip::address, unsigned>> nets_;
};

}  // namespace emwin::http
