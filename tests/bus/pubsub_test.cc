// Publisher/Subscriber over real sockets (tcp on 127.0.0.1 with OS ports,
// inproc where exact HWM behaviour matters). Consumers run on threads.
#include <algorithm>
#include <atomic>
#include <numeric>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "bus/bus.h"
#include "emwin/bus/v1/control.pb.h"
#include "test_util.h"

namespace emwin::bus {
namespace {

using namespace std::chrono_literals;
using testing::joinTap;
using testing::localPublisher;
using testing::pipelineConsumer;
using testing::segment;
using testing::tapConsumer;
using testing::waitUntil;

// Drains a stalled tap, then publishes one more tap-only message on `topic`
// and receives until it arrives (so every earlier drop has been counted).
// Returns {messages received, number of the final one}; `number` reads the
// sequence being checked (Header.sequence or Header.topic_sequence).
template <class Number>
std::pair<std::uint64_t, std::uint64_t> drainThroughFinal(Publisher& pub, Subscriber& tap, const std::string& topic,
                                                          Number number) {
  std::uint64_t received = 0;
  std::uint64_t highest = 0;
  while (auto r = tap.receive(50ms)) {
    ++received;
    highest = number(r->header);
  }
  auto final_msg = segment(0);
  pub.publish(topic, final_msg, Path::kTapOnly);
  std::uint64_t final_number = 0;
  waitUntil([&] { return final_number != 0 && highest == final_number; },
            [&] {
              if (auto r = tap.receive(50ms)) {
                ++received;
                highest = number(r->header);
                if (r->topic == topic) final_number = highest;
              }
            });
  return {received, final_number};
}

class BusPubSubTest : public ::testing::Test {
 protected:
  // Polls the publisher until it knows `replicas` live replicas.
  bool waitReplicas(Publisher& pub, std::size_t replicas) {
    return waitUntil([&] { return pub.stats().pipeline.replicas == replicas; }, [&] { pub.poll(5ms); });
  }

