#pragma once
// Hybrid logical clock: stamps are (unix ms << 16 | counter), so they follow wall time, never go
// backwards on one controller, and stay ahead of every stamp this controller has adopted from
// peers. A stamp further ahead of our wall clock than `max_offset_ms` is not adopted: one
// controller with a clock an hour fast must not drag every other clock (and so the order of
// their writes) an hour ahead with it.
#include <cstdint>
#include <functional>

namespace sg {

class hlc_clock {
 public:
  using physical_fn = std::function<uint64_t()>;  // unix ms
  static constexpr uint64_t default_max_offset_ms = 500;
  explicit hlc_clock(physical_fn physical = wall_ms,
                     uint64_t max_offset_ms = default_max_offset_ms);

  // A new stamp, greater than every stamp returned or adopted before.
  uint64_t now();
  // Folds in a stamp seen on a record from elsewhere (journal replay, peers). Returns false, and
  // leaves the clock alone, when the stamp is more than the bound ahead of the wall clock.
  bool observe(uint64_t remote);
  uint64_t last() const { return last_; }
  uint64_t physical() const { return physical_(); }
  uint64_t max_offset_ms() const { return max_offset_ms_; }

  static uint64_t wall_ms();
  static uint64_t physical_part(uint64_t stamp) { return stamp >> 16; }
  static uint64_t from_ms(uint64_t ms) { return ms << 16; }

 private:
  physical_fn physical_;
  uint64_t max_offset_ms_;
  uint64_t last_ = 0;
};

}  // namespace sg
