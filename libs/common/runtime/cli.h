#pragma once
// Cli: how every emwin-bus executable reads its configuration — CLI11 flags
// with `EMWIN_*` environment variables as defaults (command line > environment
// > the option's default), validated once, before anything starts.
//
//   runtime::Cli cli("emwin-assembler", "reassembles EMWIN files");
//   cli.option("--credit", opts.credit, "segments in flight")->check(runtime::IntRange(16, 1 << 20));
//   if (auto code = cli.parse(argc, argv)) return *code;   // 0 after --help, 2 on an error
//
// Every option named `--foo-bar` reads EMWIN_FOO_BAR unless given another
// name (or none). Integral options only take plain decimal numbers inside
// their type's range (CLI11 alone would take "-1" for an unsigned option, or
// "010" as octal). A bad value is reported in one line naming the option
// ("emwin-x: --hwm: ..."), exit code 2. Checks that need the whole
// configuration, or that only start-up can make (binding a port), throw
// ConfigError naming the option; main() prints it the same way.
//
// Thread-safety: use from main() before starting threads (reads the environment).

#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include <CLI/CLI.hpp>

namespace emwin::runtime {

// Bad configuration: which option, and why. Exit code 2 before anything starts.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string option, const std::string& reason)
      : std::runtime_error(option.empty() ? reason : option + ": " + reason), option_(std::move(option)) {}
  const std::string& option() const noexcept { return option_; }

 private:
  std::string option_;
};

// EMWIN_FOO_BAR for "--foo-bar".
std::string envNameFor(std::string_view flag);

// Decimal integer text in [min, max] (no sign for min >= 0, no octal/hex).
CLI::Validator IntRange(std::int64_t min, std::int64_t max);
CLI::Validator UIntRange(std::uint64_t min, std::uint64_t max);
// A ZeroMQ endpoint to bind: tcp://<host|*>:<0..65535|*>, ipc://<path>, inproc://<name>.
CLI::Validator BindEndpoint();
// A ZeroMQ endpoint to connect to: tcp://<host>:<1..65535>, ipc://<path>, inproc://<name>
// ("" too when `allow_empty`: an optional endpoint left off).
CLI::Validator ConnectEndpoint(bool allow_empty = false);
// host:port with port 1..65535 (or 0..65535 when `allow_any_port`).
CLI::Validator HostPort(bool allow_any_port = false);
// A directory that exists or can be created, and is writable (not a file, not under /proc or /sys).
CLI::Validator WritableDir();
// A file that can be created or appended to: its directory exists and is writable; not a directory.
CLI::Validator WritableFile();
// An existing regular file that can be read.
CLI::Validator ReadableFile();
// An existing directory that can be read.
CLI::Validator ReadableDir();
// Non-empty text.
CLI::Validator NonEmpty();

// Applies the same checks at run time (for values computed or defaulted
// after parsing); throws ConfigError(option, reason) when they fail.
void checkWritableDir(const std::string& option, const std::string& path);
void checkBindEndpoint(const std::string& option, const std::string& endpoint);
void checkConnectEndpoint(const std::string& option, const std::string& endpoint);

class Cli {
 public:
  Cli(std::string program, std::string description);

  // Adds an option bound to `value`, reading env EMWIN_<NAME> (or `env`;
  // "" = no environment variable), with its default shown in --help.
  template <class T>
  CLI::Option* option(const std::string& name, T& value, const std::string& help, std::string env = "auto") {
    CLI::Option* o = app_.add_option(name, value, help);
    finish(o, name, std::move(env));
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      if constexpr (std::is_signed_v<T>) {
        o->check(IntRange(std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
      } else {
        o->check(UIntRange(0, std::numeric_limits<T>::max()));
      }
    }
    if constexpr (!std::is_same_v<T, std::vector<std::string>>) o->capture_default_str();
    return o;
  }
  // Adds a flag (`--name` sets true; "!--no-name" style inverts) with env EMWIN_<NAME>.
  CLI::Option* flag(const std::string& name, bool& value, const std::string& help, std::string env = "auto");

  // Parses argv. nullopt: go on. Otherwise the exit code: 0 after --help
  // (help printed on stdout), 2 after an error (one line on stderr).
  std::optional<int> parse(int argc, const char* const* argv);

  // Prints "<program>: <error>" on stderr (one line) and returns 2.
  int fail(const std::exception& error) const;

  const std::string& program() const noexcept { return program_; }
  CLI::App& app() noexcept { return app_; }

 private:
  void finish(CLI::Option* o, const std::string& name, std::string env);

  std::string program_;
  CLI::App app_;
};

}  // namespace emwin::runtime
