// emwin-e2e-probe: tap subscriber for the end-to-end benchmark (bench/e2e/run).
//
// Normal mode: receives from the given tap endpoints and writes one
// tab-separated line per completed file / alert with its arrival time
// (system clock, microseconds since the epoch, comparable with the
// simulator's manifest `last_block_sent_unix_us` on the same machine):
//   F <recv_us> <fd_unix_s> <filename> <sha256> <origin> <produced_us>
//   A <recv_us> <filename> <file_sha256> <produced_us>
// Stall mode (--stall): connects but reads nothing until SIGINT/SIGTERM, then
// drains what is queued and reports how much the tap dropped (sequence gaps).
// Normal mode prints "producer <id>" the first time a producer is heard (any
// topic; subscribe to everything so the periodic stats messages announce the
// connection before data flows). In both modes the Subscriber's counters are printed as one JSON line on
// stdout at exit.
//
// Thread-safety: single-threaded program.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "bus/bus.h"
#include "bus/security.h"
#include "emwin/bus/v1/alert.pb.h"
#include "emwin/bus/v1/file.pb.h"
#include "runtime/signals.h"

namespace {

std::int64_t nowUnixUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void printStats(const emwin::bus::SubscriberStats& s, std::uint64_t files, std::uint64_t alerts) {
  std::printf(
      "{\"received\":%llu,\"files\":%llu,\"alerts\":%llu,\"gaps\":%llu,\"missed\":%llu,\"duplicates\":%llu,"
      "\"bad_payloads\":%llu}\n",
      static_cast<unsigned long long>(s.received), static_cast<unsigned long long>(files),
      static_cast<unsigned long long>(alerts), static_cast<unsigned long long>(s.gaps),
      static_cast<unsigned long long>(s.missed), static_cast<unsigned long long>(s.duplicates),
      static_cast<unsigned long long>(s.bad_payloads));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"emwin-e2e-probe: timestamp file.* and alert.* arrivals (end-to-end benchmark)"};
  std::vector<std::string> endpoints;
  std::vector<std::string> topics;
  std::string out_path;
  bool stall = false;
  int hwm = 100000;
  app.add_option("--connect", endpoints, "tap endpoint(s)")->required();
  app.add_option("--topic", topics, "topic prefixes (default: all)");
  app.add_option("--out", out_path, "arrival lines go here (normal mode)");
  app.add_flag("--stall", stall, "read nothing until SIGTERM, then drain and count gaps");
  app.add_option("--hwm", hwm, "receive high-water mark")->capture_default_str();
  std::string keys_dir;
  std::string key_name = "tail";
  app.add_option("--keys", keys_dir, "keys directory (CURVE): the bus's public key and our own pair");
  app.add_option("--key-name", key_name, "our key pair in --keys (an identity allowed to read taps)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  emwin::bus::BusSecurity security;
  if (!keys_dir.empty()) {
    std::string error;
    auto server = emwin::bus::readKeyFile(keys_dir + "/bus.pub", &error);
    auto own = server ? emwin::bus::readKeyFile(keys_dir + "/" + key_name + ".key", &error) : std::nullopt;
    if (!server || !own) {
      std::cerr << "emwin-e2e-probe: --keys: " << error << "\n";
      return 2;
    }
    security.server.public_key = server->public_key;
    security.own = *own;
  }
  emwin::runtime::installStopSignals();

  zmq::context_t context;
  emwin::bus::SubscriberOptions options;
  options.mode = emwin::bus::Mode::kTap;
  options.endpoints = endpoints;
  options.topic_prefixes = topics;
  options.receive_hwm = hwm;
  if (!keys_dir.empty()) options.security = &security;
  std::optional<emwin::bus::Subscriber> sub;
  try {
    sub.emplace(context, options);
  } catch (const zmq::error_t& e) {
    std::cerr << "emwin-e2e-probe: " << e.what() << "\n";
    return 2;
  }
  std::printf("ready\n");
  std::fflush(stdout);

  if (stall) {
    while (!emwin::runtime::stopRequested()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    // Drain what the socket queued meanwhile; the sequence gaps are what the tap dropped.
    while (sub->receive(std::chrono::milliseconds(300))) {
    }
    printStats(sub->stats(), 0, 0);
    return 0;
  }

  std::ofstream out;
  if (!out_path.empty()) {
    out.open(out_path, std::ios::out | std::ios::trunc);
    if (!out) {
      std::cerr << "emwin-e2e-probe: cannot open " << out_path << "\n";
      return 2;
    }
  }
  std::uint64_t files = 0, alerts = 0;
  std::set<std::string> producers;  // announced once each, so the runner knows the taps are connected
  emwin::bus::v1::CompletedFile file;
  emwin::bus::v1::Alert alert;
  while (!emwin::runtime::stopRequested()) {
    auto msg = sub->receive(std::chrono::milliseconds(100));
    if (!msg) continue;
    const std::int64_t t = nowUnixUs();
    if (producers.insert(msg->header.producer_id()).second) {
      std::printf("producer %s\n", msg->header.producer_id().c_str());
      std::fflush(stdout);
    }
    if (msg->topic.starts_with("file.")) {
      if (!file.ParseFromString(msg->payload)) continue;
      ++files;
      if (out.is_open()) {
        out << "F\t" << t << '\t' << file.fd_unix_s() << '\t' << file.filename() << '\t' << file.sha256() << '\t'
            << static_cast<int>(file.origin()) << '\t' << file.header().produced_unix_us() << '\n';
      }
    } else if (msg->topic.starts_with("alert.")) {
      if (!alert.ParseFromString(msg->payload)) continue;
      ++alerts;
      if (out.is_open()) {
        out << "A\t" << t << '\t' << alert.filename() << '\t' << alert.file_sha256() << '\t'
            << alert.header().produced_unix_us() << '\n';
      }
    }
  }
  out.flush();
  printStats(sub->stats(), files, alerts);
  return 0;
}
