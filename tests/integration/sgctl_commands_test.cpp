// sgctl end to end: the built binary against a real sgd — tables, --json, exit codes and the
// one-line error messages (401, 404, unreachable, usage).
// Built only once integration_tests links sg_client (see tests/CMakeLists.txt).
#if __has_include(<sgd/client/server_group_client.hpp>)
#include "tests/support/admin_helpers.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sgd_process.hpp"
#include "tests/support/test_node.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace sg::test;
using namespace std::chrono_literals;

std::string sgctl_binary() {
#ifdef SGCTL_BINARY
  return SGCTL_BINARY;
#else
  return (std::filesystem::path(SGD_BINARY).parent_path() / "sgctl").string();
#endif
}

struct run_result {
  int code = -1;
  std::string out;  // stdout and stderr together
};

run_result sgctl(const std::vector<std::string>& args,
                 const std::map<std::string, std::string>& env = {}) {
  run_result r;
  r.code = run_and_wait(sgctl_binary(), args, 30s, &r.out, env);
  return r;
}

// sgctl with --admin pointing at `s` (and its token, if any) first.
run_result sgctl(const sgd_instance& s, std::vector<std::string> args,
                 const std::string& token = "") {
  std::vector<std::string> all = {"--admin", "http://127.0.0.1:" + std::to_string(s.admin_port())};
  if (!token.empty()) {
    all.push_back("--token");
    all.push_back(token);
  }
  all.insert(all.end(), args.begin(), args.end());
  return sgctl(all);
}

// The line starting with `prefix`, "" if none.
std::string line_with(const std::string& text, const std::string& prefix) {
  for (auto& l : lines_of(text, true))
    if (l.rfind(prefix, 0) == 0) return l;
  return {};
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// The node id sgd derived for `name`, from `sgctl --json nodes`.
std::string node_id(const sgd_instance& s, const std::string& group, const std::string& name) {
  auto r = sgctl(s, {"--json", "nodes", group});
  REQUIRE(r.code == 0);
  auto d = json(r.out);
  REQUIRE(d.IsObject());
  for (auto& n : d["nodes"].GetArray())
    if (std::string(n["name"].GetString()) == name) return n["nodeId"].GetString();
  FAIL("no node " << name);
  return {};
}

}  // namespace

