// Unit tests of emwin::assembly::Assembler with hand-built segments.
#include "assembly/assembler.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "test_util.h"

namespace emwin::assembly {
namespace {

using namespace std::chrono_literals;
using test::Bytes;

class AssemblerTest : public ::testing::Test {
 protected:
  Options opts() {
    Options o;
    o.clock = clock_.clock();
    return o;
  }
  void feed(Assembler& a, const std::vector<qbt::Segment>& segs) {
    for (const auto& s : segs) a.add(s, "test:1");
  }
  test::FakeClock clock_;
  test::Recorder rec_;
};

using test::corpusProducts;
using test::Product;

TEST_F(AssemblerTest, ShuffledInterleavedDuplicatedCorpusProductsReassembleByteIdentical) {
  const auto products = corpusProducts();
  ASSERT_GT(products.size(), 300u);
  // Every product is its own transmission (distinct stamp); names may repeat across folders.
  std::vector<qbt::Segment> segs;
  std::mt19937 rng(12345);
  std::map<std::pair<std::string, std::int64_t>, Bytes> expected;
  std::int64_t fd = 1772550000;
  for (const auto& p : products) {
    auto file_segs = test::makeSegments(p.name, p.content, ++fd);
    expected[{p.name, fd}] = test::trimNul(p.content);
    // Duplicate about a third of the blocks; duplicates stay before the file's last new block.
    std::vector<qbt::Segment> with_dups = file_segs;
    for (const auto& s : file_segs) {
      if (rng() % 3 == 0) with_dups.push_back(s);
    }
    std::shuffle(with_dups.begin(), with_dups.end(), rng);
    // The block whose first arrival completes the file goes last, once: every
    // duplicate then arrives while the file is still partial.
    std::set<std::uint32_t> seen;
    std::uint32_t completing = 0;
    for (const auto& s : with_dups) {
      if (seen.insert(s.block_number).second && seen.size() == file_segs.size()) completing = s.block_number;
    }
    std::vector<qbt::Segment> ordered;
    for (auto& s : with_dups) {
      if (s.block_number != completing) ordered.push_back(std::move(s));
    }
    ordered.push_back(file_segs[completing - 1]);
    segs.insert(segs.end(), ordered.begin(), ordered.end());
  }
  // Interleave files: stable shuffle preserving each file's internal order.
  std::vector<std::size_t> keys(segs.size());
  for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = rng();
  std::map<std::pair<std::string, std::int64_t>, std::vector<std::size_t>> by_file;
  for (std::size_t i = 0; i < segs.size(); ++i) by_file[{segs[i].filename, segs[i].fd_unix_s}].push_back(i);
  std::vector<std::pair<std::size_t, std::size_t>> slots;  // (random key, segment index)
  for (auto& [k, idx] : by_file) {
    std::vector<std::size_t> r;
    for (std::size_t j = 0; j < idx.size(); ++j) r.push_back(keys[idx[j]]);
    std::sort(r.begin(), r.end());
    for (std::size_t j = 0; j < idx.size(); ++j) slots.emplace_back(r[j], idx[j]);
  }
  std::sort(slots.begin(), slots.end());

  Assembler a(opts(), rec_);
  for (const auto& [k, i] : slots) {
    a.add(segs[i], "test:1");
    clock_.advance(1ms);
  }

  ASSERT_EQ(rec_.files.size(), expected.size());
  EXPECT_TRUE(rec_.evictions.empty());
  EXPECT_EQ(a.stats().partial_files, 0u);
  EXPECT_EQ(a.stats().partial_bytes, 0u);
  EXPECT_GT(a.stats().duplicate_blocks, 0u);
  std::size_t blocks = 0;
  for (const auto& f : rec_.files) {
    const auto it = expected.find({f.name, f.fd_unix_s});
    ASSERT_NE(it, expected.end()) << f.name;
    EXPECT_EQ(test::dataOf(f), it->second) << f.name;
    EXPECT_EQ(f.size(), it->second.size());
    EXPECT_EQ(f.origin, Origin::kBlocks);
    EXPECT_EQ(f.source, "test:1");
    EXPECT_EQ(f.sha256.size(), 64u);
    blocks += f.block_count;
  }
  EXPECT_EQ(a.stats().segments_in, segs.size());
  EXPECT_EQ(a.stats().duplicate_blocks, segs.size() - blocks);
}

TEST_F(AssemblerTest, InnerBlocksKeptExactlyOnlyTailTrimmed) {
  Bytes content(2048, ' ');
  content[1020] = 0;  // a NUL inside block 1 and spaces at its end must survive
  content[2047] = 'X';
  content.resize(2500, 0);  // tail NULs beyond the content end (inside the last block)
  content[2100] = 'Y';
  Assembler a(opts(), rec_);
  auto segs = test::makeSegments("INNER.TXT", content, 1);
  std::reverse(segs.begin(), segs.end());
  feed(a, segs);
  ASSERT_EQ(rec_.files.size(), 1u);
  EXPECT_EQ(rec_.files[0].size(), 2101u);
  EXPECT_EQ(test::dataOf(rec_.files[0]), Bytes(content.begin(), content.begin() + 2101));
  EXPECT_EQ(rec_.files[0].block_count, 3u);
  EXPECT_NE(rec_.files[0].sha256, rec_.files[0].raw_sha256);
}

TEST_F(AssemblerTest, RetransmissionFiveSecondsLaterDeliveredOnce) {
  const Bytes content = test::toBytes(std::string(3000, 'a') + "WARNING");
  Assembler a(opts(), rec_);
  feed(a, test::makeSegments("TORDMXIA.TXT", content, 100));
  clock_.advance(6s);
  feed(a, test::makeSegments("TORDMXIA.TXT", content, 100));  // same stamp
  clock_.advance(6s);
  feed(a, test::makeSegments("TORDMXIA.TXT", content, 107));  // re-stamped
  EXPECT_EQ(rec_.files.size(), 1u);
  EXPECT_EQ(a.stats().retransmissions_suppressed, 2u);
  EXPECT_EQ(a.stats().files_completed, 1u);
  // The same-stamp retransmission's 3 blocks repeat a delivered file's blocks.
  EXPECT_EQ(a.stats().duplicate_blocks, 3u);
  EXPECT_TRUE(rec_.evictions.empty());
  // After the window the same content is a new delivery.
  clock_.advance(a.options().dedupe_window + 1s);
  feed(a, test::makeSegments("TORDMXIA.TXT", content, 900));
  EXPECT_EQ(rec_.files.size(), 2u);
}

TEST_F(AssemblerTest, SameNameSameContentDifferentNameNotSuppressed) {
  const Bytes content = test::toBytes("SAME BODY");
  Assembler a(opts(), rec_);
  feed(a, test::makeSegments("A.TXT", content, 1));
  feed(a, test::makeSegments("B.TXT", content, 1));
  EXPECT_EQ(rec_.files.size(), 2u);
}

TEST_F(AssemblerTest, DedupeCountBoundForgetsOldest) {
  Options o = opts();
  o.dedupe_max_entries = 2;
  Assembler a(o, rec_);
  feed(a, test::makeSegments("A.TXT", test::toBytes("1"), 1));
  feed(a, test::makeSegments("B.TXT", test::toBytes("2"), 1));
  feed(a, test::makeSegments("C.TXT", test::toBytes("3"), 1));
  feed(a, test::makeSegments("A.TXT", test::toBytes("1"), 2));  // forgotten -> delivered
  feed(a, test::makeSegments("C.TXT", test::toBytes("3"), 2));  // remembered -> suppressed
  EXPECT_EQ(rec_.files.size(), 4u);
  EXPECT_EQ(a.stats().retransmissions_suppressed, 1u);
}

TEST_F(AssemblerTest, DistinctProductsSharingNameAndStampBothDelivered) {
  const Bytes one = test::toBytes(std::string(1500, 'x') + "ONE");
  const Bytes two = test::toBytes(std::string(1500, 'y') + "TWO");
  Assembler a(opts(), rec_);
  feed(a, test::makeSegments("SAHOURLY.TXT", one, 500));
  clock_.advance(6s);
  feed(a, test::makeSegments("SAHOURLY.TXT", two, 500));
  ASSERT_EQ(rec_.files.size(), 2u);
  EXPECT_EQ(test::dataOf(rec_.files[0]), one);
  EXPECT_EQ(test::dataOf(rec_.files[1]), two);
}

// Issue 13: a duplicate of a file's last block right after the file completed
// opened a new partial, later evicted and counted as an eviction although the
// product had been delivered. It is a duplicate block, and no eviction follows.
TEST_F(AssemblerTest, LateDuplicateOfTheLastBlockIsADuplicateNotAnEviction) {
  Options o = opts();
  o.partial_timeout = 60s;
  Assembler a(o, rec_);
  const auto segs = test::makeSegments("FFWFFS02.TXT", Bytes(2500, 'f'), 1772550000);
  feed(a, segs);
  ASSERT_EQ(rec_.files.size(), 1u);
  EXPECT_EQ(a.stats().duplicate_blocks, 0u);
  clock_.advance(1s);
  a.add(segs.back(), "test:1");  // the server sends the last block once more
  EXPECT_EQ(a.stats().duplicate_blocks, 1u);
  clock_.advance(61s);
  a.expire();
  EXPECT_TRUE(rec_.evictions.empty());
  EXPECT_EQ(a.stats().evictions_timeout, 0u);
  EXPECT_EQ(a.stats().partial_files, 0u);
  EXPECT_EQ(a.stats().partial_bytes, 0u);
  EXPECT_EQ(rec_.files.size(), 1u);
  // The same at end of input and under the memory cap: never reported as given up.
  a.add(segs[0], "test:1");
  a.add(segs[1], "test:1");
  a.drainPartials();
  EXPECT_TRUE(rec_.evictions.empty());
  EXPECT_EQ(a.stats().duplicate_blocks, 3u);
  EXPECT_EQ(a.stats().evictions_end_of_input, 0u);
}

// A late duplicate is still held: if a block that differs follows, it was the
// first block of another product that shares name, stamp and block count (the
// real feed has those), and that product is delivered whole.
TEST_F(AssemblerTest, NewProductSharingKeyAndFirstBlockWithADeliveredOneIsDelivered) {
  const Bytes one = test::toBytes(std::string(1024, 'h') + std::string(900, '1'));
  const Bytes two = test::toBytes(std::string(1024, 'h') + std::string(900, '2'));  // same block 1
  Assembler a(opts(), rec_);
  feed(a, test::makeSegments("SAHOURLY.TXT", one, 500));
  clock_.advance(6s);
  feed(a, test::makeSegments("SAHOURLY.TXT", two, 500));
  ASSERT_EQ(rec_.files.size(), 2u);
  EXPECT_EQ(test::dataOf(rec_.files[0]), one);
  EXPECT_EQ(test::dataOf(rec_.files[1]), two);
  EXPECT_EQ(a.stats().duplicate_blocks, 1u);  // block 1 looked like a repeat when it came
  EXPECT_EQ(a.stats().retransmissions_suppressed, 0u);
  EXPECT_TRUE(rec_.evictions.empty());
}

// Past the dedupe window a completed file is forgotten: a lone block of it is
// an ordinary partial again, given up (and reported) after the timeout.
TEST_F(AssemblerTest, LoneBlockAfterTheDedupeWindowIsAnOrdinaryPartial) {
  Options o = opts();
  o.partial_timeout = 60s;
  o.dedupe_window = 30s;
  Assembler a(o, rec_);
  const auto segs = test::makeSegments("LATE.TXT", Bytes(2500, 'l'), 7);
  feed(a, segs);
  clock_.advance(31s);
  a.add(segs.back(), "test:1");
  EXPECT_EQ(a.stats().duplicate_blocks, 0u);
  clock_.advance(60s);
  a.expire();
  ASSERT_EQ(rec_.evictions.size(), 1u);
  EXPECT_EQ(rec_.evictions[0].reason, EvictionReason::kTimeout);
}

TEST_F(AssemblerTest, SameNameAndStampDifferentTotalInterleavedBothDelivered) {
  const Bytes small = test::toBytes(std::string(1500, 's'));       // 2 blocks
  const Bytes large = test::toBytes(std::string(2500, 'L') + "E");  // 3 blocks
  auto s = test::makeSegments("SAHOURLY.TXT", small, 500);
  auto l = test::makeSegments("SAHOURLY.TXT", large, 500);
  Assembler a(opts(), rec_);
  a.add(l[0]);
  a.add(s[0]);
  a.add(l[1]);
  a.add(s[1]);
  a.add(l[2]);
  ASSERT_EQ(rec_.files.size(), 2u);
  EXPECT_EQ(rec_.files[0].block_count, 2u);
  EXPECT_EQ(test::dataOf(rec_.files[0]), small);
  EXPECT_EQ(rec_.files[1].block_count, 3u);
  EXPECT_EQ(test::dataOf(rec_.files[1]), large);
}

TEST_F(AssemblerTest, FillDroppedAndHostileSegmentsRejectedWithReasons) {
  Options o = opts();
  o.max_total_blocks = 1000;
  Assembler a(o, rec_);
  feed(a, test::makeSegments("FILLFILE.TXT", test::toBytes("fill"), 1));
  auto huge = test::makeSegments("HUGE.TXT", test::toBytes("x"), 1);
  huge[0].total_blocks = 1001;
  a.add(huge[0]);
  auto range = test::makeSegments("RANGE.TXT", test::toBytes("x"), 1);
  range[0].block_number = 2;
  a.add(range[0]);
  range[0].block_number = 0;
  a.add(range[0]);
  auto noname = test::makeSegments("", test::toBytes("x"), 1);
  a.add(noname[0]);
  feed(a, test::makeSegments("GOOD.TXT", test::toBytes("good"), 1));
  const Stats& st = a.stats();
  EXPECT_EQ(st.segments_in, 6u);
  EXPECT_EQ(st.fill_dropped, 1u);
  EXPECT_EQ(st.rejected_segments[static_cast<std::size_t>(RejectReason::kTotalTooLarge)], 1u);
  EXPECT_EQ(st.rejected_segments[static_cast<std::size_t>(RejectReason::kBlockRange)], 2u);
  EXPECT_EQ(st.rejected_segments[static_cast<std::size_t>(RejectReason::kBadFilename)], 1u);
  ASSERT_EQ(rec_.files.size(), 1u);
  EXPECT_EQ(rec_.files[0].name, "GOOD.TXT");
}

TEST_F(AssemblerTest, HugeTotalHoldsMemoryProportionalToBlocksHeld) {
  Assembler a(opts(), rec_);
  qbt::Segment s;
  s.filename = "BIG.TXT";
  s.total_blocks = 100000;
  s.block_number = 99999;
  a.add(s);
  EXPECT_EQ(a.stats().partial_files, 1u);
  EXPECT_LT(a.stats().partial_bytes, 2 * Assembler::kBlockCost + Assembler::kFileCost);
  s.block_number = 7;
  a.add(s);
  ASSERT_EQ(a.partials().size(), 1u);
  EXPECT_EQ(a.partials()[0].blocks_held, 2u);
}

TEST_F(AssemblerTest, PartialEvictedAfterIdleTimeoutWithReport) {
  Options o = opts();
  o.partial_timeout = 60s;
  Assembler a(o, rec_);
  auto segs = test::makeSegments("SLOW.TXT", Bytes(5000, 'z'), 42);
  a.add(segs[0]);
  a.add(segs[3]);
  clock_.advance(59s);
  a.expire();
  EXPECT_TRUE(rec_.evictions.empty());
  a.add(segs[3]);  // a duplicate does not refresh the partial
  clock_.advance(1s);
  a.expire();
  ASSERT_EQ(rec_.evictions.size(), 1u);
  const Eviction& e = rec_.evictions[0];
  EXPECT_EQ(e.name, "SLOW.TXT");
  EXPECT_EQ(e.fd_unix_s, 42);
  EXPECT_EQ(e.blocks_held, 2u);
  EXPECT_EQ(e.total_blocks, 5u);
  EXPECT_EQ(e.reason, EvictionReason::kTimeout);
  EXPECT_EQ(a.stats().evictions_timeout, 1u);
  EXPECT_EQ(a.stats().partial_files, 0u);
  EXPECT_EQ(a.stats().partial_bytes, 0u);
  // The rest of that file arriving later starts a fresh partial (not merged into the evicted one).
  a.add(segs[1]);
  EXPECT_EQ(a.partials().at(0).blocks_held, 1u);
}

TEST_F(AssemblerTest, TimeoutAlsoCheckedWhenTheNextSegmentArrives) {
  Options o = opts();
  o.partial_timeout = 10s;
  Assembler a(o, rec_);
  auto old_segs = test::makeSegments("OLD.TXT", Bytes(3000, 'o'), 1);
  a.add(old_segs[0]);
  clock_.advance(11s);
  feed(a, test::makeSegments("NEW.TXT", test::toBytes("new"), 2));
  ASSERT_EQ(rec_.evictions.size(), 1u);
  EXPECT_EQ(rec_.evictions[0].name, "OLD.TXT");
  EXPECT_EQ(rec_.files.size(), 1u);
}

TEST_F(AssemblerTest, MemoryCapEvictsLeastRecentlyUpdatedFirst) {
  Options o = opts();
  // Room for three open files and five blocks, not six.
  o.max_partial_bytes = 3 * (Assembler::kFileCost + 6) + 5 * Assembler::kBlockCost + Assembler::kBlockCost / 2;
  Assembler a(o, rec_);
  auto f1 = test::makeSegments("F1.TXT", Bytes(4000, '1'), 1);
  auto f2 = test::makeSegments("F2.TXT", Bytes(4000, '2'), 1);
  auto f3 = test::makeSegments("F3.TXT", Bytes(4000, '3'), 1);
  a.add(f1[0]);
  clock_.advance(1s);
  a.add(f2[0]);
  clock_.advance(1s);
  a.add(f3[0]);
  clock_.advance(1s);
  a.add(f1[1]);  // F1 becomes the most recently updated
  clock_.advance(1s);
  a.add(f2[1]);
  clock_.advance(1s);
  EXPECT_TRUE(rec_.evictions.empty());
  a.add(f3[1]);  // over the cap: F1 was updated before F2 and F3
  ASSERT_EQ(rec_.evictions.size(), 1u);
  EXPECT_EQ(rec_.evictions[0].name, "F1.TXT");
  EXPECT_EQ(rec_.evictions[0].blocks_held, 2u);
  EXPECT_EQ(rec_.evictions[0].total_blocks, 4u);
  EXPECT_EQ(rec_.evictions[0].reason, EvictionReason::kMemory);
  EXPECT_EQ(a.stats().evictions_memory, 1u);
  EXPECT_LE(a.stats().partial_bytes, o.max_partial_bytes);
  EXPECT_EQ(a.stats().partial_files, 2u);
  // The survivors still complete.
  a.add(f2[2]);
  a.add(f2[3]);
  ASSERT_EQ(rec_.files.size(), 1u);
  EXPECT_EQ(test::dataOf(rec_.files[0]), Bytes(4000, '2'));
}

TEST_F(AssemblerTest, DrainReportsEveryPartialAtEndOfInput) {
  Assembler a(opts(), rec_);
  auto x = test::makeSegments("X.ZIP", Bytes(10 * 1024, 'x'), 1);
  auto y = test::makeSegments("Y.TXT", Bytes(3 * 1024, 'y'), 1);
  for (int i = 0; i < 4; ++i) a.add(x[i]);
  a.add(y[2]);
  a.drainPartials();
  ASSERT_EQ(rec_.evictions.size(), 2u);
  EXPECT_EQ(rec_.evictions[0].name, "X.ZIP");
  EXPECT_EQ(rec_.evictions[0].blocks_held, 4u);
  EXPECT_EQ(rec_.evictions[0].total_blocks, 10u);
  EXPECT_EQ(rec_.evictions[1].name, "Y.TXT");
  EXPECT_EQ(rec_.evictions[1].reason, EvictionReason::kEndOfInput);
  EXPECT_EQ(a.stats().evictions_end_of_input, 2u);
  EXPECT_EQ(a.stats().partial_files, 0u);
  EXPECT_EQ(a.stats().partial_bytes, 0u);
}

TEST_F(AssemblerTest, ReceiveTimesAreFirstAndLastBlock) {
  Assembler a(opts(), rec_);
  auto segs = test::makeSegments("T.TXT", Bytes(2048, 't'), 1);
  const TimePoint t0 = clock_.now;
  a.add(segs[1]);
  clock_.advance(1500ms);
  a.add(segs[0]);
  ASSERT_EQ(rec_.files.size(), 1u);
  EXPECT_EQ(rec_.files[0].first_segment_time, t0);
  EXPECT_EQ(rec_.files[0].last_segment_time, t0 + 1500ms);
}

}  // namespace
}  // namespace emwin::assembly
