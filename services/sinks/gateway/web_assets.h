#pragma once
// The live page (web/: index.html, app.js, style.css and the vendored
// libraries with their licences), compiled into emwin-gateway by
// emwin_embed_files() — nothing is read from disk at run time.
// Thread-safety: immutable static data.

#include <span>

#include "http/static_files.h"

namespace emwin::gateway {

// Every file of web/, by URL path ("/" is index.html).
extern const std::span<const http::StaticFile> kWebFiles;

}  // namespace emwin::gateway
