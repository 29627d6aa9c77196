#pragma once
// Server side of the ByteBlaster logon (qbt-protocol.md §2): finds
// "ByteBlast Client|NM-<email>|V2" texts in the bytes a client sends. The
// logon has no terminator, so a logon ends at its "|V1"/"|V2" suffix, at the
// next logon marker, or — for a client that sends no suffix — when the caller
// says no more bytes are coming for it now (flush()). Bytes outside logons are
// counted as junk; nothing is held beyond kMaxLogonBytes whatever the input.
// Used by emwin-relay and emwin-sim.
//
// Thread-safety: a LogonParser is not thread-safe; use one per connection.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "qbt/types.h"

namespace emwin::qbt {

// The text every logon starts with.
inline constexpr std::string_view kLogonMarker = "ByteBlast Client";

// One logon a client sent.
struct Logon {
  std::string text;            // the whole logon, decoded (XOR undone), as received
  std::string email;           // after "|NM-", trimmed; empty = the logon names nobody
  Version version = Version::kV1;  // kV2 only for a "|V2" suffix ("|V1" or none: V1)
  bool has_version = false;    // a "|V1"/"|V2" suffix ended the logon
  // True when the logon names a user, as the protocol requires ("|NM-" and a non-empty email).
  bool valid() const noexcept { return !email.empty(); }
};

// Parses the fields of one logon text (decoded; starting with kLogonMarker).
Logon parseLogon(std::string_view text);

class LogonParser {
 public:
  // A logon longer than this (no suffix, no next marker) is dropped as junk.
  static constexpr std::size_t kMaxLogonBytes = 1024;

  // Feeds wire bytes (XOR-ed, as received); appends every logon they complete to `out`.
  void feed(std::span<const std::uint8_t> wire, std::vector<Logon>& out);
  // True while a logon without a suffix has started and may still be growing.
  bool pending() const noexcept { return started_; }
  // The client sends nothing more for now: ends the pending logon and returns it (if any).
  std::optional<Logon> flush();
  // Bytes that were not part of any logon (before a marker, or an overlong logon).
  std::uint64_t junkBytes() const noexcept { return junk_; }

 private:
  void scan(std::vector<Logon>& out);

  std::string buf_;       // decoded bytes not yet consumed
  bool started_ = false;  // buf_ starts with the marker
  std::uint64_t junk_ = 0;
};

}  // namespace emwin::qbt
