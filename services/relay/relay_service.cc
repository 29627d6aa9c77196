// emwin-relay handlers (see relay_service.h).
#include "relay_service.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bus/stats_report.h"
#include "bus/topics.h"
#include "http/access.h"
#include "http/server.h"
#include "runtime/sha256.h"

namespace emwin::relay {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::uint64_t kBadLogLimit = 20;
constexpr auto kMissedLogEvery = std::chrono::seconds(10);

std::string hostPort(const qbt::ServerAddress& a) { return fmt::format("{}:{}", a.host, a.port); }

std::string listText(const qbt::ServerList& l) {
  std::string s;
  for (const auto& a : l.regular) s += (s.empty() ? "" : "|") + hostPort(a);
  if (!l.satellite.empty()) {
    s += " sat ";
    for (std::size_t i = 0; i < l.satellite.size(); ++i) s += (i ? "+" : "") + hostPort(l.satellite[i]);
  }
  return s.empty() ? "(none)" : s;
}

// Prometheus metric-name part: [a-zA-Z0-9_], others '_'.
std::string metricName(std::string_view raw) {
  std::string out(raw);
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) c = '_';
  }
  return out;
}

// Escaped Prometheus label value.
std::string labelValue(std::string_view raw) {
  std::string out;
  for (const char c : raw) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string number(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

RelayService::RelayService(RelayConfig config) : config_(std::move(config)), log_(runtime::logger("relay")) {}

RelayService::~RelayService() = default;

void RelayService::start(service::Runtime& rt) {
  runtime_ = &rt;
  started_ = Clock::now();
  try {
    server_ = std::make_unique<RelayServer>(rt.io(), config_.server);
  } catch (const std::exception& e) {
    throw runtime::ConfigError("--listen", "cannot listen on " + config_.listen_text + ": " + e.what());
  }
  if (!config_.http.empty()) {
    http::ServerOptions ho;
    ho.listen = config_.http;
    try {
      http_ = std::make_unique<http::Server>(rt.io(), ho);
    } catch (const std::exception& e) {
      throw runtime::ConfigError("--http", "cannot listen on " + config_.http + ": " + e.what());
    }
    if (config_.http_access.enabled()) {
      try {
        guard_ = std::make_unique<http::AccessGuard>(config_.http_access.guardOptions());
      } catch (const std::exception& e) {
        throw runtime::ConfigError("--http-allow", e.what());
      }
      http_->guard([this](const http::Request& r) { return guard_->check(r); });
    }
    http_->get("/metrics", [this](const http::Request&) {
      http::Response res;
      res.content_type = "text/plain; version=0.0.4";
      res.body = metricsText();
      return res;
    });
    http_->get("/clients", [this](const http::Request&) {
      http::Response res;
      res.content_type = "application/json";
      res.body = clientsJson();
      return res;
    });
    http_->get("/healthz", [this](const http::Request&) {
      http::Response res;
      const double age = upstreamAge();
      res.status = degraded_ ? 503 : 200;
      res.body = fmt::format("{} clients={} upstream_age_s={}\n", degraded_ ? "degraded" : "ok",
                             server_->clientsStreaming(), number(std::round(age * 10) / 10));
      return res;
    });
  }

  bus::TapSubscriberOptions t;
  t.endpoints = {config_.connect};
  t.receive_hwm = config_.hwm;
  // stats.* is the producer's heartbeat: it tells an idle feed from a dead one.
  t.topic_prefixes = config_.feed == Feed::kFiles ? std::vector<std::string>{"file.", "stats."}
                                                  : std::vector<std::string>{"seg.", "serverlist.", "stats."};
  tap_ = &rt.tapInput(t, [this](bus::Received&& m) { onMessage(std::move(m)); }, "--connect");

  server_->start();
  rt.every(std::chrono::seconds(1), [this] { checkUpstream(); });
  const auto ep = server_->endpoint();
  log_->info("listening on {}:{} for ByteBlaster clients ({}, V2 when {}, at most {} clients, {} KiB each); "
             "relaying {} from {}; server list {}; http {}",
             ep.address().to_string(), ep.port(), qbt::headerStyleName(config_.server.encoder.style),
             v2RuleName(config_.server.encoder.v2_rule), config_.server.max_clients,
             config_.server.client_queue_bytes / 1024, config_.feed == Feed::kFiles ? "completed files" : "segments",
             config_.connect, listText(server_->serverList()), http_ ? http_->address() : std::string("-"));
  if (!config_.server.allow.empty()) {
    std::string nets;
    for (const auto& n : config_.server.allow.describe()) nets += (nets.empty() ? "" : ", ") + n;
    log_->info("serving only clients in {}", nets);
  }
}

void RelayService::onMessage(bus::Received&& m) {
  ++feed_.messages;
  last_upstream_ = Clock::now();
  if (!heard_upstream_) {
    heard_upstream_ = true;
    log_->info("upstream: first message from {} on {}", m.header.producer_id(), config_.connect);
  }
  const std::string_view family = bus::topicFamily(m.topic);
  if (family == "seg.") {
    onSegment(m);
  } else if (family == "file.") {
    onFile(m);
  } else if (family == "serverlist.") {
    onServerList(m);
  }
}

void RelayService::badMessage(const bus::Received& m, const char* why) {
  ++feed_.bad_messages;
  if (bad_logged_++ < kBadLogLimit) log_->warn("bad message on {}: {} (not relayed; counted as bad_messages)", m.topic, why);
}

void RelayService::onSegment(const bus::Received& m) {
  if (!segment_.ParseFromString(m.payload)) return badMessage(m, "not a Segment");
  if (segment_.data().size() != qbt::kBlockSize || segment_.block_number() < 1 ||
      segment_.block_number() > segment_.total_blocks()) {
    return badMessage(m, "not one 1024-byte block of a file");
  }
  ++feed_.segments;
  BlockRef b;
  b.filename = segment_.filename();
  b.block_number = segment_.block_number();
  b.total_blocks = segment_.total_blocks();
  b.fd_unix_s = segment_.fd_unix_s();
  b.data = std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(segment_.data().data()),
                                         segment_.data().size());
  server_->relay(b);
}

void RelayService::onFile(const bus::Received& m) {
  if (!file_.ParseFromString(m.payload)) return badMessage(m, "not a CompletedFile");
  if (file_.origin() == emwin::bus::v1::FILE_ORIGIN_ARCHIVE_ENTRY) {
    ++feed_.archive_entries;  // the archive it came from was relayed as sent
    return;
  }
  const std::size_t size = file_.data().size();
  const std::size_t blocks = std::max<std::size_t>(1, file_.block_count());
  if (size > blocks * qbt::kBlockSize || file_.filename().empty()) return badMessage(m, "more bytes than its blocks hold");
  ++feed_.files;
  // The delivered bytes were cut from the received blocks only at their end:
  // NUL-padded again they are the blocks as received (raw_sha256 says so).
  raw_.assign(blocks * qbt::kBlockSize, 0);
  std::copy(file_.data().begin(), file_.data().end(), raw_.begin());
  if (!file_.raw_sha256().empty() && runtime::sha256Hex(std::span<const std::uint8_t>(raw_)) != file_.raw_sha256()) {
    ++feed_.files_not_raw;  // e.g. bytes after a ZIP's end that were not NULs: the content is the same
    log_->debug("{}: re-cut blocks differ from the received ones after the delivered end", file_.filename());
  }
  BlockRef b;
  b.filename = file_.filename();
  b.total_blocks = static_cast<std::uint32_t>(blocks);
  b.fd_unix_s = file_.fd_unix_s();
  for (std::size_t i = 0; i < blocks; ++i) {
    b.block_number = static_cast<std::uint32_t>(i + 1);
    b.data = std::span<const std::uint8_t>(raw_.data() + i * qbt::kBlockSize, qbt::kBlockSize);
    server_->relay(b);
  }
}

void RelayService::onServerList(const bus::Received& m) {
  emwin::bus::v1::ServerList msg;
  if (!msg.ParseFromString(m.payload)) return badMessage(m, "not a ServerList");
  ++feed_.upstream_lists;
  qbt::ServerList list;
  for (const auto& a : msg.regular()) {
    if (a.port() >= 1 && a.port() <= 65535 && !a.host().empty()) list.regular.push_back({a.host(), static_cast<std::uint16_t>(a.port())});
  }
  for (const auto& a : msg.satellite()) {
    if (a.port() >= 1 && a.port() <= 65535 && !a.host().empty()) list.satellite.push_back({a.host(), static_cast<std::uint16_t>(a.port())});
  }
  server_->setUpstreamList(list);
}

double RelayService::upstreamAge() const {
  return std::chrono::duration<double>(Clock::now() - (heard_upstream_ ? last_upstream_ : started_)).count();
}

void RelayService::checkUpstream() {
  const bool silent = upstreamAge() > static_cast<double>(config_.upstream_timeout.count());
  if (silent != degraded_) {
    degraded_ = silent;
    runtime_->setState(silent ? emwin::bus::v1::SERVICE_STATE_DEGRADED : emwin::bus::v1::SERVICE_STATE_RUNNING);
    if (silent) {
      log_->warn("nothing from {} for {} s: clients get only FILLFILE (DEGRADED)", config_.connect,
                 config_.upstream_timeout.count());
    } else {
      log_->info("upstream {} heard again", config_.connect);
    }
  }
  const std::uint64_t missed = tap_->stats().missed;
  const auto now = Clock::now();
  if (missed > missed_logged_ && now - missed_logged_at_ >= kMissedLogEvery) {
    log_->warn("missed {} message(s) of the tap {} ({} so far, in {} gap(s)): clients did not get those blocks",
               missed - missed_logged_, config_.connect, missed, tap_->stats().gaps);
    missed_logged_ = missed;
    missed_logged_at_ = now;
  }
}

void RelayService::report(runtime::StatsReporter& r) {
  const ServerCounters& c = server_->counters();
  r.setCounter("connections", c.connections);
  r.setCounter("clients_logged_on", c.clients_logged_on);
  r.setCounter("logons", c.logons);
  r.setCounter("logons_bad", c.logons_bad);
  r.setCounter("bytes_sent", c.bytes_sent);
  r.setCounter("frames_sent.v1", c.frames_v1);
  r.setCounter("frames_sent.v2", c.frames_v2);
  r.setCounter("fill_frames_sent", c.fill_frames);
  r.setCounter("server_lists_sent", c.server_lists);
  std::uint64_t disconnects = 0;
  for (std::size_t i = 0; i < kDisconnectReasonCount; ++i) {
    r.setCounter(fmt::format("disconnects.{}", reasonName(static_cast<DisconnectReason>(i))), c.disconnects[i]);
    disconnects += c.disconnects[i];
  }
  r.setCounter("disconnects_total", disconnects);
  r.setCounter("blocks_in", c.blocks_in);
  r.setCounter("blocks_unwanted", c.blocks_unwanted);
  r.setCounter("chunks", c.chunks);
  r.setCounter("client_junk_bytes", c.junk_bytes);
  r.setCounter("accept_errors", c.accept_errors);
  r.setCounter("blocks_deflated", server_->encoder().deflated());
  r.setCounter("v2_not_paying", server_->encoder().notPaying());
  r.setCounter("segments_in", feed_.segments);
  r.setCounter("files_in", feed_.files);
  r.setCounter("archive_entries_skipped", feed_.archive_entries);
  r.setCounter("files_not_raw", feed_.files_not_raw);
  r.setCounter("bad_messages", feed_.bad_messages);
  r.setCounter("upstream_server_lists", feed_.upstream_lists);
  r.setGauge("clients_active", static_cast<double>(server_->clientsOpen()));
  r.setGauge("clients_streaming", static_cast<double>(server_->clientsStreaming()));
  r.setGauge("clients_streaming_v1", static_cast<double>(server_->clientsStreaming(qbt::Version::kV1)));
  r.setGauge("clients_streaming_v2", static_cast<double>(server_->clientsStreaming(qbt::Version::kV2)));
  r.setGauge("client_queued_bytes", static_cast<double>(server_->queuedBytes()));
  r.setGauge("client_queued_bytes_max", static_cast<double>(server_->maxQueuedBytes()));
  r.setGauge("upstream_age_s", upstreamAge());
  const auto ep = server_->endpoint();
  r.setLabel("listen", fmt::format("{}:{}", ep.address().to_string(), ep.port()));
  r.setLabel("upstream", config_.connect);
}

std::string RelayService::metricsText() {
  runtime::StatsReporter snapshot(runtime_->serviceName(), runtime_->instance(), std::chrono::seconds(2), started_);
  report(snapshot);
  bus::reportSubscriber(snapshot, tap_->stats());
  const emwin::bus::v1::ServiceStats stats = snapshot.build(Clock::now());
  const std::string base =
      fmt::format("service=\"{}\",instance=\"{}\"", labelValue(stats.service()), labelValue(stats.instance()));

  // family -> (type, lines); same naming as emwin-stats: "a.b" -> emwin_a_total{kind="b"}.
  std::map<std::string, std::pair<std::string, std::vector<std::string>>> families;
  auto add = [&](const std::string& raw, double value, bool counter) {
    const auto dot = raw.find('.');
    std::string family = raw.substr(0, dot);
    if (dot == std::string::npos && counter && family.ends_with("_total")) {
      const std::string stem = family.substr(0, family.size() - 6);
      for (const auto& [k, v] : stats.counters()) {
        if (k.starts_with(stem + ".")) return;  // the sum of its kinds: sum() over kind gives it
      }
      family = stem;
    }
    const std::string name = fmt::format("emwin_{}{}", metricName(family), counter ? "_total" : "");
    std::string labels = base;
    if (dot != std::string::npos) labels += fmt::format(",kind=\"{}\"", labelValue(raw.substr(dot + 1)));
    auto& f = families[name];
    f.first = counter ? "counter" : "gauge";
    f.second.push_back(fmt::format("{}{{{}}} {}", name, labels, number(value)));
  };
  for (const auto& [k, v] : stats.counters()) add(k, static_cast<double>(v), true);
  for (const auto& [k, v] : stats.gauges()) add(k, v, false);
  add("up", 1, false);
  add("uptime_seconds", stats.uptime_s(), false);

  for (const ClientInfo& c : server_->clients()) {
    const std::string labels =
        fmt::format("{},client=\"{}\",peer=\"{}\",email=\"{}\",version=\"{}\"", base, c.id, labelValue(c.peer),
                    labelValue(c.email), c.logged_on ? (c.version == qbt::Version::kV2 ? "v2" : "v1") : "");
    auto series = [&](const std::string& name, const char* type, double value) {
      auto& f = families[name];
      f.first = type;
      f.second.push_back(fmt::format("{}{{{}}} {}", name, labels, number(value)));
    };
    series("emwin_relay_client_bytes_sent_total", "counter", static_cast<double>(c.bytes_sent));
    series("emwin_relay_client_frames_sent_total", "counter", static_cast<double>(c.frames_sent));
    series("emwin_relay_client_logons_total", "counter", static_cast<double>(c.logons));
    series("emwin_relay_client_queued_bytes", "gauge", static_cast<double>(c.queued_bytes));
    series("emwin_relay_client_connected_seconds", "gauge", c.connected_s);
  }
  std::string out;
  for (const auto& [name, f] : families) {
    out += "# TYPE " + name + " " + f.first + "\n";
    for (const auto& line : f.second) out += line + "\n";
  }
  return out;
}

std::string RelayService::clientsJson() const {
  nlohmann::json out = nlohmann::json::array();
  for (const ClientInfo& c : server_->clients()) {
    out.push_back({{"id", c.id},
                   {"peer", c.peer},
                   {"email", c.email},
                   {"logged_on", c.logged_on},
                   {"version", c.logged_on ? (c.version == qbt::Version::kV2 ? "V2" : "V1") : ""},
                   {"connected_s", c.connected_s},
                   {"logons", c.logons},
                   {"bytes_sent", c.bytes_sent},
                   {"frames_sent", c.frames_sent},
                   {"queued_bytes", c.queued_bytes}});
  }
  return out.dump(1);
}

void RelayService::stop(service::Runtime&) {
  if (http_) http_->close();
  if (server_) {
    const ServerCounters& c = server_->counters();
    log_->info("stopping: {} client(s) streaming, {} bytes sent to clients, {} of {} tap message(s) missed",
               server_->clientsStreaming(), c.bytes_sent, tap_ ? tap_->stats().missed : 0, feed_.messages);
    server_->stop();
  }
}

}  // namespace emwin::relay
