#include "backoff.h"

#include <algorithm>

namespace emwin::ingest {

Backoff::Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max, std::uint64_t seed)
    : min_(min), max_(std::max(min, max)), rng_(seed != 0 ? seed : std::random_device{}()) {}

std::chrono::milliseconds Backoff::next() {
  double base = static_cast<double>(min_.count());
  for (unsigned i = 0; i < failures_ && base < static_cast<double>(max_.count()); ++i) base *= 2;
  base = std::min(base, static_cast<double>(max_.count()));
  if (failures_ < 64) ++failures_;
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  double d = std::min(base * jitter(rng_), static_cast<double>(max_.count()));
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::max(0.0, d)));
}

}  // namespace emwin::ingest