TEST_CASE("sgctl: register, groups, nodes, group, drain, activate, set-strategy, remove",
          "[sgctl]") {
  sgd_instance sgd;
  test_node_process n1("ai-node-01"), n2("ai-node-02");

  auto none = sgctl(sgd, {"groups"});
  CHECK(none.code == 0);
  CHECK(none.out == "no groups\n");

  auto reg = sgctl(sgd, {"register", "inference-cluster", "ai-node-01", n1.base_url(),
                         "--weight", "3", "--meta", "gpu=A100", "region=eastus"});
  INFO(reg.out);
  REQUIRE(reg.code == 0);
  CHECK(contains(reg.out, "registered ai-node-01 in inference-cluster: node-"));
  CHECK(contains(reg.out, "healthy (new)"));
  auto again = sgctl(sgd, {"register", "inference-cluster", "ai-node-01", n1.base_url(),
                           "--weight", "3", "--meta", "gpu=A100", "--meta", "region=eastus"});
  CHECK(again.code == 0);
  CHECK(contains(again.out, "(updated)"));
  REQUIRE(sgctl(sgd, {"register", "inference-cluster", "ai-node-02", n2.base_url()}).code == 0);

  // What the API stored.
  auto api = json(sgd.admin("GET", "/api/server-groups/inference-cluster/nodes/" +
                                       node_id(sgd, "inference-cluster", "ai-node-01")));
  REQUIRE(api.IsObject());
  CHECK(api["weight"].GetInt() == 3);
  CHECK(std::string(api["metadata"]["region"].GetString()) == "eastus");

  auto groups = sgctl(sgd, {"groups"});
  INFO(groups.out);
  REQUIRE(groups.code == 0);
  auto head = line_with(groups.out, "GROUP");
  auto row = line_with(groups.out, "inference-cluster");
  REQUIRE(!head.empty());
  REQUIRE(!row.empty());
  CHECK(contains(head, "STRATEGY"));
  CHECK(contains(head, "HEALTHY"));
  // Aligned: each value starts under its column's header.
  CHECK(row.find("least_connections") == head.find("STRATEGY"));
  CHECK(row.substr(head.find("NODES"), 1) == "2");
  CHECK(row.substr(head.find("HEALTHY"), 1) == "2");

  auto nodes = sgctl(sgd, {"nodes", "inference-cluster"});
  INFO(nodes.out);
  REQUIRE(nodes.code == 0);
  auto nhead = line_with(nodes.out, "NODE ID");
  REQUIRE(!nhead.empty());
  REQUIRE(lines_of(nodes.out).size() == 3);  // header + 2 nodes
  auto r1 = line_with(nodes.out, node_id(sgd, "inference-cluster", "ai-node-01"));
  CHECK(r1.find("ai-node-01") == nhead.find("NAME"));
  CHECK(r1.find("healthy") == nhead.find("STATUS"));
  CHECK(r1.find(n1.base_url()) == nhead.find("BASE URL"));
  CHECK(contains(r1, "gpu=A100,region=eastus"));

  auto group = sgctl(sgd, {"group", "inference-cluster"});
  INFO(group.out);
  REQUIRE(group.code == 0);
  CHECK(contains(line_with(group.out, "strategy"), "least_connections"));
  CHECK(contains(line_with(group.out, "nodes"), "2 total: 2 healthy"));
  CHECK(!line_with(group.out, "NODE ID").empty());

  // drain / activate by name and by id.
  auto drain = sgctl(sgd, {"drain", "inference-cluster", "ai-node-01"});
  INFO(drain.out);
  REQUIRE(drain.code == 0);
  CHECK(contains(drain.out, "admin draining"));
  auto drained = json(sgd.admin("GET", "/api/server-groups/inference-cluster/nodes/" +
                                           node_id(sgd, "inference-cluster", "ai-node-01")));
  CHECK(std::string(drained["adminState"].GetString()) == "draining");
  auto activate = sgctl(sgd, {"activate", "inference-cluster",
                              node_id(sgd, "inference-cluster", "ai-node-01")});
  REQUIRE(activate.code == 0);
  CHECK(contains(activate.out, "admin active"));

  auto strat = sgctl(sgd, {"set-strategy", "inference-cluster", "weighted_round_robin"});
  REQUIRE(strat.code == 0);
  CHECK(strat.out == "group inference-cluster: strategy weighted_round_robin\n");
  auto g = json(sgd.admin("GET", "/api/server-groups/inference-cluster"));
  CHECK(std::string(g["strategy"].GetString()) == "weighted_round_robin");
  auto bad_strategy = sgctl(sgd, {"set-strategy", "inference-cluster", "fastest"});
  CHECK(bad_strategy.code == 1);
  CHECK(lines_of(bad_strategy.out).size() == 1);
  CHECK(bad_strategy.out.rfind("sgctl: 400 invalid_argument: ", 0) == 0);

  auto id2 = node_id(sgd, "inference-cluster", "ai-node-02");
  auto removed = sgctl(sgd, {"remove", "inference-cluster", "ai-node-02"});
  REQUIRE(removed.code == 0);
  CHECK(removed.out == "removed ai-node-02 (" + id2 + ") from inference-cluster\n");
  CHECK(sgd.admin("GET", "/api/server-groups/inference-cluster/nodes/" + id2).status == 404);
  auto gone = sgctl(sgd, {"remove", "inference-cluster", "ai-node-02"});
  CHECK(gone.code == 1);
  CHECK(gone.out == "sgctl: 404 node_not_found: no node 'ai-node-02' in group "
                    "'inference-cluster'\n");
}

TEST_CASE("sgctl: --json prints the API's JSON", "[sgctl]") {
  sgd_instance sgd;
  test_node_process n("n1");
  auto reg = sgctl(sgd, {"--json", "register", "g1", "n1", n.base_url()});
  REQUIRE(reg.code == 0);
  auto rd = json(reg.out);
  REQUIRE(rd.IsObject());
  CHECK(std::string(rd["groupName"].GetString()) == "g1");

  for (std::vector<std::string> args : {std::vector<std::string>{"groups"},
                                        {"group", "g1"},
                                        {"nodes", "g1"},
                                        {"ping"},
                                        {"drain", "g1", "n1"},
                                        {"set-strategy", "g1", "round_robin"}}) {
    args.insert(args.begin(), "--json");
    auto r = sgctl(sgd, args);
    INFO(args[1] << ": " << r.out);
    REQUIRE(r.code == 0);
    auto d = json(r.out);
    CHECK(!d.HasParseError());
    CHECK(d.IsObject());
  }
  auto d = json(sgctl(sgd, {"groups", "--json"}).out);  // flags anywhere
  REQUIRE(d.IsObject());
  CHECK(d["groups"].Size() == 1);
}

