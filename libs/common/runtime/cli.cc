#include "runtime/cli.h"

#include <unistd.h>

#include <cctype>
#include <charconv>
#include <filesystem>
#include <iostream>
#include <system_error>

namespace emwin::runtime {
namespace {

namespace fs = std::filesystem;

bool isDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Absolute, normalised form (without resolving what does not exist yet).
fs::path absolute(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  return ec ? fs::path(path).lexically_normal() : p;
}

std::string kernelTreeReason(const fs::path& p) {
  const std::string s = p.string();
  for (std::string_view root : {"/proc", "/sys"}) {
    if (s == root || s.rfind(std::string(root) + "/", 0) == 0) return "is under " + std::string(root) + " (not a place for data)";
  }
  return {};
}

// "" when `dir` is (or can be created as) a writable directory.
std::string writableDirReason(const std::string& dir) {
  if (dir.empty()) return "must not be empty";
  const fs::path p = absolute(dir);
  if (auto why = kernelTreeReason(p); !why.empty()) return "'" + dir + "' " + why;
  std::error_code ec;
  fs::path probe = p;
  while (!fs::exists(probe, ec)) {
    if (!probe.has_parent_path() || probe.parent_path() == probe) return "'" + dir + "' cannot be created";
    probe = probe.parent_path();
  }
  if (!fs::is_directory(probe, ec)) {
    return probe == p ? "'" + dir + "' is not a directory" : "'" + probe.string() + "' is not a directory";
  }
  if (::access(probe.c_str(), W_OK | X_OK) != 0) return "'" + probe.string() + "' is not writable";
  return {};
}

// "" when `host:port` (port as allowed) is well formed.
std::string hostPortReason(std::string_view text, bool allow_zero, bool allow_star_port, bool allow_star_host) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return "want host:port";
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  if (host == "*" && !allow_star_host) return "want a host name or address, not '*'";
  if (host.front() == '[' && host.back() != ']') return "unbalanced '[' in the address";
  if (port == "*" && allow_star_port) return {};
  if (!isDigits(port) || port.size() > 5) return "port '" + std::string(port) + "' is not a number 0..65535";
  int p = 0;
  std::from_chars(port.data(), port.data() + port.size(), p);
  if (p > 65535) return "port " + std::string(port) + " is above 65535";
  if (p == 0 && !allow_zero) return "port 0 is not a port to connect to";
  return {};
}

std::string endpointReason(const std::string& endpoint, bool bind) {
  auto starts = [&](std::string_view prefix) { return endpoint.rfind(prefix, 0) == 0; };
  if (starts("tcp://")) {
    std::string why = hostPortReason(std::string_view(endpoint).substr(6), bind, bind, bind);
    return why.empty() ? std::string() : "'" + endpoint + "': " + why;
  }
  if (starts("ipc://") || starts("inproc://")) {
    return endpoint.size() > (starts("ipc://") ? 6u : 9u) ? std::string() : "'" + endpoint + "' names nothing";
  }
  return "'" + endpoint + "' is not tcp://host:port, ipc://path or inproc://name";
}

template <class T>
std::string rangeReason(const std::string& text, T min, T max) {
  std::string_view s = text;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const bool negative = !s.empty() && s.front() == '-';
  if (!isDigits(negative ? s.substr(1) : s)) return "'" + text + "' is not a whole decimal number";
  T v{};
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range || (negative && std::is_unsigned_v<T>) || v < min || v > max) {
    return "'" + text + "' is outside " + std::to_string(min) + ".." + std::to_string(max);
  }
  if (ptr != s.data() + s.size()) return "'" + text + "' is not a whole decimal number";
  return {};
}

}  // namespace

