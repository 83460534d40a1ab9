#include "actors/group_actor.hpp"

#include "actors/errors.hpp"
#include "actors/messages.hpp"

#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>

using namespace sg;
using namespace std::chrono_literals;

namespace {

struct test_config : caf::actor_system_config {
  test_config() {
    add_actor_types(*this);
    set("scheduler.policy", caf::atom("sharing"));
    set("scheduler.max-threads", 2);
  }
};

node_spec make_node(const std::string& group, const std::string& name, int port) {
  node_spec n;
  n.group = group;
  n.name = name;
  n.node_id = make_node_id(group, name);
  n.base_url = "http://127.0.0.1:" + std::to_string(port);
  n.health_url = n.base_url + "/health";
  return n;
}

struct group_fixture {
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::shared_ptr<routing_table> table = std::make_shared<routing_table>();
  group_spec spec;
  caf::actor group;

  group_fixture() {
    spec.name = "orders";
    group =
        sys.spawn(group_actor, group_actor_args{spec, table, nullptr, caf::actor{}, caf::actor{}});
  }
  ~group_fixture() {
    caf::anon_send_exit(group, caf::exit_reason::user_shutdown);
    self->wait_for(group);
  }

  register_result put(const node_spec& n, bool created) {
    std::optional<register_result> out;
    self->request(group, 5s, node_put_atom::value, n, created)
        .receive([&](register_result& r) { out = std::move(r); },
                 [&](caf::error& e) { FAIL("node_put failed: " << sys.render(e)); });
    REQUIRE(out);
    return *out;
  }

  std::vector<node_view> list() {
    std::vector<node_view> out;
    self->request(group, 5s, node_list_atom::value)
        .receive([&](std::vector<node_view>& v) { out = std::move(v); },
                 [&](caf::error& e) { FAIL("node_list failed: " << sys.render(e)); });
    return out;
  }

  // The node's current actor, or a null handle while it is being restarted.
  caf::actor child(const std::string& id) {
    caf::actor out;
    self->request(group, 5s, child_atom::value, id)
        .receive([&](caf::actor& a) { out = a; },
                 [&](caf::error& e) { CHECK(code_of(e) == sg_errc::node_not_found); });
    return out;
  }

