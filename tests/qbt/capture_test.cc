// The real live capture (500 frames: 451 V1, 49 V2) decoded whole and in
// chunks, and mutations of it built here with exact expected outcomes.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "qbt/decoder.h"
#include "qbt/encoder.h"
#include "qbt_test_util.h"

namespace emwin::qbt {
namespace {

using testing::Recorder;

class QbtCaptureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    wire_ = new std::vector<std::uint8_t>(testing::loadCapture());
    Recorder rec;
    Decoder d(rec);
    testing::feedChunked(d, *wire_, 0);
    reference_ = new std::vector<Segment>(rec.segments);
  }
  static void TearDownTestSuite() {
    delete wire_;
    delete reference_;
    wire_ = nullptr;
    reference_ = nullptr;
  }
  // Decodes `wire` (whole) into a fresh recorder.
  static Recorder decode(const std::vector<std::uint8_t>& wire, std::size_t chunk = 0) {
    Recorder rec;
    Decoder d(rec);
    testing::feedChunked(d, wire, chunk);
    return rec;
  }
  // Wire offset of the header of reference frame `i`.
  static std::size_t headerAt(std::size_t i) { return (*reference_)[i].stream_offset; }
  static std::size_t frameEnd(std::size_t i) {
    return headerAt(i) + 80 + (*reference_)[i].payload_bytes;
  }
  static std::size_t firstV2() {
    for (std::size_t i = 0; i < reference_->size(); ++i) {
      if ((*reference_)[i].version == Version::kV2) return i;
    }
    return reference_->size();
  }

  static std::vector<std::uint8_t>* wire_;
  static std::vector<Segment>* reference_;
};

std::vector<std::uint8_t>* QbtCaptureTest::wire_ = nullptr;
std::vector<Segment>* QbtCaptureTest::reference_ = nullptr;

TEST_F(QbtCaptureTest, WholeCaptureDecodes) {
  ASSERT_EQ(wire_->size(), 519172u);
  Recorder rec;
  Decoder d(rec);
  testing::feedChunked(d, *wire_, 0);
  EXPECT_EQ(rec.segments.size(), 500u);
  EXPECT_TRUE(rec.bad.empty());
  EXPECT_EQ(d.stats().frames_v1, 451u);
  EXPECT_EQ(d.stats().frames_v2, 49u);
  EXPECT_EQ(d.stats().bytes_in, wire_->size());
  EXPECT_EQ(d.stats().garbage_bytes, 0u);
  const std::size_t v1 = std::count_if(rec.segments.begin(), rec.segments.end(),
                                       [](const Segment& s) { return s.version == Version::kV1; });
  EXPECT_EQ(v1, 451u);
  // Spot checks against the raw bytes: first frame and a V1 ZIP block.
  EXPECT_EQ(rec.segments[0].filename, "SAHOURLY.TXT");
  EXPECT_EQ(rec.segments[0].fd_text, "03/03/2026 03:17:36 PM");
  EXPECT_EQ(rec.segments[0].fd_unix_s, 1772551056);
  EXPECT_EQ(rec.segments[0].stream_offset, 6u);
  EXPECT_EQ(rec.segments[1].filename, "NPSA01US.ZIP");
  EXPECT_EQ(rec.segments[1].total_blocks, 308u);
  EXPECT_EQ(rec.segments[1].data[0], 'P');
  EXPECT_EQ(rec.segments[1].data[1], 'K');
  std::size_t over16 = 0;
  for (const auto& s : rec.segments) {
    over16 += s.declared_checksum > 0xFFFF ? 1 : 0;
    EXPECT_EQ(blockChecksum(s.data) & 0xFFFF, s.declared_checksum & 0xFFFF);
  }
  EXPECT_GT(over16, 100u);  // many real /CS values exceed 16 bits
}

TEST_F(QbtCaptureTest, SameOutputForAnyChunking) {
  const std::string expected = testing::digest(*reference_);
  for (const std::size_t chunk : {1u, 7u, 512u, 1116u, 4099u, 0u}) {
    const Recorder rec = decode(*wire_, chunk);
    EXPECT_EQ(rec.segments.size(), 500u) << chunk;
    EXPECT_TRUE(rec.bad.empty()) << chunk;
    EXPECT_EQ(testing::digest(rec.segments), expected) << chunk;
  }
}

