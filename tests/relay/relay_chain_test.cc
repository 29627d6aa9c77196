// emwin-relay end to end: sim -> ingest A -> relay -> ingest B -> assembler B
// -> disk-writer B, beside the site's own pipeline A, every process real (see
// relay_chain.h). Every one of the 317 real products the simulator sends must
// reach disk B byte-identical and once — for every header style the simulator
// knows, with V1 and with V2 downstream clients, the relay writing each of its
// own header styles — while pipeline A gets the same, unaffected.
#include <gtest/gtest.h>

#include "relay_chain.h"

namespace emwin::test {
namespace {

struct ChainCase {
  std::string sim_style;    // how upstream lays its frames out
  std::string relay_style;  // how the relay lays them out for its clients
  std::string protocol;     // ingest B's logon: v1 or v2
  bool files = false;       // relay completed files from the assembler instead of segments
};

void PrintTo(const ChainCase& c, std::ostream* os) {
  *os << "sim " << c.sim_style << ", relay " << c.relay_style << ", " << c.protocol << (c.files ? ", files" : "");
}

class RelayChainBytes : public ::testing::TestWithParam<ChainCase> {};

TEST_P(RelayChainBytes, EveryProductReachesTheDownstreamDiskByteIdenticalAndOnce) {
  const ChainCase& c = GetParam();
  ChainConfig config;
  config.sim_style = c.sim_style;
  config.protocol_b = c.protocol;
  config.relay_args = {"--header-style", c.relay_style};
  config.feed_files = c.files;
  RelayChain chain(config);
  chain.start();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  ASSERT_TRUE(chain.sim().waitForLine(std::regex("^done "), std::chrono::seconds(120 * kSlow))) << chain.logs();
  const SimManifest sent = parseSent(chain.sim());
  ASSERT_EQ(sent.distinct.size(), 317u);
  ASSERT_TRUE(waitUntil([&] { return countFiles(chain.outB()) >= sent.distinct.size() &&
                                     countFiles(chain.outA()) >= sent.distinct.size(); },
                        std::chrono::seconds(60 * kSlow)))
      << "A " << countFiles(chain.outA()) << ", B " << countFiles(chain.outB()) << " of " << sent.distinct.size()
      << "\n" << chain.logs();
  expectDiskHolds(chain.outA(), sent, "pipeline A");
  expectDiskHolds(chain.outB(), sent, "downstream B");

  // Nothing was lost on the relay's side, every relayed block was sent as the
  // protocol asked for, and ingest B decoded every frame it got.
  const std::size_t blocks = blocksSent(chain.sim());
  std::string rm;
  ASSERT_TRUE(waitUntil(
      [&] {
        rm = chain.relayMetrics();
        return metric(rm, "emwin_frames_sent_total") >= static_cast<double>(c.files ? 901 : blocks);
      },
      std::chrono::seconds(10 * kSlow)))
      << rm;
  EXPECT_EQ(metric(rm, "emwin_bus_missed_total"), 0) << rm;
  EXPECT_EQ(metric(rm, "emwin_bus_gaps_total"), 0) << rm;
  EXPECT_EQ(metric(rm, "emwin_bad_messages_total"), 0) << rm;
  EXPECT_EQ(metric(rm, "emwin_disconnects_total"), 0) << rm;
  EXPECT_EQ(metric(rm, "emwin_clients_streaming"), 1) << rm;
  if (c.files) {
    // Completed files, deduplicated: the retransmissions are not relayed; each product's blocks once.
    EXPECT_EQ(metric(rm, "emwin_files_in_total"), 317) << rm;
    EXPECT_EQ(metric(rm, "emwin_files_not_raw_total"), 0) << rm;
    EXPECT_EQ(metric(rm, "emwin_frames_sent_total"), 901) << rm;
  } else {
    EXPECT_EQ(metric(rm, "emwin_segments_in_total"), static_cast<double>(blocks)) << rm;
    EXPECT_EQ(metric(rm, "emwin_frames_sent_total"), static_cast<double>(blocks)) << rm;
  }
  if (c.protocol == "v1") {
    EXPECT_EQ(metric(rm, "emwin_frames_sent_total", "kind=\"v2\""), 0) << rm;
  } else {
    EXPECT_GT(metric(rm, "emwin_frames_sent_total", "kind=\"v2\""), 0) << rm;
    EXPECT_GT(metric(rm, "emwin_frames_sent_total", "kind=\"v1\""), 0) << "compression never fails to pay?\n" << rm;
  }
  std::string sm;
  ASSERT_TRUE(waitUntil(
      [&] {
        sm = chain.statsMetrics();
        return metric(sm, "emwin_segments_published_total", "instance=\"b\"") >= (c.files ? 901 : blocks);
      },
      std::chrono::seconds(10 * kSlow)))
      << sm;
  EXPECT_EQ(metric(sm, "emwin_bad_frames_total", "instance=\"b\""), 0) << sm;
  EXPECT_EQ(metric(sm, "emwin_bad_frames_total", "instance=\"a\""), 0) << sm;
  EXPECT_LE(metric(sm, "emwin_evictions_total", "instance=\"b\""), 0) << sm;  // counted by kind once one happens
  // Nothing left half-received at B (its next report may still show the last file in progress).
  EXPECT_TRUE(waitUntil([&] { return metric(sm = chain.statsMetrics(), "emwin_partial_files", "instance=\"b\"") == 0; },
                        std::chrono::seconds(10 * kSlow)))
      << sm;
}

INSTANTIATE_TEST_SUITE_P(
    StylesAndProtocols, RelayChainBytes,
    ::testing::Values(ChainCase{"spec", "spec", "v1"}, ChainCase{"spec", "npemwin", "v2"},
                      ChainCase{"compact", "compact", "v2"}, ChainCase{"compact", "spec", "v1"},
                      ChainCase{"npemwin", "npemwin", "v1"}, ChainCase{"npemwin", "compact", "v2"},
                      ChainCase{"spec", "spec", "v2", true}, ChainCase{"npemwin", "npemwin", "v1", true}),
    [](const ::testing::TestParamInfo<ChainCase>& info) {
      return "sim_" + info.param.sim_style + "_relay_" + info.param.relay_style + "_" + info.param.protocol +
             (info.param.files ? "_files" : "_segments");
    });

}  // namespace
}  // namespace emwin::test
