#include "runtime/sha256.h"

#include <openssl/evp.h>

namespace emwin::runtime {

struct Sha256::Ctx {
  struct Free {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> md{EVP_MD_CTX_new()};
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) { reset(); }
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::reset() noexcept { EVP_DigestInit_ex(ctx_->md.get(), EVP_sha256(), nullptr); }

void Sha256::update(std::span<const std::uint8_t> bytes) noexcept {
  if (!bytes.empty()) EVP_DigestUpdate(ctx_->md.get(), bytes.data(), bytes.size());
}

void Sha256::update(std::string_view bytes) noexcept {
  update(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

Sha256 Sha256::fork() const {
  Sha256 copy;
  EVP_MD_CTX_copy_ex(copy.ctx_->md.get(), ctx_->md.get());
  return copy;
}

std::string Sha256::finishHex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_->md.get(), digest, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * len, '0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xF];
  }
  return out;
}

std::string sha256Hex(std::span<const std::uint8_t> bytes) {
  Sha256 h;
  h.update(bytes);
  return h.finishHex();
}

std::string sha256Hex(std::string_view text) {
  Sha256 h;
  h.update(text);
  return h.finishHex();
}

}  // namespace emwin::runtime
