// Data plane: how each balancing strategy spreads requests over real test nodes.
#include "tests/support/admin_helpers.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/sgd_process.hpp"
#include "tests/support/test_node.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace sg::test;

// Health checks slow enough that they never flap under load (a flap would change the pool).
constexpr const char* kSteadyHealth = R"("healthCheck":{"intervalMs":1000,"timeoutMs":900})";

}  // namespace

TEST_CASE("round_robin spreads 300 requests exactly evenly over 3 nodes", "[dataplane]") {
  sgd_instance sgd;
  test_node_process a("a"), b("b"), c("c");
  put_group_fields(sgd, "rr", std::string(R"("strategy":"round_robin",)") + kSteadyHealth);
  for (auto* n : {&a, &b, &c}) add_node(sgd, "rr", *n);

  std::map<std::string, int> count;
  for (int i = 0; i < 300; ++i) ++count[served_by(sgd.proxy("GET", "/groups/rr/x"))];
  CHECK(count.size() == 3);
  CHECK(count["a"] == 100);
  CHECK(count["b"] == 100);
  CHECK(count["c"] == 100);
}

TEST_CASE("weighted_round_robin 1:2:3 gives exactly 50/100/150 interleaved", "[dataplane]") {
  sgd_instance sgd;
  test_node_process a("w1"), b("w2"), c("w3");
  put_group_fields(sgd, "wrr",
                   std::string(R"("strategy":"weighted_round_robin",)") + kSteadyHealth);
  add_node(sgd, "wrr", a, "healthy", node_fields(1));
  add_node(sgd, "wrr", b, "healthy", node_fields(2));
  add_node(sgd, "wrr", c, "healthy", node_fields(3));

  std::map<std::string, int> count;
  std::vector<std::string> seq;
  for (int i = 0; i < 300; ++i) {
    seq.push_back(served_by(sgd.proxy("GET", "/groups/wrr/x")));
    ++count[seq.back()];
  }
  CHECK(count["w1"] == 50);
  CHECK(count["w2"] == 100);
  CHECK(count["w3"] == 150);

  // Smooth, not blocky: no node runs longer than its weight in a row (w3 at most 3; the smooth
  // 1:2:3 cycle never even repeats w3 more than twice), and every window of 6 holds 1/2/3.
  std::map<std::string, int> longest;
  int run = 0;
  for (size_t i = 0; i < seq.size(); ++i) {
    run = (i > 0 && seq[i] == seq[i - 1]) ? run + 1 : 1;
    longest[seq[i]] = std::max(longest[seq[i]], run);
  }
  INFO("longest runs: w1=" << longest["w1"] << " w2=" << longest["w2"] << " w3=" << longest["w3"]);
  CHECK(longest["w1"] <= 1);
  CHECK(longest["w2"] <= 2);
  CHECK(longest["w3"] <= 3);
  for (size_t i = 0; i + 6 <= seq.size(); i += 6) {
    std::map<std::string, int> window;
    for (size_t k = i; k < i + 6; ++k) ++window[seq[k]];
    INFO("window at " << i);
    CHECK(window["w1"] == 1);
    CHECK(window["w2"] == 2);
    CHECK(window["w3"] == 3);
  }
}

TEST_CASE("least_connections sends clearly fewer requests to a slow node", "[dataplane]") {
  sgd_instance sgd;
  test_node_process fast1("fast1"), fast2("fast2"), slow("slow");
  put_group_fields(sgd, "lc", std::string(R"("strategy":"least_connections",)") + kSteadyHealth);
  for (auto* n : {&fast1, &fast2, &slow}) add_node(sgd, "lc", *n);
  slow.set_delay(250);

  constexpr int threads = 6, per_thread = 25;
  std::mutex mu;
  std::map<std::string, int> count;
  std::vector<std::string> failures;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) {
        auto r = sgd.proxy("GET", "/groups/lc/work");
        std::lock_guard lock(mu);
        if (r.status == 200)
          ++count[r.header("X-Node")];
        else
          failures.push_back(r.error + " status " + std::to_string(r.status));
      }
    });
  for (auto& t : pool) t.join();

  INFO("fast1=" << count["fast1"] << " fast2=" << count["fast2"] << " slow=" << count["slow"]);
  REQUIRE(failures.empty());
  CHECK(count["fast1"] + count["fast2"] + count["slow"] == threads * per_thread);
  // With a free fast node almost always available, the slow one should see only a handful.
  CHECK(count["slow"] * 4 < count["fast1"]);
  CHECK(count["slow"] * 4 < count["fast2"]);
  CHECK(count["slow"] < threads * per_thread / 6);
}

TEST_CASE("sticky_session pins keys to nodes and remaps only a removed node's keys",
          "[dataplane]") {
  sgd_instance sgd;
  test_node_process a("s1"), b("s2"), c("s3");
  put_group_fields(sgd, "st", std::string(R"("strategy":"sticky_session",)") + kSteadyHealth);
  std::map<std::string, std::string> id_of;
  for (auto* n : {&a, &b, &c}) id_of[n->name()] = add_node(sgd, "st", *n);

  constexpr int keys = 40;
  auto key = [](int i) { return "user-" + std::to_string(i * 7919); };
  std::map<std::string, std::string> home;  // key -> node
  std::map<std::string, int> per_node;
  auto get = [&](const std::string& target, const header_map& h = {}) {
    return sgd.proxy("GET", target, "", h);
  };
  for (int i = 0; i < keys; ++i) {
    auto first = served_by(get("/groups/st/x", {{"X-Session-Id", key(i)}}));
    for (int rep = 0; rep < 3; ++rep) {
      INFO("session " << key(i));
      CHECK(served_by(get("/groups/st/x", {{"X-Session-Id", key(i)}})) ==
            first);
    }
    home[key(i)] = first;
    ++per_node[first];
  }
  INFO("s1=" << per_node["s1"] << " s2=" << per_node["s2"] << " s3=" << per_node["s3"]);
  CHECK(per_node.size() == 3);  // 40 keys over 3 equal nodes: all get some
  for (auto& [n, k] : per_node) CHECK(k >= 4);

  // X-Tenant-Id is the key when there is no session id; the same value hashes the same way.
  for (int i = 0; i < keys; ++i) {
    INFO("tenant " << key(i));
    CHECK(served_by(get("/groups/st/x", {{"X-Tenant-Id", key(i)}})) ==
          home[key(i)]);
  }
  // No key at all: still served (least connections).
  for (int i = 0; i < 6; ++i) served_by(get("/groups/st/nokey"));

  // Remove s2: its keys move, every other key stays where it was.
  std::string probe;  // a key that lived on s2
  for (auto& [k, n] : home)
    if (n == "s2") probe = k;
  REQUIRE(!probe.empty());
  auto del = sgd.admin("DELETE", "/api/server-groups/st/nodes/" + id_of["s2"]);
  INFO(del.status << " " << del.body);
  REQUIRE(del.status == 204);
  REQUIRE(wait_until(
      [&] {
        auto r = sgd.proxy("GET", "/groups/st/x", "", {{"X-Session-Id", probe}});
        return r.status == 200 && r.header("X-Node") != "s2";
      },
      5s));
  int moved = 0;
  for (auto& [k, n] : home) {
    auto now = served_by(get("/groups/st/x", {{"X-Session-Id", k}}));
    INFO("session " << k << " was on " << n << ", now on " << now);
    CHECK(now != "s2");
    if (n != "s2")
      CHECK(now == n);
    else
      ++moved;
  }
  CHECK(moved == per_node["s2"]);
}
