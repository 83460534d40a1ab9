// Controller drain: POST /api/controller/drain (ping 418, proxied requests still served) and
// SIGTERM (ping 418 for --drain-grace, listeners close, in-flight requests finish, exit 0).
#include "tests/integration/health_support.hpp"

#include <csignal>

TEST_CASE("health: controller drain answers 418 on the ping and keeps serving proxied requests", "[health]") {
  test_node_process a("hc-a");
  sgd_instance sgd;
  const std::string g = "health-ctl";
  put_group(sgd, g, group_body());
  register_node(sgd, g, a);
  const std::string ping = "/api/octopusservernodes/ping";
  REQUIRE(sgd.admin("GET", ping).status == 200);

  auto r = sgd.admin("POST", "/api/controller/drain");
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.body.find("\"draining\"") != std::string::npos);
  auto p = sgd.admin("GET", ping);
  REQUIRE(p.status == 418);
  auto d = json(p);
  REQUIRE(d.IsObject());
  CHECK(std::string(d["status"].GetString()) == "draining");
  CHECK(sgd.admin("HEAD", ping).status == 418);
  for (int i = 0; i < 5; ++i) REQUIRE(call(sgd, g) == "hc-a");

  REQUIRE(sgd.admin("POST", "/api/controller/activate").status == 200);
  REQUIRE(sgd.admin("GET", ping).status == 200);
}

TEST_CASE("health: SIGTERM drains: ping 418 during the grace, the in-flight request finishes, exit 0", "[health]") {
  test_node_process a("ht-a");
  sgd_options o;
  o.extra_args = {"--drain-grace", "1"};
  sgd_instance sgd(o);
  const std::string g = "health-term";
  put_group(sgd, g, group_body());
  register_node(sgd, g, a);
  const std::string ping = "/api/octopusservernodes/ping";
  REQUIRE(sgd.admin("GET", ping).status == 200);

  auto slow = std::async(std::launch::async, [&sgd, g] {
    return sgd.proxy("GET", "/groups/" + g + "/slow?ms=1500", "", {}, 10s);
  });
  REQUIRE(wait_until([&] { return a.in_flight() == 1; }, 3s));

  auto t_term = std::chrono::steady_clock::now();
  // stop(): SIGTERM, then wait for the exit (on its own thread: the checks below run meanwhile).
  auto stopped = std::async(std::launch::async, [&sgd] { return sgd.stop(10s); });

  // During the grace: the ping says 418, new proxied requests are still served.
  REQUIRE(wait_until([&] { return sgd.admin("GET", ping, "", {}, 1s).status == 418; }, 800ms));
  CHECK(call(sgd, g) == "ht-a");
  // After the grace the listeners close, while the slow request is still running.
  bool refused_while_in_flight = wait_until(
      [&] {
        auto r = sgd.admin("GET", ping, "", {}, 500ms);
        return r.status == 0 && slow.wait_for(0ms) == std::future_status::timeout;
      },
      1400ms);
  CHECK(refused_while_in_flight);

  auto sr = slow.get();
  INFO(sr.error << " " << sr.body);
  REQUIRE(sr.status == 200);
  CHECK(sr.header("X-Node") == "ht-a");
  REQUIRE(stopped.wait_for(10s) == std::future_status::ready);
  auto code = stopped.get();
  auto took = std::chrono::steady_clock::now() - t_term;
  INFO(sgd.log_text().substr(sgd.log_text().size() > 3000 ? sgd.log_text().size() - 3000 : 0));
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(took >= 1000ms);  // not before the grace
}
