// Cluster consistency: three real sgd controllers on loopback, disturbed with kill -9, SIGSTOP
// and a skewed clock (libfaketime), checked for last-writer-wins by real time:
//  - a write equal to a controller's stale local copy still replaces a newer remote value;
//  - a controller whose clock is off refuses writes (503 clock_skew) and is reported;
//  - a controller away longer than the tombstone TTL rebases (full state transfer) instead of
//    bringing deleted nodes back;
//  - a bounded chaos run (writers at every controller, a nemesis killing / stopping one
//    controller at a time) loses no acknowledged write and never lets an older write win.
#include "tests/support/admin_helpers.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sgd_cluster.hpp"
#include "tests/support/sgd_process.hpp"
#include "tests/support/test_node.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace sg::test;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

std::string nodes_path(const std::string& g) {
  return "/api/server-groups/" + g + "/nodes";
}
std::string node_path(const std::string& g, const std::string& id) {
  return nodes_path(g) + "/" + id;
}

// A registration whose node is the test backend (health checks answer at once).
std::string backend_registration(const std::string& name, const test_node_process& backend,
                                 int weight = 1, const std::string& metadata = "{}") {
  return registration_body(
      name, backend.base_url(),
      "\"healthUrl\":\"" + backend.base_url() + "/health\"," + node_fields(weight, metadata));
}

std::string node_id_of(const http_result& r) {
  auto d = json(r);
  return d.IsObject() ? str_field(d, "nodeId") : std::string{};
}

int body_replicas(const http_result& r) {
  auto d = json(r);
  if (!d.IsObject() || !d.HasMember("replicas") || !d["replicas"].IsInt()) return -1;
  return d["replicas"].GetInt();
}

std::string show(const http_result& r) {
  return std::to_string(r.status) + " " + r.error + " " + r.body;
}

// GET of one node at one controller: the parsed body, or null if not 200.
rapidjson::Document node_doc(const sgd_instance& s, const std::string& g, const std::string& id) {
  auto r = s.admin("GET", node_path(g, id), "", {}, 3s);
  rapidjson::Document d;
  if (r.status != 200) {
    d.SetNull();
    return d;
  }
  return json(r);
}

int weight_at(const sgd_instance& s, const std::string& g, const std::string& id) {
  auto d = node_doc(s, g, id);
  if (!d.IsObject() || !d.HasMember("weight") || !d["weight"].IsInt()) return -1;
  return d["weight"].GetInt();
}

std::string admin_state_at(const sgd_instance& s, const std::string& g, const std::string& id) {
  auto d = node_doc(s, g, id);
  return d.IsObject() ? str_field(d, "adminState") : "<no node>";
}

// An integer member (any JSON number type), nullopt if absent or not a number.
std::optional<long long> int_field(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject() || !v.HasMember(key)) return std::nullopt;
  auto& x = v[key];
  if (x.IsInt64()) return x.GetInt64();
  if (x.IsUint64()) return static_cast<long long>(x.GetUint64());
  if (x.IsDouble()) return static_cast<long long>(x.GetDouble());
  return std::nullopt;
}

bool near(std::optional<long long> v, long long want, long long tolerance) {
  return v && *v >= want - tolerance && *v <= want + tolerance;
}

// The peer entry of `address` in an /api/cluster document (null if absent).
const rapidjson::Value* peer_entry(const rapidjson::Value& cluster, const std::string& address) {
  if (!cluster.IsObject() || !cluster.HasMember("peers") || !cluster["peers"].IsArray())
    return nullptr;
  for (auto& p : cluster["peers"].GetArray())
    if (str_field(p, "address") == address) return &p;
  return nullptr;
}

