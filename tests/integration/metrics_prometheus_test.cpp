// Metrics: sgd's /metrics (admin listener) checked three ways: promtool's exposition linter on
// a live body, exact counter movements for a known amount of traffic, and a real Prometheus
// scraping sgd on loopback (with the shipped alert rules loaded).
#include "tests/support/admin_helpers.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sgd_process.hpp"
#include "tests/support/test_node.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace sg::test;

// Health checks slow enough that they never flap while the test runs.
constexpr const char* kSteadyHealth = R"("healthCheck":{"intervalMs":1000,"timeoutMs":900})";

// ---- A small parser for the Prometheus text exposition format (0.0.4). ----
struct sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct exposition {
  std::vector<sample> samples;
  std::map<std::string, std::string> types;  // family name -> counter|gauge|histogram|...
  std::vector<std::string> errors;           // lines the parser could not read

  // Sum of every sample named `name` whose labels include all of `match`.
  double sum(const std::string& name, const std::map<std::string, std::string>& match = {}) const {
    double total = 0;
    for (auto& s : samples) {
      if (s.name != name) continue;
      bool ok = true;
      for (auto& [k, v] : match) {
        auto it = s.labels.find(k);
        if (it == s.labels.end() || it->second != v) ok = false;
      }
      if (ok) total += s.value;
    }
    return total;
  }
  size_t count(const std::string& name,
               const std::map<std::string, std::string>& match = {}) const {
    size_t n = 0;
    for (auto& s : samples) {
      if (s.name != name) continue;
      bool ok = true;
      for (auto& [k, v] : match) {
        auto it = s.labels.find(k);
        if (it == s.labels.end() || it->second != v) ok = false;
      }
      n += ok;
    }
    return n;
  }
};

exposition parse_exposition(const std::string& text) {
  exposition out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream h(line);
      std::string hash, kind, name, type;
      h >> hash >> kind >> name >> type;
      if (kind == "TYPE") out.types[name] = type;
      continue;
    }
    sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    bool bad = s.name.empty();
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (!bad && i < line.size() && line[i] != '}') {
        auto eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
          bad = true;
          break;
        }
        std::string key = line.substr(i, eq - i), value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
            value += line[j] == 'n' ? '\n' : line[j];
          } else {
            value += line[j];
          }
        }
        if (j >= line.size()) {
          bad = true;
          break;
        }
        s.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) bad = true;
      ++i;  // '}'
    }
    if (!bad) {
      while (i < line.size() && line[i] == ' ') ++i;
      auto rest = line.substr(i);
      auto sp = rest.find(' ');  // an optional timestamp follows
      auto num = rest.substr(0, sp);
      char* end = nullptr;
      s.value = std::strtod(num.c_str(), &end);
      bad = num.empty() || end != num.c_str() + num.size();
    }
    if (bad)
      out.errors.push_back(line);
    else
      out.samples.push_back(std::move(s));
  }
  return out;
}

exposition scrape(const sgd_instance& s) {
  auto r = request("GET", s.admin_port(), "/metrics");
  INFO("GET /metrics: " << r.status << " " << r.error);
  REQUIRE(r.status == 200);
  CHECK(r.header("Content-Type").find("text/plain") != std::string::npos);
  auto e = parse_exposition(r.body);
  INFO("unparsable lines: " << e.errors.size()
                            << (e.errors.empty() ? "" : " first: " + e.errors[0]));
  REQUIRE(e.errors.empty());
  return e;
}

// An executable found on PATH, or "".
std::string find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    auto candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

