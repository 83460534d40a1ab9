#include "apps/sgctl/commands.hpp"

#include "apps/sgctl/table.hpp"

#include <sgd/client/http_call.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cctype>
#include <iostream>
#include <optional>

namespace sg::sgctl {

namespace {

using sg::client::errc;

// A path segment with everything outside [A-Za-z0-9._~-] percent-encoded.
std::string seg(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '~' || c == '-') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string group_path(const std::string& g) { return "/api/server-groups/" + seg(g); }

// One admin call. On success (2xx) fills `res` and, if the body is JSON, `doc`; otherwise
// prints the one error line and returns the exit code.
struct answer {
  sg::client::response res;
  rapidjson::Document doc;
};

int call(const context& c, const std::string& method, const std::string& target,
         const std::string& body, answer& out, bool allow_418 = false) {
  sg::client::http_request req;
  req.url = c.admin;
  req.method = method;
  req.target = target;
  req.body = body;
  req.bearer_token = c.token;
  req.timeout = c.timeout;
  auto r = sg::client::http_call(req);
  if (!r) {
    const auto& e = r.error();
    switch (e.kind) {
      case errc::invalid_argument:
        std::cerr << "sgctl: " << e.message << '\n';
        return exit_usage;
      case errc::unreachable:
        std::cerr << "sgctl: " << e.message << '\n';
        return exit_unreachable;
      default:
        std::cerr << "sgctl: " << e.what() << '\n';
        return exit_failure;
    }
  }
  out.res = std::move(r.value());
  int st = out.res.status;
  if (st < 200 || (st >= 300 && !(allow_418 && st == 418))) {
    std::cerr << "sgctl: " << sg::client::api_error(out.res).what() << '\n';
    return st >= 500 ? exit_api_5xx : st >= 400 ? exit_api_4xx : exit_failure;
  }
  if (!out.res.body.empty()) {
    out.doc.Parse<rapidjson::kParseIterativeFlag>(out.res.body.data(), out.res.body.size());
    if (out.doc.HasParseError()) {
      std::cerr << "sgctl: the controller's " << st << " answer is not JSON\n";
      return exit_failure;
    }
  }
  return exit_ok;
}

void print_json(const answer& a) {
  if (a.res.body.empty()) return;
  std::cout << a.res.body;
  if (a.res.body.back() != '\n') std::cout << '\n';
}

std::string counts_of(const rapidjson::Value& g) {
  auto* n = member(g, "nodeCounts");
  if (!n) return "-";
  return text(*n, "total") + " total: " + text(*n, "healthy") + " healthy, " +
         text(*n, "degraded") + " degraded, " + text(*n, "unhealthy") + " unhealthy, " +
         text(*n, "draining") + " draining";
}

void print_nodes(const rapidjson::Value& nodes) {
  table t({"NODE ID", "NAME", "STATUS", "ADMIN", "WEIGHT", "IN-FLIGHT", "REQUESTS", "BASE URL",
           "METADATA"});
  for (const auto& n : nodes.GetArray())
    t.add({text(n, "nodeId"), text(n, "name"), text(n, "status"), text(n, "adminState"),
           text(n, "weight"), text(n, "inFlight"), text(n, "requests"), text(n, "baseUrl"),
           text(n, "metadata")});
  t.print(std::cout);
}

// The node whose nodeId or name is `node`, if the group lists one.
int resolve_node(const context& c, const std::string& group, const std::string& node,
                 std::string& id, std::string& name) {
  answer a;
  if (int rc = call(c, "GET", group_path(group) + "/nodes", "", a)) return rc;
  id = node;
  name = node;
  auto* nodes = member(a.doc, "nodes");
  if (!nodes || !nodes->IsArray()) return exit_ok;
  for (const auto& n : nodes->GetArray())
    if (text(n, "nodeId") == node) {
      name = text(n, "name");
      return exit_ok;
    }
  for (const auto& n : nodes->GetArray())
    if (text(n, "name") == node) {
      id = text(n, "nodeId");
      return exit_ok;
    }
  return exit_ok;  // unknown: the API's 404 says so
}

}  // namespace

int cmd_groups(const context& c) {
  answer a;
  if (int rc = call(c, "GET", "/api/server-groups", "", a)) return rc;
  if (c.json) {
    print_json(a);
    return exit_ok;
  }
  auto* groups = member(a.doc, "groups");
  if (!groups || !groups->IsArray() || groups->Empty()) {
    std::cout << "no groups\n";
    return exit_ok;
  }
  table t({"GROUP", "STRATEGY", "NODES", "HEALTHY", "DEGRADED", "UNHEALTHY", "DRAINING"});
  for (const auto& g : groups->GetArray()) {
    auto* n = member(g, "nodeCounts");
    auto count = [&](const char* k) { return n ? text(*n, k) : std::string("-"); };
    t.add({text(g, "name"), text(g, "strategy"), count("total"), count("healthy"),
           count("degraded"), count("unhealthy"), count("draining")});
  }
  t.print(std::cout);
  return exit_ok;
}

int cmd_group(const context& c, const std::string& group) {
  answer a;
  if (int rc = call(c, "GET", group_path(group), "", a)) return rc;
  if (c.json) {
    print_json(a);
    return exit_ok;
  }
  const auto& g = a.doc;
  std::string health = "-";
  if (auto* h = member(g, "healthCheck"))
    health = "every " + text(*h, "intervalMs") + " ms, timeout " + text(*h, "timeoutMs") +
             " ms, unhealthy after " + text(*h, "unhealthyAfter") + ", healthy after " +
             text(*h, "healthyAfter");
  std::string max = text(g, "maxRequestBytes");
  if (max == "0") max = "0 (no limit)";
  print_pairs(std::cout, {{"group", text(g, "name")},
                          {"strategy", text(g, "strategy")},
                          {"health check", health},
                          {"sticky headers", text(g, "stickyHeaders")},
                          {"retries", text(g, "retries")},
                          {"connect timeout", text(g, "connectTimeoutMs") + " ms"},
                          {"response timeout", text(g, "responseTimeoutMs") + " ms"},
                          {"max request bytes", max},
                          {"nodes", counts_of(g)}});
  if (auto* nodes = member(g, "nodes"); nodes && nodes->IsArray() && !nodes->Empty()) {
    std::cout << '\n';
    print_nodes(*nodes);
  }
  return exit_ok;
}

int cmd_nodes(const context& c, const std::string& group) {
  answer a;
  if (int rc = call(c, "GET", group_path(group) + "/nodes", "", a)) return rc;
  if (c.json) {
    print_json(a);
    return exit_ok;
  }
  auto* nodes = member(a.doc, "nodes");
  if (!nodes || !nodes->IsArray() || nodes->Empty()) {
    std::cout << "no nodes in group " << group << '\n';
    return exit_ok;
  }
  print_nodes(*nodes);
  return exit_ok;
}

int cmd_register(const context& c, const register_args& r) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key("name");
  w.String(r.name);
  w.Key("baseUrl");
  w.String(r.url);
  if (!r.health_url.empty()) {
    w.Key("healthUrl");
    w.String(r.health_url);
  }
  if (r.weight) {
    w.Key("weight");
    w.Int(r.weight);
  }
  if (!r.metadata.empty()) {
    w.Key("metadata");
    w.StartObject();
    for (const auto& [k, v] : r.metadata) {
      w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
      w.String(v);
    }
    w.EndObject();
  }
  w.EndObject();
  answer a;
  if (int rc = call(c, "POST", group_path(r.group) + "/nodes", sb.GetString(), a)) return rc;
  if (c.json) {
    print_json(a);
    return exit_ok;
  }
  std::string status = text(a.doc, "status");
  std::cout << "registered " << text(a.doc, "name") << " in " << text(a.doc, "groupName")
            << ": " << text(a.doc, "nodeId") << ' ' << status
            << (a.res.status == 201 ? " (new)" : " (updated)") << '\n';
  if (status == "unhealthy")
    std::cout << "note: its first health check failed; it is routed once a check passes\n";
  return exit_ok;
}

