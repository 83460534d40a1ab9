// Deploy examples: deploy/haproxy.cfg and deploy/nginx.conf, run by the real haproxy and nginx in
// front of two clustered sgd controllers, do what they promise. HAProxy takes a controller out
// once its ping answers 418; nginx moves every call to the other controller while one stops on
// SIGTERM. haproxy.cfg runs unmodified (ports from the environment); nginx.conf gets only its
// addresses and ports substituted. Both tools are required (scripts/deps.sh test installs them).
#include "tests/support/admin_helpers.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sgd_process.hpp"
#include "tests/support/test_node.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace sg::test;
using namespace std::chrono_literals;

const std::string deploy_dir = std::string(TEST_SOURCE_DIR) + "/../deploy";

// The executable `name` from PATH or the sbin directories (root's tools live there); "" if none.
std::string find_tool(const std::string& name) {
  std::string dirs = "/usr/local/sbin:/usr/sbin:/sbin";
  if (const char* p = std::getenv("PATH")) dirs = std::string(p) + ":" + dirs;
  std::istringstream in(dirs);
  for (std::string d; std::getline(in, d, ':');) {
    auto path = (d.empty() ? "." : d) + "/" + name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

// Fails (not skips) without the tool: CI installs it, so a missing one is a broken setup.
std::string require_tool(const std::string& name) {
  auto path = find_tool(name);
  INFO(name << " not found in PATH or /usr/sbin: install it with scripts/deps.sh test");
  REQUIRE(!path.empty());
  return path;
}

// Two controllers replicating one registry, each given both cluster addresses.
struct controller_pair {
  std::vector<std::unique_ptr<sgd_instance>> ctl;

  explicit controller_pair(int drain_grace_s) {
    std::vector<std::string> addrs;
    std::set<std::uint16_t> taken;
    while (addrs.size() < 2) {
      auto p = free_port();
      REQUIRE(p != 0);
      if (taken.insert(p).second) addrs.push_back("127.0.0.1:" + std::to_string(p));
    }
    auto peers = addrs[0] + "," + addrs[1];
    for (auto& a : addrs) {
      sgd_options o;
      o.log_level = "info";
      o.extra_args = {"--drain-grace",    std::to_string(drain_grace_s),
                      "--threads",        "1",
                      "--cluster-listen", a,
                      "--peers",          peers,
                      "--cluster-secret", "deploy-test"};
      ctl.push_back(std::make_unique<sgd_instance>(o));
    }
  }

  sgd_instance& operator[](std::size_t i) { return *ctl[i]; }

  static bool peer_connected(const sgd_instance& s) {
    auto r = s.admin("GET", "/api/cluster", "", {}, 2s);
    if (r.status != 200) return false;
    auto d = json(r);
    if (!d.IsObject() || !d.HasMember("peers") || !d["peers"].IsArray() || d["peers"].Size() != 1)
      return false;
    auto& p = d["peers"][0];
    return p.HasMember("state") && p["state"].IsString() &&
           std::string(p["state"].GetString()) == "connected";
  }
  // Both see each other, so a write is acknowledged by both before it is answered.
  void wait_connected() {
    bool up =
        wait_until([&] { return peer_connected(*ctl[0]) && peer_connected(*ctl[1]); }, 10s, 20ms);
    INFO(ctl[0]->log_text() << "\n---\n" << ctl[1]->log_text());
    REQUIRE(up);
  }
};

// The sum of sgd_requests_total (requests this controller forwarded to a node); -1 if unreadable.
double requests_total(const sgd_instance& s) {
  auto r = s.admin("GET", "/metrics", "", {}, 3s);
  if (r.status != 200) return -1;
  std::istringstream in(r.body);
  double sum = 0;
  for (std::string line; std::getline(in, line);)
    if (line.rfind("sgd_requests_total{", 0) == 0 || line.rfind("sgd_requests_total ", 0) == 0)
      sum += std::stod(line.substr(line.rfind(' ') + 1));
  return sum;
}

// Registers `node` in `g` with the admin API on `admin_port` (a controller or a load balancer's
// admin frontend); REQUIREs 201 acknowledged by both controllers.
void register_through(std::uint16_t admin_port, const std::string& g,
                      const test_node_process& node) {
  auto r = request("POST", admin_port, "/api/server-groups/" + g + "/nodes",
                   registration_body(node.name(), node.base_url()),
                   {{"Content-Type", "application/json"}});
  INFO("registration: " << r.status << " " << r.error << " " << r.body);
  REQUIRE(r.status == 201);
  CHECK(r.header("X-Sgd-Replicas") == "2");
}

// Each controller routes the group itself (a replicated node is routed once its check passed).
void wait_routed_by_both(controller_pair& c, const std::string& g) {
  for (std::size_t i = 0; i < 2; ++i) {
    INFO("controller " << i + 1 << " never routed group " << g);
    REQUIRE(wait_until(
        [&] { return c[i].proxy("GET", "/groups/" + g + "/warm", "", {}, 2s).status == 200; }, 10s,
        20ms));
  }
}

// One call through a load balancer: "" on a 200 from `node`, else what came back.
std::string call_via(std::uint16_t port, const std::string& g, const std::string& node,
                     bool post = false) {
  auto r = post ? request("POST", port, "/groups/" + g + "/infer", R"({"prompt":"hi"})",
                          {{"Content-Type", "application/json"}}, 5s)
                : request("GET", port, "/groups/" + g + "/work", "", {}, 5s);
  if (r.status == 200 && r.header("X-Node") == node) return "";
  return (post ? "POST: " : "GET: ") + std::to_string(r.status) + " " + r.error + " " +
         r.header("X-Node") + " " + r.body;
}

// The pids of `parent`'s children (from /proc), e.g. nginx's workers.
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto stat = read_text_file(e.path().string() + "/stat", 4096);
    auto close = stat.rfind(')');  // "pid (comm) state ppid ..."; comm may hold spaces
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    long ppid = 0;
    if (rest >> state >> ppid && ppid == parent) out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

// nginx in the foreground. Its workers outlive a SIGKILLed master, so it is stopped with SIGTERM
// (the master ends its workers first) and, failing that, every process is killed by pid.
struct nginx_server {
  child_process proc;
  std::string log;

  ~nginx_server() {
    if (!proc.alive()) return;
    proc.signal(SIGTERM);
    if (proc.wait_exit(5s)) return;
    for (auto pid : children_of(proc.pid())) ::kill(pid, SIGKILL);
    proc.kill9();
  }
};

// Replaces the single occurrence of `from`; REQUIREs exactly one, so a reshaped file fails here.
void replace_once(std::string& text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  INFO("deploy/nginx.conf should contain '" << from << "' exactly once");
  REQUIRE(pos != std::string::npos);
  REQUIRE(text.find(from, pos + 1) == std::string::npos);
  text.replace(pos, from.size(), to);
}

// Two controllers (--drain-grace 1) with a registered node, behind nginx running a copy of
// deploy/nginx.conf that differs only in addresses and ports.
struct nginx_setup {
  controller_pair c{1};
  test_node_process node{"deploy-ngx"};
  const std::string g = "deploy-nginx";
  temp_dir tmp{"sgd-nginx"};
  std::uint16_t port = 0;  // nginx's listen port
  nginx_server ngx;

  nginx_setup() {
    auto nginx = require_tool("nginx");
    auto text = read_text_file(deploy_dir + "/nginx.conf");
    REQUIRE(!text.empty());
    c.wait_connected();
    register_through(c[1].admin_port(), g, node);
    wait_routed_by_both(c, g);

    // The relative pid file is left as is: it lands in the prefix (-p).
    port = free_port();
    REQUIRE(port != 0);
    replace_once(text, "server 127.0.0.1:8080 ",
                 "server 127.0.0.1:" + std::to_string(c[0].proxy_port()) + " ");
    replace_once(text, "server 127.0.0.2:8080 ",
                 "server 127.0.0.1:" + std::to_string(c[1].proxy_port()) + " ");
    replace_once(text, "listen 8000;", "listen 127.0.0.1:" + std::to_string(port) + ";");
    REQUIRE(text.find("\npid nginx-sgd.pid;\n") != std::string::npos);
    REQUIRE(text.find(":8080") == std::string::npos);
    REQUIRE(text.find("127.0.0.2") == std::string::npos);
    REQUIRE(text.find("daemon") == std::string::npos);  // -g 'daemon off;' would be a duplicate

    const std::string conf = tmp.path + "/nginx.conf";
    write_file(conf, text);
    ngx.log = tmp.path + "/nginx.log";
    REQUIRE(ngx.proc.start(nginx, {"-p", tmp.path + "/", "-c", conf, "-g", "daemon off;"}, {},
                           ngx.log));
    bool up = wait_until([&] { return !ngx.proc.alive() || call_via(port, g, node.name()) == ""; },
                         10s, 20ms);
    INFO("nginx log:\n" << read_text_file(ngx.log));
    REQUIRE(up);
    REQUIRE(ngx.proc.alive());
    CHECK(read_text_file(tmp.path + "/nginx-sgd.pid") == std::to_string(ngx.proc.pid()) + "\n");

    // nginx balances: both controllers forward calls.
    auto base1 = requests_total(c[0]), base2 = requests_total(c[1]);
    REQUIRE(wait_until(
        [&] {
          REQUIRE(call_via(port, g, node.name()) == "");
          return requests_total(c[0]) > base1 && requests_total(c[1]) > base2;
        },
        5s));
  }

  std::string logs() {
    return "nginx log:\n" + read_text_file(ngx.log) + "\ncontroller 1 log:\n" + c[0].log_text();
  }
};

}  // namespace

TEST_CASE("deploy: haproxy.cfg balances over both controllers and drops one whose ping says 418",
          "[deploy]") {
  auto haproxy = require_tool("haproxy");
  const std::string cfg = deploy_dir + "/haproxy.cfg";
  REQUIRE(std::filesystem::exists(cfg));

  controller_pair c(0);
  c.wait_connected();
  test_node_process node("deploy-hap");
  const std::string g = "deploy-haproxy";

  temp_dir tmp("sgd-haproxy");
  auto listen = free_port(), admin_listen = free_port();
  REQUIRE((listen != 0 && admin_listen != 0 && listen != admin_listen));
  std::map<std::string, std::string> env = {
      {"SGD1", "127.0.0.1"},
      {"SGD1_PROXY", std::to_string(c[0].proxy_port())},
      {"SGD1_ADMIN", std::to_string(c[0].admin_port())},
      {"SGD2", "127.0.0.1"},
      {"SGD2_PROXY", std::to_string(c[1].proxy_port())},
      {"SGD2_ADMIN", std::to_string(c[1].admin_port())},
      {"LISTEN", "127.0.0.1:" + std::to_string(listen)},
      {"ADMIN_LISTEN", "127.0.0.1:" + std::to_string(admin_listen)},
  };
  const std::string log = tmp.path + "/haproxy.log";
  child_process hap;  // one process with -db: its destructor kills it by pid
  REQUIRE(hap.start(haproxy, {"-db", "-f", cfg}, env, log));
  {
    bool up = wait_until(
        [&] {
          return !hap.alive() ||
                 request("GET", admin_listen, "/api/octopusservernodes/ping", "", {}, 1s).status ==
                     200;
        },
        10s, 20ms);
    INFO("haproxy log:\n" << read_text_file(log));
    REQUIRE(up);
    REQUIRE(hap.alive());
  }

  // Writes through HAProxy's admin frontend reach a controller and replicate to the other.
  register_through(admin_listen, g, node);
  wait_routed_by_both(c, g);

  // Calls through the groups frontend are spread over both controllers.
  auto before1 = requests_total(c[0]), before2 = requests_total(c[1]);
  for (int i = 0; i < 20; ++i) REQUIRE(call_via(listen, g, node.name()) == "");
  auto after1 = requests_total(c[0]), after2 = requests_total(c[1]);
  CHECK(after1 > before1);
  CHECK(after2 > before2);
  CHECK(after1 - before1 + after2 - before2 == 20);

  // Drain controller 1: its ping answers 418, and HAProxy (inter 2s fall 1) stops sending to it.
  REQUIRE(c[0].admin("POST", "/api/controller/drain").status == 200);
  REQUIRE(c[0].admin("GET", "/api/octopusservernodes/ping").status == 418);
  int quiet_streak = 0;  // consecutive calls that controller 1 did not see
  bool out = wait_until(
      [&] {
        auto n1 = requests_total(c[0]);
        auto r = call_via(listen, g, node.name());
        INFO(r);
        REQUIRE(r == "");  // a draining controller still serves what reaches it
        quiet_streak = requests_total(c[0]) == n1 ? quiet_streak + 1 : 0;
        return quiet_streak >= 4;  // round robin would have alternated
      },
      15s, 50ms);
  INFO("haproxy log:\n" << read_text_file(log));
  REQUIRE(out);
  auto drained1 = requests_total(c[0]), drained2 = requests_total(c[1]);
  for (int i = 0; i < 20; ++i) REQUIRE(call_via(listen, g, node.name(), i % 2 == 1) == "");
  CHECK(requests_total(c[0]) == drained1);
  CHECK(requests_total(c[1]) == drained2 + 20);
  // HAProxy says why: the check's 418.
  CHECK(read_text_file(log).find("sgd_proxy/sgd1 is DOWN") != std::string::npos);
  CHECK(hap.alive());
}

TEST_CASE("deploy: nginx.conf moves every call to the other controller once one has stopped",
          "[deploy]") {
  nginx_setup t;
  REQUIRE(t.c[0].process().signal(SIGTERM));
  auto code = t.c[0].process().wait_exit(10s);
  INFO(t.logs());
  REQUIRE(code == 0);
  // A call nginx sends to controller 1 is refused and retried on controller 2 (proxy_next_upstream
  // error); nginx then leaves controller 1 out for fail_timeout.
  auto before2 = requests_total(t.c[1]);
  for (int i = 0; i < 20; ++i) REQUIRE(call_via(t.port, t.g, t.node.name(), i % 2 == 1) == "");
  CHECK(requests_total(t.c[1]) == before2 + 20);
  CHECK(t.ngx.proc.alive());
}

// A graceful stop must serve every call that reaches the controller as its listener closes: the
// connections still in the accept queue, and accepted ones whose request is not read yet (counted
// in flight from the accept on). nginx could not retry those (with proxy_request_buffering off it
// never resends a request it has sent) and would answer 502.
TEST_CASE("deploy: nginx.conf keeps every call succeeding while a controller stops on SIGTERM",
          "[deploy]") {
  nginx_setup t;
  // SIGTERM controller 1 (grace 1 s, then its listener closes and it exits) while calls, GET and
  // POST, go through nginx one after another; then 20 more once it is gone.
  REQUIRE(t.c[0].process().signal(SIGTERM));
  std::vector<std::string> failures;
  int calls = 0, after_exit = 0;
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (after_exit < 20 && std::chrono::steady_clock::now() < deadline) {
    bool gone = !t.c[0].alive();
    auto r = call_via(t.port, t.g, t.node.name(), calls % 2 == 1);
    if (!r.empty()) failures.push_back("call " + std::to_string(calls) + ": " + r);
    ++calls;
    if (gone) ++after_exit;
  }
  INFO(t.logs());
  INFO(calls << " calls, " << after_exit << " after controller 1 exited");
  CHECK(failures == std::vector<std::string>{});
  REQUIRE(after_exit == 20);
  CHECK(t.c[0].process().wait_exit(1s) == 0);
  CHECK(t.ngx.proc.alive());
}
