// StatsAggregator: rates, staleness, epochs, Prometheus rendering.
#include "aggregator.h"

#include <gtest/gtest.h>

using emwin::bus::v1::ServiceStats;
using emwin::sinks::StatsAggregator;
using namespace std::chrono_literals;

namespace {
ServiceStats make(const std::string& service, const std::string& instance, std::uint64_t epoch,
                  std::uint64_t frames, std::uint64_t bad_checksum) {
  ServiceStats s;
  s.set_service(service);
  s.set_instance(instance);
  s.mutable_header()->set_epoch(epoch);
  s.set_uptime_s(12.5);
  s.set_state(emwin::bus::v1::SERVICE_STATE_RUNNING);
  (*s.mutable_counters())["frames_v1"] = frames;
  (*s.mutable_counters())["bad_frames.checksum"] = bad_checksum;
  (*s.mutable_gauges())["queue_depth"] = 3;
  (*s.mutable_labels())["current_server"] = "sim:2211";
  return s;
}
}  // namespace

TEST(StatsAggregator, RatesComeFromConsecutiveSnapshotsOfOneEpoch) {
  StatsAggregator agg(10s);
  auto t0 = StatsAggregator::Clock::time_point{} + 100s;
  agg.update(make("ingest", "0", 7, 100, 0), t0);
  agg.update(make("ingest", "0", 7, 300, 4), t0 + 2s);
  auto summary = agg.summary(t0 + 2s);
  ASSERT_EQ(summary.services_size(), 1);
  EXPECT_DOUBLE_EQ(summary.rates().at("ingest.0.frames_v1_per_s"), 100.0);
  EXPECT_DOUBLE_EQ(summary.rates().at("ingest.0.bad_frames.checksum_per_s"), 2.0);
  EXPECT_EQ(summary.stale_size(), 0);
  // A new epoch (restart) resets rates instead of producing a negative jump.
  agg.update(make("ingest", "0", 8, 5, 0), t0 + 4s);
  EXPECT_TRUE(agg.summary(t0 + 4s).rates().empty());
}

TEST(StatsAggregator, QuietInstanceBecomesStaleAndUnhealthy) {
  StatsAggregator agg(5s);
  auto t0 = StatsAggregator::Clock::time_point{} + 100s;
  EXPECT_FALSE(agg.healthy(t0));  // nothing known yet
  agg.update(make("assembler", "a", 1, 1, 0), t0);
  EXPECT_TRUE(agg.healthy(t0 + 1s));
  EXPECT_FALSE(agg.healthy(t0 + 6s));
  auto summary = agg.summary(t0 + 6s);
  ASSERT_EQ(summary.stale_size(), 1);
  EXPECT_EQ(summary.stale(0), "assembler.a");
}

