#pragma once
// Per-node and per-group counters shared between actors, the published routing snapshots, the
// proxy threads and the /metrics endpoint. Atomics: the request path updates them without locks
// or messages, and they outlive any one snapshot, so a request keeps counting after its node left
// routing. The node's latest health sits beside them behind a lock the request path never takes.
#include "actors/views.hpp"
#include "metrics/catalog.hpp"

#include <memory>
#include <mutex>

#include <array>
#include <atomic>
#include <cstdint>

namespace sg {

struct node_runtime {
  std::atomic<int64_t> in_flight{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> connect_failures{0};
  // Responses by status class: [0] no answer (502/504 from sgd), [1..5] 1xx..5xx.
  std::array<std::atomic<uint64_t>, 6> responses{};
  std::atomic<uint64_t> checks_pass{0}, checks_fail{0}, checks_drain{0};
  std::atomic<uint64_t> alerts{0};
  // Set by the node actor while the node drains: the request that brings in_flight to 0 tells
  // the actor, which announces that the node is drained.
  std::atomic<bool> draining{false};

  // The latest health (status, consecutive failures, last check), written by the node actor
  // after every check and read by admin views: checks that change nothing send no message.
  void put_health(const node_health& h) {
    std::lock_guard lock{health_mu_};
    health_ = h;
  }
  node_health health() const {
    std::lock_guard lock{health_mu_};
    return health_;
  }

 private:
  mutable std::mutex health_mu_;
  node_health health_;
};

struct group_runtime {
  metrics::request_histogram request_duration{metrics::request_buckets};
  metrics::check_histogram check_duration{metrics::check_buckets};
  std::atomic<uint64_t> bytes_in{0}, bytes_out{0}, retries{0};
  std::atomic<uint64_t> rejected_no_node{0}, rejected_no_match{0}, rejected_too_large{0};
  std::atomic<uint64_t> rejected_unreachable{0};  // every candidate refused the connection
};

}  // namespace sg
