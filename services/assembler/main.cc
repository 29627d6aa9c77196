// emwin-assembler: segments in, completed files out.
#include "assembler_service.h"

int main(int argc, char** argv) {
  emwin::service::CommonOptions common;
  emwin::services::AssemblerOptions options;
  emwin::runtime::Cli cli("emwin-assembler", "emwin-assembler: reassembles EMWIN files from ingest's segments");
  emwin::service::addCommonOptions(cli, common);
  emwin::services::addAssemblerOptions(cli, options);
  if (auto code = cli.parse(argc, argv)) return *code;
  emwin::service::Runtime runtime("assembler", common);
  emwin::services::AssemblerService service(options);
  return runtime.run(service);
}
