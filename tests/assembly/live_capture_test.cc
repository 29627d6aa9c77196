// The real capture (corpus/live) through the real decoder and the assembler:
// exactly the 28 distinct complete products, one partial (G10CIRUS.ZIP
// 135/375) at the end, archives unpacked to their products.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <tuple>

#include "assembly/assembler.h"
#include "qbt/decoder.h"
#include "runtime/sha256.h"
#include "test_util.h"

namespace emwin::assembly {
namespace {

using namespace std::chrono_literals;

struct Collector : qbt::DecoderCallbacks {
  std::vector<qbt::Segment> segments;
  std::size_t bad = 0;
  void onSegment(const qbt::Segment& s) override { segments.push_back(s); }
  void onServerList(const qbt::ServerList&) override {}
  void onBadInput(const qbt::BadInput&) override { ++bad; }
};

std::vector<qbt::Segment> liveSegments() {
  const auto wire = test::readFile(EMWIN_CORPUS_DIR "/live/stream0-20260303.bin");
  Collector c;
  qbt::Decoder d(c);
  d.feed(wire);
  d.finish();
  EXPECT_EQ(c.bad, 0u);
  return c.segments;
}

// The 28 distinct complete products of the capture, in completion order
// (name, delivered size, blocks), as listed by emwin-inspect and checked
// below against an independent regrouping of the decoded blocks.
const std::vector<std::tuple<std::string, std::size_t, std::uint32_t>> kExpected = {
    {"SAHOURLY.TXT", 114, 1},   {"SAHOURLY.TXT", 93, 1},    {"RVFMCTUT.TXT", 16864, 17},
    {"SAHOURLY.TXT", 539, 1},   {"COMP1018.ZIP", 2407, 3},  {"NPSA01US.ZIP", 315368, 308},
    {"TAFRVSOK.TXT", 249, 1},   {"TAFMD.TXT", 136, 1},      {"TAFMD1.TXT", 128, 1},
    {"TAFMD2.ZIP", 359, 1},     {"MISA50US.TXT", 109, 1},   {"SAHOURLY.ZIP", 504, 1},
    {"SAHOURLY.ZIP", 1204, 2},  {"SAHOURLY.ZIP", 1286, 2},  {"MISS70US.TXT", 1241, 2},
    {"SAHOURLY.TXT", 1270, 2},  {"SAHOURLY.TXT", 128, 1},   {"MISS80US.TXT", 449, 1},
    {"RVFMKLOH.TXT", 5167, 6},  {"SAHOURLY.ZIP", 1194, 2},  {"SAHOURLY.ZIP", 1251, 2},
    {"SAGD31.TXT", 97, 1},      {"CGRSGXCA.TXT", 349, 1},   {"TAFFYVOK.TXT", 249, 1},
    {"SAHOURLY.ZIP", 1279, 2},  {"TAFALLUS.ZIP", 417, 1},   {"WABZ23.TXT", 189, 1},
    {"WABZ231.TXT", 189, 1},
};

class LiveCaptureTest : public ::testing::Test {
 protected:
  void run(Assembler& a, const std::vector<qbt::Segment>& segs) {
    for (const auto& s : segs) {
      a.add(s, "replay:stream0");
      clock_.advance(160ms);  // ~82 s over 500 frames, as captured
    }
  }
  Options opts() {
    Options o;
    o.clock = clock_.clock();
    return o;
  }
  test::FakeClock clock_;
  test::Recorder rec_;
};

TEST_F(LiveCaptureTest, YieldsTheTwentyEightProductsAndOnePartial) {
  const auto segs = liveSegments();
  ASSERT_EQ(segs.size(), 500u);
  Assembler a(opts(), rec_);
  run(a, segs);
  a.drainPartials();

  std::vector<const CompletedFile*> from_blocks;
  std::set<std::pair<std::string, std::string>> distinct;
  for (const auto& f : rec_.files) {
    if (f.origin != Origin::kBlocks) continue;
    from_blocks.push_back(&f);
    distinct.insert({f.name, f.sha256});
    std::printf("%-14s %8zu bytes %4u blocks%s\n", f.name.c_str(), f.size(), f.block_count,
                f.is_archive ? " (archive)" : "");
  }
  EXPECT_EQ(distinct.size(), 28u);
  ASSERT_EQ(from_blocks.size(), kExpected.size());
  for (std::size_t i = 0; i < kExpected.size(); ++i) {
    const auto& [name, size, blocks] = kExpected[i];
    EXPECT_EQ(from_blocks[i]->name, name) << i;
    EXPECT_EQ(from_blocks[i]->size(), size) << name;
    EXPECT_EQ(from_blocks[i]->block_count, blocks) << name;
  }

  // Independent regrouping by (name, fd, total), a new transmission starting
  // when the previous one with that key is complete (two 1-block SAHOURLY.TXT
  // share name, stamp and total): raw digests and text trimming agree.
  using Group = std::map<std::uint32_t, const qbt::Segment*>;
  std::map<std::tuple<std::string, std::int64_t, std::uint32_t>, std::vector<Group>> groups;
  for (const auto& s : segs) {
    auto& list = groups[{s.filename, s.fd_unix_s, s.total_blocks}];
    if (list.empty() || list.back().size() == s.total_blocks) list.emplace_back();
    list.back()[s.block_number] = &s;
  }
  std::size_t complete_groups = 0;
  for (const auto& [key, list] : groups) {
    for (const auto& blocks : list) {
      if (blocks.size() != std::get<2>(key)) continue;
      ++complete_groups;
      test::Bytes raw;
      for (const auto& [n, s] : blocks) raw.insert(raw.end(), s->data.begin(), s->data.end());
      const std::string raw_sha = runtime::sha256Hex(raw);
      const auto match = std::find_if(from_blocks.begin(), from_blocks.end(), [&](const CompletedFile* f) {
        return f->name == std::get<0>(key) && f->fd_unix_s == std::get<1>(key) &&
               f->block_count == std::get<2>(key) && f->raw_sha256 == raw_sha;
      });
      ASSERT_NE(match, from_blocks.end()) << std::get<0>(key);
      if (!(*match)->is_archive) {
        EXPECT_EQ(test::dataOf(**match), test::trimNul(raw)) << std::get<0>(key);
      }
    }
  }
  EXPECT_EQ(complete_groups, 28u);

  // Archives unpack to their products.
  const CompletedFile* gif = rec_.find("NPSA01US.GIF");
  ASSERT_NE(gif, nullptr);
  EXPECT_EQ(gif->size(), 318522u);
  EXPECT_EQ(gif->origin, Origin::kArchiveEntry);
  EXPECT_EQ(gif->archive.archive_name, "NPSA01US.ZIP");
  EXPECT_EQ(gif->data.substr(0, 4), "GIF8");
  EXPECT_EQ(gif->data.back(), 0x3B);
  EXPECT_EQ(gif->archive.archive_sha256, rec_.find("NPSA01US.ZIP")->sha256);
  const CompletedFile* lco = rec_.find("LCOLZKAR.TXT");
  ASSERT_NE(lco, nullptr);
  EXPECT_EQ(lco->archive.archive_name, "COMP1018.ZIP");
  std::size_t entries = 0;
  for (const auto& f : rec_.files) entries += f.origin == Origin::kArchiveEntry;
  EXPECT_EQ(entries, a.stats().archive_entries);
  EXPECT_GE(entries, 10u);
  for (std::size_t e = 0; e < kArchiveErrorCount; ++e) EXPECT_EQ(a.stats().archive_errors[e], 0u) << e;

  ASSERT_EQ(rec_.evictions.size(), 1u);
  EXPECT_EQ(rec_.evictions[0].name, "G10CIRUS.ZIP");
  EXPECT_EQ(rec_.evictions[0].blocks_held, 135u);
  EXPECT_EQ(rec_.evictions[0].total_blocks, 375u);
  EXPECT_EQ(rec_.evictions[0].reason, EvictionReason::kEndOfInput);
  EXPECT_EQ(a.stats().segments_in, 500u);
}

TEST_F(LiveCaptureTest, WholeCaptureRepeatedLaterIsSuppressedAsRetransmission) {
  const auto segs = liveSegments();
  Assembler a(opts(), rec_);
  run(a, segs);
  const std::size_t first_pass = rec_.files.size();
  const std::uint64_t first_duplicates = a.stats().duplicate_blocks;
  // Blocks of the multi-block files delivered in the first pass (same stamps the second time).
  std::uint64_t delivered_blocks = 0;
  for (const auto& f : rec_.files) {
    if (f.origin == Origin::kBlocks && f.block_count > 1) delivered_blocks += f.block_count;
  }
  ASSERT_GT(delivered_blocks, 308u);
  clock_.advance(10s);
  run(a, segs);
  EXPECT_EQ(rec_.files.size(), first_pass);
  EXPECT_EQ(a.stats().retransmissions_suppressed, 28u);
  // The unfinished archive saw only duplicates the second time; every block of a
  // delivered file repeated under its stamp is a duplicate too.
  ASSERT_EQ(a.partials().size(), 1u);
  EXPECT_EQ(a.partials()[0].blocks_held, 135u);
  EXPECT_EQ(a.stats().duplicate_blocks - first_duplicates, 135u + delivered_blocks);
  EXPECT_EQ(rec_.evictions.size(), 0u);
}

}  // namespace
}  // namespace emwin::assembly
