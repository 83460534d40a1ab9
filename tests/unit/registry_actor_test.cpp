#include "cluster/registry_actor.hpp"

#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "actors/spec_json.hpp"
#include "metrics/log.hpp"

#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

using namespace sg;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  std::string path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "sgd-registry-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

struct test_config : caf::actor_system_config {
  test_config() {
    add_actor_types(*this);
    add_cluster_types(*this);
    set("scheduler.policy", caf::atom("sharing"));
    set("scheduler.max-threads", 2);
  }
};

std::shared_ptr<registry_store> open_store(const std::string& dir) {
  store_options o;
  o.data_dir = dir;
  o.controller_id = "ctl-test";
  std::unique_ptr<registry_store> s;
  journal_recovery rec;
  auto err = registry_store::open(o, s, rec);
  INFO("open: " << err);
  REQUIRE(err.empty());
  return std::shared_ptr<registry_store>(std::move(s));
}

node_spec registration(const std::string& name, const std::string& base_url) {
  node_spec n;
  n.name = name;
  n.base_url = base_url;
  return n;
}

constexpr uint32_t name_and_url = json::nf_name | json::nf_base_url;

// One actor system with a registry actor on a store in `dir`; shuts the registry down (and with
// it the group and node actors) before the system is destroyed.
struct registry_fixture {
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::shared_ptr<routing_table> table = std::make_shared<routing_table>();
  caf::actor registry;

  explicit registry_fixture(const std::string& dir) {
    registry_actor_args args;
    args.store = open_store(dir);
    args.table = table;
    registry = sys.spawn(registry_actor, args);
  }
  ~registry_fixture() {
    caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
    self->wait_for(registry);
  }

  // Sends a request; returns the reply of type T or the error.
  template <class T, class... Ts>
  std::pair<std::optional<T>, caf::error> ask(Ts&&... xs) {
    std::optional<T> value;
    caf::error err;
    self->request(registry, 10s, std::forward<Ts>(xs)...)
        .receive([&](T& v) { value = std::move(v); }, [&](caf::error& e) { err = std::move(e); });
    return {std::move(value), std::move(err)};
  }

  // For requests answered with an empty message.
  template <class... Ts>
  caf::error ask_void(Ts&&... xs) {
    // Deletes answer with the number of controllers holding the write (1: no peers here).
    caf::error err;
    bool replied = false;
    self->request(registry, 10s, std::forward<Ts>(xs)...)
        .receive(
            [&](int32_t replicas) {
              replied = true;
              CHECK(replicas == 1);
            },
            [&](caf::error& e) { err = std::move(e); });
    if (!err) CHECK(replied);
    return err;
  }

  register_result put(const std::string& group, const node_spec& reg, uint32_t set) {
    auto [r, err] = ask<register_result>(node_put_atom::value, group, reg, set);
    INFO("node_put error: " << sys.render(err));
    REQUIRE(r);
    return *r;
  }
};

}  // namespace

TEST_CASE("registry_actor: registration creates the group and is an upsert", "[registry_actor]") {
  temp_dir dir;
  registry_fixture f(dir.path);

  auto first = f.put("orders", registration("n1", "http://127.0.0.1:9001/"), name_and_url);
  CHECK(first.created);
  CHECK(first.node.spec.node_id == make_node_id("orders", "n1"));
  CHECK(first.node.spec.group == "orders");
  CHECK(first.node.spec.health_url == "http://127.0.0.1:9001/health");  // derived from baseUrl
  CHECK(first.node.health.status == node_status::healthy);              // no prober

  SECTION("the group was created with defaults") {
    auto [view, err] = f.ask<group_view>(grp_get_atom::value, std::string("orders"));
    REQUIRE(view);
    group_spec defaults;
    defaults.name = "orders";
    CHECK(view->spec == defaults);
    CHECK(view->spec.strategy == strategy_kind::least_connections);
    REQUIRE(view->nodes.size() == 1);
    CHECK(view->nodes[0].spec.node_id == first.node.spec.node_id);
  }

  SECTION("re-registering the same name answers created=false with the same id") {
    auto again = f.put("orders", registration("n1", "http://127.0.0.1:9001/"), name_and_url);
    CHECK_FALSE(again.created);
    CHECK(again.node.spec.node_id == first.node.spec.node_id);
    auto moved = f.put("orders", registration("n1", "http://127.0.0.1:9555"), name_and_url);
    CHECK_FALSE(moved.created);
    CHECK(moved.node.spec.node_id == first.node.spec.node_id);
    CHECK(moved.node.spec.base_url == "http://127.0.0.1:9555");
    auto [nodes, err] = f.ask<std::vector<node_view>>(node_list_atom::value, std::string("orders"));
    REQUIRE(nodes);
    CHECK(nodes->size() == 1);
  }

  SECTION("a registration without name or baseUrl is invalid") {
    auto [r, err] = f.ask<register_result>(node_put_atom::value, std::string("orders"),
                                           registration("n2", ""), uint32_t{json::nf_name});
    CHECK_FALSE(r);
    CHECK(code_of(err) == sg_errc::invalid_argument);
    CHECK_THAT(message_of(err), Catch::Contains("baseUrl"));
  }
}

