// CallbackSubscription and MessageStream<T> over a real pipeline/tap.
#include "bus/subscribe.h"

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "emwin/bus/v1/file.pb.h"
#include "test_util.h"

namespace emwin::bus {
namespace {

using namespace std::chrono_literals;
using testing::localPublisher;
using testing::pipelineConsumer;
using testing::segment;
using testing::tapConsumer;
using testing::waitUntil;

TEST(MessageStreamTest, RangeForWithSmallQueueBackpressuresProducerAndCancelEndsIt) {
  zmq::context_t context;
  auto options = localPublisher();
  options.pipeline_hwm = 4;
  Publisher pub(context, options);
  auto consumer = pipelineConsumer(pub, "stream", 2);
  consumer.topic_prefixes = {"seg.TXT."};
  MessageStream<emwin::bus::v1::Segment> stream(context, consumer, 2);
  ASSERT_TRUE(waitUntil([&] { return pub.stats().pipeline.replicas == 1; }, [&] { pub.poll(5ms); }));

  constexpr std::uint32_t kCount = 60;
  std::atomic<bool> saw_block{false};
  std::atomic<bool> done{false};
  std::thread producer([&] {
    for (std::uint32_t i = 1; i <= kCount; ++i) {
      while (!pub.hasRoom()) {  // the producer stops taking input until there is room
        saw_block = true;
        pub.poll(5ms);
      }
      auto s = segment(i);
      pub.publish("seg.TXT.A.TXT", s);
      auto other = segment(1000 + i);
      pub.publish("seg.GIF.B.GIF", other);  // not for this group's prefixes
    }
    while (!done.load()) pub.poll(5ms);
  });

  std::vector<std::uint32_t> got;
  std::thread canceller;
  for (auto& s : stream) {
    if (got.empty()) {
      // Slow consumer: hold the first message until the producer is blocked.
      EXPECT_TRUE(waitUntil([&] { return saw_block.load(); }, [] { std::this_thread::sleep_for(1ms); }));
      EXPECT_LE(stream.queued(), 2u);
    }
    got.push_back(s.block_number());
    if (got.size() == kCount) canceller = std::thread([&] { stream.cancel(); });
  }
  canceller.join();
  done = true;
  producer.join();
  ASSERT_EQ(got.size(), kCount);
  for (std::uint32_t i = 0; i < kCount; ++i) EXPECT_EQ(got[i], i + 1);
  EXPECT_TRUE(saw_block.load());
  EXPECT_FALSE(stream.next().has_value());
}

TEST(MessageStreamTest, SkipsOtherPayloadTypes) {
  zmq::context_t context;
  Publisher pub(context, localPublisher());
  MessageStream<emwin::bus::v1::CompletedFile> stream(context, pipelineConsumer(pub, "files"), 4);
  ASSERT_TRUE(waitUntil([&] { return pub.stats().pipeline.replicas == 1; }, [&] { pub.poll(5ms); }));
  auto not_a_file = segment(1);
  pub.publish("seg.TXT.A.TXT", not_a_file);
  emwin::bus::v1::CompletedFile file;
  file.set_filename("A.TXT");
  pub.publish("file.TXT.A.TXT", file);
  std::optional<emwin::bus::v1::CompletedFile> got;
  waitUntil([&] { return got.has_value(); },
            [&] {
              pub.poll(1ms);
              got = stream.next(5ms);
            });
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->filename(), "A.TXT");
  EXPECT_EQ(stream.skipped(), 1u);
}

TEST(CallbackSubscriptionTest, HandlerSeesEveryMessageAndAcksFreeCredit) {
  zmq::context_t context;
  Publisher pub(context, localPublisher());
  std::mutex mutex;
  std::vector<std::uint64_t> seen;
  // A window of 2 only works if every handled message is acked.
  auto sub = subscribe(context, pipelineConsumer(pub, "cb", 2), [&](const Received& m) {
    std::lock_guard lock(mutex);
    seen.push_back(m.header.sequence());
  });
  ASSERT_TRUE(waitUntil([&] { return pub.stats().pipeline.replicas == 1; }, [&] { pub.poll(5ms); }));
  std::vector<std::uint64_t> sent;
  for (std::uint32_t i = 1; i <= 50; ++i) {
    auto s = segment(i);
    sent.push_back(pub.publish("seg.TXT.A.TXT", s));
  }
  ASSERT_TRUE(waitUntil(
      [&] {
        std::lock_guard lock(mutex);
        return seen.size() == sent.size();
      },
      [&] { pub.poll(5ms); }));
  sub.cancel();
  std::lock_guard lock(mutex);
  EXPECT_EQ(seen, sent);
  EXPECT_EQ(sub.stats().received, sent.size());
  // Leaving sends BYE: the producer forgets the replica.
  EXPECT_TRUE(waitUntil([&] { return pub.stats().pipeline.replicas == 0; }, [&] { pub.poll(5ms); }));
}

TEST(CallbackSubscriptionTest, TapHandlerExceptionIsCountedNotFatal) {
  zmq::context_t context;
  auto options = localPublisher();
  options.pipeline_endpoint.clear();
  Publisher pub(context, options);
  std::atomic<int> calls{0};
  auto sub = subscribe(context, tapConsumer(pub), [&](const Received&) {
    ++calls;
    throw std::runtime_error("handler bug");
  });
  ASSERT_TRUE(waitUntil([&] { return calls.load() >= 3; },
                        [&] {
                          auto s = segment(1);
                          pub.publish("x", s);
                          std::this_thread::sleep_for(2ms);
                        }));
  sub.cancel();
  EXPECT_GE(sub.handlerErrors(), 3u);
}

}  // namespace
}  // namespace emwin::bus
