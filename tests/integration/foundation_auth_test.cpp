// Foundation: the admin token (--admin-token / SGD_ADMIN_TOKEN) and the refusal to serve the
// admin API on a non-loopback address without one.
#include "tests/support/admin_helpers.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sgd_process.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace {

using namespace sg::test;
using namespace std::chrono_literals;

std::string auth_error_problem(const http_result& r, int status) {
  if (!r.ok()) return "transport error: " + r.error;
  if (r.status != status)
    return "status " + std::to_string(r.status) + " (want " + std::to_string(status) + "): " + r.body;
  auto d = json(r);
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("error") || !d["error"].IsObject() ||
      !d["error"].HasMember("code") || !d["error"].HasMember("message"))
    return "no {\"error\":{\"code\",\"message\"}} body: " + r.body;
  return "";
}

// Checks every protected call against `port` with the given token.
void check_token_enforced(std::uint16_t port, const std::string& token) {
  const header_map good = {{"Authorization", "Bearer " + token}};
  std::string wrong_same_length = token;
  wrong_same_length.back() = wrong_same_length.back() == 'x' ? 'y' : 'x';
  const std::vector<header_map> bad = {
      {},
      {{"Authorization", "Bearer " + wrong_same_length}},
      {{"Authorization", "Bearer " + token + "x"}},
      {{"Authorization", "Bearer " + token.substr(0, token.size() - 1)}},
      {{"Authorization", "Bearer "}},
      {{"Authorization", "Basic " + token}},
      {{"Authorization", token}},
      {{"Authorization", "bearer" + token}},
  };
  const std::string reg = R"({"name":"x","baseUrl":"http://127.0.0.1:1"})";
  const header_map json_ct = {{"Content-Type", "application/json"}};
  struct call {
    std::string method, target, body;
  };
  const std::vector<call> calls = {
      {"GET", "/api/server-groups", ""},
      {"GET", "/api/server-groups/g", ""},
      {"PUT", "/api/server-groups/g", R"({"strategy":"round_robin"})"},
      {"DELETE", "/api/server-groups/g?force=true", ""},
      {"POST", "/api/server-groups/g/nodes", reg},
      {"GET", "/api/server-groups/g/nodes", ""},
      {"POST", "/api/controller/drain", ""},
      {"POST", "/api/controller/activate", ""},
      {"GET", "/api/no-such-route", ""},
  };
  for (auto& h : bad) {
    for (auto& c : calls) {
      auto headers = h;
      if (!c.body.empty()) headers.insert(json_ct.begin(), json_ct.end());
      auto r = request(c.method, port, c.target, c.body, headers, 5s);
      INFO(c.method << " " << c.target << " with Authorization '"
                    << (h.count("Authorization") ? h.at("Authorization") : "<none>") << "'");
      CHECK(auth_error_problem(r, 401) == "");
    }
    // Ping needs no token.
    CHECK(request("GET", port, "/api/octopusservernodes/ping", "", h, 5s).status == 200);
  }
  // Nothing got through: no group, not draining.
  auto list = request("GET", port, "/api/server-groups", "", good, 5s);
  REQUIRE(list.status == 200);
  auto d = json(list);
  REQUIRE(d.IsObject());
  CHECK(d["groups"].Size() == 0);
  // The right token works for everything.
  header_map gj = good;
  gj.insert(json_ct.begin(), json_ct.end());
  CHECK(request("POST", port, "/api/server-groups/g/nodes", reg, gj, 5s).status == 201);
  CHECK(request("GET", port, "/api/server-groups/g/nodes", "", good, 5s).status == 200);
  CHECK(request("POST", port, "/api/controller/drain", "", good, 5s).status == 200);
  CHECK(request("GET", port, "/api/octopusservernodes/ping", "", {}, 5s).status == 418);
  CHECK(request("POST", port, "/api/controller/activate", "", good, 5s).status == 200);
  CHECK(request("GET", port, "/api/octopusservernodes/ping", "", {}, 5s).status == 200);
}

}  // namespace

TEST_CASE("foundation: --admin-token protects every /api call but ping", "[foundation]") {
  sgd_options o;
  o.extra_args = {"--drain-grace", "0"};
  o.admin_token = "s3cret-Token-0123456789";
  sgd_instance sgd(o);
  check_token_enforced(sgd.admin_port(), o.admin_token);
  CHECK(sgd.alive());
}

TEST_CASE("foundation: SGD_ADMIN_TOKEN in the environment works like --admin-token",
          "[foundation]") {
  sgd_options o;
  o.extra_args = {"--drain-grace", "0"};
  o.env = {{"SGD_ADMIN_TOKEN", "env-token-abcdef"}};
  sgd_instance sgd(o);
  check_token_enforced(sgd.admin_port(), "env-token-abcdef");
}

TEST_CASE("foundation: a non-loopback admin address needs a token or --insecure-admin",
          "[foundation]") {
  struct temp_dir {
    std::string path = make_temp_dir("sgd-foundation-auth");
    ~temp_dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  } tmp;
  const std::string dir = tmp.path;
  auto port = free_port();
  auto proxy = free_port();
  REQUIRE(port != 0);
  std::string out;
  int code = run_and_wait(SGD_BINARY,
                          {"--admin", "0.0.0.0:" + std::to_string(port), "--listen",
                           "127.0.0.1:" + std::to_string(proxy), "--data-dir", dir + "/data"},
                          10s, &out);
  INFO("output: " << out);
  CHECK(code == 2);
  auto lines = lines_of(out);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("0.0.0.0") != std::string::npos);
  CHECK(lines[0].find("token") != std::string::npos);
  // It never listened.
  CHECK_FALSE(request("GET", port, "/api/octopusservernodes/ping", "", {}, 1s).ok());

  // With --insecure-admin it starts (the harness pings it on 127.0.0.1).
  sgd_options o;
  o.admin_port = port;
  o.extra_args = {"--drain-grace", "0", "--admin", "0.0.0.0:" + std::to_string(port),
                  "--insecure-admin"};
  sgd_instance sgd(o);
  auto r = sgd.admin("GET", "/api/server-groups");
  CHECK(r.status == 200);
}