  zmq::context_t context_;
};

TEST_F(BusPubSubTest, TapDeliversInOrderWithTopicFilter) {
  auto options = localPublisher();
  options.pipeline_endpoint.clear();
  Publisher pub(context_, options);
  Subscriber sub(context_, tapConsumer(pub, {"seg.TXT."}));
  ASSERT_TRUE(joinTap(pub, sub, "seg.PROBE"));
  while (sub.receive(20ms)) {
  }
  std::vector<std::uint32_t> sent;
  for (std::uint32_t i = 1; i <= 100; ++i) {
    auto s = segment(i);
    pub.publish(i % 2 == 0 ? "seg.TXT.A.TXT" : "seg.GIF.B.GIF", s);
    if (i % 2 == 0) sent.push_back(i);
  }
  std::vector<std::uint32_t> got;
  std::uint64_t last_seq = 0;
  waitUntil([&] { return got.size() == sent.size(); },
            [&] {
              if (auto r = sub.receive(50ms)) {
                EXPECT_EQ(r->topic, "seg.TXT.A.TXT");
                EXPECT_GT(r->header.sequence(), last_seq);
                EXPECT_EQ(r->header.producer_id(), "test.0");
                EXPECT_EQ(r->header.epoch(), pub.epoch());
                EXPECT_EQ(r->header.payload_type(), "emwin.bus.v1.Segment");
                last_seq = r->header.sequence();
                emwin::bus::v1::Segment s;
                ASSERT_TRUE(s.ParseFromString(r->payload));
                got.push_back(s.block_number());
              }
            });
  EXPECT_EQ(got, sent);
  EXPECT_EQ(sub.stats().gaps, 0u);
  EXPECT_GE(sub.stats().filtered_out, 50u);
}

TEST_F(BusPubSubTest, FilteredTapIsSentOnlyItsFamiliesAndCountsGapsPerFamily) {
  auto options = localPublisher();
  options.tap_endpoint = "inproc://family-tap";
  options.tap_send_hwm = 10;
  Publisher pub(context_, options);
  auto tap_options = tapConsumer(pub, {"stats."});
  tap_options.receive_hwm = 10;
  Subscriber tap(context_, tap_options);
  ASSERT_TRUE(joinTap(pub, tap, "stats.probe"));
  while (tap.receive(20ms)) {
  }
  // Segments interleaved with stats: the socket is never sent a segment, and
  // the global sequence gaps they leave are not counted as losses.
  std::uint64_t stats_published = 0;
  for (std::uint32_t i = 1; i <= 6; ++i) {
    auto seg = segment(i);
    pub.publish("seg.TXT.A.TXT", seg, Path::kTapOnly);
    auto st = segment(i);
    pub.publish("stats.ingest.x", st, Path::kTapOnly);
    ++stats_published;
  }
  std::uint64_t got = 0;
  std::uint64_t prev_topic_seq = 0;
  waitUntil([&] { return got == stats_published; },
            [&] {
              if (auto r = tap.receive(50ms)) {
                EXPECT_EQ(r->topic, "stats.ingest.x");
                if (prev_topic_seq != 0) {
                  EXPECT_EQ(r->header.topic_sequence(), prev_topic_seq + 1);
                }
                prev_topic_seq = r->header.topic_sequence();
                ++got;
              }
            });
  EXPECT_EQ(got, stats_published);
  auto before = tap.stats();
  EXPECT_EQ(before.filtered_out, 0u);  // filtered by the producer, never received
  EXPECT_EQ(before.gaps, 0u);
  EXPECT_EQ(before.missed, 0u);

  // Now the tap stalls while 500 stats messages pass its HWM: it counts exactly
  // what it missed of its family, whatever the segments in between.
  const std::uint64_t first = prev_topic_seq + 1;
  for (std::uint32_t i = 1; i <= 500; ++i) {
    auto seg = segment(i);
    pub.publish("seg.TXT.A.TXT", seg, Path::kTapOnly);
    auto st = segment(i);
    pub.publish("stats.ingest.x", st, Path::kTapOnly);
  }
  const auto [received, last] = drainThroughFinal(
      pub, tap, "stats.ingest.x", [](const v1::Header& h) { return h.topic_sequence(); });
  const auto after = tap.stats();
  EXPECT_EQ(last, first + 500);
  EXPECT_GT(after.gaps, 0u);
  EXPECT_LT(received, 500u);
  EXPECT_EQ(received + (after.missed - before.missed), last - first + 1);
  EXPECT_EQ(after.filtered_out, 0u);
}

TEST_F(BusPubSubTest, StalledTapCountsGapsWhilePipelineGetsEverything) {
  auto options = localPublisher();
  options.tap_endpoint = "inproc://stalled-tap";
  options.tap_send_hwm = 10;
  Publisher pub(context_, options);
  auto tap_options = tapConsumer(pub);
  tap_options.receive_hwm = 10;
  Subscriber tap(context_, tap_options);
  ASSERT_TRUE(joinTap(pub, tap));
  while (tap.receive(20ms)) {
  }
  const std::uint64_t first = pub.stats().published + 1;

  constexpr std::uint32_t kCount = 2000;
  std::set<std::uint64_t> pipeline_got;
  std::atomic<bool> consumer_ready{false};
  std::atomic<bool> consumer_done{false};
  std::thread consumer([&] {
    Subscriber sub(context_, pipelineConsumer(pub, "all"));
    consumer_ready = true;
    waitUntil([&] { return pipeline_got.size() == kCount; },
              [&] {
                if (auto r = sub.receive(50ms)) {
                  pipeline_got.insert(r->header.sequence());
                  sub.ack(*r);
                }
              });
    consumer_done = true;
  });
  waitUntil([&] { return consumer_ready.load(); }, [] { std::this_thread::yield(); });
  ASSERT_TRUE(waitReplicas(pub, 1));
  for (std::uint32_t i = 1; i <= kCount; ++i) {
    auto s = segment(i, 256);
    pub.publish("seg.TXT.A.TXT", s);
  }
  waitUntil([&] { return pub.stats().pipeline.max_group_queue == 0 && pub.stats().pipeline.sent >= kCount; },
            [&] { pub.poll(5ms); });
  // Keep servicing acks until the consumer is done.
  waitUntil([&] { return consumer_done.load(); }, [&] { pub.poll(5ms); });
  consumer.join();
  EXPECT_EQ(pipeline_got.size(), kCount);

  // Now drain the stalled tap: it saw some messages and counted the rest as missed.
  const auto [tap_received, last] =
      drainThroughFinal(pub, tap, "tail", [](const v1::Header& h) { return h.sequence(); });
  const auto stats = tap.stats();
  EXPECT_EQ(last, pub.stats().published);
  EXPECT_GT(stats.gaps, 0u);
  EXPECT_GT(stats.missed, 0u);
  EXPECT_LT(tap_received, kCount / 2);
  EXPECT_EQ(tap_received + stats.missed, last - first + 1);
}

// publish() never blocks: a producer that honours hasRoom() (as the service
// runtime does, by not taking input) keeps each group's queue at the
// high-water mark while a consumer withholds credit, and loses nothing.
TEST_F(BusPubSubTest, NoRoomWhileConsumerWithholdsCreditAndNothingIsLost) {
  auto options = localPublisher();
  options.pipeline_hwm = 5;
  Publisher pub(context_, options);
  Subscriber sub(context_, pipelineConsumer(pub, "slow", 3));
  ASSERT_TRUE(waitReplicas(pub, 1));

  constexpr std::uint32_t kCount = 50;
  std::atomic<bool> saw_block{false};
  std::atomic<std::uint32_t> published{0};
  std::atomic<bool> consumer_done{false};
  std::atomic<std::size_t> deepest{0};
  std::thread producer([&] {
    for (std::uint32_t i = 1; i <= kCount; ++i) {
      while (!pub.hasRoom()) {  // what the runtime does: stop taking input, keep servicing acks
        saw_block = true;
        pub.poll(5ms);
      }
      auto s = segment(i);
      pub.publish("seg.TXT.A.TXT", s);
      published = i;
      deepest = std::max(deepest.load(), pub.stats().pipeline.max_group_queue);
    }
    while (!consumer_done.load()) pub.poll(5ms);  // keep servicing acks
  });
  // The consumer withholds credit (receives nothing) until the producer is stuck.
  ASSERT_TRUE(waitUntil([&] { return saw_block.load(); }, [] { std::this_thread::sleep_for(1ms); }));
  EXPECT_LE(published.load(), 3u + 5u);

  std::vector<std::uint32_t> got;
  waitUntil([&] { return got.size() == kCount; },
            [&] {
              if (auto r = sub.receive(50ms)) {
                emwin::bus::v1::Segment s;
                ASSERT_TRUE(s.ParseFromString(r->payload));
                got.push_back(s.block_number());
                sub.ack(*r);
              }
            });
  consumer_done = true;
  producer.join();
  ASSERT_EQ(got.size(), kCount);
  for (std::uint32_t i = 0; i < kCount; ++i) EXPECT_EQ(got[i], i + 1);
  EXPECT_LE(deepest.load(), 5u) << "the group queue never grows past its high-water mark";
  EXPECT_EQ(pub.stats().pipeline.settled, kCount);
  EXPECT_EQ(sub.stats().duplicates, 0u);
}

TEST_F(BusPubSubTest, TwoGroupsEachSeeEveryMessage) {
  Publisher pub(context_, localPublisher());
  constexpr std::uint64_t kCount = 200;
  std::set<std::uint64_t> got_a;
  std::set<std::uint64_t> got_b;
  auto run = [&](const std::string& group, std::set<std::uint64_t>& got) {
    Subscriber sub(context_, pipelineConsumer(pub, group));
    waitUntil([&] { return got.size() == kCount; },
              [&] {
                if (auto r = sub.receive(50ms)) {
                  got.insert(r->header.sequence());
                  sub.ack(*r);
                }
              });
  };
  std::thread a(run, "a", std::ref(got_a));
  std::thread b(run, "b", std::ref(got_b));
  ASSERT_TRUE(waitReplicas(pub, 2));
  std::set<std::uint64_t> sent;
  for (std::uint32_t i = 1; i <= kCount; ++i) {
    auto s = segment(i);
    sent.insert(pub.publish("file.TXT.X.TXT", s));
  }
  waitUntil([&] { return pub.stats().pipeline.max_group_queue == 0; }, [&] { pub.poll(5ms); });
  // Keep servicing acks until both consumers are done.
  std::atomic<bool> done{false};
  std::thread joiner([&] {
    a.join();
    b.join();
    done = true;
  });
  waitUntil([&] { return done.load(); }, [&] { pub.poll(5ms); }, 20s);
  joiner.join();
  EXPECT_EQ(got_a, sent);
  EXPECT_EQ(got_b, sent);
}

TEST_F(BusPubSubTest, ThreeReplicasShareWorkExactlyOnce) {
  Publisher pub(context_, localPublisher());
  constexpr std::size_t kCount = 600;
  std::mutex mutex;
  std::vector<std::vector<std::uint64_t>> per_replica(3);
  std::atomic<std::size_t> total{0};
  std::vector<std::thread> replicas;
  for (int i = 0; i < 3; ++i) {
    replicas.emplace_back([&, i] {
      Subscriber sub(context_, pipelineConsumer(pub, "workers", 8));
      waitUntil([&] { return total.load() >= kCount; },
                [&] {
                  if (auto r = sub.receive(20ms)) {
                    {
                      std::lock_guard lock(mutex);
                      per_replica[static_cast<std::size_t>(i)].push_back(r->header.sequence());
                    }
                    ++total;
                    sub.ack(*r);
                  }
                });
    });
  }
  ASSERT_TRUE(waitReplicas(pub, 3));
  std::set<std::uint64_t> sent;
  for (std::uint32_t i = 1; i <= kCount; ++i) {
    auto s = segment(i);
    sent.insert(pub.publish("file.TXT.X.TXT", s));
  }
  waitUntil([&] { return total.load() >= kCount; }, [&] { pub.poll(5ms); });
  for (auto& t : replicas) t.join();
  std::multiset<std::uint64_t> all;
  for (const auto& r : per_replica) {
    EXPECT_FALSE(r.empty()) << "a replica got no work";
    all.insert(r.begin(), r.end());
  }
  EXPECT_EQ(all.size(), kCount) << "overlap or loss";
  EXPECT_EQ(std::set<std::uint64_t>(all.begin(), all.end()), sent);
}

TEST_F(BusPubSubTest, KilledReplicaInFlightIsRedeliveredToAnother) {
  auto options = localPublisher();
  options.replica_timeout = 300ms;
  Publisher pub(context_, options);

  // A raw DEALER that joins, takes messages and dies without acking or BYE.
  zmq::socket_t crasher(context_, zmq::socket_type::dealer);
  crasher.set(zmq::sockopt::linger, 0);
  crasher.connect(pub.pipelineEndpoint());
  emwin::bus::v1::ConsumerCommand hello;
  hello.set_kind(emwin::bus::v1::ConsumerCommand::KIND_HELLO);
  hello.set_group("sink");
  hello.set_replica("crasher");
  hello.set_credit(10);
  ASSERT_TRUE(crasher.send(zmq::buffer(hello.SerializeAsString())));
  ASSERT_TRUE(waitReplicas(pub, 1));

  std::set<std::uint64_t> sent;
  for (std::uint32_t i = 1; i <= 20; ++i) {
    auto s = segment(i);
    sent.insert(pub.publish("file.TXT.X.TXT", s));
  }
  std::size_t crasher_got = 0;
  waitUntil([&] { return crasher_got == 10; },
            [&] {
              pub.poll(1ms);
              zmq::message_t frame;
              while (crasher.recv(frame, zmq::recv_flags::dontwait)) {
                if (!frame.more()) ++crasher_got;
              }
            });
  ASSERT_EQ(crasher_got, 10u);
  crasher.close();  // dies: no acks, no BYE

  std::set<std::uint64_t> got;
  std::atomic<bool> done{false};
  std::thread survivor([&] {
    Subscriber sub(context_, pipelineConsumer(pub, "sink", 16));
    waitUntil([&] { return got.size() == 100; },
              [&] {
                if (auto r = sub.receive(20ms)) {
                  EXPECT_TRUE(got.insert(r->header.sequence()).second) << "duplicate delivered";
                  sub.ack(*r);
                }
              });
    done = true;
  });
  for (std::uint32_t i = 21; i <= 100; ++i) {
    auto s = segment(i);
    sent.insert(pub.publish("file.TXT.X.TXT", s));
  }
  waitUntil([&] { return done.load(); }, [&] { pub.poll(5ms); }, 20s);
  survivor.join();
  EXPECT_EQ(got, sent);
  EXPECT_GE(pub.stats().pipeline.redelivered, 10u);
  EXPECT_GE(pub.stats().pipeline.replicas_lost, 1u);
}

TEST_F(BusPubSubTest, RestartedConsumerRecoversMissedMessagesViaReplayWithoutDuplicates) {
  auto options = localPublisher();
  options.group_timeout = 100ms;
  Publisher pub(context_, options);
  const auto state = std::filesystem::temp_directory_path() /
                     ("bus_state_" + std::to_string(::getpid()) + ".txt");
  std::filesystem::remove(state);
  auto consumer_options = pipelineConsumer(pub, "recorder", 8);
  consumer_options.state_file = state.string();


  // First run: handle 1..30, then leave cleanly (state written on close).
  std::set<std::uint64_t> first;
  {
    Subscriber sub(context_, consumer_options);
    ASSERT_TRUE(waitReplicas(pub, 1));
    for (std::uint32_t i = 1; i <= 30; ++i) {
      auto s = segment(i);
      pub.publish("file.TXT.X.TXT", s);
    }
    waitUntil([&] { return first.size() == 30; },
              [&] {
                pub.poll(1ms);
                if (auto r = sub.receive(5ms)) {
                  first.insert(r->header.sequence());
                  sub.ack(*r);
                }
              });
    ASSERT_EQ(first.size(), 30u);
    // Make sure the producer has seen the acks before we leave.
    sub.keepAlive();
  }
  ASSERT_TRUE(std::filesystem::exists(state));
  // The group is forgotten; what follows only goes to retention.
  ASSERT_TRUE(waitUntil([&] { return pub.stats().pipeline.groups == 0; }, [&] { pub.poll(5ms); }));
  std::set<std::uint64_t> missed;
  for (std::uint32_t i = 31; i <= 60; ++i) {
    auto s = segment(i);
    missed.insert(pub.publish("file.TXT.X.TXT", s));
  }

  // Second run: REPLAY brings exactly the missed ones.
  Subscriber sub(context_, consumer_options);
  std::set<std::uint64_t> second;
  bool all_replayed = true;
  waitUntil([&] { return second.size() == missed.size(); },
            [&] {
              pub.poll(1ms);
              if (auto r = sub.receive(5ms)) {
                EXPECT_TRUE(second.insert(r->header.sequence()).second) << "duplicate";
                all_replayed = all_replayed && r->replayed;
                sub.ack(*r);
              }
            });
  EXPECT_EQ(second, missed);
  EXPECT_TRUE(all_replayed);
  // A live message after the replay arrives next, with nothing repeated before it.
  auto marker = segment(999);
  const auto marker_seq = pub.publish("file.TXT.X.TXT", marker);
  std::vector<std::uint64_t> after;
  waitUntil([&] { return !after.empty() && after.back() == marker_seq; },
            [&] {
              pub.poll(1ms);
              if (auto r = sub.receive(5ms)) {
                after.push_back(r->header.sequence());
                sub.ack(*r);
              }
            });
  EXPECT_EQ(after, std::vector<std::uint64_t>{marker_seq});
  EXPECT_EQ(sub.stats().replay_requests, 1u);
  EXPECT_GE(pub.stats().pipeline.replayed, missed.size());
  std::filesystem::remove(state);
}

TEST_F(BusPubSubTest, MalformedPayloadIsCountedAndCreditReturned) {
  Publisher pub(context_, localPublisher());
  Subscriber tap(context_, tapConsumer(pub));
  Subscriber sub(context_, pipelineConsumer(pub, "strict", 1));
  ASSERT_TRUE(joinTap(pub, tap));
  while (tap.receive(20ms)) {
  }
  ASSERT_TRUE(waitReplicas(pub, 1));

  emwin::bus::v1::Header unused;
  pub.fillHeader(unused, "emwin.bus.v1.Segment");
  pub.publishSerialized("seg.TXT.BAD.TXT", std::string("\xff\xfe garbage", 10), Path::kAll);
  auto good = segment(7);
  const auto good_seq = pub.publish("seg.TXT.GOOD.TXT", good);

  std::optional<Received> from_pipeline;
  waitUntil([&] { return from_pipeline.has_value(); },
            [&] {
              pub.poll(1ms);
              from_pipeline = sub.receive(5ms);
            });
  ASSERT_TRUE(from_pipeline.has_value()) << "credit of the bad payload was not returned";
  EXPECT_EQ(from_pipeline->header.sequence(), good_seq);
  EXPECT_EQ(sub.stats().bad_payloads, 1u);

  std::optional<Received> from_tap;
  waitUntil([&] { return from_tap.has_value(); }, [&] { from_tap = tap.receive(20ms); });
  ASSERT_TRUE(from_tap.has_value());
  EXPECT_EQ(from_tap->header.sequence(), good_seq);
  EXPECT_EQ(tap.stats().bad_payloads, 1u);
}

TEST_F(BusPubSubTest, ProducerRestartIsANewEpochNotDuplicates) {
  auto options = localPublisher();
  options.pipeline_endpoint.clear();
  // ipc: the restarted producer can rebind the same address without racing
  // other tests for a tcp port.
  options.tap_endpoint = "ipc://" + (std::filesystem::temp_directory_path() /
                                     ("emwin-epoch-" + std::to_string(::getpid()))).string();
  std::optional<Publisher> pub;
  pub.emplace(context_, options);
  Subscriber tap(context_, tapConsumer(*pub));
  ASSERT_TRUE(joinTap(*pub, tap));
  for (std::uint32_t i = 1; i <= 20; ++i) {
    auto s = segment(i);
    pub->publish("x", s);
  }
  ASSERT_TRUE(waitUntil([&] { return tap.stats().received >= 21; }, [&] { (void)tap.receive(20ms); }));
  const auto first_epoch = pub->epoch();
  pub.reset();
  pub.emplace(context_, options);
  ASSERT_NE(pub->epoch(), first_epoch);
  // The new epoch restarts at sequence 1, below what we saw: not duplicates.
  std::uint64_t new_epoch_received = 0;
  ASSERT_TRUE(waitUntil([&] { return new_epoch_received >= 5; },
                        [&] {
                          auto probe = segment(0);
                          pub->publish("probe", probe, Path::kTapOnly);
                          while (auto r = tap.receive(5ms)) {
                            if (r->header.epoch() == pub->epoch()) ++new_epoch_received;
                          }
                        }));
  EXPECT_EQ(tap.stats().epochs_seen, 1u);
  EXPECT_EQ(tap.stats().duplicates, 0u);
}

}  // namespace
}  // namespace emwin::bus

