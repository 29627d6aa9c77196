#include "archive/database.h"

namespace emwin::archive {

std::unique_ptr<Database> makeSqliteDatabase(const DatabaseUrl& url, OpenMode mode);
std::unique_ptr<Database> makePostgresDatabase(const DatabaseUrl& url, OpenMode mode);

std::string fileKey(const FileRecord& f) {
  std::string k = f.name;
  k += '\x1F';
  k += std::to_string(f.fd_unix_s);
  k += '\x1F';
  k += f.sha256;
  return k;
}

std::unique_ptr<Database> makeDatabase(const DatabaseUrl& url, OpenMode mode) {
  return url.backend == Backend::kSqlite ? makeSqliteDatabase(url, mode) : makePostgresDatabase(url, mode);
}

}  // namespace emwin::archive
