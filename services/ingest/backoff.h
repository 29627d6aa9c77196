#pragma once
// Exponential reconnect backoff with jitter, capped. Pure logic (no clock);
// not thread-safe (one per connection manager).

#include <chrono>
#include <cstdint>
#include <random>

namespace emwin::ingest {

class Backoff {
 public:
  // Delays grow min, 2*min, 4*min, ... up to max; each is jittered by
  // +-20% (never above max, never below 0). seed 0 = random seed.
  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max, std::uint64_t seed);

  // Delay before the next attempt; grows the following one.
  std::chrono::milliseconds next();
  // A connection proved healthy: start again from min.
  void reset() noexcept { failures_ = 0; }
  unsigned failures() const noexcept { return failures_; }

 private:
  std::chrono::milliseconds min_;
  std::chrono::milliseconds max_;
  unsigned failures_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace emwin::ingest
