#include "assembly/archive.h"

#include <zip.h>

#include <algorithm>
#include <memory>

namespace emwin::assembly {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;

struct ZipCloser {
  void operator()(zip_t* z) const noexcept { zip_discard(z); }
};
struct ZipFileCloser {
  void operator()(zip_file_t* f) const noexcept { zip_fclose(f); }
};

std::uint32_t le16(const std::uint8_t* p) { return p[0] | (p[1] << 8); }
std::uint32_t le32(const std::uint8_t* p) {
  return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

// libzip hands names out as C strings, which hides an embedded NUL. Walk the
// central directory ourselves (bounds-checked) and report, per entry in
// directory order, whether its raw name holds a NUL byte.
std::vector<bool> namesWithNul(std::span<const std::uint8_t> zip) {
  std::vector<bool> out;
  if (zip.size() < 22) return out;
  std::size_t eocd = zip.size() - 22;
  for (;;) {
    if (le32(zip.data() + eocd) == 0x06054b50) break;
    if (eocd == 0) return out;
    --eocd;
  }
  const std::uint32_t count = le16(zip.data() + eocd + 10);
  std::size_t pos = le32(zip.data() + eocd + 16);
  for (std::uint32_t i = 0; i < count; ++i) {
    if (pos + 46 > zip.size() || le32(zip.data() + pos) != 0x02014b50) break;
    const std::size_t name_len = le16(zip.data() + pos + 28);
    const std::size_t extra_len = le16(zip.data() + pos + 30);
    const std::size_t comment_len = le16(zip.data() + pos + 32);
    if (pos + 46 + name_len > zip.size()) break;
    const auto* name = zip.data() + pos + 46;
    out.push_back(std::find(name, name + name_len, 0) != name + name_len);
    pos += 46 + name_len + extra_len + comment_len;
  }
  return out;
}

void refuse(UnpackResult& result, ArchiveError e, std::string detail) {
  ++result.errors[static_cast<std::size_t>(e)];
  if (result.detail.empty()) result.detail = std::move(detail);
}

}  // namespace

bool isSafeEntryName(std::string_view name, std::size_t max_length) noexcept {
  if (name.empty() || name.size() > max_length) return false;
  if (name.find_first_of(std::string_view("/\\\0:", 4)) != std::string_view::npos) return false;
  if (name == "." || name.find("..") != std::string_view::npos) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x20 && c != 0x7F; });
}

UnpackResult unpackArchive(std::span<const std::uint8_t> archive, const ArchiveLimits& limits) {
  UnpackResult result;
  zip_error_t error;
  zip_error_init(&error);
  // The source does not own the bytes (freep = 0); they outlive the handle.
  zip_source_t* source = zip_source_buffer_create(archive.data(), archive.size(), 0, &error);
  if (source == nullptr) {
    refuse(result, ArchiveError::kCorrupt, zip_error_strerror(&error));
    zip_error_fini(&error);
    return result;
  }
  std::unique_ptr<zip_t, ZipCloser> zip(zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error));
  if (!zip) {
    refuse(result, ArchiveError::kCorrupt, zip_error_strerror(&error));
    zip_source_free(source);
    zip_error_fini(&error);
    return result;
  }
  zip_error_fini(&error);
  result.opened = true;

  const zip_int64_t count = zip_get_num_entries(zip.get(), 0);
  if (count < 0 || static_cast<std::uint64_t>(count) > limits.max_entries) {
    refuse(result, ArchiveError::kTooManyEntries, "entries: " + std::to_string(count));
    return result;
  }
  const std::vector<bool> nul_names = namesWithNul(archive);
  std::uint64_t total = 0;
  for (zip_int64_t i = 0; i < count; ++i) {
    const auto index = static_cast<zip_uint64_t>(i);
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(zip.get(), index, ZIP_FL_ENC_RAW, &st) != 0 || (st.valid & ZIP_STAT_NAME) == 0) {
      refuse(result, ArchiveError::kEntryRead, "stat failed");
      continue;
    }
    const std::string_view name(st.name);
    const bool has_nul = index < nul_names.size() && nul_names[index];
    if (has_nul || !isSafeEntryName(name, limits.max_entry_name)) {
      refuse(result, ArchiveError::kUnsafeName, "unsafe entry name: " + std::string(name.substr(0, 64)));
      continue;
    }
    // Compressed bytes can never exceed the archive; do not trust a larger claim.
    std::uint64_t compressed = (st.valid & ZIP_STAT_COMP_SIZE) ? st.comp_size : archive.size();
    compressed = std::max<std::uint64_t>(1, std::min<std::uint64_t>(compressed, archive.size()));
    std::unique_ptr<zip_file_t, ZipFileCloser> file(zip_fopen_index(zip.get(), index, 0));
    if (!file) {
      refuse(result, ArchiveError::kEntryRead, "cannot open entry " + std::string(name));
      continue;
    }
    ArchiveEntry entry{std::string(name), {}};
    bool ok = true;
    for (;;) {
      const std::size_t old = entry.data.size();
      entry.data.resize(old + kReadChunk);
      const zip_int64_t n = zip_fread(file.get(), entry.data.data() + old, kReadChunk);
      if (n < 0) {
        refuse(result, ArchiveError::kEntryRead, "read error in " + entry.name);
        ok = false;
        break;
      }
      entry.data.resize(old + static_cast<std::size_t>(n));
      if (n == 0) break;
      total += static_cast<std::uint64_t>(n);
      if (total > limits.max_uncompressed_bytes) {
        refuse(result, ArchiveError::kTotalSize, "uncompressed size above limit in " + entry.name);
        return result;  // the whole rest of the archive is refused
      }
      const std::uint64_t size = entry.data.size();
      if (size > limits.ratio_min_bytes && size / compressed > limits.max_ratio) {
        refuse(result, ArchiveError::kRatio, "compression ratio above limit in " + entry.name);
        ok = false;
        break;
      }
    }
    if (ok) result.entries.push_back(std::move(entry));
  }
  return result;
}

}  // namespace emwin::assembly
