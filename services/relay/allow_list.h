#pragma once
// AllowList: the client networks emwin-relay serves (--allow CIDR,
// repeatable). Empty = everyone. IPv4 and IPv6 networks; an IPv4-mapped IPv6
// peer (::ffff:a.b.c.d, from a dual-stack listener) matches IPv4 networks.
// Thread-safety: immutable after construction; safe to share.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "service/asio.h"

namespace emwin::relay {

class AllowList {
 public:
  // Adds "a.b.c.d/len", "x::y/len" or a single address (a /32 or /128).
  // Returns false with `error` set when the text is not such a network or
  // has host bits set ("10.1.0.0/8": did you mean 10.0.0.0/8?).
  bool add(std::string_view cidr, std::string& error);
  // True when the list is empty or `address` is inside one of its networks.
  bool allows(const asio::ip::address& address) const noexcept;
  bool empty() const noexcept { return networks_.empty(); }
  // The networks as given, normalised ("10.0.0.0/8").
  std::vector<std::string> describe() const;

 private:
  struct Network {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};
    unsigned prefix = 0;
  };
  std::vector<Network> networks_;
};

}  // namespace emwin::relay
