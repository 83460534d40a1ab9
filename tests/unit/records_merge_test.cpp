#include "cluster/registry_state.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <random>
#include <string>

using namespace sg;

namespace {

const char* const group_names[] = {"orders", "billing", "search"};
const char* const node_names[] = {"n1", "n2", "n3", "n4"};
const char* const origins[] = {"ctl-a", "ctl-b", "ctl-c"};

// One controller never issues the same (hlc, origin) twice, so a record's content is a function
// of its key and stamp; the random content is derived from them to respect that invariant.
uint64_t content_seed(const std::string& key, const stamp& st) {
  return std::hash<std::string>{}(key + "|" + std::to_string(st.hlc) + "|" + st.origin);
}

stamp random_stamp(std::mt19937& rng) {
  std::uniform_int_distribution<uint64_t> hlc(1, 6);  // few values: many collisions
  std::uniform_int_distribution<int> o(0, 2);
  return stamp{hlc(rng), origins[o(rng)]};
}

group_record random_group(std::mt19937& rng) {
  std::uniform_int_distribution<int> k(0, 2);
  group_record r;
  r.spec.name = group_names[k(rng)];
  r.st = random_stamp(rng);
  r.deleted = std::bernoulli_distribution(0.3)(rng);
  auto c = content_seed(r.spec.name, r.st);
  r.spec.strategy = static_cast<strategy_kind>(c % 4);
  r.spec.retries = static_cast<int32_t>(c / 4 % 11);
  return r;
}

node_record random_node(std::mt19937& rng) {
  std::uniform_int_distribution<int> g(0, 2), n(0, 3);
  node_record r;
  r.spec.group = group_names[g(rng)];
  r.spec.name = node_names[n(rng)];
  r.spec.node_id = make_node_id(r.spec.group, r.spec.name);
  r.st = random_stamp(rng);
  r.deleted = std::bernoulli_distribution(0.3)(rng);
  auto c = content_seed(r.spec.node_id, r.st);
  r.spec.weight = static_cast<int32_t>(1 + c % 1000);
  r.spec.base_url = "http://10.0.0." + std::to_string(c / 1000 % 250) + ":8080";
  r.spec.admin = (c >> 20) & 1 ? admin_state::draining : admin_state::active;
  return r;
}

registry_state random_state(std::mt19937& rng) {
  registry_state s;
  std::uniform_int_distribution<int> count(0, 12);
  for (int i = count(rng); i > 0; --i) s.merge(random_group(rng));
  for (int i = count(rng); i > 0; --i) s.merge(random_node(rng));
  return s;
}

registry_state merged(registry_state a, const registry_state& b) {
  a.merge(b);
  return a;
}

group_record grp(const std::string& name, uint64_t hlc, const std::string& origin, bool deleted,
                 int32_t retries = 2) {
  group_record r;
  r.spec.name = name;
  r.spec.retries = retries;
  r.st = stamp{hlc, origin};
  r.deleted = deleted;
  return r;
}

node_record node(const std::string& group, const std::string& name, uint64_t hlc,
                 const std::string& origin, bool deleted, int32_t weight = 1) {
  node_record r;
  r.spec.group = group;
  r.spec.name = name;
  r.spec.node_id = make_node_id(group, name);
  r.spec.weight = weight;
  r.st = stamp{hlc, origin};
  r.deleted = deleted;
  return r;
}

}  // namespace

TEST_CASE("registry_state merge is commutative, associative and idempotent", "[merge]") {
  std::mt19937 rng(20240611);
  int nontrivial = 0;
  for (int trial = 0; trial < 500; ++trial) {
    auto a = random_state(rng);
    auto b = random_state(rng);
    auto c = random_state(rng);
    INFO("trial " << trial);
    REQUIRE(merged(a, b) == merged(b, a));
    REQUIRE(merged(merged(a, b), c) == merged(a, merged(b, c)));
    REQUIRE(merged(a, a) == a);
    REQUIRE(merged(merged(a, b), b) == merged(a, b));
    if (!(merged(a, b) == a) && !(merged(a, b) == b)) ++nontrivial;
  }
  // The generator really produced overlapping states, not disjoint or identical ones.
  CHECK(nontrivial > 250);
}

TEST_CASE("merging single records in any order gives the same state", "[merge]") {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<node_record> recs;
    for (int i = 0; i < 10; ++i) recs.push_back(random_node(rng));
    registry_state forward, backward, shuffled;
    for (auto& r : recs) forward.merge(r);
    for (auto i = recs.rbegin(); i != recs.rend(); ++i) backward.merge(*i);
    std::shuffle(recs.begin(), recs.end(), rng);
    for (auto& r : recs) shuffled.merge(r);
    REQUIRE(forward == backward);
    REQUIRE(forward == shuffled);
  }
}

