#pragma once
// Operator-facing events: every node status transition, alerts raised and resolved, drains
// completed, nodes removed by deregisterAfterMs. The same value becomes a JSON log line, an SSE
// message on /api/events and a webhook body.
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>

namespace sg {

struct event {
  std::string type;  // "node.status", "node.drained", "node.deregistered", "controller.drain"
  std::string group;
  std::string node_id;
  std::string node_name;
  std::string from;    // previous status ("" when not a transition)
  std::string to;      // new status
  std::string alert;   // "raised", "resolved" or ""
  std::string detail;  // last check error or HTTP status, human readable
  int32_t consecutive_failures = 0;
  int64_t at_ms = 0;
  uint64_t seq = 0;  // assigned by the hub, increasing
};

std::string to_json(const event& e);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event& x) {
  return f(caf::meta::type_name("event"), x.type, x.group, x.node_id, x.node_name, x.from, x.to,
           x.alert, x.detail, x.consecutive_failures, x.at_ms, x.seq);
}

}  // namespace sg
