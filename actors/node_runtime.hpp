#pragma once
// Per-node counters shared between the node's actor, the published routing snapshots and the
// proxy threads. Only atomics: the request path updates them without locks or messages, and they
// outlive any one snapshot, so a request keeps counting after its node left routing.
#include <atomic>
#include <cstdint>

namespace sg {

struct node_runtime {
  std::atomic<int64_t> in_flight{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> connect_failures{0};
  // Set by the node actor while the node drains: the request that brings in_flight to 0 tells
  // the actor, which announces that the node is drained.
  std::atomic<bool> draining{false};
};

}  // namespace sg