// The libfaketime preload library, or "" if it is not installed.
std::string faketime_library() {
  const char* known[] = {"/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                         "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
                         "/usr/lib/faketime/libfaketime.so.1",
                         "/usr/local/lib/faketime/libfaketime.so.1"};
  for (auto* p : known)
    if (std::filesystem::exists(p)) return p;
  std::string out;
  if (run_and_wait("/usr/bin/dpkg", {"-L", "libfaketime"}, 10s, &out) == 0)
    for (auto& line : lines_of(out))
      if (line.size() > 17 && line.compare(line.size() - 17, 17, "/libfaketime.so.1") == 0 &&
          std::filesystem::exists(line))
        return line;
  return "";
}

// The first signed integer right before " ms" in `text`.
std::optional<long long> ms_in(const std::string& text) {
  for (std::size_t at = text.find(" ms"); at != std::string::npos; at = text.find(" ms", at + 1)) {
    std::size_t b = at;
    while (b > 0 && std::isdigit(static_cast<unsigned char>(text[b - 1]))) --b;
    if (b == at) continue;
    long long v = std::stoll(text.substr(b, at - b));
    if (b > 0 && text[b - 1] == '-') v = -v;
    return v;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("cluster: a later write equal to a stale local copy still wins",
          "[cluster][consistency]") {
  test_node_process backend("backend");
  sgd_cluster c(3);
  c.start_all();
  REQUIRE(wait_all_connected(c, 10s));
  auto &a = c[0], &b = c[1], &cc = c[2];
  const std::string g = "stale";

  std::map<std::string, std::string> id;
  for (auto n : {"node-x", "node-y", "node-d"}) {
    auto r = a.admin("POST", nodes_path(g), backend_registration(n, backend), {}, 30s);
    INFO("register " << n << ": " << show(r));
    REQUIRE(r.status == 201);
    id[n] = node_id_of(r);
    REQUIRE(!id[n].empty());
  }
  bool everywhere = wait_until(
      [&] {
        for (std::size_t i = 0; i < 3; ++i)
          for (auto& [n, nid] : id)
            if (weight_at(c[i], g, nid) != 1) return false;
        return true;
      },
      10s, 50ms);
  INFO(describe_cluster(c));
  REQUIRE(everywhere);

  // C goes away holding X=1, Y=1, D active; A changes all three.
  cc.kill9();
  auto r = a.admin("PATCH", node_path(g, id["node-x"]), R"({"weight":5})", {}, 15s);
  INFO("PATCH X at A: " << show(r));
  REQUIRE(r.status == 200);
  r = a.admin("PATCH", node_path(g, id["node-y"]), R"({"weight":5})", {}, 15s);
  INFO("PATCH Y at A: " << show(r));
  REQUIRE(r.status == 200);
  r = a.admin("POST", node_path(g, id["node-d"]) + "/drain", "", {}, 15s);
  INFO("drain D at A: " << show(r));
  REQUIRE(r.status == 200);
  REQUIRE(admin_state_at(a, g, id["node-d"]) == "draining");

  // A and B frozen; C comes back alone on its old data and, later in real time, writes values
  // two of which equal its stale local copy.
  REQUIRE(a.process().signal(SIGSTOP));
  REQUIRE(b.process().signal(SIGSTOP));
  cc.restart();
  REQUIRE(weight_at(cc, g, id["node-x"]) == 1);  // the stale copy
  auto px = cc.admin("PATCH", node_path(g, id["node-x"]), R"({"weight":1})", {}, 20s);
  auto py = cc.admin("PATCH", node_path(g, id["node-y"]), R"({"weight":7})", {}, 20s);
  auto pd = cc.admin("POST", node_path(g, id["node-d"]) + "/activate", "", {}, 20s);
  CHECK(px.status == 200);
  CHECK(py.status == 200);
  CHECK(pd.status == 200);
  INFO("at C: X " << show(px) << "\nY " << show(py) << "\nD " << show(pd));
  REQUIRE(a.process().signal(SIGCONT));
  REQUIRE(b.process().signal(SIGCONT));

  auto t0 = steady::now();
  bool conv = wait_digests_equal(c, 30s);
  INFO(describe_cluster(c));
  REQUIRE(conv);
  WARN("digests equal "
       << std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0).count()
       << " ms after SIGCONT");
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("controller " << i);
    CHECK(weight_at(c[i], g, id["node-x"]) == 1);
    CHECK(weight_at(c[i], g, id["node-y"]) == 7);
    CHECK(admin_state_at(c[i], g, id["node-d"]) == "active");
  }

  // Healthy again: an identical re-registration is still a write every controller holds.
  bool connected = wait_all_connected(c, 15s);
  INFO(describe_cluster(c));
  REQUIRE(connected);
  auto again = a.admin("POST", nodes_path(g), backend_registration("node-x", backend), {}, 30s);
  INFO("identical re-registration at A: " << show(again));
  CHECK((again.status == 200 || again.status == 201));
  CHECK(body_replicas(again) == 3);
}

