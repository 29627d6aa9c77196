// emwin-alert-classifier: completed text products in, structured alerts out.
#include "alert_classifier_service.h"

int main(int argc, char** argv) {
  emwin::service::CommonOptions common;
  emwin::sinks::AlertClassifierOptions options;
  emwin::runtime::Cli cli("emwin-alert-classifier",
                          "emwin-alert-classifier: classifies EMWIN text products and publishes alerts");
  emwin::service::addCommonOptions(cli, common);
  emwin::sinks::addAlertClassifierOptions(cli, options);
  if (auto code = cli.parse(argc, argv)) return *code;
  emwin::service::Runtime runtime("alert-classifier", common);
  emwin::sinks::AlertClassifierService service(options);
  return runtime.run(service);
}
