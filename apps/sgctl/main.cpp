// sgctl: the command line for sgd's admin API. Global flags may come anywhere; see usage().
#include "apps/sgctl/commands.hpp"

#include <charconv>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#ifndef SGD_VERSION
#define SGD_VERSION "0"
#endif

namespace {

using namespace sg::sgctl;

const char* kUsage = R"(sgctl - command line for the sgd admin API

Usage: sgctl [--admin URL] [--token T] [--json] [--timeout MS] COMMAND [ARGS]

Commands:
  groups                        list groups with node counts
  group G                       one group's settings and nodes
  nodes G                       the nodes of group G
  register G NAME URL [--weight N] [--health-url U] [--meta k=v ...]
                                register (or update) node NAME with base URL URL
  drain G NODE                  stop new requests to NODE (a nodeId or a name)
  activate G NODE               route to NODE again after a drain
  remove G NODE                 remove NODE from group G
  set-strategy G S              round_robin, weighted_round_robin, least_connections,
                                sticky_session (creates G if it does not exist)
  ping                          this controller's ping (exit 1 while it drains: 418)
  cluster                       the cluster view (GET /api/cluster)

Flags:
  --admin URL     admin API (default http://127.0.0.1:7070, env SGD_ADMIN_URL)
  --token T       admin token, sent as 'Authorization: Bearer T' (env SGD_ADMIN_TOKEN)
  --json          print the API's JSON instead of tables
  --timeout MS    give up after MS milliseconds (default 30000)
  --help, --version

Exit codes: 0 ok, 1 the API answered 4xx, 2 bad usage, 3 controller unreachable,
4 the API answered 5xx, 5 other failure (timeout, connection lost, not JSON).
)";

int usage_error(const std::string& msg) {
  std::cerr << "sgctl: " << msg << "\nrun 'sgctl --help' for usage\n";
  return exit_usage;
}

std::optional<long long> to_int(const std::string& s) {
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

int main(int argc, char** argv) {
  context ctx;
  if (auto v = env("SGD_ADMIN_URL"); !v.empty()) ctx.admin = v;
  ctx.token = env("SGD_ADMIN_TOKEN");

  std::vector<std::string> pos;
  register_args reg;
  bool in_meta = false;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    std::optional<std::string> inline_value;
    if (a.starts_with("--")) {
      if (auto eq = a.find('='); eq != std::string::npos) {
        inline_value = a.substr(eq + 1);
        a = a.substr(0, eq);
      }
    }
    auto value = [&](std::string& out) {
      if (inline_value) {
        out = *inline_value;
        return true;
      }
      if (i + 1 >= args.size()) return false;
      out = args[++i];
      return true;
    };
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return exit_ok;
    }
    if (a == "--version") {
      std::cout << "sgctl " << SGD_VERSION << '\n';
      return exit_ok;
    }
    if (a == "--json") {
      ctx.json = true;
      in_meta = false;
    } else if (a == "--admin") {
      if (!value(ctx.admin)) return usage_error("--admin needs a URL");
      in_meta = false;
    } else if (a == "--token") {
      if (!value(ctx.token)) return usage_error("--token needs a value");
      in_meta = false;
    } else if (a == "--timeout") {
      std::string v;
      auto n = value(v) ? to_int(v) : std::nullopt;
      if (!n || *n <= 0) return usage_error("--timeout needs a positive number of milliseconds");
      ctx.timeout = std::chrono::milliseconds(*n);
      in_meta = false;
    } else if (a == "--weight") {
      std::string v;
      auto n = value(v) ? to_int(v) : std::nullopt;
      if (!n || *n < 1 || *n > 1000) return usage_error("--weight needs a number 1..1000");
      reg.weight = static_cast<int>(*n);
      in_meta = false;
    } else if (a == "--health-url") {
      if (!value(reg.health_url)) return usage_error("--health-url needs a URL");
      in_meta = false;
    } else if (a == "--meta") {
      std::string kv;
      if (!value(kv)) return usage_error("--meta needs k=v");
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) return usage_error("--meta needs k=v, got '" + kv + "'");
      reg.metadata.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
      in_meta = true;
    } else if (a.starts_with("-") && a.size() > 1) {
      return usage_error("unknown flag " + a);
    } else if (in_meta && a.find('=') != std::string::npos && a.find('=') > 0) {
      auto eq = a.find('=');
      reg.metadata.emplace_back(a.substr(0, eq), a.substr(eq + 1));
    } else {
      pos.push_back(a);
      in_meta = false;
    }
  }
  if (ctx.admin.find("://") == std::string::npos) ctx.admin = "http://" + ctx.admin;
  if (pos.empty()) return usage_error("no command given");

  const std::string cmd = pos[0];
  auto want = [&](std::size_t n, const char* shape) -> std::optional<int> {
    if (pos.size() != n + 1) return usage_error("usage: sgctl " + std::string(shape));
    return std::nullopt;
  };
  bool is_register = cmd == "register";
  if (!is_register && (reg.weight || !reg.health_url.empty() || !reg.metadata.empty()))
    return usage_error("--weight, --health-url and --meta belong to 'register'");
  if (cmd == "groups") {
    if (auto e = want(0, "groups")) return *e;
    return cmd_groups(ctx);
  }
  if (cmd == "group") {
    if (auto e = want(1, "group G")) return *e;
    return cmd_group(ctx, pos[1]);
  }
  if (cmd == "nodes") {
    if (auto e = want(1, "nodes G")) return *e;
    return cmd_nodes(ctx, pos[1]);
  }
  if (is_register) {
    if (auto e = want(3, "register G NAME URL [--weight N] [--health-url U] [--meta k=v ...]"))
      return *e;
    reg.group = pos[1];
    reg.name = pos[2];
    reg.url = pos[3];
    return cmd_register(ctx, reg);
  }
  if (cmd == "drain" || cmd == "activate" || cmd == "remove") {
    if (auto e = want(2, (cmd + " G NODE").c_str())) return *e;
    return cmd_node_action(ctx, cmd, pos[1], pos[2]);
  }
  if (cmd == "set-strategy") {
    if (auto e = want(2, "set-strategy G STRATEGY")) return *e;
    return cmd_set_strategy(ctx, pos[1], pos[2]);
  }
  if (cmd == "ping") {
    if (auto e = want(0, "ping")) return *e;
    return cmd_ping(ctx);
  }
  if (cmd == "cluster") {
    if (auto e = want(0, "cluster")) return *e;
    return cmd_cluster(ctx);
  }
  return usage_error("unknown command '" + cmd + "'");
}
