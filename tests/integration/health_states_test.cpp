// Health state machine end to end: healthy/degraded/unhealthy transitions with 200 ms checks, a
// failing first check, healthyAfter, passive observations; routing follows the status.
#include "tests/support/http_client.hpp"
#include "tests/support/sgd_process.hpp"
#include "tests/support/test_node.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace sg::test;
using namespace std::chrono_literals;

// Group settings: round robin (so two nodes alternate), 200 ms checks with a 100 ms timeout.
[[maybe_unused]] std::string group_body(int unhealthy_after = 3, int healthy_after = 1,
                                        int interval_ms = 200) {
  return R"({"strategy":"round_robin","healthCheck":{"intervalMs":)" + std::to_string(interval_ms) +
         R"(,"timeoutMs":100,"unhealthyAfter":)" + std::to_string(unhealthy_after) +
         R"(,"healthyAfter":)" + std::to_string(healthy_after) + "}}";
}

[[maybe_unused]] void put_group(const sgd_instance& s, const std::string& g,
                                const std::string& body) {
  auto r = s.admin("PUT", "/api/server-groups/" + g, body);
  INFO("PUT group " << g << ": " << r.status << " " << r.body << r.error);
  REQUIRE((r.status == 200 || r.status == 201));
}

struct registration {
  std::string id;
  std::string status;
};

// Registers `n` (REQUIREs 201); returns its nodeId and the status the registration answered.
[[maybe_unused]] registration add_node(const sgd_instance& s, const std::string& g,
                                       const test_node_process& n,
                                       const std::string& metadata = "{}") {
  auto body = R"({"name":")" + n.name() + R"(","baseUrl":")" + n.base_url() +
              R"(","weight":1,"metadata":)" + metadata + "}";
  auto r = s.admin("POST", "/api/server-groups/" + g + "/nodes", body);
  INFO("register " << n.name() << ": " << r.status << " " << r.body << r.error);
  REQUIRE(r.status == 201);
  auto d = json(r);
  REQUIRE(d.IsObject());
  REQUIRE(d.HasMember("nodeId"));
  REQUIRE(d.HasMember("status"));
  return {d["nodeId"].GetString(), d["status"].GetString()};
}

struct node_info {
  int http = 0;                 // status of the GET
  std::string status;           // node status
  std::string admin_state;
  int failures = -1;            // consecutiveFailures
  long long in_flight = -1;
  bool has_check = false;       // lastCheck not null
  int check_status = 0;         // lastCheck.httpStatus (0: null)
  std::string check_error;      // lastCheck.error ("" : null)
  std::string check_at;         // lastCheck.at
  long long check_latency = -1; // lastCheck.latencyMs
  std::string body;
};

// GET /api/server-groups/{g}/nodes/{id}, never REQUIREs (usable in wait predicates).
[[maybe_unused]] node_info get_node(const sgd_instance& s, const std::string& g,
                                    const std::string& id) {
  node_info out;
  auto r = s.admin("GET", "/api/server-groups/" + g + "/nodes/" + id);
  out.http = r.status;
  out.body = r.body + r.error;
  if (r.status != 200) return out;
  auto d = json(r);
  if (!d.IsObject()) return out;
  if (d.HasMember("status") && d["status"].IsString()) out.status = d["status"].GetString();
  if (d.HasMember("adminState") && d["adminState"].IsString())
    out.admin_state = d["adminState"].GetString();
  if (d.HasMember("consecutiveFailures") && d["consecutiveFailures"].IsInt())
    out.failures = d["consecutiveFailures"].GetInt();
  if (d.HasMember("inFlight") && d["inFlight"].IsInt64()) out.in_flight = d["inFlight"].GetInt64();
  if (d.HasMember("lastCheck") && d["lastCheck"].IsObject()) {
    auto& c = d["lastCheck"];
    out.has_check = true;
    if (c.HasMember("httpStatus") && c["httpStatus"].IsInt()) out.check_status = c["httpStatus"].GetInt();
    if (c.HasMember("error") && c["error"].IsString()) out.check_error = c["error"].GetString();
    if (c.HasMember("at") && c["at"].IsString()) out.check_at = c["at"].GetString();
    if (c.HasMember("latencyMs") && c["latencyMs"].IsInt()) out.check_latency = c["latencyMs"].GetInt();
  }
  return out;
}

