#include "runtime/stats_reporter.h"

#include <gtest/gtest.h>

namespace emwin::runtime {
namespace {

using namespace std::chrono_literals;

TEST(StatsReporterTest, DueFollowsInjectedTime) {
  const auto t0 = StatsReporter::Clock::time_point{} + 100s;
  StatsReporter reporter("ingest", "a", 2s, t0);
  EXPECT_FALSE(reporter.due(t0));
  EXPECT_FALSE(reporter.due(t0 + 1999ms));
  EXPECT_TRUE(reporter.due(t0 + 2s));
  reporter.build(t0 + 2500ms);
  EXPECT_FALSE(reporter.due(t0 + 4s));
  EXPECT_TRUE(reporter.due(t0 + 4500ms));
}

TEST(StatsReporterTest, BuildsServiceStats) {
  const auto t0 = StatsReporter::Clock::time_point{} + 10s;
  StatsReporter reporter("assembler", "b", 2s, t0);
  reporter.addCounter("files");
  reporter.addCounter("files", 2);
  reporter.setCounter("segments", 40);
  reporter.setGauge("queue_depth", 3.5);
  reporter.setLabel("current_server", "h:1");
  reporter.setState(emwin::bus::v1::SERVICE_STATE_RUNNING);
  auto stats = reporter.build(t0 + 1500ms);
  EXPECT_EQ(stats.service(), "assembler");
  EXPECT_EQ(stats.instance(), "b");
  EXPECT_EQ(stats.state(), emwin::bus::v1::SERVICE_STATE_RUNNING);
  EXPECT_DOUBLE_EQ(stats.uptime_s(), 1.5);
  EXPECT_EQ(stats.counters().at("files"), 3u);
  EXPECT_EQ(stats.counters().at("segments"), 40u);
  EXPECT_DOUBLE_EQ(stats.gauges().at("queue_depth"), 3.5);
  EXPECT_EQ(stats.labels().at("current_server"), "h:1");
  EXPECT_EQ(reporter.topic(), "stats.assembler.b");
  EXPECT_EQ(reporter.counter("missing"), 0u);
}

}  // namespace
}  // namespace emwin::runtime
