#pragma once
// Helpers to fill a service's Options from CLI11 flags with `EMWIN_*`
// environment variables as defaults. Precedence: command line > environment
// > the Options struct's default. CLI11 2.1 does the work with
// Option::envname(); withEnv() only keeps the naming in one place:
//   auto* o = app.add_option("--connect", opts.connect, "...");
//   emwin::runtime::withEnv(o, "EMWIN_CONNECT");
// Thread-safety: call from main() before starting threads (reads the environment).

#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

namespace emwin::runtime {

// Makes `option` fall back to environment variable `env_name` when not given
// on the command line, and mentions it in --help. Returns `option`.
CLI::Option* withEnv(CLI::Option* option, std::string_view env_name);

// Value of environment variable `name`, or `fallback` when unset or empty.
std::string envOr(std::string_view name, std::string_view fallback);

// Default instance name: $EMWIN_INSTANCE, else the host name, else "0".
std::string defaultInstance();

// Adds --log-level (env EMWIN_LOG_LEVEL, default "info") to `app`; the
// level is applied by applyLogLevel() after parsing.
CLI::Option* addLogLevelOption(CLI::App& app, std::string& level);
// Applies a level parsed by addLogLevelOption; false (and a warning) if unknown.
bool applyLogLevel(const std::string& level);

}  // namespace emwin::runtime
