#include "gateway_service.h"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "archive/database_url.h"
#include "archive/reader.h"
#include "bus/topics.h"
#include "http/metrics.h"
#include "http/static_files.h"
#include "products/product.h"
#include "web_assets.h"

namespace emwin::gateway {
namespace v1 = emwin::bus::v1;
namespace {

using Clock = std::chrono::steady_clock;

http::Response jsonResponse(int status, const Json& body) {
  http::Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  r.body += '\n';
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

http::Response errorResponse(int status, const std::string& message) {
  return jsonResponse(status, Json{{"error", message}, {"status", status}});
}

std::uint64_t nowUs() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

CLI::Validator optionalHostPort() {
  return CLI::Validator(
      [](std::string& v) {
        std::string copy = v;
        return runtime::HostPort(true)(copy);
      },
      "HOST:PORT", "HostPort");
}

CLI::Validator optionalConnect() { return runtime::ConnectEndpoint(true); }

}  // namespace

// One tap the gateway follows.
struct GatewayService::Input {
  std::string name;       // "alerts", "files", "stats"
  std::string option;     // "--alerts"
  std::string endpoint;
  bus::TapSubscriber* tap = nullptr;
  Clock::time_point last_message{};
  bool heard = false;
  std::uint64_t messages = 0;
  std::uint64_t bad_payloads = 0;
};

void addGatewayOptions(runtime::Cli& cli, GatewayOptions& o) {
  cli.option("--alerts", o.alerts, "alert classifier tap to follow ('' = none)")->check(optionalConnect());
  cli.option("--files", o.files, "assembler tap to follow for file events and /files ('' = none)")
      ->check(optionalConnect());
  cli.option("--stats", o.stats, "emwin-stats tap to follow for stats.summary ('' = none)")->check(optionalConnect());
  cli.option("--http", o.http, "host:port to serve HTTP, SSE and WebSocket on (port 0 = any)")
      ->check(optionalHostPort());
  cli.option("--clock", o.clock, "time of /alerts/active: now, or feed (the latest product seen; for replays)")
      ->check(CLI::IsMember({"now", "feed"}));
  cli.option("--max-clients", o.max_clients, "SSE and WebSocket clients at once (more get 503)")
      ->check(runtime::UIntRange(1, 1'000'000));
  cli.option("--client-queue", o.client_queue, "messages queued per client before it is disconnected")
      ->check(runtime::UIntRange(2, 1'000'000));
  cli.option("--client-queue-kb", o.client_queue_kb, "kilobytes queued per client before it is disconnected")
      ->check(runtime::UIntRange(1, 1'048'576));
  cli.option("--write-timeout-ms", o.write_timeout_ms, "a client write pending this long disconnects it")
      ->check(runtime::IntRange(100, 3'600'000));
  cli.option("--client-sndbuf-kb", o.client_sndbuf_kb,
             "kernel send buffer of each client socket, KiB (0 = autotuned; small values bound kernel memory)")
      ->check(runtime::UIntRange(0, 65'536));
  cli.option("--heartbeat-ms", o.heartbeat_ms, "heartbeat on idle streams (SSE comment, WebSocket ping)")
      ->check(runtime::IntRange(100, 3'600'000));
  cli.option("--retention", o.retention, "events kept for Last-Event-ID resume")
      ->check(runtime::UIntRange(1, 10'000'000));
  cli.option("--retention-mb", o.retention_mb, "megabytes of events kept for resume")
      ->check(runtime::UIntRange(1, 65'536));
  cli.option("--files-max", o.files_max, "files kept in memory for /files")->check(runtime::UIntRange(1, 1'000'000));
  cli.option("--files-mb", o.files_mb, "megabytes of files kept in memory")->check(runtime::UIntRange(1, 65'536));
  cli.option("--file-max-mb", o.file_max_mb, "largest single file kept")->check(runtime::UIntRange(1, 65'536));
  cli.option("--state-dir", o.state_dir, "keep the active alerts here across restarts ('' = not kept)");
  cli.option("--snapshot-interval-s", o.snapshot_interval_s, "save the active alerts this often")
      ->check(runtime::IntRange(1, 86'400));
  cli.option("--archive-db", o.archive_db,
             "at start, take the active alerts from this emwin-archive database (sqlite:PATH or postgresql://...; "
             "wins over the --state-dir snapshot; '' = none)")
      ->check(CLI::Validator(
          [](std::string& v) {
            std::string error;
            if (v.empty() || archive::parseDatabaseUrl(v, error)) return std::string();
            return error;
          },
          "URL"));
  cli.option("--cors", o.cors, "Access-Control-Allow-Origin sent with every response ('' = none)");
  http::addAccessOptions(cli, o.http_access,
                         "bearer token required on HTTP (repeatable; env comma-separated; browsers pass ?access_token=)");
  cli.option("--stale-after-s", o.stale_after_s, "/healthz fails when a followed tap is silent this long")
      ->check(runtime::IntRange(1, 86'400));
  cli.option("--tap-hwm", o.tap_hwm, "receive high-water mark of each tap (messages)")
      ->check(runtime::IntRange(100, 10'000'000));
  cli.option("--sse-retry-ms", o.sse_retry_ms, "reconnect delay told to SSE clients")
      ->check(runtime::IntRange(100, 600'000));
}

GatewayService::GatewayService(GatewayOptions options)
    : options_(std::move(options)),
      files_(options_.files_max, options_.files_mb << 20, options_.file_max_mb << 20),
      latest_stats_(nullptr) {}

GatewayService::~GatewayService() = default;

int GatewayService::httpPort() const { return http_ ? http_->port() : 0; }

void GatewayService::start(service::Runtime& rt) {
  runtime_ = &rt;
  started_ = Clock::now();
  epoch_ = nowUs();
  if (!options_.state_dir.empty()) {
    runtime::checkWritableDir("--state-dir", options_.state_dir);
    std::error_code ec;
    std::filesystem::create_directories(options_.state_dir, ec);
    if (ec) throw runtime::ConfigError("--state-dir", "cannot create " + options_.state_dir + ": " + ec.message());
  }
  // Each stream is a descriptor: make room for max_clients of them.
  open_file_limit_ = http::raiseOpenFileLimit(options_.max_clients + 256);
  if (open_file_limit_ < options_.max_clients + 64) {
    rt.log()->warn("open-file limit is {} (hard limit): fewer than --max-clients {} streams can be served",
                   open_file_limit_, options_.max_clients);
  }
  HubOptions ho;
  ho.max_clients = options_.max_clients;
  ho.retention_events = options_.retention;
  ho.retention_bytes = options_.retention_mb << 20;
  hub_ = std::make_unique<Hub>(ho, epoch_);
  active_ = std::make_unique<ActiveAlerts>();
  loadSnapshot();
  loadArchive();

  if (!options_.http.empty()) {
    http::ServerOptions so;
    so.listen = options_.http;
    so.max_connections = 4096;  // ordinary requests; streams are bounded by --max-clients
    if (!options_.cors.empty()) so.headers.emplace_back("Access-Control-Allow-Origin", options_.cors);
    try {
      http_ = std::make_unique<http::Server>(rt.io(), so);
    } catch (const boost::system::system_error& e) {
      throw runtime::ConfigError("--http", "cannot listen on " + options_.http + ": " + e.code().message());
    } catch (const std::exception& e) {
      throw runtime::ConfigError("--http", "cannot listen on " + options_.http + ": " + e.what());
    }
    if (options_.http_access.enabled()) {
      http::AccessOptions ao = options_.http_access.guardOptions();
      // The page's own files are code, not data: open, so that a browser given
      // /?access_token=... can load them; its API calls carry the token.
      for (const auto& f : kWebFiles) ao.open_paths.emplace_back(f.path);
      guard_ = std::make_unique<http::AccessGuard>(ao);
      http_->guard([this](const http::Request& r) -> std::optional<http::Response> {
        // EventSource cannot set headers: a token may come as ?access_token=.
        if (auto t = r.param("access_token"); t && r.header("authorization").empty()) {
          http::Request copy = r;
          copy.headers["authorization"] = "Bearer " + *t;
          return guard_->check(copy);
        }
        return guard_->check(r);
      });
    }
    routes();
  }

  auto follow = [&](const std::string& name, const std::string& option, const std::string& endpoint,
                    std::vector<std::string> prefixes, void (GatewayService::*handler)(Input&, const bus::Received&)) {
    if (endpoint.empty()) return;
    auto in = std::make_unique<Input>();
    in->name = name;
    in->option = option;
    in->endpoint = endpoint;
    Input* raw = in.get();
    bus::TapSubscriberOptions t;
    t.endpoints = {endpoint};
    t.topic_prefixes = std::move(prefixes);
    t.receive_hwm = options_.tap_hwm;
    raw->tap = &rt.tapInput(
        t,
        [this, raw, handler](bus::Received&& m) {
          raw->last_message = Clock::now();
          raw->heard = true;
          ++raw->messages;
          (this->*handler)(*raw, m);
        },
        option);
    inputs_.push_back(std::move(in));
  };
  // Each tap's own stats.* (every couple of seconds) tells that it is alive.
  follow("alerts", "--alerts", options_.alerts, {"alert.", "test.alert.", "stats."}, &GatewayService::onAlert);
  follow("files", "--files", options_.files, {"file.", "stats."}, &GatewayService::onFile);
  follow("stats", "--stats", options_.stats, {"stats."}, &GatewayService::onStats);

  rt.every(std::chrono::milliseconds(500), [this] { hub_->tick(Clock::now()); });
  if (!options_.state_dir.empty()) {
    rt.every(std::chrono::seconds(options_.snapshot_interval_s), [this] { saveSnapshot(); });
  }
  rt.log()->info("gateway listening on http://{}/ (alerts {}, files {}, stats {}; clock {}; open-file limit {})",
                 http_ ? http_->address() : std::string("-"), options_.alerts.empty() ? "-" : options_.alerts,
                 options_.files.empty() ? "-" : options_.files, options_.stats.empty() ? "-" : options_.stats,
                 options_.clock, open_file_limit_);
}

void GatewayService::stop(service::Runtime&) {
  if (http_) http_->close();
  if (hub_) hub_->closeAll();
  saveSnapshot();
}

std::int64_t GatewayService::clockNow() const {
  if (options_.clock == "feed" && active_->feedTime() > 0) return active_->feedTime();
  return static_cast<std::int64_t>(std::time(nullptr));
}

std::string GatewayService::snapshotPath() const { return options_.state_dir + "/active-alerts.json"; }

void GatewayService::saveSnapshot() {
  if (options_.state_dir.empty() || !active_) return;
  std::string error;
  if (!active_->save(snapshotPath(), error)) {
    ++snapshot_errors_;
    runtime_->log()->warn("cannot save the active alerts: {} ({} so far)", error, snapshot_errors_);
  }
}

void GatewayService::loadSnapshot() {
  if (options_.state_dir.empty()) return;
  if (!std::filesystem::exists(snapshotPath())) return;
  std::string error;
  if (active_->load(snapshotPath(), error)) {
    runtime_->log()->info("active alerts restored from {}: {} events", snapshotPath(), active_->stats().events);
  } else {
    ++snapshot_errors_;
    runtime_->log()->warn("starting without the saved active alerts: {}", error);
  }
}

void GatewayService::loadArchive() {
  if (options_.archive_db.empty()) return;
  std::string error;
  try {
    auto reader = archive::Reader::open(options_.archive_db);
    if (active_->loadArchive(*reader, error)) {
      runtime_->log()->info("active alerts restored from the archive {}: {} events, feed time {}",
                            reader->database().url().display, active_->stats().events,
                            active_->feedTime() == 0 ? std::string("none") : products::isoUtc(active_->feedTime()));
      return;
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  ++snapshot_errors_;
  runtime_->log()->warn("starting without the archive's active alerts ({}): {}", options_.archive_db, error);
}

void GatewayService::countBad(Input& input, const char* what, const std::string& topic) {
  ++input.bad_payloads;
  // One line for the first few, then every 1000th: bad input is counted, never a flood.
  if (input.bad_payloads <= 5 || input.bad_payloads % 1000 == 0) {
    runtime_->log()->warn("{} tap: ignoring a message on '{}' that is not a valid {} ({} so far)", input.name, topic,
                          what, input.bad_payloads);
  }
}

// ---------------------------------------------------------------- bus input

void GatewayService::onAlert(Input& input, const bus::Received& m) {
  if (m.topic.rfind("stats.", 0) == 0) return;  // the classifier's own stats: liveness only
  v1::Alert alert;
  if (m.header.payload_type() != v1::Alert::descriptor()->full_name() || !alert.ParseFromString(m.payload)) {
    countBad(input, "Alert", m.topic);
    return;
  }
  const std::string key = active_->apply(alert);
  hub_->publish(EventKind::kAlert, alertFacts(alert, m.topic), alertJson(alert, m.topic, key));
}

void GatewayService::onFile(Input& input, const bus::Received& m) {
  if (m.topic.rfind("stats.", 0) == 0) return;
  v1::CompletedFile file;
  if (m.header.payload_type() != v1::CompletedFile::descriptor()->full_name() || !file.ParseFromString(m.payload)) {
    countBad(input, "CompletedFile", m.topic);
    return;
  }
  const FileHeading heading = readHeading(file);
  const bool safe = FileIndex::validName(file.filename());
  Json body = fileJson(file, m.topic, heading, false);
  EventFacts facts = fileFacts(file, m.topic, heading);
  if (!safe) {
    ++files_bad_name_;
    if (files_bad_name_ <= 5 || files_bad_name_ % 1000 == 0) {
      runtime_->log()->warn("files tap: not offering '{}' for download: not a safe file name ({} so far)",
                            file.filename().substr(0, 200), files_bad_name_);
    }
  } else {
    StoredFile stored;
    stored.name = file.filename();
    stored.sha256 = file.sha256();
    stored.facts = facts;
    body["url"] = "/files/" + file.filename();
    stored.meta = body;
    stored.data = std::move(*file.mutable_data());
    switch (files_.add(std::move(stored))) {
      case FileAdd::kStored:
      case FileAdd::kReplaced:
        ++files_stored_;
        break;
      case FileAdd::kTooLarge:
        ++files_too_large_;
        body["url"] = nullptr;
        break;
      case FileAdd::kBadName:
        ++files_bad_name_;
        body["url"] = nullptr;
        break;
    }
  }
  hub_->publish(EventKind::kFile, std::move(facts), body);
}

void GatewayService::onStats(Input& input, const bus::Received& m) {
  if (m.topic != bus::topics::kStatsSummary) return;  // emwin-stats' own ServiceStats: liveness only
  v1::StatsSummary summary;
  if (m.header.payload_type() != v1::StatsSummary::descriptor()->full_name() || !summary.ParseFromString(m.payload)) {
    countBad(input, "StatsSummary", m.topic);
    return;
  }
  latest_stats_ = statsJson(summary);
  EventFacts facts;
  facts.topic = m.topic;
  hub_->broadcast(EventKind::kStats, facts, latest_stats_);
}

// ---------------------------------------------------------------- HTTP

void GatewayService::routes() {
  http::serveStatic(*http_, kWebFiles);
  http_->takeOver("/events", [this](http::beast::tcp_stream&& s, http::BeastRequest&& raw, const http::Request& req) {
    openStream(std::move(s), std::move(raw), req, false);
  });
  http_->takeOver("/ws", [this](http::beast::tcp_stream&& s, http::BeastRequest&& raw, const http::Request& req) {
    openStream(std::move(s), std::move(raw), req, true);
  });
  http_->get("/healthz", [this](const http::Request&) { return health(); });
  http_->get("/metrics", [this](const http::Request&) { return metrics(); });
  http_->get("/stats", [this](const http::Request&) { return jsonResponse(200, latest_stats_); });
  http_->get("/files", [this](const http::Request& r) { return fileList(r); });
  http_->getPrefix("/files/", [this](const http::Request& r) { return fileDownload(r); });
  http_->get("/alerts/active", [this](const http::Request& r) { return activeAlerts(r); });
  http_->getPrefix("/alerts/", [this](const http::Request& r) { return alertByKey(r); });
}

void GatewayService::openStream(http::beast::tcp_stream&& stream, http::BeastRequest&& raw, const http::Request& req,
                                bool websocket) {
  auto refuse = [&](int status, const std::string& message) {
    ++bad_requests_;
    http::Response r = errorResponse(status, message);
    if (!options_.cors.empty()) r.headers.emplace_back("Access-Control-Allow-Origin", options_.cors);
    http::writeResponse(std::move(stream), raw, std::move(r));
  };
  if (websocket && !http::isWebSocketUpgrade(raw)) {
    refuse(426, "/ws is a WebSocket endpoint (Upgrade: websocket); use /events for Server-Sent Events");
    return;
  }
  std::string error;
  auto filter = Filter::parse(req, error, {"last_event_id", "access_token"});
  if (!filter) {
    refuse(400, error);
    return;
  }
  if (hub_->full()) {
    ++refused_full_;
    --bad_requests_;
    refuse(503, "too many clients (--max-clients " + std::to_string(options_.max_clients) + ")");
    return;
  }
  std::optional<std::string> last_id;
  if (auto h = req.header("last-event-id"); !h.empty()) last_id = h;
  if (auto q = req.param("last_event_id")) last_id = *q;
  http::StreamOptions so;
  so.max_queue_messages = options_.client_queue;
  so.max_queue_bytes = options_.client_queue_kb << 10;
  so.write_timeout = std::chrono::milliseconds(options_.write_timeout_ms);
  so.heartbeat = std::chrono::milliseconds(options_.heartbeat_ms);
  so.socket_send_buffer = static_cast<int>(options_.client_sndbuf_kb << 10);
  http::HeaderList headers;
  if (!options_.cors.empty()) headers.emplace_back("Access-Control-Allow-Origin", options_.cors);
  std::shared_ptr<http::StreamConnection> s =
      websocket ? http::startWebSocket(std::move(stream), std::move(raw), so, headers)
                : http::startSse(std::move(stream), raw, so, headers, options_.sse_retry_ms);
  runtime_->log()->debug("{} client {} attached: {}", websocket ? "WebSocket" : "SSE", s->remote(),
                         filter->describe().empty() ? std::string("everything") : filter->describe());
  hub_->attach(std::move(s), std::move(*filter), last_id);
}

namespace {

// Unix seconds from "1714168800", "2024-04-26T22:00Z" or "2024-04-26T22:00:00Z".
std::optional<std::int64_t> parseTime(const std::string& text) {
  if (!text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    try {
      return std::stoll(text);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  char z = 0;
  const int n = std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &sec, &z);
  if (n == 7 && z == 'Z') {
  } else if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d%c", &y, &mo, &d, &h, &mi, &z) == 6 && z == 'Z') {
    sec = 0;
  } else {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace

http::Response GatewayService::activeAlerts(const http::Request& request) {
  std::string error;
  auto filter = Filter::parse(request, error, {"at", "pending", "access_token"});
  if (!filter) {
    ++bad_requests_;
    return errorResponse(400, error);
  }
  std::int64_t at = clockNow();
  std::string clock = options_.clock;
  if (auto a = request.param("at")) {
    auto t = parseTime(*a);
    if (!t) {
      ++bad_requests_;
      return errorResponse(400, "bad at '" + *a + "': want Unix seconds or YYYY-MM-DDTHH:MMZ");
    }
    at = *t;
    clock = "at";
  }
  bool pending = false;
  if (auto p = request.param("pending")) pending = *p == "true" || *p == "1" || *p == "yes";
  Json alerts = active_->query(*filter, at, pending, [this](const std::string& name) {
    return files_.find(name) != nullptr ? "/files/" + name : std::string();
  });
  Json body = Json::object();
  body["at"] = isoTime(at);
  body["at_unix_s"] = at;
  body["clock"] = clock;
  body["filter"] = filter->describe();
  body["count"] = alerts.size();
  body["alerts"] = std::move(alerts);
  return jsonResponse(200, body);
}

http::Response GatewayService::alertByKey(const http::Request& request) {
  const std::string key = request.path.substr(std::string_view("/alerts/").size());
  if (key.empty() || key.size() > 128 || !alerts::EventKey::parse(key)) {
    ++bad_requests_;
    return errorResponse(400, "bad event key '" + key.substr(0, 128) +
                                  "': want office.phenomenon.significance.ETN.year, e.g. KDMX.TO.W.0042.2025");
  }
  auto event = active_->event(key, clockNow());
  if (!event) return errorResponse(404, "no event " + key + " (never seen, or ended long ago)");
  return jsonResponse(200, *event);
}

http::Response GatewayService::fileList(const http::Request& request) {
  std::string error;
  auto filter = Filter::parse(request, error, {"limit", "access_token"});
  if (!filter) {
    ++bad_requests_;
    return errorResponse(400, error);
  }
  std::size_t limit = 100;
  if (auto l = request.param("limit")) {
    try {
      std::size_t pos = 0;
      const long long v = std::stoll(*l, &pos);
      if (pos != l->size() || v < 1) throw std::invalid_argument("range");
      limit = static_cast<std::size_t>(v);
    } catch (const std::exception&) {
      ++bad_requests_;
      return errorResponse(400, "bad limit '" + *l + "': want a positive number");
    }
  }
  Json list = Json::array();
  for (const StoredFile* f : files_.recent(files_.size())) {
    if (list.size() >= limit) break;
    if (!filter->matches(f->facts)) continue;
    list.push_back(f->meta);
  }
  Json body = Json::object();
  body["count"] = list.size();
  body["held"] = files_.size();
  body["held_bytes"] = files_.bytes();
  body["max_files"] = files_.maxFiles();
  body["max_bytes"] = files_.maxBytes();
  body["files"] = std::move(list);
  return jsonResponse(200, body);
}

http::Response GatewayService::fileDownload(const http::Request& request) {
  const std::string name = request.path.substr(std::string_view("/files/").size());
  if (!FileIndex::validName(name)) {
    ++bad_requests_;
    return errorResponse(400, "bad file name: want one name of letters, digits, '.', '_' or '-'");
  }
  const StoredFile* f = files_.find(name);
  if (f == nullptr) return errorResponse(404, "no recent file named " + name + " (see /files)");
  http::Response r;
  r.content_type = FileIndex::contentType(name);
  r.body = f->data;
  r.headers.emplace_back("Content-Disposition", "inline; filename=\"" + name + "\"");
  r.headers.emplace_back("ETag", "\"" + f->sha256 + "\"");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

http::Response GatewayService::health() {
  const auto now = Clock::now();
  Json inputs = Json::object();
  bool ok = !runtime_->stopping();
  std::string why;
  for (const auto& in : inputs_) {
    const double age = in->heard ? std::chrono::duration<double>(now - in->last_message).count()
                                 : std::chrono::duration<double>(now - started_).count();
    const bool fresh = age <= options_.stale_after_s;
    if (!fresh) {
      ok = false;
      why += (why.empty() ? "" : "; ") + in->name + " tap " + in->endpoint + " silent for " +
             std::to_string(static_cast<long long>(age)) + " s";
    }
    inputs[in->name] = Json{{"endpoint", in->endpoint},
                            {"heard", in->heard},
                            {"silent_s", age},
                            {"ok", fresh},
                            {"messages", in->messages},
                            {"missed", in->tap->stats().missed}};
  }
  Json body = Json::object();
  body["ok"] = ok;
  if (!why.empty()) body["reason"] = why;
  if (runtime_->stopping()) body["reason"] = "stopping";
  body["clients"] = hub_->clientCount();
  body["uptime_s"] = std::chrono::duration<double>(now - started_).count();
  body["inputs"] = std::move(inputs);
  return jsonResponse(ok ? 200 : 503, body);
}

http::Response GatewayService::metrics() {
  http::MetricsText m("emwin_gateway_");
  const HubStats hs = hub_->stats();
  m.gauge("clients", "open client streams", static_cast<double>(hs.clients_sse), {{"protocol", "sse"}});
  m.gauge("clients", "open client streams", static_cast<double>(hs.clients_ws), {{"protocol", "websocket"}});
  m.gauge("clients_catching_up", "streams reading retained events after a resume",
          static_cast<double>(hs.clients_catching_up));
  m.gauge("max_clients", "streams allowed at once (--max-clients)", static_cast<double>(options_.max_clients));
  m.counter("clients_attached_total", "streams opened", static_cast<double>(hs.attached));
  m.counter("clients_resumed_total", "streams opened with a Last-Event-ID", static_cast<double>(hs.resumed));
  m.counter("clients_refused_total", "streams refused because --max-clients were open",
            static_cast<double>(refused_full_));
  for (http::CloseReason r : http::kCloseReasons) {
    m.counter("clients_closed_total", "streams closed, by reason (queue_full and write_timeout: too slow)",
              static_cast<double>(hs.closed[static_cast<std::size_t>(r)]),
              {{"reason", std::string(http::closeReasonName(r))}});
  }
  for (EventKind k : {EventKind::kAlert, EventKind::kFile, EventKind::kStats}) {
    m.counter("events_total", "events received from the bus and offered to clients, by kind",
              static_cast<double>(hs.events[static_cast<std::size_t>(k)]), {{"kind", std::string(kindName(k))}});
  }
  m.counter("deliveries_total", "messages queued to client streams", static_cast<double>(hs.deliveries));
  m.counter("delivered_bytes_total", "bytes of messages queued to client streams",
            static_cast<double>(hs.delivered_bytes));
  m.counter("gap_notices_total", "gap notices sent to resuming clients that asked for events no longer retained",
            static_cast<double>(hs.gap_notices));
  m.counter("missed_reported_total", "events reported missed in gap notices", static_cast<double>(hs.missed_reported));
  m.counter("resumes_after_restart_total", "resumes with an event id of an earlier gateway process",
            static_cast<double>(hs.restarted_resumes));
  m.gauge("retained_events", "events kept for resume", static_cast<double>(hub_->log().size()));
  m.gauge("retained_bytes", "bytes of events kept for resume", static_cast<double>(hub_->log().bytes()));
  m.counter("retention_evicted_total", "events dropped from the resume log to stay within its bounds",
            static_cast<double>(hub_->log().evicted()));
  for (const auto& in : inputs_) {
    const bus::SubscriberStats& s = in->tap->stats();
    const http::MetricLabels l = {{"tap", in->name}};
    m.counter("bus_received_total", "messages received from the tap", static_cast<double>(s.received), l);
  }
  for (const auto& in : inputs_) {
    m.counter("bus_gaps_total", "gaps in the tap's sequence numbers (messages lost before the gateway)",
              static_cast<double>(in->tap->stats().gaps), {{"tap", in->name}});
  }
  for (const auto& in : inputs_) {
    m.counter("bus_missed_total", "messages the gateway missed on the tap, from the sequence numbers",
              static_cast<double>(in->tap->stats().missed), {{"tap", in->name}});
  }
  for (const auto& in : inputs_) {
    m.counter("bus_bad_payloads_total", "messages that were not the expected protobuf type",
              static_cast<double>(in->bad_payloads + in->tap->stats().bad_payloads), {{"tap", in->name}});
  }
  for (const auto& in : inputs_) {
    const double age = in->heard ? std::chrono::duration<double>(Clock::now() - in->last_message).count() : -1;
    m.gauge("bus_silent_seconds", "seconds since the tap's last message (-1: never heard)", age, {{"tap", in->name}});
  }
  const alerts::ActiveStateStats as = active_->stats();
  m.gauge("active_events", "events held by the active state (in effect, pending or recently ended)",
          static_cast<double>(as.events));
  m.gauge("active_alerts", "events in effect at the gateway's clock",
          static_cast<double>(active_->inEffect(clockNow())));
  m.gauge("clock_unix_seconds", "the time /alerts/active is evaluated at (--clock)", static_cast<double>(clockNow()));
  m.counter("active_updates_total", "alerts offered to the active state, by what it did with them",
            static_cast<double>(active_->applied()), {{"outcome", "applied"}});
  m.counter("active_updates_total", "alerts offered to the active state, by what it did with them",
            static_cast<double>(active_->ignored()), {{"outcome", "ignored"}});
  m.counter("snapshot_errors_total", "failures saving or restoring the active alerts",
            static_cast<double>(snapshot_errors_));
  m.gauge("files_held", "files kept in memory for /files", static_cast<double>(files_.size()));
  m.gauge("files_held_bytes", "bytes of files kept in memory", static_cast<double>(files_.bytes()));
  m.counter("files_stored_total", "files stored for download", static_cast<double>(files_stored_));
  m.counter("files_evicted_total", "files dropped from memory to stay within the bounds",
            static_cast<double>(files_.evicted()));
  m.counter("files_refused_total", "files not offered for download, by reason", static_cast<double>(files_bad_name_),
            {{"reason", "bad_name"}});
  m.counter("files_refused_total", "files not offered for download, by reason", static_cast<double>(files_too_large_),
            {{"reason", "too_large"}});
  const http::ServerStats ss = http_->stats();
  m.counter("http_requests_total", "HTTP requests (streams included)", static_cast<double>(ss.requests));
  m.counter("http_bad_requests_total", "requests refused: bad filters, bad names, unparsable requests",
            static_cast<double>(ss.bad_requests + bad_requests_));
  m.counter("http_not_found_total", "requests for unknown paths", static_cast<double>(ss.not_found));
  m.counter("http_over_capacity_total", "connections refused at the HTTP connection cap",
            static_cast<double>(ss.over_capacity));
  m.gauge("uptime_seconds", "seconds since start", std::chrono::duration<double>(Clock::now() - started_).count());
  http::Response r;
  r.content_type = std::string(http::kPrometheusContentType);
  r.body = m.take();
  return r;
}

void GatewayService::report(runtime::StatsReporter& r) {
  const HubStats hs = hub_->stats();
  r.setGauge("clients", static_cast<double>(hs.clients_sse + hs.clients_ws));
  r.setGauge("clients_sse", static_cast<double>(hs.clients_sse));
  r.setGauge("clients_ws", static_cast<double>(hs.clients_ws));
  r.setCounter("clients_attached", hs.attached);
  r.setCounter("clients_refused", refused_full_);
  for (http::CloseReason reason : http::kCloseReasons) {
    r.setCounter("clients_closed." + std::string(http::closeReasonName(reason)),
                 hs.closed[static_cast<std::size_t>(reason)]);
  }
  r.setCounter("events.alert", hs.events[0]);
  r.setCounter("events.file", hs.events[1]);
  r.setCounter("events.stats", hs.events[2]);
  r.setCounter("deliveries", hs.deliveries);
  r.setCounter("gap_notices", hs.gap_notices);
  r.setCounter("missed_reported", hs.missed_reported);
  r.setGauge("retained_events", static_cast<double>(hub_->log().size()));
  r.setGauge("files_held", static_cast<double>(files_.size()));
  r.setGauge("active_events", static_cast<double>(active_->stats().events));
  r.setCounter("snapshot_errors", snapshot_errors_);
  r.setCounter("files_refused.bad_name", files_bad_name_);
  r.setCounter("files_refused.too_large", files_too_large_);
  std::uint64_t bad = 0;
  for (const auto& in : inputs_) bad += in->bad_payloads;
  r.setCounter("bad_payloads", bad);
  if (http_) r.setCounter("http_requests", http_->stats().requests);
}

}  // namespace emwin::gateway
