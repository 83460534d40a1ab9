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

struct health_settings {
  int32_t interval_ms = 15000;
  int32_t timeout_ms = 5000;
  int32_t unhealthy_after = 3;  // consecutive failed checks that take a node out of the pool
  int32_t healthy_after = 1;    // consecutive passing checks that re-admit it
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

// [A-Za-z0-9._-]{1,128}
bool valid_name(std::string_view name);

// "node-" + 16 hex digits of a hash of (group, name): the same registration on any controller
// yields the same id, which is what makes registration an upsert across the cluster.
std::string make_node_id(std::string_view group, std::string_view name);

// Checks ranges and cross-field rules; empty string when fine, else a message naming the field.
std::string check(const health_settings& h);
std::string check(const group_spec& g);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, health_settings& x) {
  return f(caf::meta::type_name("health_settings"), x.interval_ms, x.timeout_ms, x.unhealthy_after,
           x.healthy_after);
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
