#pragma once
// Where node actors read the time: the real clocks in production, a test's own clock when the
// actor tests run in virtual time (with CAF's test_coordinator and a scripted prober).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace sg {

struct actor_clock {
  std::function<std::chrono::steady_clock::time_point()> steady = [] {
    return std::chrono::steady_clock::now();
  };
  std::function<int64_t()> unix_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  static std::shared_ptr<const actor_clock> real() {
    static const auto clock = std::make_shared<const actor_clock>();
    return clock;
  }
};

using clock_ptr = std::shared_ptr<const actor_clock>;

}  // namespace sg
