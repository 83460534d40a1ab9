#pragma once
// One actor per registered node: owns the node's health state machine, runs its probe timer and
// reports every check to its group actor. In-flight counters live in the shared node_runtime.
#include "actors/health_machine.hpp"
#include "actors/node_runtime.hpp"
#include "actors/prober.hpp"
#include "actors/specs.hpp"
#include "actors/views.hpp"

#include <caf/actor.hpp>
#include <caf/stateful_actor.hpp>

#include <memory>
#include <optional>
#include <random>

namespace sg {

struct node_actor_args {
  node_spec spec;
  health_settings health;
  std::shared_ptr<node_runtime> runtime;
  prober_ptr probes;  // nullptr: no active checks, the node counts as healthy
  caf::actor group;   // receives (health_atom, node_id, node_health)
  caf::actor events;  // event hub (may be null)
  std::shared_ptr<group_runtime> group_stats;  // check latency histogram (may be null)
  bool start_healthy = false;                  // restart of a node that was routable before
};

struct node_state {
  std::optional<node_actor_args> args;
  std::optional<health_machine> machine;
  node_health health;
  uint64_t probe_seq = 0;
  bool probe_pending = false;
  bool drained_announced = false;
  uint64_t timer_epoch = 0;  // bumped when the interval changes; older timers are ignored
  std::minstd_rand rng;
  static inline const char* name = "sg.node";
};

// Messages: (spec_atom, node_spec, health_settings) update; (probe_atom, epoch) timer: check now;
// (probed_atom, seq, probe_result) a check finished; (passive_atom, probe_outcome) a proxied
// request's observation; (drained_atom) the last in-flight request of a draining node ended;
// (health_atom) -> node_health.
caf::behavior node_actor(caf::stateful_actor<node_state>* self, node_actor_args args);

}  // namespace sg
