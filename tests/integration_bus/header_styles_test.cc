// The header styles seen in the wild, end to end: emwin-sim --header-style
// spec|compact|npemwin over QBT V1 and V2 -> emwin-ingest -> emwin-assembler ->
// emwin-disk-writer, every process real on 127.0.0.1. What reaches the disk must
// be byte-identical to what the sim says it sent, with no bad frame counted.
// Each case streams one category of real products; one streams all 317 the way
// npemwin sends them.
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "metrics_scrape.h"
#include "pipeline_harness.h"

namespace emwin::test {
namespace {

struct StyleCase {
  std::string style;     // emwin-sim --header-style
  std::string protocol;  // emwin-ingest --protocol
  std::string category;  // products/<category>, or "" for all 317
};

void PrintTo(const StyleCase& c, std::ostream* os) {
  *os << c.style << " " << c.protocol << " " << (c.category.empty() ? "all" : c.category);
}

class HeaderStyles : public ::testing::TestWithParam<StyleCase> {};

TEST_P(HeaderStyles, EveryProductSentIsOnDiskByteIdenticalWithNoBadFrame) {
  const StyleCase& c = GetParam();
  PipelineConfig config;
  config.sim_args = {"--once", "--header-style", c.style, "--retransmit-delay-s", "1"};
  config.ingest_args = {"--protocol", c.protocol};
  if (!c.category.empty()) config.products += "/" + c.category;
  Pipeline p(config);
  p.start();
  ASSERT_TRUE(p.sim().waitForLine(std::regex("^listening .* header_style=" + c.style + "$"), 1s)) << p.logs();
  ASSERT_TRUE(p.waitSimDone(120s * kSlow)) << p.logs();
  const SimManifest sent = parseSent(p.sim());
  ASSERT_GT(sent.distinct.size(), c.category.empty() ? 300u : 1u);
  ASSERT_TRUE(p.waitFilesOnDisk(sent.distinct.size(), 60s * kSlow))
      << countFiles(p.out()) << " of " << sent.distinct.size() << "\n"
      << p.logs();

  // Exactly the distinct products the sim sent, each once, byte-identical.
  std::map<std::pair<std::string, std::string>, int> on_disk;
  const auto files = filesOnDisk(p.out());
  for (const auto& f : files) ++on_disk[{f.name, f.sha256}];
  for (const auto& key : sent.distinct) {
    EXPECT_EQ(on_disk[key], 1) << key.first << " " << key.second;
  }
  EXPECT_EQ(files.size(), sent.distinct.size());

  // Ingest decoded every frame it was sent: nothing bad, and the frames were of
  // the protocol asked for (npemwin's V2 mixes in V1 where compression does not pay).
  // Wait until emwin-stats has ingest's counters for every data frame the sim sent.
  double blocks_sent = 0;
  for (const auto& line : p.sim().lines()) {
    if (line.rfind("sent ", 0) == 0) blocks_sent += std::stod(fieldOf(line, "blocks"));
  }
  std::string metrics;
  ASSERT_TRUE(waitUntil(
      [&] {
        metrics = scrape(p.httpPort(), "/metrics");
        return metricSum(metrics, "emwin_files_written_total") >= static_cast<double>(sent.distinct.size()) &&
               metricSum(metrics, "emwin_segments_published_total", "service=\"ingest\"") >= blocks_sent;
      },
      10s * kSlow))
      << metrics;
  EXPECT_EQ(metricSum(metrics, "emwin_bad_frames_total", "service=\"ingest\""), 0) << metrics;
  const double v1 = metricSum(metrics, "emwin_frames_v1_total", "service=\"ingest\"");
  const double v2 = metricSum(metrics, "emwin_frames_v2_total", "service=\"ingest\"");
  if (c.protocol == "v1") {
    EXPECT_GT(v1, 0) << metrics;
    EXPECT_EQ(v2, 0) << metrics;
  } else {
    EXPECT_GT(v2, 0) << metrics;
    if (c.style == "npemwin") {
      EXPECT_GT(v1, 0) << metrics;
    }
  }
  EXPECT_EQ(metricSum(metrics, "emwin_evictions_total", "service=\"assembler\""), 0) << metrics;
}

INSTANTIATE_TEST_SUITE_P(
    StylesAndProtocols, HeaderStyles,
    ::testing::Values(StyleCase{"spec", "v1", "tornado_warning"}, StyleCase{"spec", "v2", "flash_flood_warning"},
                      StyleCase{"compact", "v1", "severe_thunderstorm_warning"},
                      StyleCase{"compact", "v2", "non_precipitation_warning"},
                      StyleCase{"npemwin", "v1", "flood_warning"},
                      StyleCase{"npemwin", "v2", "marine_weather_message"}, StyleCase{"npemwin", "v2", ""}),
    [](const ::testing::TestParamInfo<StyleCase>& info) {
      return info.param.style + "_" + info.param.protocol + "_" +
             (info.param.category.empty() ? std::string("all317") : info.param.category);
    });

}  // namespace
}  // namespace emwin::test
