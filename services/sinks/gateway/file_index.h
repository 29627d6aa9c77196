#pragma once
// FileIndex: the gateway's bounded, in-memory store of recent completed files
// (from the assembler's tap), for GET /files and GET /files/<name>. Bounded by
// a count and a byte total (least recently received go first). Files are
// kept by name — a newer file of the same name replaces the older one — and
// served from memory only, so no request can reach the file system. Names
// that are not one safe path component ([A-Za-z0-9._-], no leading dot, at
// most 128 characters — the disk writer's rule) are refused and counted.
//
// Thread-safety: not thread-safe; the gateway's reactor thread.

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "event.h"

namespace emwin::gateway {

// One stored file.
struct StoredFile {
  std::string name;
  std::string data;
  std::string sha256;
  EventFacts facts;  // for /files filters
  Json meta;         // what /files lists (the file event's JSON, without type/id)
};

// What add() did.
enum class FileAdd : std::uint8_t {
  kStored,    // new name
  kReplaced,  // same name as a stored file: the newer one replaces it
  kBadName,   // refused: not a safe name
  kTooLarge,  // refused: larger than the per-file bound
};

class FileIndex {
 public:
  // At most `max_files` files and `max_bytes` bytes of data; a single file
  // may be at most `max_file_bytes`.
  FileIndex(std::size_t max_files, std::size_t max_bytes, std::size_t max_file_bytes);

  // Stores `file` as the most recent one.
  FileAdd add(StoredFile file);
  // The file named `name`, or nullptr.
  const StoredFile* find(std::string_view name) const;
  // Up to `limit` files, most recent first.
  std::vector<const StoredFile*> recent(std::size_t limit) const;

  std::size_t size() const noexcept { return order_.size(); }
  std::size_t bytes() const noexcept { return bytes_; }
  std::uint64_t evicted() const noexcept { return evicted_; }
  std::size_t maxFiles() const noexcept { return max_files_; }
  std::size_t maxBytes() const noexcept { return max_bytes_; }

  // True for one safe path component: [A-Za-z0-9._-]{1,128}, not starting with '.'.
  static bool validName(std::string_view name) noexcept;
  // Content type for a download, from the name's extension.
  static std::string contentType(std::string_view name);

 private:
  std::size_t max_files_;
  std::size_t max_bytes_;
  std::size_t max_file_bytes_;
  std::list<StoredFile> order_;  // most recent first
  std::unordered_map<std::string, std::list<StoredFile>::iterator> by_name_;
  std::size_t bytes_ = 0;
  std::uint64_t evicted_ = 0;
};

}  // namespace emwin::gateway