TEST_CASE("sgctl: a wrong admin token exits 1 with one 401 line", "[sgctl]") {
  sgd_options opts;
  opts.admin_token = "s3cret-token";
  sgd_instance sgd(opts);

  auto bad = sgctl(sgd, {"groups"}, "wrong");
  INFO(bad.out);
  CHECK(bad.code == 1);
  CHECK(lines_of(bad.out).size() == 1);
  CHECK(bad.out.rfind("sgctl: 401 unauthorized", 0) == 0);
  auto missing = sgctl(sgd, {"groups"});
  CHECK(missing.code == 1);
  CHECK(missing.out.rfind("sgctl: 401 unauthorized", 0) == 0);

  auto good = sgctl(sgd, {"groups"}, "s3cret-token");
  CHECK(good.code == 0);
  // The environment works too (flags win over it).
  std::string url = "http://127.0.0.1:" + std::to_string(sgd.admin_port());
  auto env = sgctl({"groups"}, {{"SGD_ADMIN_URL", url}, {"SGD_ADMIN_TOKEN", "s3cret-token"}});
  INFO(env.out);
  CHECK(env.code == 0);
  CHECK(env.out == "no groups\n");
  auto flag_wins =
      sgctl({"--token", "wrong", "groups"}, {{"SGD_ADMIN_URL", url}, {"SGD_ADMIN_TOKEN", "s3cret-token"}});
  CHECK(flag_wins.code == 1);
  // The ping needs no token.
  CHECK(sgctl(sgd, {"ping"}).code == 0);
}

TEST_CASE("sgctl: unknown group, unreachable controller, usage errors, ping, cluster",
          "[sgctl]") {
  sgd_instance sgd;

  auto unknown = sgctl(sgd, {"nodes", "no-such-group"});
  CHECK(unknown.code == 1);
  CHECK(unknown.out == "sgctl: 404 group_not_found: no group named 'no-such-group'\n");
  auto unknown_drain = sgctl(sgd, {"drain", "no-such-group", "n1"});
  CHECK(unknown_drain.code == 1);
  CHECK(unknown_drain.out == "sgctl: 404 group_not_found: no group named 'no-such-group'\n");

  auto port = free_port();
  auto down = sgctl({"--admin", "http://127.0.0.1:" + std::to_string(port), "groups"});
  INFO(down.out);
  CHECK(down.code == 3);
  CHECK(lines_of(down.out).size() == 1);
  CHECK(down.out.rfind("sgctl: cannot reach http://127.0.0.1:" + std::to_string(port), 0) == 0);

  for (std::vector<std::string> args :
       {std::vector<std::string>{}, {"frobnicate"}, {"nodes"}, {"drain", "g"},
        {"register", "g", "n"}, {"groups", "--bogus"}, {"register", "g", "n", "http://x", "--weight", "0"},
        {"nodes", "g", "--meta", "a=b"}, {"--timeout", "soon", "ping"}}) {
    auto r = sgctl(args);
    INFO(r.out);
    CHECK(r.code == 2);
    CHECK(r.out.rfind("sgctl: ", 0) == 0);
  }
  auto help = sgctl({"--help"});
  CHECK(help.code == 0);
  for (const char* word : {"groups", "register", "set-strategy", "cluster", "SGD_ADMIN_URL",
                           "SGD_ADMIN_TOKEN", "Exit codes"})
    CHECK(contains(help.out, word));

  auto ping = sgctl(sgd, {"ping"});
  INFO(ping.out);
  CHECK(ping.code == 0);
  CHECK(contains(line_with(ping.out, "status"), "online"));
  REQUIRE(sgd.admin("POST", "/api/controller/drain").status / 100 == 2);
  auto draining = sgctl(sgd, {"ping"});
  INFO(draining.out);
  CHECK(draining.code == 1);
  CHECK(contains(draining.out, "sgctl: 418 draining"));
  REQUIRE(sgd.admin("POST", "/api/controller/activate").status / 100 == 2);

  // GET /api/cluster: not served by every sgd yet; either a view or the API's 404 line.
  auto cluster = sgctl(sgd, {"cluster"});
  INFO(cluster.out);
  if (cluster.code == 1) {
    CHECK(lines_of(cluster.out).size() == 1);
    CHECK(cluster.out.rfind("sgctl: 404 ", 0) == 0);
  } else {
    CHECK(cluster.code == 0);
  }
}

#endif  // __has_include(<sgd/client/server_group_client.hpp>)
