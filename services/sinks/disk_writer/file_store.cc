#include "file_store.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>


namespace emwin::sinks {
namespace {

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

int fsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int rc = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return rc;
}

// One path component that cannot leave its directory.
bool isSafeComponent(std::string_view part) {
  return !part.empty() && part != "." && part != ".." && part.find('/') == std::string_view::npos &&
         part.find('\0') == std::string_view::npos;
}

}  // namespace

FileStore::FileStore(std::filesystem::path root, bool fsync_files)
    : root_(std::filesystem::absolute(std::move(root)).lexically_normal()),
      root_string_(root_.string()),
      fsync_files_(fsync_files),
      pid_(::getpid()) {
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);  // failures surface on write()
  while (root_string_.size() > 1 && root_string_.back() == '/') root_string_.pop_back();
}

std::optional<FileStore::Layout> FileStore::layout(const StoredFileInfo& info, SanitizedName& clean) const {
  return layout::fileLayout(info.name, info.fd_unix_s, info.sha256, &clean);
}

std::optional<std::filesystem::path> FileStore::relativePath(const StoredFileInfo& info,
                                                             SanitizedName* sanitized) const {
  SanitizedName clean;
  auto parts = layout(info, clean);
  if (sanitized) *sanitized = clean;
  if (!parts) return std::nullopt;
  return std::filesystem::path(parts->day) / parts->ext / parts->leaf;
}

int FileStore::ensureDirectory(const std::string& dir) {
  if (known_dirs_.contains(dir)) return 0;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return ec.value() != 0 ? ec.value() : EIO;
  // Bounded: a long-running writer sees a few new day/type directories a day.
  if (known_dirs_.size() >= kMaxKnownDirs) known_dirs_.clear();
  known_dirs_.insert(dir);
  return 0;
}

WriteResult FileStore::write(const StoredFileInfo& info, std::span<const std::uint8_t> data) {
  WriteResult result;
  SanitizedName clean;
  auto parts = layout(info, clean);
  result.name_verdict = clean.verdict;
  if (!parts) {
    result.status = WriteStatus::kRejectedName;
    result.error = clean.reason;
    return result;
  }
  // Defence in depth: the sanitised components cannot escape the root (each is
  // one non-empty component without '/', never "." or ".."), but check anyway.
  for (const std::string* part : {&parts->day, &parts->ext, &parts->leaf}) {
    if (!isSafeComponent(*part)) {
      result.status = WriteStatus::kRejectedName;
      result.error = "escapes_root";
      return result;
    }
  }
  std::string dir = root_string_;
  dir.reserve(root_string_.size() + parts->day.size() + parts->ext.size() + 2);
  dir.append("/").append(parts->day).append("/").append(parts->ext);
  std::string final_path = dir + "/" + parts->leaf;
  result.path = final_path;
  auto fail = [&](int err, const char* what) {
    result.status = WriteStatus::kIoError;
    result.error_code = err;
    result.error = fmt::format("{} {}: {}", what, final_path, std::strerror(err));
    return result;
  };
  auto presentWithSameSize = [&] {
    struct stat st {};
    return ::stat(final_path.c_str(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) == data.size();
  };

  // With a sidecar, or where renameat2(RENAME_NOREPLACE) is unsupported, look
  // before writing; otherwise the no-replace rename below detects a present file
  // without a stat per new file.
  const bool look_first = !info.sidecar_json.empty() || !noreplace_rename_;
  if (look_first && presentWithSameSize()) {
    result.status = WriteStatus::kAlreadyPresent;
    return result;
  }
  if (int err = ensureDirectory(dir)) return fail(err, "mkdir");

  const std::string tmp = fmt::format("{}/.{}.tmp.{}.{:x}", dir, parts->leaf, pid_, rng_());
  // Creates `temp` with `bytes`; recreates the directory once if it vanished
  // since it was cached. Returns errno or 0; removes `temp` on failure.
  auto writeTemp = [&](const std::string& temp, std::span<const std::uint8_t> bytes) -> int {
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0 && errno == ENOENT) {
      known_dirs_.erase(dir);
      if (int err = ensureDirectory(dir)) return err;
      fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    }
    if (fd < 0) return errno;
    int err = writeAll(fd, bytes);
    if (err == 0 && fsync_files_ && ::fsync(fd) != 0) err = errno;
    if (::close(fd) != 0 && err == 0) err = errno;
    if (err != 0) ::unlink(temp.c_str());
    return err;
  };
  auto renameOver = [&](const std::string& temp, const std::string& target) -> int {
    if (::rename(temp.c_str(), target.c_str()) == 0) return 0;
    int err = errno;
    ::unlink(temp.c_str());
    return err;
  };
  if (!info.sidecar_json.empty()) {
    const std::string side = final_path + ".json";
    const std::string side_tmp = tmp + ".json";
    auto json = std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(info.sidecar_json.data()),
                                              info.sidecar_json.size());
    int err = writeTemp(side_tmp, json);
    if (err == 0) err = renameOver(side_tmp, side);
    if (err != 0) return fail(err, "write sidecar");
  }
  // The product itself goes last: its presence means the write is complete.
  if (int err = writeTemp(tmp, data)) return fail(err, "write");
  if (look_first) {
    if (int err = renameOver(tmp, final_path)) return fail(err, "write");
  } else if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, final_path.c_str(), RENAME_NOREPLACE) != 0) {
    const int err = errno;
    if (err == EINVAL || err == ENOSYS || err == ENOTSUP) noreplace_rename_ = false;  // filesystem without it
    if (err != EEXIST && noreplace_rename_) {
      ::unlink(tmp.c_str());
      return fail(err, "write");
    }
    // Present (or unknown): same size = idempotent no-op, else replace it as before.
    if (presentWithSameSize()) {
      ::unlink(tmp.c_str());
      result.status = WriteStatus::kAlreadyPresent;
      return result;
    }
    if (int rerr = renameOver(tmp, final_path)) return fail(rerr, "write");
  }
  if (fsync_files_) {
    if (int err = fsyncDir(dir)) return fail(err, "fsync dir");
  }
  result.status = WriteStatus::kWritten;
  return result;
}

}  // namespace emwin::sinks
