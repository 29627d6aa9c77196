// emwin-assembler: segments in, completed files out.
#include <iostream>

#include <CLI/CLI.hpp>

#include "assembler_service.h"
#include "runtime/log.h"
#include "runtime/options.h"
#include "runtime/signals.h"

int main(int argc, char** argv) {
  using emwin::runtime::withEnv;
  emwin::services::AssemblerOptions o;
  std::string log_level = "info";
  long partial_timeout_s = o.assembly.partial_timeout.count();
  std::size_t max_partial_mb = o.assembly.max_partial_bytes >> 20;
  long dedupe_window_s = o.assembly.dedupe_window.count();
  CLI::App app{"emwin-assembler: reassembles EMWIN files from ingest's segments"};
  withEnv(app.add_option("--connect", o.connect, "Ingest pipeline endpoint")->capture_default_str(), "EMWIN_CONNECT");
  withEnv(app.add_option("--pub", o.pub, "Tap endpoint (PUB bind)")->capture_default_str(), "EMWIN_PUB");
  withEnv(app.add_option("--pipe", o.pipe, "Pipeline endpoint (ROUTER bind)")->capture_default_str(), "EMWIN_PIPE");
  withEnv(app.add_option("--hwm", o.hwm, "Files queued per consumer group before blocking")->capture_default_str(),
          "EMWIN_HWM");
  withEnv(app.add_option("--tap-hwm", o.tap_hwm, "Tap send high-water mark")->capture_default_str(), "EMWIN_TAP_HWM");
  withEnv(app.add_option("--retention", o.retention, "Files retained for replay")->capture_default_str(),
          "EMWIN_RETENTION");
  withEnv(app.add_option("--retention-mb", o.retention_mb, "Megabytes of files retained for replay")
              ->capture_default_str(),
          "EMWIN_RETENTION_MB");
  withEnv(app.add_option("--credit", o.credit, "Segments in flight from ingest")->capture_default_str(), "EMWIN_CREDIT");
  withEnv(app.add_option("--instance", o.instance, "Instance name (default: hostname)"), "EMWIN_INSTANCE");
  withEnv(app.add_option("--state-dir", o.state_dir, "Directory for the replay position"), "EMWIN_STATE_DIR");
  withEnv(app.add_option("--partial-timeout-s", partial_timeout_s, "Give up a partial file after this long")
              ->capture_default_str(),
          "EMWIN_PARTIAL_TIMEOUT_S");
  withEnv(app.add_option("--max-partial-mb", max_partial_mb, "Memory cap for partial files")->capture_default_str(),
          "EMWIN_MAX_PARTIAL_MB");
  withEnv(app.add_option("--dedupe-window-s", dedupe_window_s, "Suppress identical retransmissions within this window")
              ->capture_default_str(),
          "EMWIN_DEDUPE_WINDOW_S");
  withEnv(app.add_option("--stats-interval-ms", o.stats_interval_ms, "Stats interval")->capture_default_str(),
          "EMWIN_STATS_INTERVAL_MS");
  withEnv(app.add_option("--wait-consumers", o.wait_consumers,
                         "Take no segments until this many downstream replicas joined")
              ->capture_default_str(),
          "EMWIN_WAIT_CONSUMERS");
  emwin::runtime::addLogLevelOption(app, log_level);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (!emwin::runtime::applyLogLevel(log_level)) return 2;
  if (partial_timeout_s <= 0 || max_partial_mb == 0 || dedupe_window_s < 0) {
    std::cerr << "emwin-assembler: --partial-timeout-s and --max-partial-mb must be positive\n";
    return 2;
  }
  o.assembly.partial_timeout = std::chrono::seconds(partial_timeout_s);
  o.assembly.max_partial_bytes = max_partial_mb << 20;
  o.assembly.dedupe_window = std::chrono::seconds(dedupe_window_s);
  try {
    emwin::runtime::installStopSignals();
    zmq::context_t context(1);
    emwin::services::AssemblerService service(context, o);
    service.start();
    return service.run();
  } catch (const std::exception& e) {
    emwin::runtime::logger("assembler")->critical("cannot run: {}", e.what());
    return 2;
  }
}
