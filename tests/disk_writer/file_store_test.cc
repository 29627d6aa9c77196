// Tests of FileStore: safe names, layout, atomic and idempotent writes, and
// that no hostile name can write outside the output root.
#include "file_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/sha256.h"

namespace fs = std::filesystem;
using emwin::sinks::FileStore;
using emwin::sinks::NameVerdict;
using emwin::sinks::sanitizeFilename;
using emwin::sinks::StoredFileInfo;
using emwin::sinks::WriteStatus;

namespace {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("emwin-fs-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Every regular file below `dir`.
std::set<fs::path> allFiles(const fs::path& dir) {
  std::set<fs::path> out;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.insert(e.path());
  }
  return out;
}

StoredFileInfo info(std::string name, std::string_view content, std::int64_t fd = 1772551056) {
  StoredFileInfo i;
  i.name = std::move(name);
  i.fd_unix_s = fd;
  i.sha256 = emwin::runtime::sha256Hex(content);
  return i;
}

}  // namespace

struct NameCase {
  std::string raw;
  NameVerdict verdict;
  std::string expected;  // for clean/rewritten
};

class SanitizeTable : public ::testing::TestWithParam<NameCase> {};

TEST_P(SanitizeTable, GivesExpectedVerdictAndName) {
  const auto& c = GetParam();
  auto s = sanitizeFilename(c.raw);
  EXPECT_EQ(s.verdict, c.verdict) << "raw=" << c.raw;
  if (c.verdict != NameVerdict::kRejected) {
    EXPECT_EQ(s.name, c.expected);
  } else {
    EXPECT_TRUE(s.name.empty());
    EXPECT_FALSE(s.reason.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(
    HostileNames, SanitizeTable,
    ::testing::Values(NameCase{"TORDMXIA.TXT", NameVerdict::kClean, "TORDMXIA.TXT"},
                      NameCase{"ab-c_d.GIF", NameVerdict::kClean, "ab-c_d.GIF"},
                      NameCase{"../../etc/x", NameVerdict::kRewritten, "x"},
                      NameCase{"/etc/passwd", NameVerdict::kRewritten, "passwd"},
                      NameCase{"..\\..\\win.ini", NameVerdict::kRewritten, "win.ini"},
                      NameCase{std::string("A\0B.TXT", 7), NameVerdict::kRewritten, "AB.TXT"},
                      NameCase{"..", NameVerdict::kRejected, ""},
                      NameCase{".", NameVerdict::kRejected, ""},
                      NameCase{"", NameVerdict::kRejected, ""},
                      NameCase{"dir/", NameVerdict::kRejected, ""},
                      NameCase{".hidden", NameVerdict::kRewritten, "hidden"},
                      NameCase{"sp ace$.TXT", NameVerdict::kRewritten, "sp_ace_.TXT"}));

TEST(Sanitize, OverlongNameIsCutWithHashAndKeepsExtension) {
  std::string raw(4096, 'A');
  raw += ".TXT";
  auto s = sanitizeFilename(raw);
  ASSERT_EQ(s.verdict, NameVerdict::kRewritten);
  EXPECT_EQ(s.reason, "too_long");
  EXPECT_LE(s.name.size(), emwin::sinks::kMaxNameLength);
  EXPECT_EQ(s.name.substr(s.name.size() - 4), ".TXT");
  // Two different long names do not collide.
  std::string raw2(4096, 'B');
  raw2 += ".TXT";
  EXPECT_NE(sanitizeFilename(raw2).name, s.name);
}

TEST(FileStore, WritesUnderDateAndTypeWithExactBytes) {
  TempDir dir;
  FileStore store(dir.path());
  std::string content = "WFUS53 KDMX 230521\r\r\nTORDMX\r\r\nbody";
  auto r = store.write(info("TORDMXIA.TXT", content), bytes(content));
  ASSERT_EQ(r.status, WriteStatus::kWritten) << r.error;
  // 1772551056 = 2026-03-03 15:17:36 UTC
  EXPECT_EQ(r.path.parent_path(), fs::absolute(dir.path()) / "2026-03-03" / "TXT");
  EXPECT_EQ(r.path.filename().string().substr(0, 16), "151736_" + emwin::runtime::sha256Hex(content).substr(0, 8) + "_");
  EXPECT_EQ(readFile(r.path), content);
  // No temp files left behind.
  EXPECT_EQ(allFiles(dir.path()).size(), 1u);
}

TEST(FileStore, ReplayOfSameFileIsIdempotent) {
  TempDir dir;
  FileStore store(dir.path());
  std::string content = "same product";
  auto first = store.write(info("SAHOURLY.TXT", content), bytes(content));
  auto second = store.write(info("SAHOURLY.TXT", content), bytes(content));
  EXPECT_EQ(first.status, WriteStatus::kWritten);
  EXPECT_EQ(second.status, WriteStatus::kAlreadyPresent);
  EXPECT_EQ(first.path, second.path);
  EXPECT_EQ(allFiles(dir.path()).size(), 1u);
}

TEST(FileStore, DistinctProductsWithSameNameAndStampBothKept) {
  TempDir dir;
  FileStore store(dir.path());
  std::string a = "first SAHOURLY", b = "second SAHOURLY, different";
  auto ra = store.write(info("SAHOURLY.TXT", a), bytes(a));
  auto rb = store.write(info("SAHOURLY.TXT", b), bytes(b));
  ASSERT_EQ(ra.status, WriteStatus::kWritten);
  ASSERT_EQ(rb.status, WriteStatus::kWritten);
  EXPECT_NE(ra.path, rb.path);
  EXPECT_EQ(readFile(ra.path), a);
  EXPECT_EQ(readFile(rb.path), b);
}

TEST(FileStore, HostileNamesNeverWriteOutsideRoot) {
  TempDir dir;
  fs::path root = dir.path() / "out";
  FileStore store(root);
  std::vector<std::string> hostile = {"../../etc/x",       "/etc/passwd", "..",           "../",
                                      std::string("\0", 1), "a/../../b",   "....//....//x", std::string(4096, 'n'),
                                      "%2e%2e%2fx",        "~root",       "CON"};
  int written = 0, rejected = 0;
  for (const auto& name : hostile) {
    std::string content = "payload for " + std::to_string(written + rejected);
    auto r = store.write(info(name, content), bytes(content));
    if (r.status == WriteStatus::kWritten) {
      ++written;
      auto rel = fs::relative(r.path, fs::absolute(root));
      EXPECT_FALSE(rel.empty());
      EXPECT_NE(*rel.begin(), "..") << name;
    } else {
      EXPECT_EQ(r.status, WriteStatus::kRejectedName) << name;
      ++rejected;
    }
  }
  EXPECT_EQ(written + rejected, static_cast<int>(hostile.size()));
  EXPECT_GE(rejected, 3);
  // Nothing appeared beside the root.
  std::set<fs::path> outside;
  for (auto& e : fs::directory_iterator(dir.path())) outside.insert(e.path().filename());
  EXPECT_EQ(outside, std::set<fs::path>{"out"});
  for (const auto& f : allFiles(root)) {
    auto rel = fs::relative(f, fs::absolute(root));
    EXPECT_NE(*rel.begin(), "..");
  }
}

TEST(FileStore, SidecarJsonWrittenBesideProduct) {
  TempDir dir;
  FileStore store(dir.path());
  std::string content = "product";
  auto i = info("ZFPSFOCA.TXT", content);
  i.sidecar_json = R"({"name":"ZFPSFOCA.TXT"})";
  auto r = store.write(i, bytes(content));
  ASSERT_EQ(r.status, WriteStatus::kWritten);
  fs::path side = r.path;
  side += ".json";
  EXPECT_EQ(readFile(side), i.sidecar_json);
}

// Directories are cached after the first write; one removed behind the
// writer's back is created again, not an error.
TEST(FileStore, DirectoryRemovedBetweenWritesIsCreatedAgain) {
  TempDir dir;
  FileStore store(dir.path());
  std::string a = "first product", b = "second product";
  auto ra = store.write(info("AFDDMX.TXT", a), bytes(a));
  ASSERT_EQ(ra.status, WriteStatus::kWritten) << ra.error;
  fs::remove_all(ra.path.parent_path().parent_path());  // the whole day
  auto rb = store.write(info("AFDOAX.TXT", b), bytes(b));
  ASSERT_EQ(rb.status, WriteStatus::kWritten) << rb.error;
  EXPECT_EQ(rb.path.parent_path(), ra.path.parent_path());
  EXPECT_EQ(readFile(rb.path), b);
  EXPECT_EQ(allFiles(dir.path()).size(), 1u);
}

// A file already at the final path with another size is replaced (same size is
// the idempotent no-op); either way no temp file is left behind.
TEST(FileStore, PresentFileOfAnotherSizeIsReplacedSameSizeIsKept) {
  TempDir dir;
  FileStore store(dir.path());
  std::string content = "the real product";
  auto first = store.write(info("ZFPDMX.TXT", content), bytes(content));
  ASSERT_EQ(first.status, WriteStatus::kWritten) << first.error;
  std::ofstream(first.path, std::ios::binary | std::ios::trunc) << "cut";
  auto again = store.write(info("ZFPDMX.TXT", content), bytes(content));
  EXPECT_EQ(again.status, WriteStatus::kWritten) << again.error;
  EXPECT_EQ(readFile(first.path), content);
  std::string same_size(content.size(), 'x');
  std::ofstream(first.path, std::ios::binary | std::ios::trunc) << same_size;
  auto third = store.write(info("ZFPDMX.TXT", content), bytes(content));
  EXPECT_EQ(third.status, WriteStatus::kAlreadyPresent);
  EXPECT_EQ(readFile(first.path), same_size);
  EXPECT_EQ(allFiles(dir.path()).size(), 1u);
}

TEST(FileStore, PermissionErrorIsReportedNotThrown) {
  if (::geteuid() == 0) {
    // Root ignores permission bits; use a path whose parent is a regular file instead.
    TempDir dir;
    std::ofstream(dir.path() / "blocker") << "x";
    FileStore store(dir.path() / "blocker" / "out");
    std::string content = "x";
    auto r = store.write(info("A.TXT", content), bytes(content));
    EXPECT_EQ(r.status, WriteStatus::kIoError);
    EXPECT_NE(r.error_code, 0);
    EXPECT_FALSE(r.error.empty());
    return;
  }
  TempDir dir;
  FileStore store(dir.path());
  fs::permissions(dir.path(), fs::perms::owner_read | fs::perms::owner_exec);
  std::string content = "x";
  auto r = store.write(info("A.TXT", content), bytes(content));
  EXPECT_EQ(r.status, WriteStatus::kIoError);
  EXPECT_EQ(r.error_code, EACCES);
}