TEST(StatsAggregator, PrometheusTextHasFamiliesLabelsAndValues) {
  StatsAggregator agg(10s);
  auto t0 = StatsAggregator::Clock::time_point{} + 100s;
  agg.update(make("ingest", "0", 7, 451, 2), t0);
  agg.setOwnCounter("bus_gaps", 3);
  std::string text = agg.prometheus(t0 + 1s);
  EXPECT_NE(text.find("# TYPE emwin_frames_v1_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("emwin_frames_v1_total{service=\"ingest\",instance=\"0\"} 451\n"), std::string::npos) << text;
  EXPECT_NE(text.find("emwin_bad_frames_total{service=\"ingest\",instance=\"0\",kind=\"checksum\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("emwin_queue_depth{service=\"ingest\",instance=\"0\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("emwin_up{service=\"ingest\",instance=\"0\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("emwin_info{service=\"ingest\",instance=\"0\",key=\"current_server\",value=\"sim:2211\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("emwin_stats_bus_gaps_total 3\n"), std::string::npos) << text;
}

TEST(StatsAggregator, HostileNamesAreEscaped) {
  StatsAggregator agg(10s);
  auto t0 = StatsAggregator::Clock::time_point{} + 100s;
  ServiceStats s = make("bad\"svc\n", "x\\y", 1, 1, 0);
  (*s.mutable_counters())["we ird-name!"] = 1;
  agg.update(s, t0);
  std::string text = agg.prometheus(t0);
  EXPECT_NE(text.find("service=\"bad\\\"svc\\n\",instance=\"x\\\\y\""), std::string::npos) << text;
  EXPECT_NE(text.find("emwin_we_ird_name__total"), std::string::npos) << text;
}

// Issue 13: ingest's "bad_frames_total" became emwin_bad_frames_total_total.
// A name already ending in _total keeps it; when it is the sum of the family's
// kinds it is left out, so sum(emwin_bad_frames_total) counts every frame once.
TEST(StatsAggregator, NoDoubleTotalSuffixAndNoSumSeriesInsideAKindedFamily) {
  StatsAggregator agg(10s);
  auto t0 = StatsAggregator::Clock::time_point{} + 100s;
  ServiceStats s = make("ingest", "0", 7, 451, 2);
  (*s.mutable_counters())["bad_frames.garbage"] = 3;
  (*s.mutable_counters())["bad_frames_total"] = 5;      // the sum of the kinds
  (*s.mutable_counters())["reconnects_total"] = 4;      // no kinds: kept, one suffix
  agg.update(s, t0);
  agg.setOwnCounter("polls_total", 9);
  std::string text = agg.prometheus(t0 + 1s);
  EXPECT_EQ(text.find("_total_total"), std::string::npos) << text;
  EXPECT_EQ(text.find("emwin_bad_frames_total{service=\"ingest\",instance=\"0\"} "), std::string::npos) << text;
  EXPECT_NE(text.find("emwin_bad_frames_total{service=\"ingest\",instance=\"0\",kind=\"checksum\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("emwin_bad_frames_total{service=\"ingest\",instance=\"0\",kind=\"garbage\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE emwin_reconnects_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("emwin_reconnects_total{service=\"ingest\",instance=\"0\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("emwin_stats_polls_total 9\n"), std::string::npos) << text;
  // Still in the summary (and its rate) for bus subscribers.
  EXPECT_EQ(agg.summary(t0 + 1s).services(0).counters().at("bad_frames_total"), 5u);
}

// Issue 21: the assembler's per-input counters carry their input in source=,
// so a dashboard compares the redundant upstreams by that label.
TEST(StatsAggregator, PerSourceFamiliesLabelTheirInputAsSource) {
  StatsAggregator agg(10s);
  auto t0 = StatsAggregator::Clock::time_point{} + 100s;
  ServiceStats s = make("assembler", "0", 7, 451, 2);
  (*s.mutable_counters())["source_blocks_only.a"] = 12;
  (*s.mutable_counters())["source_blocks_only.ingest-b:5611"] = 3;
  (*s.mutable_gauges())["source_idle_seconds.a"] = 0.5;
  (*s.mutable_counters())["evictions.timeout"] = 1;
  agg.update(s, t0);
  const std::string text = agg.prometheus(t0 + 1s);
  EXPECT_NE(text.find("emwin_source_blocks_only_total{service=\"assembler\",instance=\"0\",source=\"a\"} 12\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("emwin_source_blocks_only_total{service=\"assembler\",instance=\"0\",source=\"ingest-b:5611\"} "
                      "3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("emwin_source_idle_seconds{service=\"assembler\",instance=\"0\",source=\"a\"} 0.5\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("emwin_evictions_total{service=\"assembler\",instance=\"0\",kind=\"timeout\"} 1\n"),
            std::string::npos)
      << text;
}

// Issue 13: after a replica left cleanly (SIGTERM: its last ServiceStats says
// STOPPING) /healthz stayed 503 forever. A clean leave deregisters it; a
// replica that just goes quiet (a crash) still turns the health bad.
TEST(StatsAggregator, CleanLeaveDeregistersACrashStaysStale) {
  StatsAggregator agg(5s);
  auto t0 = StatsAggregator::Clock::time_point{} + 100s;
  agg.update(make("ingest", "0", 1, 1, 0), t0);
  agg.update(make("disk-writer", "w1", 1, 1, 0), t0);
  agg.update(make("disk-writer", "w2", 1, 1, 0), t0);
  EXPECT_TRUE(agg.healthy(t0));
  ServiceStats last = make("disk-writer", "w2", 1, 2, 0);
  last.set_state(emwin::bus::v1::SERVICE_STATE_STOPPING);
  agg.update(last, t0 + 1s);
  EXPECT_EQ(agg.instanceCount(), 2u);
  for (auto t = t0 + 2s; t < t0 + 60s; t += 2s) {  // the others keep reporting
    agg.update(make("ingest", "0", 1, 1, 0), t);
    agg.update(make("disk-writer", "w1", 1, 1, 0), t);
  }
  EXPECT_TRUE(agg.healthy(t0 + 60s));
  auto h = agg.health(t0 + 60s);
  EXPECT_EQ(h.text, "ok services=2");
  auto summary = agg.summary(t0 + 60s);
  EXPECT_EQ(summary.stale_size(), 0);
  EXPECT_EQ(summary.services_size(), 2);
  EXPECT_EQ(agg.prometheus(t0 + 60s).find("instance=\"w2\""), std::string::npos);
  // w1 dies without a word: stale, and the health says so.
  for (auto t = t0 + 60s; t < t0 + 70s; t += 2s) agg.update(make("ingest", "0", 1, 1, 0), t);
  h = agg.health(t0 + 70s);
  EXPECT_FALSE(h.ok);
  EXPECT_EQ(h.text, "degraded services=2 stale=disk-writer.w1");
  // The same replica name coming back registers again.
  agg.update(make("disk-writer", "w2", 2, 0, 0), t0 + 70s);
  EXPECT_EQ(agg.instanceCount(), 3u);
}

// Issue 13: during a full disk /healthz said 200 while the writers reported
// DEGRADED. A DEGRADED instance makes the health bad (503, see docs/deploy.md),
// and the text names it; it recovers when the instance reports RUNNING again.
TEST(StatsAggregator, DegradedServiceMakesHealthBad) {
  StatsAggregator agg(10s);
  auto t0 = StatsAggregator::Clock::time_point{} + 100s;
  agg.update(make("assembler", "a", 1, 1, 0), t0);
  ServiceStats w = make("disk-writer", "w1", 1, 1, 0);
  w.set_state(emwin::bus::v1::SERVICE_STATE_DEGRADED);
  agg.update(w, t0);
  EXPECT_FALSE(agg.healthy(t0 + 1s));
  auto h = agg.health(t0 + 1s);
  EXPECT_FALSE(h.ok);
  EXPECT_EQ(h.text, "degraded services=2 degraded=disk-writer.w1");
  w.set_state(emwin::bus::v1::SERVICE_STATE_RUNNING);
  agg.update(w, t0 + 2s);
  EXPECT_TRUE(agg.healthy(t0 + 3s));
  EXPECT_EQ(agg.health(t0 + 3s).text, "ok services=2");
  EXPECT_EQ(StatsAggregator(10s).health(t0).text, "degraded services=0 (no service reports)");
}
