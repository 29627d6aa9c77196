// Integration tests of emwin-alert-classifier: the test plays the assembler,
// feeds real corpus products (plus a binary, an archive, a malformed product
// and a wrong-typed message) through the pipeline path, and checks the alerts
// and stats on the classifier's tap, the JSON alert log and the exit codes.

#include <csignal>
#include <set>
#include <sstream>

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <nlohmann/json.hpp>

#include "classifier_harness.h"
#include "products/classify.h"
#include "products/product.h"

namespace emwin::test {
namespace {

using Alerts = std::vector<std::pair<std::string, v1::Alert>>;

// The chosen product set: tornado warnings (one PDS), a tornado emergency
// statement (CAN + CON with TORNADO EMERGENCY), a severe thunderstorm warning
// and a routine product.
std::vector<TestFile> textFiles() {
  return {
      corpusFile("TORFSD.TXT", "tornado_warning/TORFSD.txt"),
      corpusFile("TOREDMX.TXT", "tornado_emergency_statement/TORE-TOR.txt"),
      corpusFile("SVSDMXIA.TXT", "tornado_emergency_statement/TORE-SVS_E.txt"),
      corpusFile("SVRLMK.TXT", "severe_thunderstorm_warning/SVRLMK.txt"),
      corpusFile("RWRMT.TXT", "regional_weather_roundup/RWRMTMT.TXT"),
  };
}

// Binary-looking and broken inputs.
TestFile gifFile() {
  std::string data = "GIF89a";
  for (int i = 0; i < 2000; ++i) data.push_back(static_cast<char>((i * 37 + 11) & 0xFF));
  return {"RADAR01.GIF", data, false};
}
TestFile archiveFile() { return {"NPSA01US.ZIP", std::string("PK\x03\x04", 4) + std::string(300, '\x7f'), true}; }
TestFile malformedFile() {
  // A heading and AWIPS line, then a broken VTEC, a broken UGC, NULs and junk.
  std::string data = "\x01\r\r\n123 \r\r\nWFUS53 KDMX 19\r\r\nTORDMX\r\r\nIAC1>-\r\r\n/O.NEW.KDMX.TO.W.00x3.1807/\r\r\n";
  data += std::string("\0\0\xff\xfe$$ \x03", 9);
  return {"BROKENTO.TXT", data, false};
}

// What the products library makes of `f` (same parse, same reference time).
Alerts expectedAlerts(const TestFile& f) {
  Alerts out;
  auto product = products::parseProduct(f.data, kTestFdUnixS);
  for (const auto& c : products::classify(product)) {
    v1::Alert a;
    products::toProto(c, product, a);
    a.set_filename(f.name);
    a.set_file_sha256(runtime::sha256Hex(std::string_view(f.data)));
    out.emplace_back(c.topic, a);
  }
  return out;
}

const v1::Alert* findAlert(const Alerts& alerts, const std::string& file, const std::string& action) {
  for (const auto& [topic, a] : alerts) {
    if (a.filename() == file && a.action() == action) return &a;
  }
  return nullptr;
}

TEST(AlertClassifierProcess, PublishesAlertsForRealProductsAndSurvivesBadInput) {
  ClassifierRig rig("main");
  ASSERT_TRUE(rig.waitReady()) << rig.process().text(Stream::kStderr);

  const auto texts = textFiles();
  rig.publish(texts[0]);
  rig.publish(gifFile());
  rig.publish(texts[1]);
  rig.publish(malformedFile());
  rig.publishWrongType("WRONG.TXT");
  rig.publish(archiveFile());
  for (std::size_t i = 2; i < texts.size(); ++i) rig.publish(texts[i]);
  const std::uint64_t files = texts.size() + 4;

  Alerts alerts;
  v1::ServiceStats stats = rig.collectUntilFiles(files, alerts);
  ASSERT_EQ(counter(stats, "files_in"), files) << rig.process().text(Stream::kStderr);

  // Hand-checked values, read from the product files.
  const v1::Alert* pds = findAlert(alerts, "TORFSD.TXT", "NEW");
  ASSERT_NE(pds, nullptr);
  EXPECT_EQ(pds->event_name(), "Tornado Warning");
  EXPECT_EQ(pds->office(), "KFSD");
  EXPECT_EQ(pds->vtec(), "/O.NEW.KFSD.TO.W.0020.131005T0022Z-131005T0100Z/");
  EXPECT_EQ(pds->event_tracking_number(), 20u);
  EXPECT_EQ(pds->begin_unix_s(), 1380932520);  // 2013-10-05T00:22Z
  EXPECT_EQ(pds->end_unix_s(), 1380934800);    // 2013-10-05T01:00Z
  EXPECT_THAT(std::vector<std::string>(pds->ugc().begin(), pds->ugc().end()), ::testing::ElementsAre("IAC035"));
  EXPECT_EQ(pds->tier(), v1::PRIORITY_TIER_EMERGENCY);  // "PARTICULARLY DANGEROUS SITUATION"
  EXPECT_EQ(pds->awips_id(), "TORFSD");
  EXPECT_EQ(pds->wmo_ttaaii(), "WFUS53");

  const v1::Alert* tor = findAlert(alerts, "TOREDMX.TXT", "NEW");
  ASSERT_NE(tor, nullptr);
  EXPECT_EQ(tor->tier(), v1::PRIORITY_TIER_WARNING);
  EXPECT_THAT(std::vector<std::string>(tor->ugc().begin(), tor->ugc().end()),
              ::testing::ElementsAre("IAC127", "IAC169"));

  const v1::Alert* can = findAlert(alerts, "SVSDMXIA.TXT", "CAN");
  const v1::Alert* con = findAlert(alerts, "SVSDMXIA.TXT", "CON");
  ASSERT_NE(can, nullptr);
  ASSERT_NE(con, nullptr);
  EXPECT_TRUE(can->is_cancellation());
  EXPECT_EQ(can->tier(), v1::PRIORITY_TIER_WARNING);
  EXPECT_EQ(con->tier(), v1::PRIORITY_TIER_EMERGENCY);
  EXPECT_THAT(std::vector<std::string>(con->emergency_tags().begin(), con->emergency_tags().end()),
              ::testing::Contains("TORNADO EMERGENCY"));
  EXPECT_EQ(con->event_tracking_number(), 43u);

  const v1::Alert* svr = findAlert(alerts, "SVRLMK.TXT", "NEW");
  ASSERT_NE(svr, nullptr);
  EXPECT_EQ(svr->event_name(), "Severe Thunderstorm Warning");
  EXPECT_THAT(std::vector<std::string>(svr->ugc().begin(), svr->ugc().end()),
              ::testing::ElementsAre("INC019", "KYC103", "KYC185", "KYC223"));

  // Topics of the key alerts.
  std::multiset<std::string> topics;
  for (const auto& [topic, a] : alerts) topics.insert(topic);
  EXPECT_EQ(topics.count("alert.TO.W.KFSD"), 1u);
  EXPECT_EQ(topics.count("alert.TO.W.KDMX"), 3u);
  EXPECT_EQ(topics.count("alert.SV.W.KLMK"), 1u);
  EXPECT_EQ(topics.count("alert.RWR.R.KTFX"), 1u);

  // Every alert equals what the library makes of the same file, in order per
  // file; the binaries produced nothing; the malformed product is handled.
  Alerts expected;
  for (const auto& f : texts) {
    auto e = expectedAlerts(f);
    expected.insert(expected.end(), e.begin(), e.end());
  }
  auto broken = expectedAlerts(malformedFile());
  Alerts received_text;
  for (const auto& [topic, a] : alerts) {
    EXPECT_NE(a.filename(), "RADAR01.GIF");
    EXPECT_NE(a.filename(), "NPSA01US.ZIP");
    if (a.filename() == "BROKENTO.TXT") {
      EXPECT_FALSE(a.parse_issues().empty());
      continue;
    }
    received_text.emplace_back(topic, a);
  }
  // Files are handled in publication order; text files were published in order.
  ASSERT_EQ(received_text.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(received_text[i].first, expected[i].first) << i;
    v1::Alert got = received_text[i].second;
    got.clear_header();
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got, expected[i].second))
        << "alert " << i << "\ngot:\n" << got.DebugString() << "\nexpected:\n" << expected[i].second.DebugString();
    EXPECT_EQ(received_text[i].second.header().producer_id(), "alert-classifier.itest");
  }

