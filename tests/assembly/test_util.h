#pragma once
// Helpers shared by the assembly tests: hand-built segments, a recording
// callbacks object, a fake clock, corpus loading and in-memory ZIP building
// with libzip. Not thread-safe (test code).

#include <zip.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "assembly/assembler.h"
#include "qbt/types.h"

namespace emwin::assembly::test {

using Bytes = std::vector<std::uint8_t>;

inline Bytes toBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

inline Bytes readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// Cuts `content` into NUL-padded 1024-byte blocks as segments of one transmission.
inline std::vector<qbt::Segment> makeSegments(const std::string& name, const Bytes& content, std::int64_t fd) {
  const std::size_t total = std::max<std::size_t>(1, (content.size() + qbt::kBlockSize - 1) / qbt::kBlockSize);
  std::vector<qbt::Segment> out(total);
  for (std::size_t i = 0; i < total; ++i) {
    qbt::Segment& s = out[i];
    s.filename = name;
    s.block_number = static_cast<std::uint32_t>(i + 1);
    s.total_blocks = static_cast<std::uint32_t>(total);
    s.fd_unix_s = fd;
    const std::size_t begin = i * qbt::kBlockSize;
    const std::size_t n = std::min(qbt::kBlockSize, content.size() - std::min(content.size(), begin));
    if (n > 0) std::memcpy(s.data.data(), content.data() + begin, n);
    s.is_fill = name == "FILLFILE.TXT";
  }
  return out;
}

inline Bytes trimNul(Bytes b) {
  while (!b.empty() && b.back() == 0) b.pop_back();
  return b;
}

inline Bytes dataOf(const CompletedFile& f) { return Bytes(f.data.begin(), f.data.end()); }

// Fake clock: tests move `now` by hand.
struct FakeClock {
  TimePoint now = TimePoint(std::chrono::seconds(1772550000));
  Clock clock() {
    return [this] { return now; };
  }
  void advance(std::chrono::milliseconds d) { now += d; }
};

// Records everything the assembler reports.
struct Recorder : AssemblerCallbacks {
  std::vector<CompletedFile> files;
  std::vector<Eviction> evictions;
  void onFile(CompletedFile&& f) override { files.push_back(std::move(f)); }
  void onEviction(const Eviction& e) override { evictions.push_back(e); }
  const CompletedFile* find(std::string_view name) const {
    for (const auto& f : files) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }
};

// One entry to put in a test ZIP.
struct ZipInput {
  std::string name;
  Bytes data;
  bool store = false;  // stored instead of deflated
};

// Builds a ZIP archive in memory with libzip (deflate level 9 unless stored).
inline Bytes buildZip(const std::vector<ZipInput>& inputs, const std::string& comment = {}) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  if (buffer == nullptr) throw std::runtime_error("zip_source_buffer_create");
  zip_t* za = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  if (za == nullptr) throw std::runtime_error("zip_open_from_source");
  zip_source_keep(buffer);
  for (const auto& in : inputs) {
    zip_source_t* src = zip_source_buffer(za, in.data.data(), in.data.size(), 0);
    const zip_int64_t idx = zip_file_add(za, in.name.c_str(), src, ZIP_FL_ENC_RAW);
    if (idx < 0) throw std::runtime_error("zip_file_add " + in.name + ": " + zip_strerror(za));
    zip_set_file_compression(za, static_cast<zip_uint64_t>(idx), in.store ? ZIP_CM_STORE : ZIP_CM_DEFLATE, 9);
  }
  if (!comment.empty()) zip_set_archive_comment(za, comment.data(), static_cast<zip_uint16_t>(comment.size()));
  if (zip_close(za) != 0) throw std::runtime_error("zip_close");
  Bytes out;
  zip_source_open(buffer);
  zip_source_seek(buffer, 0, SEEK_END);
  out.resize(static_cast<std::size_t>(zip_source_tell(buffer)));
  zip_source_seek(buffer, 0, SEEK_SET);
  zip_source_read(buffer, out.data(), out.size());
  zip_source_close(buffer);
  zip_source_free(buffer);
  zip_error_fini(&error);
  return out;
}

// One real product of the corpus: its file name and bytes.
struct Product {
  std::string name;
  Bytes content;
};

// Every file under ../shared/corpus/products, in path order (names may repeat across folders).
inline std::vector<Product> corpusProducts() {
  std::vector<Product> out;
  std::vector<std::filesystem::path> paths;
  for (const auto& e : std::filesystem::recursive_directory_iterator(EMWIN_CORPUS_DIR "/products")) {
    if (e.is_regular_file()) paths.push_back(e.path());
  }
  std::sort(paths.begin(), paths.end());
  for (const auto& p : paths) out.push_back({p.filename().string(), readFile(p)});
  return out;
}

}  // namespace emwin::assembly::test