TEST_CASE("cluster: a controller with a skewed clock is refused and reported",
          "[cluster][consistency]") {
  auto faketime = faketime_library();
  if (faketime.empty())
    FAIL(
        "libfaketime is not installed (libfaketime.so.1 not found; `scripts/deps.sh test` "
        "installs it, or apt-get install libfaketime)");
  test_node_process backend("backend");
  sgd_cluster c(3);
  const std::string g = "skew";

  // C alone first, one hour ahead: it cannot know yet, so it accepts a registration.
  // Under the sanitizer build, ASan must be told that a preload ahead of it is intended.
  std::string asan = std::getenv("ASAN_OPTIONS") ? std::getenv("ASAN_OPTIONS") : "";
  asan += (asan.empty() ? "" : ":") + std::string("verify_asan_link_order=0");
  auto& cc =
      c.start(2, {}, {{"LD_PRELOAD", faketime}, {"FAKETIME", "+1h"}, {"ASAN_OPTIONS", asan}});
  auto z = cc.admin("POST", nodes_path(g), backend_registration("node-z", backend), {}, 30s);
  INFO("registration of Z at C (alone): " << show(z));
  REQUIRE(z.status == 201);
  auto z_id = node_id_of(z);
  REQUIRE(!z_id.empty());

  c.start(0);
  c.start(1);
  auto &a = c[0], &b = c[1];
  const long long hour_ms = 3600000, tol_ms = 10000;
  // The verdicts hold once all three are connected and have measured each other: until A has
  // a sample of B, its only measured peer is C and A itself counts as the one that is off.
  auto connected_at = steady::now();
  bool connected = wait_all_connected(c, 15s);
  INFO(describe_cluster(c));
  CHECK(connected);
  auto refused = [](const rapidjson::Value& d) -> std::optional<bool> {
    if (!d.IsObject() || !d.HasMember("writesRefused") || !d["writesRefused"].IsBool())
      return std::nullopt;
    return d["writesRefused"].GetBool();
  };
  auto skew_seen = [&] {
    auto dc = cluster_status(cc);
    auto da = cluster_status(a);
    if (refused(dc) != std::optional<bool>(true) || refused(da) != std::optional<bool>(false))
      return false;
    if (!near(int_field(dc, "clockOffsetMs"), hour_ms, tol_ms)) return false;
    auto* pc = peer_entry(da, c.address(2));
    auto* pb = peer_entry(da, c.address(1));
    return pc && near(int_field(*pc, "clockOffsetMs"), hour_ms, tol_ms) && pb &&
           near(int_field(*pb, "clockOffsetMs"), 0, 500);
  };
  bool seen = wait_until(
      skew_seen,
      15s - std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - connected_at),
      100ms);
  INFO(describe_cluster(c));
  CHECK(seen);
  {
    auto dc = cluster_status(cc);
    auto da = cluster_status(a);
    REQUIRE(dc.IsObject());
    REQUIRE(da.IsObject());
    CHECK(dc.HasMember("writesRefused"));
    CHECK((dc.HasMember("writesRefused") && dc["writesRefused"].IsBool() &&
           dc["writesRefused"].GetBool()));
    auto c_off = int_field(dc, "clockOffsetMs");
    INFO("C clockOffsetMs " << (c_off ? std::to_string(*c_off) : "absent/null"));
    CHECK(near(c_off, hour_ms, tol_ms));
    auto* pc = peer_entry(da, c.address(2));
    REQUIRE(pc != nullptr);
    auto a_sees = int_field(*pc, "clockOffsetMs");
    INFO("A's peer entry for C: clockOffsetMs " << (a_sees ? std::to_string(*a_sees) : "absent"));
    CHECK(near(a_sees, hour_ms, tol_ms));
    CHECK((da.HasMember("writesRefused") && da["writesRefused"].IsBool() &&
           !da["writesRefused"].GetBool()));
    CHECK(int_field(da, "maxClockOffsetMs") == std::optional<long long>(500));
  }

  // Writes at C are refused, with the offset in the message.
  for (auto* what : {"PATCH", "POST"}) {
    auto w =
        std::string(what) == "PATCH"
            ? cc.admin("PATCH", node_path(g, z_id), R"({"weight":2})", {}, 15s)
            : cc.admin("POST", nodes_path(g), backend_registration("node-c2", backend), {}, 30s);
    INFO(what << " at C: " << show(w));
    CHECK(error_problem(w, 503) == "");
    auto d = json(w);
    std::string code, message;
    if (d.IsObject() && d.HasMember("error") && d["error"].IsObject()) {
      code = str_field(d["error"], "code");
      message = str_field(d["error"], "message");
    }
    CHECK(code == "clock_skew");
    CHECK(near(ms_in(message), hour_ms, tol_ms));
  }

  // Writes at A and B are accepted, and between the two correct clocks real time decides, even
  // though both merged C's record Z stamped an hour ahead.
  auto w = a.admin("POST", nodes_path(g), backend_registration("node-w", backend), {}, 30s);
  INFO("register W at A: " << show(w));
  REQUIRE(w.status == 201);
  auto w_id = node_id_of(w);
  auto p2 = a.admin("PATCH", node_path(g, w_id), R"({"weight":2})", {}, 15s);
  INFO("PATCH W=2 at A: " << show(p2));
  CHECK(p2.status == 200);
  std::this_thread::sleep_for(1s);  // deliberate spacing in real time between the two writes
  auto p3 = b.admin("PATCH", node_path(g, w_id), R"({"weight":3})", {}, 15s);
  INFO("PATCH W=3 at B: " << show(p3));
  CHECK(p3.status == 200);
  bool conv = wait_digests_equal(c, 15s, {0, 1});
  INFO(describe_cluster(c));
  CHECK(conv);
  CHECK(weight_at(a, g, w_id) == 3);
  CHECK(weight_at(b, g, w_id) == 3);
  WARN("C's record Z (stamped an hour ahead) at A: "
       << (node_doc(a, g, z_id).IsObject() ? "yes" : "no")
       << ", at B: " << (node_doc(b, g, z_id).IsObject() ? "yes" : "no"));

  // A reports C's offset in /metrics as well.
  auto samples = metric_samples(a, "sgd_cluster_peer_clock_offset_seconds");
  std::string all;
  bool found = false;
  for (auto& m : samples) {
    all += m.labels + " " + std::to_string(m.value) + "\n";
    if (m.value > 3590 && m.value < 3610) found = true;
  }
  INFO("A's sgd_cluster_peer_clock_offset_seconds samples:\n" << all);
  CHECK(found);
}

