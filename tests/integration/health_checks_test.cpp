// Deeper health checks end to end, against real test nodes: expected statuses and body, a
// check path on each node's baseUrl, tcp checks, the last answer's first bytes in the node's view,
// validation, and deregisterAfterMs removing a node (a replicated delete with an event).
#include "tests/integration/health_support.hpp"
#include "tests/support/sgd_cluster.hpp"

namespace {

std::string check_body(const std::string& health_fields) {
  return R"({"strategy":"round_robin","healthCheck":{"intervalMs":200,"timeoutMs":100,)" +
         health_fields + "}}";
}

// lastCheck.body of a node, "" when absent.
std::string check_excerpt(const sgd_instance& s, const std::string& g, const std::string& id) {
  auto r = s.admin("GET", "/api/server-groups/" + g + "/nodes/" + id);
  auto d = json(r);
  if (!d.IsObject() || !d.HasMember("lastCheck") || !d["lastCheck"].IsObject()) return {};
  return str_field(d["lastCheck"], "body");
}

}  // namespace

TEST_CASE("health checks: expectStatus decides, 418 outside it drains", "[health][checks]") {
  test_node_process a("hc-a");
  sgd_instance sgd;
  const std::string g = "hc-status";
  put_group(sgd, g, check_body(R"("expectStatus":[204,"500-503"])"));
  a.set_health(503);  // a failure under the default 2xx, a pass here
  auto n = register_node(sgd, g, a);
  REQUIRE(n.status == "healthy");
  auto d = get_node(sgd, g, n.id);
  CHECK(d.check_status == 503);
  CHECK(d.check_error.empty());

  a.set_health(200);  // not listed: fails, and the error says what was expected
  REQUIRE(wait_status(sgd, g, n.id, "unhealthy"));
  d = get_node(sgd, g, n.id);
  CHECK(d.check_status == 200);
  CHECK(d.check_error == "HTTP 200, expected 204,500-503");

  a.set_health(418);  // the node asks for a drain
  REQUIRE(wait_status(sgd, g, n.id, "draining"));
  a.set_health(500);
  REQUIRE(wait_status(sgd, g, n.id, "healthy"));
}

