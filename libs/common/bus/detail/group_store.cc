#include "bus/detail/group_store.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace emwin::bus::detail {

bool validGroupName(const std::string& name) noexcept {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

GroupStore::GroupStore(std::string dir, std::shared_ptr<spdlog::logger> log) : log_(std::move(log)) {
  if (!dir.empty()) path_ = (std::filesystem::path(dir) / "pipeline-groups").string();
}

std::map<std::string, std::vector<std::string>> GroupStore::load() const {
  std::map<std::string, std::vector<std::string>> out;
  if (path_.empty()) return out;
  std::ifstream in(path_);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name;
    if (!std::getline(fields, name, '\t') || !validGroupName(name)) {
      log_->warn("{}: skipping unreadable line '{}'", path_, line.substr(0, 80));
      continue;
    }
    std::vector<std::string> prefixes;
    for (std::string p; std::getline(fields, p, '\t');) {
      if (!p.empty()) prefixes.push_back(p);
    }
    out[name] = std::move(prefixes);
  }
  return out;
}

bool GroupStore::save(const std::map<std::string, std::vector<std::string>>& groups) const {
  if (path_.empty()) return true;
  const std::string tmp = path_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& [name, prefixes] : groups) {
      out << name;
      for (const auto& p : prefixes) out << '\t' << p;
      out << '\n';
    }
    out.flush();
    if (!out) {
      log_->warn("cannot write {}", tmp);
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path_, ec);
  if (ec) {
    log_->warn("cannot replace {}: {}", path_, ec.message());
    return false;
  }
  return true;
}

}  // namespace emwin::bus::detail
