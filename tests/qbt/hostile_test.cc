// Hostile and edge-case input: endless junk, endless server lists, extreme
// header values, frames cut by a new sync, reset() and finish() mid-frame.
#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <string>
#include <vector>

#include "qbt/decoder.h"
#include "qbt/encoder.h"
#include "qbt_test_util.h"

namespace emwin::qbt {
namespace {

using testing::Recorder;

std::vector<std::uint8_t> goodFrame(const std::string& name = "GOOD.TXT") {
  FrameSpec spec;
  spec.filename = name;
  spec.fd_unix_s = 1500000000;
  return encodeFrame(spec, std::vector<std::uint8_t>(100, 'g'));
}

TEST(QbtHostileTest, TenMegabytesOfJunkStayBounded) {
  std::mt19937 rng(11);
  Recorder rec;
  Decoder d(rec);
  std::vector<std::uint8_t> chunk(64 * 1024);
  std::uint64_t fed = 0;
  while (fed < 10u * 1024 * 1024) {
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      // Wire junk with short NUL runs (never six in a row).
      chunk[i] = (i % 7 < 5 && rng() % 3 == 0) ? 0xFF : static_cast<std::uint8_t>(rng() % 255);
    }
    // Leading NULs of a stream are padding, not garbage: start with a junk byte.
    if (fed == 0) chunk[0] = 0x41;
    d.feed(chunk);
    ASSERT_LE(d.buffered(), Decoder::kMaxBuffered);
    fed += chunk.size();
  }
  EXPECT_TRUE(rec.segments.empty());
  const auto tail = goodFrame();
  d.feed(tail);
  d.finish();
  ASSERT_EQ(rec.segments.size(), 1u);
  ASSERT_EQ(rec.bad.size(), 1u);
  EXPECT_EQ(rec.bad[0].reason, BadReason::kGarbage);
  EXPECT_EQ(rec.bad[0].stream_offset, 0u);
  EXPECT_GE(rec.bad[0].byte_count, fed - 6);  // the junk may end in NULs joining the sync
  EXPECT_LE(rec.bad[0].byte_count, fed);
  EXPECT_EQ(d.stats().garbage_bytes, rec.bad[0].byte_count);
}

TEST(QbtHostileTest, EndlessServerListStaysBounded) {
  Recorder rec;
  Decoder d(rec);
  std::vector<std::uint8_t> start(6, 0);
  const std::string open = "/ServerList/";
  start.insert(start.end(), open.begin(), open.end());
  xorInPlace(start);
  d.feed(start);
  std::string entries;
  while (entries.size() < 64 * 1024) entries += "host.example.com:2211|";
  std::vector<std::uint8_t> chunk(entries.begin(), entries.end());
  xorInPlace(chunk);
  for (int i = 0; i < 160; ++i) {  // ~10 MB
    d.feed(chunk);
    ASSERT_LE(d.buffered(), Decoder::kMaxBuffered);
  }
  d.feed(goodFrame());
  d.finish();
  EXPECT_TRUE(rec.lists.empty());
  EXPECT_EQ(rec.countBad(BadReason::kServerListTooLong), 1u);
  EXPECT_EQ(rec.countBad(BadReason::kGarbage), 1u);
  EXPECT_EQ(rec.bad.size(), 2u);
  ASSERT_EQ(rec.segments.size(), 1u);  // the frame after it still decodes
}

TEST(QbtHostileTest, ServerListAtTheCapIsAccepted) {
  std::string text = "/ServerList/";
  while (text.size() + 12 < Decoder::kMaxServerListBytes) text += "a:1|";
  text += "\\ServerList\\";
  text.resize(Decoder::kMaxServerListBytes, ' ');
  std::vector<std::uint8_t> wire(6, 0);
  wire.insert(wire.end(), text.begin(), text.end());
  wire.push_back(0);
  xorInPlace(wire);
  Recorder rec;
  Decoder d(rec);
  testing::feedChunked(d, wire, 3);
  ASSERT_EQ(rec.lists.size(), 1u);
  EXPECT_TRUE(rec.bad.empty());
}

TEST(QbtHostileTest, HugeTotalBlocksIsDecoded) {
  FrameSpec spec;
  spec.filename = "HUGE.TXT";
  spec.block_number = 1;
  spec.total_blocks = 1000000000;  // in range: bounding it is the assembler's job
  Recorder rec;
  Decoder d(rec);
  d.feed(encodeFrame(spec, std::vector<std::uint8_t>(5, 'h')));
  d.finish();
  ASSERT_EQ(rec.segments.size(), 1u);
  EXPECT_EQ(rec.segments[0].total_blocks, 1000000000u);
}

TEST(QbtHostileTest, BlockNumbersOutOfRange) {
  for (const auto& [pn, pt] : {std::pair{0u, 1u}, std::pair{5u, 4u}, std::pair{1u, 0u}}) {
    FrameSpec spec;
    spec.filename = "R.TXT";
    spec.block_number = pn;
    spec.total_blocks = pt;
    auto wire = encodeFrame(spec, {});
    const auto tail = goodFrame();
    wire.insert(wire.end(), tail.begin(), tail.end());
    Recorder rec;
    Decoder d(rec);
    d.feed(wire);
    d.finish();
    ASSERT_EQ(rec.bad.size(), 1u) << pn << "/" << pt;
    EXPECT_EQ(rec.bad[0].reason, BadReason::kBlockRange);
    EXPECT_EQ(rec.segments.size(), 1u);
  }
}

TEST(QbtHostileTest, HeaderCutByNewSyncIsTruncated) {
  auto first = goodFrame("CUT.TXT");
  first.resize(6 + 40);  // sync + half a header
  const auto next = goodFrame("NEXT.TXT");
  first.insert(first.end(), next.begin(), next.end());
  for (const std::size_t chunk : {1u, 0u}) {
    Recorder rec;
    Decoder d(rec);
    testing::feedChunked(d, first, chunk);
    ASSERT_EQ(rec.bad.size(), 1u);
    EXPECT_EQ(rec.bad[0].reason, BadReason::kTruncated);
    EXPECT_EQ(rec.bad[0].byte_count, 40u);
    ASSERT_EQ(rec.segments.size(), 1u);
    EXPECT_EQ(rec.segments[0].filename, "NEXT.TXT");
  }
}

TEST(QbtHostileTest, BodyCutByNewFrameIsTruncated) {
  auto first = goodFrame("CUT.TXT");
  first.resize(6 + 80 + 300);  // body cut after 300 of 1024 bytes
  // Make the cut body non-NUL so that the rest of it is garbage, not padding.
  for (std::size_t i = 86; i < first.size(); ++i) first[i] = static_cast<std::uint8_t>('c' ^ 0xFF);
  std::vector<std::uint8_t> wire = first;
  for (int i = 0; i < 3; ++i) {
    const auto next = goodFrame("NEXT" + std::to_string(i) + ".TXT");
    wire.insert(wire.end(), next.begin(), next.end());
  }
  for (const std::size_t chunk : {1u, 7u, 0u}) {
    Recorder rec;
    Decoder d(rec);
    testing::feedChunked(d, wire, chunk);
    ASSERT_EQ(rec.bad.size(), 2u);
    EXPECT_EQ(rec.bad[0].reason, BadReason::kTruncated);
    EXPECT_EQ(rec.bad[0].stream_offset, 6u);
    EXPECT_EQ(rec.bad[1].reason, BadReason::kGarbage);
    EXPECT_EQ(rec.bad[1].stream_offset, 86u);
    EXPECT_EQ(rec.bad[1].byte_count, 300u);
    ASSERT_EQ(rec.segments.size(), 3u);
    EXPECT_EQ(rec.segments[0].filename, "NEXT0.TXT");
  }
}

TEST(QbtHostileTest, FinishAndResetMidFrameReportTruncated) {
  const auto frame = goodFrame();
  Recorder rec;
  Decoder d(rec);
  d.feed(std::span<const std::uint8_t>(frame).first(500));
  EXPECT_EQ(d.buffered(), 500u - 6u);
  d.reset();
  EXPECT_EQ(d.buffered(), 0u);
  ASSERT_EQ(rec.bad.size(), 1u);
  EXPECT_EQ(rec.bad[0].reason, BadReason::kTruncated);
  d.feed(frame);  // a fresh stream after reconnect decodes
  d.finish();
  ASSERT_EQ(rec.segments.size(), 1u);
  EXPECT_EQ(rec.segments[0].stream_offset, 500u + 6u);  // offsets continue
  d.feed(std::span<const std::uint8_t>(frame).first(50));
  d.finish();
  EXPECT_EQ(rec.countBad(BadReason::kTruncated), 2u);
}

TEST(QbtHostileTest, SyncFollowedByNonFrameIsGarbage) {
  std::vector<std::uint8_t> wire(8, 0);
  const std::string junk = "/PX not a frame";
  wire.insert(wire.end(), junk.begin(), junk.end());
  xorInPlace(wire);
  const auto tail = goodFrame();
  wire.insert(wire.end(), tail.begin(), tail.end());
  Recorder rec;
  Decoder d(rec);
  testing::feedChunked(d, wire, 1);
  ASSERT_EQ(rec.bad.size(), 1u);
  EXPECT_EQ(rec.bad[0].reason, BadReason::kGarbage);
  EXPECT_EQ(rec.bad[0].stream_offset, 8u);
  EXPECT_EQ(rec.bad[0].byte_count, junk.size());
  EXPECT_EQ(rec.segments.size(), 1u);
}

TEST(QbtHostileTest, BadV2PayloadLengths) {
  // A V2 payload that inflates to fewer than 1024 bytes.
  std::vector<std::uint8_t> small(10, 'z');
  std::vector<std::uint8_t> packed(64);
  uLongf len = packed.size();
  ASSERT_EQ(compress2(packed.data(), &len, small.data(), small.size(), 9), Z_OK);
  std::string header = "/PFV2.TXT/PN1/PT1/CS1220/FD1/1/2020 1:00:00 AM /DL" + std::to_string(len);
  header.resize(78, ' ');
  header += "\r\n";
  std::vector<std::uint8_t> wire(6, 0);
  wire.insert(wire.end(), header.begin(), header.end());
  wire.insert(wire.end(), packed.begin(), packed.begin() + static_cast<std::ptrdiff_t>(len));
  wire.resize(wire.size() + 6, 0);
  xorInPlace(wire);
  Recorder rec;
  Decoder d(rec);
  d.feed(wire);
  d.finish();
  EXPECT_EQ(rec.countBad(BadReason::kInflate), 1u);
  EXPECT_TRUE(rec.segments.empty());
}

}  // namespace
}  // namespace emwin::qbt
