// emwin-archive: every file's metadata, every alert and the VTEC event state in a database.
#include <iostream>

#include "archive_service.h"

int main(int argc, char** argv) {
  emwin::service::CommonOptions common;
  common.stats_connect = "tcp://127.0.0.1:5605";  // emwin-stats' intake: the archive binds no tap of its own
  emwin::sinks::ArchiveOptions options;
  emwin::runtime::Cli cli("emwin-archive",
                          "emwin-archive: keeps every file's metadata, every alert and the VTEC event state in SQLite "
                          "or PostgreSQL (query it with emwin-query)");
  emwin::service::addCommonOptions(cli, common);
  emwin::sinks::addArchiveOptions(cli, options);
  if (auto code = cli.parse(argc, argv)) return *code;
  try {
    emwin::sinks::checkArchiveOptions(options);  // before the runtime starts anything: one line, exit 2
  } catch (const emwin::runtime::ConfigError& e) {
    std::cerr << "emwin-archive: " << e.what() << '\n';
    return 2;
  }
  emwin::service::Runtime runtime("archive", common);
  emwin::sinks::ArchiveService service(options);
  return runtime.run(service);
}
