// emwin-keygen: CURVE key pairs and access rules for an authenticated bus
// (docs/security.md).
//   emwin-keygen --dir KEYS --init               a deployment's keys and default access rules
//   emwin-keygen --dir KEYS NAME...              more key pairs (NAME.key, NAME.pub)
//   emwin-keygen --dir KEYS --allow RULE NAME... let NAME.pub do RULE (tap, tap.<service>, group.<g>, intake)
#include <filesystem>
#include <set>
#include <iostream>

#include "bus/security.h"
#include "runtime/cli.h"

namespace {

namespace fs = std::filesystem;

// Who does what in the default deployment (README, docker-compose).
const std::vector<std::pair<std::string, std::vector<std::string>>> kDefaultAccess = {
    {"group.assembler", {"assembler"}},
    {"group.disk-writer", {"disk-writer"}},
    {"group.alert-classifier", {"alert-classifier"}},
    {"group.archive", {"archive"}},
    {"tap", {"stats", "tail", "gateway", "relay", "python", "example-sink"}},
    // Every service may push its stats (--stats-connect), e.g. a second ingest on another host.
    {"intake", {"ingest", "assembler", "alert-classifier", "disk-writer", "archive", "gateway", "relay", "python",
                "example-sink"}},
};

bool validName(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.')) {
      return false;
    }
  }
  return true;
}

bool allow(const std::string& dir, const std::string& rule, const std::string& name) {
  std::error_code ec;
  const fs::path pub = fs::path(dir) / (name + ".pub");
  const fs::path target_dir = fs::path(dir) / "access" / rule;
  fs::create_directories(target_dir, ec);
  fs::copy_file(pub, target_dir / (name + ".pub"), fs::copy_options::overwrite_existing, ec);
  if (ec) {
    std::cerr << "emwin-keygen: cannot allow " << name << " to " << rule << ": " << ec.message() << '\n';
    return false;
  }
  std::cout << "access/" << rule << '/' << name << ".pub\n";
  return true;
}

bool make(const std::string& dir, const std::string& name, bool force) {
  std::error_code ec;
  if (!force && fs::exists(fs::path(dir) / (name + ".key"), ec)) {
    std::cout << name << ".key kept\n";
    return true;
  }
  std::string error;
  if (!emwin::bus::writeKeyPair(dir, name, emwin::bus::generateKeyPair(), true, &error)) {
    std::cerr << "emwin-keygen: " << error << '\n';
    return false;
  }
  std::cout << name << ".key " << name << ".pub\n";
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  std::vector<std::string> names;
  std::string rule;
  bool init = false;
  bool force = false;
  emwin::runtime::Cli cli("emwin-keygen", "emwin-keygen: CURVE key pairs and access rules for the emwin bus");
  cli.option("--dir", dir, "keys directory (created if missing)", "EMWIN_KEYS")
      ->required()
      ->check(emwin::runtime::WritableDir());
  cli.flag("--init", init, "make bus.key and every default identity's key pair, and the default access rules", "");
  cli.option("--allow", rule, "copy NAME.pub into access/RULE (tap, tap.<service>, group.<group>, intake)", "");
  cli.flag("--force", force, "replace existing key pairs (rotation: restart every process afterwards)", "");
  cli.app().add_option("name", names, "identities to make key pairs for (or to --allow)");
  if (auto code = cli.parse(argc, argv)) return *code;
  for (const auto& n : names) {
    if (!validName(n)) return cli.fail(emwin::runtime::ConfigError("name", "'" + n + "' is not [A-Za-z0-9._-]{1,64}"));
  }
  if (!rule.empty() && !validName(rule)) return cli.fail(emwin::runtime::ConfigError("--allow", "bad rule '" + rule + "'"));
  if (!rule.empty()) {
    bool ok = true;
    for (const auto& n : names) ok = allow(dir, rule, n) && ok;
    return ok ? 0 : 1;
  }
  if (init) {
    if (!make(dir, "bus", force)) return 1;
    std::set<std::string> identities;
    for (const auto& [r, who] : kDefaultAccess) identities.insert(who.begin(), who.end());
    identities.insert("ingest");
    for (const auto& id : identities) {
      if (!make(dir, id, force)) return 1;
    }
    for (const auto& [r, who] : kDefaultAccess) {
      for (const auto& id : who) {
        if (!allow(dir, r, id)) return 1;
      }
    }
  }
  for (const auto& n : names) {
    if (!make(dir, n, force)) return 1;
  }
  if (!init && names.empty()) return cli.fail(emwin::runtime::ConfigError("name", "nothing to do (give --init or names)"));
  return 0;
}
