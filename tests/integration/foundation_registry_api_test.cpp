// Foundation: the admin API's happy paths against the real sgd binary — registration (upsert,
// defaults, health-checked status), group CRUD, node CRUD, drain/activate, ping and controller
// drain.
#include "tests/support/admin_helpers.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/sgd_process.hpp"
#include "tests/support/test_node.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>

namespace {

using namespace sg::test;
using namespace std::chrono_literals;

bool has(const rapidjson::Value& v, const char* k) { return v.IsObject() && v.HasMember(k); }

std::string str_of(const rapidjson::Value& v, const char* k) {
  if (!v.IsObject()) return "<not an object>";
  auto it = v.FindMember(k);
  if (it == v.MemberEnd()) return "<missing>";
  if (!it->value.IsString()) return "<not a string: " + to_text(it->value) + ">";
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

long long int_of(const rapidjson::Value& v, const char* k) {
  if (!v.IsObject()) return -999999;
  auto it = v.FindMember(k);
  if (it == v.MemberEnd() || !it->value.IsInt64()) return -999999;
  return it->value.GetInt64();
}

// The body as a JSON object (REQUIREs it).
rapidjson::Document obj(const http_result& r) {
  INFO("status " << r.status << " error '" << r.error << "' body: " << r.body);
  auto d = json(r);
  REQUIRE_FALSE(d.HasParseError());
  REQUIRE(d.IsObject());
  return d;
}

const rapidjson::Value* find_group(const rapidjson::Document& list, const std::string& name) {
  if (!list.IsObject() || !list.HasMember("groups") || !list["groups"].IsArray()) return nullptr;
  for (auto& g : list["groups"].GetArray())
    if (str_of(g, "name") == name) return &g;
  return nullptr;
}

}  // namespace

TEST_CASE("foundation: registering a node answers 201 healthy, again 200 with the same nodeId",
          "[foundation]") {
  test_node_process node("ai-node-01");
  sgd_instance sgd(quick_sgd());
  const std::string base = node.base_url();

  auto r = sgd.admin(
      "POST", "/api/server-groups/inference-cluster/nodes",
      registration_body("ai-node-01", base,
                        "\"weight\":5,\"metadata\":{\"gpu\":\"A100\",\"region\":\"eastus\"}"));
  REQUIRE(r.status == 201);
  auto n = obj(r);
  INFO(r.body);
  const std::string id = str_of(n, "nodeId");
  CHECK_FALSE(id.empty());
  CHECK(id.front() != '<');
  CHECK(str_of(n, "groupName") == "inference-cluster");
  CHECK(str_of(n, "name") == "ai-node-01");
  CHECK(str_of(n, "status") == "healthy");
  CHECK(str_of(n, "baseUrl") == base);
  CHECK(str_of(n, "healthUrl") == base + "/health");  // default: baseUrl + "/health"
  CHECK(int_of(n, "weight") == 5);
  REQUIRE(has(n, "metadata"));
  CHECK(to_text(n["metadata"]) == R"({"gpu":"A100","region":"eastus"})");
  CHECK(int_of(n, "consecutiveFailures") == 0);
  CHECK(int_of(n, "inFlight") == 0);
  REQUIRE(has(n, "lastCheck"));
  CHECK(n["lastCheck"].IsObject());  // the first check ran before the answer

  // The group was created with defaults.
  auto g = sgd.admin("GET", "/api/server-groups/inference-cluster");
  REQUIRE(g.status == 200);
  auto gd = obj(g);
  CHECK(str_of(gd, "strategy") == "least_connections");

  // Same name again: an update, 200, same nodeId, new values.
  r = sgd.admin(
      "POST", "/api/server-groups/inference-cluster/nodes",
      registration_body("ai-node-01", base, "\"weight\":7,\"metadata\":{\"gpu\":\"H100\"}"));
  REQUIRE(r.status == 200);
  auto n2 = obj(r);
  CHECK(str_of(n2, "nodeId") == id);
  CHECK(int_of(n2, "weight") == 7);
  CHECK(to_text(n2["metadata"]) == R"({"gpu":"H100"})");

  auto list = sgd.admin("GET", "/api/server-groups/inference-cluster/nodes");
  REQUIRE(list.status == 200);
  auto ld = obj(list);
  REQUIRE(ld.HasMember("nodes"));
  REQUIRE(ld["nodes"].IsArray());
  CHECK(ld["nodes"].Size() == 1);  // one node, not two

  // Weight defaults to 1, metadata to {}; an explicit healthUrl is kept. A node whose health
  // URL does not answer registers anyway, as unhealthy.
  r = sgd.admin("POST", "/api/server-groups/inference-cluster/nodes",
                registration_body("closed-port", "http://127.0.0.1:1/v1",
                                  "\"healthUrl\":\"http://127.0.0.1:1/custom/health\""));
  REQUIRE(r.status == 201);
  auto n3 = obj(r);
  CHECK(int_of(n3, "weight") == 1);
  CHECK(to_text(n3["metadata"]) == "{}");
  CHECK(str_of(n3, "healthUrl") == "http://127.0.0.1:1/custom/health");
  CHECK(str_of(n3, "status") == "unhealthy");
  CHECK(str_of(n3, "nodeId") != id);

  r = sgd.admin("POST", "/api/server-groups/inference-cluster/nodes",
                registration_body("closed-default", "http://127.0.0.1:1/v1"));
  REQUIRE(r.status == 201);
  CHECK(str_of(obj(r), "healthUrl") == "http://127.0.0.1:1/v1/health");

  // Weight bounds are inclusive; a name of 128 characters is fine.
  const std::string long_name(128, 'n');
  r = sgd.admin("POST", "/api/server-groups/inference-cluster/nodes",
                registration_body(long_name, "http://127.0.0.1:1", "\"weight\":1000"));
  REQUIRE(r.status == 201);
  CHECK(int_of(obj(r), "weight") == 1000);
  CHECK(str_of(obj(r), "name") == long_name);

  // The same name in another group is another node.
  r = sgd.admin("POST", "/api/server-groups/other.group_1/nodes",
                registration_body("ai-node-01", base));
  REQUIRE(r.status == 201);
  CHECK(str_of(obj(r), "nodeId") != id);
  CHECK(str_of(obj(r), "groupName") == "other.group_1");
}

TEST_CASE("foundation: group CRUD: PUT creates then updates keeping omitted fields, DELETE needs force",
          "[foundation]") {
  test_node_process node("crud-node");
  sgd_instance sgd(quick_sgd());

  auto list = sgd.admin("GET", "/api/server-groups");
  REQUIRE(list.status == 200);
  {
    auto d = obj(list);
    REQUIRE(d.HasMember("groups"));
    REQUIRE(d["groups"].IsArray());
    CHECK(d["groups"].Size() == 0);
  }

  auto r = sgd.admin("PUT", "/api/server-groups/g1", R"({"strategy":"round_robin"})");
  REQUIRE(r.status == 201);
  {
    auto d = obj(r);
    CHECK(str_of(d, "name") == "g1");
    CHECK(str_of(d, "strategy") == "round_robin");
    REQUIRE(has(d, "healthCheck"));
    CHECK(int_of(d["healthCheck"], "intervalMs") == 15000);
    CHECK(int_of(d["healthCheck"], "timeoutMs") == 5000);
    CHECK(int_of(d["healthCheck"], "unhealthyAfter") == 3);
    CHECK(int_of(d["healthCheck"], "healthyAfter") == 1);
  }
  r = sgd.admin("PUT", "/api/server-groups/g1", R"({"healthCheck":{"intervalMs":8000}})");
  REQUIRE(r.status == 200);
  {
    auto d = obj(r);
    CHECK(str_of(d, "strategy") == "round_robin");  // kept
    CHECK(int_of(d["healthCheck"], "intervalMs") == 8000);
    CHECK(int_of(d["healthCheck"], "timeoutMs") == 5000);  // kept: still below the interval
  }
  r = sgd.admin("PUT", "/api/server-groups/g1",
                R"({"healthCheck":{"timeoutMs":700,"unhealthyAfter":4,"healthyAfter":2}})");
  REQUIRE(r.status == 200);
  {
    auto d = obj(r);
    CHECK(str_of(d, "strategy") == "round_robin");
    CHECK(int_of(d["healthCheck"], "intervalMs") == 8000);
    CHECK(int_of(d["healthCheck"], "timeoutMs") == 700);
    CHECK(int_of(d["healthCheck"], "unhealthyAfter") == 4);
    CHECK(int_of(d["healthCheck"], "healthyAfter") == 2);
  }
  for (const char* s : {"weighted_round_robin", "sticky_session", "least_connections", "round_robin"}) {
    r = sgd.admin("PUT", "/api/server-groups/g1", std::string("{\"strategy\":\"") + s + "\"}");
    REQUIRE(r.status == 200);
    CHECK(str_of(obj(r), "strategy") == s);
    CHECK(str_of(obj(sgd.admin("GET", "/api/server-groups/g1")), "strategy") == s);
  }
  // Every setting is still there on a plain GET.
  {
    auto d = obj(sgd.admin("GET", "/api/server-groups/g1"));
    CHECK(int_of(d["healthCheck"], "intervalMs") == 8000);
    CHECK(int_of(d["healthCheck"], "timeoutMs") == 700);
    CHECK(int_of(d["healthCheck"], "unhealthyAfter") == 4);
    CHECK(int_of(d["healthCheck"], "healthyAfter") == 2);
  }

  // Nodes: one healthy, one unhealthy, then one draining; the list counts them by status.
  r = sgd.admin("PUT", "/api/server-groups/g1",
                R"({"healthCheck":{"intervalMs":200,"timeoutMs":100,"healthyAfter":1}})");
  REQUIRE(r.status == 200);
  r = sgd.admin("POST", "/api/server-groups/g1/nodes", registration_body("up", node.base_url()));
  REQUIRE(r.status == 201);
  {
    INFO(r.body);
    CHECK(str_of(obj(r), "status") == "healthy");
  }
  r = sgd.admin("POST", "/api/server-groups/g1/nodes",
                registration_body("down", "http://127.0.0.1:1"));
  REQUIRE(r.status == 201);
  CHECK(str_of(obj(r), "status") == "unhealthy");
  r = sgd.admin("POST", "/api/server-groups/g1/nodes",
                registration_body("drained", node.base_url()));
  REQUIRE(r.status == 201);
  const std::string drained_id = str_of(obj(r), "nodeId");
  REQUIRE(sgd.admin("POST", "/api/server-groups/g1/nodes/" + drained_id + "/drain").status == 200);

  std::string last;
  bool counted = wait_until(
      [&] {
        auto l = sgd.admin("GET", "/api/server-groups");
        last = l.body;
        auto d = json(l);
        auto* g = find_group(d, "g1");
        if (!g || !has(*g, "nodeCounts")) return false;
        auto& c = (*g)["nodeCounts"];
        return str_of(*g, "strategy") == "round_robin" && int_of(c, "healthy") == 1 &&
               int_of(c, "unhealthy") == 1 && int_of(c, "draining") == 1 &&
               int_of(c, "degraded") == 0;
      },
      5s);
  INFO("last list: " << last);
  CHECK(counted);
  {
    auto d = obj(sgd.admin("GET", "/api/server-groups/g1"));
    REQUIRE(has(d, "nodes"));
    CHECK(d["nodes"].Size() == 3);
  }

  // Empty PUT body on an existing group changes nothing.
  r = sgd.admin("PUT", "/api/server-groups/g1", "");
  REQUIRE(r.status == 200);
  CHECK(str_of(obj(r), "strategy") == "round_robin");

  // A group with nodes is only deleted with ?force=true.
  r = sgd.admin("DELETE", "/api/server-groups/g1");
  CHECK(error_problem(r, 409) == "");
  REQUIRE(sgd.admin("GET", "/api/server-groups/g1").status == 200);
  CHECK(obj(sgd.admin("GET", "/api/server-groups/g1/nodes"))["nodes"].Size() == 3);
  r = sgd.admin("DELETE", "/api/server-groups/g1?force=true");
  CHECK(r.status == 204);
  CHECK(error_problem(sgd.admin("GET", "/api/server-groups/g1"), 404) == "");
  CHECK(error_problem(sgd.admin("GET", "/api/server-groups/g1/nodes"), 404) == "");
  CHECK(error_problem(sgd.admin("GET", "/api/server-groups/g1/nodes/" + drained_id), 404) == "");
  CHECK(find_group(json(sgd.admin("GET", "/api/server-groups")), "g1") == nullptr);

  // An empty group is deleted without force; an unknown one is 404.
  REQUIRE(sgd.admin("PUT", "/api/server-groups/empty-one", "").status == 201);
  {
    auto d = json(sgd.admin("GET", "/api/server-groups"));
    auto* g = find_group(d, "empty-one");
    REQUIRE(g != nullptr);
    CHECK(str_of(*g, "strategy") == "least_connections");
    CHECK(int_of((*g)["nodeCounts"], "total") == 0);
  }
  CHECK(sgd.admin("DELETE", "/api/server-groups/empty-one").status == 204);
  CHECK(error_problem(sgd.admin("DELETE", "/api/server-groups/empty-one"), 404) == "");
  CHECK(error_problem(sgd.admin("DELETE", "/api/server-groups/never-was"), 404) == "");
}

TEST_CASE("foundation: node CRUD: list, get, patch, drain, activate, delete", "[foundation]") {
  test_node_process node("node-crud");
  sgd_instance sgd(quick_sgd());
  REQUIRE(sgd.admin("PUT", "/api/server-groups/pool",
                    R"({"healthCheck":{"intervalMs":200,"timeoutMs":100}})").status == 201);
  auto r =
      sgd.admin("POST", "/api/server-groups/pool/nodes",
                registration_body("a", node.base_url(), R"("weight":2,"metadata":{"zone":"z1"})"));
  REQUIRE(r.status == 201);
  const std::string a = str_of(obj(r), "nodeId");
  r = sgd.admin("POST", "/api/server-groups/pool/nodes",
                registration_body("b", "http://127.0.0.1:1"));
  REQUIRE(r.status == 201);
  const std::string b = str_of(obj(r), "nodeId");

  auto list = obj(sgd.admin("GET", "/api/server-groups/pool/nodes"));
  REQUIRE(list["nodes"].IsArray());
  REQUIRE(list["nodes"].Size() == 2);
  for (auto& n : list["nodes"].GetArray()) {
    INFO(to_text(n));
    for (const char* k : {"nodeId", "groupName", "name", "baseUrl", "healthUrl", "weight",
                          "metadata", "status", "consecutiveFailures", "inFlight", "lastCheck"})
      CHECK(has(n, k));
    CHECK(str_of(n, "groupName") == "pool");
  }

  auto got = obj(sgd.admin("GET", "/api/server-groups/pool/nodes/" + a));
  CHECK(str_of(got, "nodeId") == a);
  CHECK(str_of(got, "name") == "a");
  CHECK(int_of(got, "weight") == 2);
  CHECK(to_text(got["metadata"]) == R"({"zone":"z1"})");
  CHECK(str_of(got, "status") == "healthy");

  // PATCH weight + metadata; then weight alone keeps the metadata.
  r = sgd.admin("PATCH", "/api/server-groups/pool/nodes/" + a,
                R"({"weight":42,"metadata":{"tier":"gold","zone":"z2"}})");
  REQUIRE(r.status == 200);
  {
    auto d = obj(r);
    CHECK(int_of(d, "weight") == 42);
    CHECK(to_text(d["metadata"]) == R"({"tier":"gold","zone":"z2"})");
    CHECK(str_of(d, "baseUrl") == node.base_url());
    CHECK(str_of(d, "nodeId") == a);
  }
  REQUIRE(sgd.admin("PATCH", "/api/server-groups/pool/nodes/" + a, R"({"weight":3})").status == 200);
  got = obj(sgd.admin("GET", "/api/server-groups/pool/nodes/" + a));
  CHECK(int_of(got, "weight") == 3);
  CHECK(to_text(got["metadata"]) == R"({"tier":"gold","zone":"z2"})");

  // Drain and activate.
  r = sgd.admin("POST", "/api/server-groups/pool/nodes/" + a + "/drain");
  REQUIRE(r.status == 200);
  CHECK(str_of(obj(r), "status") == "draining");
  CHECK(str_of(obj(sgd.admin("GET", "/api/server-groups/pool/nodes/" + a)), "status") == "draining");
  // Health checks keep passing (interval 200 ms), the node stays draining.
  auto first_check = to_text(obj(sgd.admin("GET", "/api/server-groups/pool/nodes/" + a))["lastCheck"]);
  CHECK(wait_until(
      [&] {
        return to_text(obj(sgd.admin("GET", "/api/server-groups/pool/nodes/" + a))["lastCheck"]) !=
               first_check;
      },
      3s));
  CHECK(str_of(obj(sgd.admin("GET", "/api/server-groups/pool/nodes/" + a)), "status") == "draining");
  // Registering the same node again does not undo an operator's drain.
  r = sgd.admin("POST", "/api/server-groups/pool/nodes", registration_body("a", node.base_url()));
  REQUIRE(r.status == 200);
  CHECK(str_of(obj(r), "status") == "draining");

  r = sgd.admin("POST", "/api/server-groups/pool/nodes/" + a + "/activate");
  REQUIRE(r.status == 200);
  CHECK(str_of(obj(r), "status") != "draining");
  CHECK(wait_until(
      [&] {
        return str_of(obj(sgd.admin("GET", "/api/server-groups/pool/nodes/" + a)), "status") ==
               "healthy";
      },
      3s));

  // Delete: 204, then 404 everywhere.
  r = sgd.admin("DELETE", "/api/server-groups/pool/nodes/" + b);
  CHECK(r.status == 204);
  CHECK(error_problem(sgd.admin("GET", "/api/server-groups/pool/nodes/" + b), 404) == "");
  CHECK(error_problem(sgd.admin("DELETE", "/api/server-groups/pool/nodes/" + b), 404) == "");
  CHECK(error_problem(sgd.admin("POST", "/api/server-groups/pool/nodes/" + b + "/drain"), 404) == "");
  CHECK(error_problem(sgd.admin("PATCH", "/api/server-groups/pool/nodes/" + b, R"({"weight":2})"), 404) == "");
  list = obj(sgd.admin("GET", "/api/server-groups/pool/nodes"));
  REQUIRE(list["nodes"].Size() == 1);
  CHECK(str_of(list["nodes"][0], "nodeId") == a);
}

TEST_CASE("foundation: ping answers 200 online, 418 while the controller drains", "[foundation]") {
  auto opts = quick_sgd();
  opts.extra_args.insert(opts.extra_args.end(), {"--controller-id", "ctl-ping-1"});
  sgd_instance sgd(opts);

  auto ping = [&] { return sgd.admin("GET", "/api/octopusservernodes/ping"); };
  auto r = ping();
  REQUIRE(r.status == 200);
  {
    auto d = obj(r);
    CHECK(str_of(d, "controllerId") == "ctl-ping-1");
    CHECK(str_of(d, "status") == "online");
  }
  r = sgd.admin("POST", "/api/controller/drain");
  REQUIRE(r.status == 200);
  r = ping();
  CHECK(r.status == 418);
  CHECK(str_of(obj(r), "controllerId") == "ctl-ping-1");
  CHECK(str_of(obj(r), "status") != "online");
  // The admin API keeps working while draining.
  CHECK(sgd.admin("GET", "/api/server-groups").status == 200);

  r = sgd.admin("POST", "/api/controller/activate");
  REQUIRE(r.status == 200);
  r = ping();
  CHECK(r.status == 200);
  CHECK(str_of(obj(r), "status") == "online");

  r = sgd.admin("GET", "/api/controller/drain");
  CHECK(error_problem(r, 405) == "");
  CHECK(r.header("Allow").find("POST") != std::string::npos);
}

// The design's state table: "Healthy — entered by a registration whose first probe passes";
// healthyAfter only governs re-admission of an unhealthy node.
TEST_CASE("foundation: a registration whose first check passes is healthy even with healthyAfter 2",
          "[foundation]") {
  test_node_process node("ha2-node");
  sgd_instance sgd(quick_sgd());
  REQUIRE(sgd.admin("PUT", "/api/server-groups/ha2",
                    R"({"healthCheck":{"intervalMs":5000,"timeoutMs":1000,"healthyAfter":2}})")
              .status == 201);
  auto r =
      sgd.admin("POST", "/api/server-groups/ha2/nodes", registration_body("n", node.base_url()));
  REQUIRE(r.status == 201);
  INFO(r.body);
  CHECK(str_of(obj(r), "status") == "healthy");
}
