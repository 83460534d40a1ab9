// Draining: a node asking for it (health answers 418), the operator's drain/activate with a request
// in flight and the node.drained event, and DELETE of a node that still has a request in flight.
#include "tests/integration/health_support.hpp"

namespace {

// Starts GET /groups/{g}/slow?ms=N pinned to the node with metadata id=<pin>; waits (REQUIRE)
// until the node has it in flight.
std::future<http_result> start_slow(const sgd_instance& sgd, const std::string& g,
                                    test_node_process& node, const std::string& pin, int ms) {
  auto f = std::async(std::launch::async, [&sgd, g, pin, ms] {
    return sgd.proxy("GET", "/groups/" + g + "/slow?ms=" + std::to_string(ms), "",
                     {{"X-Route-Metadata", "id=" + pin}}, 10s);
  });
  REQUIRE(wait_until([&] { return node.in_flight() == 1; }, 3s));
  return f;
}

}  // namespace

TEST_CASE("health: a node whose health answers 418 drains, and comes back on a 2xx", "[health]") {
  test_node_process a("h418-a"), b("h418-b");
  sgd_instance sgd;
  const std::string g = "health-418";
  put_group(sgd, g, group_body());
  auto na = register_node(sgd, g, a);
  register_node(sgd, g, b);

  a.set_health(418);
  REQUIRE(wait_status(sgd, g, na.id, "draining"));
  auto d = get_node(sgd, g, na.id);
  CHECK(d.check_status == 418);
  CHECK(d.admin_state == "active");  // the node asked, not the operator
  auto drain_checks = checks_counted(sgd, na.id, "drain");
  CHECK(drain_checks >= 1);
  auto a_before = a.requests_served();
  only_node_serves(sgd, g, "h418-b", 600ms);
  REQUIRE(a.requests_served() == a_before);
  // Still answering 418 on later checks (two more counted in /metrics): stays draining.
  CHECK(wait_until([&] { return checks_counted(sgd, na.id, "drain") >= drain_checks + 2; }, 3s));
  CHECK(get_node(sgd, g, na.id).status == "draining");

  auto evs = read_events(
      sgd.admin_port(), [&](auto& e) { return !of_node(e, na.id, "node.drained").empty(); }, 3s);
  auto mine = of_node(evs, na.id);
  REQUIRE(mine.size() >= 2);
  CHECK(mine[1].from == "healthy");
  CHECK(mine[1].to == "draining");
  CHECK(mine[1].alert.empty());
  REQUIRE(of_node(evs, na.id, "node.drained").size() == 1);  // nothing was in flight

  a.set_health(200);
  REQUIRE(wait_status(sgd, g, na.id, "healthy"));
  REQUIRE(wait_until([&] { return call(sgd, g) == "h418-a"; }, 2s));
}

TEST_CASE("health: operator drain lets an in-flight request finish, then node.drained; activate re-admits", "[health]") {
  test_node_process a("hd-a"), b("hd-b");
  sgd_instance sgd;
  const std::string g = "health-drain";
  put_group(sgd, g, group_body());
  auto na = register_node(sgd, g, a, node_fields(1, R"({"id":"a"})"));
  register_node(sgd, g, b, node_fields(1, R"({"id":"b"})"));

  auto t0 = now_ms();
  auto slow = start_slow(sgd, g, a, "a", 1500);
  auto r = sgd.admin("POST", "/api/server-groups/" + g + "/nodes/" + na.id + "/drain");
  INFO(r.body);
  REQUIRE(r.status == 200);
  auto body = json(r);
  REQUIRE(body.IsObject());
  CHECK(std::string(body["status"].GetString()) == "draining");
  CHECK(std::string(body["adminState"].GetString()) == "draining");
  auto d = get_node(sgd, g, na.id);
  CHECK(d.status == "draining");
  CHECK(d.in_flight == 1);

  // New requests go to B only; one pinned to A finds no routable node.
  for (int i = 0; i < 10; ++i) REQUIRE(call(sgd, g) == "hd-b");
  auto pinned = sgd.proxy("GET", "/groups/" + g + "/x", "", {{"X-Route-Metadata", "id=a"}});
  CHECK(pinned.status == 503);
  // Not drained yet: the slow request still runs.
  REQUIRE(slow.wait_for(0ms) == std::future_status::timeout);

  auto sr = slow.get();
  INFO(sr.error << " " << sr.body);
  REQUIRE(sr.status == 200);
  CHECK(sr.header("X-Node") == "hd-a");
  CHECK(a.requests_served() == 1);

  auto evs = read_events(
      sgd.admin_port(), [&](auto& e) { return !of_node(e, na.id, "node.drained").empty(); }, 3s);
  auto drained = of_node(evs, na.id, "node.drained");
  REQUIRE(drained.size() == 1);
  CHECK(drained[0].at_ms >= t0 + 1400);  // only once the slow request was done
  auto st = of_node(evs, na.id);
  REQUIRE(st.size() >= 2);
  CHECK(st.back().from == "healthy");
  CHECK(st.back().to == "draining");
  CHECK(st.back().seq < drained[0].seq);
  CHECK(get_node(sgd, g, na.id).in_flight == 0);

  // Still no new work while drained.
  only_node_serves(sgd, g, "hd-b", 300ms);
  CHECK(a.requests_served() == 1);

  r = sgd.admin("POST", "/api/server-groups/" + g + "/nodes/" + na.id + "/activate");
  REQUIRE(r.status == 200);
  REQUIRE(wait_status(sgd, g, na.id, "healthy"));
  REQUIRE(wait_until([&] { return call(sgd, g) == "hd-a"; }, 2s));
  evs = read_events(
      sgd.admin_port(), [&](auto& e) { return has_event(e, na.id, "node.status", "healthy") &&
                                              of_node(e, na.id).back().from == "draining"; }, 3s);
  CHECK(of_node(evs, na.id).back().from == "draining");
}

TEST_CASE("health: DELETE of a node with a request in flight: it completes, the node gets nothing new", "[health]") {
  test_node_process a("hx-a"), b("hx-b");
  sgd_instance sgd;
  const std::string g = "health-delete";
  put_group(sgd, g, group_body());
  auto na = register_node(sgd, g, a, node_fields(1, R"({"id":"a"})"));
  register_node(sgd, g, b, node_fields(1, R"({"id":"b"})"));

  auto slow = start_slow(sgd, g, a, "a", 1500);
  auto r = sgd.admin("DELETE", "/api/server-groups/" + g + "/nodes/" + na.id);
  INFO(r.body);
  REQUIRE(r.status == 204);
  CHECK(get_node(sgd, g, na.id).http == 404);

  for (int i = 0; i < 10; ++i) REQUIRE(call(sgd, g) == "hx-b");
  REQUIRE(slow.wait_for(0ms) == std::future_status::timeout);
  auto sr = slow.get();
  INFO(sr.error << " " << sr.body);
  REQUIRE(sr.status == 200);
  CHECK(sr.header("X-Node") == "hx-a");
  only_node_serves(sgd, g, "hx-b", 300ms);
  CHECK(a.requests_served() == 1);
}
