#pragma once
// ZapHandler: answers ZeroMQ's authentication requests (ZAP, ZeroMQ RFC 27)
// for every CURVE server socket of this process, on the reactor. A client's
// public key is admitted by the access rules of the keys directory
// (bus/security.h), per ZAP domain:
//   tap.<service>   keys under access/tap or access/tap.<service>
//   pipe.<service>  keys under any access/group.<group> (which group a key
//                   may join is checked again at its HELLO: mayJoin())
//   intake          keys under access/intake
// Anything else is refused and counted. The admitted client's User-Id is its
// Z85 public key.
//
// Thread-safety: the reactor's thread only.

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <zmq.hpp>

#include "bus/security.h"
#include "runtime/log.h"
#include "service/asio.h"

namespace emwin::service {

class ZmqWatch;

class ZapHandler {
 public:
  // Binds inproc://zeromq.zap.01 in `context` (before any CURVE server socket exists).
  ZapHandler(asio::io_context& io, zmq::context_t& context, bus::AccessRules rules,
             std::shared_ptr<spdlog::logger> log);
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  // May the client with User-Id `user` (a Z85 public key) join consumer group `group`?
  bool mayJoin(const std::string& user, const std::string& group) const;

  std::uint64_t allowed() const noexcept { return allowed_; }
  std::uint64_t denied() const noexcept { return denied_; }
  // Refusals by ZAP domain.
  const std::map<std::string, std::uint64_t>& deniedByDomain() const noexcept { return denied_by_domain_; }

 private:
  void onReadable();
  // The identity admitted for `key` in `domain`, or "" when refused.
  std::string admit(const std::string& domain, const std::string& key) const;

  bus::AccessRules rules_;
  std::shared_ptr<spdlog::logger> log_;
  zmq::socket_t socket_;
  std::unique_ptr<ZmqWatch> watch_;
  std::uint64_t allowed_ = 0;
  std::uint64_t denied_ = 0;
  std::map<std::string, std::uint64_t> denied_by_domain_;
};

}  // namespace emwin::service
