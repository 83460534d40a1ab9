#include "actors/spec_json.hpp"

#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <climits>
#include <string>
#include <vector>

using namespace sg;

namespace {

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

std::string group_error(const std::string& text, group_spec& g, uint32_t& set) {
  auto d = parse(text);
  return json::read_group(d, g, set);
}

std::string group_error(const std::string& text) {
  group_spec g;
  uint32_t set = 0;
  return group_error(text, g, set);
}

std::string node_error(const std::string& text, uint32_t allowed = json::nf_all) {
  node_spec n;
  uint32_t set = 0;
  auto d = parse(text);
  return json::read_node(d, n, set, allowed);
}

bool mentions(const std::string& msg, const std::string& what) {
  return msg.find(what) != std::string::npos;
}

}  // namespace

TEST_CASE("read_group: a wrong type names the field", "[spec_json]") {
  struct row {
    const char* body;
    const char* field;
  };
  const row rows[] = {
      {R"({"name": 5})", "name"},
      {R"({"strategy": 1})", "strategy"},
      {R"({"strategy": "fastest"})", "strategy"},
      {R"({"healthCheck": 5})", "healthCheck"},
      {R"({"healthCheck": {"intervalMs": "5"}})", "healthCheck.intervalMs"},
      {R"({"healthCheck": {"timeoutMs": 1.5}})", "healthCheck.timeoutMs"},
      {R"({"healthCheck": {"unhealthyAfter": true}})", "healthCheck.unhealthyAfter"},
      {R"({"healthCheck": {"healthyAfter": null}})", "healthCheck.healthyAfter"},
      {R"({"stickyHeaders": "X-Session-Id"})", "stickyHeaders"},
      {R"({"stickyHeaders": [1]})", "stickyHeaders"},
      {R"({"retries": "2"})", "retries"},
      {R"({"connectTimeoutMs": []})", "connectTimeoutMs"},
      {R"({"responseTimeoutMs": {}})", "responseTimeoutMs"},
      {R"({"maxRequestBytes": -1})", "maxRequestBytes"},
      {R"({"maxRequestBytes": "big"})", "maxRequestBytes"},
  };
  for (auto& r : rows) {
    auto msg = group_error(r.body);
    INFO("body: " << r.body << "  message: " << msg);
    CHECK_FALSE(msg.empty());
    CHECK(mentions(msg, std::string("'") + r.field));
  }
}

TEST_CASE("read_group: out-of-range values name the field", "[spec_json]") {
  CHECK(mentions(group_error(R"({"retries": 11})"), "retries"));
  CHECK(mentions(group_error(R"({"healthCheck": {"intervalMs": 99}})"), "intervalMs"));
  CHECK(mentions(group_error(R"({"healthCheck": {"unhealthyAfter": 0}})"), "unhealthyAfter"));
  CHECK(mentions(group_error(R"({"stickyHeaders": []})"), "stickyHeaders"));
  CHECK(mentions(group_error(R"({"name": "has space"})"), "name"));
}

TEST_CASE("read_group: unknown fields are rejected", "[spec_json]") {
  CHECK(mentions(group_error(R"({"strategyy": "round_robin"})"), "unknown field 'strategyy'"));
  CHECK(mentions(group_error(R"({"healthCheck": {"interval": 1000}})"),
                 "unknown field 'healthCheck.interval'"));
  CHECK_FALSE(group_error("[]").empty());
}

TEST_CASE("read_group: a partial healthCheck sets only its bits", "[spec_json]") {
  group_spec g;
  uint32_t set = 0;
  auto msg = group_error(R"({"healthCheck": {"intervalMs": 2000, "healthyAfter": 2}})", g, set);
  REQUIRE(msg.empty());
  CHECK(set == (json::gf_interval | json::gf_healthy_after));
  CHECK(g.health.interval_ms == 2000);
  CHECK(g.health.healthy_after == 2);

  // Applying onto an existing spec changes exactly those two fields.
  group_spec existing;
  existing.name = "orders";
  existing.health.timeout_ms = 1234;
  existing.health.unhealthy_after = 7;
  auto expected = existing;
  expected.health.interval_ms = 2000;
  expected.health.healthy_after = 2;
  json::apply_group_fields(existing, g, set);
  CHECK(existing == expected);
}