[[maybe_unused]] bool wait_status(const sgd_instance& s, const std::string& g,
                                  const std::string& id, const std::string& want,
                                  std::chrono::milliseconds timeout = 3s) {
  return wait_until([&] { return get_node(s, g, id).status == want; }, timeout);
}

// One proxied GET: the X-Node of a 200 answer, else a description of what came back.
[[maybe_unused]] std::string call(const sgd_instance& s, const std::string& g,
                                  const std::string& path = "/work",
                                  const header_map& headers = {}) {
  auto r = s.proxy("GET", "/groups/" + g + path, "", headers, 5s);
  if (r.status != 200) return "status " + std::to_string(r.status) + " " + r.error + " " + r.body;
  return r.header("X-Node");
}

// Proxies GETs for `window`: REQUIREs that every one is a 200 from `only`.
[[maybe_unused]] void only_node_serves(const sgd_instance& s, const std::string& g,
                                       const std::string& only, std::chrono::milliseconds window,
                                       int min_requests = 10) {
  auto end = std::chrono::steady_clock::now() + window;
  int n = 0;
  while (n < min_requests || std::chrono::steady_clock::now() < end) {
    auto who = call(s, g);
    INFO("request " << n);
    REQUIRE(who == only);
    ++n;
    std::this_thread::sleep_for(20ms);
  }
}

[[maybe_unused]] long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---- the /api/events stream ----

struct sse_event {
  uint64_t id = 0;     // the SSE id: line
  std::string type;    // the SSE event: line
  std::string data;    // the raw JSON
  uint64_t seq = 0;
  std::string group, node_id, name, from, to, alert, detail;
  int failures = -1;
  long long at_ms = 0;
};

std::string str_member(const rapidjson::Document& d, const char* k) {
  return d.HasMember(k) && d[k].IsString() ? d[k].GetString() : "";
}

[[maybe_unused]] sse_event parse_event_json(const std::string& data) {
  sse_event e;
  e.data = data;
  auto d = json(data);
  if (!d.IsObject()) return e;
  if (d.HasMember("seq") && d["seq"].IsUint64()) e.seq = d["seq"].GetUint64();
  e.group = str_member(d, "group");
  e.node_id = str_member(d, "nodeId");
  e.name = str_member(d, "name");
  e.from = str_member(d, "from");
  e.to = str_member(d, "to");
  e.alert = str_member(d, "alert");
  e.detail = str_member(d, "detail");
  if (d.HasMember("type") && d["type"].IsString() && e.type.empty()) e.type = d["type"].GetString();
  if (d.HasMember("consecutiveFailures") && d["consecutiveFailures"].IsInt())
    e.failures = d["consecutiveFailures"].GetInt();
  if (d.HasMember("atMs") && d["atMs"].IsInt64()) e.at_ms = d["atMs"].GetInt64();
  return e;
}

// The complete events of an SSE text (blocks ended by a blank line; comments skipped).
[[maybe_unused]] std::vector<sse_event> parse_sse(const std::string& text) {
  std::vector<sse_event> out;
  size_t pos = 0;
  for (;;) {
    auto end = text.find("\n\n", pos);
    if (end == std::string::npos) break;
    std::istringstream block(text.substr(pos, end - pos));
    pos = end + 2;
    std::string line, type, data;
    uint64_t id = 0;
    while (std::getline(block, line)) {
      if (line.rfind("id: ", 0) == 0) id = std::stoull(line.substr(4));
      else if (line.rfind("event: ", 0) == 0) type = line.substr(7);
      else if (line.rfind("data: ", 0) == 0) data += line.substr(6);
    }
    if (type.empty()) continue;
    auto e = parse_event_json(data);
    e.type = type;
    e.id = id;
    out.push_back(std::move(e));
  }
  return out;
}

