#pragma once
// Static assets compiled into the binary (a web page, its script, vendored
// libraries and data), served from memory with an ETag: a client that has
// the current version gets 304 Not Modified. The table is generated at build
// time by the CMake function emwin_embed_files() (cmake/EmbedFiles.cmake),
// so the binary needs no file beside it.
//
// Thread-safety: the table is immutable static data; serveStatic() registers
// routes on a Server (the Server's own rules apply).

#include <span>
#include <string>
#include <string_view>

#include "http/server.h"

namespace emwin::http {

// One embedded file.
struct StaticFile {
  std::string_view path;          // URL path, e.g. "/app.js" ("/" for the index page)
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view body;          // the bytes (static storage)
  std::string_view etag;          // quoted strong validator, e.g. "\"3f2a...\""
};

// Registers GET/HEAD routes for every file. `cache_control` is sent with
// each (default: revalidate every time, which is cheap with the ETag).
void serveStatic(Server& server, std::span<const StaticFile> files, std::string cache_control = "no-cache");

// The response for `file` to `request` (200 with the body, or 304 when
// If-None-Match names its ETag).
Response staticResponse(const StaticFile& file, const Request& request, const std::string& cache_control);

}  // namespace emwin::http
