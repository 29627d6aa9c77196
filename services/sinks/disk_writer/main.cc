// emwin-disk-writer: writes every completed product under --out, atomically.
#include <iostream>

#include <CLI/CLI.hpp>

#include "disk_writer_service.h"
#include "runtime/log.h"
#include "runtime/signals.h"

int main(int argc, char** argv) {
  emwin::sinks::DiskWriterOptions o;
  std::string log_level = "info";
  CLI::App app{"emwin-disk-writer: writes completed EMWIN products to disk (one replica of a group)"};
  app.add_option("--connect", o.connect, "Assembler pipeline endpoint")->envname("EMWIN_CONNECT")->capture_default_str();
  app.add_option("--out", o.out, "Output root directory")->envname("EMWIN_OUT")->capture_default_str();
  app.add_option("--group", o.group, "Consumer group (replicas of one group share the files)")
      ->envname("EMWIN_GROUP")->capture_default_str();
  app.add_option("--replica", o.replica, "Replica id, unique in the group (default: <instance>-<pid>)")
      ->envname("EMWIN_REPLICA");
  app.add_option("--instance", o.instance, "Instance name for stats (default: hostname)")->envname("EMWIN_INSTANCE");
  app.add_option("--state-dir", o.state_dir, "Directory for the replay position (recovery after restart)")
      ->envname("EMWIN_STATE_DIR");
  app.add_option("--stats-connect", o.stats_connect, "Stats intake endpoint ('' = none)")
      ->envname("EMWIN_STATS_CONNECT")->capture_default_str();
  app.add_flag("--sidecar", o.sidecar, "Write <file>.json metadata beside each file")->envname("EMWIN_SIDECAR");
  app.add_flag("!--no-fsync", o.fsync, "Skip fsync (faster, less durable)")->envname("EMWIN_NO_FSYNC");
  app.add_option("--credit", o.credit, "Files in flight to this replica")->envname("EMWIN_CREDIT")->capture_default_str();
  app.add_option("--slow-ms", o.slow_ms, "Test aid: extra delay per file")->envname("EMWIN_SLOW_MS");
  app.add_option("--stats-interval-ms", o.stats_interval_ms, "Stats publishing interval")
      ->envname("EMWIN_STATS_INTERVAL_MS")->capture_default_str();
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")->envname("EMWIN_LOG_LEVEL")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (!emwin::runtime::setLogLevel(log_level)) {
    std::cerr << "emwin-disk-writer: unknown --log-level '" << log_level << "'\n";
    return 2;
  }
  if (o.out.empty()) {
    std::cerr << "emwin-disk-writer: --out must not be empty\n";
    return 2;
  }
  try {
    emwin::runtime::installStopSignals();
    zmq::context_t context(1);
    emwin::sinks::DiskWriterService service(context, o);
    return service.run();
  } catch (const std::exception& e) {
    emwin::runtime::logger("disk-writer")->critical("cannot run: {}", e.what());
    return 2;
  }
}
