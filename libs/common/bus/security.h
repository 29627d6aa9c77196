#pragma once
// Bus security: CURVE encryption and authentication (ZeroMQ's own, libzmq is
// built with libsodium) for every bus endpoint, and the key files it uses.
//
// Key files (made by emwin-keygen), Z85 text:
//   <name>.key   "public <40 chars>\nsecret <40 chars>\n"   (mode 0600)
//   <name>.pub   "public <40 chars>\n"
// A keys directory (--keys DIR on every process, env EMWIN_KEYS):
//   bus.key / bus.pub            the producers' server key pair / the public half every client needs
//   <identity>.key               a process's own key pair (--key-name, default: its service name)
//   access/<rule>/<identity>.pub who may do what (docs/security.md):
//       tap, tap.<service>       read every tap / the tap of <service>
//       group.<group>            join consumer group <group> on a pipeline
//       intake                   push stats to emwin-stats' intake
// Binding sockets are CURVE servers with a ZAP domain ("tap.<service>",
// "pipe.<service>", "intake"); the process's ZAP handler (service/zap_handler.h)
// admits only keys listed for that domain. Connecting sockets are CURVE
// clients that must know bus.pub.
//
// Thread-safety: pure functions and plain data; KeyRing and AccessRules are
// immutable after loading.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <zmq.hpp>

namespace emwin::bus {

// One CURVE key pair, Z85-encoded (40 characters each).
struct KeyPair {
  std::string public_key;
  std::string secret_key;
};

// A fresh key pair (zmq_curve_keypair). Throws std::runtime_error without CURVE support.
KeyPair generateKeyPair();
// Writes <dir>/<name>.key (0600) and <dir>/<name>.pub atomically. False (and *error) on failure
// or when they exist and `overwrite` is false.
bool writeKeyPair(const std::string& dir, const std::string& name, const KeyPair& pair, bool overwrite,
                  std::string* error);
// Reads a .key file (both halves) or a .pub file (public only); nullopt (and *error) when unusable.
std::optional<KeyPair> readKeyFile(const std::string& path, std::string* error);
// True for 40 characters of the Z85 alphabet that decode to 32 bytes.
bool validZ85Key(const std::string& key);

// Who may do what: the access/<rule>/<identity>.pub files of a keys directory.
class AccessRules {
 public:
  // Loads <keys_dir>/access; unreadable key files are skipped and listed in *warnings.
  static AccessRules load(const std::string& keys_dir, std::vector<std::string>* warnings);
  // The identity (file name without .pub) holding `public_key` (Z85) under `rule`, or nullopt.
  std::optional<std::string> identityFor(const std::string& rule, const std::string& public_key) const;
  // Rules under which `public_key` is listed.
  std::vector<std::string> rulesOf(const std::string& public_key) const;
  std::size_t keyCount() const noexcept;

 private:
  std::map<std::string, std::map<std::string, std::string>> rules_;  // rule -> (public key -> identity)
};

// The CURVE settings of one process's bus sockets.
struct BusSecurity {
  KeyPair server;  // bus.key: a producer binds with it; clients use server.public_key only
  KeyPair own;     // this process's key pair, used when it connects
  bool canServe() const noexcept { return !server.secret_key.empty(); }
};

// Makes a binding socket a CURVE server in ZAP domain `domain`.
void secureServer(zmq::socket_t& socket, const BusSecurity& security, const std::string& domain);
// Makes a connecting socket a CURVE client of the bus.
void secureClient(zmq::socket_t& socket, const BusSecurity& security);

}  // namespace emwin::bus
