#pragma once
// GET /metrics: reads the lock-free counters that sit beside what they measure (node and group
// runtimes in the routing snapshots) plus process figures from /proc, and serializes them with
// prometheus-cpp's TextSerializer. Nothing on the request path takes a lock for metrics.
#include "actors/routing_table.hpp"
#include "cluster/registry_actor.hpp"

#include <string>

namespace sg::http {

struct controller_figures {
  bool draining = false;
  const cluster_stats* cluster = nullptr;
};

std::string render_metrics(const routing_table& table, const controller_figures& ctl);

}  // namespace sg::http
