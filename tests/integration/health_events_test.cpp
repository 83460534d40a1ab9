// Events and alerts: the /api/events SSE stream (alerts raised and resolved in order, resume with
// Last-Event-ID) and --alert-webhook POSTs received by a small HTTP receiver in the test.
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

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace {

// A tiny webhook receiver on 127.0.0.1: one request per connection, answers 200, keeps every
// request head and body.
class hook_receiver {
 public:
  struct received {
    std::string head;
    std::string body;
  };

  hook_receiver() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 64) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~hook_receiver() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  hook_receiver(const hook_receiver&) = delete;
  hook_receiver& operator=(const hook_receiver&) = delete;

  std::uint16_t port() const { return port_; }
  std::vector<received> got() {
    std::lock_guard<std::mutex> g{mutex_};
    return got_;
  }

 private:
  void loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      serve(c);
      ::close(c);
    }
  }

  // Reads one request (Content-Length framed), answers 200.
  void serve(int c) {
    timeval tv{2, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string in;
    char buf[4096];
    size_t head_end = std::string::npos;
    size_t need = 0;
    for (;;) {
      if (head_end == std::string::npos) {
        head_end = in.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          std::string lower = in.substr(0, head_end);
          std::transform(lower.begin(), lower.end(), lower.begin(),
                         [](unsigned char ch) { return std::tolower(ch); });
          auto cl = lower.find("content-length:");
          need = cl == std::string::npos ? 0 : std::stoul(lower.substr(cl + 15));
        }
      }
      if (head_end != std::string::npos && in.size() >= head_end + 4 + need) break;
      auto n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
    }
    static constexpr char ok[] =
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    (void)!::send(c, ok, sizeof ok - 1, MSG_NOSIGNAL);
    std::lock_guard<std::mutex> g{mutex_};
    got_.push_back({in.substr(0, head_end), in.substr(head_end + 4, need)});
  }

  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<received> got_;
};

// Takes A down to unhealthy and back to healthy.
void fail_and_recover(const sgd_instance& sgd, const std::string& g, test_node_process& a,
                      const std::string& id) {
  a.set_health(500);
  REQUIRE(wait_status(sgd, g, id, "unhealthy"));
  a.set_health(200);
  REQUIRE(wait_status(sgd, g, id, "healthy"));
}

}  // namespace

TEST_CASE("health: alerts are raised and resolved in order on the live event stream", "[health]") {
  test_node_process a("he-a"), b("he-b");
  sgd_instance sgd;
  const std::string g = "health-events";
  put_group(sgd, g, group_body());
  auto na = add_node(sgd, g, a);
  auto nb = add_node(sgd, g, b);

  // Subscribe first, then cause the transitions: they arrive live.
  std::atomic<int> seen{0};
  auto live = std::async(std::launch::async, [&] {
    return read_events(
        sgd.admin_port(),
        [&](auto& e) { return has_event(e, na.id, "node.status", "healthy", "resolved"); }, 15s,
        &seen);
  });
  REQUIRE(wait_until([&] { return seen.load() >= 2; }, 3s));  // the two registrations, replayed
  fail_and_recover(sgd, g, a, na.id);
  REQUIRE(live.wait_for(5s) == std::future_status::ready);
  auto evs = live.get();

  auto mine = of_node(evs, na.id);
  REQUIRE(transitions(mine) == std::vector<std::string>{">healthy/", "healthy>degraded/raised",
                                                         "degraded>unhealthy/raised",
                                                         "unhealthy>healthy/resolved"});
  std::vector<int> failures;
  for (auto& e : mine) failures.push_back(e.failures);
  CHECK(failures == std::vector<int>{0, 1, 3, 0});
  for (size_t i = 0; i < mine.size(); ++i) {
    INFO(mine[i].data);
    CHECK(mine[i].id == mine[i].seq);
    CHECK(mine[i].group == g);
    CHECK(mine[i].name == "he-a");
    CHECK(mine[i].at_ms > 0);
    if (i) {
      CHECK(mine[i].seq > mine[i - 1].seq);
      CHECK(mine[i].at_ms >= mine[i - 1].at_ms);
    }
  }
  CHECK(mine[1].detail == "HTTP 500");
  CHECK(mine[2].detail == "HTTP 500");
  // B had no transition after its registration, and raised nothing.
  auto theirs = of_node(evs, nb.id);
  REQUIRE(theirs.size() == 1);
  CHECK(theirs[0].alert.empty());
  // Every event's seq is unique and increasing over the whole stream.
  for (size_t i = 1; i < evs.size(); ++i) CHECK(evs[i].seq > evs[i - 1].seq);

  // Resuming with Last-Event-ID replays only what came after that event.
  auto resumed = read_events(
      sgd.admin_port(), [&](auto& e) { return has_event(e, na.id, "node.status", "healthy", "resolved"); },
      3s, nullptr, {{"Last-Event-ID", std::to_string(mine[1].seq)}});
  REQUIRE(!resumed.empty());
  CHECK(resumed.front().seq == mine[1].seq + 1);
  CHECK(transitions(of_node(resumed, na.id)) ==
        std::vector<std::string>{"degraded>unhealthy/raised", "unhealthy>healthy/resolved"});
}

TEST_CASE("health: --alert-webhook POSTs every event as JSON", "[health]") {
  hook_receiver hook;
  test_node_process a("hw-a");
  sgd_options o;
  o.extra_args = {"--alert-webhook", "http://127.0.0.1:" + std::to_string(hook.port()) + "/hooks/sgd"};
  sgd_instance sgd(o);
  const std::string g = "health-webhook";
  put_group(sgd, g, group_body());
  auto na = add_node(sgd, g, a);
  fail_and_recover(sgd, g, a, na.id);

  // Deliveries run concurrently: wait for all four, then order them by seq.
  std::vector<sse_event> posted;
  std::vector<hook_receiver::received> raw;
  REQUIRE(wait_until(
      [&] {
        raw = hook.got();
        return raw.size() >= 4;
      },
      5s));
  for (auto& r : raw) {
    INFO(r.head << "\n\n" << r.body);
    CHECK(r.head.rfind("POST /hooks/sgd HTTP/1.1\r\n", 0) == 0);
    std::string lower = r.head;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    CHECK(lower.find("content-type: application/json") != std::string::npos);
    auto e = parse_event_json(r.body);
    CHECK(e.seq > 0);
    posted.push_back(e);
  }
  std::sort(posted.begin(), posted.end(), [](auto& x, auto& y) { return x.seq < y.seq; });
  auto mine = of_node(posted, na.id);
  REQUIRE(transitions(mine) == std::vector<std::string>{">healthy/", "healthy>degraded/raised",
                                                         "degraded>unhealthy/raised",
                                                         "unhealthy>healthy/resolved"});
  // The same JSON as the SSE stream carries for those events.
  auto evs = read_events(
      sgd.admin_port(), [&](auto& e) { return has_event(e, na.id, "node.status", "healthy", "resolved"); },
      3s);
  auto streamed = of_node(evs, na.id);
  REQUIRE(streamed.size() == mine.size());
  for (size_t i = 0; i < mine.size(); ++i) CHECK(streamed[i].data == mine[i].data);
  // Nothing more than those (no duplicates, no retries of delivered events).
  std::this_thread::sleep_for(300ms);
  CHECK(hook.got().size() == raw.size());
}