TEST_F(QbtCaptureTest, RandomChunkingKeepsOutputAndBufferBound) {
  const std::string expected = testing::digest(*reference_);
  std::mt19937 rng(20260303);
  Recorder rec;
  Decoder d(rec);
  std::size_t at = 0;
  while (at < wire_->size()) {
    const std::size_t n = std::min<std::size_t>(wire_->size() - at, 1 + rng() % 3000);
    d.feed(std::span<const std::uint8_t>(*wire_).subspan(at, n));
    ASSERT_LE(d.buffered(), Decoder::kMaxBuffered);
    at += n;
  }
  d.finish();
  EXPECT_EQ(testing::digest(rec.segments), expected);
}

TEST_F(QbtCaptureTest, WithoutXorNothingDecodes) {
  const auto plain = testing::decoded(*wire_);
  const Recorder rec = decode(plain);
  EXPECT_TRUE(rec.segments.empty());
  EXPECT_TRUE(rec.lists.empty());
  // Everything reported is garbage, and most of the stream is counted as such.
  std::uint64_t garbage = 0;
  for (const auto& b : rec.bad) {
    if (b.reason == BadReason::kGarbage) garbage += b.byte_count;
  }
  EXPECT_GT(garbage, plain.size() * 9 / 10);
}

// Replaces the first V2 frame's "/DL0116" by spaces: it now reads as a V1 header
// whose 1024-byte body runs into the next frame (sync + "/PF"), so the frame is
// reported once as truncated; its 116-byte zlib payload is part of that report
// (not a second one as garbage); the following 499 frames are intact.
TEST_F(QbtCaptureTest, StrippedDlLosesOnlyThatFrame) {
  auto plain = testing::decoded(*wire_);
  const std::size_t v2 = firstV2();
  ASSERT_LT(v2, reference_->size());
  const std::size_t h = headerAt(v2);
  const std::string header(plain.begin() + h, plain.begin() + h + 80);
  const auto dl = header.find("/DL");
  ASSERT_NE(dl, std::string::npos);
  std::size_t end = dl + 3;
  while (header[end] >= '0' && header[end] <= '9') ++end;
  std::fill(plain.begin() + h + dl, plain.begin() + h + end, ' ');
  xorInPlace(plain);
  const Recorder rec = decode(plain);
  EXPECT_EQ(rec.segments.size(), 499u);
  ASSERT_EQ(rec.bad.size(), 1u);
  EXPECT_EQ(rec.bad[0].reason, BadReason::kTruncated);
  EXPECT_EQ(rec.bad[0].stream_offset, h);
  auto expected = *reference_;
  expected.erase(expected.begin() + static_cast<std::ptrdiff_t>(v2));
  EXPECT_EQ(testing::digest(rec.segments), testing::digest(expected));
}

// Corrupting the zlib header byte (0x78 -> 0x11) of the first V2 payload: one
// kInflate and nothing else (its payload is not reported again as garbage); the
// other 499 frames stay.
TEST_F(QbtCaptureTest, CorruptZlibSignatureIsOneInflateError) {
  auto plain = testing::decoded(*wire_);
  const std::size_t v2 = firstV2();
  const std::size_t h = headerAt(v2);
  ASSERT_EQ(plain[h + 80], 0x78);
  plain[h + 80] = 0x11;
  xorInPlace(plain);
  const Recorder rec = decode(plain);
  EXPECT_EQ(rec.segments.size(), 499u);
  EXPECT_EQ(rec.countBad(BadReason::kInflate), 1u);
  EXPECT_EQ(rec.countBad(BadReason::kGarbage), 0u);
  EXPECT_EQ(rec.bad.size(), 1u);
  EXPECT_EQ(rec.bad[0].stream_offset, h);
}

// Adds 65536 to every /CS (rewritten in its field, same header length): the low
// 16 bits are unchanged, so all 500 frames still pass.
TEST_F(QbtCaptureTest, ChecksumPlus65536StillPasses) {
  auto plain = testing::decoded(*wire_);
  std::size_t rewritten = 0;
  for (std::size_t i = 0; i < reference_->size(); ++i) {
    const std::size_t h = headerAt(i);
    std::string header(plain.begin() + h, plain.begin() + h + 80);
    const auto cs = header.find("/CS");
    const auto fd = header.find("/FD");
    ASSERT_TRUE(cs != std::string::npos && fd != std::string::npos && fd > cs);
    const std::string value = std::to_string(std::stoul(header.substr(cs + 3)) + 65536);
    ASSERT_LE(value.size(), fd - cs - 3);
    std::string field = value;
    field.resize(fd - cs - 3, ' ');
    std::copy(field.begin(), field.end(), plain.begin() + h + cs + 3);
    ++rewritten;
  }
  xorInPlace(plain);
  const Recorder rec = decode(plain, 333);
  EXPECT_EQ(rewritten, 500u);
  EXPECT_EQ(rec.segments.size(), 500u);
  EXPECT_TRUE(rec.bad.empty());
  for (std::size_t i = 0; i < rec.segments.size(); ++i) {
    EXPECT_EQ(rec.segments[i].declared_checksum, (*reference_)[i].declared_checksum + 65536);
  }
}

