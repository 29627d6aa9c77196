#pragma once
// Content rules of reassembled files: which format a file carries and where
// its real end is inside the NUL-padded blocks. Pure functions; thread-safe.
//
// Rules: a ZIP ends at its end-of-central-directory record plus its comment
// (the record itself may end in NUL bytes, so trimming NULs would corrupt it);
// a PNG ends after its IEND chunk's CRC; everything else (text, GIF ending in
// 0x3B, JPEG ending in FF D9, unknown formats) ends at the last non-NUL byte.
// Only the tail of the file is trimmed; inner blocks are kept exactly.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace emwin::assembly {

// Format of a file, from its magic bytes (and the ZIP/ZIS extension).
enum class Format : std::uint8_t { kOther, kZip, kGif, kJpeg, kPng };

// Stable name ("other", "zip", "gif", "jpeg", "png").
std::string_view formatName(Format f) noexcept;

// Detects the format. `extension` is upper-case without the dot ("ZIP");
// `head` is the first bytes of the file (any length).
Format detectFormat(std::string_view extension, std::span<const std::uint8_t> head) noexcept;

// Length of the real content inside `raw` (the concatenated blocks).
std::size_t deliveredLength(Format format, std::span<const std::uint8_t> raw) noexcept;

// Length of `raw` without its trailing NUL bytes.
std::size_t trimTrailingNul(std::span<const std::uint8_t> raw) noexcept;

// End of a ZIP (end of the last EOCD record + comment), or 0 if none is found.
std::size_t zipEnd(std::span<const std::uint8_t> raw) noexcept;

// End of a PNG (after the IEND chunk's CRC), or 0 if none is found.
std::size_t pngEnd(std::span<const std::uint8_t> raw) noexcept;

}  // namespace emwin::assembly
