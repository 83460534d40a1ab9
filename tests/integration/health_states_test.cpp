// Health state machine end to end: healthy/degraded/unhealthy transitions with 200 ms checks, a
// failing first check, healthyAfter, passive observations; routing follows the status.
#include "tests/integration/health_support.hpp"

TEST_CASE("health: healthy -> degraded -> unhealthy -> healthy with 200 ms checks", "[health]") {
  test_node_process a("hs-a"), b("hs-b");
  sgd_instance sgd;
  const std::string g = "health-path";
  put_group(sgd, g, group_body());
  auto na = register_node(sgd, g, a);
  auto nb = register_node(sgd, g, b);
  REQUIRE(na.status == "healthy");
  REQUIRE(nb.status == "healthy");

  // Healthy: routed at once, both nodes take requests.
  std::set<std::string> served;
  for (int i = 0; i < 4; ++i) served.insert(call(sgd, g));
  REQUIRE(served == std::set<std::string>{"hs-a", "hs-b"});
  auto d = get_node(sgd, g, na.id);
  CHECK(d.failures == 0);
  CHECK(d.check_status == 200);
  CHECK(d.check_error.empty());
  CHECK(d.in_flight == 0);
  // The last check is a real and current one: answered within its 100 ms timeout (-1: no
  // latencyMs) and stamped in the last few seconds (checks run every 200 ms).
  CHECK((d.check_latency >= 0 && d.check_latency <= 100));
  auto at = iso_time_ms(d.check_at);
  INFO("lastCheck.at " << d.check_at);
  REQUIRE(at.has_value());
  CHECK(*at <= now_ms());
  CHECK(*at > now_ms() - 5000);

  // One failed check: degraded, and still routed.
  a.set_health(500);
  REQUIRE(wait_until([&] { return get_node(sgd, g, na.id).status != "healthy"; }, 3s));
  d = get_node(sgd, g, na.id);
  INFO(d.body);
  REQUIRE(d.status == "degraded");
  CHECK((d.failures == 1 || d.failures == 2));
  CHECK(d.check_status == 500);
  auto a_before = a.requests_served();
  int to_a = 0;
  for (int i = 0; i < 4; ++i)
    if (call(sgd, g) == "hs-a") ++to_a;
  REQUIRE(to_a >= 1);
  REQUIRE(a.requests_served() >= a_before + 1);

  // Three consecutive failures: unhealthy, out of the pool. B serves everything.
  REQUIRE(wait_status(sgd, g, na.id, "unhealthy"));
  d = get_node(sgd, g, na.id);
  CHECK(d.failures >= 3);
  CHECK(d.check_status == 500);
  a_before = a.requests_served();
  only_node_serves(sgd, g, "hs-b", 600ms);
  REQUIRE(a.requests_served() == a_before);

  // A passing check re-admits it (healthyAfter = 1).
  a.set_health(200);
  REQUIRE(wait_status(sgd, g, na.id, "healthy"));
  d = get_node(sgd, g, na.id);
  CHECK(d.failures == 0);
  CHECK(d.check_status == 200);
  REQUIRE(wait_until([&] { return call(sgd, g) == "hs-a"; }, 2s));

  // The same path on the event stream, in order.
  auto evs = read_events(
      sgd.admin_port(), [&](auto& e) { return has_event(e, na.id, "node.status", "healthy", "resolved"); },
      5s);
  auto mine = of_node(evs, na.id);
  REQUIRE(transitions(mine) == std::vector<std::string>{">healthy/", "healthy>degraded/raised",
                                                         "degraded>unhealthy/raised",
                                                         "unhealthy>healthy/resolved"});
  CHECK(mine[1].failures == 1);
  CHECK(mine[2].failures == 3);
  CHECK(mine[3].failures == 0);
  CHECK(of_node(evs, nb.id).size() == 1);  // B only announced its first check
}

TEST_CASE("health: a node whose first check fails registers unhealthy and gets nothing until a check passes", "[health]") {
  test_node_process a("hf-a"), b("hf-b");
  sgd_instance sgd;
  const std::string g = "health-first";
  put_group(sgd, g, group_body());
  auto na = register_node(sgd, g, a);
  REQUIRE(na.status == "healthy");

  b.set_health(503);
  auto nb = register_node(sgd, g, b);
  REQUIRE(nb.status == "unhealthy");
  auto d = get_node(sgd, g, nb.id);
  CHECK(d.status == "unhealthy");
  CHECK(d.failures >= 1);
  CHECK(d.check_status == 503);

  // Never seen healthy: not routed, even though the node itself is up.
  only_node_serves(sgd, g, "hf-a", 600ms);
  REQUIRE(b.requests_served() == 0);

  b.set_health(200);
  REQUIRE(wait_status(sgd, g, nb.id, "healthy"));
  REQUIRE(wait_until([&] { return call(sgd, g) == "hf-b"; }, 2s));

  auto evs = read_events(
      sgd.admin_port(), [&](auto& e) { return has_event(e, nb.id, "node.status", "healthy"); }, 5s);
  REQUIRE(transitions(of_node(evs, nb.id)) ==
          std::vector<std::string>{">unhealthy/raised", "unhealthy>healthy/resolved"});

  // A node nobody listens on: registered unhealthy with the connect error, routed once it is up.
  test_node_process c("hf-c");
  c.kill9();
  auto nc = register_node(sgd, g, c);
  REQUIRE(nc.status == "unhealthy");
  d = get_node(sgd, g, nc.id);
  CHECK(d.check_status == 0);
  CHECK(!d.check_error.empty());
  c.restart();
  REQUIRE(wait_status(sgd, g, nc.id, "healthy"));
  REQUIRE(wait_until([&] { return call(sgd, g) == "hf-c"; }, 2s));
}