// Removing the six-NUL suffix after frame 10 (V1): the next sync follows the body
// directly; nothing is lost.
TEST_F(QbtCaptureTest, MissingSuffixLosesNothing) {
  auto wire = *wire_;
  const std::size_t end = frameEnd(10);
  ASSERT_EQ((*reference_)[10].version, Version::kV1);
  ASSERT_TRUE(std::all_of(wire.begin() + end, wire.begin() + end + 12,
                          [](std::uint8_t b) { return b == 0xFF; }));
  wire.erase(wire.begin() + end, wire.begin() + end + 6);
  const Recorder rec = decode(wire, 7);
  EXPECT_EQ(rec.segments.size(), 500u);
  EXPECT_TRUE(rec.bad.empty());
  EXPECT_EQ(testing::digest(rec.segments), testing::digest(*reference_));
}

// Random junk inserted before the sync of 25 frames. Junk bytes are never NUL
// (so they cannot form a sync) and never '/' (so they cannot start a header
// right after a frame): each insertion is exactly one garbage run of its length.
TEST_F(QbtCaptureTest, InsertedJunkIsCountedAndNoFrameLost) {
  auto plain = testing::decoded(*wire_);
  std::mt19937 rng(7);
  std::vector<std::size_t> at;  // insertion points: start of the sync before a header
  for (std::size_t i = 0; i < reference_->size(); i += 20) at.push_back(headerAt(i) - 6);
  std::uint64_t total = 0;
  std::vector<std::uint8_t> out;
  std::size_t prev = 0;
  for (const std::size_t pos : at) {
    out.insert(out.end(), plain.begin() + prev, plain.begin() + pos);
    const std::size_t n = 1 + rng() % 700;
    for (std::size_t k = 0; k < n; ++k) {
      std::uint8_t b = 0;
      do {
        b = static_cast<std::uint8_t>(rng());
      } while (b == 0 || b == '/');
      out.push_back(b);
    }
    total += n;
    prev = pos;
  }
  out.insert(out.end(), plain.begin() + prev, plain.end());
  xorInPlace(out);
  for (const std::size_t chunk : {1u, 64u, 0u}) {
    const Recorder rec = decode(out, chunk);
    EXPECT_EQ(rec.segments.size(), 500u) << chunk;
    EXPECT_EQ(rec.countBad(BadReason::kGarbage), at.size()) << chunk;
    EXPECT_EQ(rec.bad.size(), at.size()) << chunk;
    std::uint64_t counted = 0;
    for (const auto& b : rec.bad) counted += b.byte_count;
    EXPECT_EQ(counted, total) << chunk;
    EXPECT_EQ(testing::digest(rec.segments), testing::digest(*reference_)) << chunk;
  }
}

// The capture cut at byte k (k = 997, 1994, ...): the segments are exactly the
// frames whose header and body end at or before k; a cut strictly inside a frame
// (after its header start) gives one kTruncated, a cut in the NULs gives none.
TEST_F(QbtCaptureTest, TruncatedAtEvery997thByte) {
  std::size_t cuts = 0;
  for (std::size_t k = 997; k < wire_->size(); k += 997) {
    const std::vector<std::uint8_t> cut(wire_->begin(), wire_->begin() + k);
    const Recorder rec = decode(cut, k % 2 ? 0 : 61);
    std::size_t expected = 0;
    std::size_t inside = 0;
    for (std::size_t i = 0; i < reference_->size(); ++i) {
      if (frameEnd(i) <= k) ++expected;
      if (headerAt(i) < k && k < frameEnd(i)) ++inside;
    }
    ASSERT_EQ(rec.segments.size(), expected) << k;
    ASSERT_EQ(rec.bad.size(), inside) << k;
    if (inside) {
      ASSERT_EQ(rec.bad[0].reason, BadReason::kTruncated) << k;
    }
    ++cuts;
  }
  EXPECT_EQ(cuts, wire_->size() / 997);
}

}  // namespace
}  // namespace emwin::qbt
