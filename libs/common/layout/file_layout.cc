#include "layout/file_layout.h"

#include <cctype>
#include <ctime>

#include <fmt/format.h>

#include "runtime/names.h"
#include "runtime/sha256.h"

namespace emwin::layout {
namespace {

bool isSafeChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
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

std::optional<FileLayout> fileLayout(std::string_view name, std::int64_t fd_unix_s, std::string_view sha256,
                                     SanitizedName* sanitized) {
  SanitizedName clean = sanitizeFilename(name);
  if (sanitized != nullptr) *sanitized = clean;
  if (clean.verdict == NameVerdict::kRejected) return std::nullopt;
  std::time_t t = static_cast<std::time_t>(fd_unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char sha8[9] = {};
  std::size_t n = 0;
  for (; n < 8 && n < sha256.size(); ++n) {
    const char c = sha256[n];
    sha8[n] = std::isxdigit(static_cast<unsigned char>(c)) ? c : '0';
  }
  const std::string_view hash = n == 0 ? std::string_view("nohash") : std::string_view(sha8, n);
  FileLayout out;
  out.day = fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  out.ext = runtime::extensionToken(clean.name, 8);
  out.leaf = fmt::format("{:02}{:02}{:02}_{}_{}", tm.tm_hour, tm.tm_min, tm.tm_sec, hash, clean.name);
  return out;
}

std::optional<std::string> relativePath(std::string_view name, std::int64_t fd_unix_s, std::string_view sha256) {
  auto parts = fileLayout(name, fd_unix_s, sha256);
  if (!parts) return std::nullopt;
  return parts->day + "/" + parts->ext + "/" + parts->leaf;
}

}  // namespace emwin::layout
