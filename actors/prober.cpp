#include "actors/prober.hpp"

#include <algorithm>

namespace sg {

std::chrono::milliseconds next_check_delay(int32_t interval_ms, std::minstd_rand& rng,
                                           std::chrono::milliseconds since_start) {
  std::uniform_int_distribution<int32_t> jitter(-interval_ms / 10, interval_ms / 10);
  auto wait = std::chrono::milliseconds(interval_ms + jitter(rng)) - since_start;
  return std::max(wait, std::chrono::milliseconds(0));
}

}  // namespace sg
