#pragma once
// Which database an archive lives in, from the one `--db` text every archive
// program takes:
//   sqlite:PATH                  an embedded SQLite file (WAL); also sqlite://PATH
//   postgresql://[user[:password]@]host[:port]/dbname[?param=value&...]
//   postgres://...               the same (libpq's URI syntax, checked by libpq)
// Pure parsing; thread-safe.

#include <optional>
#include <string>
#include <string_view>

namespace emwin::archive {

// The database kinds an archive can live in.
enum class Backend { kSqlite, kPostgres };

// A parsed --db value.
struct DatabaseUrl {
  Backend backend = Backend::kSqlite;
  std::string path;      // SQLite: the file (as given, relative to the working directory)
  std::string conninfo;  // PostgreSQL: the URI for libpq, with connect_timeout and application_name added when absent
  std::string display;   // for logs and errors: the URL without its password
};

// Parses `text`; nullopt with `error` set (one line) when it is not a usable URL.
std::optional<DatabaseUrl> parseDatabaseUrl(std::string_view text, std::string& error);

}  // namespace emwin::archive
