// Encoder -> decoder round trips (property style, fixed seeds): random files,
// V1/V2, with and without V2 suffix and sync, random chunking; server lists.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "qbt/decoder.h"
#include "qbt/encoder.h"
#include "qbt_test_util.h"

namespace emwin::qbt {
namespace {

using testing::Recorder;

struct TestFile {
  std::string name;
  std::vector<std::uint8_t> content;
  std::int64_t fd = 0;
};

std::string randomName(std::mt19937& rng, std::size_t index) {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
  std::string name;
  const std::size_t len = 1 + rng() % 6;
  for (std::size_t i = 0; i < len; ++i) name += kChars[rng() % (sizeof kChars - 1)];
  name += std::to_string(index % 100);  // unique per test run
  static constexpr const char* kExt[] = {"TXT", "WMO", "GIF", "ZIS", "PNG"};
  return name + "." + kExt[rng() % 5];
}

std::vector<std::uint8_t> randomContent(std::mt19937& rng) {
  const std::size_t size = rng() % 4 == 0 ? (rng() % 3) * 1024 : rng() % (50 * 1024 + 1);
  std::vector<std::uint8_t> data(size);
  const bool text = rng() % 2 == 0;
  for (auto& b : data) {
    b = text ? static_cast<std::uint8_t>("ABC DEF\r\n0123...$$"[rng() % 18]) : static_cast<std::uint8_t>(rng());
  }
  return data;
}

// Expected 1024-byte blocks of a file: cut, last NUL-padded, empty -> one NUL block.
std::vector<std::vector<std::uint8_t>> blocksOf(const std::vector<std::uint8_t>& content) {
  std::vector<std::vector<std::uint8_t>> blocks;
  for (std::size_t at = 0; at < content.size() || blocks.empty(); at += 1024) {
    std::vector<std::uint8_t> b(1024, 0);
    for (std::size_t i = 0; i < 1024 && at + i < content.size(); ++i) b[i] = content[at + i];
    blocks.push_back(std::move(b));
    if (content.empty()) break;
  }
  return blocks;
}

void checkDecoded(const std::vector<TestFile>& files, const Recorder& rec) {
  std::map<std::string, std::vector<const Segment*>> by_name;
  for (const auto& s : rec.segments) by_name[s.filename].push_back(&s);
  ASSERT_EQ(by_name.size(), files.size());
  for (const auto& f : files) {
    const auto expected = blocksOf(f.content);
    const auto& got = by_name[f.name];
    ASSERT_EQ(got.size(), expected.size()) << f.name;
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i]->block_number, i + 1) << f.name;
      EXPECT_EQ(got[i]->total_blocks, expected.size()) << f.name;
      EXPECT_EQ(got[i]->fd_unix_s, f.fd) << f.name;
      ASSERT_TRUE(std::equal(expected[i].begin(), expected[i].end(), got[i]->data.begin()))
          << f.name << " block " << i + 1;
    }
  }
}

class QbtRoundTripTest : public ::testing::TestWithParam<std::uint32_t> {};

TEST_P(QbtRoundTripTest, RandomFilesSurviveEncodeDecode) {
  std::mt19937 rng(GetParam());
  std::vector<TestFile> files;
  std::vector<std::uint8_t> wire;
  for (std::size_t i = 0; i < 24; ++i) {
    TestFile f{randomName(rng, i), randomContent(rng),
               1400000000 + static_cast<std::int64_t>(rng() % 400000000)};
    const Version v = rng() % 2 ? Version::kV2 : Version::kV1;
    encodeFile(f.name, f.content, f.fd, v, wire, rng() % 2 == 0);
    files.push_back(std::move(f));
  }
  Recorder rec;
  Decoder d(rec);
  std::size_t at = 0;
  while (at < wire.size()) {
    const std::size_t n = std::min<std::size_t>(wire.size() - at, 1 + rng() % 2500);
    d.feed(std::span<const std::uint8_t>(wire).subspan(at, n));
    ASSERT_LE(d.buffered(), Decoder::kMaxBuffered);
    at += n;
  }
  d.finish();
  EXPECT_TRUE(rec.bad.empty());
  EXPECT_GT(d.stats().frames_v2, 0u);  // text blocks compress: V2 layout really used
  EXPECT_GT(d.stats().frames_v1, 0u);
  checkDecoded(files, rec);
}

INSTANTIATE_TEST_SUITE_P(Seeds, QbtRoundTripTest, ::testing::Values(1u, 2u, 3u, 42u, 2026u));

