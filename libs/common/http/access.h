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

namespace emwin::http {

struct AccessOptions {
  std::vector<std::string> tokens;      // accepted "Authorization: Bearer <token>" values; empty = no token needed
  std::vector<std::string> allow;       // client networks, e.g. "10.0.0.0/8", "::1/128"; empty = everyone
  std::vector<std::string> open_paths;  // paths that need no token
};

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
