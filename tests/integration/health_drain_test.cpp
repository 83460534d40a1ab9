// Draining: a node asking for it (health answers 418), the operator's drain/activate with a request
// in flight and the node.drained event, and DELETE of a node that still has a request in flight.
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

namespace {

// Starts GET /groups/{g}/slow?ms=N pinned to the node with metadata id=<pin>; waits (REQUIRE)
// until the node has it in flight.
std::future<http_result> start_slow(const sgd_instance& sgd, const std::string& g,
                                    test_node_process& node, const std::string& pin, int ms) {
  auto f = std::async(std::launch::async, [&sgd, g, pin, ms] {
    return sgd.proxy("GET", "/groups/" + g + "/slow?ms=" + std::to_string(ms), "",
                     {{"X-Route-Metadata", "id=" + pin}}, 10s);
  });
  REQUIRE(wait_until([&] { return node.in_flight() == 1; }, 3s));
  return f;
}

}  // namespace

TEST_CASE("health: a node whose health answers 418 drains, and comes back on a 2xx", "[health]") {
  test_node_process a("h418-a"), b("h418-b");
  sgd_instance sgd;
  const std::string g = "health-418";
  put_group(sgd, g, group_body());
  auto na = add_node(sgd, g, a);
  add_node(sgd, g, b);

  a.set_health(418);
  REQUIRE(wait_status(sgd, g, na.id, "draining"));
  auto d = get_node(sgd, g, na.id);
  CHECK(d.check_status == 418);
  CHECK(d.admin_state == "active");  // the node asked, not the operator
  auto a_before = a.requests_served();
  only_node_serves(sgd, g, "h418-b", 600ms);
  REQUIRE(a.requests_served() == a_before);
  // Still answering 418 on later checks: stays draining.
  CHECK(get_node(sgd, g, na.id).status == "draining");

  auto evs = read_events(
      sgd.admin_port(), [&](auto& e) { return !of_node(e, na.id, "node.drained").empty(); }, 3s);
  auto mine = of_node(evs, na.id);
  REQUIRE(mine.size() >= 2);
  CHECK(mine[1].from == "healthy");
  CHECK(mine[1].to == "draining");
  CHECK(mine[1].alert.empty());
  REQUIRE(of_node(evs, na.id, "node.drained").size() == 1);  // nothing was in flight

  a.set_health(200);
  REQUIRE(wait_status(sgd, g, na.id, "healthy"));
  REQUIRE(wait_until([&] { return call(sgd, g) == "h418-a"; }, 2s));
}

TEST_CASE("health: operator drain lets an in-flight request finish, then node.drained; activate re-admits", "[health]") {
  test_node_process a("hd-a"), b("hd-b");
  sgd_instance sgd;
  const std::string g = "health-drain";
  put_group(sgd, g, group_body());
  auto na = add_node(sgd, g, a, R"({"id":"a"})");
  add_node(sgd, g, b, R"({"id":"b"})");

  auto t0 = now_ms();
  auto slow = start_slow(sgd, g, a, "a", 1500);
  auto r = sgd.admin("POST", "/api/server-groups/" + g + "/nodes/" + na.id + "/drain");
  INFO(r.body);
  REQUIRE(r.status == 200);
  auto body = json(r);
  REQUIRE(body.IsObject());
  CHECK(std::string(body["status"].GetString()) == "draining");
  CHECK(std::string(body["adminState"].GetString()) == "draining");
  auto d = get_node(sgd, g, na.id);
  CHECK(d.status == "draining");
  CHECK(d.in_flight == 1);

  // New requests go to B only; one pinned to A finds no routable node.
  for (int i = 0; i < 10; ++i) REQUIRE(call(sgd, g) == "hd-b");
  auto pinned = sgd.proxy("GET", "/groups/" + g + "/x", "", {{"X-Route-Metadata", "id=a"}});
  CHECK(pinned.status == 503);
  // Not drained yet: the slow request still runs.
  REQUIRE(slow.wait_for(0ms) == std::future_status::timeout);

  auto sr = slow.get();
  INFO(sr.error << " " << sr.body);
  REQUIRE(sr.status == 200);
  CHECK(sr.header("X-Node") == "hd-a");
  CHECK(a.requests_served() == 1);

  auto evs = read_events(
      sgd.admin_port(), [&](auto& e) { return !of_node(e, na.id, "node.drained").empty(); }, 3s);
  auto drained = of_node(evs, na.id, "node.drained");
  REQUIRE(drained.size() == 1);
  CHECK(drained[0].at_ms >= t0 + 1400);  // only once the slow request was done
  auto st = of_node(evs, na.id);
  REQUIRE(st.size() >= 2);
  CHECK(st.back().from == "healthy");
  CHECK(st.back().to == "draining");
  CHECK(st.back().seq < drained[0].seq);
  CHECK(get_node(sgd, g, na.id).in_flight == 0);

  // Still no new work while drained.
  only_node_serves(sgd, g, "hd-b", 300ms);
  CHECK(a.requests_served() == 1);

  r = sgd.admin("POST", "/api/server-groups/" + g + "/nodes/" + na.id + "/activate");
  REQUIRE(r.status == 200);
  REQUIRE(wait_status(sgd, g, na.id, "healthy"));
  REQUIRE(wait_until([&] { return call(sgd, g) == "hd-a"; }, 2s));
  evs = read_events(
      sgd.admin_port(), [&](auto& e) { return has_event(e, na.id, "node.status", "healthy") &&
                                              of_node(e, na.id).back().from == "draining"; }, 3s);
  CHECK(of_node(evs, na.id).back().from == "draining");
}

TEST_CASE("health: DELETE of a node with a request in flight: it completes, the node gets nothing new", "[health]") {
  test_node_process a("hx-a"), b("hx-b");
  sgd_instance sgd;
  const std::string g = "health-delete";
  put_group(sgd, g, group_body());
  auto na = add_node(sgd, g, a, R"({"id":"a"})");
  add_node(sgd, g, b, R"({"id":"b"})");

  auto slow = start_slow(sgd, g, a, "a", 1500);
  auto r = sgd.admin("DELETE", "/api/server-groups/" + g + "/nodes/" + na.id);
  INFO(r.body);
  REQUIRE(r.status == 204);
  CHECK(get_node(sgd, g, na.id).http == 404);

  for (int i = 0; i < 10; ++i) REQUIRE(call(sgd, g) == "hx-b");
  REQUIRE(slow.wait_for(0ms) == std::future_status::timeout);
  auto sr = slow.get();
  INFO(sr.error << " " << sr.body);
  REQUIRE(sr.status == 200);
  CHECK(sr.header("X-Node") == "hx-a");
  only_node_serves(sgd, g, "hx-b", 300ms);
  CHECK(a.requests_served() == 1);
}
