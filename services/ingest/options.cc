#include "options.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include <CLI/CLI.hpp>

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

IngestOptions parseOptions(int argc, const char* const* argv) {
  IngestOptions o;
  std::vector<std::string> servers;
  std::string protocol = "v2";
  std::string servers_env;
  CLI::App app{"emwin-ingest: ByteBlaster client publishing QBT segments on the emwin bus"};
  app.add_option("--server", servers, "ByteBlaster server host:port (repeatable); default: persisted list, then public list")->envname("EMWIN_SERVER");
  app.add_option("--servers", servers_env, "comma-separated host:port list")->envname("EMWIN_SERVERS");
  app.add_option("--email", o.email, "your email, sent in the logon (required)")->envname("EMWIN_EMAIL");
  app.add_option("--protocol", protocol, "v1 or v2")->envname("EMWIN_PROTOCOL")->capture_default_str();
  app.add_option("--state-dir", o.state_dir, "directory of serverlist.json")->envname("EMWIN_STATE_DIR")->capture_default_str();
  app.add_option("--logon-interval-s", o.logon_interval_s, "re-logon period")->envname("EMWIN_LOGON_INTERVAL_S")->capture_default_str();
  app.add_option("--watchdog-s", o.watchdog_s, "no good frame for this long -> failover")->envname("EMWIN_WATCHDOG_S")->capture_default_str();
  app.add_option("--max-bad-frames", o.max_bad_frames, "bad frames tolerated within --bad-window-s")->envname("EMWIN_MAX_BAD_FRAMES")->capture_default_str();
  app.add_option("--bad-window-s", o.bad_window_s, "window of --max-bad-frames")->envname("EMWIN_BAD_WINDOW_S")->capture_default_str();
  app.add_option("--connect-timeout-s", o.connect_timeout_s, "resolve+connect timeout")->envname("EMWIN_CONNECT_TIMEOUT_S")->capture_default_str();
  app.add_option("--backoff-min-ms", o.backoff_min_ms, "first reconnect delay")->envname("EMWIN_BACKOFF_MIN_MS")->capture_default_str();
  app.add_option("--backoff-max-ms", o.backoff_max_ms, "reconnect delay cap")->envname("EMWIN_BACKOFF_MAX_MS")->capture_default_str();
  app.add_option("--pub", o.pub_endpoint, "tap PUB bind endpoint")->envname("EMWIN_PUB")->capture_default_str();
  app.add_option("--pipe", o.pipe_endpoint, "pipeline ROUTER bind endpoint")->envname("EMWIN_PIPE")->capture_default_str();
  app.add_option("--hwm", o.hwm, "pipeline queue per group before backpressure")->envname("EMWIN_HWM")->capture_default_str();
  app.add_option("--retention", o.retention, "segments retained for replay (at most)")->envname("EMWIN_RETENTION")->capture_default_str();
  app.add_option("--retention-mb", o.retention_mb, "megabytes of segments retained for replay (at most)")->envname("EMWIN_RETENTION_MB")->capture_default_str();
  app.add_option("--tap-hwm", o.tap_hwm, "tap send HWM")->envname("EMWIN_TAP_HWM")->capture_default_str();
  app.add_option("--instance", o.instance, "instance name")->envname("EMWIN_INSTANCE")->capture_default_str();
  app.add_option("--producer-id", o.producer_id, "producer id in headers (default ingest.<instance>)")->envname("EMWIN_PRODUCER_ID");
  app.add_option("--stats-interval-ms", o.stats_interval_ms, "ServiceStats period")->envname("EMWIN_STATS_INTERVAL_MS")->capture_default_str();
  app.add_option("--replay", o.replay_file, "read this wire capture instead of servers")->envname("EMWIN_REPLAY");
  app.add_option("--rate", o.replay_rate, "replay speed in bytes/s (0 = max)")->envname("EMWIN_RATE")->capture_default_str();
  app.add_option("--linger-ms", o.linger_ms, "keep servicing the publisher this long before exiting")->envname("EMWIN_LINGER_MS")->capture_default_str();
  app.add_option("--wait-consumers", o.wait_consumers, "wait for N pipeline replicas before reading input")->envname("EMWIN_WAIT_CONSUMERS")->capture_default_str();
  app.add_option("--rcvbuf", o.rcvbuf, "SO_RCVBUF of the server socket in bytes (0 = kernel default)")->envname("EMWIN_RCVBUF")->capture_default_str();
  app.add_option("--seed", o.seed, "backoff jitter seed (0 = random)")->envname("EMWIN_SEED");
  app.add_option("--log-level", o.log_level, "trace..off")->envname("EMWIN_LOG_LEVEL")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    throw ConfigError(app.help(), 0);
  } catch (const CLI::ParseError& e) {
    throw ConfigError(e.what(), 2);
  }
  if (!servers_env.empty()) {
    std::stringstream ss(servers_env);
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (!trim(item).empty()) servers.push_back(item);
    }
  }
  for (const auto& s : servers) {
    qbt::ServerAddress a;
    if (!parseHostPort(s, a)) throw ConfigError("bad server address '" + s + "' (want host:port)", 2);
    o.servers.push_back(a);
  }
  o.email = trim(o.email);
  if (o.replay_file.empty() && o.email.empty()) {
    throw ConfigError("an email is required: pass --email you@example.org or set EMWIN_EMAIL", 2);
  }
  if (o.email.find('|') != std::string::npos) throw ConfigError("the email must not contain '|'", 2);
  if (protocol == "v1" || protocol == "V1") {
    o.protocol = qbt::Version::kV1;
  } else if (protocol == "v2" || protocol == "V2") {
    o.protocol = qbt::Version::kV2;
  } else {
    throw ConfigError("--protocol must be v1 or v2", 2);
  }
  if (o.logon_interval_s < 1 || o.watchdog_s < 1 || o.bad_window_s < 1 || o.connect_timeout_s < 1 ||
      o.max_bad_frames < 0 || o.backoff_min_ms < 0 || o.backoff_max_ms < o.backoff_min_ms ||
      o.stats_interval_ms < 10 || o.linger_ms < 0 || o.replay_rate < 0 || o.hwm < 1 || o.wait_consumers < 0 || o.rcvbuf < 0) {
    throw ConfigError("an interval/limit option is out of range (see --help)", 2);
  }
  if (o.producer_id.empty()) o.producer_id = "ingest." + o.instance;
  return o;
}

}  // namespace emwin::ingest
