#include "assembly/content.h"

#include <algorithm>
#include <cstring>

namespace emwin::assembly {
namespace {

bool startsWith(std::span<const std::uint8_t> bytes, std::initializer_list<std::uint8_t> magic) {
  return bytes.size() >= magic.size() && std::equal(magic.begin(), magic.end(), bytes.begin());
}

constexpr std::size_t kEocdSize = 22;
constexpr std::size_t kMaxComment = 0xFFFF;

}  // namespace

std::string_view formatName(Format f) noexcept {
  switch (f) {
    case Format::kZip: return "zip";
    case Format::kGif: return "gif";
    case Format::kJpeg: return "jpeg";
    case Format::kPng: return "png";
    case Format::kOther: break;
  }
  return "other";
}

Format detectFormat(std::string_view extension, std::span<const std::uint8_t> head) noexcept {
  if (startsWith(head, {'P', 'K', 0x03, 0x04}) || startsWith(head, {'P', 'K', 0x05, 0x06})) return Format::kZip;
  if (startsWith(head, {'G', 'I', 'F', '8'})) return Format::kGif;
  if (startsWith(head, {0xFF, 0xD8, 0xFF})) return Format::kJpeg;
  if (startsWith(head, {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A})) return Format::kPng;
  if (extension == "ZIP" || extension == "ZIS") return Format::kZip;
  return Format::kOther;
}

std::size_t trimTrailingNul(std::span<const std::uint8_t> raw) noexcept {
  std::size_t n = raw.size();
  while (n > 0 && raw[n - 1] == 0) --n;
  return n;
}

std::size_t zipEnd(std::span<const std::uint8_t> raw) noexcept {
  if (raw.size() < kEocdSize) return 0;
  // The record sits in the last 22 + 65535 bytes before the padding; padding
  // is at most one block, so search back from the end over that whole range.
  const std::size_t last = raw.size() - kEocdSize;
  const std::size_t floor = last > kMaxComment + 1024 ? last - kMaxComment - 1024 : 0;
  for (std::size_t pos = last + 1; pos-- > floor;) {
    if (raw[pos] != 'P' || raw[pos + 1] != 'K' || raw[pos + 2] != 0x05 || raw[pos + 3] != 0x06) continue;
    const std::size_t comment = raw[pos + 20] | (static_cast<std::size_t>(raw[pos + 21]) << 8);
    const std::size_t end = pos + kEocdSize + comment;
    if (end <= raw.size()) return end;
  }
  return 0;
}

std::size_t pngEnd(std::span<const std::uint8_t> raw) noexcept {
  static constexpr std::uint8_t kIend[8] = {0, 0, 0, 0, 'I', 'E', 'N', 'D'};
  if (raw.size() < 12) return 0;
  for (std::size_t pos = raw.size() - 12 + 1; pos-- > 0;) {
    if (std::memcmp(raw.data() + pos, kIend, sizeof kIend) == 0) return pos + 12;
  }
  return 0;
}

std::size_t deliveredLength(Format format, std::span<const std::uint8_t> raw) noexcept {
  std::size_t end = 0;
  switch (format) {
    case Format::kZip: end = zipEnd(raw); break;
    case Format::kPng: end = pngEnd(raw); break;
    default: break;
  }
  return end != 0 ? end : trimTrailingNul(raw);
}

}  // namespace emwin::assembly
