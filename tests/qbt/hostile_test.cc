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

// Garbage reports must tile [first, first + total) without gaps or overlaps,
// every piece but the last exactly Decoder::kGarbageReportBytes long.
void expectGarbageTiles(const std::vector<BadInput>& bad, std::uint64_t first, std::uint64_t total) {
  std::uint64_t at = first;
  for (std::size_t i = 0; i < bad.size(); ++i) {
    ASSERT_EQ(bad[i].reason, BadReason::kGarbage) << i;
    EXPECT_EQ(bad[i].stream_offset, at) << i;
    if (i + 1 < bad.size()) {
      EXPECT_EQ(bad[i].byte_count, Decoder::kGarbageReportBytes) << i;
    }
    EXPECT_LE(bad[i].byte_count, Decoder::kGarbageReportBytes) << i;
    at += bad[i].byte_count;
  }
  EXPECT_EQ(at - first, total);
}

TEST(QbtHostileTest, TenMegabytesOfJunkStayBoundedAndAreCountedAsTheyStream) {
  std::mt19937 rng(11);
  Recorder rec;
  Decoder d(rec);
  std::vector<std::uint8_t> chunk(64 * 1024 + 123);  // not a multiple of the report size
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
    // No sync has come, yet every whole piece of the junk is already reported:
    // all but the last < kGarbageReportBytes (plus a trailing NUL run of < 6).
    const std::uint64_t pieces = rec.bad.size();
    ASSERT_EQ(d.stats().garbage_bytes, pieces * Decoder::kGarbageReportBytes) << fed;
    ASSERT_LE(pieces * Decoder::kGarbageReportBytes, fed) << fed;
    ASSERT_GT((pieces + 1) * Decoder::kGarbageReportBytes + 6, fed) << fed;
  }
  EXPECT_TRUE(rec.segments.empty());
  const auto tail = goodFrame();
  d.feed(tail);
  d.finish();
  ASSERT_EQ(rec.segments.size(), 1u);
  EXPECT_GE(d.stats().garbage_bytes, fed - 6);  // the junk may end in NULs joining the sync
  EXPECT_LE(d.stats().garbage_bytes, fed);
  expectGarbageTiles(rec.bad, 0, d.stats().garbage_bytes);
  EXPECT_EQ(d.stats().bad[static_cast<std::size_t>(BadReason::kGarbage)], rec.bad.size());
}

