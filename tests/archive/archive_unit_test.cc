// The archive library's pure parts: --db URLs, text cleaning, polygons as
// WKT, event rows (windows, keep-until), globs and distance boxes.
#include <gtest/gtest.h>

#include "alerts/active_state.h"
#include "archive/database_url.h"
#include "archive/detail/columns.h"
#include "archive/records.h"
#include "layout/file_layout.h"
#include "products/reference.h"

namespace emwin::archive {
namespace {

struct UrlCase {
  std::string text;
  bool ok;
  Backend backend;
  std::string path_or_display;  // SQLite path, or PostgreSQL display form
  std::string error_part;
};

class DatabaseUrls : public ::testing::TestWithParam<UrlCase> {};

TEST_P(DatabaseUrls, ParseAsDocumented) {
  const UrlCase& c = GetParam();
  std::string error;
  const auto u = parseDatabaseUrl(c.text, error);
  ASSERT_EQ(u.has_value(), c.ok) << c.text << ": " << error;
  if (!c.ok) {
    EXPECT_NE(error.find(c.error_part), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << "one line: " << error;
    return;
  }
  EXPECT_EQ(u->backend, c.backend);
  if (c.backend == Backend::kSqlite) {
    EXPECT_EQ(u->path, c.path_or_display);
  } else {
    EXPECT_EQ(u->display, c.path_or_display);
    EXPECT_NE(u->conninfo.find("connect_timeout="), std::string::npos) << u->conninfo;
    EXPECT_NE(u->conninfo.find("application_name="), std::string::npos) << u->conninfo;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, DatabaseUrls,
    ::testing::Values(UrlCase{"sqlite:var/archive/archive.db", true, Backend::kSqlite, "var/archive/archive.db", ""},
                      UrlCase{"sqlite:///abs/archive.db", true, Backend::kSqlite, "/abs/archive.db", ""},
                      UrlCase{"sqlite://rel.db", true, Backend::kSqlite, "rel.db", ""},
                      UrlCase{"sqlite:", false, Backend::kSqlite, "", "needs a file path"},
                      UrlCase{"sqlite::memory:", false, Backend::kSqlite, "", "in-memory"},
                      UrlCase{"sqlite:dir/", false, Backend::kSqlite, "", "not a file path"},
                      UrlCase{"postgresql://emwin:secret@db:5432/emwin", true, Backend::kPostgres,
                              "postgresql://emwin:***@db:5432/emwin", ""},
                      UrlCase{"postgres://db/emwin?connect_timeout=3", true, Backend::kPostgres,
                              "postgres://db/emwin?connect_timeout=3", ""},
                      UrlCase{"postgresql://db/emwin?nonsense_option=1", false, Backend::kPostgres, "",
                              "not a valid PostgreSQL URI"},
                      UrlCase{"postgresql://db:99999999/emwin", false, Backend::kPostgres, "", "not a port number"},
                      UrlCase{"postgresql:///emwin?host=a,b&port=5432,x", false, Backend::kPostgres, "",
                              "not a port number"},
                      UrlCase{"postgresql:///emwin?host=a,b&port=5432,5433", true, Backend::kPostgres,
                              "postgresql:///emwin?host=a,b&port=5432,5433", ""},
                      UrlCase{"mysql://db/emwin", false, Backend::kSqlite, "", "not a database URL"},
                      UrlCase{"archive.db", false, Backend::kSqlite, "", "sqlite:PATH"}));

TEST(CleanText, KeepsValidUtf8AndEscapesTheRest) {
  EXPECT_EQ(cleanText("TORDMXIA.TXT"), "TORDMXIA.TXT");
  EXPECT_EQ(cleanText("Caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8c\xaa"), "Caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8c\xaa");
  EXPECT_EQ(cleanText(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(cleanText("\xff\xfe"), "\\xFF\\xFE");
  EXPECT_EQ(cleanText("\xc3\x28"), "\\xC3(");            // a broken sequence
  EXPECT_EQ(cleanText("\xe0\x80\xaf"), "\\xE0\\x80\\xAF");  // overlong
  EXPECT_EQ(cleanText("\xed\xa0\x80"), "\\xED\\xA0\\x80");  // a surrogate
  EXPECT_EQ(cleanText("\xe2\x82"), "\\xE2\\x82");        // cut short
  EXPECT_NE(cleanText("\xff"), cleanText("\xfe"));       // distinct inputs stay distinct
}

TEST(PolygonWkt, ClosesRingsAndRefusesDegenerateOnes) {
  using products::LatLon;
  EXPECT_EQ(polygonWkt({{41.5, -93.5}, {41.6, -93.5}, {41.6, -93.4}, {41.5, -93.5}}),
            "POLYGON((-93.5 41.5,-93.5 41.6,-93.4 41.6,-93.5 41.5))");
  EXPECT_EQ(polygonWkt({{41.5, -93.5}, {41.6, -93.5}, {41.6, -93.4}}),
            "POLYGON((-93.5 41.5,-93.5 41.6,-93.4 41.6,-93.5 41.5))");
  EXPECT_EQ(polygonWkt({{41.5, -93.5}, {41.6, -93.5}, {41.5, -93.5}}), "");
  EXPECT_EQ(polygonWkt({{91, 0}, {1, 1}, {2, 2}, {91, 0}}), "");
  EXPECT_EQ(polygonWkt({}), "");
}

TEST(EventRows, WindowsStopAtTheActionThatEndedThem) {
  alerts::Event e;
  e.key = *alerts::EventKey::parse("KDMX.TO.W.0042.2025");
  e.last_issued_unix_s = 1000;
  e.polygon = {{41.5, -93.5}, {41.6, -93.5}, {41.6, -93.4}, {41.5, -93.5}};
  alerts::UgcState a;
  a.code = "IAC169";
  a.windows = {{900, 5000}};
  a.status = alerts::UgcStatus::kCancelled;
  a.ended_unix_s = 1000;
  alerts::UgcState b;
  b.code = "IAC153";
  b.windows = {{900, 0}};
  b.expires_unix_s = 2000;
  e.ugcs = {a, b};
  alerts::ActiveStateOptions o;
  const EventRecord r = eventRecord(e, o);
  ASSERT_EQ(r.windows.size(), 2u);
  EXPECT_EQ(r.windows[0].stop_unix_s, 1000);  // the CAN, not the VTEC end
  EXPECT_EQ(r.windows[1].stop_unix_s, 0);     // open
  EXPECT_TRUE(r.has_polygon);
  ASSERT_TRUE(r.box.has_value());
  EXPECT_DOUBLE_EQ(r.box->min_lat, 41.5);
  EXPECT_DOUBLE_EQ(r.box->max_lon, -93.4);
  const products::UgcPlace* story = products::findUgc("IAC169");
  ASSERT_NE(story, nullptr);
  EXPECT_DOUBLE_EQ(*r.windows[0].lat, story->lat_deg);
  // Kept until the open window is abandoned (expiry + abandon_open_s).
  EXPECT_EQ(r.keep_until_unix_s, 2000 + o.abandon_open_s);
  // The query form carries only the last history entry.
  e.history.resize(3);
  e.history[2].awips_id = "TORDMX";
  const EventRecord q = eventRecord(e, o);
  EXPECT_EQ(nlohmann::json::parse(q.state_json)["history"].size(), 3u);
  const auto hq = nlohmann::json::parse(q.query_json)["history"];
  ASSERT_EQ(hq.size(), 1u);
  EXPECT_EQ(hq[0]["awips_id"], "TORDMX");
}

TEST(Globs, TranslateToEachDialect) {
  EXPECT_EQ(detail::globToLike("ZFP*"), "ZFP%");
  EXPECT_EQ(detail::globToLike("A?_%\\"), "A_\\_\\%\\\\");
  EXPECT_EQ(detail::globToSqliteGlob("ZFP[*"), "ZFP[[]*");
}

TEST(DistanceBox, ContainsTheCircle) {
  const BoundingBox b = detail::distanceBox(41.6, -93.6, 25);
  EXPECT_LT(b.min_lat, 41.6 - 25 / 111.2);
  EXPECT_GT(b.max_lat, 41.6 + 25 / 111.2);
  EXPECT_LT(b.min_lon, -93.6 - 25 / (111.2 * std::cos(41.6 * 3.14159265 / 180)));
  const BoundingBox pole = detail::distanceBox(89.9, 10, 50);
  EXPECT_EQ(pole.min_lon, -180);
  EXPECT_EQ(pole.max_lon, 180);
}

TEST(FileRows, PathIsTheDiskWritersLayout) {
  emwin::bus::v1::CompletedFile f;
  f.set_filename("ZFPSFOCA.TXT");
  f.set_fd_unix_s(1'700'000'000);  // 2023-11-14 22:13:20 UTC
  f.set_sha256("0123456789abcdef");
  f.set_data("x");
  const FileRecord r = fileRecord(f, 5);
  EXPECT_EQ(r.path, "2023-11-14/TXT/221320_01234567_ZFPSFOCA.TXT");
  EXPECT_EQ(r.ext, "TXT");
  EXPECT_EQ(r.origin, "blocks");
  f.set_filename("../");
  EXPECT_EQ(fileRecord(f, 5).path, "");  // rejected by the disk writer: no path
}

}  // namespace
}  // namespace emwin::archive
