#pragma once
// Persistence of the ByteBlaster server list (state file serverlist.json):
// atomic save (temp file + fsync + rename + directory fsync) and a load that
// tells a missing file from a corrupt one. Thread-safe (no shared state).

#include <string>

#include "qbt/types.h"

namespace emwin::ingest {

enum class LoadResult { kLoaded, kMissing, kCorrupt };

// Loads `path`. On kCorrupt, *error says why; `list` is untouched unless kLoaded.
// A file that parses but names no valid server counts as corrupt.
LoadResult loadServerList(const std::string& path, qbt::ServerList& list, std::string* error);

// Writes `list` to `path` atomically (creating the directory). Returns false
// and sets *error on failure; the previous file then stays intact.
bool saveServerList(const std::string& path, const qbt::ServerList& list, std::string* error);

// Regular servers first, then satellite ones.
std::vector<qbt::ServerAddress> failoverOrder(const qbt::ServerList& list);

}  // namespace emwin::ingest
