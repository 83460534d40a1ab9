// Client failover between sgd controllers: a killed controller is skipped (and remembered as
// down for a while) without the caller seeing an error; a controller whose answer is "no node
// chosen" (503 no_routable_node) is skipped; a request that may have run is never repeated.
// Built only once integration_tests links sg_client (see tests/CMakeLists.txt).
#if __has_include(<sgd/client/server_group_client.hpp>)
#include <sgd/client/server_group_client.hpp>

#include "tests/support/admin_helpers.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/sgd_process.hpp"
#include "tests/support/test_node.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

namespace {

using namespace sg::test;
using namespace std::chrono_literals;
using sg::client::errc;
using sg::client::ServerGroupClient;

}  // namespace

TEST_CASE("client: fails over when a controller is killed and remembers it is down",
          "[client]") {
  sgd_instance a, b;
  test_node_process node("ai-node-01");
  add_node(a, "inference-cluster", node, "healthy", "");
  add_node(b, "inference-cluster", node, "healthy", "");
  sg::client::client_options opts;
  opts.down_for = 3s;
  ServerGroupClient client({proxy_url(a), proxy_url(b)}, opts);

  // Both up: the first one answers (and a keep-alive connection to it is pooled).
  for (int i = 0; i < 3; ++i) {
    auto r = client.send("POST", "inference-cluster", "/infer", "{}");
    INFO(describe(r));
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    CHECK(r->controller == proxy_url(a));
  }
  CHECK(client.controllers()[0].idle_connections == 1);

  a.kill9();
  for (int i = 0; i < 20; ++i) {
    auto r = client.post("inference-cluster", "/infer", R"({"prompt":"still here?"})");
    INFO("call " << i << ": " << describe(r));
    REQUIRE(r.ok());
    CHECK(str_field(r.value(), "node") == "ai-node-01");
  }
  auto via = client.send("POST", "inference-cluster", "/infer", "{}");
  REQUIRE(via.ok());
  CHECK(via->controller == proxy_url(b));
  auto ctl = client.controllers();
  REQUIRE(ctl.size() == 2);
  CHECK(ctl[0].down);
  CHECK(ctl[0].last_error.find("refused") != std::string::npos);
  CHECK(ctl[0].idle_connections == 0);
  CHECK_FALSE(ctl[1].down);

  // While it is marked down, calls go straight to the second (no connect attempt): fast.
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) REQUIRE(client.post("inference-cluster", "/x", "{}").ok());
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);

  // Back up, and once the down mark has expired the first controller is used again.
  a.restart();
  REQUIRE(wait_until([&] { return !client.controllers()[0].down; }, 10s));
  auto back = client.send("POST", "inference-cluster", "/infer", "{}");
  INFO(describe(back));
  REQUIRE(back.ok());
  CHECK(back->status == 200);
  CHECK(back->controller == proxy_url(a));
}

TEST_CASE("client: a controller answering 503 no_routable_node is skipped", "[client]") {
  sgd_instance a, b;
  test_node_process node("n1");
  REQUIRE(a.admin("PUT", "/api/server-groups/inference-cluster", "{}").status == 201);
  add_node(b, "inference-cluster", node, "healthy", "");
  ServerGroupClient client({proxy_url(a), proxy_url(b)});

  auto r = client.post("inference-cluster", "/infer", "{}");
  INFO(describe(r));
  REQUIRE(r.ok());
  CHECK(str_field(r.value(), "node") == "n1");
  auto ctl = client.controllers();
  CHECK(ctl[0].down);
  CHECK(ctl[0].last_error.find("no_routable_node") != std::string::npos);
  CHECK(node.requests_served() == 1);

  // Every controller answering 503 no_routable_node: the last one comes back as the error.
  REQUIRE(b.admin("DELETE", "/api/server-groups/inference-cluster?force=true").status == 204);
  REQUIRE(b.admin("PUT", "/api/server-groups/inference-cluster", "{}").status == 201);
  REQUIRE(wait_until([&] { return b.proxy("POST", "/groups/inference-cluster/x").status == 503; },
                     5s));
  auto before = node.requests_served();
  auto e = client.post("inference-cluster", "/infer", "{}");
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().kind == errc::http_status);
  CHECK(e.error().status == 503);
  CHECK(e.error().code == "no_routable_node");
  CHECK((e.error().controller == proxy_url(a) || e.error().controller == proxy_url(b)));
  CHECK(node.requests_served() == before);
}

TEST_CASE("client: a request that may have run is never sent to a second controller",
          "[client]") {
  sgd_instance a, b;
  test_node_process na("node-a"), nb("node-b");
  add_node(a, "inference-cluster", na, "healthy", "");
  add_node(b, "inference-cluster", nb, "healthy", "");
  ServerGroupClient client({proxy_url(a), proxy_url(b)});

  SECTION("the controller dies while the request is in flight") {
    auto f = client.post_async("inference-cluster", "/slow?ms=3000", "{}");
    REQUIRE(wait_until([&] { return na.in_flight() == 1; }, 5s));
    a.kill9();
    REQUIRE(f.wait_for(5s) == std::future_status::ready);
    auto r = f.get();
    REQUIRE_FALSE(r.ok());
    INFO(r.error().what());
    CHECK(r.error().kind == errc::connection_lost);
    CHECK(nb.requests_served() == 0);
  }
  SECTION("the node itself answers 503: that is the node's answer, not a failover") {
    na.set_status(503);
    auto r = client.post("inference-cluster", "/infer", "{}");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().status == 503);
    CHECK(r.error().code.empty());
    CHECK(na.requests_served() == 1);
    CHECK(nb.requests_served() == 0);
    CHECK_FALSE(client.controllers()[0].down);
  }
  SECTION("a timeout is returned, not retried") {
    sg::client::call_options opts;
    opts.timeout = 300ms;
    auto r = client.post("inference-cluster", "/slow?ms=2000", "{}", opts);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == errc::timeout);
    CHECK(nb.requests_served() == 0);
    CHECK_FALSE(client.controllers()[0].down);
  }
}

TEST_CASE("client: no controller reachable gives an unreachable error naming each",
          "[client]") {
  auto p1 = free_port(), p2 = free_port();
  std::string u1 = "http://127.0.0.1:" + std::to_string(p1);
  std::string u2 = "http://127.0.0.1:" + std::to_string(p2);
  ServerGroupClient client({u1, u2});
  auto r = client.post("inference-cluster", "/infer", "{}");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == errc::unreachable);
  CHECK(r.error().message.find(u1) != std::string::npos);
  CHECK(r.error().message.find(u2) != std::string::npos);
  auto ctl = client.controllers();
  CHECK(ctl[0].down);
  CHECK(ctl[1].down);
}

#endif  // __has_include(<sgd/client/server_group_client.hpp>)
