#include "actors/strategies.hpp"

#include <cmath>
#include <limits>
#include <numeric>

namespace sg {

namespace {

bool ok(const blocked_set* blocked, size_t i) {
  return !blocked || !(*blocked)[i];
}

// Larger cycles are not precomputed; positions map through cumulative weights instead. The
// precomputation costs cycle length x nodes, bounded too: it runs on every publish.
constexpr uint64_t max_schedule = 1u << 16;
constexpr uint64_t max_schedule_work = 1u << 24;

uint64_t mix64(uint64_t x) {
  // splitmix64 finalizer: spreads FNV's weak low bits.
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

}  // namespace

uint64_t sticky_hash(std::string_view key, std::string_view node_id) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  h = (h ^ 0xff) * 1099511628211ull;
  for (unsigned char c : node_id) h = (h ^ c) * 1099511628211ull;
  return mix64(h);
}

size_t pick_round_robin(const group_snapshot& snap, uint64_t counter, const blocked_set* blocked) {
  auto n = snap.nodes.size();
  if (n == 0) return no_pick;
  if (!blocked) return static_cast<size_t>(counter % n);
  // Rotate over the candidates themselves, so a filtered pool is still served exactly evenly
  // (handing a blocked node's turn to its neighbour would double that neighbour's share).
  size_t allowed = 0;
  for (size_t i = 0; i < n; ++i) allowed += ok(blocked, i);
  if (allowed == 0) return no_pick;
  auto target = counter % allowed;
  for (size_t i = 0; i < n; ++i)
    if (ok(blocked, i) && target-- == 0) return i;
  return no_pick;
}

std::vector<uint32_t> smooth_wrr_schedule(const std::vector<int32_t>& weights) {
  uint64_t total = 0;
  int64_t g = 0;
  for (auto w : weights) {
    total += static_cast<uint64_t>(w);
    g = std::gcd(g, static_cast<int64_t>(w));
  }
  if (weights.empty() || g == 0) return {};
  total /= static_cast<uint64_t>(g);
  std::vector<uint32_t> out;
  if (total == weights.size()) {
    // Equal weights: the algorithm visits the nodes in order (ties go to the lowest index).
    for (uint32_t i = 0; i < total; ++i) out.push_back(i);
    return out;
  }
  if (total > max_schedule || total * weights.size() > max_schedule_work) return {};
  out.reserve(total);
  std::vector<int64_t> current(weights.size(), 0);
  for (uint64_t step = 0; step < total; ++step) {
    size_t best = 0;
    for (size_t i = 0; i < weights.size(); ++i) {
      current[i] += weights[i] / g;
      if (current[i] > current[best]) best = i;
    }
    current[best] -= static_cast<int64_t>(total);
    out.push_back(static_cast<uint32_t>(best));
  }
  return out;
}

size_t pick_weighted_round_robin(const group_snapshot& snap, uint64_t counter,
                                 const blocked_set* blocked) {
  auto& sched = snap.wrr_schedule;
  if (!sched.empty()) {
    auto len = sched.size();
    if (!blocked) return sched[counter % len];
    // A filtered pool walks the cycle's candidate entries only: each candidate keeps its weight
    // share and the smooth interleaving among the candidates.
    size_t allowed = 0;
    for (auto i : sched) allowed += ok(blocked, i);
    if (allowed == 0) return no_pick;
    auto target = counter % allowed;
    for (auto i : sched)
      if (ok(blocked, i) && target-- == 0) return i;
    return no_pick;
  }
  // Very large cycles: a position in [0, total) picked by a stride through cumulative weights.
  uint64_t total = 0;
  for (auto& n : snap.nodes) total += static_cast<uint64_t>(n->spec.weight);
  if (total == 0) return no_pick;
  uint64_t pos = (counter * 0x9E3779B97F4A7C15ull) % total;
  size_t start = 0;
  for (uint64_t acc = 0; start < snap.nodes.size(); ++start) {
    acc += static_cast<uint64_t>(snap.nodes[start]->spec.weight);
    if (pos < acc) break;
  }
  for (size_t k = 0; k < snap.nodes.size(); ++k) {
    auto i = (start + k) % snap.nodes.size();
    if (ok(blocked, i)) return i;
  }
  return no_pick;
}

size_t pick_least_connections(const group_snapshot& snap, uint64_t counter,
                              const blocked_set* blocked) {
  auto n = snap.nodes.size();
  size_t best = no_pick;
  int64_t best_load = 0, best_weight = 1;
  for (size_t k = 0; k < n; ++k) {
    auto i = static_cast<size_t>((counter + k) % n);
    if (!ok(blocked, i)) continue;
    auto& node = *snap.nodes[i];
    int64_t load = node.runtime->in_flight.load(std::memory_order_relaxed);
    int64_t w = node.spec.weight;
    // load/w < best_load/best_weight, without division.
    if (best == no_pick || load * best_weight < best_load * w) {
      best = i;
      best_load = load;
      best_weight = w;
    }
  }
  return best;
}

size_t pick_sticky(const group_snapshot& snap, std::string_view key, const blocked_set* blocked) {
  size_t best = no_pick;
  double best_score = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < snap.nodes.size(); ++i) {
    if (!ok(blocked, i)) continue;
    auto& node = *snap.nodes[i];
    // Weighted rendezvous: score = -w / ln(u), u uniform in (0,1) from the hash.
    double u = (static_cast<double>(sticky_hash(key, node.spec.node_id) >> 11) + 0.5) /
               static_cast<double>(1ull << 53);
    double score = -static_cast<double>(node.spec.weight) / std::log(u);
    if (score > best_score) {
      best = i;
      best_score = score;
    }
  }
  return best;
}

size_t pick(const group_snapshot& snap, uint64_t counter, std::string_view sticky_key,
            const blocked_set* blocked) {
  switch (snap.spec.strategy) {
    case strategy_kind::round_robin:
      return pick_round_robin(snap, counter, blocked);
    case strategy_kind::weighted_round_robin:
      return pick_weighted_round_robin(snap, counter, blocked);
    case strategy_kind::sticky_session:
      if (!sticky_key.empty()) return pick_sticky(snap, sticky_key, blocked);
      return pick_least_connections(snap, counter, blocked);
    case strategy_kind::least_connections:
      break;
  }
  return pick_least_connections(snap, counter, blocked);
}

}  // namespace sg
