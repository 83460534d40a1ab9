// The four balancing strategies as the pure functions they are: snapshots built in memory, no
// actors, no sockets. Each property the data plane promises is checked here on exact counts.
#include "actors/strategies.hpp"
#include "actors/url.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <numeric>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace sg;

namespace {

// A snapshot of routable nodes n0, n1, ... with the given weights.
group_snapshot snapshot(const std::vector<int32_t>& weights,
                        strategy_kind strategy = strategy_kind::round_robin,
                        const std::string& prefix = "n") {
  group_snapshot s;
  s.spec.name = "g";
  s.spec.strategy = strategy;
  for (size_t i = 0; i < weights.size(); ++i) {
    node_spec spec;
    spec.group = "g";
    spec.name = prefix + std::to_string(i);
    spec.node_id = make_node_id("g", spec.name);
    spec.base_url = "http://127.0.0.1:" + std::to_string(9000 + i);
    spec.weight = weights[i];
    s.nodes.push_back(std::make_shared<const routed_node>(
        routed_node{spec, *parse_url(spec.base_url), node_status::healthy,
                    std::make_shared<node_runtime>(), caf::actor{}}));
  }
  std::vector<int32_t> w;
  for (auto& n : s.nodes) w.push_back(n->spec.weight);
  s.wrr_schedule = smooth_wrr_schedule(w);
  return s;
}

std::vector<size_t> picks(const group_snapshot& s, uint64_t from, uint64_t count,
                          const blocked_set* blocked = nullptr) {
  std::vector<size_t> out;
  for (uint64_t c = from; c < from + count; ++c) out.push_back(pick(s, c, {}, blocked));
  return out;
}

std::map<size_t, int> histogram(const std::vector<size_t>& v) {
  std::map<size_t, int> h;
  for (auto i : v) ++h[i];
  return h;
}

std::string session_key(int i) {
  return "tenant-" + std::to_string(i);
}

}  // namespace

TEST_CASE("round_robin: exactly even, in order, from any counter", "[strategies]") {
  auto s = snapshot({1, 5, 1, 1});  // weights do not matter to plain round robin
  auto p = picks(s, 1000, 4 * 25);
  for (size_t k = 0; k < p.size(); ++k) CHECK(p[k] == (1000 + k) % 4);
  for (auto& [i, n] : histogram(p)) CHECK(n == 25);
}

TEST_CASE("round_robin: a filtered pool rotates over its candidates, still exactly even",
          "[strategies]") {
  auto s = snapshot({1, 1, 1, 1, 1});
  blocked_set blocked{0, 1, 0, 1, 0};  // candidates 0, 2, 4
  auto h = histogram(picks(s, 7, 3 * 40, &blocked));
  CHECK(h == std::map<size_t, int>{{0, 40}, {2, 40}, {4, 40}});
  blocked_set none{1, 1, 1, 1, 1};
  CHECK(pick(s, 0, {}, &none) == no_pick);
  CHECK(pick(snapshot({}), 0, {}, nullptr) == no_pick);
}

TEST_CASE("smooth_wrr_schedule: nginx's interleaving, one cycle of sum(weights)/gcd",
          "[strategies]") {
  // The classic example: a a b a c a a (never five a's in a row).
  CHECK(smooth_wrr_schedule({5, 1, 1}) == std::vector<uint32_t>{0, 0, 1, 0, 2, 0, 0});
  CHECK(smooth_wrr_schedule({10, 2, 2}) == smooth_wrr_schedule({5, 1, 1}));  // gcd
  CHECK(smooth_wrr_schedule({3, 3, 3}) == std::vector<uint32_t>{0, 1, 2});
  CHECK(smooth_wrr_schedule({}).empty());

  // Equal weights on a large group: the identity order, built in O(n) (publish runs this).
  auto big = smooth_wrr_schedule(std::vector<int32_t>(10000, 7));
  REQUIRE(big.size() == 10000);
  for (uint32_t i = 0; i < big.size(); ++i) REQUIRE(big[i] == i);
}

TEST_CASE("smooth_wrr_schedule: every prefix stays within one pick of the exact share",
          "[strategies]") {
  std::mt19937 rng(42);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<int32_t> w(1 + rng() % 8);
    for (auto& x : w) x = 1 + static_cast<int32_t>(rng() % 20);
    auto sched = smooth_wrr_schedule(w);
    int64_t g = 0, total = 0;
    for (auto x : w) g = std::gcd(g, static_cast<int64_t>(x));
    for (auto x : w) total += x / g;
    REQUIRE(sched.size() == static_cast<size_t>(total));
    std::vector<int64_t> seen(w.size(), 0);
    for (size_t k = 0; k < sched.size(); ++k) {
      ++seen[sched[k]];
      for (size_t i = 0; i < w.size(); ++i) {
        double exact = static_cast<double>(k + 1) * (w[i] / g) / static_cast<double>(total);
        REQUIRE(std::abs(static_cast<double>(seen[i]) - exact) < 1.0);
      }
    }
    for (size_t i = 0; i < w.size(); ++i) CHECK(seen[i] == w[i] / g);  // whole cycle: exact
  }
}