TEST_CASE("cluster: a controller away longer than the tombstone TTL does not bring deletes back",
          "[cluster][consistency]") {
  test_node_process backend("backend");
  sgd_cluster c(3, "s3cret-cluster", {"--tombstone-ttl", "2"});
  c.start_all();
  REQUIRE(wait_all_connected(c, 10s));
  auto &a = c[0], &b = c[1], &cc = c[2];
  const std::string g = "ttl";

  std::map<std::string, std::string> id;
  for (auto n : {"node-k1", "node-k2"}) {
    auto r = a.admin("POST", nodes_path(g), backend_registration(n, backend), {}, 30s);
    INFO("register " << n << ": " << show(r));
    REQUIRE(r.status == 201);
    id[n] = node_id_of(r);
  }
  REQUIRE(wait_until(
      [&] {
        return node_doc(cc, g, id["node-k1"]).IsObject() &&
               node_doc(cc, g, id["node-k2"]).IsObject();
      },
      10s, 50ms));

  cc.kill9();
  auto d = a.admin("DELETE", node_path(g, id["node-k1"]), "", {}, 15s);
  INFO("delete K1 at A: " << show(d));
  REQUIRE(d.status == 204);
  auto tombstones = [](const sgd_instance& s) {
    auto doc = cluster_status(s);
    return doc.IsObject() ? int_field(doc, "tombstones") : std::nullopt;
  };
  auto t0 = steady::now();
  bool collected = wait_until(
      [&] {
        auto ta = tombstones(a), tb = tombstones(b);
        return ta && tb && *ta == 0 && *tb == 0;
      },
      30s, 200ms);
  INFO(describe_cluster(c));
  REQUIRE(collected);
  WARN("tombstone collected on A and B "
       << std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0).count()
       << " ms after the delete");

  // C comes back with K1 still in its journal.
  cc.restart();
  bool conv = wait_digests_equal(c, 30s);
  INFO(describe_cluster(c));
  REQUIRE(conv);
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("controller " << i);
    CHECK(c[i].admin("GET", node_path(g, id["node-k1"]), "", {}, 3s).status == 404);
    CHECK(c[i].admin("GET", node_path(g, id["node-k2"]), "", {}, 3s).status == 200);
  }
  auto dc = cluster_status(cc);
  INFO("C: " << to_text(dc));
  CHECK(int_field(dc, "fullTransfers").value_or(0) >= 1);
  CHECK(int_field(dc, "staleRecordsDropped").value_or(0) >= 1);  // K1, older than the horizon
  CHECK(metric_sample(cc, "sgd_cluster_full_transfers_total").value_or(0) >= 1);

  // A write at C after it rejoined reaches everyone.
  auto p = cc.admin("PATCH", node_path(g, id["node-k2"]), R"({"weight":9})", {}, 15s);
  INFO("PATCH K2 at C: " << show(p));
  CHECK(p.status == 200);
  conv = wait_digests_equal(c, 15s);
  INFO(describe_cluster(c));
  CHECK(conv);
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("controller " << i);
    CHECK(weight_at(c[i], g, id["node-k2"]) == 9);
    CHECK(c[i].admin("GET", node_path(g, id["node-k1"]), "", {}, 3s).status == 404);
  }
}