int cmd_node_action(const context& c, const std::string& action, const std::string& group,
                    const std::string& node) {
  std::string id, name;
  if (int rc = resolve_node(c, group, node, id, name)) return rc;
  std::string path = group_path(group) + "/nodes/" + seg(id);
  answer a;
  if (action == "remove") {
    if (int rc = call(c, "DELETE", path, "", a)) return rc;
    if (c.json) {
    print_json(a);
    return exit_ok;
  }
    std::cout << "removed " << name << " (" << id << ") from " << group << '\n';
    return exit_ok;
  }
  if (int rc = call(c, "POST", path + "/" + action, "", a)) return rc;
  if (c.json) {
    print_json(a);
    return exit_ok;
  }
  std::cout << text(a.doc, "name") << " (" << text(a.doc, "nodeId") << ") in " << group
            << ": admin " << text(a.doc, "adminState") << ", status " << text(a.doc, "status")
            << '\n';
  return exit_ok;
}

int cmd_set_strategy(const context& c, const std::string& group, const std::string& strategy) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key("strategy");
  w.String(strategy);
  w.EndObject();
  answer a;
  if (int rc = call(c, "PUT", group_path(group), sb.GetString(), a)) return rc;
  if (c.json) {
    print_json(a);
    return exit_ok;
  }
  std::cout << "group " << text(a.doc, "name") << ": strategy " << text(a.doc, "strategy")
            << (a.res.status == 201 ? " (new group)" : "") << '\n';
  return exit_ok;
}

int cmd_ping(const context& c) {
  answer a;
  if (int rc = call(c, "GET", "/api/octopusservernodes/ping", "", a, true)) return rc;
  if (c.json)
    print_json(a);
  else
    print_pairs(std::cout, {{"controller", text(a.doc, "controllerId")},
                            {"status", text(a.doc, "status")},
                            {"version", text(a.doc, "version")},
                            {"admin", text(a.doc, "adminAddress")},
                            {"proxy", text(a.doc, "proxyAddress")},
                            {"authentication", text(a.doc, "authentication")},
                            {"groups", text(a.doc, "groups")},
                            {"nodes", text(a.doc, "nodes")}});
  if (a.res.status == 418) {
    std::cerr << "sgctl: 418 draining: controller " << text(a.doc, "controllerId")
              << " is draining\n";
    return exit_api_4xx;
  }
  return exit_ok;
}

int cmd_cluster(const context& c) {
  answer a;
  if (int rc = call(c, "GET", "/api/cluster", "", a)) return rc;
  if (c.json) {
    print_json(a);
    return exit_ok;
  }
  print_generic(std::cout, a.doc);
  return exit_ok;
}

}  // namespace sg::sgctl