TEST_CASE("weighted_round_robin: proportional per cycle, deterministic, and smooth when filtered",
          "[strategies]") {
  auto s = snapshot({3, 1, 2}, strategy_kind::weighted_round_robin);
  auto p = picks(s, 0, 6 * 50);
  CHECK(histogram(p) == std::map<size_t, int>{{0, 150}, {1, 50}, {2, 100}});
  CHECK(picks(s, 0, 6 * 50) == p);  // same counters, same picks (every controller alike)

  // Node 1 filtered out: 0 and 2 keep their 3:2 ratio, interleaved as the cycle has them.
  blocked_set blocked{0, 1, 0};
  auto f = picks(s, 0, 5 * 40, &blocked);
  CHECK(histogram(f) == std::map<size_t, int>{{0, 120}, {2, 80}});
  for (size_t k = 2; k < f.size(); ++k)  // never three picks of node 0 in a row
    CHECK_FALSE((f[k] == 0 && f[k - 1] == 0 && f[k - 2] == 0));
}

TEST_CASE("weighted_round_robin: cycles too long to precompute still follow the weights",
          "[strategies]") {
  // 100 nodes, weights 1000/999 alternating: gcd 1, a cycle of 99,950 > the precomputed bound.
  std::vector<int32_t> w;
  for (int i = 0; i < 100; ++i) w.push_back(i % 2 ? 999 : 1000);
  auto s = snapshot(w, strategy_kind::weighted_round_robin);
  CHECK(s.wrr_schedule.empty());
  auto h = histogram(picks(s, 0, 200000));
  CHECK(h.size() == 100);
  for (auto& [i, n] : h) CHECK(std::abs(n - 2000) < 200);  // within 10 % of the exact share

  // A weight mix whose precomputation would cost too much: not precomputed either.
  std::vector<int32_t> many(5000, 1);
  many[0] = 2;
  CHECK(smooth_wrr_schedule(many).empty());
}

TEST_CASE("least_connections: fewest in flight per unit of weight; ties rotate", "[strategies]") {
  auto s = snapshot({1, 2, 1}, strategy_kind::least_connections);
  s.nodes[0]->runtime->in_flight = 2;  // 2 per weight
  s.nodes[1]->runtime->in_flight = 3;  // 1.5 per weight
  s.nodes[2]->runtime->in_flight = 4;  // 4 per weight
  for (uint64_t c = 0; c < 10; ++c) CHECK(pick(s, c, {}, nullptr) == 1);

  blocked_set blocked{0, 1, 0};
  CHECK(pick(s, 0, {}, &blocked) == 0);

  // All idle: ties go round robin from the counter, so idle nodes share the load evenly.
  auto idle = snapshot({1, 1, 1}, strategy_kind::least_connections);
  CHECK(histogram(picks(idle, 0, 30)) == std::map<size_t, int>{{0, 10}, {1, 10}, {2, 10}});
}

TEST_CASE("sticky_session: the same key always lands on the same node, on every controller",
          "[strategies]") {
  auto a = snapshot({1, 1, 1, 1}, strategy_kind::sticky_session);
  auto b = snapshot({1, 1, 1, 1}, strategy_kind::sticky_session);  // another controller's copy
  for (int k = 0; k < 200; ++k) {
    auto key = session_key(k);
    auto first = pick(a, 0, key, nullptr);
    REQUIRE(first != no_pick);
    for (uint64_t c = 1; c < 5; ++c) CHECK(pick(a, c * 7919, key, nullptr) == first);
    CHECK(pick(b, 3, key, nullptr) == first);
  }
}

TEST_CASE("sticky_session: a node leaving moves only its own keys", "[strategies]") {
  auto all = snapshot({1, 1, 1, 1, 1}, strategy_kind::sticky_session);
  // The same nodes without n2 (a new snapshot, as after a deregistration) ...
  auto without = all;
  without.nodes.remove_swap_last(2);
  // ... and n2 merely blocked (unhealthy on a retry): both must agree with each other.
  blocked_set blocked{0, 0, 1, 0, 0};
  int moved = 0;
  for (int k = 0; k < 2000; ++k) {
    auto key = session_key(k);
    auto before = all.nodes[pick(all, 0, key, nullptr)]->spec.name;
    auto after = without.nodes[pick(without, 0, key, nullptr)]->spec.name;
    auto retried = all.nodes[pick(all, 0, key, &blocked)]->spec.name;
    CHECK(after == retried);
    if (before != "n2")
      CHECK(after == before);  // keys of the other nodes stay put
    else
      ++moved;
  }
  CHECK(moved > 300);  // n2 held about a fifth of the keys
  CHECK(moved < 500);
}

TEST_CASE("sticky_session: keys spread by weight; no key falls back to least connections",
          "[strategies]") {
  auto s = snapshot({1, 3}, strategy_kind::sticky_session);
  std::map<size_t, int> h;
  for (int k = 0; k < 8000; ++k) ++h[pick(s, 0, session_key(k), nullptr)];
  CHECK(std::abs(h[0] - 2000) < 250);
  CHECK(std::abs(h[1] - 6000) < 250);

  s.nodes[1]->runtime->in_flight = 5;
  for (uint64_t c = 0; c < 6; ++c) CHECK(pick(s, c, {}, nullptr) == 0);  // least loaded
}
