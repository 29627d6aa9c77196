#pragma once
// SHA-256 helpers (lower-case hex digests) for content identity and tests.
// Implemented with OpenSSL EVP. Pure functions; thread-safe.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace emwin::runtime {

// Lower-case hex SHA-256 of `bytes` (64 characters).
std::string sha256Hex(std::span<const std::uint8_t> bytes);

// Same, over the bytes of `text`.
std::string sha256Hex(std::string_view text);

}  // namespace emwin::runtime