  // Stats: names and values.
  EXPECT_EQ(stats.service(), "alert-classifier");
  EXPECT_EQ(stats.instance(), "itest");
  EXPECT_EQ(counter(stats, "skipped_non_text"), 2u);
  EXPECT_EQ(counter(stats, "bad_messages"), 1u);
  EXPECT_EQ(counter(stats, "products_parsed"), texts.size() + 1);
  EXPECT_GE(counter(stats, "products_with_issues"), 1u);  // at least the malformed one
  EXPECT_EQ(counter(stats, "errors"), 0u);
  EXPECT_EQ(counter(stats, "alerts_published"), expected.size() + broken.size());
  EXPECT_EQ(counter(stats, "alerts_published"), alerts.size());
  EXPECT_EQ(counter(stats, "alerts.emergency"), 2u);  // TORFSD (PDS) and the CON with TORNADO EMERGENCY
  std::map<std::string, std::uint64_t> by_tier;
  for (const auto* set : {&expected, &broken}) {
    for (const auto& [topic, a] : *set) {
      ++by_tier["alerts." + std::string(products::tierName(static_cast<products::Tier>(static_cast<int>(a.tier()))))];
    }
  }
  for (const auto& [name, count] : by_tier) EXPECT_EQ(counter(stats, name), count) << name;
  EXPECT_TRUE(rig.process().running());

