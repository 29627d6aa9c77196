// Server-side logon parsing (see logon.h).
#include "qbt/logon.h"

#include <algorithm>

namespace emwin::qbt {
namespace {

std::string_view trim(std::string_view s) noexcept {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

constexpr std::string_view kNameField = "|NM-";

}  // namespace

Logon parseLogon(std::string_view text) {
  Logon logon;
  logon.text.assign(text);
  std::string_view rest = text;
  if (rest.starts_with(kLogonMarker)) rest.remove_prefix(kLogonMarker.size());
  if (rest.ends_with("|V2") || rest.ends_with("|V1")) {
    logon.has_version = true;
    logon.version = rest.ends_with("|V2") ? Version::kV2 : Version::kV1;
    rest.remove_suffix(3);
  }
  const auto nm = rest.find(kNameField);
  if (nm != std::string_view::npos) {
    std::string_view email = rest.substr(nm + kNameField.size());
    email = email.substr(0, email.find('|'));  // a further field is not part of the address
    logon.email.assign(trim(email));
  }
  return logon;
}

void LogonParser::feed(std::span<const std::uint8_t> wire, std::vector<Logon>& out) {
  const std::size_t at = buf_.size();
  buf_.resize(at + wire.size());
  for (std::size_t i = 0; i < wire.size(); ++i) buf_[at + i] = static_cast<char>(wire[i] ^ 0xFF);
  scan(out);
}

void LogonParser::scan(std::vector<Logon>& out) {
  while (true) {
    if (!started_) {
      const auto pos = buf_.find(kLogonMarker);
      if (pos == std::string::npos) {
        // Keep what could be the start of a marker split across reads.
        const std::size_t keep = std::min(buf_.size(), kLogonMarker.size() - 1);
        junk_ += buf_.size() - keep;
        buf_.erase(0, buf_.size() - keep);
        return;
      }
      junk_ += pos;
      buf_.erase(0, pos);
      started_ = true;
    }
    // buf_ starts with the marker: the logon ends at the first suffix before the next marker.
    const auto next = buf_.find(kLogonMarker, kLogonMarker.size());
    std::size_t end = std::string::npos;
    for (const std::string_view suffix : {std::string_view("|V1"), std::string_view("|V2")}) {
      const auto s = buf_.find(suffix, kLogonMarker.size());
      if (s != std::string::npos && (next == std::string::npos || s < next)) end = std::min(end, s + suffix.size());
    }
    if (end == std::string::npos) end = next;  // no suffix: it ended where the next one starts
    if (end == std::string::npos) {
      if (buf_.size() > kMaxLogonBytes) {  // never completes: junk
        junk_ += buf_.size();
        buf_.clear();
        started_ = false;
      }
      return;
    }
    out.push_back(parseLogon(std::string_view(buf_).substr(0, end)));
    buf_.erase(0, end);
    started_ = false;
  }
}

std::optional<Logon> LogonParser::flush() {
  if (!started_) return std::nullopt;
  Logon logon = parseLogon(buf_);
  buf_.clear();
  started_ = false;
  return logon;
}

}  // namespace emwin::qbt
