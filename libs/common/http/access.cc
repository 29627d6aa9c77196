#include "http/access.h"

#include <algorithm>
#include <stdexcept>

namespace emwin::http {
namespace {

bool parseCidr(const std::string& text, asio::ip::address& address, unsigned& bits) {
  const auto slash = text.find('/');
  asio::error_code ec;
  address = asio::ip::make_address(text.substr(0, slash), ec);
  if (ec) return false;
  const unsigned max = address.is_v4() ? 32 : 128;
  if (slash == std::string::npos) {
    bits = max;
    return true;
  }
  const std::string b = text.substr(slash + 1);
  if (b.empty() || b.size() > 3 || !std::all_of(b.begin(), b.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return false;
  }
  bits = static_cast<unsigned>(std::stoul(b));
  return bits <= max;
}

bool inNet(const asio::ip::address& a, const asio::ip::address& net, unsigned bits) {
  auto bytes = [](const asio::ip::address& x) {
    std::array<unsigned char, 16> out{};
    if (x.is_v4()) {
      const auto v4 = x.to_v4().to_bytes();
      std::copy(v4.begin(), v4.end(), out.begin());
    } else {
      out = x.to_v6().to_bytes();
    }
    return out;
  };
  asio::ip::address addr = a;
  if (a.is_v6() && a.to_v6().is_v4_mapped() && net.is_v4()) addr = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  if (addr.is_v4() != net.is_v4()) return false;
  const auto x = bytes(addr);
  const auto y = bytes(net);
  for (unsigned i = 0; i < bits; ++i) {
    const unsigned byte = i / 8;
    const unsigned mask = 0x80u >> (i % 8);
    if ((x[byte] & mask) != (y[byte] & mask)) return false;
  }
  return true;
}

}  // namespace

bool AccessGuard::validCidr(const std::string& cidr) {
  asio::ip::address a;
  unsigned bits = 0;
  return parseCidr(cidr, a, bits);
}

AccessGuard::AccessGuard(AccessOptions options) : options_(std::move(options)) {
  for (const auto& c : options_.allow) {
    asio::ip::address a;
    unsigned bits = 0;
    if (!parseCidr(c, a, bits)) throw std::invalid_argument("'" + c + "' is not an address or network (CIDR)");
    nets_.emplace_back(a, bits);
  }
}

std::optional<Response> AccessGuard::check(const Request& request) const {
  if (!nets_.empty()) {
    asio::error_code ec;
    const auto remote = asio::ip::make_address(request.remote, ec);
    const bool allowed = !ec && std::any_of(nets_.begin(), nets_.end(),
                                            [&](const auto& n) { return inNet(remote, n.first, n.second); });
    if (!allowed) return Response{403, "text/plain; charset=utf-8", "forbidden\n", {}};
  }
  if (options_.tokens.empty()) return std::nullopt;
  if (std::find(options_.open_paths.begin(), options_.open_paths.end(), request.path) != options_.open_paths.end()) {
    return std::nullopt;
  }
  const std::string auth = request.header("authorization");
  const std::string prefix = "Bearer ";
  if (auth.rfind(prefix, 0) == 0 &&
      std::find(options_.tokens.begin(), options_.tokens.end(), auth.substr(prefix.size())) != options_.tokens.end()) {
    return std::nullopt;
  }
  return Response{401, "text/plain; charset=utf-8", "unauthorized\n", {{"WWW-Authenticate", "Bearer"}}};
}

AccessOptions AccessArgs::guardOptions() const {
  AccessOptions o;
  o.tokens = tokens;
  o.allow = allow;
  if (!token_healthz) o.open_paths.emplace_back("/healthz");
  return o;
}

void addAccessOptions(runtime::Cli& cli, AccessArgs& args, const std::string& token_help) {
  cli.option("--http-token", args.tokens, token_help)->delimiter(',');
  cli.flag("--http-token-healthz", args.token_healthz, "/healthz needs the token too (default: open)");
  cli.option("--http-allow", args.allow, "client network allowed on HTTP, CIDR (repeatable; default everyone)")
      ->delimiter(',')
      ->check(CLI::Validator(
          [](std::string& v) { return AccessGuard::validCidr(v) ? std::string() : "'" + v + "' is not an address or CIDR"; },
          "CIDR", "Cidr"));
}

}  // namespace emwin::http
