#include "runtime/signals.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <mutex>
#include <system_error>

namespace emwin::runtime {
namespace {
std::atomic<bool> g_stop{false};
std::atomic<int> g_fd{-1};
std::once_flag g_once;

void notifyFd() noexcept {
  const int fd = g_fd.load();
  if (fd < 0) return;
  const std::uint64_t one = 1;
  // Async-signal-safe; a full counter (EAGAIN) still leaves the fd readable.
  [[maybe_unused]] const auto written = ::write(fd, &one, sizeof(one));
}

extern "C" void onStopSignal(int) {
  const int saved_errno = errno;
  g_stop.store(true);
  notifyFd();
  errno = saved_errno;
}
}  // namespace

void installStopSignals() {
  std::call_once(g_once, [] {
    const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    g_fd.store(fd);
    struct sigaction action = {};
    action.sa_handler = onStopSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
    if (g_stop.load()) notifyFd();
  });
}

bool stopRequested() noexcept { return g_stop.load(); }

void requestStop() noexcept {
  g_stop.store(true);
  notifyFd();
}

int stopFd() noexcept { return g_fd.load(); }

}  // namespace emwin::runtime
