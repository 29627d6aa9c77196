#include "server_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace emwin::ingest {
namespace {

nlohmann::json toJson(const std::vector<qbt::ServerAddress>& v) {
  auto arr = nlohmann::json::array();
  for (const auto& a : v) arr.push_back({{"host", a.host}, {"port", a.port}});
  return arr;
}

bool fromJson(const nlohmann::json& arr, std::vector<qbt::ServerAddress>& out) {
  if (!arr.is_array()) return false;
  for (const auto& e : arr) {
    if (!e.is_object() || !e.contains("host") || !e.contains("port")) return false;
    const auto& h = e["host"];
    const auto& p = e["port"];
    if (!h.is_string() || !p.is_number_integer()) return false;
    auto port = p.get<std::int64_t>();
    if (h.get<std::string>().empty() || port < 1 || port > 65535) return false;
    out.push_back({h.get<std::string>(), static_cast<std::uint16_t>(port)});
  }
  return true;
}

}  // namespace

LoadResult loadServerList(const std::string& path, qbt::ServerList& list, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return LoadResult::kMissing;
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  qbt::ServerList parsed;
  if (j.is_discarded() || !j.is_object()) {
    if (error != nullptr) *error = "not a JSON object";
    return LoadResult::kCorrupt;
  }
  if (!fromJson(j.value("regular", nlohmann::json::array()), parsed.regular) ||
      !fromJson(j.value("satellite", nlohmann::json::array()), parsed.satellite)) {
    if (error != nullptr) *error = "bad server entries";
    return LoadResult::kCorrupt;
  }
  if (parsed.regular.empty() && parsed.satellite.empty()) {
    if (error != nullptr) *error = "no servers in the list";
    return LoadResult::kCorrupt;
  }
  list = std::move(parsed);
  return LoadResult::kLoaded;
}

bool saveServerList(const std::string& path, const qbt::ServerList& list, std::string* error) {
  namespace fs = std::filesystem;
  auto fail = [&](const std::string& what) {
    if (error != nullptr) *error = what + ": " + std::strerror(errno);
    return false;
  };
  fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  nlohmann::json j = {{"version", 1}, {"regular", toJson(list.regular)}, {"satellite", toJson(list.satellite)}};
  const std::string text = j.dump(2) + "\n";
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail("open " + tmp);
  std::size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail("write " + tmp);
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return fail("fsync " + tmp);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return fail("rename to " + path);
  }
  std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

std::vector<qbt::ServerAddress> failoverOrder(const qbt::ServerList& list) {
  std::vector<qbt::ServerAddress> out = list.regular;
  for (const auto& s : list.satellite) {
    bool dup = false;
    for (const auto& r : out) dup = dup || r == s;
    if (!dup) out.push_back(s);
  }
  return out;
}

}  // namespace emwin::ingest
