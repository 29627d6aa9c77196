#pragma once
// FileStore: writes completed products under one output root, atomically
// (temp file + fsync + rename + directory fsync), never outside the root.
//
// Per file: the final path is checked by the no-replace rename itself (one
// stat only when it already exists, or always with a sidecar or on a
// filesystem without renameat2(RENAME_NOREPLACE)); directories known to exist
// are cached (re-created if one vanishes), so a new file costs open, write,
// close and rename.
//
// Layout: <root>/<YYYY-MM-DD>/<EXT>/<HHMMSS>_<sha8>_<NAME>, where the date and
// time are the file's /FD stamp (UTC), EXT the upper-case extension ("NONE"
// if absent) and NAME the sanitised product name. The sha8 part keeps distinct
// products that share a name and stamp apart, and makes a replayed file land on
// the same path, so writing it again is a no-op (idempotent).
//
// Thread-safety: a FileStore is not thread-safe; one per writer thread.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>

#include "layout/file_layout.h"

namespace emwin::sinks {

// Safe names and the layout live in libs/common/layout (shared with
// emwin-archive, which records where each file went); the disk writer's names
// for them stay.
using layout::kMaxNameLength;
using layout::NameVerdict;
using layout::SanitizedName;
using layout::sanitizeFilename;

// Metadata of one product to store.
struct StoredFileInfo {
  std::string name;          // product name as received (untrusted)
  std::int64_t fd_unix_s = 0;
  std::string sha256;        // hex sha256 of the bytes (trusted: computed upstream and re-checked)
  std::string sidecar_json;  // written next to the file as <file>.json when non-empty
};

// Outcome of one write.
enum class WriteStatus : std::uint8_t {
  kWritten,        // new file on disk
  kAlreadyPresent, // same path with the same size existed: idempotent no-op
  kRejectedName,   // name unusable after sanitising
  kIoError,        // could not write (disk full, permission, ...); retry later
};

struct WriteResult {
  WriteStatus status = WriteStatus::kIoError;
  std::filesystem::path path;  // final path (when known)
  NameVerdict name_verdict = NameVerdict::kClean;
  std::string error;           // errno text or reason
  int error_code = 0;          // errno for kIoError
};

class FileStore {
 public:
  // `root` is created if missing. `fsync_files` can be turned off for benchmarks.
  explicit FileStore(std::filesystem::path root, bool fsync_files = true);

  // Computes where a product goes (relative to the root), or nullopt when the
  // name is rejected.
  std::optional<std::filesystem::path> relativePath(const StoredFileInfo& info,
                                                    SanitizedName* sanitized = nullptr) const;

  // Writes `data` atomically. Never throws; never writes outside the root.
  WriteResult write(const StoredFileInfo& info, std::span<const std::uint8_t> data);

  const std::filesystem::path& root() const noexcept { return root_; }

 private:
  // Directory names of one file below the root.
  using Layout = layout::FileLayout;
  static constexpr std::size_t kMaxKnownDirs = 4096;

  std::optional<Layout> layout(const StoredFileInfo& info, SanitizedName& clean) const;
  // Creates `dir` (absolute) unless it is known to exist; returns errno or 0.
  int ensureDirectory(const std::string& dir);

  std::filesystem::path root_;
  std::string root_string_;  // root_ without a trailing '/'
  bool fsync_files_;
  bool noreplace_rename_ = true;  // renameat2(RENAME_NOREPLACE) works here (until EINVAL)
  long pid_;                      // for temp names
  std::mt19937_64 rng_{std::random_device{}()};
  std::unordered_set<std::string> known_dirs_;
};

}  // namespace emwin::sinks
