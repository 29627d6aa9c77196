#include "http/static_files.h"

namespace emwin::http {

Response staticResponse(const StaticFile& file, const Request& request, const std::string& cache_control) {
  Response res;
  res.headers.emplace_back("ETag", std::string(file.etag));
  res.headers.emplace_back("Cache-Control", cache_control);
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  res.content_type = std::string(file.content_type);
  const std::string match = request.header("if-none-match");
  if (!match.empty() && !file.etag.empty() &&
      (match == "*" || match.find(std::string(file.etag)) != std::string::npos)) {
    res.status = 304;
    return res;
  }
  res.body.assign(file.body);
  return res;
}

void serveStatic(Server& server, std::span<const StaticFile> files, std::string cache_control) {
  for (const StaticFile& f : files) {
    server.get(std::string(f.path),
               [&f, cache_control](const Request& request) { return staticResponse(f, request, cache_control); });
  }
}

}  // namespace emwin::http