TEST_CASE("health: healthyAfter=2 re-admits an unhealthy node only after two passing checks", "[health]") {
  test_node_process a("h2-a"), b("h2-b");
  sgd_instance sgd;
  const std::string g = "health-two";
  put_group(sgd, g, group_body());
  auto na = register_node(sgd, g, a);
  REQUIRE(na.status == "healthy");
  REQUIRE(register_node(sgd, g, b).status == "healthy");
  put_group(sgd, g, group_body(3, 2));  // applies to running nodes

  a.set_health(500);
  REQUIRE(wait_status(sgd, g, na.id, "unhealthy"));
  a.set_health(200);

  // Watch every state: there must be one with a passing last check but still unhealthy.
  bool saw_one_pass = false;
  bool checked_not_routed = false;
  REQUIRE(wait_until(
      [&] {
        auto d = get_node(sgd, g, na.id);
        if (d.status == "unhealthy" && d.check_status == 200) {
          if (!saw_one_pass) {
            saw_one_pass = true;
            // Requests in this window (same last check before and after) must not reach A.
            auto a_before = a.requests_served();
            std::vector<std::string> who;
            for (int i = 0; i < 4; ++i) who.push_back(call(sgd, g));
            auto d2 = get_node(sgd, g, na.id);
            if (d2.status == "unhealthy" && d2.check_at == d.check_at) {
              checked_not_routed = true;
              for (auto& w : who) CHECK(w == "h2-b");
              CHECK(a.requests_served() == a_before);
            }
          }
        }
        return d.status == "healthy";
      },
      4s));
  REQUIRE(saw_one_pass);
  if (!checked_not_routed) WARN("the one-pass window closed before the routing check finished");
  REQUIRE(wait_until([&] { return call(sgd, g) == "h2-a"; }, 2s));
}

TEST_CASE("health: a refused proxied connection counts as a failed observation", "[health]") {
  test_node_process a("hp2-a"), b("hp2-b");
  sgd_instance sgd;
  const std::string g = "health-passive";
  // Checks every 60 s: after the registration check, only passive observations move A.
  put_group(sgd, g, group_body(3, 1, 60000));
  auto na = register_node(sgd, g, a);
  register_node(sgd, g, b);
  REQUIRE(na.status == "healthy");

  a.kill9();
  // Requests fail over to B; each refused connection to A is a failed observation.
  REQUIRE(wait_until(
      [&] {
        auto who = call(sgd, g);
        return who == "hp2-b" && get_node(sgd, g, na.id).status != "healthy";
      },
      3s));
  auto d = get_node(sgd, g, na.id);
  INFO(d.body);
  CHECK((d.status == "degraded" || d.status == "unhealthy"));
  CHECK(d.failures >= 1);
  CHECK(d.check_error == "proxied connection failed");
  REQUIRE(wait_until(
      [&] {
        call(sgd, g);
        return get_node(sgd, g, na.id).status == "unhealthy";
      },
      3s));
  CHECK(get_node(sgd, g, na.id).failures >= 3);
  only_node_serves(sgd, g, "hp2-b", 300ms);
}

TEST_CASE("health: a changed check interval takes effect without waiting out the old one", "[health]") {
  test_node_process a("hi-a");
  sgd_instance sgd;
  const std::string g = "health-interval";
  put_group(sgd, g, group_body(3, 1, 60000));
  auto na = register_node(sgd, g, a);
  REQUIRE(na.status == "healthy");
  // Now check every 200 ms; a failing node should be seen within a few intervals.
  put_group(sgd, g, group_body(3, 1, 200));
  a.set_health(500);
  REQUIRE(wait_until([&] { return get_node(sgd, g, na.id).status != "healthy"; }, 2s));
}

TEST_CASE("health: with healthyAfter=2 a first check that passes still registers healthy", "[health]") {
  // Contract: registration probes before answering; pass -> 201 "healthy", routed at once.
  test_node_process a("h2r-a");
  sgd_instance sgd;
  const std::string g = "health-two-reg";
  put_group(sgd, g, group_body(3, 2));
  auto na = register_node(sgd, g, a);
  CHECK(na.status == "healthy");
  REQUIRE(call(sgd, g) == "h2r-a");
}