namespace {

enum class outcome { ok, failed, indeterminate };

// One write of the chaos run as the client saw it. Times: ms of the test's steady clock.
struct write_op {
  enum kind_t { patch, reg, del } kind;
  int writer = 0;
  std::size_t controller = 0;
  std::string key;    // nodeId (patch, delete; registration once answered)
  std::string name;   // registration: node name
  std::string value;  // patch / registration: metadata "w"
  double invoke_ms = 0, ack_ms = 0;
  outcome out = outcome::failed;
  int status = 0;
  std::string error;
};

// Not applied for sure: the connection was never made, or a 4xx answer. Applied: 2xx. Anything
// else (timeout, reset after sending, 5xx) may or may not have been applied.
outcome classify(const http_result& r) {
  if (!r.error.empty())
    return r.error.rfind("connect: ", 0) == 0 ? outcome::failed : outcome::indeterminate;
  if (r.status >= 200 && r.status < 300) return outcome::ok;
  if (r.status >= 400 && r.status < 500) return outcome::failed;
  return outcome::indeterminate;
}

// Joins the threads on scope exit (also when a REQUIRE throws), after setting `stop`.
struct thread_group {
  std::atomic<bool>& stop;
  std::vector<std::thread> threads;
  ~thread_group() {
    stop = true;
    for (auto& t : threads)
      if (t.joinable()) t.join();
  }
};

struct node_state {
  std::string name, w;
};

// nodeId -> name and metadata "w" of every node of `g` at this controller; nullopt on no answer.
std::optional<std::map<std::string, node_state>> nodes_at(const sgd_instance& s,
                                                          const std::string& g) {
  auto r = s.admin("GET", nodes_path(g), "", {}, 5s);
  if (r.status != 200) return std::nullopt;
  auto d = json(r);
  if (!d.IsObject() || !d.HasMember("nodes") || !d["nodes"].IsArray()) return std::nullopt;
  std::map<std::string, node_state> out;
  for (auto& n : d["nodes"].GetArray()) {
    node_state st;
    st.name = str_field(n, "name");
    if (n.HasMember("metadata")) st.w = str_field(n["metadata"], "w");
    out[str_field(n, "nodeId")] = st;
  }
  return out;
}

}  // namespace

