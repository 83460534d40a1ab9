#include "cluster/hlc.hpp"

#include <algorithm>
#include <chrono>

namespace sg {

hlc_clock::hlc_clock(physical_fn physical, uint64_t max_offset_ms)
    : physical_(std::move(physical)), max_offset_ms_(max_offset_ms) {}

uint64_t hlc_clock::wall_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

uint64_t hlc_clock::now() {
  last_ = std::max(last_ + 1, from_ms(physical_()));
  return last_;
}

bool hlc_clock::observe(uint64_t remote) {
  if (physical_part(remote) > physical_() + max_offset_ms_) return false;
  last_ = std::max(last_, remote);
  return true;
}

}  // namespace sg
