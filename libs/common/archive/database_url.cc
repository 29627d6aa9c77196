#include "archive/database_url.h"

#include <libpq-fe.h>

#include <memory>

namespace emwin::archive {
namespace {

bool startsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// The URI with the password (if any) replaced by "***".
std::string withoutPassword(const std::string& uri) {
  const auto scheme = uri.find("://");
  if (scheme == std::string::npos) return uri;
  const auto start = scheme + 3;
  const auto at = uri.find('@', start);
  const auto slash = uri.find('/', start);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return uri;
  const auto colon = uri.find(':', start);
  if (colon == std::string::npos || colon > at) return uri;
  return uri.substr(0, colon + 1) + "***" + uri.substr(at);
}

}  // namespace

std::optional<DatabaseUrl> parseDatabaseUrl(std::string_view text, std::string& error) {
  DatabaseUrl url;
  if (startsWith(text, "sqlite:")) {
    std::string_view path = text.substr(7);
    if (startsWith(path, "//")) path.remove_prefix(2);  // sqlite://relative or sqlite:///absolute
    if (path.empty()) {
      error = "sqlite: needs a file path (sqlite:PATH, e.g. sqlite:var/archive/archive.db)";
      return std::nullopt;
    }
    if (path == ":memory:" || startsWith(path, "file:")) {
      error = "sqlite: needs a file path; an in-memory or URI database would not keep the archive";
      return std::nullopt;
    }
    if (path.find('\0') != std::string_view::npos || path.back() == '/') {
      error = "sqlite: '" + std::string(path) + "' is not a file path";
      return std::nullopt;
    }
    url.backend = Backend::kSqlite;
    url.path = std::string(path);
    url.display = "sqlite:" + url.path;
    return url;
  }
  if (startsWith(text, "postgresql://") || startsWith(text, "postgres://")) {
    std::string uri(text);
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(uri.c_str(), &err);
    if (opts == nullptr) {
      error = "not a valid PostgreSQL URI" + (err != nullptr ? ": " + std::string(err) : std::string());
      while (!error.empty() && (error.back() == '\n' || error.back() == ' ')) error.pop_back();
      if (err != nullptr) PQfreemem(err);
      return std::nullopt;
    }
    bool has_timeout = false;
    bool has_name = false;
    for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
      if (o->val == nullptr) continue;
      if (std::string_view(o->keyword) == "connect_timeout") has_timeout = true;
      if (std::string_view(o->keyword) == "application_name") has_name = true;
      if (std::string_view(o->keyword) == "port") {
        // libpq takes a comma-separated list (one per host); each a port number.
        std::string_view ports(o->val);
        bool ok = !ports.empty();
        while (ok && !ports.empty()) {
          const auto comma = ports.find(',');
          const std::string_view one = ports.substr(0, comma);
          unsigned long n = 0;
          ok = !one.empty() && one.size() <= 5 &&
               one.find_first_not_of("0123456789") == std::string_view::npos &&
               (n = std::stoul(std::string(one))) >= 1 && n <= 65535;
          ports = comma == std::string_view::npos ? std::string_view() : ports.substr(comma + 1);
        }
        if (!ok) {
          error = "port '" + std::string(o->val) + "' is not a port number (1-65535)";
          PQconninfoFree(opts);
          return std::nullopt;
        }
      }
    }
    PQconninfoFree(opts);
    url.backend = Backend::kPostgres;
    url.display = withoutPassword(uri);
    std::string extra;
    if (!has_timeout) extra += "connect_timeout=10";
    if (!has_name) extra += std::string(extra.empty() ? "" : "&") + "application_name=emwin-archive";
    if (!extra.empty()) uri += (uri.find('?') == std::string::npos ? "?" : "&") + extra;
    url.conninfo = std::move(uri);
    return url;
  }
  error = "'" + std::string(text) +
          "' is not a database URL (sqlite:PATH or postgresql://user@host:port/dbname)";
  return std::nullopt;
}

}  // namespace emwin::archive
