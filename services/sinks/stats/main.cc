// emwin-stats: aggregates every service's stats; serves /metrics and /healthz.
#include <iostream>

#include <CLI/CLI.hpp>

#include "runtime/log.h"
#include "runtime/signals.h"
#include "stats_service.h"

int main(int argc, char** argv) {
  emwin::sinks::StatsOptions o;
  std::string log_level = "info";
  CLI::App app{"emwin-stats: aggregates emwin-bus service stats; Prometheus /metrics"};
  app.add_option("--connect", o.connect, "Producer tap endpoint to follow (repeatable)")
      ->envname("EMWIN_CONNECT")->delimiter(',');
  app.add_option("--intake", o.intake, "SUB bind endpoint for pushed stats ('' = none)")
      ->envname("EMWIN_INTAKE")->capture_default_str();
  app.add_option("--pub", o.pub, "Tap endpoint for stats.summary")->envname("EMWIN_PUB")->capture_default_str();
  app.add_option("--http", o.http, "host:port for /metrics and /healthz ('' = none)")
      ->envname("EMWIN_HTTP")->capture_default_str();
  app.add_option("--instance", o.instance, "Instance name (default: hostname)")->envname("EMWIN_INSTANCE");
  app.add_option("--stats-interval-ms", o.summary_interval_ms, "stats.summary interval")
      ->envname("EMWIN_STATS_INTERVAL_MS")->capture_default_str();
  app.add_option("--stale-after-ms", o.stale_after_ms, "A service silent this long is reported down")
      ->envname("EMWIN_STALE_AFTER_MS")->capture_default_str();
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")->envname("EMWIN_LOG_LEVEL")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (!emwin::runtime::setLogLevel(log_level)) {
    std::cerr << "emwin-stats: unknown --log-level '" << log_level << "'\n";
    return 2;
  }
  try {
    emwin::runtime::installStopSignals();
    zmq::context_t context(1);
    emwin::sinks::StatsService service(context, o);
    service.start();
    return service.run();
  } catch (const std::exception& e) {
    emwin::runtime::logger("stats")->critical("cannot run: {}", e.what());
    return 2;
  }
}
