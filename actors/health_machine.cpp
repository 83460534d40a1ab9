#include "actors/health_machine.hpp"

namespace sg {

const char* to_string(node_status s) {
  switch (s) {
    case node_status::healthy:
      return "healthy";
    case node_status::degraded:
      return "degraded";
    case node_status::unhealthy:
      return "unhealthy";
    case node_status::draining:
      return "draining";
  }
  return "unhealthy";
}

health_machine::health_machine(health_settings settings, bool start_healthy)
    : settings_(settings),
      health_(start_healthy ? node_status::healthy : node_status::unhealthy),
      checked_(start_healthy) {}

node_status health_machine::status() const {
  if (admin_ == admin_state::draining || self_draining_) return node_status::draining;
  return health_;
}

bool health_machine::routable() const {
  auto s = status();
  return s == node_status::healthy || s == node_status::degraded;
}

std::optional<status_change> health_machine::observe(probe_outcome outcome) {
  auto before = status();
  switch (outcome) {
    case probe_outcome::pass:
      failures_ = 0;
      ++passes_;
      self_draining_ = false;  // a 418 node that answers 2xx again comes back
      // A node's very first passing check admits it at once (registration is its first check);
      // healthyAfter is the hysteresis for coming back after a failure.
      if (health_ == node_status::degraded || !checked_ ||
          (health_ == node_status::unhealthy && passes_ >= settings_.healthy_after))
        health_ = node_status::healthy;
      break;
    case probe_outcome::fail:
      passes_ = 0;
      ++failures_;
      if (failures_ >= settings_.unhealthy_after)
        health_ = node_status::unhealthy;
      else if (health_ == node_status::healthy)
        health_ = node_status::degraded;
      break;
    case probe_outcome::drain:
      // The node is alive and answering; it asks for no new work.
      failures_ = 0;
      passes_ = 0;
      self_draining_ = true;
      break;
  }
  checked_ = true;
  auto after = status();
  if (after == before) return std::nullopt;
  return status_change{before, after};
}

std::optional<status_change> health_machine::set_admin(admin_state a) {
  auto before = status();
  admin_ = a;
  auto after = status();
  if (after == before) return std::nullopt;
  return status_change{before, after};
}

}  // namespace sg
