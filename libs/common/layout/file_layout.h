#pragma once
// Where emwin-disk-writer puts a product, as a pure function: the safe name
// (sanitizeFilename) and the layout below the output root,
//   <YYYY-MM-DD>/<EXT>/<HHMMSS>_<sha8>_<NAME>
// where the date and time are the file's /FD stamp (UTC), EXT the upper-case
// extension token ("NONE" if absent) and NAME the sanitised product name.
// The disk writer writes there (services/sinks/disk_writer/file_store.h);
// the archive records the same relative path for every file, so a row names
// the file on disk without asking the writer.
//
// Thread-safety: pure functions, safe from any thread.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace emwin::layout {

// What sanitizeFilename did to a name.
enum class NameVerdict : std::uint8_t {
  kClean,      // unchanged
  kRewritten,  // characters replaced, separators/dots removed or shortened
  kRejected,   // nothing usable left
};

// Result of sanitising one untrusted file name.
struct SanitizedName {
  NameVerdict verdict = NameVerdict::kClean;
  std::string name;    // safe single path component (empty when rejected)
  std::string reason;  // why it was rewritten/rejected ("path_separator", "nul", ...)
};

// Longest product name kept (longer names are cut and given a hash suffix).
inline constexpr std::size_t kMaxNameLength = 100;

// Turns an untrusted name into one safe path component: only [A-Za-z0-9._-]
// survive (others become '_'), path separators and NULs are never kept, no
// leading dot, never "." or "..", at most kMaxNameLength characters.
SanitizedName sanitizeFilename(std::string_view raw);

// The three path components of one product below the output root.
struct FileLayout {
  std::string day;   // YYYY-MM-DD of the /FD stamp (UTC)
  std::string ext;   // upper-case extension token or NONE
  std::string leaf;  // HHMMSS_<sha8>_<NAME>
};

// The layout of product `name` with /FD stamp `fd_unix_s` and hex SHA-256
// `sha256`; nullopt when the name is rejected. `sanitized` (optional) gets
// what sanitizeFilename made of the name.
std::optional<FileLayout> fileLayout(std::string_view name, std::int64_t fd_unix_s, std::string_view sha256,
                                     SanitizedName* sanitized = nullptr);

// "<day>/<ext>/<leaf>" of fileLayout(), or nullopt when the name is rejected.
std::optional<std::string> relativePath(std::string_view name, std::int64_t fd_unix_s, std::string_view sha256);

}  // namespace emwin::layout
