#include "file_index.h"

#include <algorithm>
#include <cctype>

namespace emwin::gateway {

FileIndex::FileIndex(std::size_t max_files, std::size_t max_bytes, std::size_t max_file_bytes)
    : max_files_(std::max<std::size_t>(max_files, 1)),
      max_bytes_(max_bytes),
      max_file_bytes_(std::min(max_file_bytes, max_bytes)) {}

bool FileIndex::validName(std::string_view name) noexcept {
  if (name.empty() || name.size() > 128 || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
  });
}

std::string FileIndex::contentType(std::string_view name) {
  const auto dot = name.rfind('.');
  std::string ext = dot == std::string_view::npos ? std::string() : std::string(name.substr(dot + 1));
  for (char& c : ext) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (ext == "TXT" || ext == "WMO") return "text/plain; charset=utf-8";
  if (ext == "GIF") return "image/gif";
  if (ext == "JPG" || ext == "JPEG") return "image/jpeg";
  if (ext == "PNG") return "image/png";
  if (ext == "ZIP" || ext == "ZIS") return "application/zip";
  if (ext == "PDF") return "application/pdf";
  return "application/octet-stream";
}

FileAdd FileIndex::add(StoredFile file) {
  if (!validName(file.name)) return FileAdd::kBadName;
  if (file.data.size() > max_file_bytes_) return FileAdd::kTooLarge;
  FileAdd outcome = FileAdd::kStored;
  if (auto it = by_name_.find(file.name); it != by_name_.end()) {
    bytes_ -= it->second->data.size();
    order_.erase(it->second);
    by_name_.erase(it);
    outcome = FileAdd::kReplaced;
  }
  bytes_ += file.data.size();
  order_.push_front(std::move(file));
  by_name_[order_.front().name] = order_.begin();
  while (order_.size() > 1 && (order_.size() > max_files_ || bytes_ > max_bytes_)) {
    bytes_ -= order_.back().data.size();
    by_name_.erase(order_.back().name);
    order_.pop_back();
    ++evicted_;
  }
  return outcome;
}

const StoredFile* FileIndex::find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : &*it->second;
}

std::vector<const StoredFile*> FileIndex::recent(std::size_t limit) const {
  std::vector<const StoredFile*> out;
  out.reserve(std::min(limit, order_.size()));
  for (const auto& f : order_) {
    if (out.size() >= limit) break;
    out.push_back(&f);
  }
  return out;
}

}  // namespace emwin::gateway
