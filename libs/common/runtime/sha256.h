#pragma once
// SHA-256 (OpenSSL EVP), the one implementation in the project: an
// incremental hasher with a cheap fork (the assembler hashes a file's
// delivered prefix once, forks, and finishes the raw digest over the tail),
// reusable after finishHex() via reset(); plus one-shot hex helpers.
// Sha256: not thread-safe, move-only, one per use or per thread. The free
// functions are thread-safe.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace emwin::runtime {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  // Adds bytes to the digest.
  void update(std::span<const std::uint8_t> bytes) noexcept;
  void update(std::string_view bytes) noexcept;
  // A copy of the current state.
  Sha256 fork() const;
  // Lower-case hex digest (64 characters); call reset() before hashing again.
  std::string finishHex();
  // Starts a new digest, keeping the allocated context.
  void reset() noexcept;

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// Lower-case hex SHA-256 of `bytes` (64 characters).
std::string sha256Hex(std::span<const std::uint8_t> bytes);

// Same, over the bytes of `text`.
std::string sha256Hex(std::string_view text);

}  // namespace emwin::runtime
