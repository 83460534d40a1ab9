#include "actors/health_machine.hpp"

#include <catch2/catch.hpp>

#include <optional>

using namespace sg;

namespace {

constexpr auto pass = probe_outcome::pass;
constexpr auto fail = probe_outcome::fail;
constexpr auto drain = probe_outcome::drain;

health_settings settings(int32_t unhealthy_after = 3, int32_t healthy_after = 1) {
  health_settings h;
  h.unhealthy_after = unhealthy_after;
  h.healthy_after = healthy_after;
  return h;
}

bool is_change(const std::optional<status_change>& c, node_status from, node_status to) {
  return c && c->from == from && c->to == to;
}

}  // namespace

TEST_CASE("a node never seen healthy starts unhealthy and one pass admits it", "[health]") {
  health_machine m(settings());
  CHECK(m.status() == node_status::unhealthy);
  CHECK_FALSE(m.routable());
  SECTION("first check passes") {
    CHECK(is_change(m.observe(pass), node_status::unhealthy, node_status::healthy));
    CHECK(m.status() == node_status::healthy);
    CHECK(m.routable());
  }
  SECTION("first check fails: stays unhealthy, no change reported") {
    CHECK_FALSE(m.observe(fail));
    CHECK(m.status() == node_status::unhealthy);
    CHECK(m.consecutive_failures() == 1);
  }
}

TEST_CASE("start_healthy starts in the pool", "[health]") {
  health_machine m(settings(), true);
  CHECK(m.status() == node_status::healthy);
  CHECK(m.routable());
  CHECK_FALSE(m.observe(pass));
}

TEST_CASE("failed checks: healthy -> degraded -> degraded -> unhealthy", "[health]") {
  health_machine m(settings(3), true);
  CHECK(is_change(m.observe(fail), node_status::healthy, node_status::degraded));
  CHECK(m.consecutive_failures() == 1);
  CHECK(m.routable());  // degraded is still routed
  CHECK_FALSE(m.observe(fail));
  CHECK(m.status() == node_status::degraded);
  CHECK(m.consecutive_failures() == 2);
  CHECK(m.routable());
  CHECK(is_change(m.observe(fail), node_status::degraded, node_status::unhealthy));
  CHECK(m.consecutive_failures() == 3);
  CHECK_FALSE(m.routable());
  CHECK_FALSE(m.observe(fail));  // stays unhealthy
  CHECK(m.status() == node_status::unhealthy);
}

TEST_CASE("a passing check heals a degraded node at once", "[health]") {
  health_machine m(settings(3, 5), true);  // healthy_after only applies to unhealthy nodes
  m.observe(fail);
  m.observe(fail);
  REQUIRE(m.status() == node_status::degraded);
  CHECK(is_change(m.observe(pass), node_status::degraded, node_status::healthy));
  CHECK(m.consecutive_failures() == 0);
  // The failure count restarted: it takes three new failures to become unhealthy.
  m.observe(fail);
  m.observe(fail);
  CHECK(m.status() == node_status::degraded);
}

TEST_CASE("a new node's first passing check admits it whatever healthy_after says", "[health]") {
  health_machine m(settings(3, 5));
  REQUIRE(m.status() == node_status::unhealthy);
  CHECK(is_change(m.observe(pass), node_status::unhealthy, node_status::healthy));
}

TEST_CASE("an unhealthy node with healthy_after=2 needs two consecutive passes", "[health]") {
  health_machine m(settings(3, 2));
  REQUIRE(m.status() == node_status::unhealthy);
  CHECK_FALSE(m.observe(fail));  // its first check failed: it stays out
  CHECK_FALSE(m.observe(pass));
  CHECK(m.status() == node_status::unhealthy);
  CHECK(m.consecutive_passes() == 1);
  SECTION("second pass admits") {
    CHECK(is_change(m.observe(pass), node_status::unhealthy, node_status::healthy));
  }
  SECTION("a failure in between restarts the count") {
    CHECK_FALSE(m.observe(fail));
    CHECK(m.consecutive_passes() == 0);
    CHECK_FALSE(m.observe(pass));
    CHECK(m.status() == node_status::unhealthy);
    CHECK(is_change(m.observe(pass), node_status::unhealthy, node_status::healthy));
  }
  SECTION("after being unhealthy through failures too") {
    m.observe(pass);
    REQUIRE(m.status() == node_status::healthy);
    m.observe(fail), m.observe(fail), m.observe(fail);
    REQUIRE(m.status() == node_status::unhealthy);
    CHECK_FALSE(m.observe(pass));
    CHECK(is_change(m.observe(pass), node_status::unhealthy, node_status::healthy));
  }
}

