#include "runtime/names.h"

#include <unistd.h>

#include <cstdlib>

namespace emwin::runtime {

std::string_view extensionOf(std::string_view filename) noexcept {
  const auto dot = filename.rfind('.');
  return dot == std::string_view::npos ? std::string_view{} : filename.substr(dot + 1);
}

std::string extensionToken(std::string_view filename, std::size_t max_length) {
  const std::string_view ext = extensionOf(filename);
  if (ext.empty()) return "NONE";
  std::string token;
  token.reserve(std::min(ext.size(), max_length));
  for (char c : ext) {
    if (token.size() >= max_length) break;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    token.push_back(((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) ? c : '_');
  }
  return token;
}

std::string defaultInstance() {
  const char* env = std::getenv("EMWIN_INSTANCE");
  if (env != nullptr && *env != '\0') return env;
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) == 0 && host[0] != '\0') return host;
  return "0";
}

}  // namespace emwin::runtime