namespace emwin::bus {
namespace {

using namespace std::chrono_literals;
using testing::localPublisher;
using testing::pipelineConsumer;
using testing::segment;
using testing::waitUntil;

std::string tempStateDir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("bus-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

// Receives until `n` messages arrived (acking each); returns their block numbers.
std::vector<std::uint32_t> receiveN(Publisher& pub, Subscriber& sub, std::size_t n) {
  std::vector<std::uint32_t> got;
  waitUntil([&] { return got.size() >= n; },
            [&] {
              pub.poll(1ms);
              if (auto r = sub.receive(5ms)) {
                emwin::bus::v1::Segment s;
                if (s.ParseFromString(r->payload)) got.push_back(s.block_number());
                sub.ack(*r);
              }
            });
  return got;
}

// Issue 13: files the assembler published after a restart, before its sinks
// re-joined, went to retention only. A producer with a state dir remembers its
// groups and holds messages for them from its first publish.
TEST(BusRestartTest, RestartedProducerHoldsMessagesForTheGroupsItKnewBeforeTheyRejoin) {
  zmq::context_t context;
  const std::string state = tempStateDir("groups");
  auto options = localPublisher();
  options.state_dir = state;
  {
    Publisher first(context, options);
    Subscriber sub(context, pipelineConsumer(first, "writers"));
    ASSERT_TRUE(waitUntil([&] { return first.stats().pipeline.groups == 1; }, [&] { first.poll(5ms); }));
  }
  // The producer restarts (new epoch, new ports); nobody has joined yet.
  Publisher second(context, options);
  EXPECT_EQ(second.stats().pipeline.groups_restored, 1u);
  for (std::uint32_t i = 1; i <= 20; ++i) {
    auto s = segment(i);
    second.publish("seg.TXT.A.TXT", s);
  }
  EXPECT_EQ(second.stats().pipeline.unacknowledged, 20u) << "held for the known group, not only retained";
  Subscriber sub(context, pipelineConsumer(second, "writers"));
  const auto got = receiveN(second, sub, 20);
  ASSERT_EQ(got.size(), 20u);
  for (std::uint32_t i = 0; i < 20; ++i) EXPECT_EQ(got[i], i + 1);
  EXPECT_TRUE(waitUntil([&] { return second.stats().pipeline.settled == 20; }, [&] {
    sub.keepAlive();  // the last batched acks
    second.poll(5ms);
  }));
  std::filesystem::remove_all(state);
}

// A group that joins mid-epoch and asks for the epoch from its start (what a
// consumer does when it sees a producer restart) gets what was published
// before it existed here — the group's floor must not hide those.
TEST(BusRestartTest, ReplayRecoversWhatWasPublishedBeforeTheGroupJoined) {
  zmq::context_t context;
  Publisher pub(context, localPublisher());
  for (std::uint32_t i = 1; i <= 10; ++i) {
    auto s = segment(i);
    pub.publish("seg.TXT.A.TXT", s);  // no group yet: retention only
  }
  Subscriber sub(context, pipelineConsumer(pub, "late"));
  ASSERT_TRUE(waitUntil([&] { return pub.stats().pipeline.replicas == 1; }, [&] { pub.poll(5ms); }));
  for (std::uint32_t i = 11; i <= 15; ++i) {
    auto s = segment(i);
    pub.publish("seg.TXT.A.TXT", s);  // routed to the group
  }
  auto first = receiveN(pub, sub, 5);
  sub.requestReplay(pub.epoch(), 0);
  auto replayed = receiveN(pub, sub, 10);
  std::sort(replayed.begin(), replayed.end());
  std::vector<std::uint32_t> want(10);
  std::iota(want.begin(), want.end(), 1u);
  EXPECT_EQ(replayed, want) << "the messages published before the group existed";
  EXPECT_EQ(sub.stats().duplicates, 0u);
  EXPECT_EQ(pub.stats().pipeline.replayed, 10u) << "what was routed to the group is not replayed again";
}

// An ad hoc stream leaves its group for good; a service's group outlives its replicas.
TEST(BusRestartTest, EphemeralGroupEndsWithItsLastReplicaADurableOneStays) {
  zmq::context_t context;
  Publisher pub(context, localPublisher());
  {
    auto o = pipelineConsumer(pub, "adhoc");
    o.ephemeral = true;
    Subscriber sub(context, o);
    Subscriber durable(context, pipelineConsumer(pub, "service"));
    ASSERT_TRUE(waitUntil([&] { return pub.stats().pipeline.groups == 2; }, [&] { pub.poll(5ms); }));
  }
  ASSERT_TRUE(waitUntil([&] { return pub.stats().pipeline.replicas == 0; }, [&] { pub.poll(5ms); }));
  EXPECT_EQ(pub.stats().pipeline.groups, 1u) << "only the service's group is still held for";
  auto s = segment(1);
  pub.publish("seg.TXT.A.TXT", s);
  EXPECT_EQ(pub.stats().pipeline.unacknowledged, 1u);
}

}  // namespace
}  // namespace emwin::bus
