#include "file_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <random>

#include <fmt/format.h>

#include "runtime/sha256.h"

namespace emwin::sinks {
namespace {

bool isSafeChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

std::string upperExtension(std::string_view name) {
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot + 1 >= name.size()) return "NONE";
  std::string ext;
  for (char c : name.substr(dot + 1)) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    ext.push_back(((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) ? c : '_');
    if (ext.size() >= 8) break;
  }
  return ext;
}

// Writes all of `data` to fd; returns errno or 0.
int writeAll(int fd, std::span<const std::uint8_t> data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

int fsyncDir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int rc = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return rc;
}

}  // namespace

SanitizedName sanitizeFilename(std::string_view raw) {
  SanitizedName out;
  std::string reason;
  auto note = [&](const char* why) {
    if (reason.empty()) reason = why;
  };
  // Only the last path component of a name with separators is kept.
  std::string_view base = raw;
  auto sep = base.find_last_of("/\\");
  if (sep != std::string_view::npos) {
    note("path_separator");
    base = base.substr(sep + 1);
  }
  std::string name;
  name.reserve(base.size());
  for (char c : base) {
    if (c == '\0') {
      note("nul");
      continue;
    }
    if (!isSafeChar(c)) {
      note("unsafe_character");
      name.push_back('_');
    } else {
      name.push_back(c);
    }
  }
  std::size_t lead = 0;
  while (lead < name.size() && name[lead] == '.') ++lead;
  if (lead > 0) {
    note("leading_dot");
    name.erase(0, lead);
  }
  if (name.size() > kMaxNameLength) {
    note("too_long");
    std::string digest = runtime::sha256Hex(std::string_view(name)).substr(0, 8);
    std::string ext;
    auto dot = name.rfind('.');
    if (dot != std::string::npos && name.size() - dot <= 9) ext = name.substr(dot);
    name = name.substr(0, kMaxNameLength - ext.size() - 9) + "_" + digest + ext;
  }
  if (name.empty() || raw.empty()) {
    out.verdict = NameVerdict::kRejected;
    out.reason = raw.empty() ? "empty" : (reason.empty() ? "empty" : reason);
    return out;
  }
  out.verdict = reason.empty() ? NameVerdict::kClean : NameVerdict::kRewritten;
  out.reason = reason;
  out.name = std::move(name);
  return out;
}

FileStore::FileStore(std::filesystem::path root, bool fsync_files)
    : root_(std::filesystem::absolute(std::move(root)).lexically_normal()), fsync_files_(fsync_files) {
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);  // failures surface on write()
}

std::optional<std::filesystem::path> FileStore::relativePath(const StoredFileInfo& info,
                                                             SanitizedName* sanitized) const {
  SanitizedName clean = sanitizeFilename(info.name);
  if (sanitized) *sanitized = clean;
  if (clean.verdict == NameVerdict::kRejected) return std::nullopt;
  std::time_t t = static_cast<std::time_t>(info.fd_unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::string sha8;
  for (char c : info.sha256.substr(0, 8)) sha8.push_back(std::isxdigit(static_cast<unsigned char>(c)) ? c : '0');
  if (sha8.empty()) sha8 = "nohash";
  std::string day = fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  std::string leaf = fmt::format("{:02}{:02}{:02}_{}_{}", tm.tm_hour, tm.tm_min, tm.tm_sec, sha8, clean.name);
  return std::filesystem::path(day) / upperExtension(clean.name) / leaf;
}

WriteResult FileStore::write(const StoredFileInfo& info, std::span<const std::uint8_t> data) {
  WriteResult result;
  SanitizedName clean;
  auto rel = relativePath(info, &clean);
  result.name_verdict = clean.verdict;
  if (!rel) {
    result.status = WriteStatus::kRejectedName;
    result.error = clean.reason;
    return result;
  }
  std::filesystem::path final_path = (root_ / *rel).lexically_normal();
  // Defence in depth: the sanitised components cannot escape, but check anyway.
  auto [root_end, ignored] = std::mismatch(root_.begin(), root_.end(), final_path.begin(), final_path.end());
  (void)ignored;
  if (root_end != root_.end()) {
    result.status = WriteStatus::kRejectedName;
    result.error = "escapes_root";
    return result;
  }
  result.path = final_path;
  auto fail = [&](int err, const char* what) {
    result.status = WriteStatus::kIoError;
    result.error_code = err;
    result.error = fmt::format("{} {}: {}", what, final_path.string(), std::strerror(err));
    return result;
  };

  struct stat st {};
  if (::stat(final_path.c_str(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) == data.size()) {
    result.status = WriteStatus::kAlreadyPresent;
    return result;
  }
  std::error_code ec;
  std::filesystem::create_directories(final_path.parent_path(), ec);
  if (ec) return fail(ec.value(), "mkdir");

  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::filesystem::path tmp =
      final_path.parent_path() / fmt::format(".{}.tmp.{}.{:x}", final_path.filename().string(), ::getpid(), rng());
  auto writeOne = [&](const std::filesystem::path& target, const std::filesystem::path& temp,
                      std::span<const std::uint8_t> bytes) -> int {
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return errno;
    int err = writeAll(fd, bytes);
    if (err == 0 && fsync_files_ && ::fsync(fd) != 0) err = errno;
    if (::close(fd) != 0 && err == 0) err = errno;
    if (err == 0 && ::rename(temp.c_str(), target.c_str()) != 0) err = errno;
    if (err != 0) ::unlink(temp.c_str());
    return err;
  };
  if (!info.sidecar_json.empty()) {
    std::filesystem::path side = final_path;
    side += ".json";
    std::filesystem::path side_tmp = tmp;
    side_tmp += ".json";
    auto json = std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(info.sidecar_json.data()),
                                              info.sidecar_json.size());
    if (int err = writeOne(side, side_tmp, json)) return fail(err, "write sidecar");
  }
  // The product itself goes last: its presence means the write is complete.
  if (int err = writeOne(final_path, tmp, data)) return fail(err, "write");
  if (fsync_files_) {
    if (int err = fsyncDir(final_path.parent_path())) return fail(err, "fsync dir");
  }
  result.status = WriteStatus::kWritten;
  return result;
}

}  // namespace emwin::sinks