TEST_CASE("live /metrics passes promtool check metrics", "[metrics]") {
  auto promtool = find_in_path("promtool");
  if (promtool.empty()) {
    WARN("promtool not installed (Debian package 'prometheus'): exposition lint NOT checked");
    return;
  }
  sgd_instance sgd;
  test_node_process a("lint-a");
  put_group_fields(sgd, "lint", std::string(R"("strategy":"round_robin",)") + kSteadyHealth);
  add_node(sgd, "lint", a);
  REQUIRE(sgd.proxy("GET", "/groups/lint/x").status == 200);  // every family has samples

  auto r = request("GET", sgd.admin_port(), "/metrics");
  REQUIRE(r.status == 200);
  temp_dir tmp{"sgd-metrics-lint"};
  auto file = tmp.path + "/metrics.txt";
  write_file(file, r.body);

  std::string out;
  int rc = run_and_wait("/bin/sh", {"-c", "'" + promtool + "' check metrics < '" + file + "'"},
                        std::chrono::seconds(30), &out);
  if (!out.empty()) WARN("promtool check metrics reported:\n" << out);
  INFO("promtool exit " << rc << ": " << out);
  CHECK(rc == 0);
  CHECK(out.empty());  // no lint problems at all
}

TEST_CASE("metrics move by exactly the traffic sent", "[metrics]") {
  sgd_instance sgd;
  test_node_process a("mx-a"), b("mx-b");
  put_group_fields(sgd, "mx", std::string(R"("strategy":"round_robin",)") + kSteadyHealth);
  auto id_a = add_node(sgd, "mx", a);
  auto id_b = add_node(sgd, "mx", b);

  auto before = scrape(sgd);
  CHECK(before.types["sgd_requests_total"] == "counter");
  CHECK(before.types["sgd_request_duration_seconds"] == "histogram");
  CHECK(before.types["sgd_node_state"] == "gauge");
  CHECK(before.types["sgd_in_flight_requests"] == "gauge");
  CHECK(before.sum("sgd_registry_nodes", {{"group", "mx"}}) == 2);
  CHECK(before.count("sgd_requests_total", {{"group", "mx"}}) == 12);  // 2 nodes x 6 classes
  CHECK(before.sum("sgd_build_info") == 1);

  // 10 POSTs with a 100-byte body (2xx), then 3 answered 404 and 2 answered 503 by the nodes.
  const std::string body(100, 'x');
  for (int i = 0; i < 10; ++i) {
    auto r = sgd.proxy("POST", "/groups/mx/echo", body);
    INFO(r.status << " " << r.error);
    REQUIRE(r.status == 200);
  }
  a.set_status(404);
  b.set_status(404);
  for (int i = 0; i < 3; ++i) REQUIRE(sgd.proxy("GET", "/groups/mx/missing").status == 404);
  a.set_status(503);
  b.set_status(503);
  for (int i = 0; i < 2; ++i) REQUIRE(sgd.proxy("GET", "/groups/mx/broken").status == 503);
  a.reset();
  b.reset();
  constexpr double total = 15;

  // The duration histogram and the in-flight gauge are updated just after the last response
  // byte is written, so the client can be a hair faster than them: wait briefly.
  exposition after;
  wait_until(
      [&] {
        after = scrape(sgd);
        return after.sum("sgd_request_duration_seconds_count", {{"group", "mx"}}) -
                       before.sum("sgd_request_duration_seconds_count", {{"group", "mx"}}) >=
                   total &&
               after.sum("sgd_in_flight_requests", {{"group", "mx"}}) == 0;
      },
      std::chrono::seconds(2));

  auto delta = [&](const std::string& name, const std::map<std::string, std::string>& m) {
    return after.sum(name, m) - before.sum(name, m);
  };
  CHECK(delta("sgd_requests_total", {{"group", "mx"}, {"code", "2xx"}}) == 10);
  CHECK(delta("sgd_requests_total", {{"group", "mx"}, {"code", "4xx"}}) == 3);
  CHECK(delta("sgd_requests_total", {{"group", "mx"}, {"code", "5xx"}}) == 2);
  for (auto c : {"error", "1xx", "3xx"})
    CHECK(delta("sgd_requests_total", {{"group", "mx"}, {"code", c}}) == 0);
  CHECK(delta("sgd_requests_total", {{"group", "mx"}}) == total);
  // Round robin: the 10 successes split 5/5, and the labels carry node id and name.
  CHECK(delta("sgd_requests_total", {{"node", id_a}, {"name", "mx-a"}, {"code", "2xx"}}) == 5);
  CHECK(delta("sgd_requests_total", {{"node", id_b}, {"name", "mx-b"}, {"code", "2xx"}}) == 5);

  CHECK(delta("sgd_request_duration_seconds_count", {{"group", "mx"}}) == total);
  CHECK(after.sum("sgd_request_duration_seconds_bucket", {{"group", "mx"}, {"le", "+Inf"}}) ==
        after.sum("sgd_request_duration_seconds_count", {{"group", "mx"}}));
  CHECK(delta("sgd_request_duration_seconds_sum", {{"group", "mx"}}) > 0);
  CHECK(delta("sgd_request_duration_seconds_sum", {{"group", "mx"}}) < total * 5);
  CHECK(delta("sgd_request_bytes_total", {{"group", "mx"}}) == 10 * 100);
  CHECK(delta("sgd_response_bytes_total", {{"group", "mx"}}) > 0);
  CHECK(delta("sgd_retries_total", {{"group", "mx"}}) == 0);
  CHECK(delta("sgd_rejected_requests_total", {{"group", "mx"}}) == 0);
  CHECK(delta("sgd_upstream_connect_failures_total", {{"group", "mx"}}) == 0);

  CHECK(after.sum("sgd_in_flight_requests", {{"group", "mx"}}) == 0);
  for (auto* id : {&id_a, &id_b}) {
    INFO("node " << *id);
    CHECK(after.sum("sgd_node_state", {{"group", "mx"}, {"node", *id}, {"state", "healthy"}}) == 1);
    CHECK(after.sum("sgd_node_state", {{"group", "mx"}, {"node", *id}}) == 1);  // one state only
    CHECK(after.count("sgd_node_state", {{"group", "mx"}, {"node", *id}}) == 4);
    CHECK(after.sum("sgd_health_checks_total", {{"node", *id}, {"result", "pass"}}) >= 1);
    CHECK(after.sum("sgd_health_checks_total", {{"node", *id}, {"result", "fail"}}) == 0);
    CHECK(after.sum("sgd_alerts_total", {{"node", *id}}) == 0);
  }
  CHECK(after.sum("sgd_controller_draining") == 0);
  CHECK(after.sum("process_resident_memory_bytes") > 0);
  CHECK(after.sum("process_open_fds") > 0);
  auto now = static_cast<double>(std::time(nullptr));
  CHECK(after.sum("process_start_time_seconds") > now - 600);
  CHECK(after.sum("process_start_time_seconds") <= now + 5);
}

