#pragma once
// The seed's node state table as a pure state machine: fed probe outcomes (and passive
// observations), it says the node's status and which transition happened. No clocks, no I/O,
// so every row and edge is unit-tested directly.
#include "actors/specs.hpp"

#include <cstdint>
#include <optional>

namespace sg {

enum class node_status : uint8_t { healthy = 0, degraded = 1, unhealthy = 2, draining = 3 };
const char* to_string(node_status s);

// What one health check (or one proxied connection attempt) said about a node.
enum class probe_outcome : uint8_t {
  pass = 0,   // 2xx
  fail = 1,   // non-2xx other than 418, timeout, refused connection
  drain = 2,  // 418: the node asks to be drained
};

struct status_change {
  node_status from;
  node_status to;
};

class health_machine {
 public:
  // `seen_healthy` false: the node starts unhealthy and needs passing checks before it is routed
  // (no traffic to a node that was never seen healthy). true: it starts healthy.
  explicit health_machine(health_settings settings, bool start_healthy = false);

  // Feeds one outcome; returns the change of the effective status, if any.
  std::optional<status_change> observe(probe_outcome outcome);
  // The operator's admin state (replicated); returns the change of the effective status, if any.
  std::optional<status_change> set_admin(admin_state a);
  void set_settings(health_settings s) { settings_ = s; }

  node_status status() const;
  // Health as the checks see it, ignoring draining.
  node_status health() const { return health_; }
  bool routable() const;
  int32_t consecutive_failures() const { return failures_; }
  int32_t consecutive_passes() const { return passes_; }
  bool self_draining() const { return self_draining_; }

 private:
  health_settings settings_;
  node_status health_;  // healthy | degraded | unhealthy
  int32_t failures_ = 0;
  int32_t passes_ = 0;
  bool self_draining_ = false;  // the node answered 418
  bool checked_ = false;        // any outcome observed yet
  admin_state admin_ = admin_state::active;
};

}  // namespace sg