TEST(QbtHostileTest, GarbagePiecesDoNotDependOnChunking) {
  std::mt19937 rng(5);
  std::vector<std::uint8_t> wire;
  const auto frame = goodFrame();
  // Two long junk runs (with short NUL runs inside) separated and ended by frames.
  for (const std::size_t len : {3 * Decoder::kGarbageReportBytes + 17, Decoder::kGarbageReportBytes}) {
    for (std::size_t i = 0; i < len; ++i) {
      wire.push_back(i % 5 == 3 ? 0xFF : static_cast<std::uint8_t>(rng() % 255));
    }
    wire.insert(wire.end(), frame.begin(), frame.end());
  }
  wire[0] = 0x41;
  Recorder whole;
  Decoder dw(whole);
  testing::feedChunked(dw, wire, 0);
  ASSERT_EQ(whole.segments.size(), 2u);
  ASSERT_EQ(whole.countBad(BadReason::kGarbage), whole.bad.size());
  EXPECT_EQ(whole.bad.size(), 4u + 1u);  // 3 pieces + 17 bytes, then exactly one piece
  for (const std::size_t chunk : {1u, 7u, 4096u, 65537u}) {
    Recorder rec;
    Decoder d(rec);
    testing::feedChunked(d, wire, chunk);
    ASSERT_EQ(rec.bad.size(), whole.bad.size()) << chunk;
    for (std::size_t i = 0; i < rec.bad.size(); ++i) {
      EXPECT_EQ(rec.bad[i].stream_offset, whole.bad[i].stream_offset) << chunk << " " << i;
      EXPECT_EQ(rec.bad[i].byte_count, whole.bad[i].byte_count) << chunk << " " << i;
    }
    EXPECT_EQ(rec.segments.size(), 2u) << chunk;
  }
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
  std::uint64_t fed = start.size();
  for (int i = 0; i < 160; ++i) {  // ~10 MB
    d.feed(chunk);
    ASSERT_LE(d.buffered(), Decoder::kMaxBuffered);
    fed += chunk.size();
  }
  d.feed(goodFrame());
  d.finish();
  EXPECT_TRUE(rec.lists.empty());
  ASSERT_FALSE(rec.bad.empty());
  EXPECT_EQ(rec.bad[0].reason, BadReason::kServerListTooLong);
  EXPECT_EQ(rec.countBad(BadReason::kServerListTooLong), 1u);
  // After the capped frame, the rest of it is one garbage run, reported in pieces.
  const std::uint64_t list_start = 6;
  const std::uint64_t rest = fed - list_start - (Decoder::kMaxServerListBytes + 1);
  expectGarbageTiles(std::vector<BadInput>(rec.bad.begin() + 1, rec.bad.end()),
                     list_start + Decoder::kMaxServerListBytes + 1, rest);
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

// The cut body belongs to the truncated frame: one report, not a second one
// for its bytes as garbage.
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
    ASSERT_EQ(rec.bad.size(), 1u);
    EXPECT_EQ(rec.bad[0].reason, BadReason::kTruncated);
    EXPECT_EQ(rec.bad[0].stream_offset, 6u);
    EXPECT_EQ(d.stats().garbage_bytes, 0u);
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

// Sync + `header` (spaces to 78, CR LF) + `body` (+ six-NUL suffix), XOR-ed.
std::vector<std::uint8_t> headerFrame(std::string header, const std::vector<std::uint8_t>& body, bool suffix) {
  header.resize(78, ' ');
  header += "\r\n";
  std::vector<std::uint8_t> out(6, 0);
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), body.begin(), body.end());
  if (suffix) out.insert(out.end(), 6, 0);
  xorInPlace(out);
  return out;
}

// A 1024-byte block of text with no NUL in it (a real body, not padding).
std::vector<std::uint8_t> textBlock(int seed) {
  std::vector<std::uint8_t> b(kBlockSize);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>('A' + (i * 7 + seed) % 26);
  return b;
}

// One bad frame of each kind, with a real body, as servers send them (V2 ones
// with and without the suffix), and the reason each must be reported with.
std::vector<std::pair<std::vector<std::uint8_t>, BadReason>> badFrames(int n) {
  const auto block = textBlock(n);
  const std::string cs = std::to_string(blockChecksum(block));
  const std::string fd = "/FD1/1/2020 1:00:00 AM";
  const auto packed = deflateBlockV2(block);
  const std::string dl = std::to_string(packed.size());
  const std::string name = "/PFBAD" + std::to_string(n) + ".TXT";
  std::vector<std::pair<std::vector<std::uint8_t>, BadReason>> out;
  out.emplace_back(headerFrame(name + "/PX1/PT1/CS" + cs + fd, block, true), BadReason::kBadHeader);
  out.emplace_back(headerFrame(name + "/PN1/PT1/CS" + cs + "1" + fd, block, true), BadReason::kChecksum);
  out.emplace_back(headerFrame(name + "/PN0/PT1/CS" + cs + fd, block, true), BadReason::kBlockRange);
  out.emplace_back(headerFrame(name + "/PN1/PT1/CS" + cs + fd + " /DL1025", block, false), BadReason::kBadLength);
  out.emplace_back(headerFrame(name + "/PN1/PT1/CS" + cs + fd + " /DL1000", block, false), BadReason::kInflate);
  out.emplace_back(headerFrame(name + "/PN 1/PT 1/CS 7" + fd + " /DL" + dl, packed, false), BadReason::kChecksum);
  out.emplace_back(headerFrame(name + "/PN 1/PX 1/CS " + cs + fd + " /DL" + dl, packed, true), BadReason::kBadHeader);
  out.emplace_back(headerFrame(name + "/PN 1/PT 1/CS " + cs + "/FD13/1/2020 1:00:00 AM /DL" + dl, packed, false),
                   BadReason::kBadHeader);
  return out;
}

