// emwin-sim: ByteBlaster server simulator. See docs/simulator.md.
#include <csignal>
#include <cstdio>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "runtime/log.h"
#include "sim_server.h"

int main(int argc, char** argv) {
  emwin::sim::SimOptions o;
  std::string rate = "max";
  bool once = false;
  std::string log_level = "info";
  std::string header_style = "spec";
  CLI::App app{"emwin-sim: a ByteBlaster (QBT) server streaming real products"};
  app.add_option("--listen", o.listen, "host:port to listen on (port 0 = any)")->envname("EMWIN_SIM_LISTEN")->capture_default_str();
  app.add_option("--products", o.products_dir, "directory of products (recursive)")->envname("EMWIN_SIM_PRODUCTS")->capture_default_str();
  app.add_option("--rate", rate, "max | <n>fps | <n>Bps (per client)")->capture_default_str();
  app.add_flag("--loop", o.loop, "repeat the products forever (new /FD stamp per round)");
  app.add_flag("--vary-rounds", o.vary_rounds,
               "with --loop/--count: later rounds append a marker line so every transmission is a distinct product");
  app.add_option("--sndbuf", o.sndbuf, "SO_SNDBUF of each client socket in bytes (0 = kernel default)");
  app.add_option("--header-style", header_style,
                 "spec | compact | npemwin: header layout, V2 suffix and when V2 is used (see docs/simulator.md)")
      ->envname("EMWIN_SIM_HEADER_STYLE")
      ->capture_default_str();
  app.add_option("--count", o.count, "stop after this many products (0 = each once)");
  app.add_flag("--once", once, "send each product once, then idle with FILLFILE (default)");
  app.add_option("--seed", o.seed, "seed for ordering and garbage")->capture_default_str();
  app.add_option("--logon-wait-ms", o.logon_wait_ms, "no logon by then -> V1")->capture_default_str();
  app.add_option("--relogon-timeout-s", o.relogon_timeout_s, "disconnect clients that stop re-sending logon")->capture_default_str();
  app.add_option("--retransmit-delay-s", o.retransmit_delay_s, "warnings are sent again this much later (0 = never)")->capture_default_str();
  app.add_option("--fill-interval-ms", o.fill_interval_ms, "FILLFILE period while idle")->capture_default_str();
  app.add_option("--stats-interval-ms", o.stats_interval_ms, "period of the stats line (0 = at exit only)")->capture_default_str();
  app.add_option("--server-list", o.server_list, "regular servers host:port|host:port (default: this server)");
  app.add_option("--sat-servers", o.sat_servers, "satellite servers host:port+host:port");
  app.add_flag("--no-server-list", o.no_server_list, "send no server-list frame");
  app.add_option("--manifest", o.manifest_path, "write JSON lines of sent products here");
  app.add_option("--corrupt-checksum-every", o.corrupt_checksum_every, "corrupt /CS of every Nth data frame");
  app.add_option("--corrupt-header-every", o.corrupt_header_every, "garble the header of every Nth data frame");
  app.add_option("--garbage-every", o.garbage_every, "random bytes after every Nth data frame");
  app.add_option("--drop-after-bytes", o.drop_after_bytes, "close a client mid-stream after N bytes");
  app.add_option("--stall-after-frames", o.stall_after_frames, "stop sending after N frames, keep the socket open");
  app.add_option("--fault-clients", o.fault_clients, "faults apply to the first N clients only (0 = all)");
  app.add_option("--log-level", log_level, "trace..off")->envname("EMWIN_LOG_LEVEL");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  (void)once;
  if (!emwin::runtime::setLogLevel(log_level)) {
    std::fprintf(stderr, "emwin-sim: unknown --log-level %s\n", log_level.c_str());
    return 2;
  }
  if (!emwin::qbt::parseHeaderStyle(header_style, o.header_style)) {
    std::fprintf(stderr, "emwin-sim: bad --header-style '%s' (spec, compact or npemwin)\n", header_style.c_str());
    return 2;
  }
  if (!emwin::sim::parseRate(rate, o.rate)) {
    std::fprintf(stderr, "emwin-sim: bad --rate '%s' (max, <n>fps or <n>Bps)\n", rate.c_str());
    return 2;
  }
  auto log = emwin::runtime::logger("sim");
  std::string error;
  auto products = emwin::sim::loadProducts(o.products_dir, &error);
  if (products.empty()) {
    std::fprintf(stderr, "emwin-sim: %s\n", error.c_str());
    return 2;
  }
  try {
    asio::io_context io;
    emwin::sim::SimServer server(io, o, std::move(products));
    server.start();
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const asio::error_code& ec, int sig) {
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
