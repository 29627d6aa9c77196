// Unit tests of emwin::assembly::Assembler fed by several inputs (redundant
// ingest): merging, delivering once, conflicting copies kept apart, inputs
// that restart a key, lagging inputs, and the per-source counters.
#include "assembly/assembler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "test_util.h"

namespace emwin::assembly {
namespace {

using namespace std::chrono_literals;
using test::Bytes;

constexpr SourceIndex kA = 0;
constexpr SourceIndex kB = 1;
constexpr SourceMask kBitA = sourceBit(kA);
constexpr SourceMask kBitB = sourceBit(kB);

class AssemblerSourcesTest : public ::testing::Test {
 protected:
  Options opts() {
    Options o;
    o.clock = clock_.clock();
    o.source_count = 2;
    o.source_window = 30s;
    return o;
  }
  test::FakeClock clock_;
  test::Recorder rec_;
};

Bytes pattern(std::size_t size, char seed) {
  Bytes b(size);
  for (std::size_t i = 0; i < size; ++i) b[i] = static_cast<std::uint8_t>('A' + (seed + i * 7 + i / 1024) % 26);
  return b;
}

// The same segments with block `number` (1-based) holding other bytes.
std::vector<qbt::Segment> altered(std::vector<qbt::Segment> segs, std::uint32_t number) {
  segs[number - 1].data[100] ^= 0x55;
  return segs;
}

Bytes dataOf(const std::vector<qbt::Segment>& segs) {
  Bytes out;
  for (const auto& s : segs) out.insert(out.end(), s.data.begin(), s.data.end());
  return test::trimNul(out);
}

using test::corpusProducts;
using test::Product;

// Two receivers on two servers, each losing a different random tenth of the
// blocks of all 317 corpus products, the second a few blocks behind the first:
// merged, every product is delivered once and byte-identical, where either
// input alone misses most multi-block products.
TEST_F(AssemblerSourcesTest, TwoInputsLosingDifferentBlocksMergeEveryProductByteIdentical) {
  const auto products = corpusProducts();
  ASSERT_GT(products.size(), 300u);
  std::mt19937 rng(2026);
  std::uniform_int_distribution<int> percent(0, 99);
  std::vector<std::pair<SourceIndex, qbt::Segment>> a_stream, b_stream;
  std::map<std::pair<std::string, std::int64_t>, Bytes> expected;
  std::size_t only_a = 0, only_b = 0, whole_a = 0, whole_b = 0, merged = 0;
  std::int64_t fd = 1772550000;
  for (const auto& p : products) {
    const auto segs = test::makeSegments(p.name, p.content, ++fd);
    expected[{p.name, fd}] = test::trimNul(p.content);
    bool a_whole = true, b_whole = true;
    for (const auto& s : segs) {
      const int r = percent(rng);  // [0,10): A loses it; [10,20): B loses it (never both)
      if (r >= 10) {
        a_stream.emplace_back(kA, s);
      } else {
        a_whole = false;
        ++only_b;
      }
      if (r < 10 || r >= 20) {
        b_stream.emplace_back(kB, s);
      } else {
        b_whole = false;
        ++only_a;
      }
    }
    whole_a += a_whole;
    whole_b += b_whole;
    merged += !a_whole && !b_whole;
  }
  // Each input alone completes exactly the products it lost nothing of.
  for (const auto& [stream, whole] : {std::pair{&a_stream, whole_a}, std::pair{&b_stream, whole_b}}) {
    test::Recorder alone;
    Options o = opts();
    o.source_count = 1;
    Assembler a(o, alone);
    for (const auto& [input, s] : *stream) a.add(s, "alone", 0);
    const auto from_blocks = std::count_if(alone.files.begin(), alone.files.end(),
                                           [](const CompletedFile& f) { return f.origin == Origin::kBlocks; });
    EXPECT_EQ(static_cast<std::size_t>(from_blocks), whole);
    EXPECT_LT(whole, products.size() - 40) << "one input alone must miss many products";
  }
  // Merged, B lagging 0..40 blocks behind A.
  Assembler a(opts(), rec_);
  std::size_t ia = 0, ib = 0;
  std::uniform_int_distribution<int> lag(0, 40);
  while (ia < a_stream.size() || ib < b_stream.size()) {
    const bool take_a = ib >= b_stream.size() || (ia < a_stream.size() && ia <= ib + static_cast<std::size_t>(lag(rng)));
    const auto& [input, s] = take_a ? a_stream[ia++] : b_stream[ib++];
    const AddResult r = a.add(s, input == kA ? "server-a:2211" : "server-b:2211", input);
    ASSERT_NE(r.outcome, AddOutcome::kConflict);
    ASSERT_NE(r.outcome, AddOutcome::kEvicted);
  }
  std::map<std::pair<std::string, std::int64_t>, int> delivered;
  for (const auto& f : rec_.files) {
    if (f.origin != Origin::kBlocks) continue;
    ++delivered[{f.name, f.fd_unix_s}];
    const auto it = expected.find({f.name, f.fd_unix_s});
    ASSERT_NE(it, expected.end()) << f.name;
    EXPECT_EQ(test::dataOf(f), it->second) << f.name;
  }
  EXPECT_EQ(delivered.size(), expected.size());
  for (const auto& [key, n] : delivered) EXPECT_EQ(n, 1) << key.first << " delivered " << n << " times";
  EXPECT_TRUE(rec_.evictions.empty());
  EXPECT_EQ(a.stats().partial_files, 0u) << "a lagging input's copies of delivered files are not kept";

  // Per-source counters settle source_window after each delivery.
  EXPECT_EQ(a.stats().sources[kA].blocks_only + a.stats().sources[kB].blocks_only, 0u);
  clock_.advance(31s);
  a.expire();
  const Stats& st = a.stats();
  EXPECT_EQ(st.sources[kA].blocks_only, only_a);
  EXPECT_EQ(st.sources[kB].blocks_only, only_b);
  EXPECT_EQ(st.sources[kA].files_alone, whole_a);
  EXPECT_EQ(st.sources[kB].files_alone, whole_b);
  EXPECT_EQ(st.files_merged, merged);
  EXPECT_GT(merged, 10u);
  EXPECT_EQ(st.sources[kA].blocks_contributed, a_stream.size());
  EXPECT_EQ(st.sources[kB].blocks_contributed, b_stream.size());
  EXPECT_EQ(st.sources[kA].conflicting_blocks + st.sources[kB].conflicting_blocks, 0u);
}

TEST_F(AssemblerSourcesTest, SameProductFromBothInputsIsDeliveredOnceAndCreditsBoth) {
  const auto segs = test::makeSegments("NPSA01US.GIF", pattern(5000, 1), 700);  // 5 blocks
  Assembler a(opts(), rec_);
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const AddResult ra = a.add(segs[i], "a:1", kA);
    const AddResult rb = a.add(segs[i], "b:1", kB);
    if (i + 1 < segs.size()) {
      EXPECT_EQ(ra.outcome, AddOutcome::kStored);
      EXPECT_EQ(rb.outcome, AddOutcome::kDuplicateBlock) << "the equal copy of the other input is done with";
    } else {
      EXPECT_EQ(ra.outcome, AddOutcome::kCompleted);
      EXPECT_EQ(ra.released, kBitA | kBitB) << "both inputs held blocks of the file";
      EXPECT_EQ(rb.outcome, AddOutcome::kDuplicateBlock) << "a late copy of the delivered file";
    }
  }
  ASSERT_EQ(rec_.files.size(), 1u);
  EXPECT_EQ(rec_.files[0].source, "a:1+b:1");
  EXPECT_EQ(rec_.files[0].sources, kBitA | kBitB);
  EXPECT_EQ(a.stats().duplicate_blocks, 5u);
  clock_.advance(30s);
  a.expire();
  EXPECT_EQ(a.stats().sources[kA].files_alone, 1u);
  EXPECT_EQ(a.stats().sources[kB].files_alone, 1u);
  EXPECT_EQ(a.stats().sources[kA].blocks_only, 0u);
  EXPECT_EQ(a.stats().files_merged, 0u);
}

// A whole file behind: the second input's copy arrives after delivery. Nothing
// of it is kept (no partial files), it is counted as duplicates and credited.
TEST_F(AssemblerSourcesTest, LaggingInputsWholeCopyIsNotKeptButCounted) {
  const auto segs = test::makeSegments("RADAR.GIF", pattern(4000, 2), 701);
  Assembler a(opts(), rec_);
  for (const auto& s : segs) a.add(s, "a:1", kA);
  ASSERT_EQ(rec_.files.size(), 1u);
  for (const auto& s : segs) {
    EXPECT_EQ(a.add(s, "b:1", kB).outcome, AddOutcome::kDuplicateBlock);
    EXPECT_EQ(a.stats().partial_files, 0u);
  }
  EXPECT_EQ(rec_.files.size(), 1u);
  clock_.advance(30s);
  a.expire();
  EXPECT_EQ(a.stats().sources[kA].files_alone, 1u);
  EXPECT_EQ(a.stats().sources[kB].files_alone, 1u);
}

// Copies arriving after the source window no longer change the counters.
TEST_F(AssemblerSourcesTest, CountersSettleAfterTheSourceWindow) {
  const auto segs = test::makeSegments("X.TXT", pattern(2500, 3), 702);
  Assembler a(opts(), rec_);
  a.add(segs[0], "a", kA);
  a.add(segs[1], "b", kB);
  a.add(segs[2], "a", kA);
  ASSERT_EQ(rec_.files.size(), 1u);
  clock_.advance(29s);
  a.expire();
  EXPECT_EQ(a.stats().files_merged, 0u) << "not settled yet";
  a.add(segs[1], "a", kA);  // A's late copy of block 2 still counts: A sent the file whole
  clock_.advance(2s);
  a.expire();
  EXPECT_EQ(a.stats().files_merged, 0u);
  EXPECT_EQ(a.stats().sources[kA].files_alone, 1u);
  EXPECT_EQ(a.stats().sources[kB].files_alone, 0u);
  EXPECT_EQ(a.stats().sources[kA].blocks_only, 2u);
  EXPECT_EQ(a.stats().sources[kB].blocks_only, 0u);
  a.add(segs[0], "b", kB);  // after settling: changes nothing
  a.add(segs[2], "b", kB);
  clock_.advance(60s);
  a.expire();
  EXPECT_EQ(a.stats().sources[kB].files_alone, 0u);
}

// Two inputs disagree on block 2. A lacks block 3, B has every block: a merge
// would be A's block 2 with B's block 3. Only B's own version is delivered; A's
// partial version is given up at the timeout (reported for A).
TEST_F(AssemblerSourcesTest, InputsDisagreeingOnABlockAreNeverMixedIntoOneFile) {
  const auto b_segs = test::makeSegments("SAHOURLY.TXT", pattern(3000, 4), 703);
  const auto a_segs = altered(b_segs, 2);
  Options o = opts();
  o.partial_timeout = 60s;
  Assembler a(o, rec_);
  EXPECT_EQ(a.add(a_segs[0], "a", kA).outcome, AddOutcome::kStored);
  EXPECT_EQ(a.add(b_segs[0], "b", kB).outcome, AddOutcome::kDuplicateBlock);
  EXPECT_EQ(a.add(a_segs[1], "a", kA).outcome, AddOutcome::kStored);
  EXPECT_EQ(a.add(b_segs[1], "b", kB).outcome, AddOutcome::kStored);  // differs: B's own copy
  EXPECT_EQ(a.stats().sources[kB].conflicting_blocks, 1u);
  const AddResult r = a.add(b_segs[2], "b", kB);
  ASSERT_EQ(r.outcome, AddOutcome::kCompleted);
  EXPECT_EQ(r.released, kBitB) << "A's version is still open: A keeps its held blocks";
  ASSERT_EQ(rec_.files.size(), 1u);
  EXPECT_EQ(test::dataOf(rec_.files[0]), dataOf(b_segs));
  EXPECT_EQ(rec_.files[0].source, "b");
  EXPECT_EQ(a.stats().partial_files, 1u);
  clock_.advance(61s);
  a.expire();
  ASSERT_EQ(rec_.evictions.size(), 1u);
  EXPECT_EQ(rec_.evictions[0].sources, kBitA);
  EXPECT_EQ(rec_.evictions[0].blocks_held, 2u);
  EXPECT_EQ(rec_.files.size(), 1u) << "no file mixing A's block 2 with B's block 3";
}

// Both inputs whole but disagreeing: each input's version is delivered, as two
// products that share name, stamp and block count; neither is a mix.
TEST_F(AssemblerSourcesTest, TwoWholeDisagreeingVersionsAreDeliveredEachFromItsOwnInput) {
  const auto a_segs = test::makeSegments("TWO.TXT", pattern(3000, 5), 704);
  const auto b_segs = altered(altered(a_segs, 1), 3);
  Assembler a(opts(), rec_);
  for (std::size_t i = 0; i < a_segs.size(); ++i) {
    a.add(a_segs[i], "a", kA);
    a.add(b_segs[i], "b", kB);
  }
  ASSERT_EQ(rec_.files.size(), 2u);
  std::set<Bytes> got{test::dataOf(rec_.files[0]), test::dataOf(rec_.files[1])};
  EXPECT_EQ(got, (std::set<Bytes>{dataOf(a_segs), dataOf(b_segs)}));
  // Block 1's disagreement was seen; by the time B's block 3 came, A's version
  // was delivered and gone from the partial file: B's block 3 just completed B's.
  EXPECT_EQ(a.stats().sources[kB].conflicting_blocks, 1u);
  EXPECT_EQ(a.stats().partial_files, 0u);
}

// B was sending the file A completed, then sends a block that differs from
// the delivered one: counted as conflicting and dropped, never delivered mixed.
TEST_F(AssemblerSourcesTest, DisagreeingCopyAfterDeliveryIsCountedAndDropped) {
  const auto segs = test::makeSegments("LATE.TXT", pattern(4000, 6), 705);
  const auto b_segs = altered(segs, 3);
  Assembler a(opts(), rec_);
  a.add(segs[0], "a", kA);
  a.add(b_segs[0], "b", kB);
  a.add(segs[1], "a", kA);
  a.add(segs[2], "a", kA);
  ASSERT_EQ(a.add(segs[3], "a", kA).outcome, AddOutcome::kCompleted);
  EXPECT_EQ(a.add(b_segs[1], "b", kB).outcome, AddOutcome::kDuplicateBlock);
  EXPECT_EQ(a.add(b_segs[2], "b", kB).outcome, AddOutcome::kConflict);
  EXPECT_EQ(a.add(b_segs[3], "b", kB).outcome, AddOutcome::kDuplicateBlock);
  EXPECT_EQ(a.stats().sources[kB].conflicting_blocks, 1u);
  EXPECT_EQ(rec_.files.size(), 1u);
  EXPECT_EQ(a.stats().partial_files, 0u);
  EXPECT_TRUE(rec_.evictions.empty());
}

// The real feed has distinct products sharing name, stamp and block count.
// A sends P1 then P2; B lags a few blocks behind with the same two. Each is
// delivered once, whole, and nothing counts as a conflict.
TEST_F(AssemblerSourcesTest, ProductsSharingTheKeyFromALaggingInputAreDeliveredOnceEach) {
  const auto p1 = test::makeSegments("SAHOURLY.TXT", pattern(4000, 7), 706);
  const auto p2 = test::makeSegments("SAHOURLY.TXT", pattern(4000, 8), 706);
  std::vector<std::pair<SourceIndex, qbt::Segment>> order;
  std::vector<qbt::Segment> a_all(p1), b_all(p1);
  a_all.insert(a_all.end(), p2.begin(), p2.end());
  b_all.insert(b_all.end(), p2.begin(), p2.end());
  b_all.erase(b_all.begin() + 5);  // B loses block 2 of P2
  a_all.erase(a_all.begin() + 6);  // A loses block 3 of P2
  // B two blocks behind A.
  std::size_t ia = 0, ib = 0;
  while (ia < a_all.size() || ib < b_all.size()) {
    if (ia < a_all.size() && (ia < ib + 2 || ib >= b_all.size())) {
      order.emplace_back(kA, a_all[ia++]);
    } else {
      order.emplace_back(kB, b_all[ib++]);
    }
  }
  Assembler a(opts(), rec_);
  for (const auto& [input, s] : order) {
    const AddResult r = a.add(s, input == kA ? "a" : "b", input);
    EXPECT_NE(r.outcome, AddOutcome::kConflict);
  }
  ASSERT_EQ(rec_.files.size(), 2u);
  EXPECT_EQ(test::dataOf(rec_.files[0]), dataOf(p1));
  EXPECT_EQ(test::dataOf(rec_.files[1]), dataOf(p2));
  EXPECT_EQ(a.stats().sources[kA].conflicting_blocks + a.stats().sources[kB].conflicting_blocks, 0u);
  EXPECT_EQ(a.stats().partial_files, 0u);
  EXPECT_TRUE(rec_.evictions.empty());
}

// One input sends two blocks of P1, then starts P2 under the same key: what it
// held of P1 is given up (reported, superseded), and P2 is delivered whole.
// Before, P2's blocks were taken for duplicates of P1's and P2 never completed.
TEST_F(AssemblerSourcesTest, InputRestartingAKeyWithOtherBytesSupersedesWhatItHeld) {
  const auto p1 = test::makeSegments("SAHOURLY.TXT", pattern(3000, 9), 707);
  const auto p2 = test::makeSegments("SAHOURLY.TXT", pattern(3000, 10), 707);
  Assembler a(opts(), rec_);
  a.add(p1[0], "a", kA);
  a.add(p1[1], "a", kA);
  EXPECT_EQ(a.add(p2[0], "a", kA).outcome, AddOutcome::kStored);
  ASSERT_EQ(rec_.evictions.size(), 1u);
  EXPECT_EQ(rec_.evictions[0].reason, EvictionReason::kSuperseded);
  EXPECT_EQ(rec_.evictions[0].sources, kBitA);
  EXPECT_EQ(rec_.evictions[0].blocks_held, 2u);
  EXPECT_EQ(a.stats().evictions_superseded, 1u);
  a.add(p2[1], "a", kA);
  ASSERT_EQ(a.add(p2[2], "a", kA).outcome, AddOutcome::kCompleted);
  ASSERT_EQ(rec_.files.size(), 1u);
  EXPECT_EQ(test::dataOf(rec_.files[0]), dataOf(p2));
}

// A moves on to P2 while B still holds P1's blocks: B's P1 blocks are not merged
// into A's P2 even where A has a hole that B's P1 block would fill. Once B
// moves on too, the two merge again.
TEST_F(AssemblerSourcesTest, InputsThatMovedOnDoNotMergeWithOnesThatDidNot) {
  const auto p1 = test::makeSegments("SAHOURLY.TXT", pattern(3000, 11), 708);
  const auto p2 = test::makeSegments("SAHOURLY.TXT", pattern(3000, 12), 708);
  Assembler a(opts(), rec_);
  a.add(p1[0], "a", kA);  // P1: A has 1, B has 3; never whole
  a.add(p1[2], "b", kB);
  a.add(p2[0], "a", kA);  // A restarts with P2 (superseded P1 for A)
  a.add(p2[1], "a", kA);  // A has P2 1,2; B's P1 block 3 must not complete it
  EXPECT_TRUE(rec_.files.empty()) << "P2 blocks 1-2 with P1 block 3 would be a mix";
  a.add(p2[2], "b", kB);  // B moves on to P2 (its P1 block 3 differs): merges with A's
  ASSERT_EQ(rec_.files.size(), 1u);
  EXPECT_EQ(test::dataOf(rec_.files[0]), dataOf(p2));
}

// A single input behaves as before: retransmission suppressed, and the released
// inputs are just that one.
TEST_F(AssemblerSourcesTest, SingleInputRetransmissionStillSuppressed) {
  Options o = opts();
  o.source_count = 1;
  Assembler a(o, rec_);
  const auto segs = test::makeSegments("TORFSD02.TXT", pattern(1500, 13), 709);
  a.add(segs[0]);
  EXPECT_EQ(a.add(segs[1]).released, kBitA);
  clock_.advance(6s);
  EXPECT_EQ(a.add(segs[0]).outcome, AddOutcome::kDuplicateBlock);
  const AddResult r = a.add(segs[1]);
  EXPECT_EQ(r.outcome, AddOutcome::kSuppressed);
  EXPECT_EQ(r.released, kBitA);
  EXPECT_EQ(rec_.files.size(), 1u);
  EXPECT_EQ(a.stats().sources[kA].files_alone, 1u) << "one input: counters settle at once";
}

// Single-block files: the second input's equal copy is a suppressed
// retransmission; the counters credit both inputs.
TEST_F(AssemblerSourcesTest, SingleBlockFileFromBothInputsDeliveredOnce) {
  const auto segs = test::makeSegments("SHORT.TXT", pattern(300, 14), 710);
  Assembler a(opts(), rec_);
  EXPECT_EQ(a.add(segs[0], "a", kA).outcome, AddOutcome::kCompleted);
  EXPECT_EQ(a.add(segs[0], "b", kB).outcome, AddOutcome::kSuppressed);
  EXPECT_EQ(rec_.files.size(), 1u);
  clock_.advance(30s);
  a.expire();
  EXPECT_EQ(a.stats().sources[kA].files_alone, 1u);
  EXPECT_EQ(a.stats().sources[kB].files_alone, 1u);
}

// A partial file given up holds blocks of both inputs: both are released.
TEST_F(AssemblerSourcesTest, EvictionReleasesEveryInputHoldingBlocks) {
  Options o = opts();
  o.partial_timeout = 10s;
  Assembler a(o, rec_);
  const auto segs = test::makeSegments("BIG.GIF", pattern(5000, 15), 711);
  a.add(segs[0], "a", kA);
  a.add(segs[1], "b", kB);
  clock_.advance(11s);
  a.expire();
  ASSERT_EQ(rec_.evictions.size(), 1u);
  EXPECT_EQ(rec_.evictions[0].sources, kBitA | kBitB);
  EXPECT_EQ(rec_.evictions[0].source, "a+b");
}

}  // namespace
}  // namespace emwin::assembly