TEST_CASE("last writer wins on (hlc, origin) and merge reports whether it changed", "[merge]") {
  registry_state s;
  CHECK(s.merge(node("g", "n", 10, "ctl-a", false, 1)));
  SECTION("older stamp loses") {
    CHECK_FALSE(s.merge(node("g", "n", 9, "ctl-z", false, 2)));
    CHECK(s.node(make_node_id("g", "n"))->spec.weight == 1);
  }
  SECTION("newer stamp wins") {
    CHECK(s.merge(node("g", "n", 11, "ctl-a", false, 3)));
    CHECK(s.node(make_node_id("g", "n"))->spec.weight == 3);
  }
  SECTION("equal hlc: the higher origin wins") {
    CHECK(s.merge(node("g", "n", 10, "ctl-b", false, 4)));
    CHECK(s.node(make_node_id("g", "n"))->spec.weight == 4);
    CHECK_FALSE(s.merge(node("g", "n", 10, "ctl-a", false, 1)));
  }
  SECTION("re-merging the same record changes nothing") {
    CHECK_FALSE(s.merge(node("g", "n", 10, "ctl-a", false, 1)));
  }
}

TEST_CASE("tombstones beat older writes and lose to newer ones", "[merge]") {
  registry_state s;
  auto id = make_node_id("g", "n");
  s.merge(grp("g", 5, "ctl-a", false));
  s.merge(node("g", "n", 5, "ctl-a", false));
  REQUIRE(s.node(id));

  SECTION("a tombstone after the write deletes it") {
    CHECK(s.merge(node("g", "n", 6, "ctl-b", true)));
    CHECK(s.node(id) == nullptr);
    // A late-arriving older write cannot resurrect it.
    CHECK_FALSE(s.merge(node("g", "n", 5, "ctl-c", false)));
    CHECK(s.node(id) == nullptr);
    CHECK(s.nodes().at(id).deleted);
  }
  SECTION("a write newer than the tombstone revives the node") {
    s.merge(node("g", "n", 6, "ctl-b", true));
    CHECK(s.merge(node("g", "n", 7, "ctl-a", false, 9)));
    REQUIRE(s.node(id));
    CHECK(s.node(id)->spec.weight == 9);
  }
  SECTION("an older tombstone loses") {
    CHECK_FALSE(s.merge(node("g", "n", 4, "ctl-z", true)));
    CHECK(s.node(id));
  }
  SECTION("same stamp: delete wins, in either order") {
    registry_state x, y;
    x.merge(node("g", "n", 8, "ctl-a", false));
    x.merge(node("g", "n", 8, "ctl-a", true));
    y.merge(node("g", "n", 8, "ctl-a", true));
    y.merge(node("g", "n", 8, "ctl-a", false));
    CHECK(x == y);
    CHECK(x.node(id) == nullptr);
  }
  SECTION("group tombstones too") {
    CHECK(s.merge(grp("g", 6, "ctl-a", true)));
    CHECK(s.group("g") == nullptr);
    CHECK_FALSE(s.merge(grp("g", 5, "ctl-z", false)));
    CHECK(s.group("g") == nullptr);
  }
}

TEST_CASE("collect_tombstones drops only tombstones older than the horizon", "[merge]") {
  registry_state s;
  s.merge(grp("old-dead", 10, "a", true));
  s.merge(grp("new-dead", 100, "a", true));
  s.merge(grp("old-live", 10, "a", false));
  s.merge(node("g", "old-dead", 10, "a", true));
  s.merge(node("g", "edge-dead", 50, "a", true));
  s.merge(node("g", "new-dead", 100, "a", true));
  s.merge(node("g", "old-live", 1, "a", false));
  REQUIRE(s.record_count() == 7);

  CHECK(s.collect_tombstones(50) == 2);
  CHECK(s.groups().count("old-dead") == 0);
  CHECK(s.groups().count("new-dead") == 1);
  CHECK(s.group("old-live") != nullptr);
  CHECK(s.nodes().count(make_node_id("g", "old-dead")) == 0);
  CHECK(s.nodes().count(make_node_id("g", "edge-dead")) == 1);  // hlc == horizon stays
  CHECK(s.nodes().count(make_node_id("g", "new-dead")) == 1);
  CHECK(s.node(make_node_id("g", "old-live")) != nullptr);
  CHECK(s.record_count() == 5);
  CHECK(s.collect_tombstones(50) == 0);
}

TEST_CASE("live lookups hide tombstones", "[merge]") {
  registry_state s;
  s.merge(grp("live", 1, "a", false));
  s.merge(grp("dead", 2, "a", true));
  s.merge(node("live", "up", 1, "a", false));
  s.merge(node("live", "gone", 3, "a", true));
  s.merge(node("other", "up", 1, "a", false));

  CHECK(s.group("live") != nullptr);
  CHECK(s.group("dead") == nullptr);
  CHECK(s.group("never") == nullptr);
  CHECK(s.node(make_node_id("live", "gone")) == nullptr);
  CHECK(s.node(make_node_id("live", "up")) != nullptr);

  auto live = s.live_groups();
  REQUIRE(live.size() == 1);
  CHECK(live[0]->spec.name == "live");

  auto nodes = s.nodes_of("live");
  REQUIRE(nodes.size() == 1);
  CHECK(nodes[0]->spec.name == "up");
  CHECK(s.nodes_of("dead").empty());

  // The tombstones are still held (they must replicate) and count towards max_hlc.
  CHECK(s.groups().size() == 2);
  CHECK(s.nodes().size() == 3);
  CHECK(s.max_hlc() == 3);
}
