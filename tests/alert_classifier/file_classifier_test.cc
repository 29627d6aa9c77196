// Unit tests of FileClassifier / nonTextReason (no sockets).

#include "file_classifier.h"

#include <algorithm>
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/process.h"

namespace emwin::sinks {
namespace {

namespace v1 = emwin::bus::v1;

v1::CompletedFile fileOf(const std::string& name, const std::string& data, bool is_archive = false) {
  v1::CompletedFile f;
  f.set_filename(name);
  f.set_data(data);
  f.set_sha256("ab12");
  f.set_fd_unix_s(1700000000);
  f.set_is_archive(is_archive);
  return f;
}

struct SniffCase {
  const char* label;
  std::string name;
  std::string data;
  bool is_archive;
  std::string reason;
};

TEST(NonTextReason, Table) {
  const std::string text = "WFUS53 KDMX 192054\r\r\nTORDMX\r\r\n";
  const std::vector<SniffCase> cases = {
      {"text by extension", "TORDMXIA.TXT", text, false, ""},
      {"wmo extension, lower case", "abc.wmo", text, false, ""},
      {"archive flag wins", "ANY.TXT", text, true, "archive"},
      {"gif extension", "RADAR.GIF", text, false, "extension"},
      {"zip extension lower case", "x.zip", "PK", false, "extension"},
      {"png magic under a text name", "IMG.TXT", std::string("\x89PNG\r\n\x1a\n rest", 13), false, "magic"},
      {"jpeg magic without extension", "NOEXT", std::string("\xFF\xD8\xFF\xE0 data", 9), false, "magic"},
      {"unknown extension, text bytes", "PRODUCT.XYZ", text, false, ""},
      {"unknown extension, NUL byte", "PRODUCT.XYZ", std::string("ab\0cd", 5), false, "bytes"},
      {"unknown extension, high bytes", "PRODUCT.DAT", std::string(100, '\xC3'), false, "bytes"},
      {"unknown extension, empty", "EMPTY", "", false, "bytes"},
      {"empty text file is parsed", "EMPTY.TXT", "", false, ""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(nonTextReason(c.name, c.data, c.is_archive), c.reason) << c.label;
  }
}

TEST(FileClassifier, TornadoWarningGivesOneAlertWithFileLink) {
  FileClassifier classifier(FileClassifierOptions{.with_json = true});
  auto file = fileOf("TORFSD.TXT", test::readFile(std::string(EMWIN_CORPUS_DIR) + "/products/tornado_warning/TORFSD.txt"));
  ASSERT_FALSE(file.data().empty());
  FileResult r = classifier.classify(file);
  ASSERT_EQ(r.outcome, FileOutcome::kClassified);
  ASSERT_EQ(r.alerts.size(), 1u);
  EXPECT_EQ(r.alerts[0].topic, "alert.TO.W.KFSD");
  EXPECT_EQ(r.alerts[0].alert.filename(), "TORFSD.TXT");
  EXPECT_EQ(r.alerts[0].alert.file_sha256(), "ab12");
  EXPECT_EQ(r.alerts[0].alert.action(), "NEW");
  EXPECT_FALSE(r.alerts[0].alert.has_header());
  auto j = nlohmann::json::parse(r.alerts[0].json_line);
  EXPECT_EQ(j.at("topic"), "alert.TO.W.KFSD");
  EXPECT_EQ(j.at("file_sha256"), "ab12");
  EXPECT_EQ(r.alerts[0].json_line.find('\n'), std::string::npos);
}

TEST(FileClassifier, TestMessageGoesToTheTestTopicWithItsMarking) {
  FileClassifier classifier(FileClassifierOptions{.with_json = true});
  FileResult r = classifier.classify(
      fileOf("TORILX.TXT", test::readFile(std::string(EMWIN_CORPUS_DIR) + "/products/tornado_warning/TORILX.txt")));
  ASSERT_EQ(r.alerts.size(), 1u);
  EXPECT_EQ(r.alerts[0].topic, "test.alert.TO.W.KILX");
  EXPECT_TRUE(r.alerts[0].alert.is_test());
  EXPECT_EQ(r.alerts[0].alert.test_reason(), "VTEC class T");
  EXPECT_EQ(r.alerts[0].alert.tier(), v1::PRIORITY_TIER_TEST);
  EXPECT_EQ(nlohmann::json::parse(r.alerts[0].json_line).at("is_test"), true);
}

TEST(FileClassifier, AlertsCarryNamesPlacesAndParsedHvtec) {
  FileClassifier classifier;
  FileResult r = classifier.classify(fileOf(
      "FLSSEW.TXT",
      test::readFile(std::string(EMWIN_CORPUS_DIR) + "/products/flood_statement/FLS-FLSSEW_vtec1970.txt")));
  ASSERT_FALSE(r.alerts.empty());
  const v1::Alert& a = r.alerts[0].alert;
  EXPECT_EQ(a.product_title(), "Flood Statement");
  EXPECT_EQ(a.office_code(), "SEW");
  ASSERT_EQ(a.ugc_areas_size(), a.ugc_size());
  for (int i = 0; i < a.ugc_size(); ++i) EXPECT_EQ(a.ugc_areas(i).code(), a.ugc(i));
  EXPECT_TRUE(a.ugc_areas(0).known());
  ASSERT_EQ(a.hvtec_records_size(), 1);
  EXPECT_EQ(a.hvtec_records(0).nwsli(), "SQUW1");
  EXPECT_EQ(a.hvtec_records(0).place(), "Snoqualmie Falls");
}

TEST(FileClassifier, NoJsonUnlessAsked) {
  FileClassifier classifier;
  auto r = classifier.classify(
      fileOf("TORFSD.TXT", test::readFile(std::string(EMWIN_CORPUS_DIR) + "/products/tornado_warning/TORFSD.txt")));
  ASSERT_EQ(r.alerts.size(), 1u);
  EXPECT_TRUE(r.alerts[0].json_line.empty());
}

TEST(FileClassifier, BinaryIsSkippedWithReason) {
  FileClassifier classifier;
  auto r = classifier.classify(fileOf("SAT.GIF", "GIF89a\x01\x02"));
  EXPECT_EQ(r.outcome, FileOutcome::kNonText);
  EXPECT_EQ(r.skip_reason, "extension");
  EXPECT_TRUE(r.alerts.empty());
}

TEST(FileClassifier, MalformedTextStillClassifiedWithIssues) {
  FileClassifier classifier(FileClassifierOptions{.with_json = true});
  const std::vector<std::string> inputs = {
      "",
      "\x01\r\r\n",
      std::string("WFUS53 KDMX\r\nTORDMX\r\n/O.NEW.KDMX.TO.W.00x3.1807/\r\n\0\xff$$", 47),
      "IAC001>-\n$$\n$$\n",
      std::string(5000, '$'),
      "\xC3\x28 invalid utf-8 \xFF\xFE in a product\n",
  };
  for (const auto& in : inputs) {
    FileResult r = classifier.classify(fileOf("BAD.TXT", in));
    EXPECT_EQ(r.outcome, FileOutcome::kClassified) << in.size();
    ASSERT_FALSE(r.alerts.empty()) << in.size();
    for (const auto& a : r.alerts) {
      EXPECT_EQ(a.topic.rfind("alert.", 0), 0u) << a.topic;
      EXPECT_TRUE(nlohmann::json::accept(a.json_line)) << a.json_line;
    }
  }
}

// The service classifies into one reused FileResult; what it gets must equal a
// fresh classification of the same file, whatever came before (more, fewer or
// no alerts, motion/threats/polygon present or not, a binary skipped).
TEST(FileClassifier, ReusedResultEqualsFreshResultOverTheCorpusInBothOrders) {
  std::vector<v1::CompletedFile> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(std::string(EMWIN_CORPUS_DIR) + "/products")) {
    if (e.is_regular_file()) files.push_back(fileOf(e.path().filename().string(), test::readFile(e.path().string())));
  }
  std::sort(files.begin(), files.end(),
            [](const v1::CompletedFile& a, const v1::CompletedFile& b) { return a.filename() < b.filename(); });
  ASSERT_GT(files.size(), 100u);
  files.insert(files.begin() + static_cast<std::ptrdiff_t>(files.size() / 2),
               fileOf("RADAR.GIF", std::string("GIF89a\0\1binary", 14)));
  std::vector<v1::CompletedFile> reversed(files.rbegin(), files.rend());

  FileClassifier classifier(FileClassifierOptions{.with_json = true});
  FileResult reused;
  std::size_t alerts = 0;
  std::size_t skipped = 0;
  for (const auto* order : {&files, &reversed}) {
    for (const auto& f : *order) {
      classifier.classify(f, reused);
      const FileResult fresh = classifier.classify(f);
      ASSERT_EQ(reused.outcome, fresh.outcome) << f.filename();
      EXPECT_EQ(reused.issue_count, fresh.issue_count) << f.filename();
      EXPECT_EQ(reused.skip_reason, fresh.skip_reason) << f.filename();
      ASSERT_EQ(reused.alerts.size(), fresh.alerts.size()) << f.filename();
      for (std::size_t i = 0; i < fresh.alerts.size(); ++i) {
        EXPECT_EQ(reused.alerts[i].topic, fresh.alerts[i].topic) << f.filename() << " #" << i;
        EXPECT_EQ(reused.alerts[i].alert.SerializeAsString(), fresh.alerts[i].alert.SerializeAsString())
            << f.filename() << " #" << i;
        EXPECT_EQ(reused.alerts[i].json_line, fresh.alerts[i].json_line) << f.filename() << " #" << i;
      }
      alerts += fresh.alerts.size();
      if (fresh.outcome == FileOutcome::kNonText) ++skipped;
    }
  }
  EXPECT_GT(alerts, files.size());  // the corpus has multi-event products
  EXPECT_GE(skipped, 2u);  // the GIF, once per order
}

}  // namespace
}  // namespace emwin::sinks
