#pragma once
// Named spdlog loggers, one per component ("ingest", "qbt", "assembler", ...).
// All loggers write to stderr with a common pattern; the level is set once
// from --log-level / EMWIN_LOG_LEVEL. Thread-safe (spdlog registry).

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace emwin::runtime {

// Returns the logger called `name`, creating it on first use.
std::shared_ptr<spdlog::logger> logger(std::string_view name);

// Sets the level of every existing and future logger ("trace".."off").
// Returns false (and keeps the level) for an unknown name.
bool setLogLevel(std::string_view level);

}  // namespace emwin::runtime
