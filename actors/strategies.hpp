#pragma once
// The balancing strategies: pure functions over a group's routing snapshot. Each returns the
// index of the chosen node in snap.nodes, or no_pick when every node is blocked. `blocked` (may
// be null) marks nodes a request cannot use: metadata mismatch, or already tried on failover.
#include "actors/routing_table.hpp"

#include <cstdint>
#include <string_view>
#include <vector>

namespace sg {

inline constexpr size_t no_pick = static_cast<size_t>(-1);

using blocked_set = std::vector<char>;  // blocked[i] != 0: node i is not a candidate

// Exactly even: the counter-th node in order, skipping blocked ones.
size_t pick_round_robin(const group_snapshot& snap, uint64_t counter, const blocked_set* blocked);

// Smooth weighted round robin (nginx's algorithm, precomputed per snapshot into wrr_schedule):
// each node appears weight times per cycle, interleaved; deterministic for a given counter.
size_t pick_weighted_round_robin(const group_snapshot& snap, uint64_t counter,
                                 const blocked_set* blocked);

// Fewest in-flight requests per unit of weight; ties go round robin from `counter`.
size_t pick_least_connections(const group_snapshot& snap, uint64_t counter,
                              const blocked_set* blocked);

// Weighted rendezvous hashing of the session key: every controller picks the same node for a
// key, and a node leaving remaps only the keys that were on it.
size_t pick_sticky(const group_snapshot& snap, std::string_view key, const blocked_set* blocked);

// Dispatches on the group's strategy; sticky without a key falls back to least connections.
size_t pick(const group_snapshot& snap, uint64_t counter, std::string_view sticky_key,
            const blocked_set* blocked);

// The smooth WRR order for these weights, one cycle long (sum of weights, capped): built when
// a snapshot is published.
std::vector<uint32_t> smooth_wrr_schedule(const std::vector<int32_t>& weights);

// 64-bit hash used by sticky sessions; fixed so all controllers agree.
uint64_t sticky_hash(std::string_view key, std::string_view node_id);

}  // namespace sg
