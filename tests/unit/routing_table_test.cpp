#include "actors/routing_table.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>

using namespace sg;

namespace {

routing_table::snapshot_ptr snap(const std::string& group, uint64_t owner, uint64_t version,
                                 size_t nodes = 0) {
  auto s = std::make_shared<group_snapshot>();
  s->spec.name = group;
  s->owner = owner;
  s->version = version;
  for (size_t i = 0; i < nodes; ++i) {
    routed_node n;
    n.spec.group = group;
    n.spec.name = "n" + std::to_string(i);
    n.spec.node_id = make_node_id(group, n.spec.name);
    n.runtime = std::make_shared<node_runtime>();
    s->nodes.push_back(std::make_shared<const routed_node>(std::move(n)));
  }
  return s;
}

}  // namespace

TEST_CASE("routing_table: publish, find and remove", "[routing]") {
  routing_table t;
  CHECK(t.size() == 0);
  CHECK(t.find("orders") == nullptr);

  auto a = snap("orders", 10, 1, 2);
  t.publish(a);
  CHECK(t.size() == 1);
  CHECK(t.find("orders") == a);
  CHECK(t.find("orders")->nodes.size() == 2);
  CHECK(t.find("order") == nullptr);
  CHECK(t.find("") == nullptr);

  auto b = snap("billing", 11, 1);
  t.publish(b);
  CHECK(t.size() == 2);
  CHECK(t.find("billing") == b);
  CHECK(t.find("orders") == a);

  SECTION("the same owner replaces its own snapshot") {
    auto a2 = snap("orders", 10, 2, 1);
    t.publish(a2);
    CHECK(t.find("orders") == a2);
    CHECK(a->nodes.size() == 2);  // a reader holding the old snapshot still sees it whole
  }
  SECTION("remove by the owner") {
    t.remove("orders", 10);
    CHECK(t.find("orders") == nullptr);
    CHECK(t.find("billing") == b);
    CHECK(t.size() == 1);
    t.remove("orders", 10);  // removing twice is harmless
    CHECK(t.size() == 1);
  }
  SECTION("remove with the wrong owner is a no-op") {
    t.remove("orders", 9);
    t.remove("orders", 11);
    CHECK(t.find("orders") == a);
    t.remove("unknown", 10);
    CHECK(t.size() == 2);
  }
}

TEST_CASE("routing_table: a lower owner never overwrites a higher one", "[routing]") {
  routing_table t;
  auto successor = snap("orders", 20, 1, 1);
  t.publish(successor);

  // The deleted group's old actor publishes late: ignored.
  t.publish(snap("orders", 19, 99, 3));
  CHECK(t.find("orders") == successor);

  // And its late cleanup does not remove the successor's entry.
  t.remove("orders", 19);
  CHECK(t.find("orders") == successor);

  // A newer incarnation does replace it.
  auto newer = snap("orders", 21, 1);
  t.publish(newer);
  CHECK(t.find("orders") == newer);
  t.publish(successor);
  CHECK(t.find("orders") == newer);
}

TEST_CASE("routing_table: next_owner is strictly increasing", "[routing]") {
  auto a = routing_table::next_owner();
  auto b = routing_table::next_owner();
  auto c = routing_table::next_owner();
  CHECK(a < b);
  CHECK(b < c);
}
