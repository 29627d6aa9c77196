#include "options.h"

#include <algorithm>
#include <cctype>

namespace emwin::ingest {
namespace {

std::string trim(std::string s) {
  auto notSpace = [](unsigned char c) { return std::isspace(c) == 0; };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), notSpace));
  s.erase(std::find_if(s.rbegin(), s.rend(), notSpace).base(), s.end());
  return s;
}

}  // namespace

bool parseHostPort(const std::string& text, qbt::ServerAddress& out) {
  std::string t = trim(text);
  auto colon = t.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= t.size()) return false;
  std::string port = t.substr(colon + 1);
  if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return false;
  }
  int p = std::stoi(port);
  if (p < 1 || p > 65535) return false;
  out.host = t.substr(0, colon);
  out.port = static_cast<std::uint16_t>(p);
  return true;
}

std::vector<qbt::ServerAddress> defaultServers() {
  return {{"emwin.weathermessage.com", 2211},
          {"master.weathermessage.com", 2211},
          {"emwin.interweather.net", 1000},
          {"wxmesg.upstateweather.com", 2211}};
}

void addIngestOptions(runtime::Cli& cli, IngestArgs& a) {
  IngestOptions& o = a.options;
  cli.option("--server", a.servers,
             "ByteBlaster server host:port (repeatable; EMWIN_SERVERS takes a comma-separated list); default: the "
             "persisted list, then the public servers",
             "EMWIN_SERVERS")
      ->delimiter(',')
      ->check(runtime::HostPort());
  cli.option("--email", o.email, "your email, sent in the logon (required unless --replay)");
  cli.option("--protocol", a.protocol, "v1 or v2 (v2: compressed blocks where the server sends them)")
      ->check(CLI::IsMember({"v1", "v2", "V1", "V2"}));
  cli.option("--state-dir", o.state_dir, "directory of serverlist.json and the known consumer groups")
      ->check(runtime::WritableDir());
  cli.option("--logon-interval-s", o.logon_interval_s, "re-logon period")->check(runtime::IntRange(1, 3600));
  cli.option("--watchdog-s", o.watchdog_s, "no good frame for this long -> next server")
      ->check(runtime::IntRange(1, 86'400));
  cli.option("--max-bad-frames", o.max_bad_frames, "bad frames tolerated within --bad-window-s (0 = no limit)")
      ->check(runtime::IntRange(0, 1'000'000'000));
  cli.option("--bad-window-s", o.bad_window_s, "window of --max-bad-frames")->check(runtime::IntRange(1, 86'400));
  cli.option("--connect-timeout-s", o.connect_timeout_s, "resolve + connect timeout")
      ->check(runtime::IntRange(1, 3600));
  cli.option("--backoff-min-ms", o.backoff_min_ms, "first reconnect delay")->check(runtime::IntRange(0, 3'600'000));
  cli.option("--backoff-max-ms", o.backoff_max_ms, "reconnect delay cap")->check(runtime::IntRange(1, 3'600'000));
  service::addProducerOptions(cli, o.producer, "segments");
  cli.option("--producer-id", o.producer.producer_id, "producer id in message headers (default ingest.<instance>)");
  cli.option("--replay", o.replay_file, "read this wire capture instead of servers")->check(runtime::ReadableFile());
  cli.option("--rate", o.replay_rate, "replay speed in bytes/s (0 = as fast as possible)")
      ->check(CLI::Range(0.0, 1e12));
  cli.option("--wait-consumers", o.wait_consumers, "read no input until this many pipeline replicas joined")
      ->check(runtime::IntRange(0, 10'000));
  cli.option("--rcvbuf", o.rcvbuf, "SO_RCVBUF of the server socket in bytes (0 = kernel default)")
      ->check(runtime::IntRange(0, 1 << 30));
  cli.option("--seed", o.seed, "backoff jitter seed (0 = random)");
}

IngestOptions finishIngestOptions(IngestArgs a) {
  IngestOptions o = std::move(a.options);
  for (const auto& s : a.servers) {
    qbt::ServerAddress address;
    if (trim(s).empty()) continue;
    if (!parseHostPort(s, address)) throw runtime::ConfigError("--server", "bad address '" + s + "' (want host:port)");
    o.servers.push_back(address);
  }
  o.email = trim(o.email);
  if (o.replay_file.empty() && o.email.empty()) {
    throw runtime::ConfigError("--email", "an email is required: pass --email you@example.org or set EMWIN_EMAIL");
  }
  if (o.email.find('|') != std::string::npos) throw runtime::ConfigError("--email", "must not contain '|'");
  o.protocol = (a.protocol == "v1" || a.protocol == "V1") ? qbt::Version::kV1 : qbt::Version::kV2;
  if (o.backoff_max_ms < o.backoff_min_ms) {
    throw runtime::ConfigError("--backoff-max-ms", "must not be below --backoff-min-ms");
  }
  return o;
}

}  // namespace emwin::ingest
