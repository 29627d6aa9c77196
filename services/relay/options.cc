// emwin-relay options (see options.h).
#include "options.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "http/access.h"

namespace emwin::relay {
namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "a:1|b:2" -> entries; throws ConfigError naming `option` on a bad entry.
std::vector<qbt::ServerAddress> parseEntries(const std::string& option, std::string_view text, char separator) {
  std::vector<qbt::ServerAddress> out;
  while (!text.empty()) {
    const auto cut = text.find(separator);
    const std::string_view entry = trim(text.substr(0, cut));
    text = cut == std::string_view::npos ? std::string_view{} : text.substr(cut + 1);
    if (entry.empty()) continue;
    qbt::ServerAddress a;
    if (!parseServerEntry(entry, a)) {
      throw runtime::ConfigError(
          option, fmt::format("bad entry '{}' (want host:port, port 1..65535, entries separated by '{}')", entry, separator));
    }
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  return out;
}

}  // namespace

bool parseServerEntry(std::string_view text, qbt::ServerAddress& out) {
  text = trim(text);
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= text.size()) return false;
  const std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port < 1 || port > 65535) return false;
  // Host names and IP literals only (as qbt::parseServerList keeps them): letters, digits, . - _ and [ ] : for IPv6.
  for (const char c : host) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '.' && c != '-' && c != '_' && c != '[' && c != ']' && c != ':') return false;
  }
  out.host.assign(host);
  out.port = static_cast<std::uint16_t>(port);
  return true;
}