std::string envNameFor(std::string_view flag) {
  std::string_view name = flag;
  if (auto comma = name.rfind(','); comma != std::string_view::npos) name = name.substr(comma + 1);
  while (!name.empty() && (name.front() == '-' || name.front() == '!')) name.remove_prefix(1);
  std::string out = "EMWIN_";
  for (char c : name) out.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

CLI::Validator IntRange(std::int64_t min, std::int64_t max) {
  return CLI::Validator([min, max](std::string& v) { return rangeReason<std::int64_t>(v, min, max); },
                        "INT in " + std::to_string(min) + ".." + std::to_string(max), "IntRange");
}

CLI::Validator UIntRange(std::uint64_t min, std::uint64_t max) {
  return CLI::Validator([min, max](std::string& v) { return rangeReason<std::uint64_t>(v, min, max); },
                        "UINT in " + std::to_string(min) + ".." + std::to_string(max), "UIntRange");
}

CLI::Validator BindEndpoint() {
  return CLI::Validator([](std::string& v) { return endpointReason(v, true); }, "ENDPOINT", "BindEndpoint");
}

CLI::Validator ConnectEndpoint(bool allow_empty) {
  return CLI::Validator(
      [allow_empty](std::string& v) { return allow_empty && v.empty() ? std::string() : endpointReason(v, false); },
      "ENDPOINT", "ConnectEndpoint");
}

CLI::Validator HostPort(bool allow_any_port) {
  return CLI::Validator(
      [allow_any_port](std::string& v) {
        std::string why = hostPortReason(v, allow_any_port, false, false);
        return why.empty() ? why : "'" + v + "': " + why;
      },
      "HOST:PORT", "HostPort");
}

CLI::Validator WritableDir() {
  return CLI::Validator([](std::string& v) { return writableDirReason(v); }, "DIR", "WritableDir");
}

CLI::Validator WritableFile() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        if (v.empty()) return "must not be empty";
        const fs::path p = absolute(v);
        if (auto why = kernelTreeReason(p); !why.empty()) return "'" + v + "' " + why;
        std::error_code ec;
        if (fs::is_directory(p, ec)) return "'" + v + "' is a directory";
        const fs::path dir = p.parent_path();
        if (!fs::is_directory(dir, ec)) return "directory '" + dir.string() + "' of '" + v + "' does not exist";
        if (fs::exists(p, ec) ? ::access(p.c_str(), W_OK) != 0 : ::access(dir.c_str(), W_OK | X_OK) != 0) {
          return "'" + v + "' is not writable";
        }
        return {};
      },
      "FILE", "WritableFile");
}

CLI::Validator ReadableFile() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        std::error_code ec;
        if (!fs::exists(v, ec)) return "'" + v + "' does not exist";
        if (fs::is_directory(v, ec)) return "'" + v + "' is a directory, not a file";
        if (::access(v.c_str(), R_OK) != 0) return "'" + v + "' is not readable";
        return {};
      },
      "FILE", "ReadableFile");
}

CLI::Validator ReadableDir() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        std::error_code ec;
        if (!fs::is_directory(v, ec)) return "'" + v + "' is not a directory";
        if (::access(v.c_str(), R_OK | X_OK) != 0) return "'" + v + "' is not readable";
        return {};
      },
      "DIR", "ReadableDir");
}

CLI::Validator NonEmpty() {
  return CLI::Validator([](std::string& v) { return v.empty() ? std::string("must not be empty") : std::string(); },
                        "TEXT", "NonEmpty");
}

void checkWritableDir(const std::string& option, const std::string& path) {
  if (auto why = writableDirReason(path); !why.empty()) throw ConfigError(option, why);
}

void checkBindEndpoint(const std::string& option, const std::string& endpoint) {
  if (auto why = endpointReason(endpoint, true); !why.empty()) throw ConfigError(option, why);
}

void checkConnectEndpoint(const std::string& option, const std::string& endpoint) {
  if (auto why = endpointReason(endpoint, false); !why.empty()) throw ConfigError(option, why);
}

Cli::Cli(std::string program, std::string description) : program_(std::move(program)), app_(std::move(description)) {
  app_.name(program_);
}

void Cli::finish(CLI::Option* o, const std::string& name, std::string env) {
  if (env == "auto") env = envNameFor(name);
  if (!env.empty()) o->envname(env);
}

CLI::Option* Cli::flag(const std::string& name, bool& value, const std::string& help, std::string env) {
  CLI::Option* o = app_.add_flag(name, value, help);
  finish(o, name, std::move(env));
  return o;
}

std::optional<int> Cli::parse(int argc, const char* const* argv) {
  try {
    app_.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app_.help();
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app_.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::ParseError& e) {
    return fail(e);
  } catch (const ConfigError& e) {
    return fail(e);
  }
  return std::nullopt;
}

int Cli::fail(const std::exception& error) const {
  std::string line = error.what();
  for (auto& c : line) {
    if (c == '\n') c = ' ';
  }
  std::cerr << program_ << ": " << line << '\n';
  return 2;
}

}  // namespace emwin::runtime