// Issue 13: a rejected frame was reported twice (its reason, then its body as
// garbage), so `--max-bad-frames 50` tripped after ~25 bad frames. N bad frames
// of every kind between good frames give exactly N reports, in order, whatever
// the chunking, and every good frame survives.
TEST(QbtHostileTest, NBadFramesBetweenGoodOnesAreNReports) {
  std::vector<std::uint8_t> wire;
  std::vector<BadReason> expected;
  std::vector<std::uint64_t> offsets;
  std::size_t good = 0;
  for (int round = 0; round < 8; ++round) {
    for (auto& [frame, reason] : badFrames(round)) {
      const auto g = goodFrame("GOOD" + std::to_string(good++) + ".TXT");
      wire.insert(wire.end(), g.begin(), g.end());
      offsets.push_back(wire.size() + 6);
      wire.insert(wire.end(), frame.begin(), frame.end());
      expected.push_back(reason);
    }
  }
  const auto last = goodFrame("LAST.TXT");
  wire.insert(wire.end(), last.begin(), last.end());
  ASSERT_EQ(expected.size(), 64u);
  for (const std::size_t chunk : {1u, 7u, 1116u, 0u}) {
    Recorder rec;
    Decoder d(rec);
    testing::feedChunked(d, wire, chunk);
    ASSERT_EQ(rec.bad.size(), expected.size()) << chunk;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(rec.bad[i].reason, expected[i]) << chunk << " " << i << ": " << reasonName(rec.bad[i].reason);
      EXPECT_EQ(rec.bad[i].stream_offset, offsets[i]) << chunk << " " << i;
    }
    EXPECT_EQ(rec.countBad(BadReason::kGarbage), 0u) << chunk;
    EXPECT_EQ(d.stats().garbage_bytes, 0u) << chunk;
    EXPECT_EQ(rec.segments.size(), good + 1) << chunk;
  }
}

// What follows a rejected frame's body (at most one body plus its suffix after
// its header) is still garbage, counted from there, in 64 KiB pieces as it streams.
TEST(QbtHostileTest, JunkBeyondARejectedFramesBodyIsStillGarbage) {
  const auto block = textBlock(3);
  auto wire = headerFrame("/PFBAD.TXT/PN1/PX1/CS0/FD1/1/2020 1:00:00 AM", block, true);
  ASSERT_EQ(wire.size(), 1116u);
  std::mt19937 rng(3);
  const std::size_t junk = 2 * Decoder::kGarbageReportBytes + 999;
  for (std::size_t i = 0; i < junk; ++i) wire.push_back(static_cast<std::uint8_t>(rng() % 255));  // never a NUL
  const auto tail = goodFrame();
  wire.insert(wire.end(), tail.begin(), tail.end());
  for (const std::size_t chunk : {1u, 4096u, 0u}) {
    Recorder rec;
    Decoder d(rec);
    testing::feedChunked(d, wire, chunk);
    ASSERT_EQ(rec.bad.size(), 4u) << chunk;
    EXPECT_EQ(rec.bad[0].reason, BadReason::kBadHeader);
    EXPECT_EQ(rec.bad[0].stream_offset, 6u);
    expectGarbageTiles(std::vector<BadInput>(rec.bad.begin() + 1, rec.bad.end()), 1116, junk);
    EXPECT_EQ(rec.segments.size(), 1u) << chunk;
  }
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
