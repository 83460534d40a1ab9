// sgctl's commands: each calls the admin API through sg::client::http_call, prints a table
// (or the API's JSON with --json) and returns the process exit code.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace sg::sgctl {

// Exit codes (documented in docs/client.md and `sgctl --help`).
enum exit_code : int {
  exit_ok = 0,
  exit_api_4xx = 1,      // the API answered 4xx (bad input, unknown group/node, 401, ...)
  exit_usage = 2,        // bad command line
  exit_unreachable = 3,  // no connection to the controller
  exit_api_5xx = 4,      // the API answered 5xx (storage failed, timeout inside sgd, ...)
  exit_failure = 5,      // anything else: no answer in time, connection lost, not HTTP/JSON
};

struct context {
  std::string admin = "http://127.0.0.1:7070";
  std::string token;
  bool json = false;
  std::chrono::milliseconds timeout{30000};
};

struct register_args {
  std::string group, name, url, health_url;
  int weight = 0;  // 0: leave out (API default 1)
  std::vector<std::pair<std::string, std::string>> metadata;
};

int cmd_groups(const context& c);
int cmd_group(const context& c, const std::string& group);
int cmd_nodes(const context& c, const std::string& group);
int cmd_register(const context& c, const register_args& a);
// action: "drain", "activate" or "remove"; node: a nodeId or a node name.
int cmd_node_action(const context& c, const std::string& action, const std::string& group,
                    const std::string& node);
int cmd_set_strategy(const context& c, const std::string& group, const std::string& strategy);
int cmd_ping(const context& c);
int cmd_cluster(const context& c);

}  // namespace sg::sgctl
