// emwin-ingest: ByteBlaster client publishing QBT segments on the emwin bus.
// See docs/ingest.md.
#include "ingest_service.h"

int main(int argc, char** argv) {
  emwin::service::CommonOptions common;
  emwin::ingest::IngestArgs args;
  emwin::runtime::Cli cli("emwin-ingest", "emwin-ingest: ByteBlaster client publishing QBT segments on the emwin bus");
  emwin::service::addCommonOptions(cli, common);
  emwin::ingest::addIngestOptions(cli, args);
  if (auto code = cli.parse(argc, argv)) return *code;
  emwin::ingest::IngestOptions options;
  try {
    options = emwin::ingest::finishIngestOptions(std::move(args));
  } catch (const emwin::runtime::ConfigError& e) {
    return cli.fail(e);
  }
  emwin::service::Runtime runtime("ingest", common);
  emwin::ingest::IngestService service(std::move(options));
  return runtime.run(service);
}
