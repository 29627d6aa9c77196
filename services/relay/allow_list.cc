// Client network allow-list (see allow_list.h).
#include "allow_list.h"

#include <charconv>

#include <fmt/format.h>

namespace emwin::relay {
namespace {

bool inPrefix(const std::uint8_t* a, const std::uint8_t* net, unsigned prefix) noexcept {
  const unsigned whole = prefix / 8;
  for (unsigned i = 0; i < whole; ++i) {
    if (a[i] != net[i]) return false;
  }
  const unsigned rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (a[whole] & mask) == (net[whole] & mask);
}

}  // namespace

bool AllowList::add(std::string_view cidr, std::string& error) {
  const auto slash = cidr.find('/');
  const std::string host(cidr.substr(0, slash));
  asio::error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec || host.empty()) {
    error = fmt::format("'{}' is not an IP network (want e.g. 10.0.0.0/8 or 2001:db8::/32)", cidr);
    return false;
  }
  Network n;
  n.v6 = address.is_v6();
  const unsigned max = n.v6 ? 128 : 32;
  n.prefix = max;
  if (slash != std::string_view::npos) {
    const std::string_view len = cidr.substr(slash + 1);
    const auto [end, perr] = std::from_chars(len.data(), len.data() + len.size(), n.prefix);
    if (len.empty() || perr != std::errc{} || end != len.data() + len.size() || n.prefix > max) {
      error = fmt::format("'{}': prefix length must be 0..{}", cidr, max);
      return false;
    }
  }
  if (n.v6) {
    const auto b = address.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), n.bytes.begin());
  } else {
    const auto b = address.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), n.bytes.begin());
  }
  // Host bits set: almost always a typo; say what was probably meant.
  Network canonical = n;
  for (unsigned bit = n.prefix; bit < max; ++bit) canonical.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  if (canonical.bytes != n.bytes) {
    std::string meant;
    if (n.v6) {
      asio::ip::address_v6::bytes_type b{};
      std::copy_n(canonical.bytes.begin(), 16, b.begin());
      meant = asio::ip::address_v6(b).to_string();
    } else {
      asio::ip::address_v4::bytes_type b{};
      std::copy_n(canonical.bytes.begin(), 4, b.begin());
      meant = asio::ip::address_v4(b).to_string();
    }
    error = fmt::format("'{}' has host bits set (did you mean {}/{}?)", cidr, meant, n.prefix);
    return false;
  }
  networks_.push_back(n);
  return true;
}

bool AllowList::allows(const asio::ip::address& address) const noexcept {
  if (networks_.empty()) return true;
  asio::ip::address a = address;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  std::array<std::uint8_t, 16> bytes{};
  if (a.is_v6()) {
    const auto b = a.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), bytes.begin());
  } else {
    const auto b = a.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), bytes.begin());
  }
  for (const Network& n : networks_) {
    if (n.v6 == a.is_v6() && inPrefix(bytes.data(), n.bytes.data(), n.prefix)) return true;
  }
  return false;
}

std::vector<std::string> AllowList::describe() const {
  std::vector<std::string> out;
  for (const Network& n : networks_) {
    std::string text;
    if (n.v6) {
      asio::ip::address_v6::bytes_type b{};
      std::copy_n(n.bytes.begin(), 16, b.begin());
      text = asio::ip::address_v6(b).to_string();
    } else {
      asio::ip::address_v4::bytes_type b{};
      std::copy_n(n.bytes.begin(), 4, b.begin());
      text = asio::ip::address_v4(b).to_string();
    }
    out.push_back(fmt::format("{}/{}", text, n.prefix));
  }
  return out;
}

}  // namespace emwin::relay
