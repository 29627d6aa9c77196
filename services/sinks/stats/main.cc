// emwin-stats: aggregates every service's stats; serves /metrics and /healthz.
#include "stats_service.h"

int main(int argc, char** argv) {
  emwin::service::CommonOptions common;
  emwin::sinks::StatsOptions options;
  emwin::runtime::Cli cli("emwin-stats", "emwin-stats: aggregates emwin-bus service stats; Prometheus /metrics");
  emwin::service::addCommonOptions(cli, common);
  emwin::sinks::addStatsOptions(cli, options);
  if (auto code = cli.parse(argc, argv)) return *code;
  emwin::service::Runtime runtime("stats", common);
  emwin::sinks::StatsService service(options);
  return runtime.run(service);
}
