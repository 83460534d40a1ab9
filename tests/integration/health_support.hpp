#pragma once
// Shared by the [health] integration tests: group settings, status polling,
// request counting and an SSE event reader against a real sgd and real test nodes.
#include "tests/support/admin_helpers.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/iso_time.hpp"
#include "tests/support/sgd_cluster.hpp"
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

// sgd_health_checks_total of one node and result ("pass", "fail", "drain"), -1 if /metrics
// does not have it. Counts the checks actually made: a wait on it proves that time passed with
// the checker running, where a sleep would only hope so.
[[maybe_unused]] double checks_counted(const sgd_instance& s, const std::string& id,
                                       const std::string& result) {
  return metric_sample(s, "sgd_health_checks_total",
                       "node=\"" + id + "\",result=\"" + result + "\"")
      .value_or(-1);
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
