#include "runtime/signals.h"

#include <poll.h>

#include <csignal>

#include <gtest/gtest.h>

namespace emwin::runtime {
namespace {

bool fdReadable(int fd, int timeout_ms) {
  pollfd item{fd, POLLIN, 0};
  return ::poll(&item, 1, timeout_ms) == 1 && (item.revents & POLLIN) != 0;
}

// One test: the stop state is process-wide and cannot be reset.
TEST(StopSignalsTest, SigtermSetsFlagAndWakesPollers) {
  installStopSignals();
  installStopSignals();  // idempotent
  ASSERT_GE(stopFd(), 0);
  EXPECT_FALSE(stopRequested());
  EXPECT_FALSE(fdReadable(stopFd(), 0));
  ASSERT_EQ(::raise(SIGTERM), 0);  // handled: the test process keeps running
  EXPECT_TRUE(stopRequested());
  EXPECT_TRUE(fdReadable(stopFd(), 1000));
  requestStop();  // still fine after a signal
  EXPECT_TRUE(fdReadable(stopFd(), 0));
}

}  // namespace
}  // namespace emwin::runtime
