// Tests of ZIP handling: format-aware end of file, unpacking through the
// assembler, and hostile archives built with libzip (each refusal counted,
// the assembler keeps going, good files around it still delivered).
#include "assembly/archive.h"

#include <gtest/gtest.h>

#include "assembly/content.h"
#include "test_util.h"

namespace emwin::assembly {
namespace {

using test::Bytes;

std::size_t errors(const Stats& st, ArchiveError e) { return st.archive_errors[static_cast<std::size_t>(e)]; }

Bytes product() {
  return test::readFile(EMWIN_CORPUS_DIR "/products/tornado_warning/" +
                        std::string([] {
                          for (const auto& e : std::filesystem::directory_iterator(EMWIN_CORPUS_DIR
                                                                                   "/products/tornado_warning")) {
                            return e.path().filename().string();
                          }
                          return std::string();
                        }()));
}

class ArchiveTest : public ::testing::Test {
 protected:
  Options opts() {
    Options o;
    o.clock = clock_.clock();
    return o;
  }
  // Feeds a file cut into blocks, in reverse order.
  void send(Assembler& a, const std::string& name, const Bytes& content) {
    auto segs = test::makeSegments(name, content, ++fd_);
    for (auto it = segs.rbegin(); it != segs.rend(); ++it) a.add(*it, "test:1");
  }
  test::FakeClock clock_;
  test::Recorder rec_;
  std::int64_t fd_ = 1000;
};

TEST(ContentTest, ZipEndKeepsEndRecordWhoseLastBytesAreNul) {
  const Bytes zip = test::buildZip({{"A.TXT", test::toBytes("hello hello hello")}});
  ASSERT_EQ(zip.back(), 0);  // comment length 0: trimming NULs would cut the record
  Bytes padded = zip;
  padded.resize(2048, 0);
  EXPECT_EQ(detectFormat("TXT", padded), Format::kZip);
  EXPECT_EQ(deliveredLength(Format::kZip, padded), zip.size());
  EXPECT_LT(trimTrailingNul(padded), zip.size());
}

TEST(ContentTest, ZipEndIncludesComment) {
  const Bytes zip = test::buildZip({{"A.TXT", test::toBytes("x")}}, "a comment");
  Bytes padded = zip;
  padded.resize(1024, 0);
  EXPECT_EQ(zipEnd(padded), zip.size());
}

TEST(ContentTest, PngEndsAfterIendCrcGifAndJpegAtLastNonNul) {
  Bytes png = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
  Bytes padded = png;
  padded.resize(1024, 0);
  EXPECT_EQ(detectFormat("PNG", padded), Format::kPng);
  EXPECT_EQ(deliveredLength(Format::kPng, padded), png.size());
  Bytes gif = test::toBytes("GIF89a");
  gif.push_back(0);
  gif.push_back(0x3B);
  gif.resize(1024, 0);
  EXPECT_EQ(detectFormat("GIF", gif), Format::kGif);
  EXPECT_EQ(deliveredLength(Format::kGif, gif), 8u);
  Bytes jpg = {0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 0xFF, 0xD9, 0, 0};
  EXPECT_EQ(detectFormat("JPG", jpg), Format::kJpeg);
  EXPECT_EQ(deliveredLength(Format::kJpeg, jpg), 8u);
}

TEST(ContentTest, EntryNameTable) {
  const std::pair<std::string, bool> cases[] = {
      {"TORDMXIA.TXT", true}, {"npsa01us.gif", true}, {"", false},        {"../../etc/x", false},
      {"/abs", false},        {"a/b", false},         {"a\\b", false},    {"..", false},
      {"C:X.TXT", false},     {std::string(200, 'a'), false},             {std::string("a\0b", 3), false},
  };
  for (const auto& [name, ok] : cases) EXPECT_EQ(isSafeEntryName(name, 128), ok) << name;
}

TEST_F(ArchiveTest, ZipUnpackedEntryLinkedToArchiveArchiveDeliveredFirst) {
  const Bytes text = product();
  const Bytes zip = test::buildZip({{"TORXXX.TXT", text}});
  Assembler a(opts(), rec_);
  send(a, "TORXXXUS.ZIP", zip);
  ASSERT_EQ(rec_.files.size(), 2u);
  const CompletedFile& archive = rec_.files[0];
  EXPECT_EQ(archive.name, "TORXXXUS.ZIP");
  EXPECT_TRUE(archive.is_archive);
  EXPECT_EQ(test::dataOf(archive), zip);  // exact archive bytes, end record intact
  const CompletedFile& entry = rec_.files[1];
  EXPECT_EQ(entry.name, "TORXXX.TXT");
  EXPECT_EQ(test::dataOf(entry), text);
  EXPECT_EQ(entry.origin, Origin::kArchiveEntry);
  EXPECT_EQ(entry.archive.archive_name, "TORXXXUS.ZIP");
  EXPECT_EQ(entry.archive.archive_sha256, archive.sha256);
  EXPECT_EQ(entry.archive.entry_name, "TORXXX.TXT");
  EXPECT_EQ(entry.fd_unix_s, archive.fd_unix_s);
  EXPECT_EQ(a.stats().archive_entries, 1u);
  EXPECT_EQ(a.stats().files_completed, 2u);
}

TEST_F(ArchiveTest, TxtCarryingZipBytesIsUnpacked) {
  const Bytes zip = test::buildZip({{"INNER.TXT", test::toBytes("inner product\n")}});
  Assembler a(opts(), rec_);
  send(a, "ZIPPED.TXT", zip);
  ASSERT_EQ(rec_.files.size(), 2u);
  EXPECT_TRUE(rec_.files[0].is_archive);
  EXPECT_EQ(rec_.files[1].name, "INNER.TXT");
  EXPECT_EQ(test::dataOf(rec_.files[1]), test::toBytes("inner product\n"));
}

TEST_F(ArchiveTest, HostileArchivesRefusedWithReasonsAndGoodFilesStillDelivered) {
  Options o = opts();
  o.archive.max_uncompressed_bytes = 4 << 20;
  o.archive.max_entries = 4;
  Assembler a(o, rec_);
  auto good_text = [](int i) { return test::toBytes("GOOD PRODUCT " + std::to_string(i) + "\n"); };
  auto good = [&](int i) { send(a, "GOOD" + std::to_string(i) + ".TXT", good_text(i)); };

  good(1);
  // Ratio bomb: 3 MiB of zeros deflate to a few KiB.
  send(a, "BOMB1.ZIP", test::buildZip({{"ZEROS.TXT", Bytes(3 << 20, 0)}}));
  good(2);
  // Size bomb: stored (ratio 1) but above the total cap.
  send(a, "BOMB2.ZIP", test::buildZip({{"BIG.BIN", Bytes(5 << 20, 'b'), true}}));
  good(3);
  // Path tricks, next to one good entry that must still come out.
  send(a, "PATHS.ZIP", test::buildZip({{"../../etc/x", test::toBytes("p1")},
                                       {"/abs", test::toBytes("p2")},
                                       {"a/b", test::toBytes("p3")},
                                       {"OK.TXT", test::toBytes("fine")}}));
  good(4);
  // Too many entries.
  std::vector<test::ZipInput> many;
  for (int i = 0; i < 5; ++i) many.push_back({"E" + std::to_string(i) + ".TXT", test::toBytes("e")});
  send(a, "MANY.ZIP", test::buildZip(many));
  good(5);
  // Corrupt archive bytes: a local header followed by garbage.
  Bytes corrupt = test::toBytes("PK\x03\x04 this is not really a zip archive at all");
  send(a, "CORRUPT.ZIP", corrupt);
  good(6);
  // A zip whose central directory was damaged after it was built.
  Bytes damaged = test::buildZip({{"D.TXT", test::toBytes("damaged")}});
  for (std::size_t i = damaged.size() - 40; i < damaged.size() - 22; ++i) damaged[i] ^= 0x5A;
  send(a, "DAMAGED.ZIP", damaged);
  good(7);

  const Stats& st = a.stats();
  EXPECT_EQ(errors(st, ArchiveError::kRatio), 1u);
  EXPECT_EQ(errors(st, ArchiveError::kTotalSize), 1u);
  EXPECT_EQ(errors(st, ArchiveError::kUnsafeName), 3u);
  EXPECT_EQ(errors(st, ArchiveError::kTooManyEntries), 1u);
  EXPECT_GE(errors(st, ArchiveError::kCorrupt) + errors(st, ArchiveError::kEntryRead), 2u);
  EXPECT_EQ(errors(st, ArchiveError::kCorrupt), 2u);

  for (int i = 1; i <= 7; ++i) {
    const auto* f = rec_.find("GOOD" + std::to_string(i) + ".TXT");
    ASSERT_NE(f, nullptr) << i;
    EXPECT_EQ(test::dataOf(*f), good_text(i));
  }
  // Every archive itself is still delivered; none of the refused entries is.
  for (const char* name : {"BOMB1.ZIP", "BOMB2.ZIP", "PATHS.ZIP", "MANY.ZIP", "CORRUPT.ZIP", "DAMAGED.ZIP"}) {
    EXPECT_NE(rec_.find(name), nullptr) << name;
  }
  EXPECT_FALSE(rec_.find("CORRUPT.ZIP")->is_archive);
  EXPECT_TRUE(rec_.find("PATHS.ZIP")->is_archive);
  ASSERT_NE(rec_.find("OK.TXT"), nullptr);
  EXPECT_EQ(rec_.find("OK.TXT")->archive.archive_name, "PATHS.ZIP");
  for (const char* name : {"ZEROS.TXT", "BIG.BIN", "../../etc/x", "/abs", "a/b", "x", "abs", "b", "E0.TXT"}) {
    EXPECT_EQ(rec_.find(name), nullptr) << name;
  }
  EXPECT_EQ(st.archive_entries, 1u);
  EXPECT_EQ(rec_.files.size(), 7u + 6u + 1u);
}

TEST(UnpackTest, EntryNameWithNulRefused) {
  Bytes zip = test::buildZip({{"AB.TXT", test::toBytes("x")}, {"OK.TXT", test::toBytes("y")}});
  // Patch "AB.TXT" -> "A\0.TXT" in the local header and the central directory.
  const std::string needle = "AB.TXT";
  std::size_t patched = 0;
  for (std::size_t i = 0; i + needle.size() <= zip.size(); ++i) {
    if (std::equal(needle.begin(), needle.end(), zip.begin() + static_cast<std::ptrdiff_t>(i))) {
      zip[i + 1] = 0;
      ++patched;
    }
  }
  ASSERT_EQ(patched, 2u);
  const UnpackResult r = unpackArchive(zip, ArchiveLimits{});
  ASSERT_TRUE(r.opened);
  EXPECT_EQ(r.errors[static_cast<std::size_t>(ArchiveError::kUnsafeName)], 1u);
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].name, "OK.TXT");
}

}  // namespace
}  // namespace emwin::assembly
