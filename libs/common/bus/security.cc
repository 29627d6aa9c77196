#include "bus/security.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace emwin::bus {
namespace fs = std::filesystem;

KeyPair generateKeyPair() {
  char pub[41] = {};
  char sec[41] = {};
  if (zmq_curve_keypair(pub, sec) != 0) throw std::runtime_error("libzmq has no CURVE support");
  return {pub, sec};
}

bool validZ85Key(const std::string& key) {
  if (key.size() != 40) return false;
  std::uint8_t out[32];
  return zmq_z85_decode(out, key.c_str()) != nullptr;
}

bool writeKeyPair(const std::string& dir, const std::string& name, const KeyPair& pair, bool overwrite,
                  std::string* error) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  const fs::path key = fs::path(dir) / (name + ".key");
  const fs::path pub = fs::path(dir) / (name + ".pub");
  if (!overwrite && (fs::exists(key, ec) || fs::exists(pub, ec))) {
    if (error) *error = key.string() + " exists (use --force to replace it)";
    return false;
  }
  auto writeFile = [&](const fs::path& path, const std::string& text, mode_t mode) {
    const std::string tmp = path.string() + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << text;
      out.flush();
      if (!out) return false;
    }
    ::chmod(tmp.c_str(), mode);
    fs::rename(tmp, path, ec);
    return !ec;
  };
  if (!writeFile(key, "public " + pair.public_key + "\nsecret " + pair.secret_key + "\n", 0600) ||
      !writeFile(pub, "public " + pair.public_key + "\n", 0644)) {
    if (error) *error = "cannot write " + key.string();
    return false;
  }
  return true;
}

std::optional<KeyPair> readKeyFile(const std::string& path, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    if (error) *error = "cannot read " + path;
    return std::nullopt;
  }
  KeyPair pair;
  std::string word, value;
  while (in >> word >> value) {
    if (word == "public") pair.public_key = value;
    if (word == "secret") pair.secret_key = value;
  }
  if (!validZ85Key(pair.public_key) || (!pair.secret_key.empty() && !validZ85Key(pair.secret_key))) {
    if (error) *error = path + " holds no valid Z85 CURVE key";
    return std::nullopt;
  }
  return pair;
}

AccessRules AccessRules::load(const std::string& keys_dir, std::vector<std::string>* warnings) {
  AccessRules rules;
  std::error_code ec;
  const fs::path root = fs::path(keys_dir) / "access";
  if (!fs::is_directory(root, ec)) return rules;
  for (const auto& rule_dir : fs::directory_iterator(root, ec)) {
    if (!rule_dir.is_directory()) continue;
    const std::string rule = rule_dir.path().filename().string();
    for (const auto& f : fs::directory_iterator(rule_dir.path(), ec)) {
      if (f.path().extension() != ".pub") continue;
      std::string error;
      auto pair = readKeyFile(f.path().string(), &error);
      if (!pair) {
        if (warnings) warnings->push_back(error);
        continue;
      }
      rules.rules_[rule][pair->public_key] = f.path().stem().string();
    }
  }
  return rules;
}

std::optional<std::string> AccessRules::identityFor(const std::string& rule, const std::string& public_key) const {
  auto r = rules_.find(rule);
  if (r == rules_.end()) return std::nullopt;
  auto k = r->second.find(public_key);
  if (k == r->second.end()) return std::nullopt;
  return k->second;
}

std::vector<std::string> AccessRules::rulesOf(const std::string& public_key) const {
  std::vector<std::string> out;
  for (const auto& [rule, keys] : rules_) {
    if (keys.count(public_key) != 0) out.push_back(rule);
  }
  return out;
}

std::size_t AccessRules::keyCount() const noexcept {
  std::size_t n = 0;
  for (const auto& [rule, keys] : rules_) n += keys.size();
  return n;
}

void secureServer(zmq::socket_t& socket, const BusSecurity& security, const std::string& domain) {
  socket.set(zmq::sockopt::curve_server, 1);
  socket.set(zmq::sockopt::curve_secretkey, security.server.secret_key);
  socket.set(zmq::sockopt::zap_domain, domain);
}

void secureClient(zmq::socket_t& socket, const BusSecurity& security) {
  socket.set(zmq::sockopt::curve_serverkey, security.server.public_key);
  socket.set(zmq::sockopt::curve_publickey, security.own.public_key);
  socket.set(zmq::sockopt::curve_secretkey, security.own.secret_key);
}

}  // namespace emwin::bus