TEST_CASE("health checks: expectBody must be in the answer, its first bytes are shown",
          "[health][checks]") {
  test_node_process a("hc-body");
  sgd_instance sgd;
  const std::string g = "hc-body";
  // The test node's /health answers {"status":<code>,...}: any status passes, the body decides.
  put_group(sgd, g, check_body(R"("expectStatus":["200-599"],"expectBody":"\"status\":200")"));
  auto n = register_node(sgd, g, a);
  REQUIRE(n.status == "healthy");
  auto excerpt = check_excerpt(sgd, g, n.id);
  CHECK(excerpt.find("\"status\":200") != std::string::npos);
  CHECK(excerpt.find("hc-body") != std::string::npos);

  a.set_health(500);
  REQUIRE(wait_status(sgd, g, n.id, "unhealthy"));
  auto d = get_node(sgd, g, n.id);
  CHECK(d.check_status == 500);
  CHECK(d.check_error == "HTTP 500 but the body does not contain '\"status\":200'");
  CHECK(check_excerpt(sgd, g, n.id).find("\"status\":500") != std::string::npos);
  a.set_health(200);
  REQUIRE(wait_status(sgd, g, n.id, "healthy"));
}

TEST_CASE("health checks: a group path is checked on each node's baseUrl", "[health][checks]") {
  test_node_process a("hc-path");
  sgd_instance sgd;
  const std::string g = "hc-path";
  put_group(sgd, g, group_body());
  // Its own healthUrl points at a port nobody listens on: unhealthy.
  auto n = register_node(sgd, g, a, node_fields() + R"(,"healthUrl":"http://127.0.0.1:1/health")");
  REQUIRE(n.status == "unhealthy");
  // The group's path replaces it with baseUrl + path: the node's echo endpoint counts the checks.
  auto before = a.requests_served();
  put_group_fields(sgd, g, R"("healthCheck":{"path":"/ready?deep=1"})");
  REQUIRE(wait_status(sgd, g, n.id, "healthy"));
  REQUIRE(wait_until([&] { return a.requests_served() >= before + 2; }, 3s));
  // Back to "" : the healthUrl again.
  put_group_fields(sgd, g, R"("healthCheck":{"path":""})");
  REQUIRE(wait_status(sgd, g, n.id, "unhealthy"));
}

TEST_CASE("health checks: a tcp check only opens the port", "[health][checks]") {
  test_node_process a("hc-tcp");
  sgd_instance sgd;
  const std::string g = "hc-tcp";
  put_group(sgd, g, check_body(R"("type":"tcp")"));
  a.set_health(500);  // an http check would fail; the port is open
  auto n = register_node(sgd, g, a);
  REQUIRE(n.status == "healthy");
  auto d = get_node(sgd, g, n.id);
  CHECK(d.check_status == 0);  // no HTTP exchange
  CHECK(d.check_error.empty());
  a.kill9();
  REQUIRE(wait_status(sgd, g, n.id, "unhealthy"));
  CHECK_FALSE(get_node(sgd, g, n.id).check_error.empty());
  a.restart();
  REQUIRE(wait_status(sgd, g, n.id, "healthy"));
}

TEST_CASE("health checks: bad settings get a 400 naming the field", "[health][checks]") {
  sgd_instance sgd;
  auto put = [&](const std::string& body) {
    return sgd.admin("PUT", "/api/server-groups/hc-bad", body);
  };
  auto r = put(R"({"healthCheck":{"intervalMs":1000,"timeoutMs":1000}})");
  CHECK(r.status == 400);
  CHECK(r.body.find("must be below healthCheck.intervalMs") != std::string::npos);
  for (auto bad :
       {R"({"healthCheck":{"type":"icmp"}})", R"({"healthCheck":{"path":"ready"}})",
        R"({"healthCheck":{"expectStatus":["2xx"]}})", R"({"healthCheck":{"expectStatus":[]}})",
        R"({"healthCheck":{"deregisterAfterMs":10}})"}) {
    INFO(bad);
    r = put(bad);
    CHECK(r.status == 400);
    CHECK(r.body.find("healthCheck.") != std::string::npos);
  }
  // A shorter interval alone brings the (default 5 s) timeout down with it.
  r = put(R"({"healthCheck":{"intervalMs":1000}})");
  REQUIRE(r.status == 201);
  auto d = json(r);
  CHECK(d["healthCheck"]["timeoutMs"].GetInt() == 500);
}

TEST_CASE("health checks: deregisterAfterMs removes a node unhealthy that long",
          "[health][checks]") {
  test_node_process a("hc-dead"), b("hc-alive");
  sgd_instance sgd;
  const std::string g = "hc-dereg";
  put_group(sgd, g, check_body(R"("deregisterAfterMs":1000)"));
  auto na = register_node(sgd, g, a);
  auto nb = register_node(sgd, g, b);
  REQUIRE(na.status == "healthy");
  std::atomic<int> seen{0};
  auto events = std::async(std::launch::async, [&] {
    return read_events(
        sgd.admin_port(), [&](auto& e) { return !of_node(e, na.id, "node.deregistered").empty(); },
        15s, &seen);
  });
  a.set_health(500);
  REQUIRE(wait_status(sgd, g, na.id, "unhealthy"));
  auto unhealthy_at = std::chrono::steady_clock::now();
  // Gone after about a second more; the healthy node stays.
  REQUIRE(wait_until([&] { return get_node(sgd, g, na.id).http == 404; }, 5s));
  CHECK(std::chrono::steady_clock::now() - unhealthy_at >= 700ms);
  auto evs = events.get();
  auto mine = of_node(evs, na.id, "node.deregistered");
  REQUIRE(mine.size() == 1);
  CHECK(mine[0].from == "unhealthy");
  CHECK(mine[0].detail.find("deregisterAfterMs") != std::string::npos);
  CHECK(mine[0].detail.find("HTTP 500") != std::string::npos);
  CHECK(get_node(sgd, g, nb.id).status == "healthy");
  // Removed for good (a journaled delete), and it may register again.
  auto list = json(sgd.admin("GET", "/api/server-groups/" + g + "/nodes"));
  REQUIRE(list.IsObject());
  REQUIRE(list["nodes"].IsArray());
  CHECK(list["nodes"].Size() == 1);
  a.set_health(200);
  CHECK(register_node(sgd, g, a).status == "healthy");
}

TEST_CASE("health checks: deregisterAfterMs is a replicated delete", "[health][checks][cluster]") {
  sgd_cluster c(2);
  c.start_all();
  REQUIRE(wait_all_connected(c, 10s));
  test_node_process a("hc-rep");
  const std::string g = "hc-dereg-rep";
  put_group(c[0], g, check_body(R"("deregisterAfterMs":1000)"));
  auto n = register_node(c[0], g, a);
  REQUIRE(n.status == "healthy");
  REQUIRE(wait_until([&] { return get_node(c[1], g, n.id).status == "healthy"; }, 5s));
  a.kill9();  // both controllers see it fail; whichever removes it first removes it for both
  REQUIRE(wait_until([&] { return get_node(c[0], g, n.id).http == 404; }, 10s));
  REQUIRE(wait_until([&] { return get_node(c[1], g, n.id).http == 404; }, 5s));
  REQUIRE(wait_digests_equal(c, 5s));
  // Deleted from the registry (the digests agree on it), not just from one controller's routing.
  auto list = json(c[1].admin("GET", "/api/server-groups/" + g + "/nodes"));
  REQUIRE(list.IsObject());
  CHECK(list["nodes"].Size() == 0);
}
