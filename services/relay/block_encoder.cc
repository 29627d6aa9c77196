// Frames of a relayed block (see block_encoder.h).
#include "block_encoder.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

#include <libdeflate.h>

namespace emwin::relay {
namespace {

constexpr std::size_t kHeaderBytes = 80;
constexpr int kLevel = 1;  // as small as level 6 on real text blocks, for less CPU (docs/performance.md)

bool pays(V2Rule rule, std::size_t n) noexcept {
  if (n < 1 || n > qbt::kBlockSize) return false;
  if (rule == V2Rule::kWhenSmaller) return true;
  return 100 * (kHeaderBytes + n) / (kHeaderBytes + qbt::kBlockSize) < 60;
}

}  // namespace

std::string_view v2RuleName(V2Rule rule) noexcept { return rule == V2Rule::kWhenPays ? "pays" : "smaller"; }

bool parseV2Rule(std::string_view name, V2Rule& rule) noexcept {
  if (name == "pays") {
    rule = V2Rule::kWhenPays;
    return true;
  }
  if (name == "smaller") {
    rule = V2Rule::kWhenSmaller;
    return true;
  }
  return false;
}

BlockEncoder::BlockEncoder(EncoderOptions options) : options_(options) {
  compressor_ = libdeflate_alloc_compressor(kLevel);
  if (compressor_ == nullptr) throw std::bad_alloc();
  payload_.resize(libdeflate_zlib_compress_bound(compressor_, qbt::kBlockSize));
  spec_.style = options_.style;
}

BlockEncoder::~BlockEncoder() { libdeflate_free_compressor(compressor_); }

void BlockEncoder::append(const BlockRef& block, qbt::Version version, const std::vector<std::uint8_t>* payload,
                          std::vector<std::uint8_t>& out) {
  spec_.filename.assign(block.filename);
  spec_.block_number = block.block_number;
  spec_.total_blocks = block.total_blocks;
  spec_.fd_unix_s = block.fd_unix_s;
  spec_.version = version;
  spec_.v2_payload = payload;
  const std::vector<std::uint8_t> frame =
      qbt::encodeFrame(spec_, block.data.first(std::min(block.data.size(), qbt::kBlockSize)));
  out.insert(out.end(), frame.begin(), frame.end());
}

void BlockEncoder::appendV1(const BlockRef& block, std::vector<std::uint8_t>& out) {
  append(block, qbt::Version::kV1, nullptr, out);
}

qbt::Version BlockEncoder::appendV2(const BlockRef& block, std::vector<std::uint8_t>& out) {
  std::array<std::uint8_t, qbt::kBlockSize> padded{};
  std::memcpy(padded.data(), block.data.data(), std::min(block.data.size(), qbt::kBlockSize));
  payload_.resize(libdeflate_zlib_compress_bound(compressor_, qbt::kBlockSize));
  const std::size_t n =
      libdeflate_zlib_compress(compressor_, padded.data(), padded.size(), payload_.data(), payload_.size());
  ++deflated_;
  if (!pays(options_.v2_rule, n)) {
    ++not_paying_;
    append(block, qbt::Version::kV1, nullptr, out);
    return qbt::Version::kV1;
  }
  payload_.resize(n);
  append(block, qbt::Version::kV2, &payload_, out);
  return qbt::Version::kV2;
}

}  // namespace emwin::relay
