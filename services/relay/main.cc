// emwin-relay: serves the feed to downstream ByteBlaster clients. See docs/relay.md.
#include "relay_service.h"

int main(int argc, char** argv) {
  emwin::service::CommonOptions common;
  emwin::relay::RelayArgs args;
  emwin::runtime::Cli cli("emwin-relay",
                          "emwin-relay: a ByteBlaster (QBT) server relaying the feed to downstream clients");
  emwin::service::addCommonOptions(cli, common);
  emwin::relay::addRelayOptions(cli, args);
  if (auto code = cli.parse(argc, argv)) return *code;
  emwin::relay::RelayConfig config;
  try {
    config = emwin::relay::finishRelayOptions(args);
  } catch (const emwin::runtime::ConfigError& e) {
    return cli.fail(e);
  }
  emwin::service::Runtime runtime("relay", common);
  emwin::relay::RelayService service(std::move(config));
  return runtime.run(service);
}
