// Unit tests of FileClassifier / nonTextReason (no sockets).

#include "file_classifier.h"

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

}  // namespace
}  // namespace emwin::sinks