TEST_CASE("unhealthy_after=1 takes a healthy node out on the first failure", "[health]") {
  health_machine m(settings(1), true);
  CHECK(is_change(m.observe(fail), node_status::healthy, node_status::unhealthy));
  CHECK_FALSE(m.routable());
  CHECK(is_change(m.observe(pass), node_status::unhealthy, node_status::healthy));
}

TEST_CASE("a 418 answer drains the node until it passes again", "[health]") {
  SECTION("from healthy") {
    health_machine m(settings(), true);
    CHECK(is_change(m.observe(drain), node_status::healthy, node_status::draining));
    CHECK(m.self_draining());
    CHECK_FALSE(m.routable());
    CHECK(m.health() == node_status::healthy);
    CHECK_FALSE(m.observe(drain));
    CHECK(is_change(m.observe(pass), node_status::draining, node_status::healthy));
    CHECK_FALSE(m.self_draining());
    CHECK(m.routable());
  }
  SECTION("from degraded: back to healthy on the pass") {
    health_machine m(settings(), true);
    m.observe(fail);
    REQUIRE(m.status() == node_status::degraded);
    CHECK(is_change(m.observe(drain), node_status::degraded, node_status::draining));
    CHECK(is_change(m.observe(pass), node_status::draining, node_status::healthy));
  }
  SECTION("from never-seen-healthy") {
    health_machine m(settings());
    CHECK(is_change(m.observe(drain), node_status::unhealthy, node_status::draining));
    CHECK(is_change(m.observe(pass), node_status::draining, node_status::healthy));
  }
  SECTION("failures while self-draining keep it draining") {
    health_machine m(settings(), true);
    m.observe(drain);
    CHECK_FALSE(m.observe(fail));
    CHECK(m.status() == node_status::draining);
    CHECK_FALSE(m.routable());
  }
}

TEST_CASE("the operator's drain overrides every health state", "[health]") {
  health_machine m(settings(), true);
  CHECK(is_change(m.set_admin(admin_state::draining), node_status::healthy,
                  node_status::draining));
  CHECK_FALSE(m.routable());
  CHECK_FALSE(m.set_admin(admin_state::draining));  // no change, no report

  // Checks keep running underneath, but the effective status stays draining.
  CHECK_FALSE(m.observe(fail));
  CHECK(m.health() == node_status::degraded);
  CHECK_FALSE(m.observe(fail));
  CHECK_FALSE(m.observe(fail));
  CHECK(m.health() == node_status::unhealthy);
  CHECK_FALSE(m.observe(pass));
  CHECK(m.health() == node_status::healthy);
  CHECK_FALSE(m.observe(drain));
  CHECK_FALSE(m.observe(pass));
  CHECK(m.status() == node_status::draining);
  CHECK_FALSE(m.routable());

  SECTION("undrain reveals the current health") {
    CHECK(is_change(m.set_admin(admin_state::active), node_status::draining,
                    node_status::healthy));
    CHECK(m.routable());
  }
  SECTION("undrain of a node that went unhealthy meanwhile") {
    m.observe(fail), m.observe(fail), m.observe(fail);
    CHECK(is_change(m.set_admin(admin_state::active), node_status::draining,
                    node_status::unhealthy));
    CHECK_FALSE(m.routable());
  }
}

TEST_CASE("observe reports a change only when the effective status changes", "[health]") {
  health_machine m(settings(3), true);
  int changes = 0;
  const probe_outcome script[] = {pass, pass, fail, fail, pass, pass, fail, fail, fail, fail,
                                  pass, drain, drain, fail, pass, pass};
  const node_status expected[] = {
      node_status::healthy,   node_status::healthy,   node_status::degraded,
      node_status::degraded,  node_status::healthy,   node_status::healthy,
      node_status::degraded,  node_status::degraded,  node_status::unhealthy,
      node_status::unhealthy, node_status::healthy,   node_status::draining,
      node_status::draining,  node_status::draining,  node_status::healthy,
      node_status::healthy};
  auto prev = m.status();
  for (size_t i = 0; i < std::size(script); ++i) {
    auto c = m.observe(script[i]);
    INFO("step " << i);
    CHECK(m.status() == expected[i]);
    if (prev != m.status()) {
      ++changes;
      CHECK(is_change(c, prev, m.status()));
    } else {
      CHECK_FALSE(c);
    }
    prev = m.status();
  }
  CHECK(changes == 7);
}
