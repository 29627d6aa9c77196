#include "runtime/log.h"

#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace emwin::runtime {
namespace {
std::mutex g_mutex;
spdlog::level::level_enum g_level = spdlog::level::info;
}  // namespace

std::shared_ptr<spdlog::logger> logger(std::string_view name) {
  std::lock_guard lock(g_mutex);
  std::string key(name);
  if (auto existing = spdlog::get(key)) return existing;
  auto created = spdlog::stderr_color_mt(key);
  created->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ [%n] %v", spdlog::pattern_time_type::utc);
  created->set_level(g_level);
  return created;
}

bool setLogLevel(std::string_view level) {
  auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") return false;
  std::lock_guard lock(g_mutex);
  g_level = parsed;
  spdlog::set_level(parsed);
  return true;
}

}  // namespace emwin::runtime