  // The alert log has one JSON line per alert, in publication order.
  std::istringstream log(readFile(rig.dir() + "/alerts.jsonl"));
  std::string line;
  std::size_t n = 0;
  while (std::getline(log, line)) {
    ASSERT_LT(n, alerts.size());
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j.at("topic"), alerts[n].first);
    EXPECT_EQ(j.at("file"), alerts[n].second.filename());
    EXPECT_EQ(j.at("file_sha256"), alerts[n].second.file_sha256());
    ++n;
  }
  EXPECT_EQ(n, alerts.size());

  // SIGTERM: clean exit 0.
  rig.process().signal(SIGTERM);
  EXPECT_EQ(rig.process().waitExit(10s), 0);
}

TEST(AlertClassifierProcess, BadConfigurationExitsWithTwo) {
  const std::vector<std::vector<std::string>> bad = {
      {"--stats-interval-ms", "0"},
      {"--connect", "not-an-endpoint"},
      {"--log-level", "loud"},
      {"--no-such-flag"},
  };
  for (const auto& args : bad) {
    std::vector<std::string> all = {"--pub", "tcp://127.0.0.1:" + std::to_string(freeTcpPort()), "--pipe",
                                    "tcp://127.0.0.1:" + std::to_string(freeTcpPort())};
    all.insert(all.end(), args.begin(), args.end());
    Process p(ProcessSpec{classifierBinary(), all, {}, {}, {}, "classifier-badcfg"});
    EXPECT_EQ(p.waitExit(10s), 2) << args.front();
  }
  // Environment values are validated too.
  Process p(ProcessSpec{classifierBinary(), {}, {{"EMWIN_HWM", "0"}}, {}, {}, "classifier-badenv"});
  EXPECT_EQ(p.waitExit(10s), 2);
}

}  // namespace
}  // namespace emwin::test
