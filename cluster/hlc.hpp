#pragma once
// Hybrid logical clock: stamps are (unix ms << 16 | counter), so they follow wall time, never go
// backwards on one controller, and stay ahead of every stamp this controller has seen from peers
// even when their clocks run ahead of ours.
#include <cstdint>
#include <functional>

namespace sg {

class hlc_clock {
 public:
  using physical_fn = std::function<uint64_t()>;  // unix ms
  explicit hlc_clock(physical_fn physical = wall_ms);

  // A new stamp, greater than every stamp returned or observed before.
  uint64_t now();
  // Folds in a stamp seen on a record from elsewhere (journal replay, peers).
  void observe(uint64_t remote);
  uint64_t last() const { return last_; }

  static uint64_t wall_ms();
  static uint64_t physical_part(uint64_t stamp) { return stamp >> 16; }
  static uint64_t from_ms(uint64_t ms) { return ms << 16; }

 private:
  physical_fn physical_;
  uint64_t last_ = 0;
};

}  // namespace sg
