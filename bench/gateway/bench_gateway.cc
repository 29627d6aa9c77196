// bench_gateway: load client for emwin-gateway (many SSE connections on one
// io_context, no thread per client).
//
//   bench_gateway idle --port P --pid PID --clients 1000
//       opens N idle SSE streams (a filter nothing matches: heartbeats only)
//       and reports the gateway's RSS before and after: RSS per idle client.
//   bench_gateway latency --port P --pid PID --tap tcp://127.0.0.1:T --clients 1000 --rate 200 --seconds 30
//       plays the alert classifier's tap: publishes real alerts (every corpus
//       product classified as the classifier does) at --rate per second, while
//       N SSE clients, each with its own filter (state, county/zone, office,
//       a point inside a real polygon, phenomenon, tier, topic), receive them.
//       Reports delivery latency (publish -> client read) p50/p99/max, the
//       deliveries, and the gateway's CPU (utime+stime) over the run.
//
// Start the gateway with --alerts <the --tap endpoint> (bench/gateway/run does
// all of it). Results go to stdout as one JSON object.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "bus/bus.h"
#include "file_classifier.h"
#include "http/server.h"
#include "runtime/cli.h"
#include "runtime/sha256.h"
#include "service/asio.h"

namespace {

namespace v1 = emwin::bus::v1;
namespace asio = emwin::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

std::int64_t nowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

long rssKib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      long v = 0;
      in >> v;
      return v;
    }
    std::string rest;
    std::getline(in, rest);
  }
  return 0;
}

double cpuSeconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(s.substr(close + 2));
  std::string f;
  std::vector<std::string> fields;
  while (rest >> f) fields.push_back(f);
  // fields[0] is state (field 3); utime is field 14, stime 15.
  if (fields.size() < 13) return 0;
  return (std::stod(fields[11]) + std::stod(fields[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// One SSE client connection.
struct Conn : std::enable_shared_from_this<Conn> {
  Conn(asio::io_context& io, std::string target) : socket(io), target(std::move(target)) {}
  tcp::socket socket;
  std::string target;
  std::string request;
  std::string buffer;
  std::array<char, 16384> chunk{};
  bool open = false;
  bool hello = false;
  std::uint64_t alerts = 0;
};

struct Load {
  asio::io_context io;
  std::vector<std::shared_ptr<Conn>> conns;
  std::vector<std::int64_t> latencies_us;
  bool record = false;
  std::uint64_t hellos = 0;
  std::uint64_t failed = 0;
  std::uint64_t closed = 0;
  std::uint64_t deliveries = 0;

  void read(const std::shared_ptr<Conn>& c) {
    c->socket.async_read_some(asio::buffer(c->chunk), [this, c](const asio::error_code& ec, std::size_t n) {
      if (ec) {
        if (c->open) ++closed;
        c->open = false;
        return;
      }
      const std::int64_t t = nowUs();
      c->buffer.append(c->chunk.data(), n);
      std::size_t end;
      while ((end = c->buffer.find("\n\n")) != std::string::npos) {
        const std::string_view frame(c->buffer.data(), end);
        if (!c->hello && frame.find("event: hello") != std::string_view::npos) {
          c->hello = true;
          ++hellos;
        } else if (frame.rfind("event: alert", 0) == 0) {
          ++c->alerts;
          ++deliveries;
          const auto at = frame.find("\"produced_unix_us\":");
          if (record && at != std::string_view::npos) {
            latencies_us.push_back(t - std::atoll(frame.data() + at + 19));
          }
        }
        c->buffer.erase(0, end + 2);
      }
      read(c);
    });
  }

  // Opens the connections, at most `window` handshakes in flight.
  void connect(int port, const std::vector<std::string>& targets, std::size_t window = 256) {
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
    std::size_t next = 0;
    std::size_t inflight = 0;
    std::function<void()> pump = [&] {
      while (inflight < window && next < targets.size()) {
        auto c = std::make_shared<Conn>(io, targets[next++]);
        conns.push_back(c);
        ++inflight;
        c->socket.async_connect(ep, [&, c](const asio::error_code& ec) {
          if (ec) {
            ++failed;
            --inflight;
            pump();
            return;
          }
          c->open = true;
          c->request = "GET " + c->target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
          asio::async_write(c->socket, asio::buffer(c->request), [&, c](const asio::error_code& wec, std::size_t) {
            --inflight;
            if (wec) {
              ++failed;
            } else {
              read(c);
            }
            pump();
          });
        });
      }
    };
    pump();
    const auto deadline = Clock::now() + std::chrono::seconds(120);
    while (hellos + failed < targets.size() && Clock::now() < deadline) io.run_for(std::chrono::milliseconds(20));
  }
};

std::vector<emwin::sinks::TopicAlert> corpusAlerts(const std::string& corpus) {
  emwin::sinks::FileClassifier classifier;
  std::vector<emwin::sinks::TopicAlert> out;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(corpus + "/products")) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& p : files) {
    std::ifstream in(p, std::ios::binary);
    v1::CompletedFile f;
    f.set_filename(p.filename().string());
    f.set_data(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
    f.set_fd_unix_s(std::time(nullptr));
    for (auto& a : classifier.classify(f).alerts) {
      if (a.topic.rfind("alert.", 0) == 0) out.push_back(std::move(a));  // live alerts only
    }
  }
  return out;
}

// One filter per client, drawn from what the alerts carry.
std::vector<std::string> filtersFor(const std::vector<emwin::sinks::TopicAlert>& alerts, std::size_t n) {
  std::vector<std::string> states, ugcs, offices, phenomena, points;
  std::set<std::string> seen;
  auto add = [&](std::vector<std::string>& v, const std::string& s) {
    if (!s.empty() && seen.insert(s).second) v.push_back(s);
  };
  for (const auto& t : alerts) {
    const auto& a = t.alert;
    for (const auto& u : a.ugc()) {
      add(ugcs, "ugc=" + u);
      add(states, "state=" + u.substr(0, 2));
    }
    add(offices, "office=" + a.office());
    add(phenomena, "phenomenon=" + a.phenomenon());
    if (a.polygon_size() >= 4) {
      double lat = 0, lon = 0;
      for (int i = 0; i + 1 < a.polygon_size(); ++i) {
        lat += a.polygon(i).lat_deg();
        lon += a.polygon(i).lon_deg();
      }
      char buf[96];
      std::snprintf(buf, sizeof buf, "lat=%.4f&lon=%.4f&distance_km=25", lat / (a.polygon_size() - 1),
                    lon / (a.polygon_size() - 1));
      add(points, buf);
    }
  }
  const std::vector<std::string> tiers = {"min_tier=warning", "min_tier=watch", "topic=alert.FL.", "topic=alert.TO.,alert.SV."};
  std::vector<const std::vector<std::string>*> kinds = {&states, &ugcs, &offices, &phenomena, &points, &tiers};
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& v = *kinds[i % kinds.size()];
    out.push_back("/events?" + v[(i / kinds.size()) % v.size()]);
  }
  return out;
}

double percentile(std::vector<std::int64_t>& v, double p) {
  if (v.empty()) return 0;
  const std::size_t k = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]);
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode;
  int port = 0;
  int pid = 0;
  std::size_t clients = 1000;
  std::string tap = "tcp://127.0.0.1:15693";
  double rate = 200;
  int seconds = 30;
  std::string corpus = EMWIN_CORPUS_DIR;
  emwin::runtime::Cli cli("bench_gateway", "load client for emwin-gateway (see the file's header)");
  cli.app().add_option("mode", mode, "idle | latency")->required()->check(CLI::IsMember({"idle", "latency"}));
  cli.option("--port", port, "gateway HTTP port", "")->required();
  cli.option("--pid", pid, "gateway process id (for RSS and CPU)", "")->required();
  cli.option("--clients", clients, "SSE clients", "");
  cli.option("--tap", tap, "latency: tap endpoint to bind (the gateway's --alerts)", "");
  cli.option("--rate", rate, "latency: alerts per second", "");
  cli.option("--seconds", seconds, "latency: measured seconds", "");
  cli.option("--corpus", corpus, "corpus directory", "");
  if (auto code = cli.parse(argc, argv)) return *code;
  const std::uint64_t nofile = emwin::http::raiseOpenFileLimit(clients + 256);
  if (nofile < clients + 64) {
    std::fprintf(stderr, "open-file limit %llu is too low for %zu clients\n", static_cast<unsigned long long>(nofile),
                 clients);
    return 1;
  }
  Load load;
  Json out;
  out["mode"] = mode;
  out["clients"] = clients;
  if (mode == "idle") {
    const long before = rssKib(pid);
    std::vector<std::string> targets(clients, "/events?topic=none.");
    const auto t0 = Clock::now();
    load.connect(port, targets);
    const double connect_s = std::chrono::duration<double>(Clock::now() - t0).count();
    // Let the gateway settle (its stats timer, malloc_trim) while holding every stream.
    for (int i = 0; i < 30; ++i) load.io.run_for(std::chrono::milliseconds(100));
    const long after = rssKib(pid);
    out["connected"] = load.hellos;
    out["failed"] = load.failed;
    out["connect_s"] = connect_s;
    out["rss_before_kib"] = before;
    out["rss_after_kib"] = after;
    out["rss_per_client_bytes"] = load.hellos ? (after - before) * 1024.0 / static_cast<double>(load.hellos) : 0;
    std::printf("%s\n", out.dump().c_str());
    return load.hellos == clients ? 0 : 1;
  }

  // latency
  const auto alerts = corpusAlerts(corpus);
  if (alerts.empty()) {
    std::fprintf(stderr, "no alerts from %s\n", corpus.c_str());
    return 1;
  }
  zmq::context_t ctx(1);
  emwin::bus::PublisherOptions po;
  po.producer_id = "alert-classifier.bench";
  po.tap_endpoint = tap;
  emwin::bus::Publisher pub(ctx, po);
  load.connect(port, filtersFor(alerts, clients));
  out["connected"] = load.hellos;
  out["failed"] = load.failed;
  // The gateway's SUB must be connected before measuring: publish until it has received some.
  std::size_t next = 0;
  auto publishOne = [&] {
    const auto& t = alerts[next++ % alerts.size()];
    v1::Alert a = t.alert;
    pub.publish(t.topic, a);
  };
  for (int i = 0; i < 50; ++i) {
    publishOne();
    load.io.run_for(std::chrono::milliseconds(20));
  }
  load.record = true;
  const std::uint64_t deliveries0 = load.deliveries;
  const double cpu0 = cpuSeconds(pid);
  const long rss0 = rssKib(pid);
  const auto start = Clock::now();
  const auto period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
  auto due = start;
  std::uint64_t published = 0;
  while (Clock::now() - start < std::chrono::seconds(seconds)) {
    while (Clock::now() >= due) {
      publishOne();
      ++published;
      due += period;
    }
    load.io.run_until(std::min(due, start + std::chrono::seconds(seconds)));
  }
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = cpuSeconds(pid) - cpu0;
  for (int i = 0; i < 20; ++i) load.io.run_for(std::chrono::milliseconds(50));  // late deliveries
  load.record = false;
  out["alerts_published"] = published;
  out["alert_rate"] = static_cast<double>(published) / wall;
  out["deliveries"] = load.deliveries - deliveries0;
  out["deliveries_per_s"] = static_cast<double>(load.deliveries - deliveries0) / wall;
  out["gateway_cpu_percent"] = 100.0 * cpu / wall;
  out["gateway_rss_kib"] = rssKib(pid);
  out["gateway_rss_start_kib"] = rss0;
  out["closed_by_gateway"] = load.closed;
  out["latency_p50_ms"] = percentile(load.latencies_us, 0.50) / 1000.0;
  out["latency_p99_ms"] = percentile(load.latencies_us, 0.99) / 1000.0;
  out["latency_max_ms"] = percentile(load.latencies_us, 1.0) / 1000.0;
  out["samples"] = load.latencies_us.size();
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
