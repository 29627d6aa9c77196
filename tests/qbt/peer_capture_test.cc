// What another server really sends: the npemwin captures of ../shared/corpus/peers/
// (the 317 corpus products inserted into npemwin 3.1, recorded over V1 and V2)
// decoded and assembled in-process, compared with npemwin-manifest.json; the
// exact npemwin header of issue 13; and the encoder's kNpemwin style rebuilding
// every captured frame byte for byte.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "assembly/assembler.h"
#include "qbt/decoder.h"
#include "qbt/encoder.h"
#include "qbt_test_util.h"
#include "runtime/sha256.h"

namespace emwin::qbt {
namespace {

using testing::Recorder;

std::string corpus(const std::string& rel) { return std::string(EMWIN_CORPUS_DIR) + "/" + rel; }

// One product of npemwin-manifest.json.
struct ManifestEntry {
  std::string name;    // 8.3 name it was inserted under
  std::string sha256;  // of the original file (which ends in no NUL)
  std::size_t size = 0;
  std::string product;  // path below the corpus
  std::set<std::string> complete_in;  // "v1", "v2"
};

const std::vector<ManifestEntry>& manifest() {
  static const std::vector<ManifestEntry> entries = [] {
    const auto bytes = testing::readFile(corpus("peers/npemwin-manifest.json"));
    const auto j = nlohmann::json::parse(bytes.begin(), bytes.end());
    std::vector<ManifestEntry> out;
    for (const auto& p : j.at("products")) {
      ManifestEntry e;
      e.name = p.at("name").get<std::string>();
      e.sha256 = p.at("sha256").get<std::string>();
      e.size = p.at("size").get<std::size_t>();
      e.product = p.at("product").get<std::string>();
      for (const auto& c : p.at("complete_in")) e.complete_in.insert(c.get<std::string>());
      out.push_back(std::move(e));
    }
    return out;
  }();
  return entries;
}

// Collects what the assembler delivers and gives up.
struct Files : assembly::AssemblerCallbacks {
  std::vector<assembly::CompletedFile> files;
  std::vector<assembly::Eviction> evictions;
  void onFile(assembly::CompletedFile&& f) override { files.push_back(std::move(f)); }
  void onEviction(const assembly::Eviction& e) override { evictions.push_back(e); }
};

TEST(QbtPeerManifest, DescribesThe317CorpusProducts) {
  ASSERT_EQ(manifest().size(), 317u);
  std::size_t v1 = 0, v2 = 0;
  for (const auto& e : manifest()) {
    v1 += e.complete_in.count("v1");
    v2 += e.complete_in.count("v2");
    // The manifest's sha256 is that of the original product file, which ends in no NUL:
    // what the assembler delivers once it trims the last block's padding.
    const auto original = testing::readFile(corpus(e.product));
    ASSERT_EQ(original.size(), e.size) << e.product;
    ASSERT_FALSE(original.empty());
    EXPECT_NE(original.back(), 0) << e.product;
    EXPECT_EQ(runtime::sha256Hex(std::span<const std::uint8_t>(original)), e.sha256) << e.product;
  }
  EXPECT_EQ(v1, 316u);
  EXPECT_EQ(v2, 309u);
}

// A capture, how it is fed, and what it holds.
struct PeerCase {
  std::string capture;  // "v1" or "v2"
  std::size_t chunk;    // feed() size; 0 = the whole capture at once
};

void PrintTo(const PeerCase& c, std::ostream* os) { *os << c.capture << " chunk " << c.chunk; }

class QbtPeerCaptureTest : public ::testing::TestWithParam<PeerCase> {};

// Every product the manifest marks complete in the capture comes out once,
// byte-identical to the original, and the decoder reports nothing bad: the
// first V1 capture starts on a frame boundary and ends on one; the V2 capture
// starts with a whole frame (block 2 of 2 of a file whose block 1 went before
// the client logged on) and ends right after its last payload.
TEST_P(QbtPeerCaptureTest, EveryCompleteProductIsByteIdenticalWithNoBadFrame) {
  const PeerCase& c = GetParam();
  const auto wire = testing::readFile(corpus("peers/npemwin-" + c.capture + ".bin"));
  ASSERT_EQ(wire.size(), c.capture == "v1" ? 1004400u : 556488u);
  Recorder rec;
  Decoder d(rec);
  testing::feedChunked(d, wire, c.chunk);
  EXPECT_TRUE(rec.bad.empty()) << reasonName(rec.bad.front().reason) << " at " << rec.bad.front().stream_offset
                               << ": " << rec.bad.front().detail;
  EXPECT_EQ(d.stats().garbage_bytes, 0u);
  if (c.capture == "v1") {
    EXPECT_EQ(d.stats().frames_v1, 900u);
    EXPECT_EQ(d.stats().frames_v2, 0u);
  } else {
    EXPECT_EQ(d.stats().frames_v1, 158u);  // V1 where compression does not pay
    EXPECT_EQ(d.stats().frames_v2, 729u);
  }
  ASSERT_EQ(rec.segments.size(), d.stats().frames_v1 + d.stats().frames_v2);
  // These are npemwin's headers: zero-padded /FD text as sent.
  EXPECT_EQ(rec.segments.front().fd_text.substr(0, 11), "12/02/2026 ");

  assembly::Options options;
  Files out;
  assembly::Assembler assembler(options, out);
  for (const auto& s : rec.segments) assembler.add(s, "npemwin:" + c.capture);
  assembler.drainPartials();

  std::map<std::string, const assembly::CompletedFile*> by_name;
  for (const auto& f : out.files) {
    EXPECT_TRUE(by_name.emplace(f.name, &f).second) << f.name << " delivered twice";
  }
  std::size_t expected = 0;
  for (const auto& e : manifest()) {
    if (!e.complete_in.count(c.capture)) {
      EXPECT_EQ(by_name.count(e.name), 0u) << e.name << " is not complete in this capture";
      continue;
    }
    ++expected;
    const auto it = by_name.find(e.name);
    ASSERT_NE(it, by_name.end()) << e.name << " (" << e.product << ") missing";
    EXPECT_EQ(it->second->sha256, e.sha256) << e.name;
    EXPECT_EQ(it->second->size(), e.size) << e.name;
    const auto original = testing::readFile(corpus(e.product));
    EXPECT_EQ(it->second->data, std::string(original.begin(), original.end())) << e.name;
  }
  EXPECT_EQ(out.files.size(), expected);
  EXPECT_EQ(expected, c.capture == "v1" ? 316u : 309u);
  EXPECT_EQ(assembler.stats().duplicate_blocks, 0u);
  if (c.capture == "v1") {
    EXPECT_TRUE(out.evictions.empty());
  } else {
    ASSERT_EQ(out.evictions.size(), 1u);  // the file the capture starts in the middle of
    EXPECT_EQ(out.evictions[0].name, "FFWFFW07.TXT");
    EXPECT_EQ(out.evictions[0].blocks_held, 1u);
    EXPECT_EQ(out.evictions[0].total_blocks, 2u);
    EXPECT_EQ(out.evictions[0].reason, assembly::EvictionReason::kEndOfInput);
  }
}

INSTANTIATE_TEST_SUITE_P(Chunkings, QbtPeerCaptureTest,
                         ::testing::Values(PeerCase{"v1", 1}, PeerCase{"v1", 7}, PeerCase{"v1", 1116},
                                           PeerCase{"v1", 0}, PeerCase{"v2", 1}, PeerCase{"v2", 7},
                                           PeerCase{"v2", 1116}, PeerCase{"v2", 0}),
                         [](const ::testing::TestParamInfo<PeerCase>& info) {
                           return info.param.capture + "_chunk" + std::to_string(info.param.chunk);
                         });

// The encoder's npemwin style rebuilds every frame of both captures byte for
// byte (sync, header, payload, suffix or not), including npemwin's choice of
// V1 or V2 per block and its zlib output: the simulator's --header-style npemwin
// sends what npemwin sends.
TEST(QbtPeerCapture, NpemwinStyleRebuildsEveryCapturedFrameExactly) {
  for (const std::string capture : {"v1", "v2"}) {
    const auto wire = testing::readFile(corpus("peers/npemwin-" + capture + ".bin"));
    Recorder rec;
    Decoder d(rec);
    testing::feedChunked(d, wire, 0);
    ASSERT_FALSE(rec.segments.empty());
    std::size_t at = 0;  // every byte of the capture is accounted for, in order
    for (std::size_t i = 0; i < rec.segments.size(); ++i) {
      const Segment& s = rec.segments[i];
      FrameSpec spec;
      spec.filename = s.filename;
      spec.block_number = s.block_number;
      spec.total_blocks = s.total_blocks;
      spec.fd_unix_s = s.fd_unix_s;
      spec.version = capture == "v2" ? Version::kV2 : Version::kV1;
      spec.style = HeaderStyle::kNpemwin;
      const auto frame = encodeFrame(spec, s.data);
      ASSERT_EQ(s.stream_offset, at + 6) << capture << " frame " << i;
      ASSERT_LE(at + frame.size(), wire.size()) << capture << " frame " << i;
      ASSERT_TRUE(std::equal(frame.begin(), frame.end(), wire.begin() + static_cast<std::ptrdiff_t>(at)))
          << capture << " frame " << i << " " << s.filename << " " << s.block_number << "/" << s.total_blocks;
      at += frame.size();
    }
    EXPECT_EQ(at, wire.size()) << capture;
  }
}

// The header of issue 13, exactly as npemwin sends it, over V2 (with /DL483)
// and V1 (the same header without /DL): block 1 of the flash-flood statement
// the header belongs to, whose bytes sum to 72732 and deflate to 483 bytes.
std::vector<std::uint8_t> issueBlock() {
  auto block = testing::readFile(corpus("products/flash_flood_warning/FFW-FFSLCH_1.txt"));
  block.resize(kBlockSize);
  return block;
}

TEST(QbtPeerHeader, IssueHeaderParsesOverV2) {
  const std::string header = "/PFFFWFFS02.TXT/PN 1    /PT 2    /CS 72732 /FD12/02/2026 12:11:20 AM /DL483   \r\n";
  ASSERT_EQ(header.size(), 80u);
  ASSERT_EQ(header.find("/DL"), 69u);
  const auto block = issueBlock();
  ASSERT_EQ(blockChecksum(block), 72732u);
  const auto packed = deflateBlockV2(block, HeaderStyle::kNpemwin);
  ASSERT_EQ(packed.size(), 483u);
  const std::string text = std::string(6, '\0') + header;
  std::vector<std::uint8_t> wire(text.begin(), text.end());
  wire.insert(wire.end(), packed.begin(), packed.end());  // no 6-NUL suffix
  xorInPlace(wire);
  FrameSpec next_spec;
  next_spec.filename = "NEXT.TXT";
  next_spec.fd_unix_s = 1796170280;
  const auto next = encodeFrame(next_spec, {});
  wire.insert(wire.end(), next.begin(), next.end());
  for (const std::size_t chunk : {1u, 0u}) {
    Recorder rec;
    Decoder d(rec);
    testing::feedChunked(d, wire, chunk);
    EXPECT_TRUE(rec.bad.empty()) << chunk;
    ASSERT_EQ(rec.segments.size(), 2u) << chunk;
    const Segment& s = rec.segments[0];
    EXPECT_EQ(s.filename, "FFWFFS02.TXT");
    EXPECT_EQ(s.block_number, 1u);
    EXPECT_EQ(s.total_blocks, 2u);
    EXPECT_EQ(s.declared_checksum, 72732u);
    EXPECT_EQ(s.fd_text, "12/02/2026 12:11:20 AM");
    EXPECT_EQ(s.fd_unix_s, 1796170280);  // 2026-12-02T00:11:20Z
    EXPECT_EQ(s.version, Version::kV2);
    EXPECT_EQ(s.payload_bytes, 483u);
    EXPECT_TRUE(std::equal(block.begin(), block.end(), s.data.begin()));
    EXPECT_EQ(rec.segments[1].filename, "NEXT.TXT");
  }
}

TEST(QbtPeerHeader, IssueHeaderParsesOverV1) {
  const std::string header = "/PFFFWFFS02.TXT/PN 1    /PT 2    /CS 72732 /FD12/02/2026 12:11:20 AM          \r\n";
  ASSERT_EQ(header.size(), 80u);
  const auto block = issueBlock();
  const std::string text = std::string(6, '\0') + header;
  std::vector<std::uint8_t> wire(text.begin(), text.end());
  wire.insert(wire.end(), block.begin(), block.end());
  wire.insert(wire.end(), 6, 0);
  xorInPlace(wire);
  Recorder rec;
  Decoder d(rec);
  testing::feedChunked(d, wire, 7);
  EXPECT_TRUE(rec.bad.empty());
  ASSERT_EQ(rec.segments.size(), 1u);
  EXPECT_EQ(rec.segments[0].version, Version::kV1);
  EXPECT_EQ(rec.segments[0].declared_checksum, 72732u);
  EXPECT_EQ(rec.segments[0].fd_unix_s, 1796170280);
  EXPECT_TRUE(std::equal(block.begin(), block.end(), rec.segments[0].data.begin()));
}

// Optional spaces after every marker, not only the three npemwin pads, and
// between fields; still one value per field and the fields in order.
TEST(QbtPeerHeader, SpacesAfterEveryMarkerAndBetweenFields) {
  std::vector<std::uint8_t> block(kBlockSize, 0);
  block[0] = 'A';
  const std::string cs = std::to_string(blockChecksum(block));
  for (const std::string& header :
       {"/PF A.TXT/PN 1/PT 1/CS " + cs + "/FD 1/2/2026 1:00:00 AM",
        "/PF  A.TXT  /PN  1  /PT  1  /CS  " + cs + "  /FD  01/02/2026 01:00:00 AM",
        "/PFA.TXT/PN1/PT1/CS" + cs + "/FD01/02/2026 01:00:00 AM"}) {
    std::string h = header;
    h.resize(78, ' ');
    h += "\r\n";
    const std::string text = std::string(6, '\0') + h;
    std::vector<std::uint8_t> wire(text.begin(), text.end());
    wire.insert(wire.end(), block.begin(), block.end());
    wire.insert(wire.end(), 6, 0);
    xorInPlace(wire);
    Recorder rec;
    Decoder d(rec);
    testing::feedChunked(d, wire, 0);
    EXPECT_TRUE(rec.bad.empty()) << header;
    ASSERT_EQ(rec.segments.size(), 1u) << header;
    EXPECT_EQ(rec.segments[0].filename, "A.TXT") << header;
    EXPECT_EQ(rec.segments[0].fd_unix_s, 1767315600) << header;  // 2026-01-02T01:00:00Z
  }
}

}  // namespace
}  // namespace emwin::qbt
