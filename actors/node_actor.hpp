#pragma once
// One actor per registered node: owns the node's health state machine and its checks (each one
// scheduled on the prober's timers), keeps its latest health in the shared node_runtime and tells
// its group actor when the status changes. In-flight counters live in the node_runtime too.
#include "actors/actor_clock.hpp"
#include "actors/health_machine.hpp"
#include "actors/node_runtime.hpp"
#include "actors/prober.hpp"
#include "actors/specs.hpp"
#include "actors/views.hpp"

#include <caf/actor.hpp>
#include <caf/stateful_actor.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <random>

namespace sg {

struct node_actor_args {
  node_spec spec;
  health_settings health;
  std::shared_ptr<node_runtime> runtime;
  prober_ptr probes;  // nullptr: no active checks, the node counts as healthy
  caf::actor group;   // receives (health_atom, node_id, node_health) on status changes
  caf::actor events;  // event hub (may be null)
  std::shared_ptr<group_runtime> group_stats;  // check latency histogram (may be null)
  bool start_healthy = false;                  // restart of a node that was routable before
  clock_ptr clock = actor_clock::real();       // tests pass their own (virtual time)
  uint32_t jitter_seed = 0;                    // 0: derived from the node id
};

struct node_state {
  std::optional<node_actor_args> args;
  std::optional<health_machine> machine;
  node_health health;
  std::optional<node_status> sent_status;  // what the group actor was last told
  uint64_t probe_seq = 0;  // a result of an older check (before a settings change) is ignored

  std::shared_ptr<const check_target> target;  // rebuilt when the spec or the settings change
  // Since when the checks have said unhealthy (draining aside), for deregisterAfterMs.
  std::optional<std::chrono::steady_clock::time_point> unhealthy_since;
  bool reap_asked = false;  // the group was asked to remove this node
  // When the last check started (its result's arrival less its latency), for a new interval.
  std::chrono::steady_clock::time_point last_started{};
  bool drained_announced = false;
  std::minstd_rand rng;
  // Ends the prober's schedule of checks: set when new settings supersede it or the node goes.
  std::shared_ptr<std::atomic<bool>> checks = std::make_shared<std::atomic<bool>>(false);
  ~node_state() { checks->store(true); }
  static inline const char* name = "sg.node";
};

// Messages: (spec_atom, node_spec, health_settings) update;
// (probed_atom, seq, probe_result) a check finished; (passive_atom, probe_outcome) a proxied
// request's observation; (drained_atom) the last in-flight request of a draining node ended;
// (health_atom) -> node_health. Sends the group (health_atom, node_id, node_health) on changes and
// (reap_atom, node_spec, unhealthy ms, last error) once unhealthy longer than deregisterAfterMs.
caf::behavior node_actor(caf::stateful_actor<node_state>* self, node_actor_args args);

}  // namespace sg
