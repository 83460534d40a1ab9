#pragma once
// A lock-free histogram for the request path: relaxed atomic increments per observation, read
// whole at scrape time. Bucket bounds are fixed per family (see catalog.hpp).
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

namespace sg::metrics {

template <size_t N>
class histogram {
 public:
  explicit histogram(const std::array<double, N>& bounds) : bounds_(bounds) {}

  void observe(double seconds) {
    size_t i = 0;
    while (i < N && seconds > bounds_[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  }

  const std::array<double, N>& bounds() const { return bounds_; }
  // Count in bucket i (not cumulative); i == N is +Inf.
  uint64_t bucket(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  double sum_seconds() const {
    return static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  }

 private:
  const std::array<double, N>& bounds_;
  std::array<std::atomic<uint64_t>, N + 1> buckets_{};
  std::atomic<uint64_t> sum_ns_{0};
};

}  // namespace sg::metrics