TEST_CASE("a real Prometheus scrapes sgd and sees its traffic", "[metrics]") {
  auto prometheus = find_in_path("prometheus");
  if (prometheus.empty()) {
    WARN("prometheus not installed (Debian package 'prometheus'): real scrape NOT tested");
    return;
  }
  sgd_instance sgd;
  test_node_process a("prom-a");
  put_group_fields(sgd, "prom", std::string(R"("strategy":"round_robin",)") + kSteadyHealth);
  auto id_a = add_node(sgd, "prom", a);

  temp_dir tmp{"sgd-prometheus"};
  auto rules =
      std::filesystem::path(TEST_SOURCE_DIR).parent_path() / "deploy/prometheus/alerts.yml";
  REQUIRE(std::filesystem::exists(rules));
  auto config = tmp.path + "/prom.yml";
  write_file(config,
             "global:\n"
             "  scrape_interval: 1s\n"
             "  evaluation_interval: 1s\n"
             "rule_files:\n"
             "  - '" +
                 rules.string() +
                 "'\n"
                 "scrape_configs:\n"
                 "  - job_name: sgd\n"
                 "    metrics_path: /metrics\n"
                 "    static_configs:\n"
                 "      - targets: ['127.0.0.1:" +
                 std::to_string(sgd.admin_port()) + "']\n");

  auto port = free_port();
  REQUIRE(port != 0);
  auto log = tmp.path + "/prometheus.log";
  child_process prom;  // destroyed (SIGKILL) before tmp is removed
  REQUIRE(prom.start(prometheus,
                     {"--config.file=" + config, "--storage.tsdb.path=" + tmp.path + "/tsdb",
                      "--web.listen-address=127.0.0.1:" + std::to_string(port), "--log.level=warn"},
                     {}, log));
  {
    bool ready = wait_until(
        [&] { return request("GET", port, "/-/ready", "", {}, 1s).status == 200 || !prom.alive(); },
        std::chrono::seconds(15), std::chrono::milliseconds(50));
    INFO("prometheus log:\n" << read_text_file(log));
    REQUIRE(prom.alive());
    REQUIRE(ready);
  }

  // Steady traffic through sgd while Prometheus scrapes.
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0}, failed{0};
  std::thread traffic([&] {
    while (!stop) {
      auto r = sgd.proxy("GET", "/groups/prom/load");
      (r.status == 200 ? sent : failed)++;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  struct joiner {
    std::atomic<bool>& stop;
    std::thread& t;
    ~joiner() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } join_traffic{stop, traffic};

  // The value of an instant query's only result, if there is exactly one.
  auto query = [&](const std::string& promql) -> std::optional<double> {
    auto r = request("GET", port, "/api/v1/query?query=" + url_encode(promql), "", {}, 2s);
    if (r.status != 200) return std::nullopt;
    auto d = json(r);
    if (!d.IsObject() || !d.HasMember("data") || !d["data"].HasMember("result"))
      return std::nullopt;
    auto& res = d["data"]["result"];
    if (!res.IsArray() || res.Size() != 1) return std::nullopt;
    auto& v = res[0]["value"];
    if (!v.IsArray() || v.Size() != 2 || !v[1].IsString()) return std::nullopt;
    return std::strtod(v[1].GetString(), nullptr);
  };

  std::optional<double> up, rate, healthy;
  std::string rules_body;
  bool seen = wait_until(
      [&] {
        up = query(R"(up{job="sgd"})");
        rate = query(R"(sum(rate(sgd_requests_total{group="prom",code="2xx"}[5s])))");
        healthy = query(R"(sgd_node_state{group="prom",node=")" + id_a + R"(",state="healthy"})");
        return up == 1.0 && rate && *rate > 0 && healthy == 1.0;
      },
      std::chrono::seconds(20), std::chrono::milliseconds(250));
  stop = true;
  INFO("up=" << (up ? std::to_string(*up) : "none")
             << " rate=" << (rate ? std::to_string(*rate) : "none")
             << " healthy=" << (healthy ? std::to_string(*healthy) : "none") << " sent=" << sent
             << " failed=" << failed << "\nprometheus log:\n"
             << read_text_file(log));
  CHECK(seen);
  CHECK(failed == 0);
  CHECK(sent > 0);

  // The shipped alert rules load in a real Prometheus and evaluate without errors; with a
  // healthy group nothing fires.
  auto r = request("GET", port, "/api/v1/rules", "", {}, 2s);
  REQUIRE(r.status == 200);
  auto d = json(r);
  REQUIRE(d.IsObject());
  int rule_count = 0, bad = 0;
  std::string firing;
  for (auto& g : d["data"]["groups"].GetArray())
    for (auto& rule : g["rules"].GetArray()) {
      ++rule_count;
      if (std::string(rule["health"].GetString()) == "err") ++bad;
      if (rule.HasMember("state") && std::string(rule["state"].GetString()) == "firing")
        firing += std::string(rule["name"].GetString()) + " ";
    }
  INFO("rules: " << r.body);
  CHECK(rule_count == 9);  // every rule of deploy/prometheus/alerts.yml
  CHECK(bad == 0);
  CHECK(firing.empty());
}

// --metrics off (the switch bench/proxy uses to price the metric updates): /metrics says so with
// a JSON error, and the data plane works as before.
TEST_CASE("metrics switched off: /metrics answers 404 metrics_off and proxying works",
          "[metrics]") {
  sgd_options o;
  o.extra_args = {"--metrics", "off"};
  sgd_instance sgd(o);
  test_node_process a("mo-a");
  put_group_fields(sgd, "mo", kSteadyHealth);
  add_node(sgd, "mo", a);
  for (int i = 0; i < 3; ++i) REQUIRE(sgd.proxy("GET", "/groups/mo/hello").status == 200);
  auto m = sgd.admin("GET", "/metrics");
  CHECK(m.status == 404);
  CHECK(m.body.find("\"metrics_off\"") != std::string::npos);
  CHECK(m.body.find("--metrics off") != std::string::npos);
}
