#pragma once
// Read models the actors hand to the admin API: a node as an operator sees it (registration plus
// this controller's health state) and a group with its nodes or with counts by status.
#include "actors/health_machine.hpp"
#include "actors/specs.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace sg {

struct check_record {
  int64_t at_ms = 0;  // unix ms of the last check; 0: never checked
  int32_t latency_ms = 0;
  int32_t http_status = 0;  // 0: no HTTP answer (see error)
  std::string error;
  std::string body;  // the answer's first bytes (valid UTF-8, at most 128 bytes)
};

struct node_health {
  node_status status = node_status::unhealthy;
  int32_t consecutive_failures = 0;
  check_record last_check;
};

struct node_view {
  node_spec spec;
  node_health health;
  int64_t in_flight = 0;
  uint64_t requests = 0;
};

struct status_counts {
  int32_t healthy = 0, degraded = 0, unhealthy = 0, draining = 0;
  void add(node_status s, int32_t n = 1);
  int32_t total() const { return healthy + degraded + unhealthy + draining; }
};

struct group_view {
  group_spec spec;
  std::vector<node_view> nodes;
};

struct group_summary {
  group_spec spec;
  status_counts counts;
};

// What a registration changed, for the 201/200 decision at the edge.
struct register_result {
  node_view node;
  bool created = false;
  int32_t replicas = 1;  // controllers that hold the write when it was answered
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, check_record& x) {
  return f(caf::meta::type_name("check_record"), x.at_ms, x.latency_ms, x.http_status, x.error,
           x.body);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_health& x) {
  return f(caf::meta::type_name("node_health"), x.status, x.consecutive_failures, x.last_check);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_view& x) {
  return f(caf::meta::type_name("node_view"), x.spec, x.health, x.in_flight, x.requests);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_counts& x) {
  return f(caf::meta::type_name("status_counts"), x.healthy, x.degraded, x.unhealthy, x.draining);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_view& x) {
  return f(caf::meta::type_name("group_view"), x.spec, x.nodes);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_summary& x) {
  return f(caf::meta::type_name("group_summary"), x.spec, x.counts);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, register_result& x) {
  return f(caf::meta::type_name("register_result"), x.node, x.created, x.replicas);
}

}  // namespace sg
