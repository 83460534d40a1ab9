// Foundation: bad input against the real sgd binary — every bad request gets a 4xx with a JSON
// error naming the field or offset, changes nothing, never a 500 or a crash; malformed HTTP and
// stalled clients do not hurt other callers.
#include "tests/support/admin_helpers.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/sgd_process.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace sg::test;
using namespace std::chrono_literals;

// The registry as the API shows it: the group list plus every group with its nodes.
std::string registry_text(const sgd_instance& sgd) {
  auto list = sgd.admin("GET", "/api/server-groups");
  auto d = json(list);
  if (list.status != 200 || d.HasParseError() || !d.IsObject() || !d.HasMember("groups"))
    return "<list failed: " + std::to_string(list.status) + " " + list.body + ">";
  std::string out = canon(d) + "\n";
  std::vector<std::string> names;
  for (auto& g : d["groups"].GetArray()) names.emplace_back(g["name"].GetString());
  std::sort(names.begin(), names.end());
  for (auto& n : names) {
    auto g = sgd.admin("GET", "/api/server-groups/" + n);
    auto gd = json(g);
    out += n + ": " + (gd.HasParseError() ? "<" + g.body + ">" : canon(gd)) + "\n";
  }
  return out;
}

struct bad_call {
  std::string method, target, body;
  int status;
  std::string needle;  // must appear in error.message ("" = any)
};

}  // namespace