TEST_CASE("read_node: a wrong type names the field", "[spec_json]") {
  struct row {
    const char* body;
    const char* field;
  };
  const row rows[] = {
      {R"({"nodeId": 1})", "nodeId"},
      {R"({"groupName": 1})", "groupName"},
      {R"({"name": false})", "name"},
      {R"({"baseUrl": 8080})", "baseUrl"},
      {R"({"baseUrl": "localhost:8080"})", "baseUrl"},
      {R"({"healthUrl": ["http://h/"]})", "healthUrl"},
      {R"({"weight": "3"})", "weight"},
      {R"({"weight": 0})", "weight"},
      {R"({"weight": 1001})", "weight"},
      {R"({"metadata": "region=eu"})", "metadata"},
      {R"({"adminState": "paused"})", "adminState"},
      {R"({"adminState": 1})", "adminState"},
  };
  for (auto& r : rows) {
    auto msg = node_error(r.body);
    INFO("body: " << r.body << "  message: " << msg);
    CHECK_FALSE(msg.empty());
    CHECK(mentions(msg, std::string("'") + r.field + "'"));
  }
}

TEST_CASE("read_node: unknown fields and fields not allowed here", "[spec_json]") {
  CHECK(mentions(node_error(R"({"baseURL": "http://h/"})"), "unknown field 'baseURL'"));
  SECTION("nf_patch refuses baseUrl") {
    auto msg = node_error(R"({"baseUrl": "http://h:1/"})", json::nf_patch);
    CHECK(mentions(msg, "'baseUrl'"));
    CHECK(mentions(msg, "cannot be set here"));
  }
  SECTION("nf_patch refuses a known field even when its value is also bad") {
    CHECK(mentions(node_error(R"({"name": 5})", json::nf_patch), "cannot be set here"));
  }
  SECTION("nf_patch accepts weight and metadata") {
    node_spec n;
    uint32_t set = 0;
    auto d = parse(R"({"weight": 5, "metadata": {"region": "eu"}})");
    REQUIRE(json::read_node(d, n, set, json::nf_patch).empty());
    CHECK(set == (json::nf_weight | json::nf_metadata));
    CHECK(n.weight == 5);
    CHECK(n.metadata == std::map<std::string, std::string>{{"region", "eu"}});
  }
}

TEST_CASE("read_node: metadata bounds", "[spec_json]") {
  SECTION("non-string value names the key") {
    auto msg = node_error(R"({"metadata": {"zone": 3}})");
    CHECK(mentions(msg, "'metadata.zone'"));
  }
  SECTION("at most 64 entries") {
    auto body = [](int n) {
      std::string s = R"({"metadata": {)";
      for (int i = 0; i < n; ++i) s += (i ? "," : "") + ("\"k" + std::to_string(i) + "\": \"v\"");
      return s + "}}";
    };
    CHECK(node_error(body(64)).empty());
    auto msg = node_error(body(65));
    CHECK(mentions(msg, "'metadata'"));
    CHECK(mentions(msg, "64"));
  }
  SECTION("values up to 1024 characters") {
    auto body = [](size_t n) {
      return R"({"metadata": {"k": ")" + std::string(n, 'v') + "\"}}";
    };
    CHECK(node_error(body(1024)).empty());
    CHECK(mentions(node_error(body(1025)), "'metadata.k'"));
  }
  SECTION("keys of 1 to 128 characters") {
    CHECK_FALSE(node_error(R"({"metadata": {"": "v"}})").empty());
    CHECK(node_error(R"({"metadata": {")" + std::string(128, 'k') + R"(": "v"}})").empty());
    CHECK_FALSE(node_error(R"({"metadata": {")" + std::string(129, 'k') + R"(": "v"}})").empty());
  }
}

TEST_CASE("write then read round-trips group and node specs", "[spec_json]") {
  SECTION("group_spec") {
    group_spec g;
    g.name = "orders.v2";
    g.strategy = strategy_kind::sticky_session;
    g.health.interval_ms = 2500;
    g.health.timeout_ms = 700;
    g.health.unhealthy_after = 5;
    g.health.healthy_after = 2;
    g.health.type = check_type::tcp;
    g.health.path = "/ready?deep=1";
    g.health.expect_status = {{200, 204}, {301, 301}, {418, 418}};
    g.health.expect_body = "\"status\":\"UP\"";
    g.health.deregister_after_ms = 600000;
    g.sticky_headers = {"X-Tenant-Id", "X-Other"};
    g.retries = 4;
    g.connect_timeout_ms = 1500;
    g.response_timeout_ms = 90000;
    g.max_request_bytes = (1ull << 40) + 3;

    rapidjson::StringBuffer buf;
    json::writer w(buf);
    json::write(w, g);
    auto d = parse(buf.GetString());
    group_spec back;
    back.sticky_headers.clear();
    uint32_t set = 0;
    REQUIRE(json::read_group(d, back, set) == "");
    CHECK(set == json::gf_all);
    CHECK(back == g);
  }
  SECTION("node_spec") {
    node_spec n;
    n.group = "orders";
    n.name = "eu-1";
    n.node_id = make_node_id(n.group, n.name);
    n.base_url = "https://10.1.2.3:8443/api";
    n.health_url = "https://10.1.2.3:8443/api/health?deep=1";
    n.weight = 250;
    n.metadata = {{"region", "eastus"}, {"tier", "gold"}, {"quote", "a \"b\" \\ c"}};
    n.admin = admin_state::draining;

    rapidjson::StringBuffer buf;
    json::writer w(buf);
    w.StartObject();
    json::write_members(w, n);
    w.EndObject();
    auto d = parse(buf.GetString());
    node_spec back;
    uint32_t set = 0;
    REQUIRE(json::read_node(d, back, set, json::nf_all) == "");
    CHECK(set == json::nf_all);
    CHECK(back == n);
  }
}

// The journal stores groups in this JSON form and replays them through read_group; a group that
// check() accepted but read_group refuses is skipped on replay, i.e. lost at the next restart.
TEST_CASE("read_group accepts every group that check() accepts", "[spec_json]") {
  group_spec g;
  g.name = "orders";
  g.health.interval_ms = 3600000;
  g.health.timeout_ms = max_check_timeout_ms;  // the largest value check() accepts
  g.health.path = "/" + std::string(max_check_path - 1, 'p');
  g.health.expect_body = std::string(max_expect_body, 'b');
  g.health.expect_status.assign(max_status_ranges, status_range{100, 599});
  g.health.deregister_after_ms = INT32_MAX;
  REQUIRE(check(g).empty());
  g.health.timeout_ms = max_check_timeout_ms + 1;
  CHECK_FALSE(check(g).empty());
  g.health.timeout_ms = max_check_timeout_ms;

  rapidjson::StringBuffer buf;
  json::writer w(buf);
  json::write(w, g);
  auto d = parse(buf.GetString());
  group_spec back;
  uint32_t set = 0;
  CHECK(json::read_group(d, back, set) == "");
  CHECK(back == g);
}

TEST_CASE("read_group: the deeper health check fields", "[spec_json]") {
  group_spec g;
  uint32_t set = 0;
  REQUIRE(group_error(R"({"healthCheck": {"type": "tcp", "path": "/ready",
      "expectStatus": [200, "300-399"], "expectBody": "UP", "deregisterAfterMs": 60000}})",
                      g, set) == "");
  CHECK(g.health.type == check_type::tcp);
  CHECK(g.health.path == "/ready");
  CHECK(g.health.expect_status == std::vector<status_range>{{200, 200}, {300, 399}});
  CHECK(g.health.expect_body == "UP");
  CHECK(g.health.deregister_after_ms == 60000);
  CHECK(set == (json::gf_check_type | json::gf_check_path | json::gf_expect_status |
                json::gf_expect_body | json::gf_deregister_after));

  CHECK(mentions(group_error(R"({"healthCheck": {"type": "udp"}})"), "healthCheck.type"));
  CHECK(mentions(group_error(R"({"healthCheck": {"path": 7}})"), "healthCheck.path"));
  CHECK(
      mentions(group_error(R"({"healthCheck": {"expectBody": false}})"), "healthCheck.expectBody"));
  for (auto bad : {R"([])", R"(200)", R"(["2xx"])", R"(["200-"])", R"(["399-300"])", R"([99])",
                   R"([600])", R"(["200-600"])", R"([200.5])", R"([null])"})
    CHECK(mentions(group_error(std::string(R"({"healthCheck": {"expectStatus": )") + bad + "}}"),
                   "healthCheck.expectStatus"));
  CHECK(mentions(group_error(R"({"healthCheck": {"deregisterAfterMs": -1}})"),
                 "healthCheck.deregisterAfterMs"));
}

TEST_CASE("check: the health check's cross-field rules", "[spec_json]") {
  health_settings h;
  REQUIRE(check(h).empty());
  h.timeout_ms = h.interval_ms;
  CHECK(mentions(check(h), "must be below healthCheck.intervalMs"));
  h = {};
  h.path = "ready";
  CHECK(mentions(check(h), "healthCheck.path"));
  h.path = "/has space";
  CHECK(mentions(check(h), "healthCheck.path"));
  h.path = "/ok?x=1";
  CHECK(check(h).empty());
  h = {};
  h.deregister_after_ms = 999;
  CHECK(mentions(check(h), "deregisterAfterMs"));
  h.deregister_after_ms = 1000;
  CHECK(check(h).empty());
  h = {};
  h.expect_body = std::string(max_expect_body + 1, 'x');
  CHECK(mentions(check(h), "expectBody"));
  h = {};
  h.expect_status.clear();
  CHECK(mentions(check(h), "expectStatus"));
}

TEST_CASE("apply_group_fields: a shorter interval without a timeout halves into it",
          "[spec_json]") {
  group_spec g;  // 15000 / 5000
  group_spec fields;
  uint32_t set = 0;
  REQUIRE(group_error(R"({"healthCheck": {"intervalMs": 1000}})", fields, set) == "");
  json::apply_group_fields(g, fields, set);
  CHECK(g.health.interval_ms == 1000);
  CHECK(g.health.timeout_ms == 500);
  CHECK(check(g.health).empty());
  // A timeout that is already below the new interval stays.
  group_spec h;
  h.health.timeout_ms = 300;
  json::apply_group_fields(h, fields, set);
  CHECK(h.health.timeout_ms == 300);
  // A timeout the request names is taken as given, and check() refuses it.
  fields = {};
  set = 0;
  REQUIRE(group_error(R"({"healthCheck": {"intervalMs": 1000, "timeoutMs": 2000}})", fields, set) ==
          "");
  group_spec k;
  json::apply_group_fields(k, fields, set);
  CHECK(k.health.timeout_ms == 2000);
  CHECK_FALSE(check(k.health).empty());
}
