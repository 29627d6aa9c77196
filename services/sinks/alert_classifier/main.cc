// emwin-alert-classifier: completed text products in, structured alerts out.
#include <iostream>

#include <CLI/CLI.hpp>

#include "alert_classifier_service.h"
#include "runtime/log.h"
#include "runtime/options.h"
#include "runtime/signals.h"

int main(int argc, char** argv) {
  using emwin::runtime::withEnv;
  emwin::sinks::AlertClassifierOptions o;
  std::string log_level = "info";
  CLI::App app{"emwin-alert-classifier: classifies EMWIN text products and publishes alerts"};
  withEnv(app.add_option("--connect", o.connect, "Assembler pipeline endpoint")->capture_default_str(),
          "EMWIN_CONNECT");
  withEnv(app.add_option("--pub", o.pub, "Tap endpoint (PUB bind)")->capture_default_str(), "EMWIN_PUB");
  withEnv(app.add_option("--pipe", o.pipe, "Pipeline endpoint (ROUTER bind)")->capture_default_str(), "EMWIN_PIPE");
  withEnv(app.add_option("--group", o.group, "Consumer group at the assembler (replicas share files)")
              ->capture_default_str(),
          "EMWIN_GROUP");
  withEnv(app.add_option("--alert-log", o.alert_log, "Append one JSON line per alert to this file"),
          "EMWIN_ALERT_LOG");
  withEnv(app.add_option("--state-dir", o.state_dir, "Directory for the replay position"), "EMWIN_STATE_DIR");
  withEnv(app.add_option("--instance", o.instance, "Instance name (default: hostname)"), "EMWIN_INSTANCE");
  withEnv(app.add_option("--hwm", o.hwm, "Alerts queued per downstream group before blocking")->capture_default_str(),
          "EMWIN_HWM");
  withEnv(app.add_option("--tap-hwm", o.tap_hwm, "Tap send high-water mark")->capture_default_str(), "EMWIN_TAP_HWM");
  withEnv(app.add_option("--retention", o.retention, "Alerts retained for replay")->capture_default_str(),
          "EMWIN_RETENTION");
  withEnv(app.add_option("--retention-mb", o.retention_mb, "Megabytes of alerts retained for replay")
              ->capture_default_str(),
          "EMWIN_RETENTION_MB");
  withEnv(app.add_option("--credit", o.credit, "Files in flight from the assembler")->capture_default_str(),
          "EMWIN_CREDIT");
  withEnv(app.add_option("--stats-interval-ms", o.stats_interval_ms, "Stats interval")->capture_default_str(),
          "EMWIN_STATS_INTERVAL_MS");
  withEnv(app.add_option("--summary-interval-s", o.summary_interval_s,
                          "Seconds between info summaries of the alerts published per tier (warnings are "
                          "logged one by one at debug, emergencies at info)")
              ->capture_default_str(),
          "EMWIN_SUMMARY_INTERVAL_S");
  emwin::runtime::addLogLevelOption(app, log_level);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (!emwin::runtime::applyLogLevel(log_level)) return 2;
  if (o.connect.empty() || o.stats_interval_ms <= 0 || o.hwm == 0 || o.tap_hwm <= 0 || o.credit == 0 ||
      o.group.empty() || o.summary_interval_s <= 0) {
    std::cerr << "emwin-alert-classifier: --connect and --group must not be empty; --stats-interval-ms, --hwm, "
                 "--tap-hwm, --credit and --summary-interval-s must be positive\n";
    return 2;
  }
  try {
    emwin::runtime::installStopSignals();
    zmq::context_t context(1);
    emwin::sinks::AlertClassifierService service(context, o);
    service.start();
    return service.run();
  } catch (const std::exception& e) {
    emwin::runtime::logger("alert-classifier")->critical("cannot run: {}", e.what());
    return 2;
  }
}