  size_t routed() {
    auto snap = table->find(spec.name);
    return snap ? snap->nodes.size() : 0;
  }
};

bool routes(const routing_table::snapshot_ptr& snap, const std::string& id) {
  if (!snap) return false;
  for (auto& n : snap->nodes)
    if (n->spec.node_id == id) return true;
  return false;
}

// Waits (up to 5 s) until the group's snapshot does or does not route `id` (for changes whose
// reply does not wait for the publication, e.g. deletes).
bool await_routes(const routing_table& table, const std::string& group, const std::string& id,
                  bool expected = true) {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  for (;;) {
    if (routes(table.find(group), id) == expected) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

}  // namespace

TEST_CASE("group_actor: registration, supervision, removal and draining", "[group_actor]") {
  group_fixture f;
  auto a = make_node("orders", "a", 9001);
  auto b = make_node("orders", "b", 9002);

  // An empty group publishes an empty snapshot when it starts.
  CHECK(f.list().empty());  // a round trip: the actor has started
  REQUIRE(f.table->find("orders"));
  CHECK(f.table->find("orders")->nodes.empty());

  auto ra = f.put(a, true);
  auto rb = f.put(b, true);
  CHECK(ra.created);
  CHECK(rb.created);
  CHECK(ra.node.spec == a);
  CHECK(ra.node.health.status == node_status::healthy);  // no prober: healthy at once
  CHECK(rb.node.health.status == node_status::healthy);
  REQUIRE(await_routes(*f.table, "orders", a.node_id));
  REQUIRE(await_routes(*f.table, "orders", b.node_id));
  auto snap = f.table->find("orders");
  CHECK(snap->nodes.size() == 2);
  CHECK(snap->spec == f.spec);

  SECTION("an update of a known node answers created=false") {
    auto a2 = a;
    a2.weight = 5;
    auto r = f.put(a2, false);
    CHECK_FALSE(r.created);
    CHECK(r.node.spec.weight == 5);
    auto s = f.table->find("orders");
    REQUIRE(routes(s, a.node_id));
    for (auto& n : s->nodes)
      if (n->spec.node_id == a.node_id) CHECK(n->spec.weight == 5);
  }

  SECTION("a killed node actor is restarted by the supervisor") {
    auto old = f.child(a.node_id);
    REQUIRE(old);
    std::shared_ptr<node_runtime> runtime;
    for (auto& n : f.table->find("orders")->nodes)
      if (n->spec.node_id == a.node_id) runtime = n->runtime;
    REQUIRE(runtime);
    runtime->requests += 17;  // as the proxy would count
    caf::anon_send_exit(old, caf::exit_reason::kill);

    caf::actor fresh;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      fresh = f.child(a.node_id);
      if (fresh && fresh != old) break;
      std::this_thread::sleep_for(10ms);
    }
    REQUIRE(fresh);
    REQUIRE(fresh != old);
    // The new incarnation answers: it is alive, and healthy.
    std::optional<node_health> h;
    f.self->request(fresh, 5s, health_atom::value)
        .receive([&](node_health& x) { h = x; },
                 [&](caf::error& e) { FAIL("health failed: " << f.sys.render(e)); });
    REQUIRE(h);
    CHECK(h->status == node_status::healthy);
    // The old one is gone for good.
    bool old_answered = true;
    f.self->request(old, 1s, health_atom::value)
        .receive([&](node_health&) {}, [&](caf::error&) { old_answered = false; });
    CHECK_FALSE(old_answered);

    // Still listed and routed, and its counters carried over to the new incarnation.
    auto nodes = f.list();
    REQUIRE(nodes.size() == 2);
    auto& va = nodes[0].spec.node_id == a.node_id ? nodes[0] : nodes[1];
    CHECK(va.spec.node_id == a.node_id);
    CHECK(va.requests == 17);
    CHECK(va.health.status == node_status::healthy);
    CHECK(await_routes(*f.table, "orders", a.node_id));
  }

  SECTION("node_del removes the node from the snapshot and the list") {
    auto victim = f.child(a.node_id);
    REQUIRE(victim);
    bool done = false;
    f.self->request(f.group, 5s, node_del_atom::value, a.node_id)
        .receive([&]() { done = true; },
                 [&](caf::error& e) { FAIL("node_del failed: " << f.sys.render(e)); });
    REQUIRE(done);
    auto s = f.table->find("orders");
    CHECK_FALSE(routes(s, a.node_id));
    CHECK(routes(s, b.node_id));
    auto nodes = f.list();
    REQUIRE(nodes.size() == 1);
    CHECK(nodes[0].spec.node_id == b.node_id);
    f.self->wait_for(victim);  // the node actor was stopped, not left running
    f.self->request(f.group, 5s, child_atom::value, a.node_id)
        .receive([&](caf::actor&) { FAIL("a deleted node still has an actor"); },
                 [&](caf::error& e) { CHECK(code_of(e) == sg_errc::node_not_found); });
  }

  SECTION("draining takes the node out of the snapshot") {
    auto d = a;
    d.admin = admin_state::draining;
    auto r = f.put(d, false);
    CHECK_FALSE(r.created);
    CHECK(r.node.health.status == node_status::draining);
    auto s = f.table->find("orders");
    CHECK_FALSE(routes(s, a.node_id));
    CHECK(routes(s, b.node_id));
    CHECK(f.list().size() == 2);  // still registered

    auto r2 = f.put(a, false);  // active again
    CHECK(r2.node.health.status == node_status::healthy);
    CHECK(await_routes(*f.table, "orders", a.node_id));
  }
}

TEST_CASE("group_actor: exit removes the snapshot and stops the children", "[group_actor]") {
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto table = std::make_shared<routing_table>();
  group_spec spec;
  spec.name = "billing";
  auto g =
      sys.spawn(group_actor, group_actor_args{spec, table, nullptr, caf::actor{}, caf::actor{}});
  auto n = make_node("billing", "x", 9100);
  self->request(g, 5s, node_put_atom::value, n, true)
      .receive([&](register_result& r) { CHECK(r.created); },
               [&](caf::error& e) { FAIL(sys.render(e)); });
  caf::actor child;
  self->request(g, 5s, child_atom::value, n.node_id)
      .receive([&](caf::actor& a) { child = a; }, [&](caf::error& e) { FAIL(sys.render(e)); });
  REQUIRE(child);
  REQUIRE(table->find("billing"));

  caf::anon_send_exit(g, caf::exit_reason::user_shutdown);
  self->wait_for(g);
  self->wait_for(child);
  CHECK(table->find("billing") == nullptr);
}

// A registration is answered once the node's first check is in; the proxy must be able to route
// to a node the moment its registration says "healthy".
TEST_CASE("group_actor: the snapshot routes a node as soon as its registration is answered",
          "[group_actor]") {
  group_fixture f;
  int missing = 0;
  for (int i = 0; i < 300; ++i) {
    auto n = make_node("orders", "n" + std::to_string(i), 10000 + i);
    auto r = f.put(n, true);
    REQUIRE(r.node.health.status == node_status::healthy);
    if (!routes(f.table->find("orders"), n.node_id)) ++missing;
  }
  CHECK(missing == 0);
  CHECK(await_routes(*f.table, "orders", make_node_id("orders", "n299")));
  CHECK(f.routed() == 300);
}

TEST_CASE("group_actor: the snapshot's lists follow adds, drains and deletes in a large group",
          "[group_actor]") {
  group_fixture f;
  constexpr int n = 700;  // several chunks
  std::set<std::string> routable, members;
  for (int i = 0; i < n; ++i) {
    auto node = make_node("orders", "n" + std::to_string(i), 10000 + i);
    f.put(node, true);
    routable.insert(node.node_id);
    members.insert(node.node_id);
  }
  auto full = f.table->find("orders");
  // Drain every third, delete every fifth (removals move entries around in the lists).
  for (int i = 0; i < n; ++i) {
    auto node = make_node("orders", "n" + std::to_string(i), 10000 + i);
    if (i % 5 == 0) {
      f.self->request(f.group, 5s, node_del_atom::value, node.node_id)
          .receive([] {}, [&](caf::error& e) { FAIL("node_del failed: " << f.sys.render(e)); });
      routable.erase(node.node_id);
      members.erase(node.node_id);
    } else if (i % 3 == 0) {
      node.admin = admin_state::draining;
      f.put(node, false);
      routable.erase(node.node_id);
    }
  }
  auto ids = [](const auto& list) {
    std::set<std::string> out;
    for (auto& e : list) out.insert(e->spec.node_id);
    return out;
  };
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (ids(f.table->find("orders")->nodes) != routable &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  auto snap = f.table->find("orders");
  CHECK(ids(snap->nodes) == routable);
  CHECK(snap->nodes.size() == routable.size());  // no entry twice
  CHECK(ids(snap->members) == members);
  CHECK(snap->members.size() == members.size());
  for (auto& e : snap->members)
    CHECK(e->status ==
          (routable.count(e->spec.node_id) ? node_status::healthy : node_status::draining));
  // The snapshot taken before the changes is untouched.
  CHECK(full->nodes.size() == static_cast<size_t>(n));
  CHECK(full->members.size() == static_cast<size_t>(n));
}