void addRelayOptions(runtime::Cli& cli, RelayArgs& a) {
  cli.option("--feed", a.feed,
             "segments (ingest's tap: every block as it arrives) or files (the assembler's tap: completed, "
             "deduplicated files)")
      ->check(CLI::IsMember({"segments", "files"}));
  cli.option("--connect", a.connect,
             "tap to relay (default tcp://127.0.0.1:5601, ingest; with --feed files tcp://127.0.0.1:5602, the "
             "assembler)")
      ->check(runtime::ConnectEndpoint(true));
  cli.option("--hwm", a.hwm, "messages the tap may queue for the relay before it drops them (counted as bus_missed)")
      ->check(runtime::IntRange(1, 10'000'000));
  cli.option("--listen", a.listen, "host:port ByteBlaster clients connect to (port 0 = any free port)")
      ->check(runtime::HostPort(true));
  cli.option("--public-address", a.public_address,
             "host:port of this relay as clients reach it, listed first in server lists (default: --listen "
             "when it names one address)")
      ->check(runtime::HostPort());
  cli.option("--server-list", a.server_list, "further regular servers for the server list, host:port|host:port");
  cli.option("--sat-servers", a.sat_servers, "satellite-fed servers for the server list, host:port+host:port");
  cli.flag("--include-upstream-list", a.include_upstream_list,
           "also list the servers ingest's upstream server sends (--feed segments)");
  cli.option("--max-clients", a.max_clients,
             "connections served at once; over it a client gets the server list and is closed")
      ->check(runtime::UIntRange(1, 100'000));
  cli.option("--client-queue-kb", a.client_queue_kb,
             "a client's unsent data (KiB) before it is disconnected as slow")
      ->check(runtime::UIntRange(256, 1u << 20));
  cli.option("--logon-timeout-s", a.logon_timeout_s, "a client must log on within this")
      ->check(runtime::IntRange(1, 3600));
  cli.option("--relogon-timeout-s", a.relogon_timeout_s,
             "a client that has not re-sent its logon for this long is closed (clients re-send every 115 s)")
      ->check(runtime::IntRange(1, 86'400));
  cli.option("--fill-interval-ms", a.fill_interval_ms, "send FILLFILE.TXT to a client idle this long")
      ->check(runtime::IntRange(100, 3'600'000));
  cli.option("--sndbuf", a.sndbuf, "SO_SNDBUF of each client socket in bytes (0 = kernel default)")
      ->check(runtime::IntRange(0, 1 << 30));
  cli.option("--allow", a.allow, "serve only clients in this network, CIDR (repeatable; default: everyone)")
      ->delimiter(',');
  cli.option("--header-style", a.header_style, "spec, compact or npemwin: the header layout clients get")
      ->check(CLI::IsMember({"spec", "compact", "npemwin"}));
  cli.option("--v2", a.v2,
             "pays (npemwin's rule: compressed only when under 60 % of the V1 frame) or smaller (whenever "
             "it fits)")
      ->check(CLI::IsMember({"pays", "smaller"}));
  cli.option("--http", a.http, "host:port for /metrics, /healthz and /clients ('' = no HTTP)")
      ->check(CLI::Validator(
          [](std::string& v) { return v.empty() ? std::string() : runtime::HostPort(true)(v); }, "HOST:PORT"));
  http::addAccessOptions(cli, a.http_access,
                         "bearer token required on HTTP (repeatable; env comma-separated): /clients names every client");
  cli.option("--upstream-timeout-s", a.upstream_timeout_s,
             "nothing from the tap for this long (not even the producer's stats) = DEGRADED")
      ->check(runtime::IntRange(1, 86'400));
}

RelayConfig finishRelayOptions(const RelayArgs& a) {
  RelayConfig c;
  c.feed = a.feed == "files" ? Feed::kFiles : Feed::kSegments;
  c.connect = !a.connect.empty() ? a.connect
                                 : (c.feed == Feed::kFiles ? "tcp://127.0.0.1:5602" : "tcp://127.0.0.1:5601");
  c.hwm = a.hwm;
  c.http = a.http;
  c.http_access = a.http_access;
  c.upstream_timeout = std::chrono::seconds(a.upstream_timeout_s);
  c.listen_text = a.listen;

  ServerOptions& s = c.server;
  // --listen: an address of this machine (a name is resolved once, now).
  {
    const auto colon = a.listen.rfind(':');
    std::string host = a.listen.substr(0, colon);
    const std::string port = a.listen.substr(colon + 1);
    if (host == "*") host = "0.0.0.0";
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    asio::error_code ec;
    const auto results = resolver.resolve(host, port, asio::ip::tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      throw runtime::ConfigError("--listen", "cannot resolve '" + a.listen + "': " + ec.message());
    }
    s.listen = results.begin()->endpoint();
  }
  if (!a.public_address.empty()) {
    qbt::ServerAddress self;
    if (!parseServerEntry(a.public_address, self)) {
      throw runtime::ConfigError("--public-address", "'" + a.public_address + "' is not host:port");
    }
    s.server_list.regular.push_back(self);
  } else if (!s.listen.address().is_unspecified()) {
    s.list_listen_address = true;  // the bound address, once the port is known
  }
  for (const auto& e : parseEntries("--server-list", a.server_list, '|')) {
    if (std::find(s.server_list.regular.begin(), s.server_list.regular.end(), e) == s.server_list.regular.end()) {
      s.server_list.regular.push_back(e);
    }
  }
  s.server_list.satellite = parseEntries("--sat-servers", a.sat_servers, '+');
  s.include_upstream_list = a.include_upstream_list;
  if (s.include_upstream_list && c.feed == Feed::kFiles) {
    throw runtime::ConfigError("--include-upstream-list",
                               "needs --feed segments (the upstream server list comes from ingest's tap)");
  }
  s.max_clients = a.max_clients;
  s.client_queue_bytes = a.client_queue_kb * 1024;
  s.logon_timeout = std::chrono::seconds(a.logon_timeout_s);
  s.relogon_timeout = std::chrono::seconds(a.relogon_timeout_s);
  s.fill_interval = std::chrono::milliseconds(a.fill_interval_ms);
  s.sndbuf = a.sndbuf;
  for (const auto& cidr : a.allow) {
    if (trim(cidr).empty()) continue;
    std::string error;
    if (!s.allow.add(trim(cidr), error)) throw runtime::ConfigError("--allow", error);
  }
  if (!qbt::parseHeaderStyle(a.header_style, s.encoder.style)) {
    throw runtime::ConfigError("--header-style", "'" + a.header_style + "' (want spec, compact or npemwin)");
  }
  if (!parseV2Rule(a.v2, s.encoder.v2_rule)) throw runtime::ConfigError("--v2", "'" + a.v2 + "' (want pays or smaller)");
  return c;
}

}  // namespace emwin::relay