TEST_CASE("cluster: every acknowledged write survives a bounded chaos run",
          "[cluster][consistency]") {
  constexpr int fixed_nodes = 20;
  constexpr int writers_per_controller = 2;
  constexpr auto chaos_time = 60s;
  constexpr auto client_timeout = 3s;
  constexpr int max_writes_per_writer = 4000;
  const std::string g = "chaos";

  test_node_process backend("backend");
  sgd_cluster c(3);
  c.start_all();
  REQUIRE(wait_all_connected(c, 10s));
  const auto t_start = steady::now();
  auto now_ms = [&] {
    return std::chrono::duration<double, std::milli>(steady::now() - t_start).count();
  };

  // The fixed keys, each starting with metadata w = "init" (an acknowledged write before all).
  std::vector<std::string> fixed;
  for (int k = 0; k < fixed_nodes; ++k) {
    auto r = c[0].admin(
        "POST", nodes_path(g),
        backend_registration("fixed-" + std::to_string(k), backend, 1, R"({"w":"init"})"), {}, 30s);
    INFO("register fixed-" << k << ": " << show(r));
    REQUIRE(r.status == 201);
    fixed.push_back(node_id_of(r));
  }
  const double init_ack_ms = now_ms();
  bool ready = wait_digests_equal(c, 10s);
  INFO(describe_cluster(c));
  REQUIRE(ready);

  const unsigned seed = static_cast<unsigned>(std::random_device{}());
  std::mutex mu;
  std::vector<write_op> log;
  std::atomic<bool> stop{false};
  const auto writers_end = steady::now() + chaos_time;
  std::atomic<int> kills{0}, stops{0};

  {
    thread_group writers{stop, {}};
    for (std::size_t ctl = 0; ctl < 3; ++ctl)
      for (int k = 0; k < writers_per_controller; ++k) {
        int wi = static_cast<int>(ctl) * writers_per_controller + k;
        writers.threads.emplace_back([&, ctl, wi] {
          std::mt19937 rng(seed + 7919u * static_cast<unsigned>(wi));
          std::vector<std::string> created;  // acknowledged registrations not yet deleted
          std::vector<write_op> mine;
          for (int seq = 0; seq < max_writes_per_writer && !stop && steady::now() < writers_end;
               ++seq) {
            write_op op;
            op.writer = wi;
            op.controller = ctl;
            op.value = "w" + std::to_string(wi) + "-" + std::to_string(seq);
            int dice = static_cast<int>(rng() % 100);
            std::string method, target, body;
            if (dice < 5 && !created.empty()) {
              op.kind = write_op::del;
              auto pick = rng() % created.size();
              op.key = created[pick];
              created.erase(created.begin() + static_cast<long>(pick));
              method = "DELETE";
              target = node_path(g, op.key);
            } else if (dice < 15) {
              op.kind = write_op::reg;
              op.name = "c" + std::to_string(wi) + "-" + std::to_string(seq);
              method = "POST";
              target = nodes_path(g);
              body = backend_registration(op.name, backend, 1, "{\"w\":\"" + op.value + "\"}");
            } else {
              op.kind = write_op::patch;
              op.key = fixed[rng() % fixed.size()];
              method = "PATCH";
              target = node_path(g, op.key);
              body = "{\"metadata\":{\"w\":\"" + op.value + "\"}}";
            }
            op.invoke_ms = now_ms();
            auto r = c[ctl].admin(method, target, body, {}, client_timeout);
            op.ack_ms = now_ms();
            op.out = classify(r);
            op.status = r.status;
            op.error = r.error;
            if (op.kind == write_op::reg && op.out == outcome::ok) {
              op.key = node_id_of(r);
              if (!op.key.empty()) created.push_back(op.key);
            }
            bool ok = op.out == outcome::ok;
            mine.push_back(std::move(op));
            std::this_thread::sleep_for(ok ? 20ms : 100ms);  // pacing, not a wait
          }
          std::lock_guard<std::mutex> lock(mu);
          log.insert(log.end(), mine.begin(), mine.end());
        });
      }

    // The nemesis, on this thread (a child dies with the thread that started it): one
    // controller at a time is killed and restarted, or stopped and continued.
    std::mt19937 rng(seed);
    auto ms_between = [&](int lo, int hi) {
      return std::chrono::milliseconds(lo + static_cast<int>(rng() % (hi - lo + 1)));
    };
    std::string schedule;
    while (steady::now() + 9s < writers_end) {
      std::this_thread::sleep_for(ms_between(3000, 5000));  // the fault schedule
      std::size_t victim = rng() % 3;
      auto outage = ms_between(1000, 3000);
      if (rng() % 2 == 0) {
        schedule +=
            "kill " + std::to_string(victim) + " " + std::to_string(outage.count()) + "ms; ";
        ++kills;
        c[victim].kill9();
        std::this_thread::sleep_for(outage);
        c[victim].restart();
      } else {
        schedule +=
            "stop " + std::to_string(victim) + " " + std::to_string(outage.count()) + "ms; ";
        ++stops;
        REQUIRE(c[victim].process().signal(SIGSTOP));
        std::this_thread::sleep_for(outage);
        REQUIRE(c[victim].process().signal(SIGCONT));
      }
    }
    UNSCOPED_INFO("nemesis (seed " << seed << "): " << schedule);
    // Undisturbed writes until the end of the run; then the writers are stopped and joined.
    std::this_thread::sleep_until(writers_end);
  }
  for (std::size_t i = 0; i < 3; ++i) REQUIRE(c[i].alive());

  auto t_conv = steady::now();
  bool conv = wait_digests_equal(c, 30s);
  auto conv_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t_conv).count();
  INFO(describe_cluster(c));
  CHECK(conv);

  // Per key: the writes that may be its final value, and the latest invoke of an acknowledged one.
  std::map<std::string, std::map<std::string, const write_op*>> candidates;  // key -> value -> op
  std::map<std::string, double> last_acked_invoke;
  write_op init;
  init.kind = write_op::patch;
  init.value = "init";
  init.invoke_ms = 0;
  init.ack_ms = init_ack_ms;
  init.out = outcome::ok;
  for (auto& k : fixed) candidates[k]["init"] = &init;
  std::map<std::string, const write_op*> registered;  // nodeId -> acknowledged registration
  std::map<std::string, const write_op*> deleted;     // nodeId -> its delete
  int ok = 0, failed = 0, indeterminate = 0, patches = 0, regs = 0, dels = 0;
  std::map<int, int> statuses;
  for (auto& op : log) {
    (op.out == outcome::ok ? ok : op.out == outcome::failed ? failed : indeterminate)++;
    if (op.status) ++statuses[op.status];
    if (op.kind == write_op::patch) {
      ++patches;
      if (op.out != outcome::failed) candidates[op.key][op.value] = &op;
      if (op.out == outcome::ok)
        last_acked_invoke[op.key] = std::max(last_acked_invoke[op.key], op.invoke_ms);
    } else if (op.kind == write_op::reg) {
      ++regs;
      if (op.out == outcome::ok && !op.key.empty()) registered[op.key] = &op;
    } else {
      ++dels;
      deleted[op.key] = &op;
    }
  }
  std::string status_text;
  for (auto& [s, n] : statuses) status_text += std::to_string(s) + ":" + std::to_string(n) + " ";
  WARN("chaos run (seed " << seed << "): " << log.size() << " writes (" << patches << " patches, "
                          << regs << " registrations, " << dels << " deletes): " << ok << " ok, "
                          << failed << " failed, " << indeterminate << " indeterminate; statuses "
                          << status_text << "; " << kills << " kills, " << stops
                          << " stops; converged " << conv_ms << " ms after the run");
  CHECK(ok > 500);

  for (std::size_t i = 0; i < 3; ++i) {
    auto nodes = nodes_at(c[i], g);
    INFO("controller " << i);
    REQUIRE(nodes.has_value());
    int lost = 0, resurrected = 0, foreign = 0, stale = 0, missing_fixed = 0;
    // (a) acknowledged registrations stay unless deleted with an acknowledgement; acknowledged
    // deletes stay deleted.
    for (auto& [nid, reg] : registered) {
      auto d = deleted.find(nid);
      bool present = nodes->count(nid) > 0;
      if (d == deleted.end() || d->second->out == outcome::failed) {
        if (!present) {
          ++lost;
          UNSCOPED_INFO("controller " << i << ": acknowledged registration " << reg->name << " ("
                                      << nid << ", at " << reg->controller << ", acked "
                                      << reg->ack_ms << " ms) is missing");
        }
      } else if (d->second->out == outcome::ok && present) {
        ++resurrected;
        UNSCOPED_INFO("controller " << i << ": " << reg->name << " deleted with ack at "
                                    << d->second->controller << " (" << d->second->ack_ms
                                    << " ms) is present");
      }
    }
    // (b) each fixed key holds the value of a write that may have happened, and not one that
    // ended (acknowledged) more than 20 ms before another acknowledged write on it began.
    for (auto& k : fixed) {
      auto n = nodes->find(k);
      if (n == nodes->end()) {
        ++missing_fixed;
        UNSCOPED_INFO("controller " << i << ": fixed node " << k << " is missing");
        continue;
      }
      auto& v = n->second.w;
      auto cand = candidates[k].find(v);
      if (cand == candidates[k].end()) {
        ++foreign;
        UNSCOPED_INFO("controller " << i << ": " << n->second.name << " holds w=\"" << v
                                    << "\", not the value of any possible write");
        continue;
      }
      auto* w1 = cand->second;
      auto last = last_acked_invoke.count(k) ? last_acked_invoke[k] : -1.0;
      if (w1->out == outcome::ok && last > w1->ack_ms + 20) {
        ++stale;
        UNSCOPED_INFO("controller "
                      << i << ": " << n->second.name << " holds w=\"" << v << "\" (at "
                      << w1->controller << ", invoked " << w1->invoke_ms << ", acked " << w1->ack_ms
                      << " ms) though an acknowledged write was invoked at " << last << " ms");
      }
    }
    CHECK(lost == 0);
    CHECK(resurrected == 0);
    CHECK(missing_fixed == 0);
    CHECK(foreign == 0);
    CHECK(stale == 0);
  }
}