using events_pred = std::function<bool(const std::vector<sse_event>&)>;

// Reads GET /api/events (the hub replays its backlog first, then streams live) until `done`
// holds for the events seen so far, or the timeout. `seen` (optional) counts events as they come.
[[maybe_unused]] std::vector<sse_event> read_events(std::uint16_t admin_port, const events_pred& done,
                                                    std::chrono::milliseconds timeout,
                                                    std::atomic<int>* seen = nullptr,
                                                    const header_map& headers = {}) {
  std::string text;
  std::vector<sse_event> evs;
  stream_events(
      admin_port, "/api/events",
      [&](std::string_view piece, std::chrono::milliseconds) {
        text.append(piece);
        evs = parse_sse(text);
        if (seen) seen->store(static_cast<int>(evs.size()));
        return !done(evs);
      },
      timeout, headers);
  return evs;
}

// The events of one node (of one type; "" for all).
[[maybe_unused]] std::vector<sse_event> of_node(const std::vector<sse_event>& evs,
                                                const std::string& id,
                                                const std::string& type = "node.status") {
  std::vector<sse_event> out;
  for (auto& e : evs)
    if (e.node_id == id && (type.empty() || e.type == type)) out.push_back(e);
  return out;
}

[[maybe_unused]] bool has_event(const std::vector<sse_event>& evs, const std::string& id,
                                const std::string& type, const std::string& to,
                                const std::string& alert = "*") {
  for (auto& e : evs)
    if (e.node_id == id && e.type == type && e.to == to && (alert == "*" || e.alert == alert))
      return true;
  return false;
}

// "from>to/alert" for each event, for readable comparisons.
[[maybe_unused]] std::vector<std::string> transitions(const std::vector<sse_event>& evs) {
  std::vector<std::string> out;
  for (auto& e : evs) out.push_back(e.from + ">" + e.to + "/" + e.alert);
  return out;
}

}  // namespace

TEST_CASE("health: healthy -> degraded -> unhealthy -> healthy with 200 ms checks", "[health]") {
  test_node_process a("hs-a"), b("hs-b");
  sgd_instance sgd;
  const std::string g = "health-path";
  put_group(sgd, g, group_body());
  auto na = add_node(sgd, g, a);
  auto nb = add_node(sgd, g, b);
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
  CHECK(d.check_latency >= 0);
  CHECK(d.in_flight == 0);

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
  auto na = add_node(sgd, g, a);
  REQUIRE(na.status == "healthy");

  b.set_health(503);
  auto nb = add_node(sgd, g, b);
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
  auto nc = add_node(sgd, g, c);
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
  auto na = add_node(sgd, g, a);
  REQUIRE(na.status == "healthy");
  REQUIRE(add_node(sgd, g, b).status == "healthy");
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
  auto na = add_node(sgd, g, a);
  add_node(sgd, g, b);
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

TEST_CASE("health: a changed check interval takes effect without waiting out the old one", "[health][!mayfail]") {
  test_node_process a("hi-a");
  sgd_instance sgd;
  const std::string g = "health-interval";
  put_group(sgd, g, group_body(3, 1, 60000));
  auto na = add_node(sgd, g, a);
  REQUIRE(na.status == "healthy");
  // Now check every 200 ms; a failing node should be seen within a few intervals.
  put_group(sgd, g, group_body(3, 1, 200));
  a.set_health(500);
  REQUIRE(wait_until([&] { return get_node(sgd, g, na.id).status != "healthy"; }, 2s));
}

TEST_CASE("health: with healthyAfter=2 a first check that passes still registers healthy", "[health][!mayfail]") {
  // Contract: registration probes before answering; pass -> 201 "healthy", routed at once.
  test_node_process a("h2r-a");
  sgd_instance sgd;
  const std::string g = "health-two-reg";
  put_group(sgd, g, group_body(3, 2));
  auto na = add_node(sgd, g, a);
  CHECK(na.status == "healthy");
  REQUIRE(call(sgd, g) == "h2r-a");
}