// V2 frames with neither suffix nor sync before the next header: a header may
// follow the previous body directly.
TEST(QbtRoundTrip, HeadersBackToBackWithoutNuls) {
  std::mt19937 rng(99);
  std::vector<TestFile> files;
  std::vector<std::uint8_t> wire;
  for (std::size_t i = 0; i < 6; ++i) {
    TestFile f{randomName(rng, i), std::vector<std::uint8_t>(3000 + i * 500, 'A' + i), 1500000000};
    FrameSpec spec;
    spec.filename = f.name;
    spec.fd_unix_s = f.fd;
    spec.version = Version::kV2;
    spec.suffix = false;
    const auto blocks = blocksOf(f.content);
    spec.total_blocks = static_cast<std::uint32_t>(blocks.size());
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      spec.block_number = static_cast<std::uint32_t>(b + 1);
      auto frame = encodeFrame(spec, blocks[b]);
      if (!wire.empty()) frame.erase(frame.begin(), frame.begin() + 6);  // drop the sync
      wire.insert(wire.end(), frame.begin(), frame.end());
    }
    files.push_back(std::move(f));
  }
  for (const std::size_t chunk : {1u, 100u, 0u}) {
    Recorder rec;
    Decoder d(rec);
    testing::feedChunked(d, wire, chunk);
    EXPECT_TRUE(rec.bad.empty());
    EXPECT_EQ(d.stats().frames_v2, rec.segments.size());
    checkDecoded(files, rec);
  }
}

TEST(QbtRoundTrip, EmptyFileIsOneNulBlock) {
  std::vector<std::uint8_t> wire;
  encodeFile("EMPTY.TXT", {}, 1500000000, Version::kV1, wire);
  EXPECT_EQ(wire.size(), 6u + 80u + 1024u + 6u);
  Recorder rec;
  Decoder d(rec);
  d.feed(wire);
  d.finish();
  ASSERT_EQ(rec.segments.size(), 1u);
  EXPECT_EQ(rec.segments[0].total_blocks, 1u);
  EXPECT_EQ(blockChecksum(rec.segments[0].data), 0u);
}

TEST(QbtRoundTrip, IncompressibleV2BlockFallsBackToV1) {
  std::mt19937 rng(5);
  std::vector<std::uint8_t> noise(1024);
  for (auto& b : noise) b = static_cast<std::uint8_t>(rng());
  FrameSpec spec;
  spec.filename = "NOISE.BIN";
  spec.version = Version::kV2;
  const auto wire = encodeFrame(spec, noise);
  Recorder rec;
  Decoder d(rec);
  d.feed(wire);
  d.finish();
  ASSERT_EQ(rec.segments.size(), 1u);
  EXPECT_EQ(rec.segments[0].version, Version::kV1);
  EXPECT_TRUE(std::equal(noise.begin(), noise.end(), rec.segments[0].data.begin()));
}

TEST(QbtRoundTrip, PredeflatedV2PayloadGivesTheSameFrame) {
  std::mt19937 rng(9);
  std::vector<std::uint8_t> text(700);
  for (auto& b : text) b = static_cast<std::uint8_t>('A' + rng() % 4);  // compressible, short block
  std::vector<std::uint8_t> noise(1024);
  for (auto& b : noise) b = static_cast<std::uint8_t>(rng());
  for (const auto* block : {&text, &noise}) {
    FrameSpec spec;
    spec.filename = "CACHED.TXT";
    spec.block_number = 2;
    spec.total_blocks = 3;
    spec.fd_unix_s = 1700000000;
    spec.version = Version::kV2;
    const auto direct = encodeFrame(spec, *block);
    const auto deflated = deflateBlockV2(*block);
    EXPECT_EQ(deflated.empty(), block == &noise);  // noise does not compress: V1 layout
    spec.v2_payload = &deflated;
    EXPECT_EQ(encodeFrame(spec, *block), direct);
  }
}

// Header text (decoded) of a wire frame.
std::string headerOf(const std::vector<std::uint8_t>& wire) {
  std::vector<std::uint8_t> h(wire.begin() + 6, wire.begin() + 86);
  xorInPlace(h);
  return std::string(h.begin(), h.end());
}

