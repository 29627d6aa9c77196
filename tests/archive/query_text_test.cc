// emwin-query's text in: times as people write them and points; and the
// plain table it prints. (Its answers against a real archive:
// archive_process_test.)
#include <gtest/gtest.h>

#include "query_text.h"

namespace emwin::query {
namespace {

TEST(QueryInstants, ParseEveryDocumentedForm) {
  auto i = parseInstant("now", false);
  ASSERT_TRUE(i);
  EXPECT_EQ(i->kind, Instant::Kind::kNow);
  i = parseInstant("latest", false);
  ASSERT_TRUE(i);
  EXPECT_EQ(i->kind, Instant::Kind::kLatest);
  i = parseInstant("1735689600", false);
  ASSERT_TRUE(i);
  EXPECT_EQ(resolve(*i, 0, 0), 1'735'689'600);
  i = parseInstant("2025-05-23T05:21Z", false);
  ASSERT_TRUE(i);
  EXPECT_EQ(resolve(*i, 0, 0), 1'747'977'660);
  i = parseInstant("2025-05-23T05:21:30Z", false);
  ASSERT_TRUE(i);
  EXPECT_EQ(resolve(*i, 0, 0), 1'747'977'690);
  i = parseInstant("2025-05-23", false);
  ASSERT_TRUE(i);
  EXPECT_EQ(resolve(*i, 0, 0), 1'747'958'400);
  // Durations back from now, only where asked for.
  const std::int64_t now = 1'750'000'000;
  for (auto [text, seconds] : {std::pair{"90s", 90}, {"30m", 1800}, {"24h", 86400}, {"7d", 7 * 86400}, {"2w", 14 * 86400}}) {
    i = parseInstant(text, true);
    ASSERT_TRUE(i) << text;
    EXPECT_EQ(resolve(*i, now, 0), now - seconds) << text;
    EXPECT_FALSE(parseInstant(text, false)) << text;
  }
  // "latest" is the archive's latest product time, "now" the clock.
  EXPECT_EQ(resolve(*parseInstant("latest", false), now, 1'600'000'000), 1'600'000'000);
  EXPECT_EQ(resolve(*parseInstant("now", false), now, 1'600'000'000), now);
}

TEST(QueryInstants, RefuseWhatIsNoTime) {
  for (const char* bad : {"", "yesterday", "24", "h", "-5h", "24hours", "2025-13-01", "2025-05-23T25:00Z",
                          "2025-05-23T05:21", "1e9", "99999999999999999999999", "5h ", "0x10"}) {
    EXPECT_FALSE(parseInstant(bad, true)) << bad;
  }
}

TEST(QueryPoints, LatLonInRange) {
  auto p = parsePoint("41.6,-93.6");
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->first, 41.6);
  EXPECT_DOUBLE_EQ(p->second, -93.6);
  for (const char* bad : {"", "41.6", "41.6,", ",-93.6", "91,0", "-91,0", "0,181", "0,-181", "a,b", "41.6;-93.6",
                          "41.6,-93.6,1", "nan,0", "inf,0"}) {
    EXPECT_FALSE(parsePoint(bad)) << bad;
  }
}

TEST(QueryTables, ColumnsPaddedToTheWidestCell) {
  const std::string t = table({"A", "LONGER"}, {{"x", "1"}, {"wide cell", "2"}});
  EXPECT_EQ(t, "A          LONGER\nx          1\nwide cell  2\n");
  EXPECT_EQ(shortTime(0), "-");
  EXPECT_EQ(shortTime(1'747'977'660), "2025-05-23 05:21Z");
}

}  // namespace
}  // namespace emwin::query
