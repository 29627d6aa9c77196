#include "runtime/options.h"

#include <unistd.h>

#include <cstdlib>

#include "runtime/log.h"

namespace emwin::runtime {

CLI::Option* withEnv(CLI::Option* option, std::string_view env_name) {
  return option->envname(std::string(env_name));
}

std::string envOr(std::string_view name, std::string_view fallback) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr || *value == '\0') return std::string(fallback);
  return value;
}

std::string defaultInstance() {
  std::string instance = envOr("EMWIN_INSTANCE", "");
  if (!instance.empty()) return instance;
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) == 0 && host[0] != '\0') return host;
  return "0";
}

CLI::Option* addLogLevelOption(CLI::App& app, std::string& level) {
  if (level.empty()) level = "info";
  auto* option = app.add_option("--log-level", level, "trace, debug, info, warn, error, critical, off")
                     ->capture_default_str();
  return withEnv(option, "EMWIN_LOG_LEVEL");
}

bool applyLogLevel(const std::string& level) {
  if (setLogLevel(level)) return true;
  logger("runtime")->warn("unknown log level '{}', keeping the current one", level);
  return false;
}

}  // namespace emwin::runtime
