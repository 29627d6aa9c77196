// emwin-sim: ByteBlaster server simulator. See docs/simulator.md.
#include <csignal>
#include <cstdio>
#include <exception>
#include <string>

#include "runtime/cli.h"
#include "runtime/log.h"
#include "sim_server.h"

int main(int argc, char** argv) {
  using emwin::runtime::IntRange;
  using emwin::runtime::UIntRange;
  emwin::sim::SimOptions o;
  std::string rate = "max";
  bool once = false;
  std::string log_level = "info";
  std::string header_style = "spec";
  emwin::runtime::Cli cli("emwin-sim", "emwin-sim: a ByteBlaster (QBT) server streaming real products");
  // Every option also reads EMWIN_SIM_<NAME> (the simulator shares containers with services).
  auto env = [](const char* flag) { return "EMWIN_SIM_" + emwin::runtime::envNameFor(flag).substr(6); };
  cli.option("--listen", o.listen, "host:port to listen on (port 0 = any)", env("--listen"))
      ->check(emwin::runtime::HostPort(true));
  cli.option("--products", o.products_dir, "directory of products (recursive)", env("--products"))
      ->check(emwin::runtime::ReadableDir());
  cli.option("--rate", rate, "max | <n>fps | <n>Bps (per client)", env("--rate"))
      ->check(CLI::Validator(
          [](std::string& v) {
            emwin::sim::Rate r;
            return emwin::sim::parseRate(v, r) ? std::string() : "'" + v + "' is not max, <n>fps or <n>Bps";
          },
          "RATE", "Rate"));
  cli.flag("--loop", o.loop, "repeat the products forever (new /FD stamp per round)", env("--loop"));
  cli.flag("--vary-rounds", o.vary_rounds,
           "with --loop/--count: later rounds append a marker line so every transmission is a distinct product",
           env("--vary-rounds"));
  cli.option("--sndbuf", o.sndbuf, "SO_SNDBUF of each client socket in bytes (0 = kernel default)", env("--sndbuf"))
      ->check(IntRange(0, 1 << 30));
  cli.option("--header-style", header_style,
             "spec | compact | npemwin: header layout, V2 suffix and when V2 is used (see docs/simulator.md)",
             env("--header-style"))
      ->check(CLI::IsMember({"spec", "compact", "npemwin"}));
  cli.option("--count", o.count, "stop after this many products (0 = each once)", env("--count"));
  cli.flag("--once", once, "send each product once, then idle with FILLFILE (default)", "");
  cli.option("--seed", o.seed, "seed for ordering, garbage and the frames --drop-frames-percent drops", env("--seed"));
  cli.option("--fd-base", o.fd_base,
             "/FD stamp of the first round, Unix seconds (0 = now); sims given the same one send the same stamps",
             env("--fd-base"))
      ->check(IntRange(0, 4'102'444'800));  // up to 2100-01-01
  cli.option("--logon-wait-ms", o.logon_wait_ms, "no logon by then -> V1", env("--logon-wait-ms"))
      ->check(IntRange(0, 3'600'000));
  cli.option("--relogon-timeout-s", o.relogon_timeout_s, "disconnect clients that stop re-sending logon",
             env("--relogon-timeout-s"))
      ->check(IntRange(1, 86'400));
  cli.option("--retransmit-delay-s", o.retransmit_delay_s, "warnings are sent again this much later (0 = never)",
             env("--retransmit-delay-s"))
      ->check(IntRange(0, 86'400));
  cli.option("--fill-interval-ms", o.fill_interval_ms, "FILLFILE period while idle", env("--fill-interval-ms"))
      ->check(IntRange(1, 3'600'000));
  cli.option("--stats-interval-ms", o.stats_interval_ms, "period of the stats line (0 = at exit only)",
             env("--stats-interval-ms"))
      ->check(IntRange(0, 3'600'000));
  cli.option("--server-list", o.server_list, "regular servers host:port|host:port (default: this server)",
             env("--server-list"));
  cli.option("--sat-servers", o.sat_servers, "satellite servers host:port+host:port", env("--sat-servers"));
  cli.flag("--no-server-list", o.no_server_list, "send no server-list frame", env("--no-server-list"));
  cli.option("--manifest", o.manifest_path, "write JSON lines of sent products here (its directory must exist)",
             env("--manifest"))
      ->check(emwin::runtime::WritableFile());
  cli.option("--corrupt-checksum-every", o.corrupt_checksum_every, "corrupt /CS of every Nth data frame", "");
  cli.option("--corrupt-header-every", o.corrupt_header_every, "garble the header of every Nth data frame", "");
  cli.option("--garbage-every", o.garbage_every, "random bytes after every Nth data frame", "");
  cli.option("--drop-after-bytes", o.drop_after_bytes, "close a client mid-stream after N bytes", "");
  cli.option("--stall-after-frames", o.stall_after_frames, "stop sending after N frames, keep the socket open", "");
  cli.option("--drop-frames-percent", o.drop_frames_percent,
             "never send this share (0-100) of product data frames, picked by a hash of --seed and the frame", "")
      ->check(CLI::Range(0.0, 100.0));
  cli.option("--drop-frames-offset", o.drop_frames_offset,
             "where in the hash range the dropped share starts (0-100): offsets 0 and P drop disjoint shares", "")
      ->check(CLI::Range(0.0, 100.0));
  cli.option("--fault-clients", o.fault_clients, "faults apply to the first N clients only (0 = all)", "")
      ->check(IntRange(0, 1'000'000));
  cli.option("--log-level", log_level, "trace, debug, info, warn, error, critical or off", "EMWIN_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  if (auto code = cli.parse(argc, argv)) return *code;
  (void)once;
  emwin::runtime::setLogLevel(log_level);
  emwin::qbt::parseHeaderStyle(header_style, o.header_style);
  emwin::sim::parseRate(rate, o.rate);
  auto log = emwin::runtime::logger("sim");
  std::string error;
  auto products = emwin::sim::loadProducts(o.products_dir, &error);
  if (products.empty()) return cli.fail(emwin::runtime::ConfigError("--products", error));
  try {
    emwin::asio::io_context io;
    emwin::sim::SimServer server(io, o, std::move(products));
    try {
      server.start();
    } catch (const std::exception& e) {
      const std::string what = e.what();
      return cli.fail(emwin::runtime::ConfigError(what.find("manifest") != std::string::npos ? "--manifest" : "--listen",
                                                   what));
    }
    emwin::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const emwin::asio::error_code& ec, int sig) {
      if (ec) return;
      log->info("signal {}: stopping", sig);
      server.stop();
      io.stop();
    });
    std::signal(SIGPIPE, SIG_IGN);
    io.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "emwin-sim: %s\n", e.what());
    return 1;
  }
  return 0;
}
