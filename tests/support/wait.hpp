// Polling wait for integration tests: use instead of sleeps. Checks the predicate every ~10 ms
// until it holds or the timeout passes; the predicate is always tried at least once.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace sg::test {

inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                       std::chrono::milliseconds poll = std::chrono::milliseconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
}

}  // namespace sg::test
