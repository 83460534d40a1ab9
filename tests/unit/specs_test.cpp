#include "actors/specs.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using namespace sg;

TEST_CASE("valid_name accepts [A-Za-z0-9._-]{1,128}", "[specs]") {
  CHECK(valid_name("a"));
  CHECK(valid_name("Orders-API_v2.1"));
  CHECK(valid_name("0123456789"));
  CHECK(valid_name("._-"));
  CHECK(valid_name(std::string(128, 'x')));
}

TEST_CASE("valid_name rejects empty, too long and foreign characters", "[specs]") {
  CHECK_FALSE(valid_name(""));
  CHECK_FALSE(valid_name(std::string(129, 'x')));
  CHECK_FALSE(valid_name("has space"));
  CHECK_FALSE(valid_name(" lead"));
  CHECK_FALSE(valid_name("a/b"));
  CHECK_FALSE(valid_name("caf\xC3\xA9"));  // "café" in UTF-8
  CHECK_FALSE(valid_name("\xE2\x9C\x93"));  // a check mark
  CHECK_FALSE(valid_name("a:b"));
  CHECK_FALSE(valid_name(std::string("a\0b", 3)));
}

TEST_CASE("make_node_id is deterministic and separates group from name", "[specs]") {
  auto id = make_node_id("orders", "node-1");
  CHECK(id == make_node_id("orders", "node-1"));
  CHECK(id.rfind("node-", 0) == 0);
  CHECK(id.size() == 5 + 16);
  CHECK(id.find_first_not_of("0123456789abcdef", 5) == std::string::npos);

  SECTION("differs by group") { CHECK(id != make_node_id("billing", "node-1")); }
  SECTION("differs by name") { CHECK(id != make_node_id("orders", "node-2")); }
  SECTION("the boundary between group and name matters") {
    CHECK(make_node_id("ab", "c") != make_node_id("a", "bc"));
    CHECK(make_node_id("", "abc") != make_node_id("abc", ""));
  }
  SECTION("no collisions over a small grid") {
    std::set<std::string> ids;
    for (int g = 0; g < 20; ++g)
      for (int n = 0; n < 20; ++n)
        ids.insert(make_node_id("g" + std::to_string(g), "n" + std::to_string(n)));
    CHECK(ids.size() == 400);
  }
}

TEST_CASE("check(group_spec) enforces ranges and names the field", "[specs]") {
  group_spec g;
  g.name = "orders";
  REQUIRE(check(g).empty());

  auto fails_with = [](const group_spec& bad, const std::string& field) {
    auto msg = check(bad);
    INFO("message: " << msg);
    CHECK_FALSE(msg.empty());
    CHECK(msg.find(field) != std::string::npos);
  };

  SECTION("name") {
    g.name = "";
    fails_with(g, "name");
    g.name = "bad name";
    fails_with(g, "name");
  }
  SECTION("interval") {
    g.health.interval_ms = 99;
    fails_with(g, "intervalMs");
    g.health.interval_ms = 3600001;
    fails_with(g, "intervalMs");
    g.health.interval_ms = 100;
    g.health.timeout_ms = 99;  // the timeout must stay below the interval
    CHECK(check(g).empty());
    g.health.interval_ms = 3600000;
    CHECK(check(g).empty());
  }
  SECTION("timeout") {
    g.health.timeout_ms = 9;
    fails_with(g, "timeoutMs");
    g.health.timeout_ms = max_check_timeout_ms + 1;
    fails_with(g, "timeoutMs");
    g.health.timeout_ms = 10;
    CHECK(check(g).empty());
    g.health.timeout_ms = g.health.interval_ms;
    fails_with(g, "timeoutMs");
  }
  SECTION("unhealthy_after / healthy_after") {
    g.health.unhealthy_after = 0;
    fails_with(g, "unhealthyAfter");
    g.health.unhealthy_after = 101;
    fails_with(g, "unhealthyAfter");
    g.health.unhealthy_after = 1;
    CHECK(check(g).empty());
    g.health.healthy_after = 0;
    fails_with(g, "healthyAfter");
    g.health.healthy_after = 101;
    fails_with(g, "healthyAfter");
    g.health.healthy_after = 100;
    CHECK(check(g).empty());
  }
  SECTION("retries") {
    g.retries = -1;
    fails_with(g, "retries");
    g.retries = 11;
    fails_with(g, "retries");
    g.retries = 0;
    CHECK(check(g).empty());
    g.retries = 10;
    CHECK(check(g).empty());
  }
  SECTION("connect and response timeouts") {
    g.connect_timeout_ms = 0;
    fails_with(g, "connectTimeoutMs");
    g.connect_timeout_ms = 600001;
    fails_with(g, "connectTimeoutMs");
    g.connect_timeout_ms = 1;
    g.response_timeout_ms = 0;
    fails_with(g, "responseTimeoutMs");
    g.response_timeout_ms = 86400001;
    fails_with(g, "responseTimeoutMs");
    g.response_timeout_ms = 86400000;
    CHECK(check(g).empty());
  }
  SECTION("sticky headers") {
    g.sticky_headers.clear();
    fails_with(g, "stickyHeaders");
    g.sticky_headers.assign(9, "X-A");
    fails_with(g, "stickyHeaders");
    g.sticky_headers = {"X-Ok", "not ok"};
    fails_with(g, "stickyHeaders");
    g.sticky_headers.assign(8, "X-A");
    CHECK(check(g).empty());
  }
}

TEST_CASE("parse_strategy reads the four names and round-trips to_string", "[specs]") {
  for (auto s : {strategy_kind::round_robin, strategy_kind::weighted_round_robin,
                 strategy_kind::least_connections, strategy_kind::sticky_session}) {
    auto parsed = parse_strategy(to_string(s));
    REQUIRE(parsed);
    CHECK(*parsed == s);
  }
  CHECK(parse_strategy("round_robin") == strategy_kind::round_robin);
  CHECK(parse_strategy("sticky_session") == strategy_kind::sticky_session);
  CHECK_FALSE(parse_strategy(""));
  CHECK_FALSE(parse_strategy("Round_Robin"));
  CHECK_FALSE(parse_strategy("round-robin"));
  CHECK_FALSE(parse_strategy("least_connections "));
  CHECK_FALSE(parse_strategy("random"));
}

TEST_CASE("group_spec defaults match the design", "[specs]") {
  group_spec g;
  CHECK(g.strategy == strategy_kind::least_connections);
  CHECK(g.health.interval_ms == 15000);
  CHECK(g.health.timeout_ms == 5000);
  CHECK(g.health.unhealthy_after == 3);
  CHECK(g.health.healthy_after == 1);
}
