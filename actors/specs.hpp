#pragma once
// What an operator configures: a group's settings and a node's registration. These are plain
// values; cluster/ wraps them in stamped records, actors/ runs them, http/ parses and prints them.
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sg {

enum class strategy_kind : uint8_t {
  round_robin = 0,
  weighted_round_robin = 1,
  least_connections = 2,
  sticky_session = 3,
};
const char* to_string(strategy_kind s);
std::optional<strategy_kind> parse_strategy(std::string_view text);

// http: GET the check URL and judge the answer; tcp: a connection to its host and port passes.
enum class check_type : uint8_t { http = 0, tcp = 1 };
const char* to_string(check_type t);
std::optional<check_type> parse_check_type(std::string_view text);

// Inclusive range of HTTP status codes a check accepts.
struct status_range {
  int32_t lo = 200;
  int32_t hi = 299;
  friend bool operator==(const status_range&, const status_range&) = default;
};

struct health_settings {
  int32_t interval_ms = 15000;
  int32_t timeout_ms = 5000;    // below interval_ms
  int32_t unhealthy_after = 3;  // consecutive failed checks that take a node out of the pool
  int32_t healthy_after = 1;    // consecutive passing checks that re-admit it
  check_type type = check_type::http;
  std::string path;  // "": each node's healthUrl; else this path on each node's baseUrl
  std::vector<status_range> expect_status{status_range{}};  // 1 to 16 ranges; 418 outside drains
  std::string expect_body;          // "": any body; else it must occur in the first 16 KiB
  int32_t deregister_after_ms = 0;  // 0: never; else unhealthy this long removes the node
  friend bool operator==(const health_settings&, const health_settings&) = default;
};

struct group_spec {
  std::string name;
  strategy_kind strategy = strategy_kind::least_connections;  // the seed: "least-busy healthy"
  health_settings health;
  std::vector<std::string> sticky_headers{"X-Session-Id", "X-Tenant-Id"};
  int32_t retries = 2;
  int32_t connect_timeout_ms = 5000;
  int32_t response_timeout_ms = 300000;
  uint64_t max_request_bytes = 0;  // 0: no limit (uploads of 1 GB+ must stream through)
  friend bool operator==(const group_spec&, const group_spec&) = default;
};

enum class admin_state : uint8_t { active = 0, draining = 1 };
const char* to_string(admin_state a);

struct node_spec {
  std::string node_id;  // derived from (group, name): see make_node_id
  std::string group;
  std::string name;
  std::string base_url;
  std::string health_url;
  int32_t weight = 1;
  std::map<std::string, std::string> metadata;
  admin_state admin = admin_state::active;
  friend bool operator==(const node_spec&, const node_spec&) = default;
};

// Limits shared by validation everywhere.
inline constexpr int32_t min_weight = 1;
inline constexpr int32_t max_weight = 1000;
inline constexpr size_t max_name_length = 128;
inline constexpr int32_t max_check_timeout_ms = 60000;  // registration waits up to this long
inline constexpr size_t max_check_path = 1024;
inline constexpr size_t max_expect_body = 256;
inline constexpr size_t max_status_ranges = 16;
inline constexpr int32_t min_deregister_after_ms = 1000;

// [A-Za-z0-9._-]{1,128}
bool valid_name(std::string_view name);

// "node-" + 16 hex digits of a hash of (group, name): the same registration on any controller
// yields the same id, which is what makes registration an upsert across the cluster.
std::string make_node_id(std::string_view group, std::string_view name);

// The URL a node's checks go to: its healthUrl, or `path` on its baseUrl when the group sets one.
std::string check_url(const node_spec& n, const health_settings& h);

// Checks ranges and cross-field rules; empty string when fine, else a message naming the field.
std::string check(const health_settings& h);
std::string check(const group_spec& g);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_range& x) {
  return f(caf::meta::type_name("status_range"), x.lo, x.hi);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, health_settings& x) {
  return f(caf::meta::type_name("health_settings"), x.interval_ms, x.timeout_ms, x.unhealthy_after,
           x.healthy_after, x.type, x.path, x.expect_status, x.expect_body, x.deregister_after_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_spec& x) {
  return f(caf::meta::type_name("group_spec"), x.name, x.strategy, x.health, x.sticky_headers,
           x.retries, x.connect_timeout_ms, x.response_timeout_ms, x.max_request_bytes);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_spec& x) {
  return f(caf::meta::type_name("node_spec"), x.node_id, x.group, x.name, x.base_url, x.health_url,
           x.weight, x.metadata, x.admin);
}

}  // namespace sg