TEST_CASE("foundation: bad input gets a 4xx JSON error naming the problem and changes nothing",
          "[foundation]") {
  sgd_instance sgd(quick_sgd());
  // Some state to protect.
  REQUIRE(sgd.admin("PUT", "/api/server-groups/g",
                    R"({"strategy":"round_robin","healthCheck":{"intervalMs":5000,"timeoutMs":100}})")
              .status == 201);
  auto reg = sgd.admin("POST", "/api/server-groups/g/nodes",
                       R"({"name":"n1","baseUrl":"http://127.0.0.1:1","weight":5,"metadata":{"a":"b"}})");
  REQUIRE(reg.status == 201);
  const std::string id = json(reg)["nodeId"].GetString();
  const std::string node = "/api/server-groups/g/nodes/" + id;
  const std::string before = registry_text(sgd);
  REQUIRE(before.find("<") == std::string::npos);

  const std::string nodes = "/api/server-groups/g/nodes";
  const std::string ok_head = R"("name":"x","baseUrl":"http://127.0.0.1:1")";
  auto with = [&](const std::string& extra) { return "{" + ok_head + "," + extra + "}"; };
  const std::string long_name(129, 'a');

  std::vector<bad_call> calls = {
      // malformed JSON: the message names the offset
      {"POST", nodes, "{", 400, "offset"},
      {"POST", nodes, R"({"name":"x","baseUrl":"http://127.0.0.1:1",})", 400, "offset"},
      {"POST", nodes, R"({"name":"x" "baseUrl":1})", 400, "offset"},
      {"POST", nodes, "nul", 400, "offset"},
      {"POST", nodes, "[]", 400, ""},
      {"POST", nodes, "\"text\"", 400, ""},
      {"PUT", "/api/server-groups/g", "{\"strategy\":", 400, "offset"},
      {"PATCH", node, "{weight:3}", 400, "offset"},
      // wrong types
      {"POST", nodes, with(R"("weight":"5")"), 400, "weight"},
      {"POST", nodes, with(R"("weight":2.5)"), 400, "weight"},
      {"POST", nodes, with(R"("weight":null)"), 400, "weight"},
      {"POST", nodes, with(R"("metadata":{"k":5})"), 400, "metadata"},
      {"POST", nodes, with(R"("metadata":{"k":null})"), 400, "metadata"},
      {"POST", nodes, with(R"("metadata":"k=v")"), 400, "metadata"},
      {"POST", nodes, with(R"("metadata":["k"])"), 400, "metadata"},
      {"POST", nodes, R"({"name":5,"baseUrl":"http://127.0.0.1:1"})", 400, "name"},
      {"POST", nodes, R"({"name":"x","baseUrl":7})", 400, "baseUrl"},
      {"POST", nodes, with(R"("healthUrl":true)"), 400, "healthUrl"},
      // missing required fields
      {"POST", nodes, R"({"baseUrl":"http://127.0.0.1:1"})", 400, "name"},
      {"POST", nodes, R"({"name":"x"})", 400, "baseUrl"},
      {"POST", nodes, "{}", 400, ""},
      {"POST", nodes, "", 400, ""},
      // baseUrl / healthUrl not absolute http(s)
      {"POST", nodes, R"({"name":"x","baseUrl":"ftp://x"})", 400, "baseUrl"},
      {"POST", nodes, R"({"name":"x","baseUrl":"/relative"})", 400, "baseUrl"},
      {"POST", nodes, R"({"name":"x","baseUrl":"http://"})", 400, "baseUrl"},
      {"POST", nodes, R"({"name":"x","baseUrl":"127.0.0.1:8080"})", 400, "baseUrl"},
      {"POST", nodes, R"({"name":"x","baseUrl":""})", 400, "baseUrl"},
      {"POST", nodes, with(R"("healthUrl":"ftp://x/health")"), 400, "healthUrl"},
      {"POST", nodes, with(R"("healthUrl":"/health")"), 400, "healthUrl"},
      // names outside [A-Za-z0-9._-]{1,128}
      {"POST", nodes, R"({"name":"bad name","baseUrl":"http://127.0.0.1:1"})", 400, "name"},
      {"POST", nodes, R"({"name":"","baseUrl":"http://127.0.0.1:1"})", 400, "name"},
      {"POST", nodes, R"({"name":"a/b","baseUrl":"http://127.0.0.1:1"})", 400, "name"},
      {"POST", nodes, R"({"name":"caf\u00e9","baseUrl":"http://127.0.0.1:1"})", 400, "name"},
      {"POST", nodes, "{\"name\":\"" + long_name + "\",\"baseUrl\":\"http://127.0.0.1:1\"}", 400, "name"},
      {"POST", "/api/server-groups/bad*group/nodes", with("\"weight\":1"), 400, "name"},
      {"POST", "/api/server-groups/bad%20group/nodes", with("\"weight\":1"), 400, "name"},
      {"POST", "/api/server-groups/" + long_name + "/nodes", with("\"weight\":1"), 400, "name"},
      {"PUT", "/api/server-groups/bad$group", R"({"strategy":"round_robin"})", 400, "name"},
      {"GET", "/api/server-groups/g/nodes/bad*id", "", 400, "id"},
      // weight out of range
      {"POST", nodes, with(R"("weight":0)"), 400, "weight"},
      {"POST", nodes, with(R"("weight":1001)"), 400, "weight"},
      {"POST", nodes, with(R"("weight":-1)"), 400, "weight"},
      {"POST", nodes, with(R"("weight":4294967297)"), 400, "weight"},
      // unknown fields
      {"POST", nodes, with(R"("color":"red")"), 400, "color"},
      {"PUT", "/api/server-groups/g", R"({"strategy":"round_robin","color":1})", 400, "color"},
      {"PUT", "/api/server-groups/g", R"({"healthCheck":{"bogus":1}})", 400, "bogus"},
      {"PATCH", node, R"({"weight":3,"color":1})", 400, "color"},
      // group settings
      {"PUT", "/api/server-groups/g", R"({"strategy":"random"})", 400, "strategy"},
      {"PUT", "/api/server-groups/g", R"({"strategy":5})", 400, "strategy"},
      {"PUT", "/api/server-groups/g", R"({"healthCheck":5})", 400, "healthCheck"},
      {"PUT", "/api/server-groups/g", R"({"healthCheck":{"intervalMs":"fast"}})", 400, "intervalMs"},
      {"PUT", "/api/server-groups/g", R"({"healthCheck":{"intervalMs":1}})", 400, "intervalMs"},
      {"PUT", "/api/server-groups/g", R"({"healthCheck":{"timeoutMs":0}})", 400, "timeoutMs"},
      {"PUT", "/api/server-groups/g", R"({"healthCheck":{"unhealthyAfter":0}})", 400, "unhealthyAfter"},
      {"PUT", "/api/server-groups/g", R"({"healthCheck":{"healthyAfter":-3}})", 400, "healthyAfter"},
      {"PUT", "/api/server-groups/g", R"({"name":"other"})", 400, "name"},
      {"PUT", "/api/server-groups/g", "[1,2]", 400, ""},
      {"PUT", "/api/server-groups/fresh", R"({"strategy":"nope"})", 400, "strategy"},
      // node PATCH: weight and metadata only
      {"PATCH", node, R"({"weight":0})", 400, "weight"},
      {"PATCH", node, R"({"weight":1001})", 400, "weight"},
      {"PATCH", node, R"({"weight":"5"})", 400, "weight"},
      {"PATCH", node, R"({"metadata":{"k":5}})", 400, "metadata"},
      {"PATCH", node, R"({"name":"renamed"})", 400, "name"},
      {"PATCH", node, R"({"baseUrl":"http://127.0.0.1:2"})", 400, "baseUrl"},
      {"PATCH", node, "", 400, ""},
      // unknown group or node
      {"GET", "/api/server-groups/nope", "", 404, ""},
      {"GET", "/api/server-groups/nope/nodes", "", 404, ""},
      {"DELETE", "/api/server-groups/nope", "", 404, ""},
      {"GET", "/api/server-groups/nope/nodes/" + id, "", 404, ""},
      {"GET", "/api/server-groups/g/nodes/node-0000000000000000", "", 404, ""},
      {"PATCH", "/api/server-groups/g/nodes/node-0000000000000000", R"({"weight":2})", 404, ""},
      {"DELETE", "/api/server-groups/g/nodes/node-0000000000000000", "", 404, ""},
      {"POST", "/api/server-groups/g/nodes/node-0000000000000000/drain", "", 404, ""},
      {"POST", "/api/server-groups/g/nodes/node-0000000000000000/activate", "", 404, ""},
      {"GET", "/api/server-groups/g/nodes/" + id + "/nope", "", 404, ""},
      {"GET", "/api/server-groups/g/widgets", "", 404, ""},
      {"GET", "/api/nothing-here", "", 404, ""},
  };

  // Wrong methods: 405 with an Allow header.
  struct bad_method {
    std::string method, target, allow_has;
  };
  std::vector<bad_method> methods = {
      {"DELETE", "/api/server-groups", "GET"},
      {"POST", "/api/server-groups", "GET"},
      {"POST", "/api/server-groups/g", "PUT"},
      {"PATCH", "/api/server-groups/g", "DELETE"},
      {"PUT", nodes, "POST"},
      {"DELETE", nodes, "GET"},
      {"POST", node, "PATCH"},
      {"PUT", node, "DELETE"},
      {"GET", node + "/drain", "POST"},
      {"DELETE", node + "/activate", "POST"},
      {"POST", "/api/octopusservernodes/ping", "GET"},
      {"DELETE", "/api/controller/activate", "POST"},
  };

  std::vector<int> statuses;
  for (auto& c : calls) {
    auto r = sgd.admin(c.method, c.target, c.body);
    statuses.push_back(r.status);
    INFO(c.method << " " << c.target.substr(0, 80) << " " << c.body.substr(0, 120));
    CHECK(error_problem(r, c.status, c.needle) == "");
  }
  for (auto& m : methods) {
    auto r = sgd.admin(m.method, m.target, "");
    statuses.push_back(r.status);
    INFO(m.method << " " << m.target);
    CHECK(error_problem(r, 405) == "");
    CHECK(r.header("Allow").find(m.allow_has) != std::string::npos);
  }

  // Just under 1 MiB (whitespace padding, an unknown field): parsed, a 400 naming the field.
  // A chunked body over 1 MiB: 413.
  const std::size_t mib = 1u << 20;
  {
    std::string padded = with("\"color\":\"red\"");
    padded += std::string(mib - 64 - padded.size(), ' ');
    auto r = sgd.admin("POST", nodes, padded);
    statuses.push_back(r.status);
    CHECK(error_problem(r, 400, "color") == "");
    auto up = upload(sgd.admin_port(), nodes, 2 * mib, {{"Content-Type", "application/json"}}, 10s,
                     /*chunked=*/true);
    INFO("chunked upload error: " << up.error << " body " << up.body.substr(0, 200));
    statuses.push_back(up.status);
    CHECK(up.status == 413);
  }

  for (int s : statuses) {
    CHECK(s >= 400);
    CHECK(s < 500);
  }

  // Nothing changed, nothing was created; sgd is alive and well.
  REQUIRE(sgd.alive());
  CHECK(sgd.admin("GET", "/api/octopusservernodes/ping").status == 200);
  CHECK(registry_text(sgd) == before);
  CHECK(sgd.admin("GET", "/api/server-groups/fresh").status == 404);
  CHECK(sgd.admin("GET", "/api/server-groups/bad*group").status == 400);
  auto n = json(sgd.admin("GET", node));
  REQUIRE(n.IsObject());
  CHECK(n["weight"].GetInt() == 5);
  CHECK(to_text(n["metadata"]) == R"({"a":"b"})");
}

// Bodies over the 1 MiB admin limit announced by Content-Length must get 413 (DESIGN: "413
// admin body too large"), whether or not the client waits for 100-continue.
TEST_CASE("foundation: admin bodies over 1 MiB with a Content-Length get 413", "[foundation]") {
  sgd_instance sgd(quick_sgd());
  const std::size_t mib = 1u << 20;
  const std::string nodes = "/api/server-groups/g/nodes";
  auto r = sgd.admin("POST", nodes,
                     R"({"name":"x","baseUrl":"http://127.0.0.1:1","metadata":{"pad":")" +
                         std::string(mib, 'p') + "\"}}");
  CHECK(error_problem(r, 413) == "");
  r = sgd.admin("PUT", "/api/server-groups/g", "{\"strategy\":\"round_robin\"}" + std::string(mib, ' '));
  CHECK(error_problem(r, 413) == "");
  auto up = upload(sgd.admin_port(), nodes, 2 * mib,
                   {{"Expect", "100-continue"}, {"Content-Type", "application/json"}}, 10s);
  INFO("upload error: " << up.error << " body " << up.body.substr(0, 200));
  CHECK(up.status == 413);
  CHECK_FALSE(up.got_continue);
  // Nothing was created and sgd is fine.
  REQUIRE(sgd.alive());
  CHECK(sgd.admin("GET", "/api/server-groups/g").status == 404);
  CHECK(sgd.admin("GET", "/api/octopusservernodes/ping").status == 200);
}

TEST_CASE("foundation: malformed HTTP gets 400 and sgd lives on", "[foundation]") {
  sgd_instance sgd(quick_sgd());
  const auto port = sgd.admin_port();

  auto r = raw_exchange(port, "GARBAGE\r\n\r\n", 5s);
  INFO("received: " << r.received);
  CHECK(r.received.rfind("HTTP/1.1 400", 0) == 0);
  CHECK(r.received.find("\"error\"") != std::string::npos);
  CHECK_FALSE(r.timed_out);

  // More junk: a bad header line, a bad Content-Length, binary bytes, oversized headers, a
  // request cut off in the middle of its body, an unsupported HTTP version.
  std::vector<std::string> junk = {
      "GET /api/server-groups HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
      "POST /api/server-groups/g/nodes HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
      std::string("\x00\x01\x02\xff\xfe\r\n\r\n", 8),
      "GET /api/server-groups HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'h') + "\r\n\r\n",
      "GET /api/server-groups HTTP/7.3\r\nHost: x\r\n\r\n",
  };
  for (auto& j : junk) {
    auto jr = raw_exchange(port, j, 5s, true);
    INFO("sent " << j.substr(0, 60) << " got " << jr.received.substr(0, 200));
    CHECK_FALSE(jr.timed_out);
    if (!jr.received.empty()) {
      CHECK(jr.received.rfind("HTTP/1.1 4", 0) == 0);
    }
    CHECK(sgd.alive());
  }
  auto cut = raw_exchange(port,
                          "POST /api/server-groups/cut/nodes HTTP/1.1\r\nHost: x\r\n"
                          "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":",
                          2s, true);
  CHECK(cut.received.find(" 201 ") == std::string::npos);

  REQUIRE(sgd.alive());
  auto ping = sgd.admin("GET", "/api/octopusservernodes/ping");
  CHECK(ping.status == 200);
  CHECK(sgd.admin("GET", "/api/server-groups/cut").status == 404);
  // Still serves normal requests.
  CHECK(sgd.admin("POST", "/api/server-groups/after/nodes",
                  R"({"name":"x","baseUrl":"http://127.0.0.1:1"})")
            .status == 201);
}

TEST_CASE("foundation: clients stalled in the middle of a header do not block others",
          "[foundation]") {
  sgd_instance sgd(quick_sgd());
  const auto port = sgd.admin_port();

  // More stalled connections than sgd has I/O threads.
  std::vector<std::unique_ptr<http_connection>> stalled;
  for (int i = 0; i < 6; ++i) {
    auto c = std::make_unique<http_connection>();
    REQUIRE(c->connect(port, 2s) == "");
    REQUIRE(c->send_raw("POST /api/server-groups/slow/nodes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le",
                        2s) == "");
    stalled.push_back(std::move(c));
  }
  // Everyone else is served promptly.
  for (int i = 0; i < 10; ++i) {
    auto r = request("GET", port, "/api/octopusservernodes/ping", "", {}, 2s);
    CHECK(r.status == 200);
    CHECK(r.elapsed < 1500ms);
  }
  auto r = sgd.admin("POST", "/api/server-groups/fast/nodes",
                     R"({"name":"x","baseUrl":"http://127.0.0.1:1"})", {}, 3s);
  CHECK(r.status == 201);
  CHECK(sgd.admin("GET", "/api/server-groups", "", {}, 2s).status == 200);

  // A stalled client that finally finishes its request is answered normally.
  const std::string body = R"({"name":"late","baseUrl":"http://127.0.0.1:1"})";
  REQUIRE(stalled[0]->send_raw("ngth: " + std::to_string(body.size()) +
                                   "\r\nContent-Type: application/json\r\n\r\n" + body,
                               2s) == "");
  auto late = stalled[0]->read_response(5s);
  INFO(late.error << " " << late.body);
  CHECK(late.status == 201);
  CHECK(sgd.admin("GET", "/api/server-groups/slow/nodes").status == 200);
  CHECK(sgd.alive());
}
