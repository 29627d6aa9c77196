// emwin-disk-writer: writes every completed product under --out, atomically.
#include <unistd.h>

#include "disk_writer_service.h"
#include "runtime/names.h"

int main(int argc, char** argv) {
  emwin::service::CommonOptions common;
  common.stats_connect = "tcp://127.0.0.1:5605";  // emwin-stats' intake: a replica has no tap of its own
  emwin::sinks::DiskWriterOptions options;
  emwin::runtime::Cli cli("emwin-disk-writer",
                          "emwin-disk-writer: writes completed EMWIN products to disk (one replica of a group)");
  emwin::service::addCommonOptions(cli, common);
  emwin::sinks::addDiskWriterOptions(cli, options);
  if (auto code = cli.parse(argc, argv)) return *code;
  if (common.instance.empty()) common.instance = emwin::runtime::defaultInstance();
  if (options.replica.empty()) options.replica = common.instance + "-" + std::to_string(::getpid());
  common.instance = options.replica;  // stats.disk-writer.<replica>: replicas on one host stay apart
  emwin::service::Runtime runtime("disk-writer", common);
  emwin::sinks::DiskWriterService service(options);
  return runtime.run(service);
}
