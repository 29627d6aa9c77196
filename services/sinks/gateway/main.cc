// emwin-gateway: the bus for browsers and any HTTP client — SSE, WebSocket,
// active alerts, recent files and a live page. See docs/gateway.md.
#include "gateway_service.h"

int main(int argc, char** argv) {
  emwin::service::CommonOptions common;
  emwin::gateway::GatewayOptions options;
  emwin::runtime::Cli cli("emwin-gateway",
                          "emwin-gateway: alerts, files and stats for browsers and HTTP clients (SSE, WebSocket, "
                          "JSON) with a live page");
  emwin::service::addCommonOptions(cli, common);
  emwin::gateway::addGatewayOptions(cli, options);
  if (auto code = cli.parse(argc, argv)) return *code;
  emwin::service::Runtime runtime("gateway", common);
  emwin::gateway::GatewayService service(options);
  return runtime.run(service);
}