TEST_CASE("registry_actor: deletes and not-found errors", "[registry_actor]") {
  temp_dir dir;
  registry_fixture f(dir.path);
  auto n = f.put("orders", registration("n1", "http://127.0.0.1:9001"), name_and_url);
  const auto id = n.node.spec.node_id;
  const std::string orders = "orders";

  SECTION("unknown group and node") {
    auto [v, e1] = f.ask<group_view>(grp_get_atom::value, std::string("nope"));
    CHECK(code_of(e1) == sg_errc::group_not_found);
    auto [nv, e2] = f.ask<node_view>(node_get_atom::value, orders, std::string("node-0"));
    CHECK(code_of(e2) == sg_errc::node_not_found);
    auto [nv2, e3] = f.ask<node_view>(node_get_atom::value, std::string("nope"), id);
    CHECK(code_of(e3) == sg_errc::group_not_found);
  }

  SECTION("a non-empty group is not deleted without force") {
    auto err = f.ask_void(grp_del_atom::value, orders, false);
    REQUIRE(err);
    CHECK(is_sg_error(err));
    CHECK(code_of(err) == sg_errc::conflict);
    CHECK_THAT(message_of(err), Catch::Contains("force"));
    auto [v, e] = f.ask<group_view>(grp_get_atom::value, orders);
    CHECK(v);  // still there
  }

  SECTION("force deletes the group and its nodes") {
    CHECK_FALSE(f.ask_void(grp_del_atom::value, orders, true));
    auto [v, e] = f.ask<group_view>(grp_get_atom::value, orders);
    CHECK(code_of(e) == sg_errc::group_not_found);
    auto [info, e2] = f.ask<controller_info>(ctl_info_atom::value);
    REQUIRE(info);
    CHECK(info->groups == 0);
    CHECK(info->nodes == 0);
  }

  SECTION("node_del, then the empty group deletes without force") {
    CHECK_FALSE(f.ask_void(node_del_atom::value, orders, id));
    auto [nv, e] = f.ask<node_view>(node_get_atom::value, orders, id);
    CHECK(code_of(e) == sg_errc::node_not_found);
    CHECK(code_of(f.ask_void(node_del_atom::value, orders, id)) == sg_errc::node_not_found);
    CHECK_FALSE(f.ask_void(grp_del_atom::value, orders, false));
  }
}

TEST_CASE("registry_actor: registrations survive a restart on the same data dir",
          "[registry_actor]") {
  temp_dir dir;
  std::string id;
  {
    registry_fixture f(dir.path);
    id = f.put("orders", registration("n1", "http://127.0.0.1:9001"), name_and_url).node.spec.node_id;
    f.put("orders", registration("n2", "http://127.0.0.1:9002"), name_and_url);
  }
  registry_fixture f(dir.path);
  auto [nodes, err] = f.ask<std::vector<node_view>>(node_list_atom::value, std::string("orders"));
  REQUIRE(nodes);
  CHECK(nodes->size() == 2);
  auto [info, e2] = f.ask<controller_info>(ctl_info_atom::value);
  REQUIRE(info);
  CHECK(info->controller_id == "ctl-test");
  CHECK(info->groups == 1);
  CHECK(info->nodes == 2);
  // Re-registration after the restart is still an update, not a creation.
  auto again = f.put("orders", registration("n1", "http://127.0.0.1:9001"), name_and_url);
  CHECK_FALSE(again.created);
  CHECK(again.node.spec.node_id == id);
}