TEST(QbtHeaderStyle, EachStyleLaysOutTheHeaderAsItsServersDo) {
  std::vector<std::uint8_t> block(1024, 0);
  for (int i = 0; i < 248; ++i) block[static_cast<std::size_t>(i)] = 0xFF;
  block[248] = 126;  // sums to 63366, the spec example
  FrameSpec spec;
  spec.filename = "ZFPSFOCA.TXT";
  spec.block_number = 3;
  spec.total_blocks = 5;
  spec.fd_unix_s = 1463678666;  // 5/19/2016 5:24:26 PM
  const std::string crlf = "\r\n";
  auto pad = [&](std::string h) {
    h.resize(78, ' ');
    return h + crlf;
  };
  spec.style = HeaderStyle::kSpec;
  EXPECT_EQ(headerOf(encodeFrame(spec, block)),
            pad("/PFZFPSFOCA.TXT/PN3     /PT5     /CS63366  /FD5/19/2016 5:24:26 PM"));
  spec.style = HeaderStyle::kCompact;
  EXPECT_EQ(headerOf(encodeFrame(spec, block)), pad("/PFZFPSFOCA.TXT/PN3/PT5/CS63366/FD5/19/2016 5:24:26 PM"));
  spec.style = HeaderStyle::kNpemwin;
  EXPECT_EQ(headerOf(encodeFrame(spec, block)),
            pad("/PFZFPSFOCA.TXT/PN 3    /PT 5    /CS 63366 /FD05/19/2016 05:24:26 PM"));
  // V2: /DL after /FD (spec: one space; compact: none; npemwin: at offset 69, no suffix).
  spec.version = Version::kV2;
  const std::string dl = std::to_string(deflateBlockV2(block).size());
  spec.style = HeaderStyle::kSpec;
  auto wire = encodeFrame(spec, block);
  EXPECT_EQ(headerOf(wire), pad("/PFZFPSFOCA.TXT/PN3     /PT5     /CS63366  /FD5/19/2016 5:24:26 PM /DL" + dl));
  EXPECT_EQ(wire.size(), 6 + 80 + std::stoul(dl) + 6);
  spec.style = HeaderStyle::kCompact;
  wire = encodeFrame(spec, block);
  EXPECT_EQ(headerOf(wire), pad("/PFZFPSFOCA.TXT/PN3/PT5/CS63366/FD5/19/2016 5:24:26 PM/DL" + dl));
  EXPECT_EQ(wire.size(), 6 + 80 + std::stoul(dl) + 6);
  spec.style = HeaderStyle::kNpemwin;
  const std::string npemwin_dl = std::to_string(deflateBlockV2(block, HeaderStyle::kNpemwin).size());
  wire = encodeFrame(spec, block);
  EXPECT_EQ(headerOf(wire),
            pad("/PFZFPSFOCA.TXT/PN 3    /PT 5    /CS 63366 /FD05/19/2016 05:24:26 PM /DL" + npemwin_dl));
  EXPECT_EQ(headerOf(wire).find("/DL"), 69u);
  EXPECT_EQ(wire.size(), 6 + 80 + std::stoul(npemwin_dl));  // no six-NUL suffix
}

TEST(QbtHeaderStyle, NamesParseBack) {
  for (const HeaderStyle s : {HeaderStyle::kSpec, HeaderStyle::kCompact, HeaderStyle::kNpemwin}) {
    HeaderStyle back = HeaderStyle::kSpec;
    ASSERT_TRUE(parseHeaderStyle(headerStyleName(s), back)) << headerStyleName(s);
    EXPECT_EQ(back, s);
  }
  HeaderStyle unchanged = HeaderStyle::kCompact;
  EXPECT_FALSE(parseHeaderStyle("Spec", unchanged));
  EXPECT_FALSE(parseHeaderStyle("", unchanged));
  EXPECT_EQ(unchanged, HeaderStyle::kCompact);
}

// npemwin sends V2 only when header + payload is under 60 % of header + block:
// at most 582 bytes of zlib. A block that deflates to more goes as V1 (with the
// suffix), though spec-style servers would still send it compressed.
TEST(QbtHeaderStyle, NpemwinSendsV2OnlyWhenCompressionPays) {
  std::mt19937 rng(4);
  std::size_t v1 = 0, v2 = 0;
  for (std::size_t noise = 0; noise <= 1024; noise += 16) {
    std::vector<std::uint8_t> block(1024);
    for (std::size_t i = 0; i < block.size(); ++i) {
      block[i] = i < noise ? static_cast<std::uint8_t>(rng()) : static_cast<std::uint8_t>('A' + i % 3);
    }
    const auto packed = deflateBlockV2(block, HeaderStyle::kNpemwin);
    FrameSpec spec;
    spec.filename = "MIX.TXT";
    spec.version = Version::kV2;
    spec.style = HeaderStyle::kNpemwin;
    const auto wire = encodeFrame(spec, block);
    if (packed.empty()) {
      ++v1;
      EXPECT_EQ(wire.size(), 1116u) << noise;
      EXPECT_EQ(headerOf(wire).find("/DL"), std::string::npos) << noise;
    } else {
      ++v2;
      EXPECT_LE(packed.size(), 582u) << noise;
      EXPECT_EQ(wire.size(), 86u + packed.size()) << noise;
    }
    Recorder rec;
    Decoder d(rec);
    d.feed(wire);
    d.finish();
    ASSERT_EQ(rec.segments.size(), 1u) << noise;
    EXPECT_TRUE(rec.bad.empty()) << noise;
    EXPECT_EQ(rec.segments[0].version, packed.empty() ? Version::kV1 : Version::kV2) << noise;
    EXPECT_TRUE(std::equal(block.begin(), block.end(), rec.segments[0].data.begin())) << noise;
  }
  EXPECT_GT(v1, 10u);
  EXPECT_GT(v2, 10u);
}

