#pragma once
// Incremental SHA-256 (OpenSSL EVP) with a cheap fork: the assembler hashes a
// file's delivered prefix once, forks the state, and finishes the raw digest
// over the trimmed tail only, so every byte is hashed once.
// Not thread-safe; one object per use. Move-only.

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace emwin::assembly::detail {

class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(Sha256Stream&&) noexcept;
  Sha256Stream& operator=(Sha256Stream&&) noexcept;

  // Adds bytes to the digest.
  void update(std::span<const std::uint8_t> bytes) noexcept;
  // A copy of the current state.
  Sha256Stream fork() const;
  // Lower-case hex digest; the object must not be updated afterwards.
  std::string finishHex();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace emwin::assembly::detail