// Every style, V1 and V2, mixed on one stream and fed in small chunks: every
// block decodes and nothing is reported bad.
TEST(QbtHeaderStyle, EveryStyleRoundTripsOnOneStream) {
  std::mt19937 rng(13);
  std::vector<TestFile> files;
  std::vector<std::uint8_t> wire;
  std::size_t index = 0;
  for (const HeaderStyle style : {HeaderStyle::kSpec, HeaderStyle::kCompact, HeaderStyle::kNpemwin}) {
    for (const Version v : {Version::kV1, Version::kV2}) {
      for (int k = 0; k < 4; ++k) {
        TestFile f{randomName(rng, index++), randomContent(rng), 1500000000 + static_cast<std::int64_t>(rng() % 100000000)};
        encodeFile(f.name, f.content, f.fd, v, wire, true, style);
        files.push_back(std::move(f));
      }
    }
  }
  for (const std::size_t chunk : {1u, 333u, 0u}) {
    Recorder rec;
    Decoder d(rec);
    testing::feedChunked(d, wire, chunk);
    EXPECT_TRUE(rec.bad.empty()) << chunk;
    checkDecoded(files, rec);
  }
}

TEST(QbtServerList, ParsesAndSkipsMalformedEntries) {
  const ServerList l = parseServerList(
      "/ServerList/a.example.com:2211|bad|:80|host:0|host:70000|b.net:1000|h o:1|[::1]:2211|"
      "\\ServerList\\/SatServers/s1:2211+x:y+s2:1000\\SatServers\\");
  const std::vector<ServerAddress> regular = {
      {"a.example.com", 2211}, {"b.net", 1000}, {"[::1]", 2211}};
  const std::vector<ServerAddress> sat = {{"s1", 2211}, {"s2", 1000}};
  EXPECT_EQ(l.regular, regular);
  EXPECT_EQ(l.satellite, sat);
  EXPECT_EQ(l.skipped_entries, 6u);
}

TEST(QbtServerList, EitherPartMayBeAbsent) {
  EXPECT_EQ(parseServerList("/ServerList/a:1\\ServerList\\").regular.size(), 1u);
  EXPECT_TRUE(parseServerList("/ServerList/a:1\\ServerList\\").satellite.empty());
  const ServerList sat_only = parseServerList("/SatServers/s:2+t:3\\SatServers\\");
  EXPECT_TRUE(sat_only.regular.empty());
  EXPECT_EQ(sat_only.satellite.size(), 2u);
  EXPECT_TRUE(parseServerList("/ServerList/\\ServerList\\").regular.empty());
}

TEST(QbtServerList, RoundTripThroughDecoderAmidFrames) {
  ServerList list;
  list.regular = {{"emwin.weathermessage.com", 2211}, {"emwin.interweather.net", 1000}};
  list.satellite = {{"wxmesg.upstateweather.com", 2211}};
  std::vector<std::uint8_t> wire;
  encodeFile("BEFORE.TXT", std::vector<std::uint8_t>(10, 'x'), 1500000000, Version::kV1, wire);
  const auto sl = encodeServerList(list);
  const std::size_t sl_at = wire.size() + 6;
  wire.insert(wire.end(), sl.begin(), sl.end());
  encodeFile("AFTER.TXT", std::vector<std::uint8_t>(10, 'y'), 1500000000, Version::kV2, wire);
  for (const std::size_t chunk : {1u, 13u, 0u}) {
    Recorder rec;
    Decoder d(rec);
    testing::feedChunked(d, wire, chunk);
    EXPECT_TRUE(rec.bad.empty());
    ASSERT_EQ(rec.lists.size(), 1u);
    EXPECT_EQ(rec.lists[0].regular, list.regular);
    EXPECT_EQ(rec.lists[0].satellite, list.satellite);
    EXPECT_EQ(rec.lists[0].skipped_entries, 0u);
    EXPECT_EQ(rec.lists[0].stream_offset, sl_at);
    ASSERT_EQ(rec.segments.size(), 2u);
    EXPECT_EQ(rec.segments[1].filename, "AFTER.TXT");
    EXPECT_EQ(d.stats().server_lists, 1u);
  }
}

}  // namespace
}  // namespace emwin::qbt
